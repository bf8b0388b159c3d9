"""Item 4: secrets. Client keys are compared in constant time; client keys and the platform's provider
keys never appear in logs, error messages, `routing_metadata` or any response; credential-like keys in
`extensions` are stripped at any depth; nothing in a request can change where or with which headers the
gateway calls a provider (D-050).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app
from auriko_conformance.reference_impl import app as app_module
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import config_from_mapping, default_config

from auriko_conformance.servers import serving
from tests.reliability.helpers import CLIENT_TIMEOUT_S, chat_body, classify_stream, post

CLIENT_KEY = "ak_SECRET_client_5b7c1e9d"
NEAR_MISS = "ak_SECRET_client_5b7c1e9e"  # one character off: must not show up anywhere either
PROVIDER_KEYS = {
    "openai": "sk-SECRET-openai-1f0e8a",
    "anthropic": "sk-ant-SECRET-2c4d6e",
    "google": "AIzaSECRET-google-3b5d7f",
    "deepseek": "sk-SECRET-deepseek-4a6c8e",
    "vllm-b": "SECRET-vllm-b-5e7a9c",
}


# ------------------------------------------------------------------------------------------------------
# Constant-time comparison
# ------------------------------------------------------------------------------------------------------


def test_every_configured_key_is_compared_every_time(monkeypatch):
    keys = ["ak_first_key", "ak_second_key", "ak_third_key_longer"]
    gateway = create_app(default_config(api_keys=frozenset(keys)))
    calls: list[tuple[bytes, bytes]] = []
    real = app_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(app_module.hmac, "compare_digest", spy)
    for token, ok in [(k, True) for k in keys] + [("ak_first_kez", False), ("", False), ("x" * 500, False)]:
        calls.clear()
        headers = {b"authorization": b"Bearer " + token.encode()}
        if ok:
            assert gateway._authenticate(headers, list(headers.items())) == token
        else:
            with pytest.raises(app_module.GatewayError):
                gateway._authenticate(headers, list(headers.items()))
        assert len(calls) == len(keys), token  # no early exit, whichever key matches (or none)
        assert {len(a) for a, _ in calls} == {32}  # digests: equal lengths, so no length leak either


def test_scheme_must_be_bearer():
    gateway = create_app(default_config(api_keys=frozenset({CLIENT_KEY})))
    for value in [f"Basic {CLIENT_KEY}", CLIENT_KEY, f"Bearer  {CLIENT_KEY}", f"bearer {CLIENT_KEY}"]:
        headers = {b"authorization": value.encode()}
        if value.lower().startswith("bearer "):
            assert gateway._authenticate(headers, list(headers.items())) == CLIENT_KEY
        else:
            with pytest.raises(app_module.GatewayError):
                gateway._authenticate(headers, list(headers.items()))


# ------------------------------------------------------------------------------------------------------
# Never in logs, error messages, routing_metadata or responses
# ------------------------------------------------------------------------------------------------------


class KeyEchoingProvider:
    """A hostile vLLM-shaped upstream that quotes the key it was sent in every answer it gives."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key = dict(scope["headers"]).get(b"authorization", b"").decode()
        text = f"upstream trouble for {key} (key {key.removeprefix('Bearer ')})"
        if orjson.loads(body).get("stream"):
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "m",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}],
            }
            start = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
            await send(start)
            frames = [
                b"data: " + orjson.dumps(chunk) + b"\n\n",
                b"data: " + orjson.dumps({"error": {"message": text}}) + b"\n\n",
            ]
            for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        payload = orjson.dumps({"error": {"message": text, "type": "server_error"}})
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def secret_gateway(mock_server) -> Iterator[tuple[str, str]]:
    """A gateway whose client key and provider keys are all distinctive strings; vllm echoes keys."""
    with contextlib.ExitStack() as stack:
        echo = stack.enter_context(serving(KeyEchoingProvider()))
        providers: dict[str, Any] = {name: {"api_key": key} for name, key in PROVIDER_KEYS.items()}
        providers["vllm"] = {"base_url": echo.url + "/v1", "api_key": "SECRET-vllm-echoed-6f8b0d"}
        config = config_from_mapping(
            {
                "mock_base_url": mock_server.url,
                "api_keys": [CLIENT_KEY],
                "providers": providers,
                "rate_limits": {"requests_per_minute": 1000, "keys": {CLIENT_KEY: 40}},
            }
        )
        gateway = stack.enter_context(serving(create_app(config)))
        yield gateway.url, mock_server.url


