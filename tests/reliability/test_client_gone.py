"""Issue 19, item 2: a client that leaves cancels its upstream request in every phase; one provider
that hangs cannot take the whole upstream pool.

Before: a non-stream request (or a stream before its first byte) whose client closed after 1 s left its
upstream request pending for the whole 120 s attempt, then a fallback started for nobody; 520 such
requests filled the 512-slot pool and a request to another provider waited 18.6 s.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time

import httpx
import pytest
from auriko_conformance.reference_impl.config import Timeouts

from tests.reliability.helpers import AUTH, CLIENT_TIMEOUT_S, Journal, chat_body

LEAVE_AFTER_S = 0.5
SETTLE_S = 5.0  # the upstream request must have ended well before this (it would run for 120 s)


def _hanging(tag: str, stream: bool) -> dict[str, object]:
    """Both offerings of `llama-3.3-70b` never answer: without cancellation the gateway would wait for
    the first for `timeout_ms`, then fall back to the second."""
    text = f"Tell me a story [[conformance-id: {tag}]] [[mock: timeout]]"
    return chat_body(text, stream=stream)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream_before_first_byte"])
def test_upstream_is_closed_when_the_client_leaves(
    gateway_server, journal: Journal, tag: str, stream: bool
) -> None:
    with (
        httpx.Client(base_url=gateway_server.url, headers=AUTH, timeout=LEAVE_AFTER_S) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post("/v1/chat/completions", json=_hanging(tag, stream))
    entries = journal.settled(tag, wait_s=SETTLE_S)
    assert len(entries) == 1, entries  # no fallback for a client that is gone
    assert entries[0]["outcome"] == "client_closed", entries


def test_a_hanging_provider_cannot_take_every_upstream_slot(gateway_with, journal: Journal, tag: str) -> None:
    """A provider capped at 4 attempts in flight: 8 hanging requests to it, then one to another
    provider is answered at once (the pool has 16 slots, so without the cap the hanging ones would
    take half; with `max_connections=8` they would take all and the last request would wait)."""
    timeouts = Timeouts(max_connections=8, max_connections_per_provider=4, attempt_ms=30_000)
    _, server = gateway_with(timeouts=timeouts)
    hanging = chat_body(
        f"Tell me a story [[conformance-id: {tag}]] [[mock: timeout]]",
        routing={"allow_fallbacks": False},
        model="gpt-4o",
    )
    url = f"{server.url}/v1/chat/completions"
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        stuck = [pool.submit(httpx.post, url, json=hanging, headers=AUTH, timeout=3.0) for _ in range(8)]
        time.sleep(0.5)
        started = time.monotonic()
        answer = httpx.post(url, json=chat_body("hello", model="claude-sonnet-4-6"), headers=AUTH, timeout=20)
        waited = time.monotonic() - started
        reached = len(journal.entries(tag))  # the hanging clients are still waiting (3 s)
        for future in stuck:
            with contextlib.suppress(httpx.TimeoutException):
                future.result(timeout=CLIENT_TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    assert waited < 10, f"the request to another provider waited {waited:.1f} s"  # hang guard: was 30 s
    assert reached == 4  # the cap: the other four wait for a slot of their own provider
