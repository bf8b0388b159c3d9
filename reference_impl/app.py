"""The gateway as a plain ASGI callable: HTTP in, the data path, HTTP out.

A framework's request/response objects cost more than the whole translation on a hot path measured
against a 1 ms budget, so this module speaks ASGI directly: a static route table, headers read once
from the raw scope, bodies read with the size limit enforced while they arrive.

    POST /v1/chat/completions -> auth -> body (413) -> parse + validate (400) -> route -> upstream
                              -> completion (JSON) or stream (SSE)
    GET  /v1/models, /v1/models/{id}, /v1/me

Check order (D-031): path and method (404, 405), auth (401), body size (413), validation (400), model
lookup (404), routing filters (400), upstream. Every response carries `X-Request-ID`; errors carry the
envelope and `X-Error-*` headers; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import orjson
from auriko_conformance.reference_impl.adapters import make_adapters
from auriko_conformance.reference_impl.budgets import Ledger
from auriko_conformance.reference_impl.completions import Completions, StreamSession
from auriko_conformance.reference_impl.config import GatewayConfig, default_config
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.key_policies import KeyPolicies
from auriko_conformance.reference_impl.ratelimit import RateLimiter
from auriko_conformance.reference_impl.upstream import UpstreamClient
from auriko_conformance.reference_impl.validation import check_structure, parse_body, validate_chat_request

log = logging.getLogger("reference_impl")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
T = TypeVar("T")

JSON = b"application/json"
ERROR_JSON = b"application/json; charset=utf-8"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]

ROUTES: dict[str, tuple[str, str]] = {
    "/v1/chat/completions": ("POST", "chat"),
    "/v1/models": ("GET", "models"),
    "/v1/me": ("GET", "me"),
}
MODEL_PREFIX = "/v1/models/"
# `%2F` in the path: uvicorn decodes `/v1/chat%2Fcompletions` to the chat path; a server that routes on
# the raw path (most proxies) sees another resource, so the gateway answers 404 as they would.
_ENCODED_SLASH = re.compile(rb"%2[fF]")


def _request_id() -> str:
    return "req_" + os.urandom(12).hex()


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    """The client closed the connection: nothing is left to answer, and nothing to log above DEBUG."""


async def _disconnected(receive: Receive) -> None:
    """Returns when the client has gone (after the body, `receive` yields nothing else until then)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _while_connected(receive: Receive, work: Awaitable[T]) -> T:
    """`work`'s result, or `_ClientGone` once the client disconnects first, with `work` cancelled.

    Cancelling the work closes its upstream request in whatever phase it is (connecting, waiting for
    the answer, reading it, or a stream before its first byte) and stops the fallback plan: before,
    a client that left after 1 s left its upstream pending for the whole 120 s attempt, then a
    fallback started for nobody, and 520 such clients filled the upstream pool (issue 19).
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, watcher):
            if not pending.done():
                pending.cancel()
        await asyncio.wait({task, watcher})
    if watcher.cancelled():
        return task.result()
    for finished in (task, watcher):  # the client left: whatever the work ended with, nobody is told
        if not finished.cancelled():
            finished.exception()
    raise _ClientGone


# Bodies larger than this give the event loop a turn between counting, parsing and validating: each step
# of a multi-megabyte body can take tens of milliseconds, and a concurrent request waits for one, not all.
PAUSE_BETWEEN_STEPS_BYTES = 256 * 1024
MODELS_ENDPOINTS = ("chat_completions", "responses")
IDEMPOTENCY_KEY_MAX = 255  # openapi.yaml: components.parameters.IdempotencyKey


def _check_models_query(scope: Scope) -> None:
    """`GET /v1/models?endpoint=`: one of the contract's values, else 400 (other parameters are ignored)."""
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if key == "endpoint" and value not in MODELS_ENDPOINTS:
            raise GatewayError(
                "invalid_parameter_value",
                f"endpoint must be one of {', '.join(MODELS_ENDPOINTS)}.",
                "endpoint",
            )


def _check_idempotency_key(headers: dict[bytes, bytes]) -> None:
    """The contract's Idempotency-Key is 1 to 255 characters when sent."""
    key = headers.get(b"idempotency-key")
    if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise GatewayError(
            "invalid_parameter_value",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters.",
            "Idempotency-Key",
        )


