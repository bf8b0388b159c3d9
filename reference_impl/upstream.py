"""The one HTTP client to every provider: pooled keep-alive connections, per-attempt timeouts.

Over sockets the lean HTTP/1.1 client in `http1.py` carries every call (httpx's per-request overhead
was most of the gateway's CPU time: docs/performance.md). httpx stays for what that client does not
do: a `transport` (tests put the mock app in-process with `httpx.ASGITransport`) and proxies from the
environment (HTTP(S)_PROXY, ALL_PROXY). Either way one pool per event loop (pools are bound to a loop;
tests run one loop per test, the server one for its life).
"""

from __future__ import annotations

import asyncio
import urllib.request

import httpx
from auriko_conformance.reference_impl.adapters.base import UpstreamCall
from auriko_conformance.reference_impl.config import Timeouts
from auriko_conformance.reference_impl.http1 import Pool, UpstreamResponse

KEEPALIVE_EXPIRY_S = 30.0


def _proxies_configured() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class UpstreamClient:
    def __init__(self, timeouts: Timeouts, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.timeouts = timeouts
        self.transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.fast = transport is None and not _proxies_configured()  # http1.Pool, not httpx
        self._pool: Pool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None

    @property
    def pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            self._pool = Pool(
                self.timeouts.max_connections,
                self.timeouts.keepalive_connections,
                KEEPALIVE_EXPIRY_S,
                self.timeouts.max_connections_per_provider,
            )
            self._pool_loop = loop
        return self._pool

    @property
    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            limits = httpx.Limits(
                max_connections=self.timeouts.max_connections,
                max_keepalive_connections=self.timeouts.keepalive_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            )
            self._client = httpx.AsyncClient(
                transport=self.transport,
                limits=limits,
                timeout=httpx.Timeout(
                    self.timeouts.attempt_ms / 1000, connect=self.timeouts.connect_ms / 1000
                ),
                follow_redirects=False,
            )
            self._loop = loop
        return self._client

    def request(self, call: UpstreamCall, timeout_s: float) -> httpx.Request:
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, self.timeouts.connect_ms / 1000))
        return self.client.build_request(
            "POST",
            call.url,
            headers=call.headers,
            content=call.body,
            extensions={"timeout": timeout.as_dict()},
        )

    async def send(
        self, call: UpstreamCall, timeout_s: float, stream: bool = False, provider: str = ""
    ) -> httpx.Response | UpstreamResponse:
        """Send one attempt; the whole answer (or, streaming, its headers) must arrive within `timeout_s`.
        A stream's later reads may each wait up to `timeout_s` (the longest silence tolerated). At most
        `max_connections_per_provider` attempts to one `provider` are in flight; a wait for a slot
        counts against `timeout_s` (a saturated provider times out and the plan falls back)."""
        if self.fast:
            connect_s = min(timeout_s, self.timeouts.connect_ms / 1000)
            async with asyncio.timeout(timeout_s):
                return await self.pool.request(
                    call.url,
                    call.headers,
                    call.body,
                    connect_s=connect_s,
                    read_s=timeout_s,
                    stream=stream,
                    key=provider,
                )
        request = self.request(call, timeout_s)
        async with asyncio.timeout(timeout_s):
            response = await self.client.send(request, stream=stream)
            if not stream:
                await response.aread()
        return response

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.aclose()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
