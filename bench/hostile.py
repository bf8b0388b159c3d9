"""Issue 19's adversarial figures, re-measured: what one hostile client costs the gateway and the mocks.

Usage: .venv/bin/python -m bench.hostile [--json reports/hostile.json] [--bodies-only]

The mocks and the gateway run in their own processes (`bench.soak.spawn`: uvloop + httptools, the
gateway exactly as `auriko-conformance serve`); this process is the hostile client. For each figure of
the issue it prints what the gateway (or the mocks) does now:

- bodies up to 4 MiB that fail validation or hold many keys and values: the CPU of each step the
  gateway runs without a pause (count, parse, validate; in this process), the longest event-loop step
  while a gateway in this process answers it (asyncio debug mode), the answer's wall time over sockets, the
  gateway's CPU time for it (/proc/<pid>/stat, 10 ms ticks), and the slowest `GET /v1/models` sent
  meanwhile, one after another (`--bodies-only` stops there);
- 520 clients that leave after 1 s while their upstream hangs, then a request to another provider: how
  long it waits, and how the 520 upstream requests ended (mock journal);
- a 100 MB chunked trailer: how much was sent before the gateway closed, and its RSS before and after;
- the mocks: a prompt of unclosed markers (wall time), and 100 prompts of 3 MB (the mocks' RSS).

Figures go to docs/reliability.md by hand; no goal is asserted here (the tests assert hang guards only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import re
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import TEST_API_KEY, default_config
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.validation import check_structure, parse_body, validate_chat_request

from bench.soak import Child, spawn

AUTH = {"authorization": f"Bearer {TEST_API_KEY}"}
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def _bad_parts(messages: int, parts: int) -> dict[str, Any]:
    part = {"type": "text", "text": "hi"}
    body = [_user([part] * parts) for _ in range(messages - 1)]
    body.append(_user([part] * (parts - 1) + [{"type": "text", "text": 5}]))
    return {"model": "gpt-4o", "messages": body}


BODIES: dict[str, dict[str, Any]] = {
    "20,000 empty messages": {"model": "gpt-4o", "messages": [_user("")] * 20_000},
    "100,000 messages": {"model": "gpt-4o", "messages": [_user("")] * 100_000},
    "2,048 x 40 parts, last part wrong": _bad_parts(2048, 40),
    "1 message x 100,000 parts, last wrong": _bad_parts(1, 100_000),
    "1,000,000 wrong gateway.models": {"gateway": {"models": [1] * 1_000_000}, "messages": [_user("x")]},
    "300,000 bad logit_bias values": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        "logit_bias": {f"x{i}": "a" for i in range(300_000)},
    },
    "1,300,000 empty arrays": {"model": "gpt-4o", "messages": [_user("x")], "metadata": [[]] * 1_300_000},
    "200,000 unknown fields (valid)": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        **{f"f{i}": 0 for i in range(200_000)},
    },
    "300,000 logit_bias keys (valid values)": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        "logit_bias": {str(i): 1 for i in range(300_000)},
    },
    "800,000 short strings": {"model": "gpt-4o", "messages": [_user("x")], "stop": ["ab"] * 800_000},
    # the most work the value limit (D-141) admits, in the shapes that cost the most per value
    "49,900 tool parameters (valid)": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "t",
                    "parameters": {
                        "type": "object",
                        "properties": {f"{i:030d}": True for i in range(49_900)},
                    },
                },
            }
        ],
    },
    "49,990 logit_bias keys, last wrong": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        "logit_bias": {**{str(i): 1 for i in range(49_989)}, "x": 1},
    },
    "99,900 short strings in an enum (valid)": {
        "model": "gpt-4o",
        "messages": [_user("x")],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "string", "enum": ["ab"] * 99_900}},
        },
    },
    "2,048 x 8 parts, last part wrong": _bad_parts(2048, 8),
    "4 MB of prose full of [{:,": {"model": "gpt-4o", "messages": [_user("a, [b], {c}: " * 300_000)]},
}


def _step_ms(step: Any, repeat: int) -> tuple[float, Any]:
    """Best of `repeat` CPU times of `step()` in ms, and its last result (or the GatewayError it raised)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        try:
            result = step()
        except GatewayError as error:
            result = error
        best = min(best, time.process_time() - started)
    return best * 1000, result


