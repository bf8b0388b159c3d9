"""The mutant proxy and the transforms on their own: SSE cut into events as bytes arrive, streams kept
streaming, requests and answers rewritten, a client that leaves cancels the upstream request, and the
catalogue's data is consistent with the suites' requirement catalogue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.suites.requirements import load_catalogue as load_requirements

from auriko_conformance.mutants import catalogue, faults
from auriko_conformance.mutants.faults.base import Answer
from auriko_conformance.mutants.proxy import (
    Ledger,
    MutantProxy,
    ProxiedEvent,
    ProxyRequest,
    ProxyResponse,
    sse_events,
)
from auriko_conformance.servers import serving


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _collect(events: AsyncIterator[ProxiedEvent]) -> list[ProxiedEvent]:
    return [event async for event in events]


# --------------------------------------------------------------------------------------------------
# SSE events
# --------------------------------------------------------------------------------------------------


def test_events_are_cut_wherever_the_bytes_split():
    body = b'event: a\ndata: {"x": 1}\n\n: keep-alive\n\ndata: [DONE]\r\n\r\ndata: tail'
    for size in (1, 3, 7, len(body)):
        parts = [body[i : i + size] for i in range(0, len(body), size)]
        events = asyncio.run(_collect(sse_events(_chunks(*parts))))
        assert [e.raw for e in events] == [
            b'event: a\ndata: {"x": 1}\n\n',
            b": keep-alive\n\n",
            b"data: [DONE]\r\n\r\n",
            b"data: tail",
        ]
        assert (events[0].event, events[0].json) == ("a", {"x": 1})
        assert events[1].data is None
        assert events[2].is_done
        assert events[3].data == "tail"  # an unterminated block is passed on as it is


def test_new_events_are_framed_and_keep_their_name():
    event = ProxiedEvent.of({"a": [1, 2]}, "message_delta")
    assert event.raw == b'event: message_delta\ndata: {"a":[1,2]}\n\n'
    assert ProxiedEvent.parse(event.raw).json == {"a": [1, 2]}
    assert ProxiedEvent.of("[DONE]").raw == b"data: [DONE]\n\n"
    assert event.with_json({"b": 1}).event == "message_delta"


def test_request_tag_and_instance():
    body = orjson.dumps({"messages": [{"role": "user", "content": "hi [[conformance-id: t-abc123-2]]"}]})
    request = ProxyRequest("back", "POST", "/vllm-b/v1/chat/completions", "", httpx.Headers(), body)
    assert request.tag == "t-abc123-2"
    assert request.instance == "vllm-b"
    assert faults.flavour_of(request) == "vllm"
    gemini = ProxyRequest(
        "back", "POST", "/gemini/v1beta/models/g:streamGenerateContent", "", httpx.Headers(), b""
    )
    assert faults.flavour_of(gemini) == "gemini"


def test_walk_matches_wildcards():
    body = {"messages": [{"content": [{"cache_control": 1}, {"text": "x"}]}, {"content": "plain"}]}
    assert faults.lookup(body, "messages.*.content.*.cache_control") == [1]
    assert faults.lookup(body, "messages.*.content") == [[{"cache_control": 1}, {"text": "x"}], "plain"]
    assert faults.lookup(body, "nothing.here") == []


# --------------------------------------------------------------------------------------------------
# Transforms on synthetic streams
# --------------------------------------------------------------------------------------------------


def _chunk(**choice: Any) -> ProxiedEvent:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return ProxiedEvent.of({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": None, **choice}]})


STREAM = [
    _chunk(delta={"role": "assistant", "content": "Hello"}),
    _chunk(delta={"content": " world"}),
    _chunk(finish_reason="stop"),
    ProxiedEvent.of({"id": "c1", "created": 1, "model": "m", "choices": [], "usage": {"total_tokens": 3}}),
    ProxiedEvent.of("[DONE]"),
]


def _through(
    name: str, args: dict[str, Any] | None = None, client: dict[str, Any] | None = None
) -> list[str]:
    fault = faults.build(name, args)
    assert isinstance(fault, faults.CompletionEdit)

    async def run() -> list[ProxiedEvent]:
        async def source() -> AsyncIterator[ProxiedEvent]:
            for event in STREAM:
                yield event

        return await _collect(fault.stream(source(), faults.Answer(client or {})))

    return [faults.kind_of(e) for e in asyncio.run(run())]


@pytest.mark.parametrize(
    ("name", "args", "kinds"),
    [
        ("usage_edit", {"completion_factor": 1}, ["chunk", "chunk", "chunk", "usage", "done"]),
        ("stream_kinds_edit", {"drop": ["usage"]}, ["chunk", "chunk", "chunk", "done"]),
        ("stream_kinds_edit", {"drop": ["done"]}, ["chunk", "chunk", "chunk", "usage"]),
        ("stream_kinds_edit", {"twice": ["done"]}, ["chunk", "chunk", "chunk", "usage", "done", "done"]),
        ("usage_chunk_before_finish", {}, ["chunk", "chunk", "usage", "chunk", "done"]),
        ("data_after_done", {}, ["chunk", "chunk", "chunk", "usage", "done", "usage"]),
        ("finish_reason_twice", {}, ["chunk", "chunk", "chunk", "chunk", "usage", "done"]),
        ("keepalive_as_data", {}, ["chunk", "other", "chunk", "chunk", "usage", "done"]),
        ("stream_buffered", {}, ["chunk", "chunk", "chunk", "usage", "done"]),
    ],
)
def test_stream_transforms_reorder_events(name: str, args: dict[str, Any], kinds: list[str]) -> None:
    assert _through(name, args) == kinds


def test_an_unchanged_event_keeps_its_bytes() -> None:
    """The one stream loop re-encodes only what a fault changed: the rest goes on byte for byte."""
    fault = faults.build("finish_reason_never")

    async def run() -> list[ProxiedEvent]:
        async def source() -> AsyncIterator[ProxiedEvent]:
            for event in STREAM:
                yield event

        return await _collect(fault.stream(source(), faults.Answer({})))

    out = asyncio.run(run())
    assert [e.raw for e in out][:2] == [e.raw for e in STREAM][:2]
    assert out[2].raw != STREAM[2].raw
    assert out[2].json["choices"][0]["finish_reason"] is None


# --------------------------------------------------------------------------------------------------
# The proxy over real sockets
# --------------------------------------------------------------------------------------------------


SSE_ERROR = b'{\n  "error": {\n    "code": 429,\n    "status": "RESOURCE_EXHAUSTED"\n  }\n}\n'


class Upstream:
    """An SSE upstream that holds its second event until the test says so, and records disconnects."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.cancelled = threading.Event()
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        message = await receive()
        self.bodies.append(message.get("body", b""))
        if scope["path"] == "/sse-error":  # Google's refusal of an `alt=sse` request
            headers = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": SSE_ERROR})
            return
        if scope["path"] == "/hang":
            while (await receive())["type"] != "http.disconnect":
                pass
            self.cancelled.set()
            return
        if b'"stream":true' not in self.bodies[-1].replace(b" ", b""):
            payload = orjson.dumps({"choices": [{"index": 0, "finish_reason": "stop"}], "id": "x"})
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        first = STREAM[0].raw
        await send({"type": "http.response.body", "body": first, "more_body": True})
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        rest = b"".join(e.raw for e in STREAM[1:])
        await send({"type": "http.response.body", "body": rest, "more_body": False})


