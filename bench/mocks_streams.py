"""Pacing under load: N concurrent streams from one mock process keep their configured tokens/second.

Usage: .venv/bin/python bench/mocks_streams.py [--streams 200] [--tps 20] [--words 60] [--flavour openai]

Starts the mocks in a separate process on a loopback socket handed over to it (`bench.soak.spawn`),
sets the instance's tps through the control API, opens N raw HTTP/1.1 connections at once (a minimal
asyncio client, so the measuring side stays cheaper than the server), timestamps every SSE event, and
reports each stream's measured rate: words / (time from the first event to the last). The goal: every
stream within 10% of the configured tps. Bounded: one round of N streams, then the server is stopped.
Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import urllib.request

from bench.soak import spawn

PATHS = {
    "openai": "/openai/v1/chat/completions",
    "anthropic": "/anthropic/v1/messages",
    "gemini": "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
}


def request_bytes(flavour: str, port: int, words: int, i: int) -> bytes:
    text = f"stream {i} [[mock: words={words}]]"
    if flavour == "anthropic":
        body = {
            "model": "claude-haiku-4-5",
            "max_tokens": 4096,
            "stream": True,
            "messages": [{"role": "user", "content": text}],
        }
        auth = "x-api-key: sk-bench\r\nanthropic-version: 2023-06-01\r\n"
    elif flavour == "gemini":
        body = {"contents": [{"parts": [{"text": text}]}]}
        auth = "x-goog-api-key: sk-bench\r\n"
    else:
        body = {"model": "gpt-4o-2024-08-06", "stream": True, "messages": [{"role": "user", "content": text}]}
        auth = "authorization: Bearer sk-bench\r\n"
    payload = json.dumps(body).encode()
    head = (
        f"POST {PATHS[flavour]} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"{auth}content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + payload


async def one_stream(port: int, data: bytes) -> list[float]:
    """Arrival times of every `data:` event of one stream."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    times: list[float] = []
    tail = b""
    while True:
        block = await reader.read(65536)
        if not block:
            break
        now = time.monotonic()
        window = tail + block
        times.extend(now for _ in range(window.count(b"data: ")))
        tail = window[-5:] if not window.endswith(b"data: ") else b""
    writer.close()
    return times


async def run(args: argparse.Namespace, port: int) -> list[float]:
    payloads = [request_bytes(args.flavour, port, args.words, i) for i in range(args.streams)]
    results = await asyncio.gather(*(one_stream(port, p) for p in payloads))
    rates = []
    for times in results:
        if len(times) >= 2 and times[-1] > times[0]:
            rates.append(args.words / (times[-1] - times[0]))
        else:
            rates.append(0.0)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tps", type=float, default=20.0)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--flavour", choices=sorted(PATHS), default="openai")
    args = parser.parse_args()
    mocks = spawn("mocks", health="/__mock/health")  # its own process, on a socket handed over
    try:
        base = mocks.url
        port = int(base.rsplit(":", 1)[1])
        name = args.flavour
        request = urllib.request.Request(
            base + f"/__mock/providers/{name}",
            method="PATCH",
            data=json.dumps({"tps": args.tps, "ttft_ms": 100}).encode(),
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5)
        started = time.monotonic()
        rates = asyncio.run(run(args, port))
        elapsed = time.monotonic() - started
    finally:
        mocks.stop()
    within = sum(1 for r in rates if abs(r - args.tps) <= 0.1 * args.tps)
    rates_sorted = sorted(rates)
    print(f"{args.streams} concurrent {args.flavour} streams, {args.words} tokens each, tps {args.tps:g}")
    print(f"wall time {elapsed:.2f}s (ideal {0.1 + args.words / args.tps:.2f}s)")
    print(
        f"measured tps: mean {statistics.mean(rates):.2f}  min {rates_sorted[0]:.2f}  "
        f"p5 {rates_sorted[len(rates) // 20]:.2f}  median {statistics.median(rates):.2f}  "
        f"max {rates_sorted[-1]:.2f}"
    )
    print(f"within 10% of {args.tps:g}: {within}/{len(rates)}")
    return 0 if within == len(rates) else 1


if __name__ == "__main__":
    raise SystemExit(main())
