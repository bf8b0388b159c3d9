"""Run the suites against mutants and decide, per fault, which requirement caught it.

Each run builds a fresh sandwich on free ports, so runs never share state (journal, live routing stats,
rate limits):

    suites --> front proxy --> reference gateway --> back proxy --> mock providers
                  (fault)                              (fault)

A fault acting on one side gets only that side's proxy (the identity run has both); against an external
target only the front proxy exists (`client -> front proxy -> target`). The suites then run in the same
process, through `suites.runner` with `-n 0` and the fault's `-k` selection, and
write their `results.json`. Runs go to a pool of worker processes; each worker keeps its imports between
runs, so a run costs its tests plus well under a second of setup.

The runs are judged in `attribution` (killed, missed, collateral) against the identity run, the
false-positive baseline. `whole_suite` runs every suite per fault instead of the fault's selection.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import multiprocessing
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from auriko_conformance.embedded import Hop, embedded_target
from auriko_conformance.mutants import faults
from auriko_conformance.mutants.attribution import (
    Report,
    RunResult,
    false_positives,
    judge,
    merge_verdicts,
)
from auriko_conformance.mutants.catalogue import FaultSpec, identity
from auriko_conformance.mutants.proxy import Ledger, MutantProxy
from auriko_conformance.reference_impl.config import TEST_API_KEY
from auriko_conformance.servers import serving
from auriko_conformance.suites import runner
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.report import load_results

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = "gpt-4o-mini"
#: the identity run of the whole catalogue, split so that the pool runs it in parallel
IDENTITY_CHUNKS = (
    "test_translation",
    "test_routing",
    "test_upstream_faults or test_client_sdk",
    "not (test_translation or test_routing or test_upstream_faults or test_client_sdk)",
)


@dataclass(frozen=True, slots=True)
class External:
    """A target the harness does not start: only front-side faults can be applied to it."""

    target_url: str
    mock_url: str | None = None
    api_key: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    spec: FaultSpec
    select: str


# --------------------------------------------------------------------------------------------------
# One run, in the current process
# --------------------------------------------------------------------------------------------------


def _quiet() -> None:
    """Servers log aborted connections (a mutant cutting a stream) at ERROR: not news here."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def sandwich(spec: FaultSpec, external: External | None = None) -> Iterator[tuple[str, str | None, str]]:
    """Start the servers of one run; yield (target URL, mock URL, API key).

    The embedded target is the one `run` and `fuzz` use (`auriko_conformance.embedded`), so mutant runs
    serve the mocks and the gateway with the same settings; the fault proxies are its hops. Only the
    proxies the fault acts through are spliced in: each hop costs CPU, and the identity run (both
    proxies) already shows that a proxy on its own changes nothing."""

    key = (external.api_key if external else None) or TEST_API_KEY
    fault = faults.build(spec.transform, spec.args, api_key=key, default_model=DEFAULT_MODEL)
    ledger = Ledger()

    def hop(side: str) -> Hop:
        return lambda url: MutantProxy(url, fault, side, ledger)

    if external is not None:
        with serving(hop("front")(external.target_url)) as front:
            _quiet()
            yield front.url, external.mock_url, key
        return
    front = hop("front") if spec.side in ("front", "both") else None
    back = hop("back") if spec.side in ("back", "both") else None
    with embedded_target(front=front, back=back) as target:
        _quiet()
        yield target.url, target.mock_url, key