class GatewayApp:
    """The ASGI application. Build it with `create_app(config)`."""

    def __init__(self, config: GatewayConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.upstream = UpstreamClient(config.timeouts, transport)
        self.completions = Completions(
            config, make_adapters(config.anthropic_default_max_tokens), self.upstream
        )
        self.started = time.time()
        self._models_payload = self._build_models()
        # keys are compared as SHA-256 digests in constant time, every configured key every time
        self._key_digests = [(key, hashlib.sha256(key.encode()).digest()) for key in sorted(config.api_keys)]
        self.limiter = RateLimiter(config.rate_limits, config.api_keys)
        self.budgets = Ledger(config.budgets)
        self.key_policies = KeyPolicies(config.key_policies)
        self._me = {key: orjson.dumps(self._identity(key)) for key in config.api_keys}

    # --- ASGI entry ----------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.upstream.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id()
        limit_headers: list[tuple[bytes, bytes]] = []
        try:
            path, method = scope["path"], scope["method"]
            route = None if _ENCODED_SLASH.search(scope.get("raw_path") or b"") else ROUTES.get(path)
            if route is None and path.startswith(MODEL_PREFIX) and len(path) > len(MODEL_PREFIX):
                route = ("GET", "model")
            if route is None:
                raise GatewayError("resource_not_found", f"No route for {path}.")
            allowed, name = route
            if method != allowed:
                await self._method_not_allowed(send, request_id, method, path, allowed)
                return
            headers = dict(scope["headers"])
            key = self._authenticate(headers, scope["headers"])
            self.key_policies.admit(key)
            if name == "chat":
                limit_headers, retry_after = self.limiter.take(key)
                if retry_after is not None:
                    message = "Rate limit exceeded for this API key."
                    raise GatewayError("rate_limit_exceeded", message, retry_after=retry_after)
                budget_headers, refusal = self.budgets.admit(key)
                limit_headers += budget_headers
                if refusal is not None:
                    raise refusal
                with self.budgets.charging(key):
                    await self._chat(scope, receive, send, headers, request_id, limit_headers, key)
            elif name == "models":
                _check_models_query(scope)
                await self._json(send, request_id, self._models_body())
            elif name == "model":
                await self._json(send, request_id, self._model_body(path[len(MODEL_PREFIX) :]))
            else:
                await self._json(send, request_id, self._me[key], extra=self.budgets.headers(key))
        except GatewayError as error:
            await self._error(send, request_id, error, limit_headers)
        except _ClientGone:
            log.debug("client left before request %s was answered", request_id)
        except Exception:  # a bug: still a proper envelope, never a bare 500
            log.exception("unhandled error in request %s", request_id)
            await self._error(
                send, request_id, GatewayError("internal_error", "Internal error. Quote the request ID.")
            )

    # --- pieces --------------------------------------------------------------------------------------------
    def _authenticate(self, headers: dict[bytes, bytes], raw: list[tuple[bytes, bytes]]) -> str:
        """The configured key the bearer token equals, compared in constant time against every key.

        Exactly one `Authorization` header: with two, which one a proxy in front checked and which one
        the gateway would use could differ (the last used to win).
        """
        if sum(name == b"authorization" for name, _ in raw) > 1:
            raise GatewayError("invalid_api_key", "Send exactly one Authorization header.")
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        digest = hashlib.sha256(token.strip()).digest()
        found = None
        for key, key_digest in self._key_digests:  # no early exit: the time never says which key is close
            if hmac.compare_digest(digest, key_digest):
                found = key
        if found is None or scheme.lower() != b"bearer":
            raise GatewayError("invalid_api_key", "Invalid API key. Send 'Authorization: Bearer ak_...'.")
        return found

    async def _read_body(self, receive: Receive, headers: dict[bytes, bytes]) -> bytes:
        """The body, at most `max_body_bytes` (413 above) within `body_timeout_ms` (slow clients, D-051)."""
        limit = self.config.limits.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self.config.limits.body_timeout_ms / 1000):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":  # gone mid-body (or its framing was broken)
                    raise _ClientGone
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise _BodyTooLarge
                    chunks.append(chunk)
                if not message.get("more_body"):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _chat(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        key: str,
    ) -> None:
        try:
            raw = await self._read_body(receive, headers)
        except _BodyTooLarge:
            limit = self.config.limits.max_body_bytes
            raise GatewayError("payload_too_large", f"The request body exceeds {limit} bytes.") from None
        except TimeoutError:  # a slow (or stalled) client: answer, then close the connection
            ms = self.config.limits.body_timeout_ms
            error = GatewayError("invalid_request", f"The request body did not arrive within {ms} ms.")
            await self._error(send, request_id, error, [*extra, (b"connection", b"close")])
            return
        _check_idempotency_key(headers)
        limits = self.config.limits
        pause = (
            len(raw) > PAUSE_BETWEEN_STEPS_BYTES
        )  # other requests run between counting, parsing, validating
        check_structure(raw, limits.max_json_containers, limits.max_json_values)
        if pause:
            await asyncio.sleep(0)
        body = parse_body(raw, limits.max_json_depth)
        if pause:
            await asyncio.sleep(0)
        request = validate_chat_request(body)
        request.blocked_providers = self.key_policies.blocked_providers(key)
        if request.extensions:  # every attempt walks them in Python: bounded apart from the body (D-141)
            raw_extensions = orjson.dumps(request.extensions)
            check_structure(
                raw_extensions, limits.max_json_containers, limits.max_extension_values, "extensions"
            )
        if not request.stream:
            answer = await _while_connected(receive, self.completions.complete(request))
            await self._json(send, request_id, answer, extra=extra)
            return
        session = await _while_connected(receive, self.completions.open_stream(request))
        await self._stream(session, receive, send, request_id, extra)

    async def _stream(
        self,
        session: StreamSession,
        receive: Receive,
        send: Send,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        """Relay the stream; a client disconnect cancels the relay, which closes the upstream request."""

        async def pump() -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*SSE_HEADERS, (b"x-request-id", request_id.encode()), *extra],
                }
            )
            async for data in session.events():
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        relay = asyncio.ensure_future(pump())
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (relay, watcher):
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await relay
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await session.response.aclose()

    async def _json(
        self, send: Send, request_id: str, body: bytes, status: int = 200, extra: list[Any] | None = None
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", JSON),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *(extra or ()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _error(
        self, send: Send, request_id: str, error: GatewayError, extra: list[Any] | None = None
    ) -> None:
        body = self.completions.redact(error).body()
        headers = [
            (b"content-type", ERROR_JSON),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            *error.headers(),
            *(extra or ()),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _method_not_allowed(
        self, send: Send, request_id: str, method: str, path: str, allowed: str
    ) -> None:
        error = GatewayError("method_not_allowed", f"{method} is not allowed on {path}; use {allowed}.")
        await self._error(send, request_id, error, [(b"allow", allowed.encode())])

    # --- models and identity -------------------------------------------------------------------------------
    def _model_entry(self, model_id: str) -> dict[str, Any]:
        model = self.config.catalog.models[model_id]
        providers = []
        for offering in model.offerings:
            if offering.tier != "standard":
                continue
            providers.append(
                {
                    "name": offering.provider,
                    "input_price": offering.prices.input,
                    "output_price": offering.prices.output,
                    "data_policy": offering.data_policy,
                }
            )
        entry: dict[str, Any] = {
            "id": model.id,
            "object": "model",
            "created": model.created,
            "owned_by": "auriko",
            "supported_endpoints": ["chat_completions"],
            "providers": providers,
        }
        if model.context_window:
            entry["context_window"] = model.context_window
        return entry

    def _build_models(self) -> list[dict[str, Any]]:
        return [self._model_entry(model_id) for model_id in self.config.catalog.models]

    def _models_body(self) -> bytes:
        return orjson.dumps(
            {
                "object": "list",
                "data": self._models_payload,
                "catalog_version": self.config.catalog.version,
                "catalog_age_seconds": max(0, int(time.time() - self.started)),
            }
        )

    def _model_body(self, model_id: str) -> bytes:
        model = self.config.catalog.resolve(model_id)
        if model is None:
            raise GatewayError("model_not_found", f"Model '{model_id}' is not in the catalog.", "model_id")
        return orjson.dumps(self._model_entry(model.id))

    def _identity(self, key: str) -> dict[str, Any]:
        rpm = self.limiter.requests_per_minute(key)
        return {
            "object": "api_key_identity",
            "user_id": None,
            "workspace_id": "ws_conformance",
            "tier": "standard",
            "rate_limit_rpm": rpm,
            "credential_type": "api_key",
            "status": "active",
            "profile": "inference",
            "key_id": "key_conformance",
            "key_prefix": "ak_test_",
            "key_name": "conformance",
            "workspace": {"id": "ws_conformance", "name": "Conformance"},
            "scopes": ["inference"],
            "rate_limits": {"inference_rpm": rpm, "management_reads_rpm": 60, "management_writes_rpm": 10},
            "expires_at": None,
            "created_at": "2026-11-01T00:00:00Z",
        }


def create_app(
    config: GatewayConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> GatewayApp:
    """The gateway ASGI app. `transport` routes every upstream call through it (e.g. an in-process mock)."""
    return GatewayApp(config or default_config(), transport)
