"""The request journal: what a gateway actually sent upstream, read back by the suite.

Every provider request is recorded when it arrives and completed when it ends (status, the native
usage object returned, outcome). Entries live in a ring buffer bounded in entries and in body bytes, so
memory is bounded however long the process runs: a body over `max_entry_bytes` is kept as a marker
(`{"journal_truncated": true, "bytes": N}`), and the oldest entries leave once the bodies kept pass
`max_bytes` (100 prompts of 3 MB grew the mocks by 270 MB, and 10,000 would have held ~28 GB).
Secrets are redacted to a short fingerprint so a suite can still tell which key was used
(`key_fingerprint`) without the journal holding it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from auriko_conformance.mocks.directives import find_tag

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization"})
SECRET_QUERY = frozenset({"key"})
# Where conversation text lives, in every flavour and spelling.
_TEXT_ROOTS = ("messages", "system", "contents", "systemInstruction", "system_instruction")

OUTCOME_OK = "ok"
OUTCOME_ERROR = "error"
OUTCOME_DISCONNECTED = "disconnected"  # the mock dropped the connection (disconnect_after)
OUTCOME_CLIENT_CLOSED = "client_closed"  # the client went away before the response was complete


@functools.lru_cache(maxsize=256)  # one SHA-256 per request otherwise; a handful of keys in practice
def key_fingerprint(secret: str) -> str:
    """The 8-hex fingerprint the journal shows instead of a key: sha256(key)[:8]."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def redact(value: str) -> str:
    """`Bearer sk-abc` -> `Bearer [redacted:1a2b3c4d]`; a bare key -> `[redacted:...]`."""
    scheme, sep, rest = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} [redacted:{key_fingerprint(rest.strip())}]"
    return f"[redacted:{key_fingerprint(value)}]"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def find_body_tag(body: Any) -> str | None:
    """The X of the first `[[conformance-id: X]]` in any message text of a request body, any flavour."""
    if not isinstance(body, dict):
        return None
    for root in _TEXT_ROOTS:
        if root in body:
            for text in _strings(body[root]):
                tag = find_tag(text)
                if tag is not None:
                    return tag
    return None


class Journal:
    """Ring buffer of request entries (plain dicts, JSON-ready). Oldest first on read."""

    def __init__(
        self, size: int = 10_000, max_bytes: int = 64 * 1024 * 1024, max_entry_bytes: int = 1024 * 1024
    ) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._max_entry_bytes = max_entry_bytes
        self._entries: deque[dict[str, Any]] = deque()
        self._weights: deque[int] = deque()  # body bytes kept per entry, oldest first
        self._bytes = 0
        self._ids = itertools.count(1)

    @property
    def size(self) -> int:
        return self._size

    @property
    def body_bytes(self) -> int:
        """Request-body bytes the journal holds (as received, before parsing)."""
        return self._bytes

    def start(
        self,
        *,
        provider: str,
        flavour: str,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
        size: int = 0,
    ) -> dict[str, Any]:
        """Record a request as it arrives (`size`: its body bytes); the returned entry is completed by
        `finish`. The tag is read from the whole body, before a large one is replaced by its marker."""
        entry: dict[str, Any] = {
            "id": next(self._ids),
            "provider": provider,
            "flavour": flavour,
            "method": method,
            "path": path,
            "query": {
                k: (f"[redacted:{key_fingerprint(v)}]" if k in SECRET_QUERY else v) for k, v in query.items()
            },
            "headers": {k: (redact(v) if k in SECRET_HEADERS else v) for k, v in headers.items()},
            "body": body if size <= self._max_entry_bytes else {"journal_truncated": True, "bytes": size},
            "received_at": time.time(),
            "tag": find_body_tag(body),
            "status": None,
            "response_usage": None,
            "outcome": None,
        }
        weight = size if size <= self._max_entry_bytes else 0  # a marker holds no body
        self._entries.append(entry)
        self._weights.append(weight)
        self._bytes += weight
        while len(self._entries) > self._size or (self._bytes > self._max_bytes and len(self._entries) > 1):
            self._entries.popleft()
            self._bytes -= self._weights.popleft()
        return entry

    @staticmethod
    def finish(entry: dict[str, Any], status: int, outcome: str, usage: Any = None) -> None:
        entry["status"] = status
        entry["outcome"] = outcome
        if usage is not None:
            entry["response_usage"] = usage

    def entries(
        self, *, tag: str | None = None, provider: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Matching entries, oldest first; `limit` keeps the newest `limit` of them."""
        found = [
            e
            for e in self._entries
            if (tag is None or e["tag"] == tag) and (provider is None or e["provider"] == provider)
        ]
        if limit is not None and limit >= 0:
            found = found[-limit:] if limit else []
        return found

    def clear(self) -> None:
        self._entries.clear()
        self._weights.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