def run_task(task: Task, workdir: str, external: External | None = None) -> RunResult:
    """Run the selected suites against one mutant (in this process) and read their verdicts."""
    import pytest

    report_dir = Path(workdir) / task.name
    report_dir.mkdir(parents=True, exist_ok=True)
    result = RunResult(task.name, task.spec.id, task.select, report_dir=str(report_dir))
    started = time.perf_counter()
    log = io.StringIO()
    try:
        with sandwich(task.spec, external) as (target_url, mock_url, key):
            argv = ["--report-dir", str(report_dir), "-n", "0", "--fail-on", "never"]
            if task.select:
                argv += ["-k", task.select]
            if external is not None and external.profile:
                argv += ["--target-profile", external.profile]
            # The schemathesis suite only runs with `-m fuzz`; building it (and loading its plugins) costs
            # seconds per run and per worker.
            argv += ["--", f"--ignore={Path(runner.SUITES_DIR) / 'test_fuzz.py'}"]
            argv += ["-p", "no:schemathesis", "-p", "no:hypothesispytest"]
            args = runner.parser().parse_args(argv)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                # the preflight too: a fault that makes the target refuse a plain request is judged as a
                # real run judges it, by the probe's one finding (D-148)
                code = pytest.main(runner.pytest_args(args, target_url, key, mock_url, preflight=True))
        result.exit_code = int(code)
    except Exception as exc:  # a broken run is reported, never hidden
        result.error = f"{type(exc).__name__}: {exc}"
    (report_dir / "pytest.log").write_text(log.getvalue(), encoding="utf-8")
    result.seconds = round(time.perf_counter() - started, 2)
    results_path = report_dir / "results.json"
    results = load_results(results_path) if results_path.exists() else None
    judged = results is not None and bool(results["requirements"])  # a stopping preflight may judge REQ-027
    if (
        result.error is None
        and result.exit_code not in (0, 1)
        and not (result.exit_code == ExitCode.PREFLIGHT and judged)
    ):
        result.error = f"pytest exit code {result.exit_code} (see {report_dir / 'pytest.log'})"
    if results is not None:
        result.tests = int(results.get("tests_total", 0))
        for row in results["requirements"]:
            result.verdicts[row["id"]] = row["verdict"]
            result.levels[row["id"]] = row["level"]
    elif result.error is None:
        result.error = f"no results.json written (see {report_dir / 'pytest.log'})"
    return result


# --------------------------------------------------------------------------------------------------
# Many runs, in a pool of worker processes
# --------------------------------------------------------------------------------------------------


def _worker_init() -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    _quiet()  # the suites' imports are paid once per worker: spawning imports this module, hence runner


def run_tasks_as_completed(
    tasks: Sequence[Task], workdir: Path, workers: int, external: External | None = None
) -> Iterator[RunResult]:
    """Run every task in a pool of `workers` processes (spawned: no server threads are forked); yield
    each result as soon as its run ends, so a caller can keep it before the others finish."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not tasks:
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(tasks))), mp_context=context, initializer=_worker_init
    ) as pool:
        futures = [pool.submit(run_task, task, str(workdir), external) for task in tasks]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def run_tasks(
    tasks: Sequence[Task], workdir: Path, workers: int, external: External | None = None
) -> list[RunResult]:
    """Every task's result, in the order of `tasks`."""
    by_name = {r.name: r for r in run_tasks_as_completed(tasks, workdir, workers, external)}
    return [by_name[task.name] for task in tasks]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def current_commit() -> str:
    """The project's commit (with `+dirty` when tracked files have changes), for the published table."""
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def identity_tasks(specs: Sequence[FaultSpec], full: bool) -> list[Task]:
    """The identity runs that give every selected fault its baseline."""
    base = identity()
    if full:
        return [Task(f"identity-{i}", base, select) for i, select in enumerate(IDENTITY_CHUNKS, 1)]
    selects = list(dict.fromkeys(s.select for s in specs if s.select))
    return [Task("identity", base, " or ".join(f"({s})" for s in selects))]


def evaluate(
    specs: Sequence[FaultSpec],
    *,
    workers: int = 2,
    workdir: Path,
    full_baseline: bool = True,
    external: External | None = None,
) -> Report:
    """Run the identity baseline and every fault; judge each fault against the baseline."""
    started = time.perf_counter()
    fault_tasks = [Task(spec.id, spec, spec.select) for spec in specs]
    tasks = identity_tasks(specs, full_baseline) + fault_tasks
    runs = run_tasks(tasks, workdir, workers, external)
    base_runs = [r for r in runs if r.fault == "identity"]
    baseline = merge_verdicts(base_runs)
    by_name = {r.name: r for r in runs}
    outcomes = [judge(spec, by_name[spec.id], baseline) for spec in specs]
    positives = false_positives(base_runs, baseline)
    seconds = round(time.perf_counter() - started, 1)
    return Report(outcomes, baseline, positives, seconds, workers, commits=[current_commit()])
