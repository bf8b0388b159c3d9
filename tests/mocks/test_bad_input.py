"""Bad input gets a clear provider-shaped error, never a 500 or a hang."""

from __future__ import annotations

import pytest
from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.config import MockConfig
from auriko_conformance.mocks.inprocess import asgi_client

from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS

CHAT = {
    "openai": ("/openai/v1/chat/completions", AUTH),
    "deepseek": ("/deepseek/chat/completions", AUTH),
    "vllm": ("/vllm/v1/chat/completions", {}),
    "anthropic": ("/anthropic/v1/messages", ANTHROPIC_HEADERS),
    "gemini": ("/gemini/v1beta/models/gemini-2.0-flash:generateContent", GEMINI_HEADERS),
}


def assert_shape(name: str, response) -> None:
    payload = response.json()
    if name == "anthropic":
        assert payload["type"] == "error"
        assert payload["error"]["message"]
    elif name == "gemini":
        assert payload["error"]["code"] == response.status_code
        assert payload["error"]["status"]
    elif name == "vllm" and "detail" in payload:
        assert payload["detail"]
    else:
        assert payload["error"]["message"]


@pytest.mark.parametrize("name", list(CHAT))
@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"a=b", "application/x-www-form-urlencoded", 415),
        (b"{}", "text/plain", 415),
    ],
)
async def test_bad_bodies(client, name, content, content_type, status):
    path, headers = CHAT[name]
    response = await client.post(path, content=content, headers={**headers, "content-type": content_type})
    assert response.status_code == status, response.text
    assert_shape(name, response)


@pytest.mark.parametrize("name", list(CHAT))
async def test_huge_body_is_413(name):
    app = create_app(MockConfig(max_body_bytes=1000))
    path, headers = CHAT[name]
    async with asgi_client(app) as client:
        response = await client.post(
            path,
            content=b'{"x": "' + b"a" * 5000 + b'"}',
            headers={**headers, "content-type": "application/json"},
        )
    assert response.status_code == 413
    assert_shape(name, response)


@pytest.mark.parametrize("name", list(CHAT))
async def test_unknown_path_and_wrong_method(client, name):
    path, headers = CHAT[name]
    prefix = "/" + path.split("/")[1]
    missing = await client.post(prefix + "/v1/nothing-here", json={}, headers=headers)
    assert missing.status_code == 404
    assert_shape(name, missing)
    wrong = await client.get(path, headers=headers)
    assert wrong.status_code == 405
    assert "POST" in wrong.headers["allow"]
    assert_shape(name, wrong)


async def test_outside_any_prefix(client):
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert "known prefixes" in response.json()["error"]["message"]
    assert (await client.get("/__mock/nowhere")).status_code == 404


@pytest.mark.parametrize("name", list(CHAT))
async def test_wrong_types_never_500(client, name):
    path, headers = CHAT[name]
    for body in (
        {"model": 5, "messages": "x", "max_tokens": "y", "contents": 3},
        {"messages": [None, 1, "x"], "contents": [None], "model": "gpt-4o-2024-08-06", "max_tokens": 1},
        {
            "messages": [{"role": "user", "content": [{"type": "text"}]}],
            "contents": [{"parts": [{}]}],
            "model": "claude-haiku-4-5",
            "max_tokens": 5,
            "tools": "x",
        },
    ):
        response = await client.post(path, json=body, headers=headers)
        assert 400 <= response.status_code < 500, response.text
