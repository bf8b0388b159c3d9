"""Verdicts on a gateway the suite was not tuned on: one root cause, one finding (D-090, D-091).

The deviant gateway here is the reference with one defect: its Anthropic adapter never sets the
`max_tokens` Anthropic requires, so the strict Anthropic mock refuses every request with 400. The rule
that states the field (XLATE-001) must fail, judged from the journal although the upstream refused;
every other requirement those tests cover must read "blocked" by it, never "fail".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.mocks.app import create_app as create_mocks
from auriko_conformance.reference_impl.adapters.anthropic import AnthropicAdapter
from auriko_conformance.reference_impl.app import create_app as create_gateway
from auriko_conformance.reference_impl.config import TEST_API_KEY, default_config
from auriko_conformance.suites.checks import Finding
from auriko_conformance.suites.findings import group_findings, normalise
from auriko_conformance.suites.report import build_results, console_summary, render_html

from auriko_conformance.servers import serving
from tests.suites.nested import run_suites

SUITES = Path(__file__).resolve().parents[2] / "suites"


def _drop_max_tokens(self: AnthropicAdapter, attempt: Any, native: dict[str, Any], max_tokens: Any) -> None:
    """The defect: the field Anthropic requires is never placed."""


def test_an_omitted_upstream_field_fails_its_rule_and_blocks_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AnthropicAdapter, "place_max_tokens", _drop_max_tokens)
    with (
        serving(create_mocks()) as mocks,
        serving(create_gateway(default_config(mock_base_url=mocks.url))) as gw,
    ):
        run_suites(
            [
                str(SUITES / "test_translation.py"),
                *("-k", "anthropic and not snapshot", "-q", "-p", "no:cacheprovider"),
                *("--target-url", gw.url, "--mock-url", mocks.url, "--api-key", TEST_API_KEY),
                *("--conformance-report", str(tmp_path)),
            ]
        )
    rows = {row["id"]: row for row in orjson.loads((tmp_path / "results.json").read_bytes())["requirements"]}
    failed = {i for i, row in rows.items() if row["verdict"] == "fail"}
    blocked = {i for i, row in rows.items() if row["verdict"] == "blocked"}
    assert failed == {"XLATE-001"}
    assert len(blocked) >= 10, blocked  # the translation rules of every Anthropic test
    assert {r for i in blocked for r in rows[i]["blocked_by"]} == {"XLATE-001"}
    groups = rows["XLATE-001"]["groups"]
    assert len(groups) == 1
    assert groups[0]["count"] > 10
    assert "max_tokens" in groups[0]["example"]["message"]
    assert rows["XLATE-001"]["blocks"] == len(blocked)


def _run(*tests: dict[str, Any]) -> dict[str, Any]:
    base = {"outcome": "passed", "reason": "", "findings": [], "evidence": [], "checked": [], "blocked": []}
    return build_results([{**base, **t} for t in tests], options={"level": "full"}, started=0, finished=1)


def _finding(requirement: str, message: str) -> dict[str, Any]:
    return {"requirement": requirement, "check": "c", "message": message, "level": "MUST"}


def test_blocked_wins_over_pass_and_loses_to_a_finding() -> None:
    """A requirement one test could not judge is not a pass (class 4); a real finding still fails it."""
    results = _run(
        {"nodeid": "a", "requirements": ["SCHEMA-001"], "checked": ["SCHEMA-001"]},
        {"nodeid": "b", "requirements": ["SCHEMA-001"], "outcome": "failed",
         "findings": [_finding("REQ-027", "a valid request was answered HTTP 400")],
         "blocked": [{"requirement": "SCHEMA-001", "reason": "HTTP 400", "roots": ["REQ-027"]}]},
        {"nodeid": "c", "requirements": ["STREAM-002"], "outcome": "failed",
         "findings": [_finding("STREAM-002", "the stream never sent data: [DONE]")],
         "blocked": [{"requirement": "STREAM-002", "reason": "HTTP 400", "roots": ["REQ-027"]}]},
    )  # fmt: skip
    rows = {row["id"]: row for row in results["requirements"]}
    assert rows["SCHEMA-001"]["verdict"] == "blocked"
    assert rows["SCHEMA-001"]["blocked_by"] == ["REQ-027"]
    assert rows["STREAM-002"]["verdict"] == "fail"
    assert rows["REQ-027"]["verdict"] == "fail"
    assert rows["REQ-027"]["blocks"] == 1
    console = console_summary(results)
    lines = [line for line in console.splitlines() if line.startswith(("FAIL", "BLOCKED"))]
    assert lines[0].startswith("FAIL REQ-027")
    assert "blocks 1" in lines[0]
    assert "BLOCKED SCHEMA-001 by REQ-027" in lines
    page = render_html([results])
    assert 'class="v blocked"' in page
    assert "#req-REQ-027" in page


def test_findings_are_grouped_by_normalised_message() -> None:
    findings = [
        Finding("SCHEMA-002", "c", f"event #{i}: 'x{i}' is not of type 'integer'") for i in range(200)
    ]
    findings.append(Finding("SCHEMA-002", "c", "event #3: missing id"))
    groups = group_findings(findings)
    assert [(g.requirement, g.count) for g in groups] == [("SCHEMA-002", 200), ("SCHEMA-002", 1)]
    assert str(groups[0]).startswith("[SCHEMA-002] (x200) event #0")
    assert normalise("HTTP 400 'a' vs \"b\" id 0123abcd99") == "HTTP # '…' vs '…' id <id>"
    results = _run(
        {"nodeid": "a", "requirements": ["SCHEMA-002"], "outcome": "failed",
         "findings": [_finding(f.requirement, f.message) for f in findings]},
    )  # fmt: skip
    row = next(r for r in results["requirements"] if r["id"] == "SCHEMA-002")
    assert row["finding_count"] == 201
    assert [g["count"] for g in row["groups"]] == [200, 1]
