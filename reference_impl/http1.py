"""A lean HTTP/1.1 client for the upstream hot path: asyncio protocol, httptools parser, keep-alive pool.

Why not httpx here: on the gateway's data path httpx + httpcore + anyio cost most of the request
(profiled with py-spy under `auriko-conformance bench`: 75% of the gateway's CPU per non-stream request,
much of it httpcore's pool re-checking every pooled connection's socket on every request). This client
does only what the gateway needs: POST a prepared body to a provider over HTTP/1.1 (TLS for https),
keep connections alive per origin, and hand back the status, headers and either the whole body or the
raw (de-chunked) body bytes as they arrive.

Behaviour kept from the httpx set-up it replaces (reference_impl/upstream.py):
- limits: `max_connections` in flight, at most `keepalive_connections` idle, idle ones dropped after
  `keepalive_expiry` seconds (and at once when the server closes them);
- timeouts: connect within `connect_s`; every wait for the next bytes within `read_s` (so a stream that
  falls silent mid-way fails like httpx's read timeout); the caller bounds the whole exchange;
- errors are httpx's exception types (`ConnectError`, `ConnectTimeout`, `ReadTimeout`, `ReadError`,
  `RemoteProtocolError`), so error classification does not change;
- closing a response before its end closes the connection: the provider sees the request cancelled;
- a request that fails on a reused keep-alive connection before any response byte (the server closed
  it as we wrote) is sent once more on a fresh connection, as browsers and most clients do.

It does not do proxies, redirects, cookies, compression or HTTP/2; `UpstreamClient` uses httpx instead when a
test injects a transport or when proxy environment variables are set.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httptools
import httpx

USER_AGENT = "auriko-reference/0.1"
HIGH_WATER = 1 << 20  # buffered body bytes before reading from the socket pauses
LOW_WATER = 1 << 18

Origin = tuple[str, str, int]  # scheme, host, port


@functools.lru_cache(maxsize=4096)
def split_url(url: str) -> tuple[Origin, bytes]:
    """`https://api.x.com/v1/chat?alt=sse` -> ((scheme, host, port), request line + fixed headers)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise httpx.UnsupportedProtocol(f"Cannot send a request to {url!r}.")
    port = parts.port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host = parts.hostname if default else f"{parts.hostname}:{port}"
    if ":" in parts.hostname and not default:  # IPv6 literal
        host = f"[{parts.hostname}]:{port}"
    head = f"POST {target} HTTP/1.1\r\nhost: {host}\r\nuser-agent: {USER_AGENT}\r\naccept: */*\r\n"
    return (scheme, parts.hostname, port), head.encode("ascii")


def request_head(url: str, headers: dict[str, str], length: int) -> tuple[Origin, bytes]:
    origin, head = split_url(url)
    lines = [head]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise httpx.LocalProtocolError(f"Illegal character in header {name!r}.")
        lines.append(f"{name}: {value}\r\n".encode())
    lines.append(b"content-length: %d\r\n\r\n" % length)
    return origin, b"".join(lines)


