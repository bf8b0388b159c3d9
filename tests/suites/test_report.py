"""Verdicts per requirement, and the reports built from them."""

from __future__ import annotations

import html
from pathlib import Path

import orjson
import pytest
from auriko_conformance.suites.plugin import NOT_CLAIMED
from auriko_conformance.suites.report import build_results, console_summary, main, render_html, write_reports


def _test(
    nodeid: str,
    outcome: str,
    requirements: list[str],
    findings=(),
    checked=(),
    reason: str = "",
    unclaimed=(),
) -> dict:
    return {
        "nodeid": nodeid,
        "outcome": outcome,
        "reason": reason,
        "duration_s": 0.01,
        "requirements": requirements,
        "findings": [dict(f) for f in findings],
        "evidence": [
            {
                "test": nodeid,
                "requirements": sorted({f["requirement"] for f in findings}),
                "request": {"body": {"model": "m"}},
                "response": {"status": 200},
            }
        ]
        if findings
        else [],
        "checked": list(checked),
        "unclaimed": list(unclaimed),
    }


def _finding(requirement: str, level: str, message: str = "broken") -> dict:
    return {"requirement": requirement, "check": "c", "message": message, "level": level}


TESTS = [
    _test("t::pass", "passed", ["STREAM-001"], checked=["STREAM-001"]),
    # Carrying the marker is not evidence: nothing judged STREAM-009, so it was not run.
    _test("t::marker-only", "passed", ["STREAM-009"]),
    _test("t::must", "failed", ["STREAM-002"], [_finding("STREAM-002", "MUST", "[DONE] twice")]),
    _test("t::should", "passed", ["STREAM-004"], [_finding("STREAM-004", "SHOULD")]),
    _test("t::claim", "not_claimed", ["EXT-001"], reason=NOT_CLAIMED + "extensions"),
    _test("t::crash", "failed", ["AUTH-001"], reason="ConnectError"),
    _test("t::checked", "passed", [], checked=["ERR-001"]),
    # A MUST failure of one requirement does not fail the other requirement the test also covers.
    _test(
        "t::two",
        "failed",
        ["META-001", "META-003"],
        [_finding("META-003", "MUST")],
        checked=["META-001", "META-003"],
    ),
    # The test ran, but the checks of META-006 need routing_metadata, which the profile does not claim.
    _test("t::unclaimed", "passed", ["META-006"], unclaimed=["META-006", "META-008"]),
    # Unclaimed in one test, judged in another: the judgement wins.
    _test("t::unclaimed-2", "passed", ["STREAM-001"], unclaimed=["STREAM-001"]),
]


@pytest.fixture
def results() -> dict:
    return build_results(TESTS, options={"level": "full"}, started=0.0, finished=1.5)


def _verdict(results: dict, requirement: str) -> str:
    return next(r["verdict"] for r in results["requirements"] if r["id"] == requirement)


@pytest.mark.parametrize(
    ("requirement", "verdict"),
    [
        ("STREAM-001", "pass"),
        ("STREAM-002", "fail"),
        ("STREAM-004", "informational"),
        ("EXT-001", "not_claimed"),
        ("AUTH-001", "fail"),
        ("ERR-001", "pass"),
        ("META-001", "pass"),
        ("META-003", "fail"),
        ("ROUTE-001", "not_run"),
        ("STREAM-009", "not_run"),
        ("META-006", "not_claimed"),
        ("META-008", "not_claimed"),
    ],
)
def test_verdicts(results: dict, requirement: str, verdict: str) -> None:
    assert _verdict(results, requirement) == verdict


def test_summary_counts_every_requirement(results: dict) -> None:
    assert sum(results["summary"].values()) == len(results["requirements"])
    assert results["summary"]["fail"] == 3


def test_console_summary_names_failures(results: dict) -> None:
    text = console_summary(results)
    assert "FAIL STREAM-002 (MUST)" in text
    assert "[DONE] twice" in text


def test_reports_are_written(results: dict, tmp_path: Path) -> None:
    write_reports(results, tmp_path)
    assert orjson.loads((tmp_path / "results.json").read_bytes())["summary"] == results["summary"]
    html = (tmp_path / "report.html").read_text()
    assert "STREAM-002" in html
    assert "[DONE] twice" in html
    assert "<script" not in html