def cpu_per_body(repeat: int = 5) -> list[dict[str, Any]]:
    """The gateway's CPU for each body, measured in this process (best of `repeat`, `time.process_time`)
    for each step the event loop runs without a pause: counting (`check_structure`), parsing
    (`parse_body`) and validating (`validate_chat_request`, on a fresh parse each time: it changes the
    body). A step that refused the body ends the row."""
    rows = []
    for name, body in BODIES.items():
        raw = orjson.dumps(body)
        row: dict[str, Any] = {"case": name, "bytes": len(raw)}
        count_ms, refused = _step_ms(lambda raw=raw: check_structure(raw), repeat)
        row["count_ms"] = count_ms
        if not isinstance(refused, GatewayError):
            row["parse_ms"], refused = _step_ms(lambda raw=raw: parse_body(raw), repeat)
        if not isinstance(refused, GatewayError):
            bodies = [parse_body(raw) for _ in range(repeat)]
            row["validate_ms"], refused = _step_ms(
                lambda bodies=bodies: validate_chat_request(bodies.pop()), repeat
            )
        row["answer"] = refused.message if isinstance(refused, GatewayError) else "valid"
        rows.append(row)
    return rows


class _SlowSteps(logging.Handler):
    """Collects asyncio debug mode's "Executing <Task ...> took N seconds" records: the loop's long steps."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"took ([0-9.]+) seconds", record.getMessage())
        if found:
            self.steps.append(float(found.group(1)))


async def loop_steps(mock: Child, repeat: int = 3) -> list[dict[str, Any]]:
    """The longest single step of the event loop while the gateway answers each body: how long any
    concurrent request could have waited, whatever the OS scheduler did (asyncio debug mode reports
    steps over 5 ms; the gateway runs in this process behind `httpx.ASGITransport`, the mocks in their
    own). Best of `repeat`."""
    gateway = create_app(default_config(mock.url))
    handler = _SlowSteps()
    log = logging.getLogger("asyncio")
    log.addHandler(handler)
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.005
    rows = []
    try:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://g", headers=AUTH, timeout=120
        ) as c:
            for name, body in BODIES.items():
                raw = orjson.dumps(body)
                longest = float("inf")
                for _ in range(repeat):
                    await asyncio.sleep(0)  # a step boundary: what is logged from here is this request's
                    handler.steps.clear()
                    response = await c.post("/v1/chat/completions", content=raw)
                    await asyncio.sleep(
                        0
                    )  # ends the step that answered (a refusal needs no other), logging it
                    longest = min(longest, max(handler.steps, default=0.0))
                rows.append({"case": name, "status": response.status_code, "longest_step_ms": longest * 1000})
    finally:
        loop.set_debug(False)
        log.removeHandler(handler)
        await gateway.upstream.aclose()
    return rows


def _probe(url: str, stop: Any, out: Any) -> None:
    """`GET /v1/models` one after another until `stop` is set, each latency put on `out`. Runs in its
    own process: in the hostile client's process it would share the GIL with megabytes being sent."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/v1/models")
            out.put(time.perf_counter() - started)


async def validation(gateway: Child) -> list[dict[str, Any]]:
    rows = []
    async with httpx.AsyncClient(base_url=gateway.url, headers=AUTH, timeout=120) as client:
        baseline = []
        for _ in range(50):
            started = time.perf_counter()
            await client.get("/v1/models")
            baseline.append(time.perf_counter() - started)
        rows.append({"case": "baseline GET /v1/models p50", "models_ms": statistics.median(baseline) * 1000})
        async with httpx.AsyncClient(base_url=gateway.url, headers=AUTH, timeout=120) as heavy:
            for name, body in BODIES.items():
                raw = orjson.dumps(body)
                stop, out = multiprocessing.Event(), multiprocessing.Queue()
                probe = multiprocessing.Process(target=_probe, args=(gateway.url, stop, out))
                probe.start()
                await asyncio.sleep(1.0)
                while not out.empty():  # the probe's warm-up
                    out.get()
                cpu_before = cpu_s(gateway.process.pid)
                started = time.perf_counter()
                response = await heavy.post("/v1/chat/completions", content=raw)
                wall = time.perf_counter() - started
                cpu = cpu_s(gateway.process.pid) - cpu_before
                stop.set()
                probe.join()
                latencies = []
                while not out.empty():
                    latencies.append(out.get())
                rows.append(
                    {
                        "case": name,
                        "bytes": len(raw),
                        "status": response.status_code,
                        "code": (response.json().get("error") or {}).get("code")
                        if response.status_code >= 400
                        else None,
                        "wall_ms": wall * 1000,
                        "gateway_cpu_ms": cpu * 1000,
                        "models_p50_ms": statistics.median(latencies) * 1000,
                        "models_max_ms": max(latencies, default=0) * 1000,
                        "models_count": len(latencies),
                    }
                )
    return rows


