"""Known-good responses, and the means to break them one way at a time."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from auriko_conformance.suites.exchange import Exchange

PRICES = {"input": 2.5, "output": 10.0, "cached_input": 1.25}
REQUEST: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
METADATA: dict[str, Any] = {
    "provider": "openai",
    "provider_model_id": "gpt-4o-2024-08-06",
    "model_canonical": "gpt-4o",
    "routing_strategy": "cost-focus",
    "throughput_tps": 40.0,
    "cost": {"usd": (10 * 2.5 + 4 * 10.0) / 1e6},
}
USAGE: dict[str, Any] = {
    "prompt_tokens": 10,
    "completion_tokens": 4,
    "total_tokens": 14,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
HEADERS = {"content-type": "application/json", "x-request-id": "req_1"}
SSE_HEADERS = {"content-type": "text/event-stream", "x-request-id": "req_1"}


def completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1745100000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there friend"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": copy.deepcopy(USAGE),
        "routing_metadata": copy.deepcopy(METADATA),
    }


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1745100000,
        "model": "gpt-4o-2024-08-06",
        "choices": choices,
        **extra,
    }


def stream_payloads(*, tool_calls: bool = False) -> list[Any]:
    """A correct stream as a list of event data: dicts for JSON events, the string for [DONE]."""
    metadata = copy.deepcopy(METADATA) | {"ttft_ms": 120.0}
    if tool_calls:
        body = [
            _chunk([{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}]},
                "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"tool_calls": [
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": '{"x"'}}]},
                "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]},
                     "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]},
                     "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
        ]  # fmt: skip
    else:
        body = [
            _chunk([{"index": 0, "delta": {"role": "assistant", "content": "Hello"}, "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"content": " there"}, "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {"content": " friend"}, "finish_reason": None}]),
            _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        ]
    final = _chunk([], usage=copy.deepcopy(USAGE), routing_metadata=metadata)
    return [*body, final, "[DONE]"]


def sse(payloads: list[Any]) -> bytes:
    out = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        out.append(f"data: {data}\n\n")
    return "".join(out).encode()


def stream_exchange(payloads: list[Any] | None = None, *, raw: bytes | None = None) -> Exchange:
    body = raw if raw is not None else sse(payloads if payloads is not None else stream_payloads())
    return Exchange.build(
        status=200, body=body, headers=SSE_HEADERS, request_body={**REQUEST, "stream": True}
    )


def completion_exchange(body: Any = None, headers: dict[str, str] | None = None) -> Exchange:
    return Exchange.build(
        status=200,
        body=completion() if body is None else body,
        headers=headers or HEADERS,
        request_body=REQUEST,
    )


def error_exchange(
    status: int, error: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> Exchange:
    body: Any = {"error": error} if error is not None else b""
    return Exchange.build(status=status, body=body, headers=headers or HEADERS, request_body=REQUEST)
