"""Issue 19, items 8-12: hostile requests cannot stall the mocks, break the journal or grow it without
bound, and a malformed request gets the flavour's own 400 (never a plain-text 500)."""

from __future__ import annotations

import contextlib
import random
import re
import select
import socket
import time
from typing import Any

import httpx
import pytest
from auriko_conformance.mocks.app import MAX_JSON_DEPTH, create_app
from auriko_conformance.mocks.directives import (
    DirectiveError,
    directive_blocks,
    find_tag,
    parse_directives,
    strip_markers,
)
from auriko_conformance.mocks.journal import Journal
from auriko_conformance.mocks.server import uvicorn_options

from auriko_conformance.servers import serving
from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS, user

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


# ------------------------------------------------------------------------------------------------------
# Items 9-10: deep JSON and values of the wrong type get the flavour's own 400; the journal survives
# ------------------------------------------------------------------------------------------------------

ANTHROPIC = "/anthropic/v1/messages"
GEMINI = "/gemini/v1beta/models/gemini-2.0-flash:generateContent"
FLAVOUR_HEADERS = {"openai": AUTH, "anthropic": ANTHROPIC_HEADERS, "gemini": GEMINI_HEADERS}
PATHS = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}


def _deep(levels: int) -> dict[str, Any]:
    """A JSON schema that nests `levels` JSON levels (two per property: `properties`, then the property)."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels // 2):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def _tools(flavour: str, parameters: dict[str, Any]) -> dict[str, Any]:
    if flavour == "openai":
        tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
        return {"model": "gpt-4o-2024-08-06", "messages": user("hi"), "tools": [tool]}
    if flavour == "anthropic":
        tool = {"name": "f", "input_schema": parameters}
        return {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": user("hi"), "tools": [tool]}
    declaration = {"name": "f", "parameters": parameters}
    return {"contents": [{"parts": [{"text": "hi"}]}], "tools": [{"functionDeclarations": [declaration]}]}


def _check_flavour_400(flavour: str, response: httpx.Response) -> str:
    """The flavour's own 400 envelope (never plain text); returns its message."""
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    if flavour == "anthropic":
        assert (body["type"], body["error"]["type"]) == ("error", "invalid_request_error"), body
        return body["error"]["message"]
    if flavour == "gemini":
        assert (body["error"]["status"], body["error"]["code"]) == ("INVALID_ARGUMENT", 400), body
        return body["error"]["message"]
    assert body["error"]["type"] == "invalid_request_error", body
    return body["error"]["message"]


@pytest.mark.parametrize("flavour", PATHS)
@pytest.mark.parametrize("levels", [300, 900])
async def test_deep_json_is_the_flavours_400_and_the_journal_survives(
    client, flavour: str, levels: int
) -> None:
    response = await client.post(
        PATHS[flavour], json=_tools(flavour, _deep(levels)), headers=FLAVOUR_HEADERS[flavour]
    )
    assert "nests deeper" in _check_flavour_400(flavour, response)
    journal = await client.get("/__mock/journal")
    assert journal.status_code == 200
    assert journal.json()["entries"][-1]["status"] == 400


async def test_depth_at_the_limit_is_served(client) -> None:
    body = _tools("openai", _deep(MAX_JSON_DEPTH - 8))  # the tool's schema starts 5 levels down
    response = await client.post(OPENAI, json=body, headers=AUTH)
    assert response.status_code == 200, response.text[:300]


async def test_one_unencodable_entry_never_breaks_the_journal(client, app) -> None:
    nested: list[Any] = []
    for _ in range(300):
        nested = [nested]
    app.state.journal.start(
        provider="openai", flavour="openai", method="POST", path="/x", query={}, headers={}, body=nested
    )
    response = await client.get("/__mock/journal")
    assert response.status_code == 200
    assert "journal_error" in response.json()["entries"][-1]["body"]