async def abandoned(gateway: Child, mock: Child, clients: int = 520) -> dict[str, Any]:
    tag = f"hostile-{os.getpid()}-{time.time_ns()}"
    body = {"model": "gpt-4o", "messages": [_user(f"x [[conformance-id: {tag}]] [[mock: timeout]]")]}
    limits = httpx.Limits(max_connections=clients + 10)
    async with httpx.AsyncClient(base_url=gateway.url, headers=AUTH, timeout=1.0, limits=limits) as leaving:

        async def leave() -> None:
            with contextlib.suppress(httpx.TimeoutException):
                await leaving.post("/v1/chat/completions", json=body)

        await asyncio.gather(*(leave() for _ in range(clients)))
    async with httpx.AsyncClient(base_url=gateway.url, headers=AUTH, timeout=120) as client:
        started = time.perf_counter()
        other = await client.post(
            "/v1/chat/completions", json={"model": "claude-haiku-4-5", "messages": [_user("hi")]}
        )
        waited = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=mock.url, timeout=30) as control:
        await asyncio.sleep(2)
        entries = (await control.get("/__mock/journal", params={"tag": tag})).json()["entries"]
    outcomes: dict[str, int] = {}
    for entry in entries:
        outcomes[str(entry["outcome"])] = outcomes.get(str(entry["outcome"]), 0) + 1
    return {
        "clients": clients,
        "other_provider_status": other.status_code,
        "other_provider_wait_ms": waited * 1000,
        "upstream_requests": len(entries),
        "outcomes": outcomes,
    }


def trailer(gateway: Child, size: int = 100 * MIB) -> dict[str, Any]:
    host, port = gateway.url.removeprefix("http://").split(":")
    before = rss_mib(gateway.process.pid)
    body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer "
        + TEST_API_KEY.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\nX-T: " % (len(body), body)
    )
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        piece = b"a" * MIB
        try:
            while sent < size:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
    time.sleep(0.5)
    return {
        "trailer_bytes_sent_before_close": sent,
        "rss_before_mib": before,
        "rss_after_mib": rss_mib(gateway.process.pid),
    }


async def mock_figures(mock: Child) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    headers = {"authorization": "Bearer sk-test"}
    async with httpx.AsyncClient(base_url=mock.url, headers=headers, timeout=120) as client:
        warm = {"model": "gpt-4o-2024-08-06", "messages": [_user("warm up")]}
        await client.post("/openai/v1/chat/completions", json=warm)
        for name, text in {
            "[[conformance-id:a x 5000": "[[conformance-id:a" * 5000,
            "[[mock x 12000": "[[mock" * 12_000,
        }.items():
            body = {"model": "gpt-4o-2024-08-06", "messages": [_user(text)]}
            started = time.perf_counter()
            response = await client.post("/openai/v1/chat/completions", json=body)
            figures[name] = {
                "status": response.status_code,
                "wall_ms": (time.perf_counter() - started) * 1000,
            }
        before = rss_mib(mock.process.pid)
        prompt = {"model": "gpt-4o-2024-08-06", "messages": [_user("word " * 600_000)]}
        raw = orjson.dumps(prompt)
        for _ in range(100):
            await client.post(
                "/openai/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
            )
        figures["100 prompts of 3 MB"] = {
            "rss_before_mib": before,
            "rss_after_mib": rss_mib(mock.process.pid),
        }
    return figures


async def main_async(out: Path | None, bodies_only: bool = False) -> None:
    mock = spawn("mocks", health="/__mock/health")
    try:
        gateway = spawn("gateway", mock.url)
        try:
            report: dict[str, Any] = {
                "cpu_per_body": cpu_per_body(),
                "loop_steps": await loop_steps(mock),
                "validation": await validation(gateway),
            }
            if not bodies_only:
                report["abandoned"] = await abandoned(gateway, mock)
                report["trailer"] = trailer(gateway)
                report["mocks"] = await mock_figures(mock)
        finally:
            gateway.stop()
    finally:
        mock.stop()
    print(json.dumps(report, indent=2))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--bodies-only", action="store_true", help="only the bodies (CPU and concurrency)")
    args = parser.parse_args()
    asyncio.run(main_async(args.json, args.bodies_only))


if __name__ == "__main__":
    main()
