"""CLIENT: the official `openai` Python SDK works against the target unchanged.

Most users reach an OpenAI-compatible gateway through this SDK, so what counts is what the SDK makes of
the target's answers: a parsed completion with `routing_metadata` in its extra fields, streams that end
cleanly (and raise on a mid-stream error event), gateway options through `extra_body`, and the typed
exception classes with `code`, `param` and `type` taken from the envelope. Each call's outcome is
reduced to a `SdkOutcome` and judged by the CLIENT checks in suites/checks/client.py, on the very
bytes the SDK parsed (its HTTP client records them): the answer's own rules (SCHEMA, STREAM, META) are
judged on that exchange too, so a defect in the answer is their finding, and the SDK row reads blocked
by it rather than restating it (D-146).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.scenario import RouteContext, SdkOutcome
from auriko_conformance.suites.target import CHAT_PATH, Target, tag_body
from auriko_conformance.suites.test_routing import body, directive

try:
    import openai
except ImportError:  # each test then reads "not judged: missing Python package openai" in its row
    openai = None
pytestmark = pytest.mark.needs_package("openai")

WRONG_KEY = "ak_test_conformance_wrong_key_0000"


class Recorder:
    """Every request the SDK's HTTP client sent and the bytes of each answer, as the SDK read them."""

    def __init__(self) -> None:
        self.calls: list[tuple[httpx.Request, httpx.Response, bytearray]] = []

    def sink(self, request: httpx.Request, response: httpx.Response) -> bytearray:
        self.calls.append((request, response, bytearray()))
        return self.calls[-1][2]

    def last(self) -> Exchange | None:
        """The last call as an exchange (None: no answer came), its body as far as the SDK read it."""
        if not self.calls:
            return None
        request, response, body = self.calls[-1]
        try:
            sent = orjson.loads(request.content) if request.content else None
        except orjson.JSONDecodeError:
            sent = None
        return Exchange(
            request.method, str(request.url), sent, response.status_code, response.headers, bytes(body)
        )


class _Tee(httpx.SyncByteStream):
    def __init__(self, inner: Any, sink: bytearray) -> None:
        self.inner, self.sink = inner, sink

    def __iter__(self) -> Any:
        for part in self.inner:
            self.sink.extend(part)
            yield part

    def close(self) -> None:
        self.inner.close()


class _AsyncTee(httpx.AsyncByteStream):
    def __init__(self, inner: Any, sink: bytearray) -> None:
        self.inner, self.sink = inner, sink

    async def __aiter__(self) -> Any:
        async for part in self.inner:
            self.sink.extend(part)
            yield part

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Recording(httpx.HTTPTransport):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.stream = _Tee(response.stream, self.recorder.sink(request, response))
        return response


class _AsyncRecording(httpx.AsyncHTTPTransport):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        response.stream = _AsyncTee(response.stream, self.recorder.sink(request, response))
        return response


def _client(target: Target, recorder: Recorder, api_key: str | None = None) -> Any:
    return openai.OpenAI(
        base_url=f"{target.base_url}/v1",
        api_key=api_key or target.api_key or "unused",
        max_retries=0,
        timeout=target.timeout,
        default_headers=target.headers,
        http_client=httpx.Client(transport=_Recording(recorder), timeout=target.timeout),
    )


def _async_client(target: Target, recorder: Recorder) -> Any:
    return openai.AsyncOpenAI(
        base_url=f"{target.base_url}/v1",
        api_key=target.api_key or "unused",
        max_retries=0,
        timeout=target.timeout,
        default_headers=target.headers,
        http_client=httpx.AsyncClient(transport=_AsyncRecording(recorder), timeout=target.timeout),
    )


def _request(
    profile: TargetProfile, tag: str, text: str = "Describe a quiet harbor.", **fields: Any
) -> dict[str, Any]:
    """Keyword arguments for `chat.completions.create`, the last user message tagged for the journal."""
    tagged = tag_body(body(profile.default_model, text=text), tag)
    return {"model": tagged["model"], "messages": tagged["messages"], **fields}


def _raised(exc: BaseException) -> tuple[str, ...]:
    return tuple(cls.__name__ for cls in type(exc).__mro__)


