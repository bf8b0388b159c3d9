"""The mock ASGI app: routes by prefix to provider instances and runs each exchange.

Written as a plain ASGI callable (no framework Request/Response objects) because it is the hot path of
every capacity benchmark. This module owns the mechanism shared by every flavour: reading the body
(with a size limit), the journal, run-time behaviour (down, error rate, latency), directives, faults
and pacing. The flavours (`openai_compat`, `anthropic`, `gemini`) own only their wire formats.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from auriko_conformance.mocks.anthropic import AnthropicFlavour
from auriko_conformance.mocks.behaviour import plan_reply
from auriko_conformance.mocks.config import MockConfig
from auriko_conformance.mocks.control import Control
from auriko_conformance.mocks.control_api import handle_control
from auriko_conformance.mocks.directives import DirectiveError, parse_directives
from auriko_conformance.mocks.errors import MockError, rejection, scenario_error
from auriko_conformance.mocks.flavour import Flavour, ProviderRequest
from auriko_conformance.mocks.gemini import GeminiFlavour
from auriko_conformance.mocks.journal import (
    OUTCOME_CLIENT_CLOSED,
    OUTCOME_DISCONNECTED,
    OUTCOME_ERROR,
    OUTCOME_OK,
    Journal,
)
from auriko_conformance.mocks.openai_compat import DeepSeekFlavour, OpenAIFlavour, VLLMFlavour
from auriko_conformance.mocks.pacing import Pacer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FLAVOUR_CLASSES: dict[str, type[Flavour]] = {
    "openai": OpenAIFlavour,
    "anthropic": AnthropicFlavour,
    "gemini": GeminiFlavour,
    "deepseek": DeepSeekFlavour,
    "vllm": VLLMFlavour,
}
JSON_TYPES = frozenset({"application/json", "application/*+json", "text/json"})
_JSON_CT = (b"content-type", b"application/json")


def _json_ct(flavour: Flavour) -> tuple[bytes, bytes]:
    """The content type of a flavour's JSON answers (Google adds `; charset=UTF-8`)."""
    return (b"content-type", flavour.json_content_type)


_SSE_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


class _ClientGone(Exception):
    """The client disconnected while the request body was still arriving."""


# Deeper JSON is refused with the flavour's invalid-JSON 400 (D-062). Real APIs refuse deep nesting too,
# at limits they do not document; deeper bodies broke the mocks: a 300-level tool schema was a
# plain-text 500, and one body 260+ levels deep made `GET /__mock/journal` fail until a reset.
MAX_JSON_DEPTH = 128
_ORJSON_MAX_DEPTH = 254  # orjson serialises at most this many levels


def _nests_too_deep(raw: bytes, body: Any) -> bool:
    """True when `body` nests deeper than `MAX_JSON_DEPTH`: wrapped in the levels orjson has left over,
    it serialises only if it is shallow enough (one pass in C, and it proves the journal can hold it).
    A body with fewer brackets than the limit cannot be that deep and is not walked at all."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return False
    wrapped = body
    for _ in range(_ORJSON_MAX_DEPTH - MAX_JSON_DEPTH):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return True
    return False


# What a flavour's parser raises on a value of the wrong type or shape (`"tool_calls": 5`, a content
# block with `"type": []`, Gemini `"tools": 5`). The real APIs answer those with their own 400; a
# plain-text 500 made a gateway retry or fall back and hid its translation bug (issue 19).
_SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError)


def _malformed(exc: Exception) -> MockError:
    """A 400 in the flavour's own envelope (its `ErrorStyle` renders it) for a body of the wrong shape."""
    detail = str(exc) or type(exc).__name__
    return MockError(400, f"Invalid request body: a field has the wrong type or shape ({detail}).")


class DisconnectWatch:
    """Watches `receive` for `http.disconnect` while a response is delayed or streaming, and cancels the
    handler task when it comes, so every wait ends at once and the journal records `client_closed`."""

    __slots__ = ("_task", "done", "fired")

    def __init__(self, receive: Receive) -> None:
        self.fired = False
        self.done = False
        self._task = asyncio.ensure_future(self._watch(receive, asyncio.current_task()))

    async def _watch(self, receive: Receive, handler: asyncio.Task[Any] | None) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not self.done and handler is not None:
                    self.fired = True
                    handler.cancel()
                return

    def close(self) -> None:
        self.done = True
        self._task.cancel()


