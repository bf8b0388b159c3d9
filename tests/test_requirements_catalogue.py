"""Keeps the requirement catalogue honest: well-formed, sourced, linked to decisions and to the checks.

Every verdict the suite gives is traced to an entry of suites/requirements.yaml, and its level decides
whether a finding fails a run. A duplicate ID, an undocumented source or a MUST resting on our own
decision would silently change what the suite enforces, so these tests guard the file itself.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from auriko_conformance.suites.requirements import (
    ALLOWED_SOURCE_HOSTS,
    CATALOGUE_PATH,
    LEVELS,
    SCOPES,
    Catalogue,
    CatalogueError,
    Requirement,
    load_catalogue,
    parse_catalogue,
    validate,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DECISIONS_PATH = REPO_ROOT / "docs" / "decisions.md"
CHECKS_DIR = REPO_ROOT / "suites" / "checks"
CODE_DIRS = (REPO_ROOT / "suites", REPO_ROOT / "tests")

MIN_REQUIREMENTS = 120
AREA_CODES = (
    "SCHEMA",
    "REQ",
    "STREAM",
    "META",
    "ROUTE",
    "XLATE",
    "EXT",
    "ERR",
    "AUTH",
    "HDR",
    "MODELS",
    "CLIENT",
)
REFERENCE_RE = re.compile(r"\b(?:" + "|".join(AREA_CODES) + r")-\d{3}\b")
DECISION_HEADING_RE = re.compile(r"^## (D-\d{3}): \S", re.MULTILINE)
CHECKED_BY_RE = re.compile(r"^- \*\*Checked by:\*\* (.+)$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------- helpers


def decision_sections(markdown: str) -> dict[str, str]:
    """Map each `## D-NNN: title` heading to the text of its section."""
    matches = list(DECISION_HEADING_RE.finditer(markdown))
    sections: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(markdown)
        sections[match.group(1)] = markdown[match.start() : end]
    return sections


def referenced_ids(paths: list[Path]) -> dict[str, set[Path]]:
    """Requirement IDs mentioned in the given Python files, with where each appears."""
    found: dict[str, set[Path]] = {}
    for path in paths:
        for req_id in REFERENCE_RE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(req_id, set()).add(path)
    return found


def python_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)


def check_modules(directory: Path = CHECKS_DIR) -> list[Path]:
    """Where requirements are verified: check functions, and the suite tests that judge a target.

    A suite test marked `@pytest.mark.requirement(ID)` that asserts through `judge.require(ID, ...)`
    verifies its requirement as much as a check function does.
    """
    checks = [p for p in python_files(directory) if not p.name.startswith("_")]
    if directory != CHECKS_DIR:
        return checks
    return checks + sorted(directory.parent.glob("test_*.py"))


def uncovered_requirements(catalogue: Catalogue, checks: list[Path]) -> list[str]:
    covered = referenced_ids(checks)
    return [req.id for req in catalogue if req.id not in covered]


def dangling_references(catalogue: Catalogue, code: list[Path]) -> dict[str, set[Path]]:
    return {req_id: where for req_id, where in referenced_ids(code).items() if req_id not in catalogue}


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def decisions() -> dict[str, str]:
    return decision_sections(DECISIONS_PATH.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- the file


def test_catalogue_validates_with_decisions(raw, decisions):
    assert validate(raw, decision_ids=set(decisions)) == []


def test_ids_are_unique_and_well_formed(raw):
    ids = [entry["id"] for entry in raw["requirements"]]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    bad = [i for i in ids if not re.fullmatch(r"[A-Z]+-\d{3}", i)]
    assert bad == []
    undeclared = sorted({i.split("-")[0] for i in ids} - set(raw["areas"]))
    assert undeclared == []


def test_levels_and_scopes(catalogue):
    assert {r.level for r in catalogue} <= set(LEVELS)
    assert {r.scope for r in catalogue} <= set(SCOPES)
    # All three scopes matter: core runs against anything, auriko needs the extensions, full needs the mocks.
    assert {r.scope for r in catalogue} == set(SCOPES)


def test_sources_are_https_documentation_pages(catalogue):
    offenders = [
        (r.id, r.source)
        for r in catalogue
        if urlsplit(r.source).scheme != "https" or urlsplit(r.source).hostname not in ALLOWED_SOURCE_HOSTS
    ]
    assert offenders == []


def test_decisions_exist_and_are_never_must(catalogue, decisions):
    missing = [(r.id, r.decision) for r in catalogue if r.decision and r.decision not in decisions]
    assert missing == []
    enforced = [r.id for r in catalogue if r.decision and r.level == "MUST"]
    assert enforced == []


def test_catalogue_size_and_area_coverage(catalogue):
    assert len(catalogue) >= MIN_REQUIREMENTS
    empty = [area for area, reqs in catalogue.by_area().items() if not reqs]
    assert empty == []


def test_declared_areas_are_the_ones_the_reference_regex_knows(catalogue):
    # REFERENCE_RE finds IDs in code; a new area must be added there too or its IDs go unchecked.
    assert set(catalogue.areas) == set(AREA_CODES)


def test_field_survey_bugs_are_traced(catalogue):
    assert sum(1 for r in catalogue if r.refs) >= 20


# ---------------------------------------------------------------------------------------------- decisions.md


def test_decision_headings_are_numbered_in_order(decisions):
    """Ascending and unique; ranges are reserved per work stream, so a gap waits for its stream to land."""
    numbers = [int(d.split("-")[1]) for d in decisions]
    assert numbers == sorted(set(numbers))
    assert numbers[:29] == list(range(1, 30))
    assert len(numbers) >= 29


def test_each_decision_states_question_choice_and_suite_treatment(decisions):
    incomplete = [
        did
        for did, section in decisions.items()
        if not all(label in section for label in ("**Question", "**Choice", "**Suite:**"))
    ]
    assert incomplete == []


def test_checked_by_lines_match_the_catalogue(catalogue, decisions):
    for did, section in decisions.items():
        lines = CHECKED_BY_RE.findall(section)
        assert len(lines) == 1, f"{did} needs exactly one 'Checked by' line"
        listed = set(REFERENCE_RE.findall(lines[0]))
        expected = {r.id for r in catalogue if r.decision == did}
        assert listed == expected, did


# ---------------------------------------------------------------------------------------------- loader


def test_loader_api(catalogue):
    assert load_catalogue() is catalogue  # cached: checks share one instance
    first = next(iter(catalogue))
    assert isinstance(first, Requirement)
    assert catalogue.get(first.id) is first
    assert first.id in catalogue
    assert len(catalogue.ids) == len(catalogue)
    grouped = catalogue.by_area()
    assert list(grouped) == list(catalogue.areas)
    assert sum(len(reqs) for reqs in grouped.values()) == len(catalogue)
    assert all(req.area == area for area, reqs in grouped.items() for req in reqs)


def test_get_unknown_id_raises(catalogue):
    with pytest.raises(KeyError, match="no requirement"):
        catalogue.get("STREAM-" + "999")


def test_blocking_follows_level(catalogue):
    assert all(r.blocking == (r.level == "MUST") for r in catalogue)
    assert all(not r.blocking for r in catalogue if r.decision)


def test_requirement_text_is_trimmed(catalogue):
    assert all(r.text == r.text.strip() and "\n" not in r.text for r in catalogue)


# ---------------------------------------------------------------------------------------------- validator


def _entry(**overrides: object) -> dict:
    entry = {
        "id": "STREAM-001",
        "level": "MUST",
        "scope": "core",
        "title": "t",
        "text": "x",
        "source": "https://docs.auriko.ai/guides/streaming",
    }
    entry.update(overrides)
    return entry


def _catalogue(*entries: dict) -> dict:
    return {"version": 1, "areas": {"STREAM": "streams"}, "requirements": list(entries)}


def test_minimal_catalogue_is_valid():
    assert validate(_catalogue(_entry()), decision_ids=set()) == []


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param([_entry(), _entry()], "duplicate id", id="duplicate-id"),
        pytest.param(
            [_entry(source="https://example.com/docs")], "not an allowed documentation host", id="bad-host"
        ),
        pytest.param([_entry(source="http://docs.auriko.ai/x")], "not an https URL", id="plain-http"),
        pytest.param(
            [_entry(level="SHOULD", decision="D-002")], "no heading in docs/decisions.md", id="no-decision"
        ),
        pytest.param(
            [_entry(decision="D-001")], "MUST is not allowed with decision", id="must-with-decision"
        ),
        pytest.param(
            [_entry(decision="decision one", level="MAY")], "does not match D-NNN", id="bad-decision"
        ),
        pytest.param([_entry(id="STREAM-1")], "does not match AREA-NNN", id="bad-id"),
        pytest.param([_entry(), _entry(id="XLATE-001")], "is not declared", id="undeclared-area"),
        pytest.param([_entry(level="MUST NOT")], "level", id="bad-level"),
        pytest.param([_entry(scope="everything")], "scope", id="bad-scope"),
        pytest.param([_entry(text="  ")], "text must be a non-empty string", id="empty-text"),
        pytest.param(
            [{"id": "STREAM-001", "level": "MUST"}], "missing scope, title, text, source", id="missing"
        ),
        pytest.param([_entry(owner="me")], "unknown keys owner", id="unknown-key"),
        pytest.param([_entry(refs="LiteLLM #1255")], "refs must be", id="refs-not-list"),
    ],
)
def test_validator_rejects_broken_catalogue(entries, expected):
    problems = validate(_catalogue(*entries), decision_ids={"D-001"})
    assert any(expected in problem for problem in problems), problems


def test_validator_reports_unused_area_and_bad_version():
    data = _catalogue(_entry())
    data["areas"]["EXT"] = "extensions"
    data["version"] = 2
    problems = validate(data)
    assert any("'EXT' has no requirement" in p for p in problems)
    assert any("version" in p for p in problems)


def test_validator_collects_every_problem():
    broken = _catalogue(_entry(), _entry(source="ftp://x"), _entry(level="MUST", decision="D-001"))
    assert len(validate(broken, decision_ids={"D-001"})) >= 3


def test_validator_rejects_the_real_catalogue_when_broken(raw):
    broken = copy.deepcopy(raw)
    broken["requirements"].append(copy.deepcopy(broken["requirements"][0]))
    assert any("duplicate id" in p for p in validate(broken))


def test_loader_refuses_a_broken_file(tmp_path):
    path = tmp_path / "requirements.yaml"
    path.write_text(yaml.safe_dump(_catalogue(_entry(), _entry())), encoding="utf-8")
    with pytest.raises(CatalogueError, match="duplicate id"):
        load_catalogue(path)
    with pytest.raises(CatalogueError, match="must be a mapping"):
        parse_catalogue("- just a list\n")


# ---------------------------------------------------------------------------------------------- checks


def test_reference_helpers_can_fail(tmp_path, catalogue):
    known = catalogue.ids[0]
    unknown = "XLATE-" + "999"
    module = tmp_path / "some_check.py"
    module.write_text(f'@check("{known}")\n@check("{unknown}")\n', encoding="utf-8")
    assert set(dangling_references(catalogue, [module])) == {unknown}
    uncovered = uncovered_requirements(catalogue, [module])
    assert known not in uncovered
    assert len(uncovered) == len(catalogue) - 1
    assert check_modules(tmp_path / "absent") == []


def _require_check_modules() -> list[Path]:
    modules = check_modules()
    if not modules:
        pytest.skip("suites/checks/ has no check modules yet; requirement coverage is checked once it has")
    return modules


def test_code_references_only_catalogue_ids(catalogue):
    _require_check_modules()
    code = [p for directory in CODE_DIRS for p in python_files(directory)]
    dangling = dangling_references(catalogue, code)
    assert dangling == {}, {i: sorted(str(p.relative_to(REPO_ROOT)) for p in w) for i, w in dangling.items()}


def test_every_requirement_has_a_check(catalogue):
    """Both ways: every requirement is verified somewhere, every cited ID exists (the test above)."""
    modules = _require_check_modules()
    uncovered = uncovered_requirements(catalogue, modules)
    assert not uncovered, f"{len(uncovered)} requirements have no check or suite test: {uncovered[:20]}"
