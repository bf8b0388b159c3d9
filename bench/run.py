"""`auriko-conformance bench` / `make bench`: the reference gateway against a direct mock call and LiteLLM.

One run, on one machine, on the same mocks:

    mocks      one process (uvloop + httptools), the upstream of every target
    reference  one process, as `auriko-conformance serve` runs it, pointed at the mocks
    litellm    LiteLLM's proxy from .venv-litellm (bench/litellm/config.yaml), when that venv exists

Each server is its own process, started on a socket handed over by this process (bench/soak.py's
helpers), and this process is only the load. Measured, with the targets interleaved so that drift and
other load on the machine hit them alike:

    latency     non-stream, concurrency 1, p50/p90/p99 (the Python raw-socket client, bench/load.py),
                round-robin one request per target; the added latency of each gateway over direct
    throughput  requests/s and errors at concurrency 16 and 64 (wrk), repeated, medians reported
    streams     time to the first event and total time at concurrency 1 and 16, the mock at a fixed
                speed (`[[mock: ttft_ms tps words]]` in the prompt)
    memory      peak RSS (VmHWM) of each gateway; RSS every 10% of N requests at concurrency 16 (flat?)
    mocks       one mock process's capacity: the direct target's throughput
    suites      wall time of `auriko-conformance run` and of the CI fuzz run (docs/fuzzing.md)

Outputs (default `reports/bench/`): `bench.json` (every figure, the machine and the command),
`bench.md` (the table with ratios), `bench.png` (latency distributions and throughput; needs
matplotlib, which `make bench` installs). `--write-docs` puts the table into docs/performance.md.
Only 127.0.0.1 is used; every loop is bounded in count or time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auriko_conformance.reference_impl.config import TEST_API_KEY

from auriko_conformance.servers import unused_port
from bench import load, plot, soak
from bench.load import LoadTarget, Timing

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VENV = ROOT / ".venv-litellm"
LITELLM_CONFIG = ROOT / "bench" / "litellm" / "config.yaml"
LITELLM_KEY = "ak_test_litellm"
DOCS = ROOT / "docs" / "performance.md"
DOCS_START = "<!-- bench:start -->"
DOCS_END = "<!-- bench:end -->"
GATEWAYS = ("reference", "litellm")

# What every target is asked: the same conversation, to the same mock model (OpenAI flavour).
PROMPT = "Tell me about rivers and the sea [[conformance-id: bench]]"
MOCK_MODEL = "gpt-4o-2024-08-06"
GATEWAY_MODEL = "gpt-4o"


def body(target: LoadTarget, *, stream: bool = False, directive: str = "") -> bytes:
    messages = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": f"{PROMPT} {directive}".strip()},
    ]
    payload: dict[str, Any] = {"model": target.model, "messages": messages}
    if stream:
        payload["stream"] = True
    return json.dumps(payload, separators=(",", ":")).encode()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------------
# Settings
# ------------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    latency_rounds: int = 1000  # per target, interleaved
    warmup: int = 300  # requests per target before anything is measured
    throughput_seconds: float = 5.0
    concurrencies: tuple[int, ...] = (16, 64)
    repeats: int = 3
    streams_c1: int = 60
    streams_c16: int = 160
    stream_ttft_ms: int = 20
    stream_tps: int = 500
    stream_words: int = 50
    leak_requests: int = 100_000  # the reference
    leak_requests_litellm: int = 10_000  # LiteLLM serves ~1% of the reference's rate: --long for 100k
    suites: bool = True
    litellm: bool = True
    out: Path = ROOT / "reports" / "bench"

    @classmethod
    def quick(cls) -> Settings:
        """A few seconds per phase: to check the harness, not to publish."""
        return cls(
            latency_rounds=100,
            warmup=50,
            throughput_seconds=2.0,
            repeats=1,
            streams_c1=10,
            streams_c16=32,
            leak_requests=2_000,
            leak_requests_litellm=500,
            suites=False,
        )


# ------------------------------------------------------------------------------------------------------
# Servers
# ------------------------------------------------------------------------------------------------------


def _soak() -> Any:

    return soak


class LiteLLM:
    """LiteLLM's proxy (bench/litellm/config.yaml, as `make conformance-litellm` runs it) on our mocks.

    It sometimes dies with a segfault (docs/litellm.md): `ensure()` restarts it and counts the crash.
    """

    def __init__(self, mock_url: str, work: Path) -> None:
        self.mock_url = mock_url
        self.work = work.resolve()  # the proxy runs with this as its working directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.crashes = 0
        self.start_seconds: list[float] = []

    @staticmethod
    def available() -> bool:
        return (LITELLM_VENV / "bin" / "litellm").exists()

    @staticmethod
    def version() -> str | None:
        try:
            out = subprocess.run(
                [
                    str(LITELLM_VENV / "bin" / "python"),
                    "-c",
                    "import importlib.metadata as m; print(m.version('litellm'))",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    def start(self, attempts: int = 3) -> None:
        """Start the proxy on a port it binds itself; another port when that one was taken meanwhile."""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(unused_port())
                return
            except PortTaken:
                log(f"LiteLLM's port was taken before it bound it (attempt {attempt}); another port")
        raise RuntimeError(f"LiteLLM found no free port in {attempts} attempts")

    def _start_once(self, port: int) -> None:
        config = self.work / "litellm-config.yaml"
        config.write_text(LITELLM_CONFIG.read_text().replace("__MOCK_URL__", self.mock_url))
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no network: the bundled cost map
        logfile = (self.work / "litellm.log").open("ab")
        written_before = logfile.tell()  # the log is appended to: this start's lines come after
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                str(LITELLM_VENV / "bin" / "litellm"),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.work,
        )
        logfile.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with (self.work / "litellm.log").open("rb") as lines:
                    lines.seek(written_before)
                    if _ADDRESS_IN_USE in lines.read().decode(errors="replace").lower():
                        raise PortTaken(port)
                raise RuntimeError(f"LiteLLM exited during start-up; see {self.work / 'litellm.log'}")
            if _healthy(self.url + "/health/liveliness"):
                self.start_seconds.append(round(time.monotonic() - started, 1))
                return
            time.sleep(0.3)
        raise RuntimeError("LiteLLM did not become ready within 120 s")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure(self) -> bool:
        """Restart after a crash; True when it had crashed."""
        if self.alive():
            return False
        self.crashes += 1
        code = self.process.returncode if self.process else None
        log(f"LiteLLM's proxy died (exit {code}); restarting it")
        self.start()
        return True

    def stop(self) -> None:
        load.stop_process(self.process)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


#: what uvicorn logs when the port it was given is taken (errno 98 on Linux)
_ADDRESS_IN_USE = "address already in use"


class PortTaken(RuntimeError):
    """The proxy's port was taken between `unused_port()` and its own bind."""