async def _send_bytes(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """One whole answer. Callers journal it first: a client holding the answer may read the journal at once
    (a suite, a test), and must find the entry finished."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class MockState:
    """The Python API of a running app: journal, live behaviour, reset. Reached as `app.state`."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.journal = Journal(config.journal_size)
        self.control = Control(config)
        self.control_token: str | None = None  # when set, /__mock/* needs it (mocks/README.md)

    def entries(
        self, tag: str | None = None, provider: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Journal entries (oldest first), filtered like `GET /__mock/journal`."""
        return self.journal.entries(tag=tag, provider=provider, limit=limit)

    def set_provider(self, name: str, **behaviour: Any) -> dict[str, Any]:
        """Change an instance's behaviour (like PATCH /__mock/providers/{name})."""
        state = self.control.get(name)
        state.update(behaviour, replace=False)
        return state.to_json()

    def reset(self) -> None:
        """Clear the journal and put every instance back to its config behaviour (re-seeded)."""
        self.journal.clear()
        self.control.reset()


class MockApp:
    """One ASGI app serving every provider instance under its prefix, plus `/__mock/...` control."""

    def __init__(self, config: MockConfig | None = None) -> None:
        self.config = config or MockConfig()
        self.state = MockState(self.config)
        self.flavours: dict[str, Flavour] = {
            inst.name: FLAVOUR_CLASSES[inst.flavour](inst) for inst in self.config.instances
        }
        # longest prefix first, so /vllm-b is not taken by /vllm
        self._prefixes = sorted(((i.prefix, i.name) for i in self.config.instances), key=lambda p: -len(p[0]))

    @property
    def journal(self) -> Journal:
        return self.state.journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            for prefix, name in self._prefixes:
                if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                    with contextlib.suppress(_ClientGone):
                        await self._provider(scope, receive, send, name, path[len(prefix) :])
                    return
            if path.startswith("/__mock/") or path == "/__mock":
                await handle_control(self.state, scope, receive, send)
                return
            body = orjson.dumps(
                {
                    "error": {
                        "message": f"No mock provider serves {path}; known prefixes: "
                        + ", ".join(p for p, _ in self._prefixes),
                        "type": "not_found",
                    }
                }
            )
            await _send_bytes(send, 404, [_JSON_CT], body)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _read_body(self, receive: Receive, declared: str | None) -> tuple[bytes, bool]:
        limit = self.config.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return b"", True
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body: bytes = message.get("body", b"")
        if not message.get("more_body"):
            return body, len(body) > limit
        parts, size = [body], len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= limit:
                parts.append(chunk)
            if not message.get("more_body"):
                break
        return (b"".join(parts), False) if size <= limit else (b"", True)

    async def _provider(self, scope: Scope, receive: Receive, send: Send, name: str, subpath: str) -> None:
        flavour = self.flavours[name]
        headers: dict[str, str] = {}
        for raw_key, raw_value in scope["headers"]:
            key = raw_key.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raw_query: bytes = scope.get("query_string", b"")
        query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)) if raw_query else {}
        raw, too_large = await self._read_body(receive, headers.get("content-length"))
        body: Any = None
        json_error: str | None = None
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                body, json_error = raw.decode("utf-8", "replace"), str(exc)
            else:
                if _nests_too_deep(raw, body):
                    body, json_error = None, f"the JSON nests deeper than {MAX_JSON_DEPTH} levels"
        method: str = scope["method"]
        ex = ProviderRequest(
            flavour.instance,
            method,
            subpath,
            headers,
            query,
            body,
            flavour.new_request_id(),
            int(time.time()),
        )
        entry = self.state.journal.start(
            provider=name,
            flavour=flavour.instance.flavour,
            method=method,
            path=scope["path"],
            query=query,
            headers=headers,
            body=body,
            size=len(raw),
        )
        try:
            await self._serve(flavour, ex, entry, receive, send, raw, json_error, too_large)
        except MockError as err:
            style = flavour.errors
            error_headers = [
                *flavour.response_headers(ex),
                (b"content-type", flavour.error_content_type(ex)),
                *((k.encode(), v.encode()) for k, v in style.headers(err).items()),
            ]
            Journal.finish(entry, err.status, OUTCOME_ERROR)
            await _send_bytes(send, err.status, error_headers, style.body(err, ex.request_id))

    async def _serve(
        self,
        flavour: Flavour,
        ex: ProviderRequest,
        entry: dict[str, Any],
        receive: Receive,
        send: Send,
        raw: bytes,
        json_error: str | None,
        too_large: bool,
    ) -> None:
        pstate = self.state.control.providers[ex.instance.name]
        behaviour = pstate.behaviour
        if too_large:
            raise flavour.too_large(self.config.max_body_bytes)
        if behaviour.down:
            raise flavour.down_error()
        route = flavour.route(ex.method, ex.subpath, ex.query)
        if route.kind == "health":
            Journal.finish(entry, 200, OUTCOME_OK)
            await _send_bytes(send, 200, flavour.response_headers(ex), b"")
            return
        flavour.authenticate(ex)
        if route.kind in ("models", "model"):
            Journal.finish(entry, 200, OUTCOME_OK)
            await _send_bytes(
                send, 200, [*flavour.response_headers(ex), _json_ct(flavour)], flavour.models_body(ex, route)
            )
            return
        content_type = ex.headers.get("content-type")
        if content_type is not None and content_type.split(";", 1)[0].strip().lower() not in JSON_TYPES:
            raise flavour.unsupported_media_type(content_type)
        if not raw:
            raise flavour.invalid_json("the request body is empty")
        if json_error is not None:
            raise flavour.invalid_json(json_error)
        if not isinstance(ex.body, dict):
            raise flavour.body_not_object()
        if pstate.roll_error():
            raise scenario_error(behaviour.error_status, flavour.overload_status)
        try:
            turn = flavour.parse(ex, route)
        except _SHAPE_ERRORS as exc:
            raise _malformed(exc) from None
        if route.kind == "count_tokens":
            Journal.finish(entry, 200, OUTCOME_OK)
            await _send_bytes(
                send,
                200,
                [*flavour.response_headers(ex), _json_ct(flavour)],
                flavour.count_tokens_body(ex, turn),
            )
            return
        try:
            directives = parse_directives(turn.directive_text, ex.instance.name)
            if directives.error:
                raise scenario_error(directives.error, flavour.overload_status, directives.retry_after)
            if directives.reject:
                raise rejection(directives.reject, flavour.errors)
            reply = plan_reply(turn, directives)
        except DirectiveError as err:
            raise flavour.directive_error(err) from None
        d = directives
        pacer = Pacer(
            behaviour.ttft_ms if d.ttft_ms is None else d.ttft_ms,
            behaviour.tps if d.tps is None else d.tps,
            behaviour.jitter_ms if d.jitter_ms is None else d.jitter_ms,
            pstate.jitter,
        )
        if not turn.stream and pacer.idle and not d.any_fault():
            body, usage = flavour.render(ex, turn, reply)
            Journal.finish(entry, 200, OUTCOME_OK, usage)
            await _send_bytes(send, 200, [*flavour.response_headers(ex), _json_ct(flavour)], body)
            return
        await self._slow(flavour, ex, entry, receive, send, turn, reply, pacer)

    async def _slow(
        self,
        flavour: Flavour,
        ex: ProviderRequest,
        entry: dict[str, Any],
        receive: Receive,
        send: Send,
        turn: Any,
        reply: Any,
        pacer: Pacer,
    ) -> None:
        """Responses that wait (latency, timeout, stall) or stream: watched for client disconnects."""
        d = reply.directives
        hold = self.config.stream_timeout_s
        watch = DisconnectWatch(receive)
        started = False
        try:
            if d.timeout:
                await asyncio.sleep(hold)
                raise MockError(504, "Deadline exceeded (mock timeout scenario).")
            if not turn.stream:
                await asyncio.sleep(pacer.duration(reply.usage.completion))
                if d.malformed:
                    Journal.finish(entry, 200, OUTCOME_OK)
                    await _send_bytes(
                        send,
                        200,
                        [*flavour.response_headers(ex), _json_ct(flavour)],
                        flavour.malformed_body(ex),
                    )
                    return
                body, usage = flavour.render(ex, turn, reply)
                Journal.finish(entry, 200, OUTCOME_OK, usage)
                await _send_bytes(send, 200, [*flavour.response_headers(ex), _json_ct(flavour)], body)
                return
            await pacer.first_byte()
            media_type = flavour.stream_media_type(ex)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*flavour.response_headers(ex), (b"content-type", media_type), *_SSE_HEADERS],
                }
            )
            started = True
            sent = 0
            for frame in flavour.stream(ex, turn, reply):
                if frame.tokens:
                    await pacer.tokens(frame.tokens)
                if not frame.data:
                    continue
                if d.disconnect_after is not None and sent >= d.disconnect_after:
                    Journal.finish(entry, 200, OUTCOME_DISCONNECTED)
                    return  # without completing the response: the server drops the connection
                if d.stall_after is not None and sent >= d.stall_after:
                    await asyncio.sleep(hold)
                    break
                if d.malformed and sent == 1:
                    await send(
                        {"type": "http.response.body", "body": flavour.malformed_frame(), "more_body": True}
                    )
                    break
                await send({"type": "http.response.body", "body": frame.data, "more_body": True})
                if frame.counts:
                    sent += 1
            usage = (
                None if (d.malformed or d.stall_after is not None) else flavour.stream_usage(ex, turn, reply)
            )
            Journal.finish(entry, 200, OUTCOME_OK, usage)  # before the end: a client that has it all finds it
            await send({"type": "http.response.body", "body": b""})
        except asyncio.CancelledError:
            if not watch.fired:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            # 499: nginx's "client closed request", when no status line had been sent yet
            Journal.finish(entry, 200 if started else 499, OUTCOME_CLIENT_CLOSED)
        finally:
            watch.close()


def create_app(config: MockConfig | None = None) -> MockApp:
    """The ASGI app serving every provider instance of `config` (default: the six default instances)."""
    return MockApp(config)