def test_streams_stay_streams_through_a_fault():
    upstream = Upstream()
    fault = faults.build("delta_role", {"mode": "every"})
    with serving(upstream) as up, serving(MutantProxy(up.url, fault, "front")) as proxy:
        body = {"messages": [{"role": "user", "content": "x"}], "stream": True}
        url = f"{proxy.url}/v1/chat/completions"
        with httpx.Client(timeout=10) as client, client.stream("POST", url, json=body) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
            # the upstream still holds the rest: the first event came through on its own
            upstream.release.set()
            rest = [line for line in lines if line.startswith("data:")]
    assert orjson.loads(first[5:])["choices"][0]["delta"]["role"] == "assistant"
    payloads = [orjson.loads(line[5:]) for line in rest if line != "data: [DONE]"]
    chunks = [p for p in payloads if p["choices"]]
    assert all(c["choices"][0]["delta"].get("role") == "assistant" for c in chunks)
    assert rest[-1] == "data: [DONE]"


def test_front_faults_rewrite_json_answers_and_see_the_client_request():
    upstream = Upstream()
    fault = faults.build("finish_reason_null")
    with serving(upstream) as up, serving(MutantProxy(up.url, fault, "front")) as proxy:
        response = httpx.post(f"{proxy.url}/v1/chat/completions", json={"messages": []}, timeout=10)
    assert response.json()["choices"][0]["finish_reason"] is None
    assert response.headers["content-length"] == str(len(response.content))


