"""Judging one fault's run against the identity baseline: kill, missed, collateral.

Every fault declares the requirement IDs it must fail (`expect` in the catalogue). Its run is compared
with the identity run (the unmutated reference behind the same proxies), requirement by requirement:

- **detected**: a declared ID that *fails* under the fault and passes on the identity run. A fault is
  killed when at least one declared ID is detected (the kill rate);
- **missed**: a declared ID that was not detected: the suite did not attribute the defect to the
  requirement that states it;
- **collateral**: an undeclared ID that fails under the fault and passes on the identity run: one defect
  reported under another requirement's name (a cascade or a misattribution).

"Fails" is a closed set of verdicts per requirement level (`FAILING`); every other verdict (pass,
skipped, not_claimed, and `blocked`, a requirement whose precondition did not hold) is neither a
detection nor collateral, so a new non-failing verdict needs no change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from auriko_conformance.mutants.catalogue import FaultSpec

#: verdicts that count as "the requirement failed", per requirement level
FAILING: Mapping[str, frozenset[str]] = {
    "MUST": frozenset({"fail"}),
    "SHOULD": frozenset({"fail", "informational"}),
    "MAY": frozenset({"fail", "informational"}),
}
#: verdicts that say the requirement's checks never looked at anything under the fault's selection
UNEXERCISED = frozenset({None, "not_run", "skipped", "not_claimed"})
#: merging verdicts of several runs: the first present wins (a verdict not listed ranks last)
_MERGE_ORDER = ("fail", "informational", "pass", "not_claimed", "skipped", "not_run")


@dataclass(slots=True)
class RunResult:
    """What one run of the suites (one fault, or one identity chunk) reported, per requirement."""

    name: str
    fault: str
    select: str
    verdicts: dict[str, str] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    tests: int = 0
    seconds: float = 0.0
    exit_code: int = 0
    error: str | None = None
    report_dir: str = ""

    def failed(self, requirement: str) -> bool:
        level = self.levels.get(requirement, "MUST")
        return self.verdicts.get(requirement) in FAILING.get(level, FAILING["MUST"])


@dataclass(slots=True)
class Outcome:
    """The verdict on one fault."""

    spec: FaultSpec
    detected_by: list[str]
    #: failing requirements the fault does not declare (within what the run selected)
    collateral: list[str]
    seconds: float
    tests: int
    error: str | None = None
    #: declared requirements that did not run under the fault's selection (a selection mistake)
    unexercised: list[str] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return bool(self.detected_by) and self.error is None

    @property
    def missed(self) -> list[str]:
        """Declared requirements that did not fail: the defect was not attributed to them."""
        return [r for r in self.spec.expect if r not in self.detected_by]

    @property
    def precise(self) -> bool:
        """Every declared ID failed and nothing else did."""
        return self.error is None and not self.missed and not self.collateral


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome]
    baseline: dict[str, str]
    false_positives: dict[str, str]
    seconds: float
    workers: int
    #: True when every fault ran the whole suite (collateral is then complete, not per-selection)
    whole_suite: bool = False
    #: commits the runs were measured at (several when a resumed measurement spans commits)
    commits: list[str] = field(default_factory=list)
    #: faults of the request that have no run yet (a partial whole-suite report)
    unmeasured: list[str] = field(default_factory=list)

    @property
    def kill_rate(self) -> float:
        return sum(o.killed for o in self.outcomes) / len(self.outcomes) if self.outcomes else 1.0

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.killed]

    @property
    def missed_total(self) -> int:
        return sum(len(o.missed) for o in self.outcomes)

    @property
    def collateral_total(self) -> int:
        return sum(len(o.collateral) for o in self.outcomes)

    @property
    def collateral_free(self) -> float:
        """Share of faults whose run failed no undeclared requirement (a broken run does not count)."""
        if not self.outcomes:
            return 1.0
        return sum(not o.collateral and o.error is None for o in self.outcomes) / len(self.outcomes)


def merge_verdicts(runs: Iterable[RunResult]) -> dict[str, str]:
    """One verdict per requirement over several runs: a failure anywhere wins, then a report, then a pass."""
    merged: dict[str, str] = {}
    rank = {v: i for i, v in enumerate(_MERGE_ORDER)}
    for run in runs:
        for requirement, verdict in run.verdicts.items():
            current = merged.get(requirement)
            if current is None or rank.get(verdict, len(rank)) < rank.get(current, len(rank)):
                merged[requirement] = verdict
    return merged


def judge(spec: FaultSpec, run: RunResult, baseline: Mapping[str, str]) -> Outcome:
    """Which declared requirements caught the fault, which others it also failed."""

    def caught(requirement: str) -> bool:
        return run.failed(requirement) and baseline.get(requirement) == "pass"

    detected = [r for r in spec.expect if caught(r)]
    collateral = sorted(r for r in run.verdicts if r not in spec.expect and caught(r))
    unexercised = [r for r in spec.expect if run.verdicts.get(r) in UNEXERCISED]
    return Outcome(spec, detected, collateral, run.seconds, run.tests, run.error, unexercised)


def false_positives(base_runs: Iterable[RunResult], baseline: Mapping[str, str]) -> dict[str, str]:
    """Every requirement the identity run fails or reports, and every identity run that broke."""
    positives = {r: v for r, v in baseline.items() if v in ("fail", "informational")}
    for run in base_runs:
        if run.error:
            positives[f"<identity run {run.name}>"] = run.error
    return positives
