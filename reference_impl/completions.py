"""The chat-completions data path: validated request -> plan -> attempts -> completion or stream.

Reads top to bottom: `complete()` for `stream: false`, `open_stream()` + `StreamSession.events()` for
`stream: true`. Each attempt translates the request for one offering, sends it, and either returns or
records why it failed; retryable failures (429, 5xx, 529, timeouts, connection errors) move on to the
next offering of the plan within `max_fallback_attempts` and `deadline_ms`. A stream can still fall
back until its first byte has gone to the client; after that a failure is a D-004 error event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from auriko_conformance.reference_impl.adapters import Adapter, Attempt, StreamDecoder, Usage
from auriko_conformance.reference_impl.adapters.base import UpstreamStreamError, new_id
from auriko_conformance.reference_impl.catalog import Offering
from auriko_conformance.reference_impl.config import GatewayConfig
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.extensions import extension_warnings, find_platform_governed
from auriko_conformance.reference_impl.http1 import UpstreamResponse
from auriko_conformance.reference_impl.metadata import routing_metadata
from auriko_conformance.reference_impl.routing import Plan, Router
from auriko_conformance.reference_impl.stats import LiveStats
from auriko_conformance.reference_impl.streaming import ChunkWriter, error_event, unique_call_id
from auriko_conformance.reference_impl.upstream import UpstreamClient
from auriko_conformance.reference_impl.validation import ChatRequest, warning

from auriko_conformance.sse import Event as SSEEvent
from auriko_conformance.sse import aiter_events


@dataclass(slots=True)
class Failure:
    """Why one attempt failed, as the error the client would get if it were the last."""

    error: GatewayError
    fallback: bool  # may the next offering be tried?
    timed_out: bool = False


# The least of `deadline_ms` a fallback attempt is started with: less cannot reach a provider and back
# (D-142). The first attempt gets whatever the deadline leaves.
MIN_FALLBACK_S = 0.01

#: How Anthropic ("prompt is too long: N tokens > M maximum") and Gemini ("The input token count (N)
#: exceeds the maximum number of tokens allowed (M).") word a prompt beyond the context window, which the
#: OpenAI-style "maximum context length" test misses.
_PROMPT_TOO_LONG = ("prompt is too long", "exceeds the maximum number of tokens")


def classify_status(status: int, provider: str, message: str, retry_after: str | None) -> Failure:
    """An upstream HTTP error -> the contract's error and whether to fall back (D-038)."""
    text = f"{provider} returned HTTP {status}: {message}"
    lowered = message.lower()
    if status == 429:
        return Failure(
            GatewayError("rate_limit_exceeded", text, provider=provider, retry_after=retry_after or "1"),
            True,
        )
    if status in (503, 529):
        error = GatewayError("service_unavailable", text, provider=provider, retry_after=retry_after)
        return Failure(error, True)
    if status in (408, 504):
        return Failure(GatewayError("upstream_timeout", text, provider=provider), True, timed_out=True)
    if status in (400, 413, 422):
        context = "context" in lowered and ("length" in lowered or "window" in lowered)
        if context or any(phrase in lowered for phrase in _PROMPT_TOO_LONG):
            return Failure(
                GatewayError("context_length_exceeded", text, "messages", provider=provider), False
            )
        if "content" in lowered and ("filter" in lowered or "policy" in lowered):
            return Failure(GatewayError("content_filtered", text, "messages", provider=provider), False)
        return Failure(GatewayError("upstream_error", text, provider=provider), False)
    if status in (401, 402, 403):  # the platform's provider account, not the request: next one
        # never the provider's text: it may quote the platform's key (OpenAI and DeepSeek do)
        text = f"{provider} refused the platform's provider credentials (HTTP {status})."
        return Failure(GatewayError("upstream_error", text, provider=provider), True)
    # 5xx: next one
    retry = status >= 500
    return Failure(GatewayError("upstream_error", text, provider=provider), retry)