def test_an_error_under_a_stream_media_type_is_a_failure_not_a_stream():
    """Faults that act on failed attempts (here: retry it once) see Google's `alt=sse` refusal as one."""
    upstream = Upstream()
    fault = faults.build("retry_same_provider")
    with serving(upstream) as up, serving(MutantProxy(up.url, fault, "back")) as proxy:
        response = httpx.post(f"{proxy.url}/sse-error", content=b"{}", timeout=10)
    assert response.status_code == 429
    assert response.headers["content-type"] == "text/event-stream"
    assert response.content == SSE_ERROR
    assert len(upstream.bodies) == 2  # the failure was retried


def test_the_client_going_away_cancels_the_upstream_request():
    upstream = Upstream()
    with serving(upstream) as up, serving(MutantProxy(up.url, faults.build("identity"), "back")) as proxy:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{proxy.url}/hang", content=b"{}", timeout=0.5)
        assert upstream.cancelled.wait(5), "the upstream request outlived the client"


def test_back_faults_share_the_ledger_with_the_front():
    ledger = Ledger()
    ledger.put("client", "t-1", {"extensions": {"anthropic": {"api_key": "sk-secret"}}})
    request = ProxyRequest(
        "back",
        "POST",
        "/anthropic/v1/messages",
        "",
        httpx.Headers(),
        orjson.dumps({"model": "c", "messages": [{"role": "user", "content": "[[conformance-id: t-1]]"}]}),
    )
    fault = faults.build("extensions_unsanitised", {"flavour": "any", "mode": "own"})

    class FakeHop:
        pass

    hop = FakeHop()
    hop.ledger = ledger  # type: ignore[attr-defined]
    edited = asyncio.run(fault.back_request(request, hop))  # type: ignore[arg-type]
    assert edited.json["api_key"] == "sk-secret"


def _front(headers: dict[str, str], body: dict[str, Any] | None = None) -> ProxyRequest:
    payload = orjson.dumps(body if body is not None else {"messages": []})
    return ProxyRequest("front", "POST", "/v1/chat/completions", "", httpx.Headers(headers), payload)


@pytest.mark.parametrize(
    ("accept", "sent", "served"),
    [
        ("any", None, True),
        ("any", "Bearer ak_live_unknown", True),
        ("missing", None, True),
        ("missing", "Bearer ak_live_unknown", False),
        ("unknown", None, False),
        ("unknown", "Basic dXNlcjpwYXNz", True),
    ],
)
def test_auth_faults_let_through_exactly_the_credentials_they_name(
    accept: str, sent: str | None, served: bool
) -> None:
    fault = faults.build("auth_not_enforced", {"accept": accept}, api_key="ak_test_good")
    request = _front({"authorization": sent} if sent else {})
    out = asyncio.run(fault.front_request(request, None))  # type: ignore[arg-type]  (no hop needed)
    assert isinstance(out, ProxyRequest)
    assert (out.headers.get("authorization") == "Bearer ak_test_good") is served


