"""In-process helpers: the ASGI transport client, the respx router, the CLI entry point."""

from __future__ import annotations

import httpx
import openai
import pytest
from auriko_conformance.mocks.inprocess import asgi_client, asgi_transport, mock_router
from auriko_conformance.mocks.server import build_parser

from tests.mocks.conftest import AUTH, KEY, user


async def test_respx_router_routes_plain_httpx_to_the_app():
    with mock_router() as router:
        async with httpx.AsyncClient() as client:
            response = await client.post(
                "http://mocks.test/openai/v1/chat/completions",
                headers=AUTH,
                json={"model": "gpt-4o-2024-08-06", "messages": user("[[conformance-id: rx]]")},
            )
        assert response.status_code == 200
        assert router.app.state.entries(tag="rx")[0]["status"] == 200


async def test_openai_sdk_over_the_asgi_transport():
    http_client = httpx.AsyncClient(transport=asgi_transport())
    client = openai.AsyncOpenAI(base_url="http://mocks.test/openai/v1", api_key=KEY, http_client=http_client)
    reply = await client.chat.completions.create(model="gpt-4o-2024-08-06", messages=user("hi"))
    assert reply.usage.completion_tokens == 20
    chunks = [
        c
        async for c in await client.chat.completions.create(
            model="gpt-4o-2024-08-06", messages=user("hi"), stream=True
        )
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == reply.choices[0].message.content
    await http_client.aclose()


async def test_asgi_client_base_url_and_health():
    async with asgi_client() as client:
        health = (await client.get("/__mock/health")).json()
    assert health["ok"] is True
    assert "vllm-b" in health["providers"]


def test_cli_options():
    args = build_parser().parse_args(["--port", "0", "--host", "127.0.0.2", "--log-level", "info"])
    assert (args.port, args.host, args.log_level, args.config) == (0, "127.0.0.2", "info", None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--log-level", "loud"])