def _scenarios() -> list[tuple[dict[str, Any], str]]:
    """(body, key to send) pairs that walk success, every error family and the stream error paths."""
    ok = CLIENT_KEY
    scenarios: list[tuple[dict[str, Any], str]] = []
    for model in ["gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash", "deepseek-chat"]:
        for stream in (False, True):
            scenarios.append((chat_body("hello", model=model, stream=stream), ok))
    for directive in ["error=429", "error=500", "error=529", "malformed", "disconnect_after=3"]:
        for stream in (False, True):
            scenarios.append((chat_body(f"x [[mock: {directive}]]", model="gpt-4o", stream=stream), ok))
    routing = {"timeout_ms": 200, "deadline_ms": 400}
    scenarios.append((chat_body("x [[mock: timeout]]", model="gpt-4o", routing=routing), ok))
    scenarios.append(
        (chat_body("x [[mock: stall_after=3]]", model="gpt-4o", stream=True, routing=routing), ok)
    )
    # the key-echoing upstream (only vllm: qwen3 on vllm only by allowlist)
    only_vllm = {"providers": ["vllm"]}
    scenarios.append((chat_body("x", model="qwen3-32b", routing=only_vllm), ok))
    scenarios.append((chat_body("x", model="qwen3-32b", stream=True, routing=only_vllm), ok))
    # client-side errors, auth failures, credentials in extensions
    scenarios.append(({"model": "gpt-4o"}, ok))
    scenarios.append((chat_body("x", model="no-such-model"), ok))
    scenarios.append((chat_body("x", model="gpt-4o"), NEAR_MISS))
    scenarios.append((chat_body("x", model="gpt-4o"), ""))
    leaky = chat_body(
        "x", model="gpt-4o", extensions={"openai": {"api_key": CLIENT_KEY, "metadata": {"token": CLIENT_KEY}}}
    )
    scenarios.append((leaky, ok))
    return scenarios


def test_keys_never_in_logs_errors_metadata_or_responses(secret_gateway, caplog):
    gateway_url, _ = secret_gateway
    secrets = [CLIENT_KEY, NEAR_MISS, *PROVIDER_KEYS.values(), "SECRET-vllm-echoed-6f8b0d"]
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=gateway_url, timeout=CLIENT_TIMEOUT_S) as client:
        for body, key in _scenarios():
            headers = {"authorization": f"Bearer {key}"} if key else {}
            timed = post(client, body, headers=headers)
            assert timed.response.status_code != 500, timed.text
            seen.append(timed.text)
            seen.extend(f"{k}: {v}" for k, v in timed.response.headers.items())
        for path in ("/v1/models", "/v1/me", "/v1/models/gpt-4o", "/v1/nothing"):
            response = client.get(path, headers={"authorization": f"Bearer {CLIENT_KEY}"})
            seen.append(response.text)
            seen.extend(f"{k}: {v}" for k, v in response.headers.items())
        # past the key's limit: the 429 from auriko is scanned too
        for _ in range(45):
            limited = client.post(
                "/v1/chat/completions", json=chat_body("x"), headers={"authorization": f"Bearer {CLIENT_KEY}"}
            )
        assert limited.status_code == 429
        seen.append(limited.text)
    logs = [record.getMessage() for record in caplog.records]
    logs += [record.exc_text or "" for record in caplog.records]
    assert caplog.records, "nothing was logged: the capture is not working"
    for secret in secrets:
        for where, texts in (("response", seen), ("log", logs)):
            leaks = [t[:300] for t in texts if secret in t]
            assert not leaks, (secret, where, leaks)
    assert any("[redacted]" in t for t in seen), "the echoing upstream's text should arrive redacted"


