"""The gateway as a real server (uvicorn on a free port) in front of the real mock server: faults that
need real connections (mid-stream disconnects, client disconnects) and the official `openai` SDK as the
client, sync and async, stream and non-stream, with `extra_body={"gateway": ...}`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from auriko_conformance.mocks.pytest_plugin import MockServer, start_mock_server
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import TEST_API_KEY, default_config

from auriko_conformance.servers import serving
from tests.reference.conftest import AUTH, check_completion, check_stream, user


@pytest.fixture(scope="module")
def mocks() -> Iterator[MockServer]:
    server = start_mock_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gateway_url(mocks) -> Iterator[str]:
    app = create_app(default_config(mocks.url))
    with serving(app, log_level="error", lifespan="on", http="httptools") as server:
        yield server.url


def test_openai_sdk_sync(gateway_url):
    client = openai.OpenAI(base_url=gateway_url + "/v1", api_key=TEST_API_KEY, max_retries=0)
    completion = client.chat.completions.create(
        model="llama-3.3-70b",
        messages=[{"role": "user", "content": "Hello"}],
        extra_body={"gateway": {"routing": {"optimize": "ttft"}}},
    )
    body = completion.model_dump(exclude_none=True)
    check_completion(body)
    assert body["routing_metadata"]["provider"] == "vllm"
    assert body["routing_metadata"]["routing_strategy"] == "ttft"

    chunks = list(
        client.chat.completions.create(
            model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hello"}], stream=True
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def test_openai_sdk_async_and_errors(gateway_url):
    client = openai.AsyncOpenAI(base_url=gateway_url + "/v1", api_key=TEST_API_KEY, max_retries=0)
    completion = await client.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "Hello"}],
        extra_body={"gateway": {"metadata": {"tags": ["sdk"]}}},
    )
    assert completion.choices[0].message.content
    stream = await client.chat.completions.create(
        model="deepseek-chat", messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].model_extra["routing_metadata"]["provider"] == "deepseek"
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], extra_body={"gateway": {"bogus": 1}}
        )
    assert info.value.body["code"] == "unknown_field"
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x [[mock: error=429 retry_after=1]]"}]
        )
    bad = openai.AsyncOpenAI(base_url=gateway_url + "/v1", api_key="ak_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.models.list()


async def test_disconnect_before_the_first_byte_falls_back_or_fails_cleanly(gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, headers=AUTH, timeout=30) as client:
        body = {
            "model": "llama-3.3-70b",
            "stream": True,
            "messages": user("x [[mock: provider=vllm-b disconnect_after=0]]"),
        }
        response = await client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200
        assert check_stream(response.text)[-1]["routing_metadata"]["provider"] == "vllm"


async def test_mid_stream_disconnect_is_an_error_event(gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, headers=AUTH, timeout=30) as client:
        for model in ("claude-sonnet-4-6", "gpt-4o", "gemini-2.5-flash"):
            body = {
                "model": model,
                "stream": True,
                "messages": user("Tell a long story [[mock: disconnect_after=8]]"),
            }
            response = await client.post("/v1/chat/completions", json=body)
            assert response.status_code == 200
            assert "[DONE]" not in response.text
            payloads = check_stream(response.text)
            assert payloads[-1]["error"]["code"] in ("upstream_error", "upstream_timeout"), model


async def test_client_disconnect_cancels_the_upstream(gateway_url, mocks):
    tag = "disconnect-test"
    body = {
        "model": "gpt-4o",
        "stream": True,
        "messages": user(f"Long answer [[conformance-id: {tag}]] [[mock: words=400 tps=50]]"),
    }
    async with (
        httpx.AsyncClient(base_url=gateway_url, headers=AUTH, timeout=30) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        async for _ in response.aiter_bytes():
            break
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = mocks.journal(tag=tag)
        if entries and entries[-1].get("outcome") not in (None, "pending", "ok"):
            break
        await asyncio.sleep(0.05)
    entries = mocks.journal(tag=tag)
    assert entries
    assert entries[-1].get("outcome") == "client_closed", entries[-1]
