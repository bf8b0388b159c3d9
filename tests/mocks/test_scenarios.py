"""Scenario directives that need a real connection: latency, timeout, stall, disconnect, malformed."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS, KEY, user

OPENAI = "/openai/v1/chat/completions"


def body(text: str, **extra) -> dict:
    return {"model": "gpt-4o-2024-08-06", "messages": user(text), **extra}


def collect(method: str, url: str, into: list[str], **kwargs) -> None:
    """Read a stream's `data:` lines into `into` until it ends or fails."""
    with httpx.stream(method, url, **kwargs) as response:
        into.extend(line for line in response.iter_lines() if line.startswith("data: "))


def data_events(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


def test_ttft_and_tps_directive(server):
    start = time.monotonic()
    with httpx.stream(
        "POST",
        server.url + OPENAI,
        json=body("x [[mock: ttft_ms=150 tps=100 words=10]]", stream=True),
        headers=AUTH,
    ) as response:
        lines = response.iter_lines()
        next(lines)
        first = time.monotonic() - start
        list(lines)
    total = time.monotonic() - start
    assert first >= 0.14
    assert total >= 0.15 + 0.09  # ten tokens at 100/s after the first byte


def test_non_stream_waits_ttft_plus_generation(server):
    start = time.monotonic()
    httpx.post(server.url + OPENAI, json=body("x [[mock: ttft_ms=100 tps=200 words=20]]"), headers=AUTH)
    assert time.monotonic() - start >= 0.19


def test_timeout_holds_until_client_gives_up(server):
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            server.url + OPENAI,
            json=body("x [[mock: timeout]] [[conformance-id: sc-timeout]]"),
            headers=AUTH,
            timeout=0.3,
        )
    entry = _wait_outcome(server, "sc-timeout")
    assert entry["outcome"] == "client_closed"
    assert entry["status"] == 499


def test_stall_after_then_client_gives_up(server):
    received: list[str] = []
    payload = body("x [[mock: stall_after=3]] [[conformance-id: sc-stall]]", stream=True)
    with pytest.raises(httpx.ReadTimeout):
        collect("POST", server.url + OPENAI, received, json=payload, headers=AUTH, timeout=0.5)
    assert len(received) == 3
    assert _wait_outcome(server, "sc-stall")["outcome"] == "client_closed"


@pytest.mark.parametrize(
    ("path", "payload", "headers"),
    [
        (OPENAI, body("x [[mock: disconnect_after=3]] [[conformance-id: sc-drop]]", stream=True), AUTH),
        (
            "/anthropic/v1/messages",
            {
                "model": "claude-haiku-4-5",
                "max_tokens": 50,
                "stream": True,
                "messages": user("x [[mock: disconnect_after=3]] [[conformance-id: sc-drop]]"),
            },
            ANTHROPIC_HEADERS,
        ),
        (
            "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            {
                "contents": [
                    {"parts": [{"text": "x [[mock: disconnect_after=3]] [[conformance-id: sc-drop]]"}]}
                ]
            },
            GEMINI_HEADERS,
        ),
    ],
)
def test_disconnect_after_drops_without_terminator(server, path, payload, headers):
    events: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        collect("POST", server.url + path, events, json=payload, headers=headers)
    assert len(events) == 3
    assert "[DONE]" not in "".join(events)
    assert server.journal(tag="sc-drop")[-1]["outcome"] == "disconnected"


def test_disconnect_surfaces_in_the_sdk(server):
    client = openai.OpenAI(base_url=server.url + "/openai/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-2024-08-06", stream=True, messages=user("x [[mock: disconnect_after=2]]")
    )
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        list(stream)


def test_client_closing_a_stream_is_journaled(server):
    with httpx.stream(
        "POST",
        server.url + OPENAI,
        headers=AUTH,
        json=body("x [[mock: tps=20 words=100]] [[conformance-id: sc-cancel]]", stream=True),
    ) as response:
        lines = response.iter_lines()
        for _ in range(3):
            next(lines)
    entry = _wait_outcome(server, "sc-cancel")
    assert entry["outcome"] == "client_closed"
    assert entry["status"] == 200