def test_upstream_credential_failures_never_quote_the_provider_text(mock_server):
    # the mocks refuse the key "bad-key" and, like OpenAI and DeepSeek, quote it (or its tail) back
    names = ["openai", "anthropic", "deepseek"]
    config = config_from_mapping(
        {"mock_base_url": mock_server.url, "providers": {n: {"api_key": "bad-key"} for n in names}}
    )
    with (
        serving(create_app(config)) as gateway,
        httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT_S) as client,
    ):
        for model in ["gpt-4o", "claude-haiku-4-5", "deepseek-chat"]:
            for stream in (False, True):
                timed = post(
                    client,
                    chat_body("x", model=model, stream=stream),
                    headers={"authorization": "Bearer ak_test_conformance"},
                )
                assert timed.response.status_code == 502, timed.text
                error = timed.response.json()["error"]
                assert error["code"] == "upstream_error"
                assert "bad-key" not in timed.text
                assert "-key" not in error["message"], error  # not even a masked tail (DeepSeek's ****-key)
                assert "credentials" in error["message"]


# ------------------------------------------------------------------------------------------------------
# Credential-like keys in extensions, at any depth
# ------------------------------------------------------------------------------------------------------

CREDENTIAL_NAMES = [
    "api_key",
    "API-KEY",
    "x-api-key",
    "apiKey",
    "Authorization",
    "token",
    "refresh_token",
    "sessionToken",
    "client_secret",
    "aws_secret_access_key",
    "password",
    "Credentials",
    "private_key",
    "Cookie",
]


