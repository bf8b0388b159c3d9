"""The fuzzer's results folded into the suites' report: verdicts, HTML section, JUnit, the CLI paths."""

from __future__ import annotations

import copy
import datetime as dt
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.suites import report
from auriko_conformance.suites.fuzzing import merge as fuzz_report
from auriko_conformance.suites.fuzzing import results as fuzz_results
from auriko_conformance.suites.fuzzing.settings import FuzzOptions
from auriko_conformance.suites.runner import exit_code

from auriko_conformance import fuzz as fuzz_cli
from auriko_conformance.servers import serving
from tests.fixed_answer import fixed_answer

URL = "http://gateway.test"
CURL = "curl -sS -X POST -H 'Content-Type: application/json' --data-binary '{}' http://gateway.test/v1/x"


def _failure(
    check: str, *, requirement: str | None = None, status: int = 400, **extra: Any
) -> dict[str, Any]:
    return {
        "check": check,
        "code": "ST901" if requirement else "ST101",
        "requirement": requirement,
        "title": f"{check} failed",
        "message": "the body is not the envelope",
        "operation": "POST /v1/chat/completions",
        "phase": "coverage",
        "mode": "negative",
        "status": status,
        "count": 3,
        "response": '{"detail":"x"}',
        "curl": CURL,
        **extra,
    }


#: when the fuzz runs below started: the suites' runs of these tests start now, so they pair (D-135)
_NOW = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _fuzz(*failures: dict[str, Any], informational: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "tool": "schemathesis 4.x",
        "target": {"url": URL, "label": URL, "profile": "reference"},
        "started_at": _NOW,
        "duration_s": 1.0,
        "settings": {
            "seed": 1, "deterministic": True, "phases": ["coverage"], "mode": "all", "max_examples": 5,
            "workers": 1,
        },
        "requests": {
            "total": 10, "by_phase": {"coverage": {"negative": 7, "positive": 3}},
            "by_mode": {"negative": 7, "positive": 3}, "by_status": {"2xx": 3, "4xx": 7},
            "by_operation": {}, "network_errors": 0,
        },
        "exit_code": 1 if failures else 0,
        "stop_reason": "completed",
        "passed": not failures,
        "errors": [],
        "failures": list(failures),
        "accepted_refusals": {},
        "informational": informational or [],
        "reports": {"junit": "fuzz-junit.xml", "config": "fuzz-schemathesis.toml"},
    }  # fmt: skip


def _passing_results() -> dict[str, Any]:
    """Suite results in which every requirement passed (one test judged them all)."""
    ids = [req.id for req in report.load_catalogue()]
    test = {
        "nodeid": "suites/test_x.py::test_all",
        "outcome": "passed",
        "reason": "",
        "requirements": ids,
        "checked": ids,
        "findings": [],
    }
    now = time.time()
    return report.build_results([test], options={"target-url": URL}, started=now, finished=now)


def _row(results: dict[str, Any], requirement: str) -> dict[str, Any]:
    return next(row for row in results["requirements"] if row["id"] == requirement)


# --------------------------------------------------------------------------------------------- verdicts


def test_a_fuzz_failure_fails_the_requirement_it_names():
    results = _passing_results()
    assert _row(results, "SCHEMA-006")["verdict"] == "pass"
    fuzz_report.attach(results, _fuzz(_failure("auriko_error_envelope", requirement="SCHEMA-006")))
    row = _row(results, "SCHEMA-006")
    assert row["verdict"] == "fail"
    assert row["suite_verdict"] == "pass"
    (finding,) = row["findings"]
    assert finding["source"] == "fuzz"
    assert finding["level"] == "MUST"
    assert finding["curl"] == CURL
    assert "coverage, negative" in finding["test"]
    assert "x3" in finding["test"]
    assert results["summary"]["fail"] == 1
    assert results["suite_summary"]["fail"] == 0
    assert _row(results, "SCHEMA-001")["verdict"] == "pass"  # rows the fuzzer did not name stay


def test_built_in_checks_bind_to_their_requirement_or_stay_unbound():
    results = _passing_results()
    fuzz = _fuzz(
        _failure("ignored_auth"),
        _failure("content_type_conformance", status=500),
        _failure("content_type_conformance", status=200),
        _failure("not_a_server_error", status=500),
    )
    fuzz_report.attach(results, fuzz)
    for requirement in ("AUTH-002", "ERR-004", "SCHEMA-009"):
        assert _row(results, requirement)["verdict"] == "fail", requirement
    assert [f["check"] for f in results["fuzz"]["unbound_failures"]] == ["not_a_server_error"]
    assert results["summary"]["fail"] == 3


