"""Upstream clients side by side: `reference_impl.http1.Pool` against aiohttp and httpx.

The same non-stream POST to the mock OpenAI endpoint, 3,000 requests at concurrency 1 and 16, each
client twice (interleaved), the run with the least CPU kept. It answers "why not a library" for the
gateway's own HTTP/1.1 client (docs/performance.md). aiohttp is not a dependency:

    .venv/bin/pip install --target /tmp/ahlib aiohttp
    PYTHONPATH=/tmp/ahlib .venv/bin/python bench/clients/compare.py

The mock runs in this process (a thread), so "CPU per request" includes the mock's share: compare the
rows, not the absolute values.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import orjson
import uvloop
from auriko_conformance.mocks.app import create_app
from auriko_conformance.reference_impl.http1 import Pool

from auriko_conformance.servers import serving

BODY = orjson.dumps({"model": "gpt-4o-mini-2024-07-18", "messages": [{"role": "user", "content": "hi"}]})
HEADERS = {"authorization": "Bearer sk-bench", "content-type": "application/json"}
REQUESTS = 3_000
WARM_UP = 200

Send = Callable[[], Awaitable[None]]
Row = tuple[float, float, float]  # p50 ms, req/s, CPU us per request


async def _measure(send: Send, concurrency: int) -> Row:
    for _ in range(WARM_UP):
        await send()
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(REQUESTS // concurrency) for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return statistics.median(latencies) * 1000, REQUESTS / wall, cpu / REQUESTS * 1e6


async def compare(url: str, concurrency: int) -> dict[str, Row]:
    pool = Pool(100, 100, 30.0)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100))

    async def with_http1() -> None:
        response = await pool.request(url, HEADERS, BODY, connect_s=5, read_s=30, stream=False)
        assert response.status_code == 200

    async def with_aiohttp() -> None:
        async with session.post(url, data=BODY, headers=HEADERS) as response:
            await response.read()
            assert response.status == 200

    async def with_httpx() -> None:
        response = await client.post(url, content=BODY, headers=HEADERS)
        assert response.status_code == 200

    rows: dict[str, list[Row]] = {}
    try:
        for name, send in (("http1", with_http1), ("aiohttp", with_aiohttp), ("httpx", with_httpx)) * 2:
            rows.setdefault(name, []).append(await _measure(send, concurrency))
    finally:
        await session.close()
        await client.aclose()
        await pool.aclose()
    return {name: min(runs, key=lambda row: row[2]) for name, runs in rows.items()}


def main() -> None:
    with serving(create_app()) as mock:
        url = f"{mock.url}/openai/v1/chat/completions"
        for concurrency in (1, 16):
            for name, (p50, rate, cpu) in uvloop.run(compare(url, concurrency)).items():
                print(f"c{concurrency} {name:8} p50 {p50:.3f} ms  {rate:.0f} req/s  CPU {cpu:.0f} us/req")


if __name__ == "__main__":
    main()
