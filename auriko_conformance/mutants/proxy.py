"""The mutant proxy: an ASGI app that forwards every request to an upstream and lets one fault rewrite it.

One proxy class serves both places a fault can sit:

- **front** (response side): between the client and any gateway. The fault sees what the client sent and
  rewrites what the gateway answers (status, headers, JSON body, or a stream event by event);
- **back** (request side): between a gateway and the mock providers. The fault rewrites what the gateway
  sends upstream (path, headers, native body) and what the mocks answer back to the gateway, or answers
  an upstream attempt itself (a replayed failure, a hang).

Streams stay streams: an upstream `text/event-stream` body is cut into SSE events as bytes arrive, each
event goes through the fault (which may drop, rewrite, reorder, hold or add events) and is sent on as
soon as the fault yields it. A client that goes away cancels the upstream request, so a gateway that
abandons a slow attempt is seen by the mocks as exactly that (journal outcome `client_closed`).

Both proxies of one run share the fault object and its `Ledger`: what the front saw the client send,
keyed by the suite's `[[conformance-id: ...]]` tag, is there for the back to use (a fault that forwards
the client's credentials upstream needs both ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
import orjson

from auriko_conformance.sse import aiter_events, decode

if TYPE_CHECKING:
    from auriko_conformance.mutants.faults import Fault

Side = Literal["front", "back"]

#: headers that describe one connection or one encoding of the body, never copied across the proxy
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
        "date",
        "server",
    }
)
TAG_RE = re.compile(rb"\[\[\s*conformance-id\s*:\s*([^\]\s]+)\s*\]\]")


# --------------------------------------------------------------------------------------------------
# SSE events
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ProxiedEvent:
    """One server-sent event as it travels through the proxy.

    `raw` is the exact bytes on the wire (blank line included), so an event no fault touched is passed on
    byte for byte. `data` is the joined `data:` lines (None for a comment-only block), `event` the name.
    """

    raw: bytes
    data: str | None = None
    event: str | None = None
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @classmethod
    def parse(cls, raw: bytes) -> ProxiedEvent:
        """The event of one block's bytes, read by the project's one SSE reader."""
        blocks = decode(raw, every_block=True)
        first = blocks[0] if blocks else None
        return cls(raw=raw, data=first and first.data, event=first and first.event)

    @classmethod
    def of(cls, payload: Any, event: str | None = None) -> ProxiedEvent:
        """A new event carrying `payload` (a JSON value, or a str sent verbatim such as `[DONE]`)."""
        data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        head = f"event: {event}\n" if event else ""
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        return cls(raw=f"{head}{lines}\n".encode(), data=data, event=event)

    @property
    def is_done(self) -> bool:
        return self.data == "[DONE]"

    @property
    def json(self) -> Any:
        """The data parsed as JSON (None when it is not JSON). Do not mutate: use `with_json`."""
        if not self._parsed:
            self._parsed = True
            try:
                self._json = orjson.loads(self.data) if self.data is not None else None
            except orjson.JSONDecodeError:
                self._json = None
        return self._json

    def copy_json(self) -> Any:
        """A private copy of the JSON data, to edit and pass to `with_json`."""
        return orjson.loads(self.data) if self.json is not None and self.data is not None else None

    def with_json(self, payload: Any) -> ProxiedEvent:
        return ProxiedEvent.of(payload, self.event)


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[ProxiedEvent]:
    """Cut a byte stream into SSE events as the bytes arrive; every block is kept, comment-only ones and
    a trailing unterminated one included, so that untouched events go on byte for byte."""
    async for block in aiter_events(chunks, every_block=True):
        yield ProxiedEvent(raw=block.raw, data=block.data, event=block.event)


# --------------------------------------------------------------------------------------------------
# Requests and responses as faults see them
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ProxyRequest:
    side: Side
    method: str
    path: str
    query: str
    headers: httpx.Headers
    body: bytes

    @property
    def tag(self) -> str | None:
        """The suite's correlation tag carried in the body, when there is one."""
        match = TAG_RE.search(self.body)
        return match.group(1).decode() if match else None

    @property
    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def set_json(self, payload: Any) -> None:
        self.body = orjson.dumps(payload)
        self.headers["content-type"] = "application/json"

    @property
    def instance(self) -> str:
        """The first path segment: the mock instance on the back side (`/vllm-b/v1/...` -> `vllm-b`)."""
        return self.path.lstrip("/").split("/", 1)[0]


@dataclass(slots=True)
class ProxyResponse:
    """A response on its way back. Exactly one of `body` (whole) or `events` (SSE stream) is used."""

    status: int
    headers: httpx.Headers
    body: bytes = b""
    events: AsyncIterator[ProxiedEvent] | None = None
    #: seconds to wait before the response starts (a fault that answers late)
    delay_s: float = 0.0

    @property
    def is_stream(self) -> bool:
        return self.events is not None

    @property
    def json(self) -> Any:
        if self.events is not None:
            return None
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def set_json(self, payload: Any) -> None:
        self.body = orjson.dumps(payload)

    @classmethod
    def of_json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> ProxyResponse:
        merged = httpx.Headers({"content-type": "application/json", **(headers or {})})
        return cls(status=status, headers=merged, body=orjson.dumps(payload))


