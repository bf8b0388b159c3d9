"""Attribution precision: how a fault's run is judged (detected, missed, collateral), how the whole-suite
mode caches and resumes, and what the command prints. Synthetic runs, no servers, except the one `slow`
test that runs the whole suite under two real faults."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from auriko_conformance.mutants import catalogue
from auriko_conformance.mutants.attribution import Report, RunResult, judge, merge_verdicts
from auriko_conformance.mutants.catalogue import FaultSpec
from auriko_conformance.mutants.cli import markdown_table, summary, write_markdown
from auriko_conformance.mutants.harness import External, Task
from auriko_conformance.mutants.whole_suite import RunCache, evaluate_whole_suite

BASELINE = {"A-1": "pass", "A-2": "pass", "B-1": "pass", "B-2": "fail", "S-1": "pass", "C-1": "pass"}
LEVELS = {"S-1": "SHOULD"}


def _spec(fault_id: str = "f", expect: Sequence[str] = ("A-1", "A-2")) -> FaultSpec:
    return FaultSpec(fault_id, "front", "identity", tuple(expect), "x", "a test fault")


def _run(name: str, **verdicts: str) -> RunResult:
    merged = {**BASELINE, **{k.replace("_", "-"): v for k, v in verdicts.items()}}
    return RunResult(name, name, "", verdicts=merged, levels=dict(LEVELS))


def test_a_declared_failure_is_detected_and_the_rest_is_missed() -> None:
    outcome = judge(_spec(), _run("f", A_1="fail"), BASELINE)
    assert outcome.killed
    assert outcome.detected_by == ["A-1"]
    assert outcome.missed == ["A-2"]
    assert outcome.collateral == []
    assert not outcome.precise


def test_an_undeclared_failure_is_collateral_only_when_it_passes_without_the_fault() -> None:
    outcome = judge(_spec(), _run("f", A_1="fail", A_2="fail", B_1="fail", B_2="fail"), BASELINE)
    assert outcome.missed == []
    assert outcome.collateral == ["B-1"]  # B-2 already fails on the identity run


def test_a_should_requirement_reported_counts_as_failing() -> None:
    outcome = judge(_spec(expect=("S-1",)), _run("f", S_1="informational"), BASELINE)
    assert outcome.detected_by == ["S-1"]
    assert outcome.precise


@pytest.mark.parametrize("verdict", ["blocked", "skipped", "not_claimed", "not_run", "a-verdict-of-tomorrow"])
def test_a_verdict_that_is_not_a_failure_is_neither_a_detection_nor_collateral(verdict: str) -> None:
    outcome = judge(_spec(), _run("f", A_1="fail", A_2=verdict, C_1=verdict), BASELINE)
    assert outcome.missed == ["A-2"]
    assert outcome.collateral == []


def test_merging_runs_ranks_an_unknown_verdict_below_every_known_one() -> None:
    runs = [_run("a", C_1="blocked"), _run("b", C_1="fail")]
    assert merge_verdicts(runs)["C-1"] == "fail"
    assert merge_verdicts([_run("a", C_1="blocked")])["C-1"] == "blocked"


def _report(*outcome_runs: tuple[FaultSpec, RunResult], whole: bool = False) -> Report:
    outcomes = [judge(spec, run, BASELINE) for spec, run in outcome_runs]
    return Report(outcomes, dict(BASELINE), {}, 1.0, 2, whole_suite=whole, commits=["abc123"])


def test_the_summary_gives_kill_rate_and_attribution_precision() -> None:
    report = _report(
        (_spec("one"), _run("one", A_1="fail", A_2="fail")),
        (_spec("two"), _run("two", A_1="fail", C_1="fail")),
    )
    text = summary(report)
    assert "kill rate: 2/2 = 100.0%" in text
    assert "missed 1 of 4 declared requirements (1 faults)" in text
    assert "collateral 1 (1 faults)" in text
    assert "collateral-free 50.0% of 2 faults (within each fault's selection only)" in text
    assert "measured at: abc123" in text


def test_the_markdown_page_keeps_one_block_per_mode(tmp_path: Path) -> None:
    page = tmp_path / "mutation.md"
    page.write_text("# Mutation\n\nProse that stays.\n", encoding="utf-8")
    per_fault = _report((_spec("one"), _run("one", A_1="fail")))
    whole = _report((_spec("one"), _run("one", A_1="fail", C_1="fail")), whole=True)
    write_markdown(page, per_fault, "auriko-conformance mutants")
    write_markdown(page, whole, "auriko-conformance mutants --whole-suite")
    write_markdown(page, per_fault, "auriko-conformance mutants")  # rewritten in place, not appended
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Mutation\n\nProse that stays.")
    assert text.count("<!-- mutants:begin -->") == 1
    assert text.count("<!-- mutants-whole-suite:begin -->") == 1
    assert "| `one` | front | A-1 | A-2 | C-1 |" in text
    assert "| `one` | front | A-1 | A-2 | - |" in markdown_table(per_fault, "x")


# --------------------------------------------------------------------------------------------------
# The whole-suite mode: cached, resumable
# --------------------------------------------------------------------------------------------------


class FakeRunner:
    """Stands in for the worker pool: answers every task with a canned run and records what ran."""

    def __init__(self, broken: Sequence[str] = ()) -> None:
        self.ran: list[str] = []
        self.broken = set(broken)

    def __call__(
        self, tasks: Sequence[Task], workdir: Path, workers: int, external: External | None
    ) -> Iterator[RunResult]:
        for task in tasks:
            assert task.select == "", "the whole-suite mode runs every suite"
            self.ran.append(task.name)
            run = _run(task.name, A_1="fail") if task.name != "identity" else _run("identity")
            run.error = "boom" if task.name in self.broken else None
            yield run


def test_the_whole_suite_mode_skips_finished_faults_and_retries_broken_ones(tmp_path: Path) -> None:
    specs = [_spec("one"), _spec("two")]
    first = FakeRunner(broken=["two"])
    report = evaluate_whole_suite(specs, workers=2, cache_dir=tmp_path, runner=first)
    assert sorted(first.ran) == ["identity", "one", "two"]
    assert report.whole_suite
    assert [o.error for o in report.outcomes] == [None, "boom"]

    second = FakeRunner()
    report = evaluate_whole_suite(specs, workers=2, cache_dir=tmp_path, runner=second)
    assert second.ran == ["two"]  # identity and `one` came from the cache; the broken run is retried
    assert [o.killed for o in report.outcomes] == [True, True]

    third = FakeRunner()
    evaluate_whole_suite(specs, workers=2, cache_dir=tmp_path, runner=third)
    assert third.ran == []


def test_a_partial_report_runs_nothing_and_names_what_is_not_measured(tmp_path: Path) -> None:
    specs = [_spec("one"), _spec("two")]
    evaluate_whole_suite(specs[:1], workers=1, cache_dir=tmp_path, runner=FakeRunner())
    nothing = FakeRunner()
    report = evaluate_whole_suite(specs, workers=1, cache_dir=tmp_path, runner=nothing, cached_only=True)
    assert nothing.ran == []
    assert [o.spec.id for o in report.outcomes] == ["one"]
    assert report.unmeasured == ["two"]
    assert "**Partial: 1 of 2 faults measured**; not measured yet: `two`." in markdown_table(report, "x")


def test_a_changed_fault_definition_is_measured_again(tmp_path: Path) -> None:
    cache = RunCache(tmp_path)
    spec = _spec("one")
    cache.store(spec, _run("one", A_1="fail"), "abc123")
    loaded = cache.load(spec)
    assert loaded is not None
    run, commit = loaded
    assert run.verdicts["A-1"] == "fail"
    assert commit == "abc123"
    changed = FaultSpec("one", "front", "identity", ("A-1",), "x", "d", args={"other": 1})
    assert cache.load(changed) is None
    assert RunCache(tmp_path, External("http://elsewhere")).load(spec) is None


@pytest.mark.slow
def test_the_whole_suite_mode_on_two_real_faults(tmp_path: Path) -> None:
    """The real thing, small: identity plus two faults, each running every suite; run again, nothing runs."""
    specs = catalogue.faults(["stream-done-missing", "error-envelope-extra-fields"])
    report = evaluate_whole_suite(specs, workers=2, cache_dir=tmp_path)
    assert report.false_positives == {}
    assert [o.killed for o in report.outcomes] == [True, True], [o.error for o in report.outcomes]
    assert all(o.tests > 300 for o in report.outcomes)  # the whole suite, not a selection
    nothing = FakeRunner()
    again = evaluate_whole_suite(specs, workers=2, cache_dir=tmp_path, runner=nothing)
    assert nothing.ran == []
    assert [o.collateral for o in again.outcomes] == [o.collateral for o in report.outcomes]
