"""The target client under the run's limits: timeouts, stalls, headers, unknown-model answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.options import parse_headers
from auriko_conformance.suites.target import Target, TargetTimeout, unknown_model_answer

from auriko_conformance.servers import serving
from tests.fixed_answer import read_body


def stalling_stream(after_chunks: int, pause_s: float) -> Any:
    """An SSE answer that sends `after_chunks` events, then goes silent for `pause_s`."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_body(receive)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i in range(after_chunks):
            await send({"type": "http.response.body", "body": f"data: {i}\n\n".encode(), "more_body": True})
        await asyncio.sleep(pause_s)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    return app


def slow_json(delay_s: float, trickle: bool = False) -> Any:
    """A JSON answer that takes `delay_s`: all before the headers, or trickled after them."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await read_body(receive)
        if not trickle:
            await asyncio.sleep(delay_s)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        steps = 10 if trickle else 0
        for _ in range(steps):
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
            await asyncio.sleep(delay_s / steps)
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def echo_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await read_body(receive)
    body = orjson.dumps({k.decode(): v.decode() for k, v in scope["headers"]})
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def test_a_stalled_stream_times_out_after_the_stall_timeout():
    with serving(stalling_stream(after_chunks=2, pause_s=30)) as server:
        target = Target(server.url, None, timeout=20, stall_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(TargetTimeout, match="stream stalled"):
            target.chat({"model": "m", "messages": [], "stream": True})
        assert time.monotonic() - started < 10
        target.close()


def test_a_slow_but_steady_stream_is_not_cut_by_the_answer_timeout():
    """A stream is judged by its gaps: it may last longer than --timeout while bytes keep coming."""
    with serving(stalling_stream(after_chunks=3, pause_s=0.3)) as server:
        target = Target(server.url, None, timeout=0.2, stall_timeout=2)
        exchange = target.chat({"model": "m", "messages": [], "stream": True})
        target.close()
    assert exchange.status == 200
    assert exchange.body.endswith(b"[DONE]\n\n")


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_non_streaming_answer_must_be_complete_within_the_timeout(trickle):
    with serving(slow_json(3.0, trickle=trickle)) as server:
        target = Target(server.url, None, timeout=0.5, stall_timeout=10)
        started = time.monotonic()
        with pytest.raises(TargetTimeout, match=r"within 0\.5 s"):
            target.chat({"model": "m", "messages": []})
        assert time.monotonic() - started < 2.5
        target.close()


def test_headers_global_then_per_model_then_per_call():
    with serving(echo_headers) as server:
        target = Target(
            server.url,
            "k",
            headers={"X-Tenant": "t1", "X-Provider": "any"},
            model_headers={"claude-x": {"X-Provider": "anthropic"}},
        )
        plain = target.chat({"model": "gpt-x", "messages": []}).json
        routed = target.chat({"model": "claude-x", "messages": []}).json
        explicit = target.chat({"model": "claude-x", "messages": []}, headers={"X-Provider": "mine"}).json
        timed, _ = target.chat_timed({"model": "claude-x", "messages": []})
        target.close()
    assert (plain["x-tenant"], plain["x-provider"], plain["authorization"]) == ("t1", "any", "Bearer k")
    assert routed["x-provider"] == "anthropic"
    assert explicit["x-provider"] == "mine"
    assert timed.json["x-provider"] == "anthropic"


def test_header_lines_parse_and_refuse_garbage():
    assert parse_headers(["X-A: 1", "x-b:two words "]) == {"X-A": "1", "x-b": "two words"}
    with pytest.raises(ValueError, match="expected 'Name: value'"):
        parse_headers(["X-A"])
    with pytest.raises(ValueError, match="expected 'Name: value'"):
        parse_headers([": value"])


def _answer(status: int, body: dict[str, Any]) -> Exchange:
    return Exchange(
        method="POST", url="u", request_body={}, status=status, headers={}, body=orjson.dumps(body)
    )


@pytest.mark.parametrize(
    ("status", "body", "unknown"),
    [
        (404, {"error": {"code": "model_not_found", "message": "no"}}, True),
        (400, {"error": {"message": "Invalid model name passed in model=claude-x"}}, True),  # LiteLLM's words
        (422, {"detail": "model 'claude-x' is not configured"}, True),
        (400, {"error": {"message": "temperature must be <= 2"}}, False),  # another problem
        # a refusal about another parameter of a request for that model is the test's subject (XLATE-029)
        (
            400,
            {
                "error": {
                    "message": "'claude-x' does not reason.",
                    "code": "reasoning_not_supported",
                    "param": "reasoning_effort",
                }
            },
            False,
        ),
        (400, {"error": {"message": "claude-x rejected the request"}}, False),  # names it, not as unknown
        (401, {"error": {"message": "no key for claude-x"}}, False),  # auth is never "unknown model"
        (500, {"error": {"message": "claude-x upstream failed"}}, False),  # a server error is a finding
        (200, {"model": "claude-x"}, False),
    ],
)
def test_an_unknown_model_answer_is_any_4xx_naming_the_model(status, body, unknown):
    assert unknown_model_answer(_answer(status, body), "claude-x") is unknown
