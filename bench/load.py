"""Load generation for the benchmark: a careful latency client, a wrk wrapper, percentile maths.

Two generators, each chosen for what it measures:

- **Latency** (`Conn`, `AsyncConn`): raw HTTP/1.1 keep-alive connections, one pre-built request,
  responses parsed by httptools (the C parser uvicorn uses), time taken with `perf_counter` around the
  write and the end of the response. No HTTP library sits between the clock and the socket, so the
  client's own cost is a few tens of microseconds and the same for every target: differences between
  targets are the targets'. Streams record the time to the first body byte (the first SSE event) and
  to the end of the response.
- **Throughput** (`run_wrk`): `wrk` (C, epoll; Debian package `wrk`), one thread, a Lua script that
  POSTs a body file (`bench/wrk_post.lua`). Its CPU time is recorded so a saturated generator shows.

Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import resource
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools

# A stream event with text in it (`"content":"x`, `"content": "x`; not the empty role-only first chunk)
TOKEN = re.compile(rb'"content":\s*"[^"]')

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_post.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of unsorted values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summarise(values: list[float], digits: int = 3) -> dict[str, Any]:
    """p50/p90/p99/mean/min/max of a sample (same unit as the input) and its size."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), digits),
        "p90": round(rank(0.90), digits),
        "p99": round(rank(0.99), digits),
        "mean": round(sum(ordered) / len(ordered), digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
    }


def median(values: list[float]) -> float:
    """The median (mean of the two middle values for an even count); NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# ------------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadTarget:
    """Where a request goes and how it is authenticated: one of direct, reference, litellm."""

    name: str
    url: str  # base, e.g. http://127.0.0.1:41234
    path: str  # e.g. /v1/chat/completions
    api_key: str
    model: str

    @property
    def host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


def stop_process(process: subprocess.Popen[bytes] | None, grace_s: float = 10.0) -> None:
    """Terminate a child server, kill it if it does not go within `grace_s`; a no-op once it is gone."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace_s)


def request_bytes(target: LoadTarget, body: bytes) -> bytes:
    """One keep-alive HTTP/1.1 POST, ready to write."""
    host, port = target.host_port
    head = (
        f"POST {target.path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {target.api_key}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


@dataclass(slots=True)
class Timing:
    status: int
    first_byte_s: float  # first body byte (a stream's first event) after the request was written
    total_s: float  # end of the response
    body_bytes: int
    first_token_s: float = 0.0  # first event with text (a stream's time to first token)


class _Parse:
    """httptools callbacks for one response at a time."""

    __slots__ = ("body", "done", "first_body_at", "first_token_at", "keep", "parser")

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.reset()

    def reset(self) -> None:
        self.done = False
        self.first_body_at = 0.0
        self.first_token_at = 0.0
        self.body: list[bytes] = []
        self.keep = True

    def on_body(self, data: bytes) -> None:
        if not self.first_token_at:
            now = time.perf_counter()
            if not self.first_body_at:
                self.first_body_at = now
            if TOKEN.search(data):
                self.first_token_at = now
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.done = True
        self.keep = self.parser.should_keep_alive()

    def finish(self, started: float) -> Timing:
        """The complete response's timing; a fresh parser for the next response on the connection
        (httptools keeps no state between messages we rely on). `keep` stays readable."""
        ended = time.perf_counter()
        status = self.parser.get_status_code()
        self.parser = httptools.HttpResponseParser(self)
        first = (self.first_body_at or ended) - started
        token = (self.first_token_at or self.first_body_at or ended) - started
        return Timing(status, first, ended - started, sum(map(len, self.body)), token)


class Conn:
    """A blocking keep-alive connection (the concurrency-1 latency client)."""

    def __init__(self, target: LoadTarget, timeout: float = 60.0) -> None:
        self.target = target
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.state = _Parse()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.target.host_port, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def send(self, data: bytes) -> Timing:
        if self.sock is None:
            self.sock = self._connect()
        state = self.state
        state.reset()
        sock = self.sock
        started = time.perf_counter()
        sock.sendall(data)
        while not state.done:
            block = sock.recv(262144)
            if not block:
                self.close()
                raise ConnectionError(f"{self.target.name} closed the connection mid-response")
            state.parser.feed_data(block)
        timing = state.finish(started)
        if not state.keep:
            self.close()
        return timing

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


class AsyncConn:
    """The same on asyncio streams, for concurrent streams (one connection per worker)."""

    def __init__(self, target: LoadTarget) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.state = _Parse()

    async def send(self, data: bytes) -> Timing:
        if self.writer is None:
            host, port = self.target.host_port
            self.reader, self.writer = await asyncio.open_connection(host, port, limit=1 << 20)
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self.reader is not None
        state = self.state
        state.reset()
        started = time.perf_counter()
        self.writer.write(data)
        while not state.done:
            block = await self.reader.read(262144)
            if not block:
                self.close()
                raise ConnectionError(f"{self.target.name} closed the connection mid-response")
            state.parser.feed_data(block)
        timing = state.finish(started)
        if not state.keep:
            self.close()
        return timing

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


# ------------------------------------------------------------------------------------------------------
# Process accounting (/proc)
# ------------------------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a gateway may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def memory_kib(pid: int) -> dict[str, int]:
    """RSS and peak RSS (VmHWM) in KiB, summed over the process tree."""
    rss = hwm = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
    return {"rss_kib": rss, "peak_rss_kib": hwm}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process tree so far."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{member}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _rusage(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuMeter:
    """CPU used over a phase, in cores (1.0 = one core busy): each named process tree, this process
    (the Python latency client) and waited-for children (wrk)."""

    pids: dict[str, int]
    started: float = 0.0
    before: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self.before["client"] = _rusage(resource.RUSAGE_SELF)
        self.before["wrk"] = _rusage(resource.RUSAGE_CHILDREN)
        self.started = time.monotonic()
        return self

    def read(self) -> dict[str, float]:
        wall = max(time.monotonic() - self.started, 1e-9)
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        now["client"] = _rusage(resource.RUSAGE_SELF)
        now["wrk"] = _rusage(resource.RUSAGE_CHILDREN)
        shares = {name: round((now[name] - self.before[name]) / wall, 2) for name in now}
        return {name: share for name, share in shares.items() if share > 0 or name in self.pids}


# ------------------------------------------------------------------------------------------------------
# wrk
# ------------------------------------------------------------------------------------------------------


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """wrk's text report -> requests, seconds, req/s, errors, latency percentiles (ms)."""
    result: dict[str, Any] = {"errors": 0, "non_2xx": 0, "socket_errors": {}}
    match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if not match:
        raise ValueError("wrk printed no request count:\n" + output)
    result["requests"] = int(match.group(1))
    result["seconds"] = round(_ms(match.group(2) + match.group(3)) / 1000, 3)
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if match:
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, match.groups()), strict=True)
        )
    result["errors"] = result["non_2xx"] + sum(result["socket_errors"].values())
    latency: dict[str, float] = {}
    for pct, value in re.findall(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)$", output, re.MULTILINE):
        latency[f"p{pct}"] = round(_ms(value), 3)
    if latency:
        result["latency_ms"] = latency
    return result


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    target: LoadTarget,
    body_file: Path,
    connections: int,
    seconds: float,
    *,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """One wrk run (one thread, `connections` keep-alive connections) against `target`."""
    exe = wrk_path()
    if exe is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    args = [
        exe,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        target.url + target.path,
        "--",
        str(body_file),
        target.api_key,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    result = parse_wrk(proc.stdout)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["generator_cpu"] = round(cpu / max(result["seconds"], 1e-9), 2)  # cores used by wrk
    return result
