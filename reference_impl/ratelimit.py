"""Per-key request rate limits (contract sections 6 and 13): one token bucket per API key.

A bucket holds up to `requests_per_minute` tokens and refills continuously at that rate; each chat
completion takes one. Over the limit: 429 `rate_limit_exceeded` with `Retry-After` (seconds until one
token is back) and `X-Rate-Limit-Source: auriko` (D-030). Every chat completion response, success or
error, carries `X-RateLimit-Limit-Requests` (the key's per-minute limit), `X-RateLimit-Remaining-Requests`
and `X-RateLimit-Reset-Requests` (ISO 8601 UTC: when the bucket is full again) -- D-049.

Cost on the hot path: one dict lookup and a handful of float operations; the reset timestamp is
formatted once per second at most. No lock: buckets are created up front (one per configured key) and
`take()` never awaits, so the event loop runs it atomically.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from auriko_conformance.reference_impl.config import RateLimits

Header = tuple[bytes, bytes]


@dataclass(slots=True)
class Bucket:
    capacity: float
    per_second: float
    tokens: float
    updated: float
    limit_header: Header


class RateLimiter:
    """Token buckets for the configured keys; `take(key)` -> (headers, retry_after or None)."""

    def __init__(
        self,
        limits: RateLimits,
        keys: Iterable[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.wall = wall
        now = clock()
        self.buckets: dict[str, Bucket] = {}
        for key in keys:
            rpm = limits.for_key(key)
            self.buckets[key] = Bucket(
                float(rpm), rpm / 60.0, float(rpm), now, (b"x-ratelimit-limit-requests", str(rpm).encode())
            )
        self._reset_second = -1
        self._reset_value = b""

    def requests_per_minute(self, key: str) -> int:
        return int(self.buckets[key].capacity)

    def take(self, key: str) -> tuple[list[Header], str | None]:
        """Spend one request of `key`: the X-RateLimit-* headers, and `Retry-After` when refused."""
        bucket = self.buckets[key]
        now = self.clock()
        tokens = min(bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.per_second)
        bucket.updated = now
        retry_after = None
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            retry_after = str(max(1, math.ceil((1.0 - tokens) / bucket.per_second)))
        bucket.tokens = tokens
        full_in = (bucket.capacity - tokens) / bucket.per_second
        headers = [
            bucket.limit_header,
            (b"x-ratelimit-remaining-requests", str(int(tokens)).encode()),
            (b"x-ratelimit-reset-requests", self._timestamp(self.wall() + full_in)),
        ]
        return headers, retry_after

    def _timestamp(self, when: float) -> bytes:
        second = math.ceil(when)
        if second != self._reset_second:
            moment = dt.datetime.fromtimestamp(second, dt.UTC)
            self._reset_second = second
            self._reset_value = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        return self._reset_value
