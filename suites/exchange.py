"""What the suite observed: one HTTP exchange with the target, and a stream read as typed items.

Checks take these, never raw httpx objects, so that a test of the harness can feed a check a
hand-made broken response (a missing usage chunk, a doubled `[DONE]`) without any server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

import httpx
import orjson
from auriko_conformance.suites.sse import SSETranscript, parse_sse

DONE = "[DONE]"


class ItemKind(Enum):
    CHUNK = "chunk"  # a content chunk: non-empty choices
    USAGE = "usage"  # the final usage chunk: empty choices
    ERROR = "error"  # a mid-stream error event: {"error": {...}}
    DONE = "done"  # the [DONE] sentinel
    INVALID = "invalid"  # data that is neither JSON nor the sentinel, or JSON of no known shape


@dataclass(frozen=True, slots=True)
class StreamItem:
    index: int
    kind: ItemKind
    data: str
    payload: Any = None


def classify(index: int, data: str) -> StreamItem:
    if data == DONE:
        return StreamItem(index, ItemKind.DONE, data)
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        return StreamItem(index, ItemKind.INVALID, data)
    if not isinstance(payload, dict):
        return StreamItem(index, ItemKind.INVALID, data, payload)
    if "error" in payload and "choices" not in payload:
        return StreamItem(index, ItemKind.ERROR, data, payload)
    choices = payload.get("choices")
    if isinstance(choices, list) and not choices:
        return StreamItem(index, ItemKind.USAGE, data, payload)
    if isinstance(choices, list):
        return StreamItem(index, ItemKind.CHUNK, data, payload)
    return StreamItem(index, ItemKind.INVALID, data, payload)


@dataclass(slots=True)
class Stream:
    """A parsed SSE body: the raw transcript plus each event's data classified."""

    sse: SSETranscript
    items: list[StreamItem] = field(default_factory=list)

    @classmethod
    def from_bytes(cls, body: bytes) -> Stream:
        sse = parse_sse(body)
        return cls(sse=sse, items=[classify(i, e.data) for i, e in enumerate(sse.events)])

    def of_kind(self, kind: ItemKind) -> list[StreamItem]:
        return [item for item in self.items if item.kind is kind]

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return [item.payload for item in self.items if item.kind is ItemKind.CHUNK]

    @property
    def json_payloads(self) -> list[dict[str, Any]]:
        return [item.payload for item in self.items if item.kind in (ItemKind.CHUNK, ItemKind.USAGE)]

    @property
    def final_usage_chunk(self) -> dict[str, Any] | None:
        usage = self.of_kind(ItemKind.USAGE)
        return usage[-1].payload if usage else None

    @property
    def last_usage(self) -> dict[str, Any] | None:
        """The usage of the last event that carries one, whatever its `choices` (its shape is STREAM-003's
        business; checks about the counts read them here so one shape defect is not reported five times)."""
        for payload in reversed(self.json_payloads):
            if isinstance(payload.get("usage"), dict):
                return payload["usage"]
        return None

    def text(self, choice: int = 0) -> str:
        """The assistant text of one choice, joined from its deltas."""
        parts: list[str] = []
        for chunk in self.chunks:
            for entry in chunk.get("choices") or []:
                if isinstance(entry, dict) and entry.get("index") == choice:
                    content = (entry.get("delta") or {}).get("content")
                    if isinstance(content, str):
                        parts.append(content)
        return "".join(parts)


