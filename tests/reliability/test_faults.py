"""Item 1: every upstream fault the mocks can produce, seen from a client of the reference gateway.

`suites/test_upstream_faults.py` judges the *mapping* of each failure as conformance requirements. This
module is the reliability side of the same faults, over real sockets: whatever fails upstream, the
client gets either a complete answer (fallback), a contract-valid error envelope, or -- after the first
byte of a stream -- exactly one error event (D-004); never a 500, a hang past `deadline_ms` plus the
suite's margin, a stream that ends without telling, or a garbled chunk. Timings are bounds taken from
the request's own `timeout_ms` / `deadline_ms`, never speed goals.

The model is `llama-3.3-70b` (two offerings: `vllm-b` ranks first under cost-focus, `vllm` second), so a
fault scoped with `provider=vllm-b` leaves a healthy fallback and an unscoped fault exhausts the plan.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.completions import MIN_FALLBACK_S
from auriko_conformance.reference_impl.config import config_from_mapping

from auriko_conformance.servers import serving
from tests.reliability.helpers import (
    AUTH,
    CLIENT_TIMEOUT_S,
    DEADLINE_MARGIN_S,
    chat_body,
    check_envelope,
    classify_stream,
    post,
)

TIMEOUT_MS = 400
DEADLINE_MS = 1_500
ROUTING = {"timeout_ms": TIMEOUT_MS, "deadline_ms": DEADLINE_MS}
BOUND_S = DEADLINE_MS / 1000 + DEADLINE_MARGIN_S

# fault -> (directive, status when every attempt fails, codes allowed then)
PRE_STREAM_FAULTS: dict[str, tuple[str, int, set[str]]] = {
    "429": ("error=429 retry_after=7", 429, {"rate_limit_exceeded"}),
    "500": ("error=500", 502, {"upstream_error"}),
    "503": ("error=503", 503, {"service_unavailable"}),
    "529": ("error=529", 503, {"service_unavailable"}),
    "timeout": ("timeout", 504, {"upstream_timeout"}),
    "malformed": ("malformed", 502, {"upstream_error"}),
    "reset": ("disconnect_after=0", 502, {"upstream_error"}),
}
# disconnect_after counts stream events, so the reset is a stream-only fault
CASES = [
    pytest.param(fault, stream, id=f"{fault}-{'stream' if stream else 'json'}")
    for fault in PRE_STREAM_FAULTS
    for stream in (False, True)
    if stream or fault != "reset"
]


def _text(tag: str, directive: str) -> str:
    return f"Tell me a story [[conformance-id: {tag}]] [[mock: {directive}]]"


def _check_answer(timed: Any, stream: bool) -> dict[str, Any]:
    assert timed.response.status_code == 200, timed.text
    if stream:
        outcome = classify_stream(timed.text)
        assert outcome.kind == "complete", outcome.error
        return outcome.final
    return orjson.loads(timed.text)


# ------------------------------------------------------------------------------------------------------
# Failures before the first byte: fallback when the plan has another offering, the mapped error when not
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "stream"), CASES)
def test_fault_on_the_first_provider_falls_back(client, journal, tag, fault, stream):
    directive, _, _ = PRE_STREAM_FAULTS[fault]
    body = chat_body(_text(tag, f"provider=vllm-b {directive}"), stream=stream, routing=ROUTING)
    timed = post(client, body)
    final = _check_answer(timed, stream)
    assert final["routing_metadata"]["provider"] == "vllm"
    assert timed.seconds <= BOUND_S, timed.seconds
    calls = [(e["provider"], e["outcome"]) for e in journal.settled(tag)]
    assert [p for p, _ in calls] == ["vllm-b", "vllm"], calls
    if fault == "timeout":  # the gateway gave up on the first attempt and closed it
        assert calls[0][1] == "client_closed", calls
        warnings = final["routing_metadata"].get("warnings") or []
        assert any(w["type"] == "provider_timeout" for w in warnings), warnings


@pytest.mark.parametrize(("fault", "stream"), CASES)
def test_fault_on_every_provider_is_the_mapped_error(client, journal, tag, fault, stream):
    directive, status, codes = PRE_STREAM_FAULTS[fault]
    timed = post(client, chat_body(_text(tag, directive), stream=stream, routing=ROUTING))
    assert timed.response.status_code == status, timed.text
    error = check_envelope(timed.response)
    assert error["code"] in codes, error
    assert timed.seconds <= BOUND_S, timed.seconds
    if status == 429:
        assert int(timed.response.headers["retry-after"]) >= 7
        assert timed.response.headers["x-rate-limit-source"] == "provider"
    entries = journal.settled(tag)
    assert {e["provider"] for e in entries} == {"vllm", "vllm-b"}, entries
    assert all(e["outcome"] for e in entries), entries  # no upstream request left open


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_no_fallback_when_disallowed(client, journal, tag, fault):
    directive, status, codes = PRE_STREAM_FAULTS[fault]
    routing = {**ROUTING, "allow_fallbacks": False}
    timed = post(client, chat_body(_text(tag, f"provider=vllm-b {directive}"), routing=routing))
    assert timed.response.status_code == status, timed.text
    assert check_envelope(timed.response)["code"] in codes
    assert [e["provider"] for e in journal.settled(tag)] == ["vllm-b"]


def test_anthropic_overload_529_is_503_not_500(client, tag):
    body = chat_body(_text(tag, "error=529"), model="claude-haiku-4-5", routing=ROUTING)
    timed = post(client, body)
    assert timed.response.status_code == 503, timed.text
    assert check_envelope(timed.response)["code"] == "service_unavailable"


# ------------------------------------------------------------------------------------------------------
# Deadlines: a chain of slow providers never outlives deadline_ms (+ margin), whatever the fault
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_deadline_ends_a_chain_of_timeouts(client, journal, tag, stream):
    # four offerings (two models x two hosts), each 400 ms: the 1,000 ms deadline cuts the third attempt
    routing = {"timeout_ms": TIMEOUT_MS, "deadline_ms": 1_000, "max_fallback_attempts": 5}
    body = chat_body(_text(tag, "timeout"), stream=stream, routing=None)
    body.pop("model")
    body["gateway"] = {"models": ["llama-3.3-70b", "qwen3-32b"], "routing": routing}
    timed = post(client, body)
    assert timed.response.status_code == 504, timed.text
    assert check_envelope(timed.response)["code"] == "upstream_timeout"
    assert timed.seconds <= 1.0 + DEADLINE_MARGIN_S, timed.seconds
    entries = journal.settled(tag)
    assert 2 <= len(entries) <= 3, entries
    assert all(e["outcome"] == "client_closed" for e in entries), entries


EARLY_S = 0.002  # how early the fake upstream's timeouts fire (uvloop's were measured up to ~1 ms)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_timeouts_that_fire_early_leave_no_crumb_attempt(stream: bool) -> None:
    """The cause of a flake of the test above (4 upstream requests in a 1,000 ms chain of 400 ms
    timeouts): under uvloop a timer fires up to a millisecond before `time.monotonic()` reaches its
    time, so the third attempt, cut by the deadline, ended a hair before it and the gateway sent a
    fourth with under 1 ms to live. Here every attempt ends `EARLY_S` before its allowance: the chain
    stops at three, and a fallback is never started with less than `MIN_FALLBACK_S` left (D-142)."""
    gateway = create_app(transport=httpx.ASGITransport(app=create_mock_app()))
    allowances: list[float] = []

    async def early_timeout(call: Any, timeout_s: float, stream: bool = False, provider: str = "") -> Any:
        allowances.append(timeout_s)
        await asyncio.sleep(max(0.0, timeout_s - EARLY_S))
        raise httpx.ReadTimeout("the provider sent nothing within the read timeout")

    gateway.upstream.send = early_timeout  # type: ignore[method-assign]
    routing = {"timeout_ms": TIMEOUT_MS, "deadline_ms": 1_000, "max_fallback_attempts": 5}
    body = chat_body("Tell me a story", stream=stream)
    body.pop("model")
    body["gateway"] = {"models": ["llama-3.3-70b", "qwen3-32b"], "routing": routing}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway),
        base_url="http://g",
        headers=AUTH,
        timeout=CLIENT_TIMEOUT_S,
    ) as client:
        response = await client.post("/v1/chat/completions", json=body)
    await gateway.upstream.aclose()
    assert response.status_code == 504, response.text
    assert check_envelope(response)["code"] == "upstream_timeout"
    assert len(allowances) == 3, allowances
    assert all(allowance >= MIN_FALLBACK_S for allowance in allowances), allowances


# ------------------------------------------------------------------------------------------------------
# Failures after the first byte: one detectable error event, no [DONE], the upstream request closed
# ------------------------------------------------------------------------------------------------------

MID_STREAM: dict[str, tuple[str, set[str]]] = {
    "stall": ("stall_after=5", {"upstream_timeout"}),
    "disconnect": ("disconnect_after=5", {"upstream_error"}),
}


@pytest.mark.parametrize("model", ["llama-3.3-70b", "gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash"])
@pytest.mark.parametrize("fault", list(MID_STREAM))
def test_mid_stream_fault_is_one_error_event(client, journal, tag, fault, model):
    directive, codes = MID_STREAM[fault]
    body = chat_body(_text(tag, f"words=40 {directive}"), model=model, stream=True, routing=ROUTING)
    timed = post(client, body)
    assert timed.response.status_code == 200, timed.text
    outcome = classify_stream(timed.text)
    assert outcome.kind == "error_event", outcome.payloads[-1]
    assert outcome.error["code"] in codes, outcome.error
    assert any(p.get("choices") for p in outcome.payloads), "the error came before any content"
    assert timed.seconds <= BOUND_S, timed.seconds
    entries = journal.settled(tag)
    assert len(entries) == 1, entries  # no fallback once the client has bytes
    want = "client_closed" if fault == "stall" else "disconnected"
    assert entries[0]["outcome"] == want, entries


def test_stall_without_deadline_ends_after_timeout_ms_of_silence(client, journal, tag):
    body = chat_body(_text(tag, "stall_after=4"), stream=True, routing={"timeout_ms": TIMEOUT_MS})
    timed = post(client, body)
    outcome = classify_stream(timed.text)
    assert outcome.kind == "error_event"
    assert outcome.error["code"] == "upstream_timeout"
    assert timed.seconds <= TIMEOUT_MS / 1000 + DEADLINE_MARGIN_S, timed.seconds
    assert journal.settled(tag)[0]["outcome"] == "client_closed"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_slow_but_live_answer_is_cut_at_the_deadline(client, journal, tag, stream):
    # 200 tokens at 20 tokens/s is a 10 s answer: every event arrives well within timeout_ms, but
    # deadline_ms bounds the whole request (D-048), streamed or not
    routing = {"timeout_ms": 1_000, "deadline_ms": 1_500}
    body = chat_body(_text(tag, "words=200 tps=20"), stream=stream, routing=routing)
    timed = post(client, body)
    assert timed.seconds <= 1.5 + DEADLINE_MARGIN_S, timed.seconds
    if stream:
        assert timed.response.status_code == 200
        outcome = classify_stream(timed.text)
        assert outcome.kind == "error_event"
        assert outcome.error["code"] == "upstream_timeout"
    else:
        assert timed.response.status_code == 504, timed.text
        assert check_envelope(timed.response)["code"] == "upstream_timeout"
    assert all(e["outcome"] == "client_closed" for e in journal.settled(tag))


@pytest.mark.parametrize(("model", "mid_stream"), [("gemini-2.5-flash", True), ("claude-haiku-4-5", False)])
def test_malformed_stream_event(client, tag, model, mid_stream):
    # the mock sends one good event, then a broken one: Gemini's first event already carries text (so
    # the client has bytes and gets an error event); Anthropic's is message_start (nothing to relay
    # yet, so the break is still a pre-stream failure with a status)
    body = chat_body(_text(tag, "malformed"), model=model, stream=True, routing=ROUTING)
    timed = post(client, body)
    if mid_stream:
        assert timed.response.status_code == 200, timed.text
        outcome = classify_stream(timed.text)
        assert outcome.kind == "error_event"
        assert outcome.error["code"] == "upstream_error"
    else:
        assert timed.response.status_code == 502, timed.text
        assert check_envelope(timed.response)["code"] == "upstream_error"


# ------------------------------------------------------------------------------------------------------
# Truncated SSE: a provider that ends its stream cleanly (HTTP-wise) before the terminal event
# ------------------------------------------------------------------------------------------------------


def _openai_chunk(content: str | None = None, role: str | None = None) -> bytes:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    chunk = {
        "id": "chatcmpl-trunc",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "meta-llama/Llama-3.3-70B-Instruct",
        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


TRUNCATIONS = {
    # whole events, then a clean end of body: no finish_reason, no [DONE]
    "between_events": [_openai_chunk("", "assistant"), _openai_chunk("Once"), _openai_chunk(" upon")],
    # the body ends in the middle of an event's JSON
    "inside_an_event": [_openai_chunk("", "assistant"), _openai_chunk("Once"), _openai_chunk(" upon")[:30]],
    # a finish_reason, but the body ends before [DONE] (and before the usage chunk)
    "before_done": [
        _openai_chunk("", "assistant"),
        _openai_chunk("Once"),
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    ],
}


class TruncatingProvider:
    """A vLLM-shaped upstream whose streams stop early (and whose non-stream body is cut short)."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for frame in self.frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})  # a clean, complete HTTP body