class Ledger:
    """State shared by the two proxies of one run (they serve on different threads): per-tag records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str], Any] = {}

    def put(self, kind: str, tag: str | None, value: Any) -> None:
        if tag is None:
            return
        with self._lock:
            self._data[(kind, tag)] = value

    def get(self, kind: str, tag: str | None, default: Any = None) -> Any:
        if tag is None:
            return default
        with self._lock:
            return self._data.get((kind, tag), default)

    def pop(self, kind: str, tag: str | None, default: Any = None) -> Any:
        if tag is None:
            return default
        with self._lock:
            return self._data.pop((kind, tag), default)

    def client_request(self, tag: str | None) -> dict[str, Any]:
        """The JSON body the client sent with this tag (recorded by the front proxy), or {}."""
        value = self.get("client", tag)
        return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------------------------------
# The proxy
# --------------------------------------------------------------------------------------------------


class Hop:
    """What a fault may do on one request: forward (again), with the request's lifetime."""

    def __init__(self, proxy: MutantProxy, stack: contextlib.AsyncExitStack) -> None:
        self.proxy = proxy
        self.stack = stack

    @property
    def side(self) -> Side:
        return self.proxy.side

    @property
    def ledger(self) -> Ledger:
        return self.proxy.ledger

    async def forward(self, request: ProxyRequest) -> ProxyResponse:
        """Send `request` upstream; an SSE answer comes back as an event iterator, anything else whole."""
        client = self.proxy.client()
        url = self.proxy.upstream + request.path + (f"?{request.query}" if request.query else "")
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        headers.append(("accept-encoding", "identity"))
        upstream = client.build_request(request.method, url, headers=headers, content=request.body)
        response = await client.send(upstream, stream=True)
        self.stack.push_async_callback(response.aclose)
        kept = httpx.Headers(
            [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_BY_HOP]
        )
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        # an error is one body even under a stream's media type (Google answers `alt=sse` errors so)
        if media_type == "text/event-stream" and response.status_code < 400:
            return ProxyResponse(response.status_code, kept, events=sse_events(response.aiter_raw()))
        return ProxyResponse(response.status_code, kept, body=await response.aread())


class MutantProxy:
    """ASGI app: forward to `upstream`, letting `fault` rewrite the request and the response."""

    def __init__(self, upstream: str, fault: Fault, side: Side, ledger: Ledger | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.side: Side = side
        self.ledger = ledger if ledger is not None else Ledger()
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(None, connect=5.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            )
        return self._client

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = ProxyRequest(
            side=self.side,
            method=scope["method"],
            path=scope.get("raw_path", scope["path"].encode()).decode().split("?", 1)[0],
            query=scope.get("query_string", b"").decode(),
            headers=httpx.Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]),
            body=body,
        )
        finished = asyncio.Event()
        work = asyncio.ensure_future(self._handle(request, send, finished))
        watcher = asyncio.ensure_future(self._client_gone(receive, finished))
        try:
            await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, watcher):
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if work.cancelled():
            return  # the client went away first: the upstream request was cancelled with it
        work.result()  # an exception here aborts the connection (a cut upstream stream stays cut)

    async def _client_gone(
        self, receive: Callable[[], Awaitable[MutableMapping[str, Any]]], finished: asyncio.Event
    ) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if finished.is_set():
                    await asyncio.Event().wait()  # normal end: let the work task finish
                return

    async def _handle(
        self,
        request: ProxyRequest,
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
        finished: asyncio.Event,
    ) -> None:
        async with contextlib.AsyncExitStack() as stack:
            hop = Hop(self, stack)
            outcome = await self.fault.on_request(request, hop)
            if isinstance(outcome, ProxyResponse):
                response = outcome
            else:
                request = outcome
                response = await hop.forward(request)
            response = await self.fault.on_response(request, response, hop)
            if response.delay_s > 0:
                await asyncio.sleep(response.delay_s)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.multi_items()]
            # `finished` is set before the last send: from then on a disconnect is the normal end
            if response.events is None:
                headers.append((b"content-length", str(len(response.body)).encode()))
                await send({"type": "http.response.start", "status": response.status, "headers": headers})
                finished.set()
                await send({"type": "http.response.body", "body": response.body, "more_body": False})
                return
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            async for event in response.events:
                await send({"type": "http.response.body", "body": event.raw, "more_body": True})
            finished.set()
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(
        self,
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None
                await send({"type": "lifespan.shutdown.complete"})
                return