def test_a_gateway_that_needs_a_provider_header_refuses_requests_without_it() -> None:
    fault = faults.build("header_required", {"header": "x-provider"})
    refused = asyncio.run(fault.front_request(_front({}), None))  # type: ignore[arg-type]
    assert isinstance(refused, ProxyResponse)
    assert refused.status == 400
    assert refused.json["error"]["param"] == "x-provider"
    assert refused.headers["x-request-id"]
    passed = asyncio.run(fault.front_request(_front({"x-provider": "openai"}), None))  # type: ignore[arg-type]
    assert isinstance(passed, ProxyRequest)


def test_clamping_touches_only_the_named_fields() -> None:
    fault = faults.build("out_of_range_clamped", {"fields": ["temperature"]})
    body = {"messages": [], "temperature": 7, "top_logprobs": 50}
    out = asyncio.run(fault.front_request(_front({}, body), None))  # type: ignore[arg-type]
    assert out.json["temperature"] == 2
    assert out.json["top_logprobs"] == 50


def test_usage_comes_only_from_an_upstream_that_was_asked_for_it() -> None:
    """Back: the client's stream_options go upstream as sent; front: no usage chunk when not asked."""
    fault = faults.build("usage_only_from_upstream")
    ledger = Ledger()
    tag = "[[conformance-id: u-1]]"
    ledger.put("client", "u-1", {"stream": True, "messages": [{"role": "user", "content": tag}]})

    class FakeHop:
        pass

    hop = FakeHop()
    hop.ledger = ledger  # type: ignore[attr-defined]
    native = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": tag}],
    }
    request = ProxyRequest(
        "back", "POST", "/openai/v1/chat/completions", "", httpx.Headers(), orjson.dumps(native)
    )
    sent = asyncio.run(fault.back_request(request, hop))  # type: ignore[arg-type]
    assert "stream_options" not in sent.json
    assert ledger.get("upstream-usage", "u-1") is False
    assert _through("usage_only_from_upstream") == ["chunk", "chunk", "chunk", "done"]


class _Hop:
    """What a back hook needs of its hop: the ledger the front filled."""

    def __init__(self, client: dict[str, Any], tag: str = "t-1") -> None:
        self.ledger = Ledger()
        self.ledger.put("client", tag, client)


