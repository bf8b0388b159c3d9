"""Scenario directives: `[[mock: key=value flag ...]]` written inside the last user message.

They travel inside message text, so they pass unchanged through any gateway. Several blocks may appear;
a block containing `provider=<instance>` applies only on that instance (so a suite can make provider A
fail and provider B answer). Every block is validated wherever it applies: an unknown key or a bad value
is a `DirectiveError`, which the flavour turns into its own 400 naming the directive.

This module also finds the `[[conformance-id: X]]` correlation marker and strips both kinds of marker
from text, because the deterministic reply is derived from the user's words without them.

Markers are found by one left-to-right scan (`_blocks`), linear in the text. The regular expressions
this replaces (a `[[`, the marker's name, anything lazily up to `]]`) retried from every `[[` to the end of
the text when no `]]` closed it: `"[[mock" * 12000` held the mock for 10.7 s, `"[[conformance-id:a" * 5000`
8.9 s (issue 19).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

# What follows `[[` in each kind of marker, matched at one position (never searched for).
_DIRECTIVE_KIND = re.compile(r"\s*mock\b")
_TAG_KIND = re.compile(r"\s*conformance-id\s*:\s*")
_MARKER_KIND = re.compile(r"\s*(?:mock\b|conformance-id\s*:)")
_SPACES_RE = re.compile(r"\s+")
_NOT_IN_TAG = re.compile(r"[\]\s]")

FINISH_VALUES = ("stop", "length", "content_filter")
REJECT_REASONS = ("context_length", "content_filter")


class DirectiveError(ValueError):
    """A directive the mock cannot follow; `directive` names it for the provider-shaped 400."""

    def __init__(self, directive: str, reason: str) -> None:
        super().__init__(f"invalid mock directive {directive!r}: {reason}")
        self.directive = directive
        self.reason = reason


@dataclass(slots=True)
class Directives:
    """The merged directives for one request on one instance. None/False = not given."""

    tool_calls: int | None = None
    reasoning: int | None = None
    error: int | None = None
    retry_after: float | None = None
    timeout: bool = False
    ttft_ms: float | None = None
    tps: float | None = None
    jitter_ms: float | None = None
    disconnect_after: int | None = None
    stall_after: int | None = None
    malformed: bool = False
    finish: str | None = None
    cached: int | None = None
    usage: str | None = None
    words: int | None = None
    preamble: int | None = None  # text of N tokens before tool calls (real models often write one)
    redacted_thinking: bool = False  # Anthropic: the thinking block comes back redacted
    #: the provider's own finish reason, written verbatim (any identifier, so unknown ones too)
    native_finish: str | None = None
    #: answer the provider's own 400 for this reason (`context_length` or `content_filter`)
    reject: str | None = None

    def any_fault(self) -> bool:
        return (
            self.timeout
            or self.malformed
            or self.disconnect_after is not None
            or self.stall_after is not None
        )


NO_DIRECTIVES = Directives()


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        number = float(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return number

    return parse


_IDENTIFIER_RE = re.compile(r"[A-Za-z_]{1,64}")


def _identifier(value: str) -> str:
    if not _IDENTIFIER_RE.fullmatch(value):
        raise ValueError("must be 1 to 64 letters or underscores")
    return value


def _choice(*values: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return value

    return parse


# key -> (parser for `key=value`, value a bare `key` means; None = the key needs a value)
_VALUED: dict[str, tuple[Callable[[str], Any], Any]] = {
    "tool_calls": (_int(0, 16), None),
    "reasoning": (_int(0, 100_000), None),
    "error": (_int(400, 599), None),
    "retry_after": (_float(0, 86_400), None),
    "ttft_ms": (_float(0, 600_000), None),
    "tps": (_float(0, 1_000_000), None),
    "jitter_ms": (_float(0, 600_000), None),
    "disconnect_after": (_int(0, 1_000_000), None),
    "stall_after": (_int(0, 1_000_000), None),
    "finish": (_choice(*FINISH_VALUES), None),
    "cached": (_int(0, 10_000_000), None),
    "usage": (_choice("cumulative"), None),
    "words": (_int(1, 100_000), None),
    "preamble": (_int(1, 100_000), None),
    "redacted_thinking": (_choice("true"), True),
    "native_finish": (_identifier, None),
    "reject": (_choice(*REJECT_REASONS), None),
    "timeout": (_choice("true"), True),
    "malformed": (_choice("true"), True),
    "content_filter": (_choice("true"), True),
}
_FIELD_NAMES = {f.name for f in fields(Directives)}


def _parse_block(body: str) -> tuple[str | None, dict[str, Any]]:
    if not body.startswith(":"):
        raise DirectiveError("[[mock" + body[:20], "expected '[[mock: key=value ...]]'")
    provider: str | None = None
    values: dict[str, Any] = {}
    for item in body[1:].split():
        key, sep, raw = item.partition("=")
        if key == "provider":
            if not raw:
                raise DirectiveError(item, "provider needs an instance name")
            provider = raw
            continue
        if key not in _VALUED:
            raise DirectiveError(key, "unknown directive")
        parser, bare = _VALUED[key]
        if not sep:
            if bare is None:
                raise DirectiveError(key, "needs a value, e.g. key=3")
            value = bare
        else:
            try:
                value = parser(raw)
            except ValueError as exc:
                raise DirectiveError(item, str(exc)) from None
            if bare is True:
                value = True
        if key == "content_filter":
            key, value = "finish", "content_filter"
        values[key] = value
    return provider, values


def _candidates(text: str, kind: re.Pattern[str]) -> Iterator[tuple[int, int, int]]:
    """(start, end of `kind`, position of the closing `]]`) for every `[[` followed by `kind` and closed
    later, left to right, overlapping ones included.

    Each `[[` is looked at once and `kind` matched at one position; the closing `]]` is searched for
    only when the last one found lies behind, because the first `]]` after an opening is also the first
    after any later opening before it. So the scan is linear however many `[[` never close.
    """
    close = -1
    start = text.find("[[")
    while start != -1:
        if close < start + 2:
            close = text.find("]]", start + 2)
            if close == -1:
                return
        found = kind.match(text, start + 2, close)
        if found is not None:
            yield start, found.end(), close
        start = text.find("[[", start + 1)


def _blocks(text: str, kind: re.Pattern[str]) -> Iterator[tuple[int, int, int]]:
    """The blocks a regex `[[` kind `.*?` `]]` would find with `finditer`: non-overlapping, leftmost first."""
    done = 0
    for start, inner, close in _candidates(text, kind):
        if start >= done:
            yield start, inner, close
            done = close + 2


def directive_blocks(text: str) -> list[str]:
    """What each `[[mock...]]` block of `text` says after `mock`, stripped (`": error=429"`)."""
    return [text[inner:close].strip() for _, inner, close in _blocks(text, _DIRECTIVE_KIND)]


def parse_directives(text: str, instance: str) -> Directives:
    """Merge every `[[mock: ...]]` block in `text` that applies on `instance` (later blocks win)."""
    if "[[" not in text:
        return NO_DIRECTIVES
    merged: dict[str, Any] = {}
    for block in directive_blocks(text):
        provider, values = _parse_block(block)
        if provider is None or provider == instance:
            merged.update(values)
    if not merged:
        return NO_DIRECTIVES
    assert set(merged) <= _FIELD_NAMES
    return Directives(**merged)


def find_tag(text: str) -> str | None:
    """The X of the first `[[conformance-id: X]]` in `text`: X has no whitespace and no `]`.

    For the openings that share a closing `]]`, the text before it is examined once: X ends where the
    trailing whitespace begins, and it may only start after the last whitespace or `]` before that.
    """
    if "[[" not in text:
        return None
    examined = -1
    tag_end = last_bad = 0
    for _, inner, close in _candidates(text, _TAG_KIND):
        if close != examined:
            examined = close
            tag_end = inner + len(text[inner:close].rstrip())
            last_bad = max((m.start() for m in _NOT_IN_TAG.finditer(text, inner, tag_end)), default=-1)
        if last_bad < inner < tag_end:
            return text[inner:tag_end]
    return None


def strip_markers(text: str) -> str:
    """`text` without directive and conformance-id markers, whitespace collapsed."""
    if "[[" in text:
        pieces, done = [], 0
        for start, _, close in _blocks(text, _MARKER_KIND):
            pieces.append(text[done:start])
            done = close + 2
        pieces.append(text[done:])
        text = " ".join(pieces)
    return _SPACES_RE.sub(" ", text).strip()
