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

from suites.sse import SSETranscript, parse_sse

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

    def excerpt(self, limit: int = 600) -> str:
        text = self.body.decode("utf-8", errors="replace")
        return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