class Headers(dict[str, str]):
    """Response headers: lower-case names, repeated headers joined with ", " (as httpx.Headers.get)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; carries one exchange at a time."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.response: UpstreamResponse | None = None
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # bytes nobody asked for: this connection cannot be trusted any more
            self.close()
            return
        try:
            response.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            response.fail(httpx.RemoteProtocolError(f"Malformed HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.response is not None:
            self.response.lost(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamResponse:
    """The part of `httpx.Response` the gateway uses: status_code, headers, content, aread, aiter_raw,
    aclose."""

    def __init__(self, pool: Pool, conn: _Connection, read_s: float | None, key: str = "") -> None:
        self._pool = pool
        self._key = key
        self._conn = conn
        self._read_s = read_s
        self.parser = httptools.HttpResponseParser(self)
        self.status_code = 0
        self.headers = Headers()
        self.content = b""
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._paused = False
        self._started = False  # any response byte seen
        self._headers_done = False
        self._complete = False
        self._keep_alive = False
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._finished = False

    # --- httptools callbacks ----------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status_code = self.parser.get_status_code()
        headers = self.headers
        for raw_name, raw_value in self._raw_headers:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self._conn.transport is not None:
            self._paused = True
            self._conn.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._complete = True
        self._keep_alive = self.parser.should_keep_alive()
        self._wake()

    # --- connection events ------------------------------------------------------------------------------
    def lost(self, exc: Exception | None) -> None:
        if self._complete:
            return
        framed = "content-length" in self.headers or "chunked" in self.headers.get("transfer-encoding", "")
        if self._headers_done and not framed and exc is None:
            self._complete = True  # a body delimited by the end of the connection
        elif exc is not None:
            self._error = httpx.ReadError(f"The connection to the provider failed: {exc}")
        else:
            message = "Server disconnected without sending a complete response."
            self._error = httpx.RemoteProtocolError(message)
        self._wake()

    def fail(self, error: Exception) -> None:
        self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until the parser or the connection has news; at most `read_s` (a bare timer handle: cheaper
        than `asyncio.timeout` on a path taken once per streamed event)."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if self._read_s is None else loop.call_later(self._read_s, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def _headers(self) -> None:
        while not self._headers_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    # --- the httpx.Response subset ----------------------------------------------------------------------
    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body bytes (transfer encoding removed) as they arrive."""
        chunks = self._chunks
        try:
            while True:
                while chunks:
                    chunk = chunks.popleft()
                    self._buffered -= len(chunk)
                    if self._paused and self._buffered < LOW_WATER and self._conn.transport is not None:
                        self._paused = False
                        self._conn.transport.resume_reading()
                    yield chunk
                if self._complete:
                    break
                if self._error is not None:
                    raise self._error
                await self._wait()
        except BaseException:
            self._finish(reuse=False)
            raise
        self._finish(reuse=True)

    async def aread(self) -> bytes:
        parts = [chunk async for chunk in self.aiter_raw()]
        self.content = parts[0] if len(parts) == 1 else b"".join(parts)
        return self.content

    async def aclose(self) -> None:
        """Done with this response: an unfinished one closes its connection (the provider sees it)."""
        self._finish(reuse=self._complete and not self._chunks)

    def _finish(self, reuse: bool) -> None:
        if self._finished:
            return
        self._finished = True
        conn = self._conn
        conn.response = None
        self._pool._release(
            conn, reuse and self._complete and self._keep_alive and not conn.closed, self._key
        )


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("The provider sent nothing within the read timeout."))


class Pool:
    """Keep-alive connections per origin; at most `max_connections` exchanges in flight, at most
    `max_per_key` of them for one key."""

    def __init__(
        self,
        max_connections: int,
        keepalive_connections: int,
        keepalive_expiry: float,
        max_per_key: int | None = None,
    ) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        # exchanges in flight per caller-chosen key (the gateway's provider): one provider that hangs
        # cannot take every slot and make requests to the others wait (issue 19)
        self._max_per_key = max_per_key or max_connections
        self._key_slots: dict[str, asyncio.Semaphore] = {}
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._keepalive = keepalive_connections
        self._expiry = keepalive_expiry
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def request(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        *,
        connect_s: float,
        read_s: float | None,
        stream: bool = False,
        key: str = "",
    ) -> UpstreamResponse:
        """POST `body`; returns after the headers (stream) or the whole body (not stream).

        A slot of `key` is taken before a pool slot, so requests waiting for a saturated key hold no
        pool slot; both are given back when the response finishes (or the call fails or is cancelled).
        """
        origin, head = request_head(url, headers, len(body))
        data = head + body
        await self._acquire(key)
        holding = True  # this call holds the slots; once a response exists, the response does (_finish)
        response: UpstreamResponse | None = None
        try:
            for attempt in range(2):
                if attempt:
                    await self._acquire(key)
                    holding = True
                conn = self._take(origin)
                reused = conn is not None
                if conn is None:
                    conn = await self._connect(origin, connect_s)
                response = UpstreamResponse(self, conn, read_s, key)
                holding = False
                conn.response = response
                assert conn.transport is not None
                conn.transport.write(data)
                try:
                    await response._headers()
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    if reused and not response._started and not attempt:  # stale keep-alive: once more
                        response._finish(reuse=False)
                        response = None
                        continue
                    raise
                break
            assert response is not None
            if not stream:
                await response.aread()
            return response
        except BaseException:
            if response is not None:
                response._finish(reuse=False)
            elif holding:
                self._give_back(key)
            raise

    async def _acquire(self, key: str) -> None:
        slots = self._key_slots.get(key)
        if slots is None:
            slots = self._key_slots[key] = asyncio.Semaphore(self._max_per_key)
        await slots.acquire()
        try:
            await self._slots.acquire()
        except BaseException:
            slots.release()
            raise

    def _give_back(self, key: str) -> None:
        self._slots.release()
        self._key_slots[key].release()

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if not conn.closed and now - conn.idle_since < self._expiry:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: Origin, connect_s: float) -> _Connection:
        scheme, host, port = origin
        context = self._context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_s):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"Connecting to {host}:{port} timed out.") from None
        except OSError as exc:
            raise httpx.ConnectError(f"Cannot connect to {host}:{port}: {exc}") from None
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                import certifi

                context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    def _release(self, conn: _Connection, reuse: bool, key: str) -> None:
        self._give_back(key)
        if not reuse or self._closed or self._idle_count >= self._keepalive:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._idle_count += 1

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        self._idle_count = 0