def _nest(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = leaf
    for i in range(depth):
        node = {"level": i, "items": [{"pad": i}, node]} if i % 2 else {"level": i, "next": node}
    return node


async def test_credentials_stripped_at_hostile_depth():
    mock_app = create_mock_app()
    gateway = create_app(transport=httpx.ASGITransport(app=mock_app))
    leaf = {name: f"leak-{i}" for i, name in enumerate(CREDENTIAL_NAMES)}
    leaf["stop_token_ids"] = [7]  # look-alikes that are not credentials stay
    leaf["budget_tokens"] = 9
    # the body's depth: root 1, extensions 2, vllm 3, "chat_template_kwargs" 4, then the nest (list levels
    # count too); 58 node levels keep the whole body within the 64-level limit
    extension = {
        "chat_template_kwargs": _nest(38, leaf),
        **{name: f"top-{i}" for i, name in enumerate(CREDENTIAL_NAMES)},
    }
    body = chat_body(
        "hello [[conformance-id: deep-creds]]", model="llama-3.3-70b", extensions={"vllm": extension}
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://g", timeout=30
    ) as client:
        response = await client.post(
            "/v1/chat/completions", json=body, headers={"authorization": "Bearer ak_test_conformance"}
        )
    await gateway.upstream.aclose()
    assert response.status_code == 200, response.text
    sent = orjson.dumps(mock_app.state.entries(tag="deep-creds")[-1]["body"]).decode()
    assert "leak-" not in sent, sent[:500]
    assert "top-" not in sent, sent[:500]
    assert '"stop_token_ids":[7]' in sent
    assert '"budget_tokens":9' in sent
    warnings = response.json()["routing_metadata"]["warnings"]
    blocked = [w for w in warnings if w["type"] == "blocked_field"]
    # 16 removals named, the rest counted (D-060: the client does not choose the size of the answer)
    named = 16
    assert len(blocked) == named + 1, [w["message"] for w in blocked]
    assert (
        blocked[-1]["message"] == f"{2 * len(CREDENTIAL_NAMES) - named} more extension fields were removed."
    )
    assert all("leak-" not in w["message"] for w in blocked)


async def test_too_deep_extensions_are_400_not_a_crash():
    gateway = create_app(transport=httpx.ASGITransport(app=create_mock_app()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://g", timeout=30
    ) as client:
        response = await client.post(
            "/v1/chat/completions",
            content=_deep_json(2_000),
            headers={"authorization": "Bearer ak_test_conformance"},
        )
    await gateway.upstream.aclose()
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def _deep_json(depth: int) -> bytes:
    head = b'{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"extensions":{"vllm":'
    return head + b'{"a":' * depth + b'{"api_key":"x"}' + b"}" * depth + b"}}"


# ------------------------------------------------------------------------------------------------------
# The upstream URL, host and headers are the gateway's
# ------------------------------------------------------------------------------------------------------

# Every header an upstream request may carry: the gateway's own (the HTTP client's defaults plus each
# flavour's auth and version headers); nothing a client sent can be among them.
UPSTREAM_HEADERS = {
    "accept",
    "accept-encoding",
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "host",
    "user-agent",
}
REQUEST_HEADERS = {"x-forwarded-host", "x-evil", "forwarded", "x-original-url", "x-injected"}
HOSTILE = "evil.example"


def test_no_request_can_move_or_reshape_the_upstream_call(client, journal, tag, mock_server):
    transport = {
        "base_url": f"http://{HOSTILE}/v1",
        "api_base": f"http://{HOSTILE}",
        "url": f"http://{HOSTILE}/x",
        "endpoint": f"http://{HOSTILE}",
        "host": HOSTILE,
        "headers": {"Host": HOSTILE, "X-Evil": "1"},
        "extra_headers": {"X-Evil": "1\r\nX-Injected: 1"},
        "extra_query": {"key": HOSTILE},
        "proxy": f"socks5://{HOSTILE}",
    }
    body = chat_body(
        f"hello [[conformance-id: {tag}]]",
        extensions={"vllm": dict(transport), "openai": dict(transport)},
        user=f"u\r\nX-Injected: {HOSTILE}",
        base_url=f"http://{HOSTILE}",
    )
    body["gateway"] = {
        "metadata": {
            "trace_id": f"t\r\nX-Injected: {HOSTILE}",
            "user_id": f"\r\nHost: {HOSTILE}",
            "tags": [f"a\r\nb: {HOSTILE}"],
            "custom_fields": {"x": f"v\r\nX-Injected: {HOSTILE}"},
        }
    }
    headers = {
        "x-forwarded-host": HOSTILE,
        "x-evil": "1",
        "forwarded": f"host={HOSTILE}",
        "x-original-url": f"http://{HOSTILE}/",
    }
    timed = post(client, body, headers=headers)
    assert timed.response.status_code == 200, timed.text
    warnings = orjson.loads(timed.text)["routing_metadata"]["warnings"]
    assert sum(w["type"] == "blocked_field" for w in warnings) == len(transport)
    entries = journal.settled(tag)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["path"] in ("/vllm/v1/chat/completions", "/vllm-b/v1/chat/completions")
    assert entry["query"] == {}
    assert set(entry["headers"]) <= UPSTREAM_HEADERS, entry["headers"]
    assert {"authorization", "content-type", "host"} <= set(entry["headers"])
    assert not REQUEST_HEADERS & set(entry["headers"])
    assert entry["headers"]["host"] == mock_server.url.removeprefix("http://")
    assert HOSTILE not in orjson.dumps(entry["headers"]).decode()
    forwarded = orjson.dumps(entry["body"]).decode()
    for name in transport:
        assert f'"{name}"' not in forwarded, name
    # the `user` text travels only as an escaped JSON string in the body, never as a header
    assert entry["body"].get("user") == body["user"]


def test_stream_requests_cannot_move_the_upstream_either(client, journal, tag):
    body = chat_body(
        f"hello [[conformance-id: {tag}]]",
        stream=True,
        extensions={"vllm": {"base_url": f"http://{HOSTILE}", "headers": {"Host": HOSTILE}}},
    )
    timed = post(client, body)
    assert classify_stream(timed.text).kind == "complete"
    (entry,) = journal.settled(tag)
    assert set(entry["headers"]) <= UPSTREAM_HEADERS
    assert HOSTILE not in orjson.dumps(entry).decode()
