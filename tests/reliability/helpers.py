"""Shared pieces of the reliability tests: real servers, SSE outcome classification, journal reads.

Every request here goes over real sockets (the gateway in uvicorn, the mocks in uvicorn, both on free
ports bound by `auriko_conformance.servers`), because the faults under test -- dropped connections,
stalls, clients that go away -- do not exist in an in-process transport.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from auriko_conformance.reference_impl.config import TEST_API_KEY

from auriko_conformance import contract

AUTH = {"authorization": f"Bearer {TEST_API_KEY}"}
# The margin a deadline may be overrun by: the routing suite's (suites/checks/route.py, deadline_ms + 1 s).
DEADLINE_MARGIN_S = 1.0
# A client-side ceiling so that a gateway bug shows up as a failed test, never as a hung run.
CLIENT_TIMEOUT_S = 20.0


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat_body(
    text: str,
    *,
    model: str = "llama-3.3-70b",
    stream: bool = False,
    routing: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": user(text), **fields}
    if stream:
        body["stream"] = True
    if routing:
        body["gateway"] = {"routing": routing}
    return body


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body in order (comments and blank events skipped)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events


class Garbled(AssertionError):
    """A stream that is neither complete nor ended by an error event: the failure the suite hunts."""


@dataclass(slots=True)
class StreamOutcome:
    """What a client made of one SSE response."""

    kind: str  # "complete" | "error_event"
    payloads: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def final(self) -> dict[str, Any]:
        return self.payloads[-1]


def classify_stream(text: str) -> StreamOutcome:
    """`complete` (chunks, one usage chunk, [DONE]) or `error_event` (D-004); anything else raises Garbled.

    Every event must be a contract-valid `StreamPayload`; a complete stream gives every choice exactly one
    finish_reason before the usage chunk; an error stream ends with the error event and has no [DONE].
    """
    events = sse_data(text)
    if not events:
        raise Garbled(f"no events at all: {text[:200]!r}")
    payloads = []
    for i, data in enumerate(events):
        if data == "[DONE]":
            if i != len(events) - 1:
                raise Garbled(f"[DONE] is event {i} of {len(events)}")
            continue
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise Garbled(f"event {i} is not JSON: {data[:200]!r}") from exc
        found = contract.violations("StreamPayload", payload)
        if found:
            raise Garbled(f"event {i} breaks the contract: {[str(v) for v in found]} {data[:200]!r}")
        payloads.append(payload)
    last = payloads[-1] if payloads else {}
    if "error" in last:
        if events[-1] == "[DONE]":
            raise Garbled("[DONE] after an error event")
        if any("error" in p for p in payloads[:-1]):
            raise Garbled("more than one error event")
        return StreamOutcome("error_event", payloads, last["error"])
    if events[-1] != "[DONE]":
        raise Garbled(f"the stream ended without [DONE] or an error event after {len(events)} events")
    if last.get("choices") != [] or "usage" not in last or "routing_metadata" not in last:
        raise Garbled(f"the event before [DONE] is not the usage chunk: {last}")
    finishes: dict[int, int] = {}
    for payload in payloads[:-1]:
        for choice in payload.get("choices") or ():
            if choice.get("finish_reason"):
                finishes[choice["index"]] = finishes.get(choice["index"], 0) + 1
    if not finishes or any(count != 1 for count in finishes.values()):
        raise Garbled(f"finish_reason per choice: {finishes}")
    return StreamOutcome("complete", payloads)


def check_envelope(response: httpx.Response) -> dict[str, Any]:
    """An error response: a contract-valid envelope for its status, with X-Request-ID and X-Error-Type."""
    assert response.status_code >= 400, response.text
    assert response.status_code != 500, response.text
    body = response.json()
    found = contract.violations(contract.error_schema_for_status(response.status_code), body)
    assert not found, [str(v) for v in found]
    assert response.headers.get("x-request-id")
    assert response.headers.get("x-error-type") == body["error"]["type"]
    return body["error"]


@dataclass(slots=True)
class Timed:
    response: httpx.Response
    text: str
    seconds: float


def post(client: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> Timed:
    """POST a chat completion and read it to the end; the wall time covers the whole body."""
    started = time.monotonic()
    with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        text = response.read().decode()
    return Timed(response, text, time.monotonic() - started)


class Journal:
    """The mock journal over the control API (thread-safe, unlike reading the deque of a live server)."""

    def __init__(self, mock_url: str) -> None:
        self.client = httpx.Client(base_url=mock_url, timeout=10)

    def entries(self, tag: str, provider: str | None = None) -> list[dict[str, Any]]:
        params = {"tag": tag, **({"provider": provider} if provider else {})}
        return self.client.get("/__mock/journal", params=params).json()["entries"]

    def settled(self, tag: str, wait_s: float = 5.0) -> list[dict[str, Any]]:
        """The entries for `tag` once every one has an outcome (upstream requests end after the answer)."""
        deadline = time.monotonic() + wait_s
        while True:
            entries = self.entries(tag)
            if entries and all(e.get("outcome") for e in entries):
                return entries
            if time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def close(self) -> None:
        self.client.close()