def test_two_runs_side_by_side(results: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = build_results(
        [_test("t::pass", "passed", ["STREAM-002"], checked=["STREAM-002"])],
        options={},
        started=0,
        finished=1,
    )
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(orjson.dumps(results))
    b.write_bytes(orjson.dumps(other))
    out = tmp_path / "both.html"
    assert main([str(a), str(b), "-o", str(out), "--label", "before", "--label", "after"]) == 0
    html = out.read_text()
    assert "<th>before</th>" in html
    assert "<th>after</th>" in html
    row = html[html.index("<code>STREAM-002</code>") :].split("</tr>")[0]
    assert 'class="v fail"' in row
    assert 'class="v pass"' in row
    assert render_html([results]).count("<table>") >= 10


def test_report_cli_rejects_unreadable_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit):
        main([str(bad)])


def test_snapshot_diffs_appear_in_the_report(tmp_path: Path) -> None:
    diff = "AssertionError: assert [+ received] == [- snapshot]\n-  'stop_sequences': ['END']\n+  'stop': ['END']"
    tests = [
        *TESTS,
        _test("suites/test_regression.py::test_stream_transcript[openai-plain]", "failed", [], reason=diff),
    ]
    results = build_results(tests, options={}, started=0, finished=1)
    assert results["other_failures"][0]["test"].endswith("[openai-plain]")
    assert html.escape("'stop': ['END']") in render_html([results])
    assert "test_stream_transcript[openai-plain]" in console_summary(results)


def test_evidence_is_labelled_and_shown_only_on_its_own_requirement() -> None:
    """A test failing META-003 also covers META-001: META-001's row shows neither the evidence nor the
    failure text of META-003's finding."""
    two = _test(
        "t::two",
        "failed",
        ["META-001", "META-003"],
        [_finding("META-003", "MUST")],
        checked=["META-001", "META-003"],
        reason="[META-003] c: broken",
    )
    results = build_results([two], options={"level": "full"}, started=0.0, finished=1.0)
    rows = {row["id"]: row for row in results["requirements"]}
    assert rows["META-001"]["verdict"] == "pass"
    assert rows["META-001"]["evidence"] == []
    assert rows["META-001"]["reasons"] == []
    assert rows["META-003"]["evidence"][0]["test"] == "t::two"
    page = render_html([results])
    assert "Evidence from t::two" in page


def test_a_crash_without_findings_keeps_its_failure_text() -> None:
    crash = _test("t::crash", "failed", ["AUTH-001"], reason="ConnectError: refused")
    results = build_results([crash], options={"level": "full"}, started=0.0, finished=1.0)
    row = next(r for r in results["requirements"] if r["id"] == "AUTH-001")
    assert row["reasons"] == ["ConnectError: refused"]


def test_cited_decisions_are_linked_to_their_text_in_the_report(results: dict) -> None:
    page = render_html([results])
    decided = [row for row in results["requirements"] if row.get("decision")]
    assert decided, "the catalogue cites decisions"
    decision = decided[0]["decision"]
    assert f"<a href='#decision-{decision}'>{decision}</a>" in page
    assert f"<div id='decision-{decision}'><pre>{decision}:" in page


def test_worker_header_lines_are_left_out_of_failure_texts() -> None:
    from types import SimpleNamespace

    from auriko_conformance.suites.plugin import _failure_text

    report = SimpleNamespace(longreprtext="[gw0] linux -- Python 3.11.2 /venv/bin/python\nE   boom")
    assert _failure_text(report) == "E   boom"


def test_a_run_that_judged_nothing_says_why(tmp_path: Path) -> None:
    from auriko_conformance.suites.report import not_judged_results

    results = not_judged_results("preflight failed", "Preflight failed, nothing was judged. X.", {})
    write_reports(results, tmp_path)
    assert results["requirements"] == []
    assert (
        console_summary(results) == "not judged: preflight failed. Preflight failed, nothing was judged. X."
    )
    assert "not judged: preflight failed" in (tmp_path / "report.html").read_text()
    assert '<error message="not judged: preflight failed">' in (tmp_path / "junit.xml").read_text()


def test_a_requirement_not_judged_for_a_missing_package_says_so_in_its_row() -> None:
    reason = "not judged: missing Python package openai (pip install openai)"
    skipped = _test("t::sdk", "skipped", ["CLIENT-001"], reason=reason)
    results = build_results([skipped], options={"level": "full"}, started=0.0, finished=1.0)
    row = next(r for r in results["requirements"] if r["id"] == "CLIENT-001")
    assert row["verdict"] == "skipped"
    assert row["skip_reasons"] == [reason]
    assert "NOT JUDGED CLIENT-001: missing Python package openai" in console_summary(results)
    assert html.escape(reason) in render_html([results])
