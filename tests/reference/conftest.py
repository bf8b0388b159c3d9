"""Fixtures for the reference gateway: the gateway in-process over the mocks in-process, plus helpers
that parse SSE and check every body against openapi.yaml."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import TEST_API_KEY

from auriko_conformance import contract

AUTH = {"authorization": f"Bearer {TEST_API_KEY}"}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def parse_sse(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order (comments and blank lines skipped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events


def check_completion(body: dict[str, Any]) -> None:
    found = contract.violations("ChatCompletion", body)
    assert not found, [str(v) for v in found]


def check_stream(text: str) -> list[dict[str, Any]]:
    """Validate each event against the contract; return the JSON payloads (without [DONE])."""
    payloads = []
    for data in parse_sse(text):
        found = contract.violations("ChatCompletionStreamEvent", {"data": data})
        assert not found, (data, [str(v) for v in found])
        if data != "[DONE]":
            payload = orjson.loads(data)
            found = contract.violations("StreamPayload", payload)
            assert not found, (data, [str(v) for v in found])
            payloads.append(payload)
    return payloads


def check_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    found = contract.violations(contract.error_schema_for_status(status), body)
    assert not found, [str(v) for v in found]
    assert body["error"]["code"] == code, body
    assert response.headers["x-request-id"]
    assert response.headers["x-error-type"] == body["error"]["type"]
    return body["error"]


@pytest.fixture
def mock_app():
    return create_mock_app()


@pytest.fixture
def gateway(mock_app):
    return create_app(transport=httpx.ASGITransport(app=mock_app))


@pytest.fixture
async def client(gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test", headers=AUTH, timeout=30
    ) as c:
        yield c
    await gateway.upstream.aclose()


@pytest.fixture
def chat(client):
    """POST a chat body; validates the request body against the contract first (unless told not to)."""

    async def post(body: dict[str, Any], validate: bool = True) -> httpx.Response:
        if validate:
            assert not contract.validate_request_body(body), contract.validate_request_body(body)
        return await client.post("/v1/chat/completions", json=body)

    return post
