"""The fuzzer's results inside the main report: one results.json, one report.html, one junit.xml.

`auriko-conformance fuzz` writes `fuzz.json` and `fuzz-junit.xml`; the suites write `results.json`,
`report.html` and `junit.xml`. A gateway team reads one report, so whichever of the two runs finishes
second folds the other in, when both judged the same target (same label, same profile):

- every fuzz failure becomes a finding on the requirement it names (our own checks name one; the
  built-in schemathesis checks that correspond to one requirement are bound by `BUILTIN_REQUIREMENTS`),
  so a requirement the suites passed but the fuzzer broke reads "fail", with the curl line to replay it;
- failures of built-in checks that no single requirement covers (a 5xx, an undocumented status, an
  accepted invalid request) stay unbound and are listed only in the Fuzzing section (the fuzz run's own
  exit code fails on them; the suites' exit code stays the suites' own);
- schemathesis's JUnit test suite is appended to `junit.xml` (replacing an earlier fuzz suite).

Merging is idempotent: findings carry `source: fuzz` and each row remembers its suites-only verdict,
so a second merge (a newer fuzz run) replaces the first instead of stacking on it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from auriko_conformance.suites.report import VERDICTS, write_reports
from auriko_conformance.suites.requirements import load_catalogue

RESULTS_FILE = "results.json"
FUZZ_FILE = "fuzz.json"
FUZZ_JUNIT_FILE = "fuzz-junit.xml"
JUNIT_FILE = "junit.xml"
SOURCE = "fuzz"

#: Built-in schemathesis checks whose failure breaks exactly one catalogue requirement. The others
#: (not_a_server_error, status_code_conformance, response_headers_conformance, negative_data_rejection,
#: the stateful checks) can break many, so they are reported unbound rather than pinned on a guess.
BUILTIN_REQUIREMENTS: dict[str, str] = {
    "response_schema_conformance": "SCHEMA-002",  # bodies validate against openapi.yaml
    "positive_data_acceptance": "REQ-014",  # documented parameters are accepted
    "missing_required_header": "AUTH-001",  # the only required header is Authorization
    "ignored_auth": "AUTH-002",  # a wrong key must be refused
    "unsupported_method": "ERR-005",  # wrong method is 405 with Allow
}


def requirement_of(failure: dict[str, Any]) -> str | None:
    """The requirement a fuzz failure breaks: named by our checks, looked up for built-in ones."""
    if failure.get("requirement"):
        return str(failure["requirement"])
    if failure.get("check") == "content_type_conformance":
        status = failure.get("status") or 0
        return "ERR-004" if status >= 400 else "SCHEMA-009"
    return BUILTIN_REQUIREMENTS.get(str(failure.get("check")))


def _profile_name(value: Any) -> str:
    text = str(value or "reference")
    return text if text == "reference" else Path(text).stem


def target_identity(target: dict[str, Any]) -> tuple[str, str]:
    """What makes two runs comparable: the target's label (its URL, or "embedded reference") and profile."""
    return str(target.get("label") or target.get("url")), _profile_name(target.get("profile"))


def same_target(results: dict[str, Any], fuzz: dict[str, Any]) -> bool:
    return target_identity(results["target"]) == target_identity(fuzz["target"])


def _where(failure: dict[str, Any]) -> str:
    times = f" x{failure['count']}" if failure.get("count", 1) > 1 else ""
    return f"fuzz: {failure['operation']} ({failure['phase']}, {failure['mode']}){times}"


