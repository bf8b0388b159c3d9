"""A gateway's answers reduced to what should not change between its releases.

The conformance checks judge a target against the contract; a team also wants to know when its own
gateway's behaviour changes, even within the contract. These normalisers keep the shape of a stream
(which events, which keys, which delta fields, finish reasons, where usage and routing_metadata appear,
the terminator) and the content the mocks make deterministic, and replace what varies by run (ids,
timestamps, latencies) with its type, so a syrupy snapshot of them is stable for a correct gateway and
shows every real change as a readable diff.
"""

from __future__ import annotations

from typing import Any

from auriko_conformance.suites.exchange import Exchange, ItemKind

#: routing_metadata fields that vary by run: kept as their type only
VOLATILE_METADATA = frozenset({"ttft_ms", "throughput_tps"})


def _type_of(value: Any) -> str:
    return f"<{type(value).__name__}>"


class _Ids:
    """Replaces each distinct volatile id with `<id-N>` in order of appearance, so sameness is kept."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return _type_of(value)
        return self.seen.setdefault(value, f"<id-{len(self.seen) + 1}>")


def metadata(value: Any) -> Any:
    """routing_metadata with run-dependent numbers replaced by their type; warnings by type and code."""
    if not isinstance(value, dict):
        return _type_of(value)
    out: dict[str, Any] = {}
    for key in sorted(value):
        item = value[key]
        if key in VOLATILE_METADATA:
            out[key] = _type_of(item)
        elif key == "warnings" and isinstance(item, list):
            out[key] = [
                {"type": w.get("type"), "code": w.get("code")} if isinstance(w, dict) else _type_of(w)
                for w in item
            ]
        else:
            out[key] = item
    return out


def _tool_calls(calls: Any, ids: _Ids) -> Any:
    if not isinstance(calls, list):
        return calls
    out = []
    for call in calls:
        if not isinstance(call, dict):
            out.append(_type_of(call))
            continue
        entry = {key: call[key] for key in sorted(call) if key not in ("id", "function")}
        if "id" in call:
            entry["id"] = ids(call["id"])
        if isinstance(call.get("function"), dict):
            entry["function"] = dict(sorted(call["function"].items()))
        out.append(entry)
    return out


def completion(exchange: Exchange) -> dict[str, Any]:
    """A non-stream answer: status, keys, choices with content, usage, normalised routing_metadata."""
    body = exchange.json
    if not isinstance(body, dict):
        return {"status": exchange.status, "body": exchange.excerpt(200)}
    if exchange.status != 200:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        return {"status": exchange.status, "error": {k: error.get(k) for k in ("type", "code", "param")}}
    ids = _Ids()
    choices = []
    for choice in body.get("choices") or []:
        message = dict(choice.get("message") or {})
        if "tool_calls" in message:
            message["tool_calls"] = _tool_calls(message["tool_calls"], ids)
        choices.append(
            {
                "index": choice.get("index"),
                "finish_reason": choice.get("finish_reason"),
                "message": dict(sorted(message.items())),
            }
        )
    return {
        "status": 200,
        "keys": sorted(body),
        "id": ids(body.get("id")),
        "created": _type_of(body.get("created")),
        "model": body.get("model"),
        "choices": choices,
        "usage": body.get("usage"),
        "routing_metadata": metadata(body.get("routing_metadata")),
    }


def stream(exchange: Exchange) -> dict[str, Any]:
    """A stream as its sequence of events, runs of plain content deltas folded into one entry."""
    if exchange.status != 200 or not exchange.is_stream:
        return {"status": exchange.status, "not_a_stream": completion(exchange)}
    ids = _Ids()
    events: list[dict[str, Any]] = []
    for item in exchange.stream.items:
        if item.kind is ItemKind.DONE:
            events.append({"event": "[DONE]"})
        elif item.kind is ItemKind.INVALID:
            events.append({"event": "invalid", "data": item.data[:120]})
        elif item.kind is ItemKind.ERROR:
            error = item.payload.get("error") if isinstance(item.payload.get("error"), dict) else {}
            events.append({"event": "error", "error": {k: error.get(k) for k in ("type", "code")}})
        elif item.kind is ItemKind.USAGE:
            payload = item.payload
            events.append(
                {
                    "event": "usage_chunk",
                    "keys": sorted(payload),
                    "usage": payload.get("usage"),
                    "routing_metadata": metadata(payload.get("routing_metadata")),
                }
            )
        else:
            _chunk(events, item.payload, ids)
    return {"status": 200, "events": events, "comments": len(exchange.stream.sse.comments)}


#: deltas carrying only one of these fields are folded into runs (text kept, chunk count recorded)
FOLDED = {"content": "content", "reasoning_content": "reasoning"}


def _chunk(events: list[dict[str, Any]], payload: dict[str, Any], ids: _Ids) -> None:
    keys = sorted(k for k in payload if k not in ("id", "created"))
    for choice in payload.get("choices") or []:
        delta = choice.get("delta") or {}
        index = choice.get("index")
        field = next(iter(delta)) if len(delta) == 1 else None
        if field in FOLDED and choice.get("finish_reason") is None and isinstance(delta[field], str):
            last = events[-1] if events else None
            if last and last.get("event") == FOLDED[field] and last["index"] == index:
                last["chunks"] += 1
                last["text"] += delta[field]
            else:
                events.append({"event": FOLDED[field], "index": index, "chunks": 1, "text": delta[field]})
            continue
        events.append(
            {
                "event": "chunk",
                "keys": keys,
                "index": index,
                "delta": {
                    k: (_tool_calls(v, ids) if k == "tool_calls" else v) for k, v in sorted(delta.items())
                },
                "finish_reason": choice.get("finish_reason"),
            }
        )
