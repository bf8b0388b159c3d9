"""The one HTTP client to every provider: pooled keep-alive connections, per-attempt timeouts.

A single `httpx.AsyncClient` per event loop (connection pools are bound to a loop; tests run one loop
per test, the server one for its life). `transport` lets tests put the mock app in-process
(`httpx.ASGITransport`) instead of a socket.
"""

from __future__ import annotations

import asyncio

import httpx

from reference_impl.adapters.base import UpstreamCall
from reference_impl.config import Timeouts


class Upstream:
    def __init__(self, timeouts: Timeouts, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.timeouts = timeouts
        self.transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            limits = httpx.Limits(
                max_connections=self.timeouts.max_connections,
                max_keepalive_connections=self.timeouts.keepalive_connections,
                keepalive_expiry=30.0,
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

    async def send(self, call: UpstreamCall, timeout_s: float, stream: bool = False) -> httpx.Response:
        """Send one attempt; the whole answer (or, streaming, its headers) must arrive within `timeout_s`."""
        request = self.request(call, timeout_s)
        async with asyncio.timeout(timeout_s):
            response = await self.client.send(request, stream=stream)
            if not stream:
                await response.aread()
        return response

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
