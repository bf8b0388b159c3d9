"""Control API, journal (tags never mix under concurrency), reset and determinism of seeded faults."""

from __future__ import annotations

import asyncio

import httpx
import orjson
from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.config import MockConfig, ProviderInstance
from auriko_conformance.mocks.inprocess import asgi_client
from auriko_conformance.mocks.journal import key_fingerprint

from tests.mocks.conftest import AUTH, KEY, user

OPENAI = "/openai/v1/chat/completions"


def chat(text: str) -> dict:
    return {"model": "gpt-4o-2024-08-06", "messages": user(text)}


async def test_journal_records_and_filters(client, app):
    await client.post(OPENAI + "?key=sekrit", json=chat("a [[conformance-id: j-1]]"), headers=AUTH)
    await client.post(
        "/anthropic/v1/messages",
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 5,
            "system": "s [[conformance-id: j-2]]",
            "messages": user("b"),
        },
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    )
    await client.post(
        "/gemini/v1beta/models/gemini-2.0-flash:generateContent?key=" + KEY,
        json={
            "system_instruction": {"parts": [{"text": "[[conformance-id: j-3]]"}]},
            "contents": [{"parts": [{"text": "c"}]}],
        },
    )
    entries = (await client.get("/__mock/journal")).json()["entries"]
    assert [e["tag"] for e in entries] == ["j-1", "j-2", "j-3"]
    first = entries[0]
    assert first["provider"] == "openai"
    assert first["flavour"] == "openai"
    assert first["method"] == "POST"
    assert first["path"] == OPENAI
    assert first["body"] == chat("a [[conformance-id: j-1]]")
    assert first["headers"]["authorization"] == f"Bearer [redacted:{key_fingerprint(KEY)}]"
    assert first["query"]["key"] == f"[redacted:{key_fingerprint('sekrit')}]"
    assert first["status"] == 200
    assert first["outcome"] == "ok"
    assert first["response_usage"]["completion_tokens"] == 20
    assert entries[1]["headers"]["x-api-key"].startswith("[redacted:")
    assert entries[2]["query"]["key"].startswith("[redacted:")
    assert entries[2]["response_usage"]["candidatesTokenCount"] == 20
    only = (await client.get("/__mock/journal", params={"provider": "anthropic"})).json()["entries"]
    assert [e["tag"] for e in only] == ["j-2"]
    assert (await client.get("/__mock/journal", params={"tag": "j-3"})).json()["entries"][0][
        "provider"
    ] == "gemini"
    assert len((await client.get("/__mock/journal", params={"limit": 2})).json()["entries"]) == 2
    assert app.state.entries(tag="j-1")[0]["id"] == first["id"]
    assert (await client.delete("/__mock/journal")).json() == {"cleared": 3}
    assert (await client.get("/__mock/journal")).json() == {"entries": []}


async def test_errors_and_raw_bodies_are_journaled(client, app):
    await client.post(OPENAI, content=b"not json", headers={**AUTH, "content-type": "application/json"})
    await client.post(OPENAI, json=chat("x [[mock: error=429]] [[conformance-id: j-err]]"), headers=AUTH)
    raw, limited = app.state.entries()
    assert raw["body"] == "not json"
    assert raw["status"] == 400
    assert raw["outcome"] == "error"
    assert limited["tag"] == "j-err"
    assert limited["status"] == 429
    assert limited["response_usage"] is None


async def test_concurrent_tags_never_mix(client, app):
    async def one(i: int) -> None:
        provider = ["openai", "deepseek"][i % 2]
        path = OPENAI if provider == "openai" else "/deepseek/chat/completions"
        model = "gpt-4o-2024-08-06" if provider == "openai" else "deepseek-chat"
        await client.post(
            path, json={"model": model, "messages": user(f"n{i} [[conformance-id: c-{i}]]")}, headers=AUTH
        )

    await asyncio.gather(*(one(i) for i in range(60)))
    for i in range(60):
        entries = app.state.entries(tag=f"c-{i}")
        assert len(entries) == 1
        assert entries[0]["body"]["messages"][0]["content"] == f"n{i} [[conformance-id: c-{i}]]"


def test_journal_is_a_ring_buffer():
    app = create_app(MockConfig(journal_size=5))
    for i in range(8):
        app.state.journal.start(
            provider="p", flavour="openai", method="POST", path="/", query={}, headers={}, body={"i": i}
        )
    assert [e["body"]["i"] for e in app.state.entries()] == [3, 4, 5, 6, 7]