@pytest.fixture
def truncating_gateway(mock_server) -> Iterator[Any]:
    @contextlib.contextmanager
    def start(frames: list[bytes]) -> Iterator[str]:
        with serving(TruncatingProvider(frames)) as provider:
            config = config_from_mapping(
                {
                    "mock_base_url": mock_server.url,
                    "providers": {"vllm": {"base_url": provider.url + "/v1"}},
                }
            )
            from auriko_conformance.reference_impl.app import create_app

            with serving(create_app(config)) as gateway:
                yield gateway.url

    return start


@pytest.mark.parametrize("case", list(TRUNCATIONS))
def test_truncated_upstream_stream_is_an_error_event(truncating_gateway, case):
    with (
        truncating_gateway(TRUNCATIONS[case]) as url,
        httpx.Client(base_url=url, headers=AUTH, timeout=CLIENT_TIMEOUT_S) as client,
    ):
        body = chat_body("hello", stream=True, routing={**ROUTING, "providers": ["vllm"]})
        timed = post(client, body)
    assert timed.response.status_code == 200, timed.text
    outcome = classify_stream(timed.text)
    assert outcome.kind == "error_event", outcome.payloads
    assert outcome.error["code"] == "upstream_error"
    assert "Once" in "".join(
        c["delta"].get("content") or "" for p in outcome.payloads for c in p.get("choices") or ()
    )


# ------------------------------------------------------------------------------------------------------
# Cumulative usage: replaced, never summed, on every flavour
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["llama-3.3-70b", "gpt-4o", "deepseek-chat", "claude-haiku-4-5", "gemini-2.5-flash"]
)
def test_cumulative_stream_usage_equals_the_non_stream_usage(client, tag, model):
    text = _text(tag, "usage=cumulative words=30")
    plain = post(client, chat_body(text, model=model))
    assert plain.response.status_code == 200, plain.text
    streamed = post(client, chat_body(text, model=model, stream=True))
    outcome = classify_stream(streamed.text)
    assert outcome.kind == "complete"
    expected = orjson.loads(plain.text)["usage"]
    got = outcome.final["usage"]
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert got[key] == expected[key], (key, got, expected)
    assert outcome.final["routing_metadata"]["cost"] == orjson.loads(plain.text)["routing_metadata"]["cost"]