WRONG_TYPES = {
    "openai_tool_calls_5": (
        "openai",
        {
            "model": "gpt-4o-2024-08-06",
            "messages": [*user("hi"), {"role": "assistant", "content": "x", "tool_calls": 5}, *user("again")],
        },
    ),
    "anthropic_block_type_list": (
        "anthropic",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": [], "text": "x"}]}],
        },
    ),
    "gemini_tools_5": ("gemini", {"contents": [{"parts": [{"text": "c"}]}], "tools": 5}),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
async def test_wrong_types_are_the_flavours_400(client, case: str) -> None:
    flavour, body = WRONG_TYPES[case]
    response = await client.post(PATHS[flavour], json=body, headers=FLAVOUR_HEADERS[flavour])
    _check_flavour_400(flavour, response)


# ------------------------------------------------------------------------------------------------------
# Item 11: the journal is bounded in bytes, not only in entries
# ------------------------------------------------------------------------------------------------------


def _record(journal: Journal, size: int) -> dict[str, Any]:
    return journal.start(
        provider="p",
        flavour="openai",
        method="POST",
        path="/x",
        query={},
        headers={},
        body={"n": size},
        size=size,
    )


def test_journal_keeps_large_bodies_as_markers_and_bounds_the_bytes() -> None:
    journal = Journal(size=1_000, max_bytes=10_000, max_entry_bytes=4_000)
    big = _record(journal, 3_000_000)
    assert big["body"] == {"journal_truncated": True, "bytes": 3_000_000}
    for _ in range(20):
        _record(journal, 3_000)
    assert journal.body_bytes <= 10_000
    assert len(journal) == 3  # the newest three bodies of 3,000 bytes fit the 10,000-byte budget
    journal.clear()
    assert journal.body_bytes == 0


async def test_a_3_mb_prompt_is_journaled_as_a_marker(client, app) -> None:
    body = {"model": "gpt-4o-2024-08-06", "messages": user("word " * 600_000 + "[[conformance-id: big-1]]")}
    response = await client.post(OPENAI, json=body, headers=AUTH)
    assert response.status_code == 200
    (entry,) = app.state.entries(tag="big-1")  # the tag is read before the body is dropped
    assert entry["body"]["journal_truncated"] is True
    assert app.state.journal.body_bytes < 1024 * 1024


# ------------------------------------------------------------------------------------------------------
# Item 12: a trickling connection is closed; the control API can require a token
# ------------------------------------------------------------------------------------------------------


def test_the_mock_server_closes_a_connection_that_trickles_its_headers() -> None:
    options = uvicorn_options(max_header_bytes=64 * 1024, header_timeout_ms=500)
    with serving(create_app(), **options) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with contextlib.closing(socket.create_connection((host, int(port)), timeout=5)) as sock:
            sock.sendall(b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: m\r\n")
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 5 and not closed:
                try:
                    sock.sendall(b"X: 1\r\n")
                except OSError:
                    closed = True
                    break
                readable, _, _ = select.select([sock], [], [], 0.1)
                if readable:
                    closed = sock.recv(1024) == b""
    assert closed, "a connection trickling its headers stayed open"
    assert time.monotonic() - started < HANG_GUARD_S


async def test_control_token_guards_every_control_path(client, app) -> None:
    app.state.control_token = "s3cret"
    for method, path in [("GET", "/__mock/journal"), ("POST", "/__mock/reset"), ("GET", "/__mock/providers")]:
        refused = await client.request(method, path)
        assert refused.status_code == 401, path
        wrong = await client.request(method, path, headers={"x-mock-control-token": "s3cre"})
        assert wrong.status_code == 401, path
        allowed = await client.request(method, path, headers={"x-mock-control-token": "s3cret"})
        assert allowed.status_code == 200, path
    assert (
        await client.post(OPENAI, json={"model": "gpt-4o-2024-08-06", "messages": user("hi")}, headers=AUTH)
    ).status_code == 200
