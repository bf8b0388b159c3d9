"""SSE out (OpenAI chunks), with the framing rules in one place. SSE in (the providers' native streams)
is read by the project's one reader, `auriko_conformance.sse` (issue 14).

Out: the role goes in the first delta of each choice only; each choice gets exactly one finish_reason
(a missing one becomes `stop` when the upstream ended cleanly); tool-call deltas carry `id`, `type` and
`function.name` only on a call's first delta; reasoning goes in `reasoning_content`; then exactly one
final chunk with `choices: []`, `usage` and `routing_metadata` (always, D-028), then `data: [DONE]`.
A failure after the first byte is one `data: {"error": {...}}` event and the stream ends without
`[DONE]` (D-004). The chunk prefix (id, object, created, model) is serialised once per stream.
"""

from __future__ import annotations

from typing import Any

import orjson
from auriko_conformance.reference_impl.adapters.base import Event

DONE = b"data: [DONE]\n\n"


def unique_call_id(call_id: str, choice: int, seen: set[str]) -> str:
    """Tool-call ids are unique within one response (SCHEMA-004); with n > 1 an upstream may repeat one
    across choices (the same deterministic answer), so a repeat gets the choice index appended."""
    candidate, n = call_id, 0
    while candidate in seen:
        n += 1
        candidate = f"{call_id}_{choice}" if n == 1 else f"{call_id}_{choice}_{n}"
    seen.add(candidate)
    return candidate


class ChunkWriter:
    """Normalised events -> OpenAI `chat.completion.chunk` SSE bytes for one stream."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        head = orjson.dumps(
            {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        )
        self._prefix = b"data: " + head[:-1] + b',"choices":'
        self._started: set[int] = set()
        self._finished: set[int] = set()
        self._call_ids: set[str] = set()

    def chunk(self, events: list[Event]) -> bytes:
        """One chunk for the events of one upstream event (empty bytes when nothing to say)."""
        choices: dict[int, dict[str, Any]] = {}
        for event in events:
            kind, index = event[0], event[1]
            if index in self._finished:
                continue  # never anything after a choice's finish_reason
            choice = choices.get(index)
            if choice is None:
                delta: dict[str, Any] = {}
                if index not in self._started:
                    self._started.add(index)
                    delta["role"] = "assistant"
                choice = {"index": index, "delta": delta, "finish_reason": None}
                choices[index] = choice
            delta = choice["delta"]
            if kind == "text":
                delta["content"] = delta.get("content", "") + event[2]
            elif kind == "reasoning":
                delta["reasoning_content"] = delta.get("reasoning_content", "") + event[2]
            elif kind == "signature":
                delta["reasoning_signature"] = event[2]
            elif kind == "tool":
                _, _, slot, call_id, name, arguments = event
                calls = delta.setdefault("tool_calls", [])
                if call_id is not None:
                    call_id = unique_call_id(call_id, index, self._call_ids)
                    calls.append(
                        {
                            "index": slot,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": arguments},
                        }
                    )
                elif calls and calls[-1]["index"] == slot:
                    calls[-1]["function"]["arguments"] += arguments
                else:
                    calls.append({"index": slot, "function": {"arguments": arguments}})
            elif kind == "logprobs":
                choice["logprobs"] = event[2]
            elif kind == "finish":
                choice["finish_reason"] = event[2]
                if event[3] is not None and event[3] != event[2]:
                    choice["native_finish_reason"] = event[3]
                self._finished.add(index)
        if not choices:
            return b""
        return self._prefix + orjson.dumps(list(choices.values())) + b"}\n\n"

    def close_choices(self) -> bytes:
        """Finish chunks for choices the upstream left open (and choice 0 if nothing was said at all)."""
        if not self._started:
            self._started.add(0)
            return self.chunk([("finish", 0, "stop", None)]).replace(
                b'"delta":{}', b'"delta":{"role":"assistant"}', 1
            )
        open_choices = sorted(self._started - self._finished)
        if not open_choices:
            return b""
        return self.chunk([("finish", index, "stop", None) for index in open_choices])

    def final(self, usage: dict[str, Any], metadata: dict[str, Any]) -> bytes:
        tail = orjson.dumps({"usage": usage, "routing_metadata": metadata})
        return self._prefix + b"[]," + tail[1:] + b"\n\n" + DONE


def error_event(error_object: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps({"error": error_object}) + b"\n\n"