def classify_exception(exc: BaseException, provider: str, timeout_s: float) -> Failure:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        message = f"{provider} did not answer within {round(timeout_s * 1000)} ms."
        return Failure(GatewayError("upstream_timeout", message, provider=provider), True, timed_out=True)
    if isinstance(exc, httpx.ConnectError):
        return Failure(
            GatewayError("no_provider_available", f"{provider} is unreachable.", provider=provider), True
        )
    if isinstance(exc, UpstreamStreamError):
        code = "no_provider_available" if exc.overloaded else "upstream_error"
        return Failure(GatewayError(code, f"{provider} stream error: {exc}", provider=provider), True)
    return Failure(GatewayError("upstream_error", f"{provider} failed: {exc}", provider=provider), True)


class Completions:
    """Owns routing, adapters, the upstream client and live stats for one app."""

    def __init__(self, config: GatewayConfig, adapters: dict[str, Adapter], upstream: UpstreamClient) -> None:
        self.config = config
        self.adapters = adapters
        self.upstream = upstream
        self.stats = LiveStats(config.catalog.all_offerings(), config.stats_window, config.stats_min_samples)
        self.router = Router(config.catalog, self.stats)
        self.known_extensions = frozenset(config.providers) | frozenset(
            p.flavour for p in config.providers.values()
        )
        # the platform's provider keys, longest first: cut from any error text a client can read
        keys = {p.api_key for p in config.providers.values() if len(p.api_key) >= 4}
        self.secrets = tuple(sorted(keys, key=len, reverse=True))

    def redact(self, error: GatewayError) -> GatewayError:
        """`error` with any provider key in its message replaced (upstream texts may echo them)."""
        for secret in self.secrets:
            if secret in error.message:
                error.message = error.message.replace(secret, "[redacted]")
        return error

    # --- shared ------------------------------------------------------------------------------------------
    def plan(self, request: ChatRequest) -> Plan:
        governed = find_platform_governed(request.extensions) if request.extensions else None
        if governed is not None:  # D-023
            raise GatewayError(
                "invalid_request", f"{governed} is governed by the platform and cannot be set.", governed
            )
        return self.router.plan(request)

    def attempt_for(
        self, request: ChatRequest, plan: Plan, offering: Offering, failures: list[Failure]
    ) -> Attempt:
        warnings = [*request.warnings, *plan.warnings]
        for failure in failures:
            if failure.timed_out:
                warnings.append(
                    warning("provider_timeout", f"{failure.error.message} Fell back to another provider.")
                )
        provider = self.config.providers[offering.provider]
        attempt = Attempt(request, offering, provider, warnings, request.stream)
        return attempt

    def _extension_warnings(self, attempt: Attempt) -> None:
        extensions = attempt.request.extensions
        if extensions:
            adapter = self.adapters[attempt.provider.flavour]
            used = {attempt.offering.provider, *adapter.extension_keys}
            attempt.warnings.extend(extension_warnings(extensions, self.known_extensions, used))

    def _timeouts(self, request: ChatRequest) -> tuple[float, float | None]:
        routing = request.routing
        per_attempt = routing.get("timeout_ms", self.config.timeouts.attempt_ms) / 1000
        deadline = routing.get("deadline_ms")
        return per_attempt, (time.monotonic() + deadline / 1000) if deadline else None

    @staticmethod
    def _budget(per_attempt: float, deadline: float | None, fallback: bool) -> float:
        """The next attempt's allowance; 0 when `deadline_ms` has passed or, for a fallback, leaves less
        than `MIN_FALLBACK_S` (D-142): under uvloop a timer may fire up to a millisecond before
        `time.monotonic()` reaches its time, so an attempt cut by the deadline could leave a crumb of
        it, and a fourth attempt of a 1,000 ms chain of 400 ms timeouts was sent with under 1 ms to live."""
        if deadline is None:
            return per_attempt
        left = deadline - time.monotonic()
        if left <= 0 or (fallback and left < MIN_FALLBACK_S):
            return 0.0
        return min(per_attempt, left)

    @staticmethod
    def final_error(failures: list[Failure], deadline_hit: bool) -> GatewayError:
        if deadline_hit and (not failures or failures[-1].timed_out):
            last = failures[-1].error if failures else None
            return GatewayError(
                "upstream_timeout",
                "The request did not complete within deadline_ms.",
                provider=last.provider if last else None,
            )
        return failures[-1].error

    # --- non-stream --------------------------------------------------------------------------------------
    async def complete(self, request: ChatRequest) -> bytes:
        plan = self.plan(request)
        per_attempt, deadline = self._timeouts(request)
        failures: list[Failure] = []
        for offering in plan.attempts:
            budget = self._budget(per_attempt, deadline, fallback=bool(failures))
            if budget <= 0:
                raise self.final_error(failures, True)
            attempt = self.attempt_for(request, plan, offering, failures)
            adapter = self.adapters[attempt.provider.flavour]
            call = adapter.build(attempt)
            started = time.monotonic()
            try:
                response = await self.upstream.send(call, budget, provider=offering.provider)
            except Exception as exc:  # any transport failure is this provider's failure, never a 500
                failures.append(classify_exception(exc, offering.provider, budget))
                continue
            if response.status_code != 200:
                failure = classify_status(
                    response.status_code,
                    offering.provider,
                    adapter.error_message(response.status_code, response.content),
                    adapter.retry_after(response.headers, response.content),
                )
                if not failure.fallback:
                    raise failure.error
                failures.append(failure)
                continue
            try:
                data = orjson.loads(response.content)
                completion, usage = adapter.parse_response(data, attempt)
            except Exception as exc:  # an unparseable 200 is an upstream failure too
                failures.append(classify_exception(exc, offering.provider, budget))
                continue
            elapsed = time.monotonic() - started
            return self._finish_completion(completion, usage, attempt, plan, elapsed)
        raise self.final_error(failures, deadline is not None and time.monotonic() >= deadline)

    def _finish_completion(
        self, completion: dict[str, Any], usage: Usage | None, attempt: Attempt, plan: Plan, elapsed: float
    ) -> bytes:
        if not completion["created"]:
            completion["created"] = int(time.time())
        if attempt.request.body.get("tool_choice") == "none":
            for choice in completion["choices"]:  # "none" is guaranteed, even if a provider ignores it
                if choice["message"].pop("tool_calls", None):
                    choice["finish_reason"] = "stop"
        call_ids: set[str] = set()
        for choice in completion["choices"]:
            for call in choice["message"].get("tool_calls") or ():
                call["id"] = unique_call_id(call["id"], choice["index"], call_ids)
        tps = None
        if usage is not None:
            completion["usage"] = usage.to_dict()
            if usage.completion and elapsed > 0:
                tps = usage.completion / elapsed
                self.stats.record_tps(attempt.offering.key, tps)
        self._extension_warnings(attempt)
        completion["routing_metadata"] = routing_metadata(
            attempt.offering, plan.strategy, usage, attempt.warnings, throughput_tps=tps
        )
        return orjson.dumps(completion)

    # --- stream ------------------------------------------------------------------------------------------
    async def open_stream(self, request: ChatRequest) -> StreamSession:
        """Try offerings until one has produced its first events; nothing has reached the client yet."""
        plan = self.plan(request)
        per_attempt, deadline = self._timeouts(request)
        failures: list[Failure] = []
        for offering in plan.attempts:
            budget = self._budget(per_attempt, deadline, fallback=bool(failures))
            if budget <= 0:
                raise self.final_error(failures, True)
            attempt = self.attempt_for(request, plan, offering, failures)
            adapter = self.adapters[attempt.provider.flavour]
            call = adapter.build(attempt)
            started = time.monotonic()
            response: httpx.Response | UpstreamResponse | None = None
            try:
                async with asyncio.timeout(budget):
                    response = await self.upstream.send(call, budget, stream=True, provider=offering.provider)
                    if response.status_code != 200:
                        body = await response.aread()
                        await response.aclose()
                        failure = classify_status(
                            response.status_code,
                            offering.provider,
                            adapter.error_message(response.status_code, body),
                            adapter.retry_after(response.headers, body),
                        )
                        if not failure.fallback:
                            raise failure.error
                        failures.append(failure)
                        continue
                    session = StreamSession(
                        self, attempt, plan, adapter.stream_decoder(attempt), response, started
                    )
                    session.budget, session.deadline = budget, deadline
                    await session.prime()
                    return session
            except GatewayError:
                raise
            except Exception as exc:  # transport, protocol or decoding failure before the first byte
                if response is not None:
                    await response.aclose()
                failures.append(classify_exception(exc, offering.provider, budget))
                continue
            except BaseException:  # cancelled (the client left): the provider sees the request closed
                if response is not None:
                    await response.aclose()
                raise
        raise self.final_error(failures, deadline is not None and time.monotonic() >= deadline)


