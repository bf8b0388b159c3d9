"""Latency and throughput simulation: time to first token, then tokens at a steady rate.

Delays are scheduled against absolute deadlines on the event loop clock, so a busy loop or a late
wake-up does not accumulate drift: hundreds of concurrent streams keep their configured tokens per
second. Everything is an `asyncio.sleep`; there is no thread per stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Pacer:
    """One response's clock. `jitter` returns seeded noise in seconds for a given jitter in ms."""

    __slots__ = ("_deadline", "_interval", "_jitter", "_jitter_ms", "_loop", "_ttft")

    def __init__(
        self, ttft_ms: float, tps: float, jitter_ms: float, jitter: Callable[[float], float]
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._ttft = ttft_ms / 1000.0
        self._interval = 1.0 / tps if tps > 0 else 0.0
        self._jitter_ms = jitter_ms
        self._jitter = jitter
        self._deadline = self._loop.time()

    @property
    def idle(self) -> bool:
        """True when nothing needs to wait (no TTFT, no pacing, no jitter)."""
        return self._ttft <= 0 and self._interval <= 0 and self._jitter_ms <= 0

    def duration(self, tokens: int) -> float:
        """Seconds a non-stream response of `tokens` tokens takes: TTFT plus generation time."""
        return max(0.0, self._ttft + self._jitter(self._jitter_ms)) + tokens * self._interval

    async def first_byte(self) -> None:
        """Wait the time to first token."""
        self._deadline = self._loop.time() + max(0.0, self._ttft + self._jitter(self._jitter_ms))
        await self._sleep_until_deadline()

    async def tokens(self, count: int) -> None:
        """Wait for `count` more tokens to be generated."""
        if count <= 0 or (self._interval <= 0 and self._jitter_ms <= 0):
            return
        step = count * self._interval
        if self._jitter_ms > 0:
            step = max(0.0, step + self._jitter(self._jitter_ms))
        self._deadline += step
        await self._sleep_until_deadline()

    async def _sleep_until_deadline(self) -> None:
        delay = self._deadline - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
