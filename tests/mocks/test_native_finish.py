"""The `native_finish` directive: each flavour writes the named finish reason verbatim, streamed or not,
so the suite can send every native reason (and an unknown one) through a gateway (XLATE-036/037)."""

from __future__ import annotations

import json

import httpx
import pytest

from mocks.directives import DirectiveError, parse_directives
from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS, user


def _finish_of(server, flavour: str, text: str, stream: bool) -> str | None:
    """The finish field the flavour answered with (the last non-null one of a stream)."""
    if flavour == "anthropic":
        url, headers = "/anthropic/v1/messages", ANTHROPIC_HEADERS
        payload = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": user(text), "stream": stream}
    elif flavour == "gemini":
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        url, headers = f"/gemini/v1beta/models/gemini-2.0-flash:{action}", GEMINI_HEADERS
        payload = {"contents": [{"parts": [{"text": text}]}]}
    else:
        url, headers = "/deepseek/chat/completions", AUTH
        payload = {"model": "deepseek-chat", "messages": user(text), "stream": stream}
    response = httpx.post(server.url + url, headers=headers, json=payload)
    assert response.status_code == 200, response.text
    bodies = (
        [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")]
        if stream
        else [response.json()]
    )
    found = None
    for data in bodies:
        for value in (
            data.get("stop_reason"),
            (data.get("delta") or {}).get("stop_reason"),
            *(c.get("finishReason") for c in data.get("candidates") or []),
            *(c.get("finish_reason") for c in data.get("choices") or []),
        ):
            found = value or found
    return found


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize(
    ("flavour", "reason"),
    [
        ("anthropic", "pause_turn"),
        ("anthropic", "model_context_window_exceeded"),
        ("gemini", "RECITATION"),
        ("gemini", "SPII"),
        ("deepseek", "insufficient_system_resource"),
        ("deepseek", "brand_new_reason"),
    ],
)
def test_native_finish_is_written_verbatim(server, flavour: str, reason: str, stream: bool) -> None:
    assert _finish_of(server, flavour, f"x [[mock: native_finish={reason}]]", stream) == reason


def test_native_finish_takes_only_an_identifier() -> None:
    assert parse_directives("[[mock: native_finish=pause_turn]]", "x").native_finish == "pause_turn"
    with pytest.raises(DirectiveError):
        parse_directives("[[mock: native_finish=a-b]]", "x")
    with pytest.raises(DirectiveError):
        parse_directives("[[mock: native_finish]]", "x")