class StreamSession:
    """One upstream stream being relayed: primed with its first events, then drained by `events()`."""

    def __init__(
        self,
        owner: Completions,
        attempt: Attempt,
        plan: Plan,
        decoder: StreamDecoder,
        response: httpx.Response | UpstreamResponse,
        started: float,
    ) -> None:
        self.owner = owner
        self.attempt = attempt
        self.plan = plan
        self.decoder = decoder
        self.response = response
        self.started = started
        self.first_token_at: float | None = None
        self.budget = 0.0  # the attempt's allowance: also the longest silence tolerated mid-stream
        self.deadline: float | None = None  # deadline_ms bounds the whole stream too (D-048)
        self._source = aiter_events(response.aiter_raw())
        self._pending: list[Any] = []
        created = int(time.time())
        self.writer = ChunkWriter(new_id("chatcmpl-"), created, attempt.offering.provider_model_id)

    async def prime(self) -> None:
        """Read until the upstream produced something to send (or ended): failures here can fall back."""
        async for native in self._source:
            events = self.decoder.feed(native.event, native.data)
            if events:
                self.first_token_at = time.monotonic()
                self._pending = events
                return
            if self.decoder.done:
                break
        self._pending = self.decoder.close()
        self.first_token_at = time.monotonic()

    async def events(self) -> AsyncIterator[bytes]:
        """SSE bytes for the client: chunks, then the usage chunk and [DONE], or a D-004 error event."""
        writer = self.writer
        none_choice = self.attempt.request.body.get("tool_choice") == "none"
        try:
            if self._pending:
                first = writer.chunk(self._filter(self._pending, none_choice))
                self._pending = []
                if first:
                    yield first
            if not self.decoder.done:
                async for native in self._upstream():
                    events = self.decoder.feed(native.event, native.data)
                    if events:
                        out = writer.chunk(self._filter(events, none_choice))
                        if out:
                            yield out
                    if self.decoder.done:
                        break
                tail = self.decoder.close()
                if tail:
                    out = writer.chunk(tail)
                    if out:
                        yield out
        except Exception as exc:  # after the first byte: one D-004 error event, no [DONE]
            error = exc if isinstance(exc, GatewayError) else self._failure(exc)
            if error.code not in ("upstream_error", "upstream_timeout"):
                error = GatewayError("upstream_error", error.message, provider=error.provider)
            yield error_event(self.owner.redact(error).error_object())
            return
        finally:
            await self.response.aclose()
        closing = writer.close_choices()
        if closing:
            yield closing
        yield writer.final(*self._summary())

    def _failure(self, exc: Exception) -> GatewayError:
        return classify_exception(exc, self.attempt.offering.provider, self.budget).error

    async def _upstream(self) -> AsyncIterator[SSEEvent]:
        """The rest of the upstream events; waiting past `deadline_ms` ends the stream (D-048)."""
        if self.deadline is None:
            async for item in self._source:
                yield item
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + (self.deadline - time.monotonic())
        source = aiter(self._source)
        while True:
            try:
                async with asyncio.timeout_at(when):
                    item = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise GatewayError(
                    "upstream_timeout",
                    "The request did not complete within deadline_ms.",
                    provider=self.attempt.offering.provider,
                ) from None
            yield item

    @staticmethod
    def _filter(events: list[Any], none_choice: bool) -> list[Any]:
        if not none_choice:
            return events
        return [
            e if e[0] != "finish" or e[2] != "tool_calls" else ("finish", e[1], "stop", e[3])
            for e in events
            if e[0] != "tool"
        ]

    def _summary(self) -> tuple[dict[str, Any], dict[str, Any]]:
        now = time.monotonic()
        usage = self.decoder.usage or Usage()
        offering = self.attempt.offering
        stats = self.owner.stats
        ttft_ms = ((self.first_token_at or now) - self.started) * 1000
        stats.record_ttft(offering.key, ttft_ms)
        generating = now - (self.first_token_at or self.started)
        tps = usage.completion / generating if usage.completion and generating > 0 else None
        if tps is not None:
            stats.record_tps(offering.key, tps)
        self.owner._extension_warnings(self.attempt)
        metadata = routing_metadata(offering, self.plan.strategy, usage, self.attempt.warnings, tps, ttft_ms)
        return usage.to_dict(), metadata
