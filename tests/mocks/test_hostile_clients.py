"""Issue 19, items 8-12: hostile requests cannot stall the mocks, break the journal or grow it without
bound, and a malformed request gets the flavour's own 400 (never a plain-text 500)."""

from __future__ import annotations

import contextlib
import random
import re
import time

import pytest

from mocks.directives import DirectiveError, directive_blocks, find_tag, parse_directives, strip_markers
from tests.mocks.conftest import AUTH

OPENAI = "/openai/v1/chat/completions"
HANG_GUARD_S = 3.0  # measured: a few ms to 0.15 s (docs/reliability.md); before the fix 8.9-15.4 s

# The regular expressions the scanner replaced: the scanner must find exactly what they found.
_OLD_TAG = re.compile(r"\[\[\s*conformance-id\s*:\s*([^\]\s]+)\s*\]\]")
_OLD_MARKERS = re.compile(r"\[\[\s*(?:mock\b|conformance-id\s*:).*?\]\]", re.S)
_OLD_DIRECTIVES = re.compile(r"\[\[\s*mock\b(.*?)\]\]", re.S)
_PIECES = [
    "[[",
    "]]",
    "]",
    "[",
    " ",
    "\n",
    "mock",
    ":",
    "conformance-id",
    "a",
    "x=1",
    "mock: words=3",
    "conformance-id: t",
]


def _old_strip(text: str) -> str:
    if "[[" in text:
        text = _OLD_MARKERS.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def test_the_scanner_finds_what_the_regular_expressions_found() -> None:
    rng = random.Random(19)
    for _ in range(5_000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14)))
        old = _OLD_TAG.search(text)
        assert find_tag(text) == (old.group(1) if old else None), text
        assert strip_markers(text) == _old_strip(text), text
        assert directive_blocks(text) == [match.group(1).strip() for match in _OLD_DIRECTIVES.finditer(text)]


HOSTILE_TEXTS = {
    "unclosed_tags": "[[conformance-id:a" * 5_000,
    "unclosed_directives": "[[mock" * 12_000,
    "tags_closed_at_the_end": "[[conformance-id:a" * 5_000 + " x]]",
    "directives_closed_at_the_end": "[[mock" * 12_000 + "]]",
    "many_bad_tags": "[[conformance-id: a b]]" * 4_000,
}


@pytest.mark.parametrize("case", HOSTILE_TEXTS)
def test_marker_scanning_is_linear(case: str) -> None:
    text = HOSTILE_TEXTS[case]
    started = time.process_time()
    find_tag(text)
    strip_markers(text)
    with contextlib.suppress(DirectiveError):  # an unclosed `[[mock` block is a directive error
        parse_directives(text, "openai")
    assert time.process_time() - started < HANG_GUARD_S


@pytest.mark.parametrize("case", ["unclosed_tags", "unclosed_directives"])
async def test_a_hostile_prompt_is_answered_at_once(client, case: str) -> None:
    body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": HOSTILE_TEXTS[case]}]}
    started = time.monotonic()
    response = await client.post(OPENAI, json=body, headers=AUTH)
    assert response.status_code == 200, response.text[:300]
    assert time.monotonic() - started < HANG_GUARD_S
