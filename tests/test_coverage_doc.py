"""docs/coverage.md is current, has no missing row, and the inventory it comes from stays honest."""

from __future__ import annotations

from pathlib import Path

import pytest
from auriko_conformance.suites import coverage
from auriko_conformance.suites.requirements import load_catalogue


def test_the_document_is_current() -> None:
    assert coverage.OUTPUT.read_text(encoding="utf-8") == coverage.build(), (
        "docs/coverage.md is stale: run .venv/bin/python -m auriko_conformance.suites.coverage --write"
    )


def test_no_missing_row_and_every_partial_says_why() -> None:
    items = coverage.load_inventory()
    assert coverage.problems(items, load_catalogue()) == []
    assert all(item.requirements or item.out_of_scope for item in items)
    text = coverage.OUTPUT.read_text(encoding="utf-8")
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith(("| Item", "| ---"))
    ]
    assert len(rows) == len(items)
    assert not any(row.rstrip(" |").endswith("| missing") for row in rows)
    assert all(": " in row.rsplit("| partial", 1)[1] for row in rows if "| partial" in row)


def _inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "coverage.yaml"
    path.write_text("version: 1\nitems:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("  - {item: a, source: s, requirements: []}\n", "missing"),
        ("  - {item: a, source: s, requirements: [NOPE-001]}\n", "unknown requirements"),
        ("  - {item: a, source: s, requirements: [ROUTE-001], partial: ' '}\n", "partial without a reason"),
        (
            "  - {item: a, source: s, requirements: [ROUTE-001], partial: p, out_of_scope: o}\n",
            "both partial and out of scope",
        ),
        ("  - {item: a, source: s, requirements: [ROUTE-001]}\n", "not named by any documented item"),
    ],
)
def test_a_dishonest_inventory_is_refused(tmp_path: Path, body: str, words: str) -> None:
    found = coverage.problems(coverage.load_inventory(_inventory(tmp_path, body)), load_catalogue())
    assert any(words in problem for problem in found), found
    with pytest.raises(coverage.InventoryError):
        coverage.build(_inventory(tmp_path, body))


def test_suite_tests_are_found_per_requirement() -> None:
    tests = coverage.suite_tests(load_catalogue())
    assert "test_routing.py::test_strategy_picks_what_it_promises" in tests["ROUTE-031"]
    assert "test_budgets.py::test_a_spent_budget_is_refused" in tests["HDR-005"]


def test_check_mode_reports_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "coverage.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(coverage, "OUTPUT", stale)
    assert coverage.main(["--check"]) == 1
    assert coverage.main(["--write"]) == 0
    assert coverage.main(["--check"]) == 0
