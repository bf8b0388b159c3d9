"""The mock journal read back: what a gateway sent its upstreams for one tagged request.

The mocks record every provider request (secrets redacted) with the instance that received it, the
status it answered and the native usage it reported. Routing, fault and translation suites judge a
gateway by these entries; the readers here are shared so each reads the journal one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auriko_conformance.mocks.journal import OUTCOME_CLIENT_CLOSED

Entry = Mapping[str, Any]


def upstream_model(entry: Entry) -> str | None:
    """The model an upstream request asked for: the body's `model`, or Gemini's `models/{id}:` path."""
    body = entry.get("body")
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    path = str(entry.get("path") or "")
    marker = "/models/"
    if marker in path:
        return path.split(marker, 1)[1].split(":", 1)[0] or None
    return None


def answering_entries(journal: Iterable[Entry]) -> list[Entry]:
    """Upstream requests that completed with a 200 and a whole answer."""
    return [e for e in journal if e.get("status") == 200 and e.get("outcome") == "ok"]


def refusals(journal: Iterable[Entry]) -> list[Entry]:
    """Upstream requests the provider refused as invalid (a 4xx other than rate limiting): the gateway
    sent something the provider's API does not accept. An attempt the gateway abandoned (the mock
    records 499, nginx's "client closed request") was not refused: the gateway left."""
    return [
        e
        for e in journal
        if isinstance(e.get("status"), int)
        and 400 <= e["status"] < 500
        and e["status"] not in (429, 499)
        and e.get("outcome") != OUTCOME_CLIENT_CLOSED
    ]


def called(journal: Iterable[Entry]) -> list[str]:
    """Instance names in the order they received requests."""
    return [str(e.get("provider")) for e in journal]


def native_usage(entry: Entry) -> tuple[int, int] | None:
    """(prompt, completion) tokens from the usage object an upstream returned, in any provider's shape:
    OpenAI-style `prompt_tokens`/`completion_tokens`, Anthropic `input_tokens` (+ cache reads and writes)
    and `output_tokens`, Gemini `promptTokenCount` and `candidatesTokenCount` (+ `thoughtsTokenCount`)."""
    usage = entry.get("response_usage")
    if not isinstance(usage, dict):
        return None

    def count(*keys: str) -> int:
        return sum(int(usage.get(k) or 0) for k in keys)

    if "prompt_tokens" in usage:
        return count("prompt_tokens"), count("completion_tokens")
    if "input_tokens" in usage:
        prompt = count("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        return prompt, count("output_tokens")
    if "promptTokenCount" in usage:
        return count("promptTokenCount"), count("candidatesTokenCount", "thoughtsTokenCount")
    return None