async def test_control_get_put_patch_and_validation(client):
    listing = (await client.get("/__mock/providers")).json()["providers"]
    assert set(listing) == {"openai", "anthropic", "gemini", "deepseek", "vllm", "vllm-b"}
    assert listing["vllm-b"]["tps"] > 0
    patched = (await client.patch("/__mock/providers/openai", json={"ttft_ms": 5, "error_rate": 0.5})).json()
    assert (patched["ttft_ms"], patched["error_rate"], patched["tps"]) == (5, 0.5, 0)
    put = (await client.put("/__mock/providers/openai", json={"tps": 50})).json()
    assert (put["ttft_ms"], put["error_rate"], put["tps"]) == (0, 0, 50)
    assert (await client.get("/__mock/providers/openai")).json()["tps"] == 50
    bad = await client.patch("/__mock/providers/openai", json={"speed": 3})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "speed"
    assert (await client.patch("/__mock/providers/openai", json={"error_rate": 2})).status_code == 400
    assert (await client.patch("/__mock/providers/nope", json={})).status_code == 404
    assert (await client.post("/__mock/providers/openai")).status_code == 405


async def test_down_and_error_status(client):
    await client.patch("/__mock/providers/anthropic", json={"down": True})
    down = await client.post("/anthropic/v1/messages", json={}, headers=AUTH)
    assert down.status_code == 503
    assert down.json()["type"] == "error"
    await client.patch("/__mock/providers/gemini", json={"error_rate": 1, "error_status": 429})
    limited = await client.post(
        "/gemini/v1/models/gemini-2.0-flash:generateContent",
        headers={"x-goog-api-key": KEY},
        json={"contents": [{"parts": [{"text": "x"}]}]},
    )
    assert limited.status_code == 429
    assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert (await client.post("/__mock/reset")).json() == {"reset": True}
    assert (
        await client.post(
            "/anthropic/v1/messages",
            json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": user("x")},
            headers={**AUTH, "anthropic-version": "2023-06-01"},
        )
    ).status_code == 200


async def _error_pattern(app) -> list[int]:
    async with asgi_client(app) as c:
        await c.patch("/__mock/providers/openai", json={"error_rate": 0.5, "error_status": 500})
        return [(await c.post(OPENAI, json=chat("x"), headers=AUTH)).status_code for _ in range(30)]


async def test_error_rate_is_seeded_and_reset_reseeds():
    first = await _error_pattern(create_app())
    again = await _error_pattern(create_app())
    assert first == again
    assert 500 in first
    assert 200 in first
    app = create_app()
    one = await _error_pattern(app)
    app.state.reset()
    assert await _error_pattern(app) == one
    other = await _error_pattern(create_app(MockConfig(seed=99)))
    assert other != first


async def test_latency_from_control_api(client):
    await client.patch("/__mock/providers/vllm", json={"ttft_ms": 120})
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.post("/vllm/v1/chat/completions", json={"messages": user("x")})
    assert loop.time() - start >= 0.11


def test_server_fixture_helpers(server):
    server.set_provider("openai", ttft_ms=1)
    assert httpx.get(server.url + "/__mock/providers/openai").json()["ttft_ms"] == 1
    httpx.post(
        server.provider_url("openai") + "/v1/chat/completions",
        headers=AUTH,
        json=chat("[[conformance-id: fx-1]]"),
    )
    assert server.journal(tag="fx-1")[0]["status"] == 200
    server.reset()
    assert server.journal(tag="fx-1") == []
    assert httpx.get(server.url + "/__mock/providers/openai").json()["ttft_ms"] == 0


def test_custom_instances_from_config(tmp_path):
    from auriko_conformance.mocks.config import load_config

    path = tmp_path / "mocks.yaml"
    path.write_text(
        "seed: 7\nproviders:\n  - name: vllm-c\n    flavour: vllm\n    tps: 42\n"
        "  - name: openai\n    ttft_ms: 3\n"
    )
    config = load_config(path)
    assert config.seed == 7
    assert config.instance("vllm-c").prefix == "/vllm-c"
    assert config.instance("vllm-c").models == ("meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B")
    assert config.instance("openai").ttft_ms == 3
    assert ProviderInstance("x", "gemini", "/x").models[0] == "gemini-2.5-flash"


async def test_an_answer_is_journalled_before_its_last_byte_leaves():
    """A client that holds the whole answer may read the journal at once: its entry must be finished
    (the order once let `server.journal()` read `status: None` under load)."""
    app = create_app()
    seen: list[object] = []

    async def call(body: dict, path: str = OPENAI) -> None:
        raw = orjson.dumps(body)
        scope = {
            "type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/json")],
            "http_version": "1.1", "scheme": "http", "server": ("m", 80), "client": ("c", 1),
        }  # fmt: skip
        messages = [{"type": "http.request", "body": raw, "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)  # no disconnect: the client stays
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen.append(app.journal.entries()[-1]["status"])

        await app(scope, receive, send)

    await call(chat("plain"))
    await call({**chat("streamed"), "stream": True})
    await call({**chat("slow [[mock: ttft_ms=5]]")})
    await call(chat("refused [[mock: error=429]]"))
    await call({"model": "no-such-model", "messages": user("x")})
    assert seen == [200, 200, 200, 429, 404]
