"""Observations: what the target did (e.g. the provider a strategy picked) reaches its requirement's row,
in results.json and the HTML details, whatever the verdict."""

from __future__ import annotations

from typing import Any

from auriko_conformance.suites.plugin import Judge
from auriko_conformance.suites.report import build_results, render_html


def _test(nodeid: str, observations: list[dict[str, str]], outcome: str = "passed") -> dict[str, Any]:
    return {
        "nodeid": nodeid,
        "outcome": outcome,
        "reason": "",
        "duration_s": 0.1,
        "requirements": ["ROUTE-031"],
        "findings": [],
        "evidence": [],
        "checked": ["ROUTE-031"],
        "observations": observations,
    }


def test_observations_reach_the_row_and_the_page() -> None:
    seen = [{"requirement": "ROUTE-031", "text": "ttft-focus: asked ['vllm'], reported provider 'vllm'"}]
    results = build_results([_test("t.py::a", seen), _test("t.py::b", [])], options={}, started=0, finished=1)
    row = next(r for r in results["requirements"] if r["id"] == "ROUTE-031")
    assert row["verdict"] == "pass"
    assert row["observations"] == [{**seen[0], "test": "t.py::a"}]
    other = next(r for r in results["requirements"] if r["id"] == "ROUTE-032")
    assert other["observations"] == []
    assert "Observed: ttft-focus: asked [&#x27;vllm&#x27;]" in render_html([results])


def test_a_record_without_observations_still_builds() -> None:
    record = _test("t.py::a", [])
    del record["observations"]
    results = build_results([record], options={}, started=0, finished=1)
    assert next(r for r in results["requirements"] if r["id"] == "ROUTE-031")["observations"] == []


def test_judge_observe_keeps_the_requirement(request: Any) -> None:
    judge = Judge(request.node)
    judge.observe("ROUTE-035", "all weight on cost: asked ['vllm-b']")
    assert judge.observations == [
        {"requirement": "ROUTE-035", "text": "all weight on cost: asked ['vllm-b']"}
    ]
    assert judge.findings == []