def _error_outcome(exc: BaseException, kind: str, chunks: int = 0) -> SdkOutcome:
    outcome = SdkOutcome(kind=kind, raised=_raised(exc), chunks=chunks)
    outcome.error_fields = {
        "code": getattr(exc, "code", None),
        "param": getattr(exc, "param", None),
        "type": getattr(exc, "type", None),
        "message": getattr(exc, "message", str(exc)),
    }
    response = getattr(exc, "response", None)
    if response is not None:
        outcome.status = response.status_code
        outcome.request_id = getattr(exc, "request_id", None) or response.headers.get("x-request-id")
        try:
            data = response.json()
        except ValueError:
            data = None
        outcome.envelope = data.get("error") if isinstance(data, dict) else None
    return outcome


def _completion_outcome(completion: Any, claimed: bool) -> SdkOutcome:
    extra = completion.model_extra or {}
    return SdkOutcome(
        kind="completion",
        routing_metadata=extra.get("routing_metadata"),
        text=completion.choices[0].message.content if completion.choices else None,
        metadata_claimed=claimed,
    )


def _stream_outcome(chunks: Iterable[Any], claimed: bool) -> SdkOutcome:
    outcome = SdkOutcome(kind="stream", metadata_claimed=claimed)
    parts: list[str] = []
    try:
        for chunk in chunks:
            outcome.chunks += 1
            outcome.last_chunk = chunk.model_dump()
            if chunk.choices is None:  # an event that is no chunk, handed over as one (CLIENT-001 judges)
                outcome.choiceless += 1
                continue
            for choice in chunk.choices:
                if choice.index == 0 and choice.delta and choice.delta.content:
                    parts.append(choice.delta.content)
    except openai.APIError as exc:
        failed = _error_outcome(exc, "stream", outcome.chunks)
        failed.last_chunk = outcome.last_chunk
        return failed
    outcome.text = "".join(parts)
    return outcome


def _call(kind: str, make: Callable[[], Any], claimed: bool) -> SdkOutcome:
    try:
        result = make()
        return _stream_outcome(result, claimed) if kind == "stream" else _completion_outcome(result, claimed)
    except openai.APIError as exc:
        return _error_outcome(exc, "error" if kind != "stream" else "stream")


async def _async_outcomes(
    target: Target, request: dict[str, Any], claimed: bool
) -> list[tuple[SdkOutcome, Exchange | None]]:
    recorder = Recorder()
    async with _async_client(target, recorder) as client:
        try:
            completion = await client.chat.completions.create(**request)
            plain = _completion_outcome(completion, claimed)
        except openai.APIError as exc:
            plain = _error_outcome(exc, "error")
        plain_raw = recorder.last()
        streamed = SdkOutcome(kind="stream", metadata_claimed=claimed)
        parts: list[str] = []
        try:
            stream = await client.chat.completions.create(**request, stream=True)
            async for chunk in stream:
                streamed.chunks += 1
                streamed.last_chunk = chunk.model_dump()
                if chunk.choices is None:
                    streamed.choiceless += 1
                    continue
                for choice in chunk.choices:
                    if choice.index == 0 and choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
            streamed.text = "".join(parts)
        except openai.APIError as exc:
            streamed = _error_outcome(exc, "stream", streamed.chunks)
    return [(plain, plain_raw), (streamed, recorder.last())]


def _judge(
    judge: Judge,
    target: Target,
    outcome: SdkOutcome,
    check: str,
    request: dict[str, Any],
    raw: Exchange | None,
    **fields: Any,
) -> None:
    """Judge an SDK outcome on the exchange the SDK read (`raw`), after every rule of that answer; with
    no answer at all (a connection error), on a synthetic exchange of what the SDK saw."""
    context = RouteContext(request=request, sdk=outcome, **fields)
    if raw is not None:
        judge(raw)
        if context.expected_strategy is not None:  # the echo's own rule, on the bytes the SDK read
            judge(raw, context, only=["routing_strategy_echoes_request"])
        judge(raw, context, only=[check])
        return
    shown = {
        "kind": outcome.kind,
        "raised": list(outcome.raised[:1]),
        "status": outcome.status,
        "routing_metadata": outcome.routing_metadata,
        "last_chunk": outcome.last_chunk,
        "error_fields": outcome.error_fields,
    }
    exchange = Exchange.build(
        status=outcome.status or (200 if not outcome.raised else 599),
        body=shown,
        request_body=request,
        url=f"{target.base_url}{CHAT_PATH}",
    )
    judge(exchange, context, only=[check])


