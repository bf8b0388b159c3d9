"""Soak: N requests, half streaming, at concurrency C through the reference gateway with a fault mix.

Usage: .venv/bin/python bench/soak.py [--requests 10000] [--concurrency 64] [--stream-ratio 0.5]
                                      [--seed 7] [--json reports/soak.json]

The mocks and the gateway each run in their own process (uvloop + httptools, the gateway with the
slow-client guards of `auriko-conformance serve`), on sockets this process binds on 127.0.0.1 port 0
and hands over, so no port is fixed and /proc/<pid> of the gateway measures the gateway alone. This
process is the load: an httpx client with C connections. Every request carries a seeded kind:

    ok, cumulative          a normal answer (usage=cumulative upstream for the second)
    fallback_<fault>        the first provider fails (429, 500, 503, 529, malformed, timeout): answer
    exhausted_<status>      every provider fails: the mapped error status
    deadline                every provider hangs: 504 within deadline_ms
    stall, disconnect       (streams) the upstream stalls or drops mid-stream: one error event
    abort                   (streams) the client goes away after the first chunk: the upstream request
                            must end as `client_closed` in the mock journal
    invalid                 a 400 before any upstream call

and is judged after the run (validation would otherwise slow the load): an answer must be
contract-valid with exactly the requested number of completion tokens, in `usage` and in the text
(a lost or duplicated chunk changes the count); a stream must end with its usage chunk and [DONE] or
with exactly one error event; an error must be a contract-valid envelope with the expected status.
Anything else is counted as lost (no HTTP answer), truncated (a stream that just stops), garbled
(invalid JSON, contract violations, wrong token counts) or unexpected (a valid answer of the wrong kind).
A 504 `upstream_timeout` arriving after the request's own `timeout_ms` is a proper answer even where the
scenario meant another (a saturated machine makes the mocks late): counted as `timeout_under_load`.
The gateway's RSS and open file descriptors are sampled from /proc every 0.25 s.

Exit status 0 when nothing was lost, truncated, garbled or unexpected and every aborted stream's
upstream request was closed; 1 otherwise. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.config import MockConfig
from auriko_conformance.mocks.tokens import count_tokens
from auriko_conformance.reference_impl.config import TEST_API_KEY
from auriko_conformance.suites.sse import parse_sse

from auriko_conformance import contract
from auriko_conformance.embedded import gateway_server
from auriko_conformance.servers import listening_socket, url_of
from bench.load import stop_process

MODELS = ["llama-3.3-70b", "gpt-4o", "claude-haiku-4-5", "gemini-2.0-flash", "deepseek-chat"]
# kind -> (weight, allowed in non-stream, allowed in stream)
KINDS: dict[str, tuple[int, bool, bool]] = {
    "ok": (55, True, True),
    "cumulative": (5, False, True),
    "fallback_429": (3, True, True),
    "fallback_500": (3, True, True),
    "fallback_503": (2, True, True),
    "fallback_529": (2, True, True),
    "fallback_malformed": (2, True, True),
    "fallback_timeout": (2, True, True),
    "exhausted_429": (2, True, True),
    "exhausted_500": (2, True, True),
    "exhausted_503": (2, True, True),
    "exhausted_529": (1, True, True),
    "deadline": (2, True, True),
    "stall": (4, False, True),
    "disconnect": (4, False, True),
    "abort": (4, False, True),
    "invalid": (2, True, True),
}
EXHAUSTED_STATUS = {"429": 429, "500": 502, "503": 503, "529": 503}
FALLBACK_DIRECTIVE = {
    "429": "error=429 retry_after=1",
    "500": "error=500",
    "503": "error=503",
    "529": "error=529",
    "malformed": "malformed",
    "timeout": "timeout",
}


# ------------------------------------------------------------------------------------------------------
# Child processes: the mocks and the gateway on a socket handed over by the parent
# ------------------------------------------------------------------------------------------------------


def _serve(role: str, fd: int, mock_url: str | None) -> None:
    import uvicorn

    if role == "mocks":
        app: Any = create_app(MockConfig(journal_size=200_000))
        # `disconnect_after` ends responses unfinished on purpose; uvicorn would log each one
        options: dict[str, Any] = {"loop": "uvloop", "http": "httptools", "log_level": "critical"}
    else:
        app, served = gateway_server(mock_url or "")  # as the embedded target and `serve` serve it
        options = {**served, "log_level": "warning"}
    options.setdefault("access_log", False)
    server = uvicorn.Server(uvicorn.Config(app, backlog=2048, **options))
    server.run(sockets=[socket.socket(fileno=fd)])


@dataclass
class Child:
    role: str
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        stop_process(self.process)


def spawn(role: str, mock_url: str | None = None, health: str = "/v1/models") -> Child:
    sock = listening_socket(backlog=2048)  # handed to the child: the port is never free to take
    url = url_of(sock)
    args = [sys.executable, __file__, "_serve", role, "--fd", str(sock.fileno())]
    if mock_url:
        args += ["--mock-url", mock_url]
    process = subprocess.Popen(args, pass_fds=(sock.fileno(),))
    sock.close()
    child = Child(role, process, url)
    deadline = time.monotonic() + 30
    while True:
        try:
            request = urllib.request.Request(
                url + health, headers={"authorization": f"Bearer {TEST_API_KEY}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return child
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            child.stop()
            raise RuntimeError(f"{role} did not start")
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------------------
# The plan: one seeded kind per request
# ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Spec:
    index: int
    kind: str
    stream: bool
    body: dict[str, Any]
    words: int
    tag: str


def plan(requests: int, stream_ratio: float, seed: int, run_id: str) -> list[Spec]:
    rng = random.Random(seed)
    specs = []
    for i in range(requests):
        stream = rng.random() < stream_ratio
        kinds = [k for k, (_, plain, streamed) in KINDS.items() if (streamed if stream else plain)]
        kind = rng.choices(kinds, weights=[KINDS[k][0] for k in kinds])[0]
        words = 8 + rng.randrange(17)
        tag = f"{run_id}-{i}"
        model = MODELS[i % len(MODELS)]
        routing: dict[str, Any] = {}
        directives = [f"words={words}"]
        scoped = ""
        if kind == "cumulative":
            directives.append("usage=cumulative")
        elif kind.startswith("fallback_"):
            model = "llama-3.3-70b"  # vllm-b first under cost-focus, vllm healthy behind it
            scoped = f"[[mock: provider=vllm-b {FALLBACK_DIRECTIVE[kind.split('_')[1]]}]]"
            if kind == "fallback_timeout":
                routing = {"timeout_ms": 1000}  # generous: the healthy second attempt gets the same
        elif kind.startswith("exhausted_"):
            model = "llama-3.3-70b"
            directives.append(FALLBACK_DIRECTIVE[kind.split("_")[1]])
        elif kind == "deadline":
            model = "llama-3.3-70b"
            directives.append("timeout")
            routing = {"timeout_ms": 200, "deadline_ms": 450}
        elif kind == "stall":
            directives = ["words=40", "stall_after=5"]
            routing = {"timeout_ms": 1000}
        elif kind == "disconnect":
            directives = ["words=40", "disconnect_after=5"]
        elif kind == "abort":
            model = "gpt-4o"
            directives = ["words=300", "tps=150"]
        text = (
            f"Soak {i}: tell me something [[conformance-id: {tag}]] [[mock: {' '.join(directives)}]] {scoped}"
        )
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
        if kind == "invalid":
            del body["messages"]
        if stream:
            body["stream"] = True
        if routing:
            body["gateway"] = {"routing": routing}
        specs.append(Spec(i, kind, stream, body, words, tag))
    return specs


# ------------------------------------------------------------------------------------------------------
# The load
# ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    spec: Spec
    status: int | None = None
    text: str = ""
    seconds: float = 0.0
    failure: str | None = None  # transport exception: the request is lost
    retry_after: str | None = None


@dataclass
class Samples:
    points: list[tuple[float, int, int, int, int]] = field(
        default_factory=list
    )  # t, done, rss_kb, fds, socks


def proc_usage(pid: int) -> tuple[int, int, int]:
    """(RSS in KiB, open file descriptors, of which sockets) of a process, from /proc."""
    rss = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    fds = os.listdir(f"/proc/{pid}/fd")
    sockets = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                sockets += 1
    return rss, len(fds), sockets


async def _one(client: Any, spec: Spec) -> Result:
    import httpx

    result = Result(spec)
    started = time.monotonic()
    try:
        async with client.stream("POST", "/v1/chat/completions", json=spec.body) as response:
            result.status = response.status_code
            result.retry_after = response.headers.get("retry-after")
            if spec.kind == "abort" and response.status_code == 200:
                async for chunk in response.aiter_bytes():
                    if b'"content"' in chunk:
                        break  # leave with the stream open: the gateway must cancel the upstream
                result.text = "aborted"
            else:
                result.text = (await response.aread()).decode()
    except httpx.HTTPError as exc:
        result.failure = f"{type(exc).__name__}: {exc}"
    result.seconds = time.monotonic() - started
    return result


async def load(
    gateway: Child, specs: list[Spec], concurrency: int, samples: Samples
) -> tuple[list[Result], float]:
    import httpx

    results: list[Result] = []
    pending = iter(specs)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {TEST_API_KEY}"}

    async def sample() -> None:
        while True:
            samples.points.append((time.monotonic(), len(results), *proc_usage(gateway.process.pid)))
            await asyncio.sleep(0.25)

    async with httpx.AsyncClient(base_url=gateway.url, headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for spec in pending:
                results.append(await _one(client, spec))

        sampler = asyncio.ensure_future(sample())
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    await asyncio.sleep(2.0)  # client connections closed: let the gateway settle before the last samples
    for _ in range(4):
        samples.points.append((time.monotonic(), len(results), *proc_usage(gateway.process.pid)))
        await asyncio.sleep(0.25)
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    return results, elapsed


# ------------------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------------------


class Bad(Exception):
    def __init__(self, category: str, detail: str) -> None:
        super().__init__(detail)
        self.category = category


def _check_tokens(spec: Spec, usage: dict[str, Any], text: str) -> None:

    if usage.get("completion_tokens") != spec.words:
        raise Bad("garbled", f"completion_tokens {usage.get('completion_tokens')} != {spec.words}")
    if count_tokens(text) != spec.words:
        raise Bad("garbled", f"the text has {count_tokens(text)} tokens, not {spec.words}: {text[:120]!r}")


def judge(result: Result) -> str:
    """The outcome class of one request; raises Bad for lost/truncated/garbled/unexpected."""
    import orjson

    spec = result.spec
    if result.failure is not None:
        raise Bad("lost", result.failure)
    if spec.kind == "abort":
        if result.status != 200:
            raise Bad("unexpected", f"abort scenario answered {result.status}")
        return "aborted"
    wants_answer = spec.kind in ("ok", "cumulative") or spec.kind.startswith("fallback_")
    wants_event = spec.kind in ("stall", "disconnect")
    if result.status != 200:
        try:
            body = orjson.loads(result.text)
        except orjson.JSONDecodeError:
            raise Bad(
                "garbled", f"HTTP {result.status} with a body that is not JSON: {result.text[:200]!r}"
            ) from None
        if contract.violations(contract.error_schema_for_status(result.status), body):
            raise Bad("garbled", f"HTTP {result.status} envelope breaks the contract: {result.text[:200]}")
        want = {
            "invalid": 400,
            "deadline": 504,
            **{f"exhausted_{k}": v for k, v in EXHAUSTED_STATUS.items()},
        }.get(spec.kind)
        if result.status != want:
            if _timed_out_under_load(result, body):
                return "timeout_under_load"
            raise Bad("unexpected", f"{spec.kind}: HTTP {result.status} {result.text[:200]}")
        if result.status == 429 and not result.retry_after:
            raise Bad("garbled", "429 without Retry-After")
        return "error_status"
    if not spec.stream:
        body = orjson.loads(result.text)
        if contract.violations("ChatCompletion", body):
            raise Bad("garbled", f"completion breaks the contract: {result.text[:200]}")
        if not wants_answer:
            raise Bad("unexpected", f"{spec.kind}: HTTP 200")
        _check_tokens(spec, body["usage"], body["choices"][0]["message"].get("content") or "")
        return "answer"
    transcript = parse_sse(result.text.encode())  # the suites' strict reader: the framing is judged too
    if transcript.framing_errors:
        raise Bad("garbled", f"SSE framing: {'; '.join(transcript.framing_errors)[:200]}")
    if transcript.unterminated is not None:
        raise Bad("truncated", f"the stream stops inside an event: {transcript.unterminated[:120]!r}")
    events = transcript.data
    payloads = []
    for i, data in enumerate(events):
        if data == "[DONE]":
            if i != len(events) - 1:
                raise Bad("garbled", "[DONE] before the end")
            continue
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise Bad("garbled", f"event {i} is not JSON: {data[:120]!r}") from None
        if contract.violations("StreamPayload", payload):
            raise Bad("garbled", f"event {i} breaks the contract: {data[:160]}")
        payloads.append(payload)
    if not payloads:
        raise Bad("truncated", "a 200 stream without events")
    if "error" in payloads[-1]:
        if events[-1] == "[DONE]" or any("error" in p for p in payloads[:-1]):
            raise Bad("garbled", "error event not last, or [DONE] after it")
        if not wants_event:
            raise Bad("unexpected", f"{spec.kind}: error event {payloads[-1]['error']}")
        return "error_event"
    if events[-1] != "[DONE]":
        raise Bad("truncated", f"stream of {len(events)} events ends without [DONE] or an error event")
    final = payloads[-1]
    if final.get("choices") != [] or "usage" not in final or "routing_metadata" not in final:
        raise Bad("truncated", "no usage chunk before [DONE]")
    if not wants_answer:
        raise Bad("unexpected", f"{spec.kind}: complete stream")
    finishes = sum(1 for p in payloads for c in p.get("choices") or () if c.get("finish_reason"))
    if finishes != 1:
        raise Bad("garbled", f"{finishes} finish_reason values")
    text = "".join(c["delta"].get("content") or "" for p in payloads for c in p.get("choices") or ())
    _check_tokens(spec, final["usage"], text)
    return "answer"


def _timed_out_under_load(result: Result, body: dict[str, Any]) -> bool:
    """A 504 `upstream_timeout` after the request's own `timeout_ms` had passed is a proper answer even
    where the scenario expected another (a saturated mock answered late); it is counted on its own."""
    routing = (result.spec.body.get("gateway") or {}).get("routing") or {}
    timeout_ms = routing.get("timeout_ms")
    code = (body.get("error") or {}).get("code")
    return (
        result.status == 504
        and code == "upstream_timeout"
        and bool(timeout_ms)
        and result.seconds * 1000 >= timeout_ms
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def journal(mock: Child, prefix: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(mock.url + "/__mock/journal", timeout=30) as response:
        entries = json.loads(response.read())["entries"]
    return [e for e in entries if (e.get("tag") or "").startswith(prefix)]


def _at(samples: Samples, fraction: float, total: int) -> tuple[int, int, int]:
    for _, done, rss, fds, socks in samples.points:
        if done >= fraction * total:
            return rss, fds, socks
    last = samples.points[-1]
    return last[2], last[3], last[4]


def soak(
    requests: int = 10_000, concurrency: int = 64, stream_ratio: float = 0.5, seed: int = 7
) -> dict[str, Any]:
    """Run the whole soak and return the report (see `main` for the printed form)."""
    run_id = f"soak{seed}x{os.getpid()}"
    specs = plan(requests, stream_ratio, seed, run_id)
    mocks = spawn("mocks", health="/__mock/health")
    try:
        gateway = spawn("gateway", mocks.url)
        try:
            samples = Samples()
            baseline = proc_usage(gateway.process.pid)
            results, elapsed = asyncio.run(load(gateway, specs, concurrency, samples))
            time.sleep(1.0)
            entries = journal(mocks, run_id + "-")
            gateway_alive = gateway.process.poll() is None
        finally:
            gateway.stop()
    finally:
        mocks.stop()

    outcomes: Counter[str] = Counter()
    problems: dict[str, list[str]] = {}
    latencies: dict[str, list[float]] = {}
    for result in results:
        try:
            outcome = judge(result)
        except Bad as bad:
            outcome = bad.category
            problems.setdefault(bad.category, []).append(
                f"#{result.spec.index} {result.spec.kind} {'stream' if result.spec.stream else 'json'} "
                f"after {result.seconds * 1000:.0f} ms: {bad}"
            )
        outcomes[outcome] += 1
        if outcome != "aborted":
            latencies.setdefault("all", []).append(result.seconds)
            if result.spec.kind in ("ok", "cumulative"):
                latencies.setdefault("ok_stream" if result.spec.stream else "ok_json", []).append(
                    result.seconds
                )

    aborted_tags = {r.spec.tag for r in results if r.spec.kind == "abort"}
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_tag.setdefault(entry["tag"], []).append(entry)
    abort_outcomes = Counter(e.get("outcome") for tag in aborted_tags for e in by_tag.get(tag, []))
    open_upstream = sum(1 for e in entries if not e.get("outcome"))

    total = len(specs)
    checkpoints = {f"{int(f * 100)}%": _at(samples, f, total) for f in (0.1, 0.2, 0.4, 0.6, 0.8, 0.95)}
    after = samples.points[-1][2:]
    peak_rss = max(p[2] for p in samples.points)
    peak_fds = max(p[3] for p in samples.points)
    report = {
        "requests": total,
        "concurrency": concurrency,
        "streaming": sum(s.stream for s in specs),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(total / elapsed, 1),
        "kinds": dict(Counter(s.kind for s in specs)),
        "outcomes": dict(outcomes),
        "problems": {k: v[:20] for k, v in problems.items()},
        "latency_ms": {
            name: {
                "p50": round(statistics.median(values) * 1000, 1),
                "p95": round(percentile(values, 0.95) * 1000, 1),
                "p99": round(percentile(values, 0.99) * 1000, 1),
                "max": round(max(values) * 1000, 1),
                "n": len(values),
            }
            for name, values in latencies.items()
        },
        "upstream_requests": len(entries),
        "upstream_left_open": open_upstream,
        "aborted_streams": len(aborted_tags),
        "aborted_upstream_outcomes": dict(abort_outcomes),
        "gateway": {
            "alive_at_end": gateway_alive,
            "before_load": {"rss_kib": baseline[0], "fds": baseline[1], "sockets": baseline[2]},
            "checkpoints": {
                k: {"rss_kib": v[0], "fds": v[1], "sockets": v[2]} for k, v in checkpoints.items()
            },
            "peak": {"rss_kib": peak_rss, "fds": peak_fds},
            "after_load": {"rss_kib": after[0], "fds": after[1], "sockets": after[2]},
        },
    }
    bad = sum(outcomes[k] for k in ("lost", "truncated", "garbled", "unexpected"))
    report["ok"] = (
        bad == 0
        and gateway_alive
        and open_upstream == 0
        and set(abort_outcomes) <= {"client_closed"}
        and sum(abort_outcomes.values()) == len(aborted_tags)
    )
    return report


def render(report: dict[str, Any]) -> str:
    g = report["gateway"]
    lines = [
        f"{report['requests']} requests ({report['streaming']} streaming) at concurrency "
        f"{report['concurrency']}: {report['seconds']} s, {report['requests_per_s']} req/s",
        "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report["outcomes"].items())),
        f"upstream requests {report['upstream_requests']}, left open {report['upstream_left_open']}; "
        f"aborted streams {report['aborted_streams']} -> upstream {report['aborted_upstream_outcomes']}",
    ]
    for name, lat in report["latency_ms"].items():
        lines.append(
            f"latency {name:<10} p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  "
            f"max {lat['max']} ms  (n={lat['n']})"
        )
    lines.append(f"gateway before load: {g['before_load']}")
    for name, point in g["checkpoints"].items():
        lines.append(f"gateway at {name:>4} of requests: {point}")
    lines.append(f"gateway peak: {g['peak']}; after load (clients closed): {g['after_load']}")
    for category, items in report["problems"].items():
        lines.append(f"{category.upper()}: " + "; ".join(items[:5]))
    lines.append("PASS" if report["ok"] else "FAIL")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["_serve"]:
        serve = argparse.ArgumentParser()
        serve.add_argument("role", choices=["mocks", "gateway"])
        serve.add_argument("--fd", type=int, required=True)
        serve.add_argument("--mock-url")
        parsed = serve.parse_args(args[1:])
        _serve(parsed.role, parsed.fd, parsed.mock_url)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stream-ratio", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parsed = parser.parse_args(args)
    report = soak(parsed.requests, parsed.concurrency, parsed.stream_ratio, parsed.seed)
    print(render(report))
    if parsed.json:
        parsed.json.parent.mkdir(parents=True, exist_ok=True)
        parsed.json.write_text(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