@dataclass
class Fleet:
    mocks: Any
    reference: Any
    litellm: LiteLLM | None

    def targets(self) -> list[LoadTarget]:
        found = [
            LoadTarget("direct", self.mocks.url, "/openai/v1/chat/completions", "sk-bench", MOCK_MODEL),
            LoadTarget("reference", self.reference.url, "/v1/chat/completions", TEST_API_KEY, GATEWAY_MODEL),
        ]
        if self.litellm is not None:
            found.append(
                LoadTarget("litellm", self.litellm.url, "/v1/chat/completions", LITELLM_KEY, GATEWAY_MODEL)
            )
        return found

    def pids(self) -> dict[str, int]:
        pids = {"mocks": self.mocks.process.pid, "reference": self.reference.process.pid}
        if self.litellm is not None and self.litellm.process is not None:
            pids["litellm"] = self.litellm.process.pid
        return pids

    def retarget(self, target: LoadTarget) -> LoadTarget:
        """The target after a LiteLLM restart (new port)."""
        if target.name == "litellm" and self.litellm is not None:
            return LoadTarget(target.name, self.litellm.url, target.path, target.api_key, target.model)
        return target


# ------------------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, fleet: Fleet, settings: Settings, work: Path) -> None:
        self.fleet = fleet
        self.settings = settings
        self.work = work
        self.results: dict[str, Any] = {}

    # --- helpers -------------------------------------------------------------------------------------------
    def _body_file(self, target: LoadTarget, **kwargs: Any) -> Path:
        path = self.work / f"body-{target.name}-{'stream' if kwargs.get('stream') else 'json'}.json"
        path.write_bytes(body(target, **kwargs))
        return path

    def _recover(self, target: LoadTarget) -> tuple[LoadTarget, bool]:
        if target.name == "litellm" and self.fleet.litellm is not None and self.fleet.litellm.ensure():
            return self.fleet.retarget(target), True
        return target, False

    def warm_up(self) -> None:
        for target in self.fleet.targets():
            conn = load.Conn(target)
            data = load.request_bytes(target, body(target))
            failures = 0
            for _ in range(self.settings.warmup):
                timing = conn.send(data)
                failures += timing.status != 200
            conn.close()
            if failures:
                raise RuntimeError(
                    f"{target.name}: {failures} of {self.settings.warmup} warm-up requests failed"
                )
        log("warm-up done")

    def _round_robin(
        self, rounds: int, **body_options: Any
    ) -> tuple[dict[str, list[Timing]], dict[str, int]]:
        """Concurrency 1 over every target in turn, `rounds` times: (timings of the 200s, failures).

        The order rotates each round, so drift on the machine spreads evenly over the targets. A request
        that breaks its connection counts as a failure; the connection is reopened, on a restarted
        LiteLLM proxy if that is what broke it.
        """
        targets = self.fleet.targets()
        conns = {t.name: load.Conn(t) for t in targets}
        data = {t.name: load.request_bytes(t, body(t, **body_options)) for t in targets}
        timings: dict[str, list[Timing]] = {t.name: [] for t in targets}
        failures = dict.fromkeys(timings, 0)
        try:
            for i in range(rounds):
                for target in targets[i % len(targets) :] + targets[: i % len(targets)]:
                    try:
                        timing = conns[target.name].send(data[target.name])
                    except OSError:
                        failures[target.name] += 1
                        fresh, restarted = self._recover(target)
                        conns[target.name].close()
                        conns[target.name] = load.Conn(fresh)
                        if restarted:
                            targets = self.fleet.targets()
                            data[target.name] = load.request_bytes(fresh, body(fresh, **body_options))
                        continue
                    if timing.status != 200:
                        failures[target.name] += 1
                    else:
                        timings[target.name].append(timing)
        finally:
            for conn in conns.values():
                conn.close()
        return timings, failures

    # --- latency at concurrency 1 -------------------------------------------------------------------------
    def latency(self) -> None:
        meter = load.CpuMeter(self.fleet.pids()).start()
        started = time.monotonic()
        timings, errors = self._round_robin(self.settings.latency_rounds)
        cpu = meter.read()
        samples = {name: [t.total_s * 1000 for t in values] for name, values in timings.items()}
        out: dict[str, Any] = {}
        for name, values in samples.items():
            out[name] = {**load.summarise(values), "errors": errors[name], "samples_ms": _sample(values)}
        direct = out["direct"]
        for name in GATEWAYS:
            if name in out and out[name]["n"]:
                out[name]["added_ms"] = {
                    q: round(out[name][q] - direct[q], 3) for q in ("p50", "p90", "p99", "mean")
                }
        out["cpu_cores"] = cpu
        out["seconds"] = round(time.monotonic() - started, 1)
        self.results["latency_c1"] = out
        log(
            "latency c1: "
            + ", ".join(f"{n} p50 {out[n]['p50']} ms" for n in samples if out[n]["n"])
            + f" ({out['seconds']} s)"
        )

    # --- throughput -----------------------------------------------------------------------------------------
    def throughput(self) -> None:
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for repeat in range(self.settings.repeats):
            for concurrency in self.settings.concurrencies:
                for target in self.fleet.targets():
                    body_file = self._body_file(target)
                    meter = load.CpuMeter(self.fleet.pids()).start()
                    result = load.run_wrk(target, body_file, concurrency, self.settings.throughput_seconds)
                    result["cpu_cores"] = meter.read()
                    target, restarted = self._recover(target)
                    if restarted:  # the proxy crashed during this run: discard it, measure again
                        result = load.run_wrk(
                            target, self._body_file(target), concurrency, self.settings.throughput_seconds
                        )
                        result["restarted"] = True
                    runs.setdefault(target.name, {}).setdefault(concurrency, []).append(result)
                    log(
                        f"throughput {target.name} c{concurrency} #{repeat + 1}: {result['rps']:.0f} req/s, "
                        f"{result['errors']} errors, cpu {result['cpu_cores']}"
                    )
        out: dict[str, Any] = {}
        for name, by_c in runs.items():
            out[name] = {}
            for concurrency, results in by_c.items():
                rps = [r["rps"] for r in results]
                chosen = sorted(results, key=lambda r: r["rps"])[len(results) // 2]  # the median run
                out[name][f"c{concurrency}"] = {
                    "rps": round(load.median(rps), 1),
                    "rps_runs": rps,
                    "errors": sum(r["errors"] for r in results),
                    "requests": sum(r["requests"] for r in results),
                    "latency_ms": chosen.get("latency_ms", {}),
                    "cpu_cores": chosen["cpu_cores"],
                    "generator_cpu": chosen["generator_cpu"],
                }
        self.results["throughput"] = out
        self.results["mock_capacity"] = {
            f"c{c}": out["direct"][f"c{c}"]["rps"] for c in self.settings.concurrencies
        }

    # --- streams --------------------------------------------------------------------------------------------
    def _directive(self) -> str:
        s = self.settings
        return f"[[mock: ttft_ms={s.stream_ttft_ms} tps={s.stream_tps} words={s.stream_words}]]"

    def streams(self) -> None:
        s = self.settings
        directive = self._directive()
        targets = self.fleet.targets()
        out: dict[str, Any] = {
            "mock": {"ttft_ms": s.stream_ttft_ms, "tps": s.stream_tps, "words": s.stream_words},
            "ideal_total_ms": round(s.stream_ttft_ms + 1000 * (s.stream_words - 1) / s.stream_tps, 1),
        }
        # concurrency 1, blocking client, round-robin
        c1, failures = self._round_robin(s.streams_c1, stream=True, directive=directive)
        out["c1"] = self._stream_summary(c1, failures)
        # concurrency 16: one asyncio client, targets in turn, repeated
        c16: dict[str, list[Timing]] = {t.name: [] for t in targets}
        failures16 = dict.fromkeys(c16, 0)
        rounds = max(1, s.repeats)
        per_round = max(16, s.streams_c16 // rounds)
        for _ in range(rounds):
            for target in self.fleet.targets():
                timings, failed = _run_async(_streams_concurrently(target, directive, 16, per_round))
                c16[target.name].extend(timings)
                failures16[target.name] += failed
                self._recover(target)
        out["c16"] = self._stream_summary(c16, failures16)
        self.results["streams"] = out
        log(
            "streams: "
            + ", ".join(
                f"{n} c1 first token p50 {out['c1'][n]['first_token_ms'].get('p50')} ms"
                for n in out["c1"]
                if n in c1
            )
        )

    @staticmethod
    def _stream_summary(data: dict[str, list[Timing]], failures: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, timings in data.items():
            first = [t.first_byte_s * 1000 for t in timings]
            token = [t.first_token_s * 1000 for t in timings]
            total = [t.total_s * 1000 for t in timings]
            out[name] = {
                "first_event_ms": load.summarise(first),
                "first_token_ms": load.summarise(token),
                "total_ms": load.summarise(total),
                "errors": failures[name],
                "first_token_samples_ms": _sample(token),
            }
        direct = out.get("direct")
        for name in GATEWAYS:
            if name in out and direct and out[name]["first_token_ms"].get("n"):
                for key in ("first_event_ms", "first_token_ms", "total_ms"):
                    out[name]["added_" + key] = {
                        q: round(out[name][key][q] - direct[key][q], 3) for q in ("p50", "p90", "p99")
                    }
        return out

    # --- memory -----------------------------------------------------------------------------------------
    def memory(self) -> None:
        out: dict[str, Any] = {}
        pids = self.fleet.pids()
        for target in self.fleet.targets():
            if target.name == "direct":
                continue
            wanted = (
                self.settings.leak_requests
                if target.name == "reference"
                else self.settings.leak_requests_litellm
            )
            rps = self.results.get("throughput", {}).get(target.name, {}).get("c16", {}).get("rps") or 200.0
            segment_s = max(1.0, wanted / 10 / rps)
            body_file = self._body_file(target)
            pid = pids[target.name]
            points = [{"requests": 0, **load.memory_kib(pid)}]
            done = errors = 0
            started = time.monotonic()
            deadline = started + max(120.0, 4 * wanted / rps)
            while done < wanted and time.monotonic() < deadline:
                result = load.run_wrk(target, body_file, 16, segment_s)
                if (
                    target.name == "litellm"
                    and self.fleet.litellm is not None
                    and self.fleet.litellm.ensure()
                ):
                    out[target.name] = {"crashed": True, "points": points}
                    break
                done += result["requests"]
                errors += result["errors"]
                points.append({"requests": done, **load.memory_kib(pid)})
            time.sleep(2.0)  # idle: what stays allocated
            points.append({"requests": done, "idle": True, **load.memory_kib(pid)})
            if target.name in out:
                continue
            half = next((p for p in points if p["requests"] >= done / 2), points[-1])
            growth = (points[-1]["rss_kib"] - half["rss_kib"]) / 1024
            out[target.name] = {
                "requests": done,
                "errors": errors,
                "seconds": round(time.monotonic() - started, 1),
                "start_rss_mib": round(points[0]["rss_kib"] / 1024, 1),
                "end_rss_mib": round(points[-1]["rss_kib"] / 1024, 1),
                "peak_rss_mib": round(max(p["peak_rss_kib"] for p in points) / 1024, 1),
                "growth_second_half_mib": round(growth, 1),
                "flat": growth <= 5.0,
                "points": points,
            }
            log(
                f"memory {target.name}: {done} requests, RSS {out[target.name]['start_rss_mib']} -> "
                f"{out[target.name]['end_rss_mib']} MiB, peak {out[target.name]['peak_rss_mib']} MiB, "
                f"second half {growth:+.1f} MiB"
            )
        self.results["memory"] = out

    def peak_rss(self) -> None:
        pids = self.fleet.pids()
        self.results["peak_rss_mib"] = {
            name: round(load.memory_kib(pid)["peak_rss_kib"] / 1024, 1) for name, pid in pids.items()
        }


def _sample(values: list[float], keep: int = 2000) -> list[float]:
    """At most `keep` values, evenly spaced over the sorted sample (for the plot)."""
    ordered = sorted(values)
    if len(ordered) <= keep:
        return [round(v, 3) for v in ordered]
    step = len(ordered) / keep
    return [round(ordered[int(i * step)], 3) for i in range(keep)]


def _run_async(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def _streams_concurrently(
    target: LoadTarget, directive: str, concurrency: int, total: int
) -> tuple[list[Timing], int]:
    data = load.request_bytes(target, body(target, stream=True, directive=directive))
    remaining = iter(range(total))
    timings: list[Timing] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        conn = load.AsyncConn(target)
        for _ in remaining:
            try:
                timing = await asyncio.wait_for(conn.send(data), 60)
            except (OSError, TimeoutError):
                failed += 1
                conn.close()
                conn = load.AsyncConn(target)
                continue
            if timing.status == 200:
                timings.append(timing)
            else:
                failed += 1
        conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings, failed


# ------------------------------------------------------------------------------------------------------
# Suites
# ------------------------------------------------------------------------------------------------------


def time_command(args: list[str], shown: str, logfile: Path) -> dict[str, Any]:
    """Wall time of one CLI run; its output goes to `logfile`, its summary lines into the report."""
    started = time.monotonic()
    with logfile.open("wb") as fh:
        code = subprocess.run(args, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
    seconds = round(time.monotonic() - started, 1)
    lines = logfile.read_text(errors="replace").splitlines()
    summary = [_summary_line(line) for line in lines if re_summary(line)][-3:]
    log(f"{shown}: {seconds} s, exit {code}")
    return {"command": shown, "seconds": seconds, "exit": code, "summary": summary, "log": str(logfile)}


REQUIREMENT_COLUMNS = ("pass", "fail", "informational", "not claimed", "skipped", "not run")


def _summary_line(line: str) -> str:
    words = line.split()
    if words[:1] == ["total"] and len(words) == 1 + len(REQUIREMENT_COLUMNS):
        counts = ", ".join(f"{n} {name}" for n, name in zip(words[1:], REQUIREMENT_COLUMNS, strict=True))
        return "requirements: " + counts
    return " ".join(words)


def re_summary(line: str) -> bool:
    """pytest's closing line, the suite's requirement totals, the fuzzer's request count."""
    text = line.strip()
    return (
        (" passed" in text and " in " in text)
        or text.startswith("total ")
        or (text.startswith("fuzz: ") and "requests" in text)
    )


def suites(work: Path, out: Path) -> dict[str, Any]:
    cli = [sys.executable, "-m", "auriko_conformance.cli"]
    fuzz = ["fuzz", "--max-examples", "25"]  # the CI settings (docs/fuzzing.md)
    return {
        "conformance_run": time_command(
            [*cli, "run", "--report-dir", str(work / "suite")], "auriko-conformance run", out / "suite.log"
        ),
        "fuzz_ci": time_command(
            [*cli, *fuzz, "--report-dir", str(work / "fuzz")],
            shlex.join(["auriko-conformance", *fuzz]),
            out / "fuzz.log",
        ),
    }


# ------------------------------------------------------------------------------------------------------
# Machine and output
# ------------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("uvicorn", "httpx", "httptools", "uvloop", "orjson"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    wrk = shutil.which("wrk")
    wrk_version = ""
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout + out.stderr).split("[")[0].strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "packages": versions,
        "wrk": wrk_version,
        "commit": commit,
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "-"
    return f"{a / b:.2f}x"


def render_markdown(report: dict[str, Any]) -> str:
    """The published table: one row per figure, ratios reference/LiteLLM and reference/direct."""
    lat = report.get("latency_c1", {})
    thr = report.get("throughput", {})
    streams = report.get("streams", {})
    mem = report.get("memory", {})
    peak = report.get("peak_rss_mib", {})
    rows: list[tuple[str, Any, Any, Any]] = []  # figure, direct, reference, litellm

    def get(d: dict[str, Any], *path: str) -> Any:
        for key in path:
            if not isinstance(d, dict) or key not in d:
                return None
            d = d[key]
        return d

    for q in ("p50", "p90", "p99"):
        rows.append(
            (
                f"non-stream latency c1 {q} (ms)",
                get(lat, "direct", q),
                get(lat, "reference", q),
                get(lat, "litellm", q),
            )
        )
    rows.append(
        (
            "added latency c1 p50 (ms, over direct)",
            None,
            get(lat, "reference", "added_ms", "p50"),
            get(lat, "litellm", "added_ms", "p50"),
        )
    )
    for c in report.get("settings", {}).get("concurrencies", (16, 64)):
        rows.append(
            (
                f"throughput c{c} (req/s)",
                get(thr, "direct", f"c{c}", "rps"),
                get(thr, "reference", f"c{c}", "rps"),
                get(thr, "litellm", f"c{c}", "rps"),
            )
        )
        rows.append(
            (
                f"errors c{c}",
                get(thr, "direct", f"c{c}", "errors"),
                get(thr, "reference", f"c{c}", "errors"),
                get(thr, "litellm", f"c{c}", "errors"),
            )
        )
    for c in ("c1", "c16"):
        for what, key in (
            ("first event", "first_event_ms"),
            ("first token", "first_token_ms"),
            ("total", "total_ms"),
        ):
            rows.append(
                (
                    f"stream {c} {what} p50 (ms)",
                    get(streams, c, "direct", key, "p50"),
                    get(streams, c, "reference", key, "p50"),
                    get(streams, c, "litellm", key, "p50"),
                )
            )
        rows.append(
            (
                f"stream {c} added first token p50 (ms)",
                None,
                get(streams, c, "reference", "added_first_token_ms", "p50"),
                get(streams, c, "litellm", "added_first_token_ms", "p50"),
            )
        )
    rows.append(("peak RSS (MiB)", None, peak.get("reference"), peak.get("litellm")))
    rows.append(
        (
            "RSS after the memory run (MiB)",
            None,
            get(mem, "reference", "end_rss_mib"),
            get(mem, "litellm", "end_rss_mib"),
        )
    )
    rows.append(
        (
            "requests in the memory run",
            None,
            get(mem, "reference", "requests"),
            get(mem, "litellm", "requests"),
        )
    )
    rows.append(
        (
            "RSS growth, second half (MiB)",
            None,
            get(mem, "reference", "growth_second_half_mib"),
            get(mem, "litellm", "growth_second_half_mib"),
        )
    )
    lines = [
        "| figure | direct (mock) | reference | LiteLLM | reference / LiteLLM | reference / direct |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, direct, reference, litellm in rows:
        lines.append(
            f"| {name} | {_fmt(direct)} | {_fmt(reference)} | {_fmt(litellm)} | "
            f"{_ratio(reference, litellm)} | {_ratio(reference, direct)} |"
        )
    extra = []
    capacity = report.get("mock_capacity")
    if capacity:
        extra.append(
            "Mock capacity (one process, non-stream, wrk): "
            + ", ".join(f"{k} {_fmt(v, 0)} req/s" for k, v in capacity.items())
            + (
                f"; its peak RSS {_fmt(peak['mocks'], 0)} MiB (a journal of up to 200,000 requests, "
                "bench/soak.py's mock set-up)."
                if "mocks" in peak
                else "."
            )
        )
    generator = generator_load(report)
    if generator:
        extra.append(
            f"Load generator CPU: wrk up to {generator['wrk']:.2f} of a core, the Python latency client "
            f"{generator['client']:.2f}"
            + (
                "; SATURATED (>= 0.9 core): the figures are the generator's limit."
                if generator["saturated"]
                else " (neither saturates a core)."
            )
        )
    suites_ = report.get("suites") or {}
    for key, label in (("conformance_run", "conformance suite"), ("fuzz_ci", "CI fuzz run")):
        if key in suites_:
            item = suites_[key]
            summary = "; ".join(item.get("summary") or [])
            extra.append(
                f"Wall time of the {label} (`{item['command']}`): {item['seconds']} s, exit {item['exit']}"
                + (f" ({summary})." if summary else ".")
            )
    goals = report.get("goals") or {}
    if goals:
        extra.append("")
        extra.append("| goal | target | measured | met |")
        extra.append("| --- | --- | --- | --- |")
        for goal in goals.values():
            met = "yes" if goal["met"] else "**no**"
            extra.append(f"| {goal['name']} | {goal['target']} | {goal['measured']} | {met} |")
    return "\n".join(lines + (["", *extra] if extra else [])) + "\n"


def generator_load(report: dict[str, Any]) -> dict[str, Any] | None:
    """The most CPU the load generators used in any phase (cores): wrk per run, the Python client at c1."""
    wrk = [
        run_["generator_cpu"]
        for by_c in (report.get("throughput") or {}).values()
        for run_ in by_c.values()
        if isinstance(run_, dict) and "generator_cpu" in run_
    ]
    client = ((report.get("latency_c1") or {}).get("cpu_cores") or {}).get("client")
    if not wrk and client is None:
        return None
    top_wrk, top_client = max(wrk, default=0.0), client or 0.0
    return {"wrk": top_wrk, "client": top_client, "saturated": max(top_wrk, top_client) >= 0.9}


def _goal(name: str, target: str, measured: str, met: bool) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "met": met}


def goals(report: dict[str, Any]) -> dict[str, Any]:
    """issue 4's speed goals and the mocks' capacity goal, judged on this run's figures."""
    out: dict[str, Any] = {}
    lat = report.get("latency_c1", {})
    added = (lat.get("reference") or {}).get("added_ms", {}).get("p50")
    if added is not None:
        out["added_p50"] = _goal(
            "reference adds to non-stream p50, c1", "<= 1 ms", f"{added:.3f} ms", added <= 1.0
        )
    first = ((report.get("streams") or {}).get("c1") or {}).get("reference", {})
    added_first = (first.get("added_first_token_ms") or {}).get("p50")
    if added_first is not None:
        out["added_ttfb"] = _goal(
            "reference adds to stream time to first token (p50, c1)",
            "<= 2 ms",
            f"{added_first:.3f} ms",
            added_first <= 2.0,
        )
    thr = report.get("throughput", {})
    ref = (thr.get("reference") or {}).get("c16", {}).get("rps")
    lite = (thr.get("litellm") or {}).get("c16", {}).get("rps")
    if ref and lite:
        out["vs_litellm"] = _goal(
            "reference req/s vs LiteLLM's, c16",
            ">= 10x",
            f"{ref / lite:.1f}x ({ref:,.0f} vs {lite:,.0f})",
            ref / lite >= 10,
        )
    capacity = (report.get("mock_capacity") or {}).get("c16")
    if capacity:
        out["mock_capacity"] = _goal(
            "one mock process, non-stream req/s, c16", ">= 4,000", f"{capacity:,.0f}", capacity >= 4000
        )
    return out


def write_docs(markdown: str, report: dict[str, Any], path: Path = DOCS) -> None:
    """Replace the block between the bench markers in docs/performance.md (appended when missing)."""
    m = report["machine"]
    block = "\n".join(
        [
            DOCS_START,
            f"Latest run: {report['finished']} UTC, commit `{m['commit']}`, command `{report['command']}`.",
            f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, kernel {m['kernel']}, "
            f"Python {m['python']}, {m['wrk']}; LiteLLM {report.get('litellm_version') or 'not installed'}. "
            f"Load average before / after: {report['load_before']} / {report['load_after']}.",
            "",
            markdown.rstrip(),
            DOCS_END,
        ]
    )
    text = path.read_text()
    if DOCS_START in text and DOCS_END in text:
        head, rest = text.split(DOCS_START, 1)
        _, tail = rest.split(DOCS_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


# ------------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------------


def run(settings: Settings, command: str) -> dict[str, Any]:
    if load.wrk_path() is None:
        raise SystemExit("bench: wrk is not installed (apt-get install -y wrk; `make bench` does it)")
    soak = _soak()
    settings.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "command": command,
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "settings": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in vars(settings).items()
            if not isinstance(v, Path)
        },
    }
    use_litellm = settings.litellm and LiteLLM.available()
    if settings.litellm and not use_litellm:
        log("no .venv-litellm: LiteLLM left out (bash bench/litellm/run.sh install)")
    with tempfile.TemporaryDirectory(prefix="auriko-bench-") as tmp:
        work = Path(tmp)
        log("starting the mocks and the reference gateway")
        mocks = soak.spawn("mocks", health="/__mock/health")
        reference = litellm = None
        try:
            reference = soak.spawn("gateway", mocks.url)
            if use_litellm:
                log("starting LiteLLM's proxy (10-20 s)")
                litellm = LiteLLM(mocks.url, settings.out)
                litellm.start()
                report["litellm_version"] = LiteLLM.version()
            fleet = Fleet(mocks, reference, litellm)
            bench = Bench(fleet, settings, work)
            bench.warm_up()
            bench.latency()
            bench.streams()
            bench.throughput()
            bench.memory()
            bench.peak_rss()
            report.update(bench.results)
            if litellm is not None:
                report["litellm_crashes"] = litellm.crashes
                report["litellm_start_seconds"] = litellm.start_seconds
        finally:
            if litellm is not None:
                litellm.stop()
            if reference is not None:
                reference.stop()
            mocks.stop()
        if settings.suites:
            log("timing the conformance suite and the CI fuzz run (embedded reference, ~2 min)")
            report["suites"] = suites(work, settings.out)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    report["goals"] = goals(report)
    return report


def write_outputs(report: dict[str, Any], out: Path, docs: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=1))
    markdown = render_markdown(report)
    (out / "bench.md").write_text(markdown)
    try:
        plot.plot(report, out / "bench.png")
    except ImportError as exc:
        log(f"no PNG: {exc.name} is missing (pip install matplotlib; `make bench` does it)")
    if docs:
        write_docs(markdown, report)
    print(markdown)
    log(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.png'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--quick", action="store_true", help="seconds per phase: checks the harness only")
    parser.add_argument(
        "--long", action="store_true", help="the memory run is 100,000 requests on LiteLLM too"
    )
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out even if installed")
    parser.add_argument("--no-suites", action="store_true", help="skip timing the suite and the fuzz run")
    parser.add_argument("--repeats", type=int, help="throughput runs per target and concurrency")
    parser.add_argument("--latency-rounds", type=int, help="non-stream requests per target at c1")
    parser.add_argument("--leak-requests", type=int, help="requests in the reference's memory run")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument("--from-json", type=Path, help="only render outputs from an earlier bench.json")
    args = parser.parse_args(argv)
    if args.from_json:
        write_outputs(json.loads(args.from_json.read_text()), args.out, args.write_docs)
        return 0
    settings = Settings.quick() if args.quick else Settings()
    settings.out = args.out
    settings.litellm = not args.no_litellm
    settings.suites = settings.suites and not args.no_suites
    if args.long:
        settings.leak_requests_litellm = 100_000
    for name in ("repeats", "latency_rounds", "leak_requests"):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    command = shlex.join(["auriko-conformance", "bench", *(sys.argv[1:] if argv is None else argv)])
    report = run(settings, command)
    write_outputs(report, args.out, args.write_docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