@pytest.mark.requirement("CLIENT-001")
@pytest.mark.parametrize("kind", ["completion", "stream"])
def test_sync_client(target: Target, profile: TargetProfile, judge: Judge, tag: str, kind: str) -> None:
    request = _request(profile, tag)
    claimed = profile.claims_feature("routing_metadata")
    recorder = Recorder()
    with _client(target, recorder) as client:
        outcome = _call(
            kind, lambda: client.chat.completions.create(**request, stream=kind == "stream"), claimed
        )
    _judge(judge, target, outcome, "sdk_sync_client_works", request, recorder.last())


@pytest.mark.requirement("CLIENT-002")
def test_async_client(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    request = _request(profile, tag)
    claimed = profile.claims_feature("routing_metadata")
    with _client(target, Recorder()) as client:
        sync = _call("completion", lambda: client.chat.completions.create(**request), claimed)
    for outcome, raw in asyncio.run(_async_outcomes(target, request, claimed)):
        # the same results as the sync client: its completion's text; a stream's text against a completion's
        # is STREAM-014's rule, judged where both are read raw
        same = sync.text if outcome.kind == "completion" else None
        _judge(judge, target, outcome, "sdk_async_client_works", request, raw, reference_text=same)


@pytest.mark.requirement("CLIENT-003")
@pytest.mark.needs("gateway_routing", "routing_metadata")
def test_gateway_options_through_extra_body(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    request = _request(profile, tag, extra_body={"gateway": {"routing": {"optimize": "ttft"}}})
    recorder = Recorder()
    with _client(target, recorder) as client:
        outcome = _call("completion", lambda: client.chat.completions.create(**request), True)
    _judge(
        judge, target, outcome, "sdk_extra_body_gateway", request, recorder.last(), expected_strategy="ttft"
    )


#: the rule that makes each of test_error_classes' situations an error: a wrong key, an unknown model,
#: an out-of-range temperature
ERROR_SITUATION_RULES = {401: "AUTH-002", 404: "REQ-026", 400: "REQ-004"}


@pytest.mark.requirement("CLIENT-004")
@pytest.mark.parametrize("status", [401, 404, 400])
def test_error_classes(target: Target, profile: TargetProfile, judge: Judge, tag: str, status: int) -> None:
    request = _request(profile, tag)
    key = None
    if status == 401:
        if not target.api_key:
            pytest.skip(NOT_CLAIMED + "the target runs without an API key")
        key = WRONG_KEY
    elif status == 404:
        request["model"] = profile.unknown_model
    else:
        request["temperature"] = 5  # outside 0..2; the openai SDK does not check it client-side
    recorder = Recorder()
    with _client(target, recorder, key) as client:
        outcome = _call("completion", lambda: client.chat.completions.create(**request), True)
    raw = recorder.last()
    if not outcome.raised and raw is not None and (roots := expect.under_200(judge, raw, "CLIENT-004")):
        # an error body under HTTP 200: the SDK rightly took it for an answer; ERR-003's finding
        judge(raw)
        judge.block("CLIENT-004", "the error came as HTTP 200, so the SDK raised nothing", roots, stops=False)
        return
    if not outcome.raised:
        # The target answered 200: CLIENT-004 has no error class to judge (blocked); which status was due
        # is the finding of the rule that makes the situation an error.
        expect.not_an_error(judge, "CLIENT-004", f"an HTTP {status} situation", ERROR_SITUATION_RULES[status])
        return
    _judge(judge, target, outcome, "sdk_error_classes", request, raw)


@pytest.mark.requirement("CLIENT-005")
def test_mid_stream_error_raises(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    request = _request(profile, tag, text=f"Describe a quiet harbor. {directive(disconnect_after=3)}")
    recorder = Recorder()
    with _client(target, recorder) as client:
        outcome = _call("stream", lambda: client.chat.completions.create(**request, stream=True), True)
    _judge(judge, target, outcome, "sdk_mid_stream_error_raises", request, recorder.last())
