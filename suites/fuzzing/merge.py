"""The fuzzer's results inside the main report: one results.json, one report.html, one junit.xml.

`auriko-conformance fuzz` writes `fuzz.json` and `fuzz-junit.xml`; the suites write `results.json`,
`report.html` and `junit.xml`. A gateway team reads one report, so whichever of the two runs finishes
second folds the other's results into its own, in memory, and then writes the reports once. Two runs
are folded together only when they judged the same target (same label, same profile) in the same
session: the later one started within `SESSION_GAP` of the earlier one's end (D-135). A fuzz.json
left from another session is named with its date and target, and left out.

- every fuzz failure becomes a finding on the requirement it names (our own checks name one; the
  built-in schemathesis checks that correspond to one requirement are bound by `BUILTIN_REQUIREMENTS`),
  so a requirement the suites passed but the fuzzer broke reads "fail", with the curl line to replay it;
- failures of built-in checks that no single requirement covers (a 5xx, an undocumented status, an
  accepted invalid request) stay unbound and are listed only in the Fuzzing section (the fuzz run's own
  exit code fails on them; the suites' exit code stays the suites' own);
- schemathesis's JUnit test suite is appended to `junit.xml` (replacing an earlier fuzz suite) when the
  report writes its files (`suites.report.write_reports`).

Folding is idempotent: findings carry `source: fuzz` and each row remembers its suites-only verdict,
so a second fold (a newer fuzz run) replaces the first instead of stacking on it.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
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
    # the suites' summary lists every verdict, in the report's order
    results["summary"] = {v: counts.get(v, 0) for v in results["suite_summary"]}
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


#: Two runs belong to one session when the later one started within this long after the earlier one
#: ended (D-135): long enough for `make conformance` and `make fuzz-ci` one after the other on a slow
#: target, short enough that a fuzz.json left from the morning does not speak for the afternoon's code.
SESSION_GAP = dt.timedelta(hours=1)


def _span(run: dict[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
    try:
        started = dt.datetime.fromisoformat(str(run["started_at"]))
        return started, started + dt.timedelta(seconds=float(run.get("duration_s") or 0))
    except (KeyError, TypeError, ValueError):
        return None


def session_gap(results: dict[str, Any], fuzz: dict[str, Any]) -> dt.timedelta | None:
    """From the end of the earlier run to the start of the later one (zero when they overlap); None
    when either run has no date."""
    spans = [_span(results), _span(fuzz)]
    if spans[0] is None or spans[1] is None:
        return None
    first, second = sorted(spans)  # type: ignore[type-var]
    return max(second[0] - first[1], dt.timedelta(0))


def describe(kind: str, run: dict[str, Any]) -> str:
    """`the fuzz run of <date> against <target> (profile <name>)`: what a console line names a run by."""
    label, profile = target_identity(run.get("target") or {})
    return f"the {kind} run of {run.get('started_at', '(no date)')} against {label} (profile {profile})"


def why_apart(results: dict[str, Any], fuzz: dict[str, Any]) -> str | None:
    """Why a fuzz run does not belong with a suites' run (D-135); None when it does."""
    if not same_target(results, fuzz):
        return "they judged different targets"
    gap = session_gap(results, fuzz)
    if gap is None:
        return "one of them has no date"
    if gap > SESSION_GAP:
        hours = gap.total_seconds() / 3600
        return f"they ran {hours:.1f} h apart, not in one session (D-135)"
    return None


def fold(results: dict[str, Any], fuzz: dict[str, Any]) -> tuple[bool, str]:
    """Fold a fuzz summary into suite results when the two runs belong together (in memory).

    Returns whether it was folded and the line that says what was merged, or why not, naming both
    runs by date and target.
    """
    both = f"{describe('fuzz', fuzz)} and {describe('suites', results)}"
    reason = why_apart(results, fuzz)
    if reason is not None:
        return False, f"fuzz results not merged: {both}: {reason}"
    attach(results, fuzz)
    failures = len(fuzz.get("failures", []))
    return True, (
        f"merged {describe('fuzz', fuzz)} ({fuzz['requests']['total']} requests, "
        f"{failures} unique failure(s)) into the suites' report"
    )


def _read(path: Path, keys: tuple[str, ...], kind: str) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object from disk with these keys, or the line saying why not; (None, None) without a file."""
    if not path.exists():
        return None, None
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        return None, f"fuzz results not merged: {path}: {exc}"
    if not isinstance(data, dict) or any(key not in data for key in keys):
        return None, f"fuzz results not merged: {path} is not {kind}"
    return data, None


def fold_saved_fuzz_run(results: dict[str, Any], directory: Path) -> str | None:
    """The suites' side: fold the `fuzz.json` of the report directory into this run's results, when it
    belongs to the same target and session; the line saying so (None without a fuzz.json)."""
    fuzz, problem = _read(directory / FUZZ_FILE, _SUMMARY_KEYS, "a fuzz summary")
    if fuzz is None:
        return problem
    return fold(results, fuzz)[1]


def saved_suites_results(directory: Path, fuzz: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The fuzzer's side: the suites' `results.json` of the report directory with this fuzz run folded
    in (None when there is none, or it belongs to another target or session), and the line saying so."""
    results, problem = _read(directory / RESULTS_FILE, ("target", "requirements"), "a suites' results file")
    if results is None:
        return None, problem
    folded, message = fold(results, fuzz)
    return (results if folded else None), message