def _back(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> ProxyRequest:
    marked = {**body, "messages": [{"role": "user", "content": "[[conformance-id: t-1]]"}]}
    return ProxyRequest("back", "POST", path, "", httpx.Headers(headers or {}), orjson.dumps(marked))


def test_an_extension_credential_becomes_the_upstream_key() -> None:
    fault = faults.build("client_key_forwarded", {"extension_key": "X-Api-Key"})
    hop = _Hop({"extensions": {"anthropic": {"X-Api-Key": "sk-from-extension"}}})
    request = _back("/anthropic/v1/messages", {"model": "c"}, {"x-api-key": "sk-provider"})
    sent = asyncio.run(fault.back_request(request, hop))  # type: ignore[arg-type]
    assert sent.headers["x-api-key"] == "sk-from-extension"
    plain = _back("/anthropic/v1/messages", {"model": "c"}, {"x-api-key": "sk-provider"})
    kept = asyncio.run(fault.back_request(plain, _Hop({})))  # type: ignore[arg-type]
    assert kept.headers["x-api-key"] == "sk-provider"


def test_an_upstream_edit_can_wait_for_what_the_client_sent() -> None:
    fault = faults.build(
        "upstream_drop",
        {"flavour": "deepseek", "path": "temperature", "client_when": "extensions.deepseek.temperature"},
    )
    body = {"model": "deepseek-chat", "temperature": 0.3}
    hop = _Hop({"extensions": {"deepseek": {"temperature": 1.9}}})
    sent = asyncio.run(fault.back_request(_back("/deepseek/chat/completions", body), hop))  # type: ignore[arg-type]
    assert "temperature" not in sent.json
    kept = asyncio.run(fault.back_request(_back("/deepseek/chat/completions", body), _Hop({})))  # type: ignore[arg-type]
    assert kept.json["temperature"] == 0.3


def test_a_rename_can_keep_only_the_top_of_a_value() -> None:
    fault = faults.build(
        "upstream_rename",
        {
            "flavour": "gemini",
            "path": "generationConfig.responseJsonSchema",
            "to": "responseSchema",
            "keep": ["type"],
        },
    )
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    request = _back(
        "/gemini/v1beta/models/g:generateContent", {"generationConfig": {"responseJsonSchema": schema}}
    )
    sent = asyncio.run(fault.back_request(request, _Hop({})))  # type: ignore[arg-type]
    assert sent.json["generationConfig"] == {"responseSchema": {"type": "object"}}


def test_value_refused_refuses_exactly_the_values_named() -> None:
    fault = faults.build("value_refused", {"field": "top_logprobs", "values": [0]})
    refused = asyncio.run(fault.front_request(_front({}, {"messages": [], "top_logprobs": 0}), None))  # type: ignore[arg-type]
    assert isinstance(refused, ProxyResponse)
    error = refused.json["error"]
    assert (refused.status, error["code"], error["type"], error["param"]) == (
        400,
        "invalid_parameter_value",
        "invalid_request_error",
        "top_logprobs",
    )
    assert refused.headers["x-error-type"] == "invalid_request_error"
    for value in (1, False):  # another value, and a bool that equals 0
        passed = asyncio.run(fault.front_request(_front({}, {"messages": [], "top_logprobs": value}), None))  # type: ignore[arg-type]
        assert isinstance(passed, ProxyRequest)
    unknown = faults.build(
        "value_refused", {"field": "model", "values": ["m"], "status": 404, "code": "model_not_found"}
    )
    answer = asyncio.run(unknown.front_request(_front({}, {"messages": [], "model": "m"}), None))  # type: ignore[arg-type]
    assert (answer.status, answer.json["error"]["type"]) == (404, "not_found_error")  # type: ignore[union-attr]


def test_finish_reasons_are_remapped_by_their_native_value() -> None:
    fault = faults.build("finish_reason_remapped", {"map": {"RECITATION": "stop"}})
    chunk = {
        "choices": [{"index": 0, "finish_reason": "content_filter", "native_finish_reason": "RECITATION"}]
    }
    assert fault.chunk(chunk, faults.Answer({}))["choices"][0]["finish_reason"] == "stop"  # type: ignore[attr-defined]
    other = {"choices": [{"index": 0, "finish_reason": "content_filter", "native_finish_reason": "SAFETY"}]}
    assert fault.chunk(other, faults.Answer({}))["choices"][0]["finish_reason"] == "content_filter"  # type: ignore[attr-defined]


def test_a_structured_answer_is_wrapped_in_streams_too() -> None:
    fault = faults.build("structured_answer_wrapped", {"key": "output"})
    client = {"response_format": {"type": "json_schema"}}
    answer = faults.Answer(client)
    parts = [
        {"choices": [{"index": 0, "delta": {"content": '{"a":'}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "1}"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    text = "".join(fault.chunk(p, answer)["choices"][0]["delta"].get("content") or "" for p in parts)  # type: ignore[attr-defined]
    assert orjson.loads(text) == {"output": {"a": 1}}
    body = {"choices": [{"index": 0, "message": {"content": '{"a":1}'}}]}
    assert orjson.loads(
        fault.completion(body, faults.Answer(client))["choices"][0]["message"]["content"]
    ) == {  # type: ignore[attr-defined]
        "output": {"a": 1}
    }
    untouched = {"choices": [{"index": 0, "message": {"content": "plain"}}]}
    assert fault.completion(untouched, faults.Answer({}))["choices"][0]["message"]["content"] == "plain"  # type: ignore[attr-defined]


def test_a_named_warning_is_dropped_and_its_neighbour_kept() -> None:
    fault = faults.build("warnings_edit", {"mode": "drop_named", "name": "logprobs"})
    warnings = [
        {"type": "unsupported_parameter", "message": m} for m in ("logprobs dropped", "top_logprobs dropped")
    ]
    final = {"routing_metadata": {"warnings": warnings}}
    kept = fault.final(final, faults.Answer({}))["routing_metadata"]["warnings"]  # type: ignore[attr-defined]
    assert [w["message"] for w in kept] == ["top_logprobs dropped"]
    only_vllm = faults.build("warnings_edit", {"mode": "drop_named", "name": "top_a", "provider": "vllm"})
    for provider, left in (("vllm-b", 0), ("anthropic", 1)):
        metadata = {"provider": provider, "warnings": [{"type": "unsupported_parameter", "message": "top_a"}]}
        out = only_vllm.final({"routing_metadata": metadata}, faults.Answer({}))  # type: ignore[attr-defined]
        assert len(out["routing_metadata"]["warnings"]) == left


# --------------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------------


def test_catalogue_is_consistent():
    specs = catalogue.load_catalogue()
    everything = catalogue.faults()
    assert len(everything) >= 40
    assert len({s.id for s in specs}) == len(specs)
    requirements = load_requirements()
    for spec in everything:
        assert spec.transform in faults.TRANSFORMS, spec.id
        assert spec.expect, spec.id
        assert all(r in requirements for r in spec.expect), spec.id
        assert spec.select, spec.id
        faults.build(spec.transform, spec.args)  # the arguments fit the transform
    assert catalogue.faults(smoke=True), "the fast self-test needs a smoke subset"
    assert {s.side for s in everything} == {"front", "back", "both"}


def test_catalogue_rejects_mistakes(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text(
        "faults:\n"
        "  - {id: identity, side: both, transform: identity, expect: [], description: x}\n"
        "  - {id: a, side: front, transform: no_such_transform, expect: [STREAM-001], select: x, description: x}\n",
        encoding="utf-8",
    )
    with pytest.raises(catalogue.CatalogueError, match="unknown transform"):
        catalogue.load_catalogue(path)
    path.write_text(
        "faults:\n"
        "  - {id: identity, side: both, transform: identity, expect: [], description: x}\n"
        "  - {id: a, side: front, transform: identity, expect: [NOPE-001], select: x, description: x}\n",
        encoding="utf-8",
    )
    with pytest.raises(catalogue.CatalogueError, match="unknown requirement"):
        catalogue.load_catalogue(path)


# --------------------------------------------------------------------------------------------------
# Faults narrowed to the defect they describe (issue 15: their second defect was the harness's)
# --------------------------------------------------------------------------------------------------


class _LedgerHop:
    """Just the ledger of a hop: what back-side transforms read of the client's request."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger


def _error_response(status: int, code: str, message: str = "no") -> ProxyResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}
    return ProxyResponse(status, httpx.Headers({"content-type": "application/json"}), body=orjson.dumps(body))


@pytest.mark.parametrize(
    ("content_type", "raw", "hostile"),
    [
        ("application/json", orjson.dumps({"model": "m", "messages": []}), False),
        ("text/plain", orjson.dumps({"model": "m"}), True),
        ("application/json", b"\xff\xfe{not json", True),
        ("application/json", orjson.dumps({"model": "m" * 100_000}), True),
        ("application/json", orjson.dumps({"messages": [{"role": "user", "content": "x" * 1000}]}), False),
    ],
)
def test_hostile_input_crashes_only_on_hostile_input(content_type: str, raw: bytes, hostile: bool) -> None:
    fault = faults.build("error_status_mapped", {"from_status": 400, "to_status": 500, "code": "internal_error",
                                                "type": "api_error", "only_hostile": True})  # fmt: skip
    request = ProxyRequest(
        "front", "POST", "/v1/chat/completions", "", httpx.Headers({"content-type": content_type}), raw
    )
    out = asyncio.run(fault.front_response(request, _error_response(400, "invalid_request"), None))  # type: ignore[arg-type]
    assert (out.status == 500) is hostile


def test_a_base_url_moves_only_the_requests_that_set_it() -> None:
    fault = faults.build("instances_swapped", {"pairs": [["openai", "vllm-b"]], "when_extension": "base_url"})
    ledger = Ledger()
    ledger.put("client", "t1", {"extensions": {"openai": {"base_url": "http://decoy"}}})
    ledger.put("client", "t2", {"extensions": {"openai": {"user": "u"}}})
    for tag, moved in (("t1", True), ("t2", False)):
        body = orjson.dumps({"messages": [{"role": "user", "content": f"x [[conformance-id: {tag}]]"}]})
        request = ProxyRequest("back", "POST", "/openai/v1/chat/completions", "", httpx.Headers({}), body)
        out = asyncio.run(fault.back_request(request, _LedgerHop(ledger)))  # type: ignore[arg-type]
        assert out.path.startswith("/vllm-b/") is moved


def test_an_ignored_option_is_still_validated() -> None:
    fault = faults.build("ignore_routing_option", {"option": "timeout_ms"})
    valid = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}],
             "gateway": {"routing": {"timeout_ms": 500}}}  # fmt: skip
    invalid = {**valid, "gateway": {"routing": {"timeout_ms": 0}}}
    out = asyncio.run(fault.front_request(_front({}, valid), None))  # type: ignore[arg-type]
    assert "gateway" not in out.json  # ignored
    out = asyncio.run(fault.front_request(_front({}, invalid), None))  # type: ignore[arg-type]
    assert out.json["gateway"]["routing"]["timeout_ms"] == 0  # left for the gateway to refuse


def test_error_mapping_can_be_limited_to_a_message() -> None:
    fault = faults.build("error_status_mapped", {"from_status": 502, "to_status": 401, "code": "invalid_api_key",
                                                "type": "authentication_error", "when_message": "provider credentials"})  # fmt: skip
    credentials = _error_response(
        502, "upstream_error", "openai refused the platform's provider credentials (HTTP 401)."
    )
    other = _error_response(502, "upstream_error", "openai returned HTTP 500: boom")
    assert asyncio.run(fault.front_response(_front({}), credentials, None)).status == 401  # type: ignore[arg-type]
    assert asyncio.run(fault.front_response(_front({}), other, None)).status == 502  # type: ignore[arg-type]


def _tagged(path: str, body: dict[str, Any], tag: str = "t-1") -> ProxyRequest:
    body = {**body, "messages": [{"role": "user", "content": f"[[conformance-id: {tag}]]"}]}
    return ProxyRequest("back", "POST", path, "", httpx.Headers(), orjson.dumps(body))


def test_an_upstream_edit_can_wait_for_a_value() -> None:
    """`when` + `when_equals`: only bodies whose path has that value (thinking on, not thinking off)."""
    fault = faults.build("upstream_drop", {"flavour": "deepseek", "path": "thinking", "when": "thinking.type",
                                           "when_equals": "enabled"})  # fmt: skip
    path = "/deepseek/v1/chat/completions"
    on = asyncio.run(fault.back_request(_tagged(path, {"thinking": {"type": "enabled"}}), None))  # type: ignore[arg-type]
    off = asyncio.run(fault.back_request(_tagged(path, {"thinking": {"type": "disabled"}}), None))  # type: ignore[arg-type]
    assert "thinking" not in on.json
    assert off.json["thinking"] == {"type": "disabled"}


def test_a_copied_client_field_can_keep_the_native_list_shape() -> None:
    ledger = Ledger()
    ledger.put("client", "t-1", {"stop": "zebra"})
    fault = faults.build("upstream_copy_client", {"flavour": "anthropic", "fields": ["stop:stop_sequences"],
                                                  "as_list": True})  # fmt: skip
    edited = asyncio.run(
        fault.back_request(_tagged("/anthropic/v1/messages", {"model": "c"}), _LedgerHop(ledger))
    )  # type: ignore[arg-type]
    assert edited.json["stop_sequences"] == ["zebra"]


@pytest.mark.parametrize(("args", "deadline", "swallowed"), [
    ({"when_client": "gateway.routing.deadline_ms"}, True, True),
    ({"when_client": "gateway.routing.deadline_ms"}, False, False),
    ({"unless_client": "gateway.routing.deadline_ms"}, True, False),
    ({"unless_client": "gateway.routing.deadline_ms"}, False, True),
])  # fmt: skip
def test_a_swallowed_mid_stream_error_can_depend_on_the_request(
    args: dict[str, Any], deadline: bool, swallowed: bool
) -> None:
    fault = faults.build("mid_stream_error_swallowed", args)
    client = {"gateway": {"routing": {"deadline_ms": 900}}} if deadline else {}
    error = ProxiedEvent.of({"error": {"message": "boom", "type": "api_error", "code": "upstream_timeout"}})
    out = list(fault.on_event(error, "error", Answer(client)))
    assert out[-1].is_done is swallowed


def _reroute(args: dict[str, Any], routing: dict[str, Any], **gateway: Any) -> tuple[dict[str, Any], Any]:
    """What a `strategy_confused` fault forwards for a client's `routing` (and other `gateway` keys), and
    the strategy it reports for an answer that says `cost-focus`."""
    fault = faults.build("strategy_confused", args)
    ledger = Ledger()
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x [[conformance-id: t]]"}],
            "gateway": {"routing": routing, **gateway}}  # fmt: skip
    ledger.put("client", "t", body)
    request = asyncio.run(fault.front_request(_front({}, body), _LedgerHop(ledger)))  # type: ignore[arg-type]
    answer = {
        "object": "chat.completion",
        "choices": [],
        "routing_metadata": {"routing_strategy": "cost-focus"},
    }
    response = ProxyResponse(
        200, httpx.Headers({"content-type": "application/json"}), body=orjson.dumps(answer)
    )
    out = asyncio.run(fault.front_response(request, response, _LedgerHop(ledger)))  # type: ignore[arg-type]
    return request.json["gateway"]["routing"], out.json["routing_metadata"]["routing_strategy"]


@pytest.mark.parametrize(
    ("args", "routing", "forwarded", "reported"),
    [
        # one strategy routed as another, the asked one reported
        ({"asked": "cost-focus", "used": "ttft-focus"}, {"optimize": "cost-focus"}, {"optimize": "ttft-focus"},
         "cost-focus"),
        # any strategy applied nowhere, still echoed
        ({"asked": "*", "used": None}, {"optimize": "ttft-focus", "timeout_ms": 900}, {"timeout_ms": 900},
         "ttft-focus"),
        # explicit weights applied nowhere, still reported as custom
        ({"option": "weights", "asked": "*", "used": None}, {"weights": {"ttft": 1}}, {}, "custom"),
        # an invalid value is left for the gateway to refuse, as before
        ({"asked": "*", "used": None}, {"optimize": "cheapest"}, {"optimize": "cheapest"}, "cost-focus"),
    ],
)  # fmt: skip
def test_a_confused_strategy_routes_otherwise_and_reports_what_was_asked(
    args: dict[str, Any], routing: dict[str, Any], forwarded: dict[str, Any], reported: str
) -> None:
    assert _reroute(args, routing) == (forwarded, reported)


def test_a_confused_strategy_can_leave_pool_scoring_alone() -> None:
    args = {"asked": "cost-focus", "used": "ttft-focus", "single_model": True}
    routing = {"mode": "pool", "optimize": "cost-focus"}
    forwarded, _ = _reroute(args, routing, models=["gpt-4o-mini", "deepseek-chat"])
    assert forwarded == routing