def test_every_bound_check_names_a_catalogued_requirement():
    known = {req.id for req in report.load_catalogue()}
    assert set(fuzz_report.BUILTIN_REQUIREMENTS.values()) <= known


def test_a_should_finding_makes_a_passing_row_informational_not_failed():
    results = _passing_results()
    informational = [{"requirement": "HDR-002", "check": "x_request_id", "count": 4, "example": "no id"}]
    fuzz_report.attach(results, _fuzz(informational=informational))
    row = _row(results, "HDR-002")
    assert row["verdict"] == "informational"
    assert row["findings"][0]["message"] == "no id"
    assert results["summary"]["fail"] == 0


def test_merging_again_replaces_the_earlier_fuzz_run():
    results = _passing_results()
    fuzz_report.attach(results, _fuzz(_failure("auriko_error_envelope", requirement="SCHEMA-006")))
    once = copy.deepcopy(results)
    fuzz_report.attach(results, _fuzz(_failure("auriko_error_envelope", requirement="SCHEMA-006")))
    assert results["requirements"] == once["requirements"]
    assert results["summary"] == once["summary"]
    fuzz_report.attach(results, _fuzz())  # a later, clean run
    row = _row(results, "SCHEMA-006")
    assert row["verdict"] == "pass"
    assert row["findings"] == []
    assert "suite_verdict" not in row
    assert results["summary"] == results["suite_summary"]


def test_a_suite_failure_is_kept_when_the_fuzzer_finds_nothing():
    results = _passing_results()
    row = _row(results, "ERR-005")
    row["verdict"] = "fail"
    row["findings"] = [{"requirement": "ERR-005", "level": "MUST", "check": "c", "message": "m", "test": "t"}]
    fuzz_report.attach(results, _fuzz())
    assert _row(results, "ERR-005")["verdict"] == "fail"
    assert len(_row(results, "ERR-005")["findings"]) == 1


def test_the_run_exit_code_stays_the_suites_own():
    results = _passing_results()
    fuzz_report.attach(results, _fuzz(_failure("auriko_error_envelope", requirement="SCHEMA-006")))
    assert exit_code(results, "must") == 0  # the fuzz command exits 1 for it itself
    _row(results, "SCHEMA-006")  # still visible as a failure in the merged report
    assert results["summary"]["fail"] == 1


# ------------------------------------------------------------------------------------------------- HTML


def test_the_html_report_shows_the_fuzzing_section_with_replay_lines():
    results = _passing_results()
    fuzz_report.attach(
        results,
        _fuzz(
            _failure("auriko_error_envelope", requirement="SCHEMA-006"),
            _failure("not_a_server_error", status=500),
        ),
    )
    page = report.render_html([results])
    assert "<h2>Fuzzing: http://gateway.test</h2>" in page
    assert "<b>10</b> requests, 2 unique failure(s)" in page
    assert "<code>auriko_error_envelope</code>: 1 unique, 3 failing case(s)" in page
    assert "unbound <code>not_a_server_error</code>" in page
    assert page.count("--data-binary &#x27;{}&#x27;") >= 2  # in the section and on the SCHEMA-006 row
    console = report.console_summary(results)
    assert "2 unique failure(s), 1 bound to no requirement" in console
    assert "FAIL SCHEMA-006" in console


def test_the_html_report_without_fuzzing_has_no_section():
    assert "Fuzzing" not in report.render_html([_passing_results()])


# ------------------------------------------------------------------------------------------------ JUnit

_PYTEST_JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
    '<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1">'
    '<testcase classname="t" name="a"/></testsuite></testsuites>'
)
_FUZZ_JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites errors="0" failures="1" skipped="0" tests="2">'
    '<testsuite name="schemathesis" errors="0" failures="1" skipped="0" tests="2">'
    '<testcase name="POST /v1/chat/completions"><failure type="failure" message="ST901">x</failure>'
    '</testcase><testcase name="GET /v1/models"/></testsuite></testsuites>'
)


def test_junit_gains_the_fuzz_suite_once(tmp_path):
    junit, fuzz_junit = tmp_path / "junit.xml", tmp_path / "fuzz-junit.xml"
    junit.write_text(_PYTEST_JUNIT)
    fuzz_junit.write_text(_FUZZ_JUNIT)
    assert fuzz_report.merge_junit(junit, fuzz_junit)
    assert fuzz_report.merge_junit(junit, fuzz_junit)  # a second merge replaces the first
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["pytest", "fuzz: schemathesis"]
    assert suites[1].find("testcase/failure").get("message") == "ST901"