@dataclass
class Exchange:
    """One request the suite sent and the complete response it got."""

    method: str
    url: str
    request_body: Any
    status: int
    headers: httpx.Headers
    body: bytes
    request_headers: Mapping[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @classmethod
    def build(
        cls,
        *,
        status: int,
        body: bytes | str | Any = b"",
        headers: Mapping[str, str] | None = None,
        request_body: Any = None,
        method: str = "POST",
        url: str = "http://target.test/v1/chat/completions",
    ) -> Exchange:
        """A synthetic exchange (tests of the harness); dict/list bodies are serialised as JSON."""
        if isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = orjson.dumps(body)
        return cls(method, url, request_body, status, httpx.Headers(headers or {}), raw)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    @cached_property
    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    @cached_property
    def stream(self) -> Stream:
        return Stream.from_bytes(self.body)

    # ----------------------------------------------------------------------------------------------
    # Views every check reads: built once per exchange, so each module judges the same reading of it
    # ----------------------------------------------------------------------------------------------

    @cached_property
    def final(self) -> dict[str, Any] | None:
        """The object that carries usage and routing_metadata: a 200 completion body, or a 200 stream's
        final usage chunk (None for anything else)."""
        if self.status != 200:
            return None
        if self.is_stream:
            return self.stream.final_usage_chunk
        body = self.json
        return body if isinstance(body, dict) and "choices" in body else None

    @cached_property
    def metadata(self) -> dict[str, Any] | None:
        """`routing_metadata` of the final object, when it is an object."""
        metadata = self.final.get("routing_metadata") if self.final else None
        return metadata if isinstance(metadata, dict) else None

    @cached_property
    def warnings(self) -> list[dict[str, Any]]:
        """The warning objects of `routing_metadata` (entries of another shape are META-008's finding)."""
        warnings = self.metadata.get("warnings") if self.metadata else None
        return [w for w in warnings if isinstance(w, dict)] if isinstance(warnings, list) else []

    @cached_property
    def usage(self) -> dict[str, Any] | None:
        """The usage a 200 reported: the completion's, or the last one a stream carried (wherever it sat:
        its position is STREAM-003's business, the counts are everyone else's)."""
        if self.status == 200 and self.is_stream:
            return self.stream.last_usage
        usage = self.final.get("usage") if self.final else None
        return usage if isinstance(usage, dict) else None

    @cached_property
    def error(self) -> dict[str, Any] | None:
        """The `error` object of the body, when the body is an envelope with one."""
        body = self.json
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return body["error"]
        return None

    @cached_property
    def messages(self) -> list[dict[str, Any]]:
        """Each choice's final message of a 200: the body's, or one rebuilt from the stream's deltas.

        Beside the message fields, `_finish` and `_native` hold the choice's finish reasons and, for a
        stream's tool calls, `_indices` the tool-call indices in order of first appearance.
        """
        if self.status != 200:
            return []
        if self.is_stream:
            return _rebuild_messages(self.stream.chunks)
        choices = self.json.get("choices") if isinstance(self.json, dict) else None
        return [
            {
                **(c.get("message") or {}),
                "_finish": c.get("finish_reason"),
                "_native": c.get("native_finish_reason"),
            }
            for c in choices or []
            if isinstance(c, dict)
        ]

    def excerpt(self, limit: int = 600) -> str:
        text = self.body.decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"

    def evidence(self) -> dict[str, Any]:
        """What was sent and what came back, as a finding's evidence shows it (never re-worded)."""
        return {
            "request": {"method": self.method, "url": self.url, "body": self.request_body},
            "response": {
                "status": self.status,
                "headers": dict(self.headers),
                "body_excerpt": self.excerpt(2000),
            },
        }


def _rebuild_messages(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join each choice's deltas into one message (content, reasoning, tool calls, finish reasons)."""
    assembled: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            message = assembled.setdefault(
                choice.get("index", 0),
                {"content": "", "reasoning_content": "", "_tools": {}, "_finish": None, "_native": None},
            )
            delta = choice.get("delta") or {}
            for key in ("content", "reasoning_content"):
                if isinstance(delta.get(key), str):
                    message[key] += delta[key]
            for call in delta.get("tool_calls") or []:
                if isinstance(call, dict):
                    _add_tool_delta(message["_tools"], call)
            for key, slot in (("finish_reason", "_finish"), ("native_finish_reason", "_native")):
                if choice.get(key) is not None:
                    message[slot] = choice[key]
    out = []
    for index in sorted(assembled):
        message = assembled[index]
        tools = message.pop("_tools")
        if tools:
            message["tool_calls"] = [
                {
                    "id": t["id"],
                    "type": "function",
                    "function": {"name": t["name"], "arguments": t["arguments"]},
                }
                for _, t in sorted(tools.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            ]
            message["_indices"] = list(tools)
        out.append(message)
    return out


def _add_tool_delta(tools: dict[Any, dict[str, Any]], call: dict[str, Any]) -> None:
    slot = tools.setdefault(call.get("index"), {"name": None, "arguments": "", "id": None})
    function = call.get("function") or {}
    if function.get("name"):
        slot["name"] = function["name"]
    if call.get("id"):
        slot["id"] = call["id"]
    if isinstance(function.get("arguments"), str):
        slot["arguments"] += function["arguments"]
