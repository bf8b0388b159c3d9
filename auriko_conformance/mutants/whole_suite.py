"""The whole-suite mode: every fault runs the whole suite, so that collateral is complete.

The per-fault `-k` selection keeps a fault's run to seconds but only shows the requirements that
selection exercises: a defect that also fails a requirement of another test file goes unseen. Here each
fault (and the identity baseline) runs every suite, one whole-suite run per fault in the worker pool.
That is about a minute per fault on a quiet machine, an hour or more for the catalogue on 2 cores, so
the mode is resumable: each finished run is kept on disk (`<cache>/<fault>/run.json`, beside its
`results.json` and `pytest.log`) as soon as it ends, and a later invocation skips every fault whose
cached run still matches the fault's definition (side, transform, args). A run that broke (no
`results.json`, a harness error) is not kept, so it is retried. Delete the cache to re-measure after
the suites, the mocks or the reference changed: the cache cannot tell.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from auriko_conformance.mutants.attribution import Report, RunResult, false_positives, judge
from auriko_conformance.mutants.catalogue import FaultSpec, identity
from auriko_conformance.mutants.harness import External, Task, current_commit, run_tasks_as_completed

DEFAULT_CACHE = Path("reports/mutants-whole-suite")
Runner = Callable[[Sequence[Task], Path, int, External | None], Iterable[RunResult]]
#: bump when the stored format or the meaning of a run changes: older runs are then measured again
CACHE_VERSION = 1


def fingerprint(spec: FaultSpec, external: External | None = None) -> str:
    """What a cached run depends on in the catalogue: a changed fault definition is measured again."""
    payload: dict[str, Any] = {
        "version": CACHE_VERSION,
        "side": spec.side,
        "transform": spec.transform,
        "args": spec.args,
        "target": external.target_url if external else None,
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class RunCache:
    """One directory per fault under `root`; `run.json` holds the finished run and its provenance."""

    def __init__(self, root: Path, external: External | None = None) -> None:
        self.root = root
        self.external = external

    def path(self, spec: FaultSpec) -> Path:
        return self.root / spec.id / "run.json"

    def load(self, spec: FaultSpec) -> tuple[RunResult, str] | None:
        """The cached run of `spec` and the commit it was measured at, when it matches `spec`."""
        path = self.path(spec)
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint(spec, self.external):
            return None
        try:
            return RunResult(**data["run"]), str(data.get("commit", "unknown"))
        except (KeyError, TypeError):
            return None

    def store(self, spec: FaultSpec, run: RunResult, commit: str) -> None:
        path = self.path(spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "fingerprint": fingerprint(spec, self.external),
            "commit": commit,
            "run": dataclasses.asdict(run),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        tmp.replace(path)  # atomic: an interrupted write never leaves a half file that looks finished


def evaluate_whole_suite(
    specs: Sequence[FaultSpec],
    *,
    workers: int,
    cache_dir: Path = DEFAULT_CACHE,
    external: External | None = None,
    progress: Callable[[str], None] | None = None,
    runner: Runner = run_tasks_as_completed,
    cached_only: bool = False,
) -> Report:
    """Run the whole suite under the identity and every fault not cached yet; judge every fault.

    `runner` runs the pending tasks and yields each result as it ends (the worker pool; a test passes a
    stand-in). `cached_only` runs nothing: the report covers the faults measured so far and lists the
    others as not measured (a partial table while a long measurement is still going)."""
    started = time.perf_counter()
    cache = RunCache(cache_dir, external)
    base = identity()
    wanted = {spec.id: spec for spec in [base, *specs]}
    runs: dict[str, RunResult] = {}
    commits: dict[str, str] = {}
    for spec in wanted.values():
        cached = cache.load(spec)
        if cached is not None:
            runs[spec.id], commits[spec.id] = cached
    pending = [Task(spec.id, spec, "") for spec in wanted.values() if spec.id not in runs]
    if cached_only:
        pending = []
    commit = current_commit()
    say = progress or (lambda line: None)
    say(f"{len(wanted) - len(pending)} runs cached in {cache_dir}, {len(pending)} to run")
    for done, run in enumerate(runner(pending, cache_dir, workers, external), 1):
        if run.error is None:
            cache.store(wanted[run.name], run, commit)
            commits[run.name] = commit
        runs[run.name] = run
        state = f"error: {run.error}" if run.error else f"{run.tests} tests"
        say(f"[{done}/{len(pending)}] {run.name}: {run.seconds:.0f} s, {state}")
    if base.id not in runs:
        runs[base.id] = RunResult(base.id, base.id, "", error="the identity run has not been measured yet")
    baseline_run = runs[base.id]
    baseline = dict(baseline_run.verdicts)
    outcomes = [judge(spec, runs[spec.id], baseline) for spec in specs if spec.id in runs]
    return Report(
        outcomes,
        baseline,
        false_positives([baseline_run], baseline),
        round(time.perf_counter() - started, 1),
        workers,
        whole_suite=True,
        commits=sorted(set(commits.values())),
        unmeasured=[spec.id for spec in specs if spec.id not in runs],
    )