def test_junit_totals_are_kept_up_to_date_when_the_root_has_them(tmp_path):
    junit, fuzz_junit = tmp_path / "junit.xml", tmp_path / "fuzz-junit.xml"
    junit.write_text(_PYTEST_JUNIT.replace('name="pytest tests"', 'tests="1" failures="0"'))
    fuzz_junit.write_text(_FUZZ_JUNIT)
    fuzz_report.merge_junit(junit, fuzz_junit)
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("3", "1")


def test_junit_is_left_alone_without_a_fuzz_report(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(_PYTEST_JUNIT)
    assert not fuzz_report.merge_junit(junit, tmp_path / "fuzz-junit.xml")
    assert junit.read_text() == _PYTEST_JUNIT


# ------------------------------------------------------------------------------------------- directories


def _write(directory: Path, results: dict[str, Any], fuzz: dict[str, Any]) -> None:
    report.write_reports(results, directory)
    (directory / "fuzz.json").write_bytes(orjson.dumps(fuzz))


def test_the_suites_fold_in_a_fuzz_run_of_their_session_before_writing(tmp_path):
    (tmp_path / "fuzz.json").write_bytes(orjson.dumps(_fuzz(_failure("ignored_auth"))))
    results = _passing_results()
    message = fuzz_report.fold_saved_fuzz_run(results, tmp_path)
    assert message is not None
    assert message.startswith("merged the fuzz run of")
    assert "against http://gateway.test" in message
    assert _row(results, "AUTH-002")["verdict"] == "fail"
    report.write_reports(results, tmp_path)
    assert "<h2>Fuzzing" in (tmp_path / "report.html").read_text()


def test_the_fuzzer_folds_its_run_into_saved_suites_results(tmp_path):
    report.write_reports(_passing_results(), tmp_path)
    results, message = fuzz_report.saved_suites_results(tmp_path, _fuzz(_failure("ignored_auth")))
    assert results is not None
    assert message is not None
    assert message.startswith("merged the fuzz run")
    assert _row(results, "AUTH-002")["verdict"] == "fail"


def test_fuzz_results_of_another_target_are_not_merged(tmp_path):
    other = _fuzz(_failure("ignored_auth"))
    other["target"] = {"url": "embedded reference", "label": "embedded reference", "profile": "reference"}
    _write(tmp_path, _passing_results(), other)
    results = _passing_results()
    message = fuzz_report.fold_saved_fuzz_run(results, tmp_path)
    assert message is not None
    assert "not merged" in message
    assert "embedded reference" in message
    assert "different targets" in message
    assert "fuzz" not in results
    assert fuzz_report.saved_suites_results(tmp_path, other)[0] is None


def test_a_fuzz_run_of_another_session_is_named_and_left_out(tmp_path):
    """A fuzz.json left from hours before says its date and target and stays out of the report (D-135)."""
    stale = _fuzz(_failure("ignored_auth"))
    stale["started_at"] = "2026-11-25T00:00:00+00:00"
    (tmp_path / "fuzz.json").write_bytes(orjson.dumps(stale))
    results = _passing_results()
    message = fuzz_report.fold_saved_fuzz_run(results, tmp_path) or ""
    assert message.startswith("fuzz results not merged: the fuzz run of 2026-11-25T00:00:00+00:00 against")
    assert "h apart, not in one session (D-135)" in message
    assert "fuzz" not in results
    assert _row(results, "AUTH-002")["verdict"] == "pass"


def test_runs_within_an_hour_of_each_other_pair():
    results = _passing_results()
    fuzz = _fuzz()
    start = dt.datetime.fromisoformat(results["started_at"])
    fuzz["started_at"] = (start - dt.timedelta(minutes=50)).isoformat()
    fuzz["duration_s"] = 600.0  # ended 40 minutes before the suites started
    assert fuzz_report.why_apart(results, fuzz) is None
    fuzz["duration_s"] = 1.0  # ended 50 minutes before: still one session
    assert fuzz_report.why_apart(results, fuzz) is None
    fuzz["started_at"] = (start + dt.timedelta(hours=2)).isoformat()
    assert "apart" in (fuzz_report.why_apart(results, fuzz) or "")
    del fuzz["started_at"]
    assert fuzz_report.why_apart(results, fuzz) == "one of them has no date"


def test_same_target_compares_labels_and_profile_names():
    results = {"target": {"url": "http://gateway.test", "label": "embedded reference", "profile": None}}
    fuzz = {"target": {"url": "embedded reference", "profile": "reference"}}  # fuzz.json before labels
    assert fuzz_report.same_target(results, fuzz)
    results["target"]["profile"] = "/abs/fixtures/profiles/litellm.yaml"
    assert not fuzz_report.same_target(results, fuzz)
    fuzz["target"]["profile"] = "fixtures/profiles/litellm.yaml"
    assert fuzz_report.same_target(results, fuzz)


def test_nothing_to_merge_without_both_files(tmp_path):
    assert fuzz_report.fold_saved_fuzz_run(_passing_results(), tmp_path) is None
    assert fuzz_report.saved_suites_results(tmp_path, _fuzz()) == (None, None)


def test_report_cli_folds_in_a_fuzz_file(tmp_path, capsys):
    _write(tmp_path, _passing_results(), _fuzz(_failure("unsupported_method", status=404)))
    output = tmp_path / "both.html"
    code = report.main(
        [str(tmp_path / "results.json"), "--fuzz", str(tmp_path / "fuzz.json"), "-o", str(output)]
    )
    assert code == 0
    page = output.read_text()
    assert "<h2>Fuzzing" in page
    assert "unsupported_method" in page
    with pytest.raises(SystemExit):
        report.main([str(tmp_path / "results.json"), "--fuzz", str(tmp_path / "results.json")])
    assert "not a fuzz.json" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- a real run


#: Answers every request with a 400 whose body is not the contract's envelope.
_wrong_envelope = fixed_answer(400, b"application/json", b'{"detail": "bad"}')


@pytest.mark.slow
def test_a_fuzz_run_folds_into_the_suites_report_of_the_same_target(tmp_path):
    with serving(_wrong_envelope) as server:
        now = time.time()
        results = report.build_results([], options={"target-url": server.url}, started=now, finished=now)
        report.write_reports(results, tmp_path)
        (tmp_path / "junit.xml").write_text(_PYTEST_JUNIT)
        code = fuzz_cli.main(
            [
                "--target-url", server.url, "--api-key", "ak_test_key", "--phases", "examples",
                "--mode", "positive", "--report-dir", str(tmp_path),
            ]
        )  # fmt: skip
    assert code == 1
    merged = report.load_results(tmp_path / "results.json")
    assert merged["fuzz"]["requests"]["total"] > 0
    assert _row(merged, "SCHEMA-006")["verdict"] == "fail"  # the suites ran nothing; the fuzzer judged it
    assert any(f["curl"].startswith("curl -sS") for f in _row(merged, "SCHEMA-006")["findings"])
    names = [s.get("name") for s in ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")]
    assert names == ["pytest", "fuzz: schemathesis"]
    assert "<h2>Fuzzing" in (tmp_path / "report.html").read_text()


def test_a_target_label_names_both_runs_whatever_their_urls(tmp_path):
    """Gateways started on a fresh port per CI run: `--target-label` lets the two runs meet."""
    from auriko_conformance.suites import runner

    args = runner.parser().parse_args(["--target-url", URL, "--target-label", "my-gateway"])
    argv = runner.pytest_args(args, URL, "ak_x", None, args.target_label)
    assert "--target-label=my-gateway" in argv
    now = time.time()
    results = report.build_results(
        [], options={"target-url": URL, "target-label": "my-gateway"}, started=now, finished=now
    )
    options = FuzzOptions(target_url="http://gateway-b.test", target_label="my-gateway", report_dir=tmp_path)
    summary = fuzz_results.build_summary(
        options, fuzz_results.FuzzResults(), target_url="http://gateway-b.test", embedded=False, started=now
    )
    assert summary["target"]["label"] == "my-gateway"
    assert fuzz_report.same_target(results, summary)
    embedded = runner.parser().parse_args([])
    assert embedded.target_label is None  # the runner names embedded runs itself


def test_broken_files_are_reported_not_raised(tmp_path):
    """An interrupted fuzz run leaves an empty fuzz-junit.xml; a hand-edited fuzz.json can be anything."""
    junit, fuzz_junit = tmp_path / "junit.xml", tmp_path / "fuzz-junit.xml"
    junit.write_text(_PYTEST_JUNIT)
    fuzz_junit.write_text("")
    assert not fuzz_report.merge_junit(junit, fuzz_junit)
    assert junit.read_text() == _PYTEST_JUNIT
    for content in (b"[1, 2]", b"{not json", b'{"target": {}}'):
        (tmp_path / "fuzz.json").write_bytes(content)
        message = fuzz_report.fold_saved_fuzz_run(_passing_results(), tmp_path)
        assert message is not None
        assert message.startswith("fuzz results not merged")
    (tmp_path / "results.json").write_bytes(b"[]")
    assert "not a suites' results file" in (fuzz_report.saved_suites_results(tmp_path, _fuzz())[1] or "")