def _findings(fuzz: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Fuzz failures and informational findings as report findings per requirement; unbound failures."""
    catalogue = load_catalogue()
    known = {req.id for req in catalogue}
    by_requirement: dict[str, list[dict[str, Any]]] = {}
    unbound: list[dict[str, Any]] = []
    for failure in fuzz.get("failures", []):
        requirement = requirement_of(failure)
        if requirement not in known:
            unbound.append(failure)
            continue
        assert requirement is not None
        by_requirement.setdefault(requirement, []).append(
            {
                "requirement": requirement,
                "level": catalogue.get(requirement).level,
                "check": failure["check"],
                "message": f"{failure['title']}: {failure['message']}".strip()[:2000],
                "test": _where(failure),
                "status": failure.get("status"),
                "curl": failure.get("curl", ""),
                "source": SOURCE,
            }
        )
    for item in fuzz.get("informational", []):
        requirement = item["requirement"]
        if requirement not in known:
            continue
        by_requirement.setdefault(requirement, []).append(
            {
                "requirement": requirement,
                "level": catalogue.get(requirement).level,
                "check": item["check"],
                "message": str(item.get("example", ""))[:2000],
                "test": f"fuzz: x{item['count']}",
                "source": SOURCE,
            }
        )
    return by_requirement, unbound


def _merged_verdict(suite_verdict: str, findings: list[dict[str, Any]]) -> str:
    """A MUST fuzz finding fails the requirement; a SHOULD/MAY one makes a clean row informational."""
    if suite_verdict == "fail" or any(f["level"] == "MUST" for f in findings):
        return "fail"
    if findings and suite_verdict != "informational":
        return "informational"
    return suite_verdict


_SUMMARY_KEYS = ("target", "settings", "requests", "failures")


def attach(results: dict[str, Any], fuzz: dict[str, Any]) -> dict[str, Any]:
    """Fold a fuzz summary into suite results (in place, idempotent); returns the results."""
    missing = [key for key in _SUMMARY_KEYS if not isinstance(fuzz, dict) or key not in fuzz]
    if missing:
        raise ValueError(f"not a fuzz summary (no {', '.join(missing)})")
    by_requirement, unbound = _findings(fuzz)
    for row in results["requirements"]:
        suite_verdict = row.pop("suite_verdict", row["verdict"])
        own = [f for f in row["findings"] if f.get("source") != SOURCE]
        fuzz_findings = by_requirement.get(row["id"], [])
        row["findings"] = own + fuzz_findings[:20]
        row["verdict"] = _merged_verdict(suite_verdict, fuzz_findings)
        if row["verdict"] != suite_verdict:
            row["suite_verdict"] = suite_verdict
    if "suite_summary" not in results:
        results["suite_summary"] = dict(results["summary"])
    counts = Counter(row["verdict"] for row in results["requirements"])
    results["summary"] = {v: counts.get(v, 0) for v in VERDICTS}
    results["fuzz"] = {**fuzz, "unbound_failures": unbound}
    return results


def merge_junit(junit: Path, fuzz_junit: Path) -> bool:
    """Append schemathesis's test suites to the suites' JUnit file (replacing earlier fuzz suites)."""
    if not junit.exists() or not fuzz_junit.exists():
        return False
    try:  # an interrupted run can leave either file empty or cut short: leave junit.xml as it is
        main_tree = ET.parse(junit)
        fuzz_root = ET.parse(fuzz_junit).getroot()
    except ET.ParseError:
        return False
    root = main_tree.getroot()
    if root.tag == "testsuite":  # a single-suite file: wrap it so there is room for a second suite
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
        main_tree = ET.ElementTree(root)
    fuzz_suites = [fuzz_root] if fuzz_root.tag == "testsuite" else list(fuzz_root.iter("testsuite"))
    for suite in list(root):
        if suite.get("name", "").startswith(f"{SOURCE}:"):
            root.remove(suite)
    for suite in fuzz_suites:
        suite.set("name", f"{SOURCE}: {suite.get('name', 'schemathesis')}")
        root.append(suite)
    for attribute in ("tests", "failures", "errors", "skipped"):
        if attribute in root.attrib:
            total = sum(int(s.get(attribute, "0")) for s in root.iter("testsuite"))
            root.set(attribute, str(total))
    main_tree.write(junit, encoding="utf-8", xml_declaration=True)
    return True


def merge_directory(directory: Path) -> str | None:
    """Fold `fuzz.json` and `fuzz-junit.xml` into the suites' reports of one directory.

    Returns a line saying what was merged, or why not; None when there is nothing to merge.
    """
    results_path, fuzz_path = directory / RESULTS_FILE, directory / FUZZ_FILE
    if not results_path.exists() or not fuzz_path.exists():
        return None
    try:
        results = orjson.loads(results_path.read_bytes())
        fuzz = orjson.loads(fuzz_path.read_bytes())
    except orjson.JSONDecodeError as exc:
        return f"fuzz results not merged: {exc}"
    if not isinstance(fuzz, dict) or any(key not in fuzz for key in _SUMMARY_KEYS):
        return f"fuzz results not merged: {fuzz_path} is not a fuzz summary"
    if not isinstance(results, dict) or "target" not in results:
        return f"fuzz results not merged: {results_path} is not a suites' results file"
    if not same_target(results, fuzz):
        return (
            f"fuzz results not merged: {fuzz_path} is for {target_identity(fuzz['target'])}, "
            f"the suites' results for {target_identity(results['target'])}"
        )
    attach(results, fuzz)
    write_reports(results, directory)
    junit = merge_junit(directory / JUNIT_FILE, directory / FUZZ_JUNIT_FILE)
    failures = len(fuzz.get("failures", []))
    return (
        f"merged the fuzz run of {fuzz.get('started_at')} ({fuzz['requests']['total']} requests, "
        f"{failures} unique failure(s)) into {directory / 'report.html'}"
        + (f" and {directory / JUNIT_FILE}" if junit else "")
    )
