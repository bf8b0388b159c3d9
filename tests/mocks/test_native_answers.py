"""Directives for the providers' own answers the suite must see through a gateway: `native_finish` writes
the named finish reason verbatim, streamed or not (XLATE-036/037), and `reject` answers the provider's
own context-length or content-filter 400 (ERR-011)."""

from __future__ import annotations

import json

import httpx
import pytest
from auriko_conformance.mocks.directives import DirectiveError, parse_directives

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


def _post(server, flavour: str, text: str) -> httpx.Response:
    if flavour == "anthropic":
        payload = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": user(text)}
        return httpx.post(server.url + "/anthropic/v1/messages", headers=ANTHROPIC_HEADERS, json=payload)
    if flavour == "gemini":
        url = server.url + "/gemini/v1beta/models/gemini-2.0-flash:generateContent"
        return httpx.post(url, headers=GEMINI_HEADERS, json={"contents": [{"parts": [{"text": text}]}]})
    path = {"openai": "/openai/v1/chat/completions", "vllm": "/vllm/v1/chat/completions"}[flavour]
    model = {"openai": "gpt-4o-2024-08-06", "vllm": "Qwen/Qwen3-32B"}[flavour]
    return httpx.post(server.url + path, headers=AUTH, json={"model": model, "messages": user(text)})


@pytest.mark.parametrize(
    ("flavour", "reason", "words"),
    [
        ("openai", "context_length", "context_length_exceeded"),
        ("openai", "content_filter", "content management policy"),
        ("anthropic", "context_length", "prompt is too long"),
        ("anthropic", "content_filter", "content filtering policy"),
        ("gemini", "context_length", "exceeds the maximum number of tokens"),
        ("vllm", "context_length", "maximum context length"),
        ("gemini", "content_filter", "mock scenario"),  # no such 400 on Gemini: the generic one
    ],
)
def test_reject_answers_the_providers_own_400(server, flavour: str, reason: str, words: str) -> None:
    response = _post(server, flavour, f"x [[mock: reject={reason}]]")
    assert response.status_code == 400
    assert words in response.text