def _wait_outcome(server, tag: str) -> dict:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        entries = server.journal(tag=tag)
        if entries and entries[-1]["outcome"]:
            return entries[-1]
        time.sleep(0.02)
    raise AssertionError(f"no outcome for {tag}: {server.journal(tag=tag)}")


def test_malformed_non_stream_and_stream(server):
    response = httpx.post(server.url + OPENAI, json=body("x [[mock: malformed]]"), headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    stream = httpx.post(server.url + OPENAI, json=body("x [[mock: malformed]]", stream=True), headers=AUTH)
    events = data_events(stream.text)
    json.loads(events[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1])
    client = anthropic.Anthropic(base_url=server.url + "/anthropic", api_key=KEY, max_retries=0)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK's own JSON error type varies by version
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=user("x [[mock: malformed]]")
        )


@pytest.mark.parametrize(
    ("directive", "openai_reason", "anthropic_reason", "gemini_reason"),
    [
        ("finish=length", "length", "max_tokens", "MAX_TOKENS"),
        ("content_filter", "content_filter", "refusal", "SAFETY"),
    ],
)
def test_finish_directives(server, directive, openai_reason, anthropic_reason, gemini_reason):
    text = f"x [[mock: {directive}]]"
    reply = httpx.post(server.url + OPENAI, json=body(text), headers=AUTH).json()
    assert reply["choices"][0]["finish_reason"] == openai_reason
    message = httpx.post(
        server.url + "/anthropic/v1/messages",
        headers=ANTHROPIC_HEADERS,
        json={"model": "claude-haiku-4-5", "max_tokens": 100, "messages": user(text)},
    ).json()
    assert message["stop_reason"] == anthropic_reason
    candidate = httpx.post(
        server.url + "/gemini/v1beta/models/gemini-2.0-flash:generateContent",
        headers=GEMINI_HEADERS,
        json={"contents": [{"parts": [{"text": text}]}]},
    ).json()
    assert candidate["candidates"][0]["finishReason"] == gemini_reason
    if directive == "content_filter":
        assert reply["usage"]["completion_tokens"] == 10


def test_usage_cumulative_on_every_chunk(server):
    response = httpx.post(
        server.url + OPENAI,
        headers=AUTH,
        json=body(
            "x [[mock: usage=cumulative words=4]]", stream=True, stream_options={"include_usage": True}
        ),
    )
    usages = [json.loads(e)["usage"] for e in data_events(response.text) if e != "[DONE]"]
    assert all(u is not None for u in usages)
    assert [u["completion_tokens"] for u in usages] == [0, 1, 2, 3, 4, 4, 4]
    text = httpx.post(
        server.url + "/anthropic/v1/messages",
        headers=ANTHROPIC_HEADERS,
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 100,
            "stream": True,
            "messages": user("x [[mock: usage=cumulative words=4]]"),
        },
    ).text
    deltas = [json.loads(e) for e in data_events(text) if '"message_delta"' in e]
    assert len(deltas) == 2
    assert [d["usage"]["output_tokens"] for d in deltas] == [4, 4]


def test_provider_scoped_directive_for_fallback(server):
    text = "x [[mock: provider=openai error=503]]"
    assert httpx.post(server.url + OPENAI, json=body(text), headers=AUTH).status_code == 503
    assert (
        httpx.post(
            server.url + "/deepseek/chat/completions",
            headers=AUTH,
            json={"model": "deepseek-chat", "messages": user(text)},
        ).status_code
        == 200
    )


def test_directives_in_earlier_turns_do_not_apply(server):
    messages = [*user("[[mock: error=500]]"), {"role": "assistant", "content": "ok"}, *user("again")]
    assert httpx.post(server.url + OPENAI, json=body("", messages=messages), headers=AUTH).status_code == 200
