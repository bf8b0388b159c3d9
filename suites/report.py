"""Results per requirement: the JSON file, the self-contained HTML matrix, the console table.

Tests are the unit pytest knows; requirements are the unit a gateway team reads. This module folds
test outcomes and check findings into one verdict per requirement ID (like Autobahn's and h2spec's
per-case verdicts), and renders one or several runs side by side.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from auriko_conformance.suites.findings import group_findings
from auriko_conformance.suites.fuzzing.merge import (
    FUZZ_JUNIT_FILE,
    JUNIT_FILE,
    attach,
    merge_junit,
    requirement_of,
)
from auriko_conformance.suites.requirements import load_catalogue

from auriko_conformance.paths import DOCS_DIR

VERDICTS = ("pass", "fail", "blocked", "informational", "not_claimed", "skipped", "not_run")
_ORDER = {v: i for i, v in enumerate(VERDICTS)}


def _verdict(tests: list[dict[str, Any]], findings: list[dict[str, Any]], requirement: str) -> str:
    """One requirement's verdict from the tests that covered it and the findings against it.

    "pass" needs evidence: a check or assertion bound to the requirement actually judged something
    (the test's `checked` set) and found nothing; a test that merely carries the marker is not enough.
    """
    if any(f["level"] == "MUST" for f in findings):
        return "fail"
    for test in tests:
        crashed = test["outcome"] == "failed" and not test["findings"]
        if crashed and requirement in test["requirements"]:
            return "fail"  # an exception before any finding: every requirement the test covers failed
    if findings:
        return "informational"
    if _blocks(tests, requirement):
        return "blocked"  # some test could not judge it: never a pass on what was not observed (D-090)
    if any(requirement in t.get("checked", ()) for t in tests if t["outcome"] in ("passed", "failed")):
        return "pass"
    if any(requirement in t.get("unclaimed", ()) for t in tests):
        return "not_claimed"  # its checks applied but need a feature the profile does not claim
    outcomes = {t["outcome"] for t in tests}
    if outcomes and outcomes <= {"not_claimed"}:
        return "not_claimed"
    if outcomes and outcomes <= {"not_claimed", "skipped"}:
        return "skipped"
    return "not_run"


def _blocks(tests: list[dict[str, Any]], requirement: str) -> list[dict[str, Any]]:
    return [b for t in tests for b in t.get("blocked", ()) if b["requirement"] == requirement]


def _failure_line(text: str) -> str:
    """The line of a pytest failure text that says what went wrong (its last `E ` line)."""
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return lines[-1] if lines else (text.strip().splitlines() or [""])[-1]


def build_results(
    tests: list[dict[str, Any]], *, options: dict[str, Any], started: float, finished: float
) -> dict[str, Any]:
    catalogue = load_catalogue()
    by_requirement: dict[str, list[dict[str, Any]]] = defaultdict(list)
    findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    observed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for test in tests:
        ids = (
            set(test["requirements"])
            | set(test.get("checked", []))
            | set(test.get("unclaimed", []))
            | {f["requirement"] for f in test["findings"]}
            | {b["requirement"] for b in test.get("blocked", [])}
        )
        for requirement in ids:
            by_requirement[requirement].append(test)
        for finding in test["findings"]:
            findings[finding["requirement"]].append({**finding, "test": test["nodeid"]})
        for observation in test.get("observations", []):
            observed[observation["requirement"]].append({**observation, "test": test["nodeid"]})

    rows = []
    for req in catalogue:
        related = by_requirement.get(req.id, [])
        own_findings = findings.get(req.id, [])
        # evidence of this requirement's own findings only, each labelled with its test
        evidence = [e for t in related for e in t.get("evidence", []) if req.id in e.get("requirements", ())][
            :2
        ]
        blocks = _blocks(related, req.id)
        rows.append(
            {
                "id": req.id,
                "area": req.area,
                "level": req.level,
                "scope": req.scope,
                "title": req.title,
                "text": req.text,
                "source": req.source,
                "decision": req.decision,
                "verdict": _verdict(related, own_findings, req.id),
                "tests": sorted({t["nodeid"] for t in related}),
                "findings": own_findings[:20],
                "finding_count": len(own_findings),
                # one entry per distinct defect: how often it was seen and one example (D-091)
                "groups": [g.as_dict() for g in group_findings(own_findings)][:20],
                "blocked_by": sorted({r for b in blocks for r in b["roots"]}),
                "block_reasons": sorted({b["reason"] for b in blocks})[:3],
                "observations": observed.get(req.id, [])[:20],
                "evidence": evidence,
                # failure texts of tests that crashed (no finding says why): another requirement's
                # findings failing the same test are that requirement's, not this row's
                "reasons": sorted(
                    {
                        t["reason"]
                        for t in related
                        if t.get("reason") and t["outcome"] == "failed" and not t["findings"]
                    }
                )[:3],
                "skip_reasons": sorted(
                    {t["reason"] for t in related if t["outcome"] in ("not_claimed", "skipped")}
                )[:3],
            }
        )
    unknown = sorted(set(by_requirement) - {r.id for r in catalogue})
    # Failures bound to no requirement: regression snapshots (a diff against the profile's baseline),
    # or a suite test that crashed before naming one. They fail the run and are shown with their text.
    others = [
        {"test": t["nodeid"], "reason": t["reason"][-4000:]}
        for t in tests
        if t["outcome"] == "failed" and not t["requirements"] and not t["findings"]
    ]
    blocking: Counter[str] = Counter(
        r for row in rows if row["verdict"] == "blocked" for r in row["blocked_by"]
    )
    for row in rows:
        row["blocks"] = blocking.get(row["id"], 0)
    summary = Counter(row["verdict"] for row in rows)
    return {
        "schema_version": 1,
        "target": {
            "url": options.get("target-url") or "embedded reference",
            # what the run is compared and merged by (the fuzzer's results join the same label)
            "label": options.get("target-label") or options.get("target-url") or "embedded reference",
            "profile": options.get("target-profile") or "reference",
            "level": options.get("level"),
            "mock_url": options.get("mock-url"),
        },
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(finished - started, 2),
        "summary": {v: summary.get(v, 0) for v in VERDICTS},
        "tests_total": len(tests),
        "unknown_requirement_ids": unknown,
        "other_failures": others,
        "requirements": rows,
        "tests": tests,
    }


def not_judged_results(
    stage: str, message: str, options: dict[str, Any], tests: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A report for a run that was stopped before its tests (preflight or configuration failed): why,
    and only the rows of the `tests` the stage itself judged (a refused preflight probe, D-148)."""
    now = dt.datetime.now(dt.UTC).timestamp()
    results = build_results(tests or [], options=options, started=now, finished=now)
    results["requirements"] = [row for row in results["requirements"] if row["verdict"] != "not_run"]
    results["summary"] = dict.fromkeys(VERDICTS, 0)
    for row in results["requirements"]:
        results["summary"][row["verdict"]] += 1
    results["harness"] = {"not_judged": stage, "message": message}
    return results


def harness_note(results: dict[str, Any]) -> str | None:
    """The one line a report leads with when the run was not (fully) judged."""
    harness = results.get("harness") or {}
    if harness.get("not_judged"):
        return f"not judged: {harness['not_judged']}. {harness.get('message', '')}".strip()
    if harness.get("stopped"):
        return f"stopped early: {harness['stopped']}; tests not started read 'not run'"
    return None


def write_reports(results: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    (directory / "report.html").write_text(render_html([results]), encoding="utf-8")
    harness = results.get("harness") or {}
    if harness.get("not_judged"):
        # no pytest session ran, so no junit.xml: CI systems that read it get the one reason
        (directory / JUNIT_FILE).write_text(_not_judged_junit(harness), encoding="utf-8")
    elif results.get("fuzz"):  # a fuzz run folded in: its JUnit suite joins the suites' one
        merge_junit(directory / JUNIT_FILE, directory / FUZZ_JUNIT_FILE)


def _not_judged_junit(harness: dict[str, Any]) -> str:
    message = html.escape(f"not judged: {harness['not_judged']}", quote=True)
    text = html.escape(harness.get("message", ""))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="auriko-conformance" '
        'tests="1" errors="1" failures="0" skipped="0"><testcase classname="harness" name="preflight">'
        f'<error message="{message}">{text}</error></testcase></testsuite></testsuites>\n'
    )


def load_results(path: Path) -> dict[str, Any]:
    return orjson.loads(path.read_bytes())


# --------------------------------------------------------------------------------------------------
# Console
# --------------------------------------------------------------------------------------------------


def console_summary(results: dict[str, Any]) -> str:
    note = harness_note(results)
    if note and not results["requirements"]:
        return note
    areas: dict[str, Counter[str]] = defaultdict(Counter)
    for row in results["requirements"]:
        areas[row["area"]][row["verdict"]] += 1
    columns = VERDICTS
    header = f"{'area':<8}" + "".join(f"{c:>14}" for c in columns)
    lines = [header, "-" * len(header)]
    for area in sorted(areas):
        lines.append(f"{area:<8}" + "".join(f"{areas[area].get(c, 0):>14}" for c in columns))
    total = results["summary"]
    lines.append("-" * len(header))
    lines.append(f"{'total':<8}" + "".join(f"{total.get(c, 0):>14}" for c in columns))
    fuzz = results.get("fuzz")
    if fuzz:
        lines.append(
            f"fuzzing (started {fuzz.get('started_at')} against {fuzz['target'].get('label')}): "
            f"{fuzz['requests']['total']} requests, "
            f"{len(fuzz.get('failures', []))} unique failure(s), "
            f"{len(fuzz.get('unbound_failures', []))} bound to no requirement"
        )
    if note:
        lines.append(note.upper()[:1] + note[1:])
    for other in results.get("other_failures", [])[:20]:
        lines.append(f"FAIL {other['test']} (regression snapshot or unbound test)")
    unjudged: dict[str, list[str]] = defaultdict(list)
    for row in results["requirements"]:
        for reason in row.get("skip_reasons", []):
            if reason.startswith("not judged"):
                unjudged[reason].append(row["id"])
    for reason, ids in unjudged.items():
        lines.append(f"NOT JUDGED {', '.join(ids)}: {reason.removeprefix('not judged: ')}")
    lines.extend(_failure_lines(results["requirements"]))
    return "\n".join(lines)


def _failure_lines(rows: list[dict[str, Any]], limit: int = 40) -> list[str]:
    """Failed requirements, root causes first (those that block others, most first), each with its
    distinct defects counted; then the blocked requirements and what blocked them."""
    failed = sorted(
        (row for row in rows if row["verdict"] == "fail"), key=lambda row: (-row.get("blocks", 0), row["id"])
    )
    lines = []
    for row in failed[:limit]:
        blocks = f", blocks {row['blocks']}" if row.get("blocks") else ""
        groups = row.get("groups") or []
        if not groups:
            first = _failure_line((row["reasons"] or ["-"])[0])
            lines.append(
                f"FAIL {row['id']} ({row['level']}{blocks}) {row['title']}: {first.splitlines()[0][:140]}"
            )
            continue
        lines.append(
            f"FAIL {row['id']} ({row['level']}{blocks}) {row['title']}: {len(groups)} distinct finding(s)"
        )
        for group in groups[:5]:
            times = f"x{group['count']} " if group["count"] > 1 else ""
            lines.append(f"     {times}{str(group['example']['message']).splitlines()[0][:140]}")
    blocked = [row for row in rows if row["verdict"] == "blocked"]
    for row in blocked[:limit]:
        roots = ", ".join(row.get("blocked_by") or []) or "a missing observation"
        lines.append(f"BLOCKED {row['id']} by {roots}")
    return lines


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1f24}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa;position:sticky;top:0}
.v{font-weight:600;border-radius:4px;padding:1px 6px;white-space:nowrap;font-size:12px}
.pass{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}
.informational{background:#fff8c5;color:#7d4e00}.not_claimed{background:#eef1f4;color:#57606a}
.skipped{background:#eef1f4;color:#57606a}.blocked{background:#ddf4ff;color:#0a3069}
.not_run{background:#fff;color:#8c959f;border:1px solid #d0d7de}
details{margin:2px 0}pre{background:#f6f8fa;padding:6px;overflow:auto;max-height:320px;font-size:12px}
h3{font-size:14px;margin:14px 0 4px}table.narrow{width:auto}
.muted{color:#57606a}.lvl{font-size:11px;color:#57606a}.sum span{margin-right:12px}
"""


def _badge(verdict: str) -> str:
    return f'<span class="v {verdict}">{html.escape(verdict.replace("_", " "))}</span>'


def _details(row: dict[str, Any]) -> str:
    parts = [f"<p>{html.escape(row['text'])}</p>"]
    parts.append(
        f'<p class="muted">Source: <a href="{html.escape(row["source"])}">{html.escape(row["source"])}</a>'
    )
    if row.get("decision"):
        decision = html.escape(row["decision"])
        parts.append(
            f" &middot; decision <a href='#decision-{decision}'>{decision}</a> (docs silent or disagree)"
        )
    parts.append("</p>")
    if row.get("blocked_by") or row["verdict"] == "blocked":
        roots = ", ".join(
            f"<a href='#req-{html.escape(r)}'>{html.escape(r)}</a>" for r in row.get("blocked_by", [])
        )
        reasons = "; ".join(html.escape(r) for r in row.get("block_reasons", []))
        parts.append(f"<p>{_badge('blocked')} by {roots or 'a missing observation'}: {reasons}</p>")
    if row.get("blocks"):
        parts.append(f"<p class='muted'>Root cause: blocks {row['blocks']} other requirement(s).</p>")
    groups = row.get("groups") or [{"count": 1, "example": f} for f in row["findings"]]
    for group in groups[:10]:
        finding = group["example"]
        times = f" &times;{group['count']}" if group["count"] > 1 else ""
        parts.append(
            f"<p>{_badge('fail' if finding['level'] == 'MUST' else 'informational')}{times} "
            f"<code>{html.escape(finding['check'])}</code>: {html.escape(finding['message'][:600])}"
            f' <span class="muted">({html.escape(finding["test"])})</span></p>'
        )
        if finding.get("curl"):
            parts.append(f"<pre>{html.escape(finding['curl'][:3000])}</pre>")
    for observation in row.get("observations", [])[:10]:
        parts.append(
            f"<p>Observed: {html.escape(observation['text'][:600])}"
            f' <span class="muted">({html.escape(observation["test"])})</span></p>'
        )
    for reason in row.get("reasons", []):
        parts.append(f"<pre>{html.escape(reason[:2000])}</pre>")
    for reason in row.get("skip_reasons", []):
        parts.append(f"<p class='muted'>{html.escape(reason[:600])}</p>")
    for evidence in row.get("evidence", []):
        shown = {k: v for k, v in evidence.items() if k not in ("test", "requirements")}
        parts.append(
            f"<p class='muted'>Evidence from {html.escape(evidence.get('test', 'a test'))}</p>"
            f"<pre>{html.escape(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()[:6000])}</pre>"
        )
    if row["tests"]:
        parts.append(
            '<p class="muted">Tests: ' + ", ".join(html.escape(t) for t in row["tests"][:8]) + "</p>"
        )
    return "".join(parts)


def render_html(runs: Sequence[dict[str, Any]], labels: Iterable[str] | None = None) -> str:
    """One page: a requirement matrix grouped by area, one verdict column per run."""
    names = list(labels) if labels else [run["target"].get("label") or run["target"]["url"] for run in runs]
    rows_by_id = [{row["id"]: row for row in run["requirements"]} for run in runs]
    ids = sorted({i for rows in rows_by_id for i in rows})
    catalogue_rows = {i: next(rows[i] for rows in rows_by_id if i in rows) for i in ids}
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Auriko conformance report</title>",
        f"<style>{_CSS}</style></head><body><h1>Auriko chat-completions conformance</h1>",
    ]
    for name, run in zip(names, runs, strict=True):
        counts = " ".join(f"<span>{_badge(v)} {run['summary'].get(v, 0)}</span>" for v in VERDICTS)
        fuzz = run.get("fuzz")
        fuzzed = (
            f" &middot; fuzzing: {fuzz['requests']['total']} requests, "
            f"{len(fuzz['failures'])} unique failure(s) (see Fuzzing)"
            if fuzz
            else ""
        )
        out.append(
            f'<p class="sum"><b>{html.escape(name)}</b>'
            f" &middot; level {html.escape(str(run['target']['level']))}"
            f" &middot; {run['tests_total']} tests in {run['duration_s']} s{fuzzed} &middot; {counts}</p>"
        )
        note = harness_note(run)
        if note:
            out.append(f'<p class="harness">{_badge("not_run")} {html.escape(note)}</p>')
    areas: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        areas[catalogue_rows[i]["area"]].append(i)
    for area in sorted(areas):
        out.append(f"<h2>{html.escape(area)}</h2><table><tr><th>ID</th><th>Requirement</th>")
        out.extend(f"<th>{html.escape(name)}</th>" for name in names)
        out.append("</tr>")
        for i in areas[area]:
            base = catalogue_rows[i]
            out.append(
                f"<tr id='req-{html.escape(i)}'><td><code>{html.escape(i)}</code>"
                f"<div class='lvl'>{html.escape(base['level'])}</div></td>"
            )
            detail_rows = [rows.get(i) for rows in rows_by_id]
            worst = min((r for r in detail_rows if r), key=lambda r: _ORDER.get(r["verdict"], 99))
            out.append(
                f"<td><details><summary>{html.escape(base['title'])}</summary>{_details(worst)}</details></td>"
            )
            for row in detail_rows:
                out.append(f"<td>{_badge(row['verdict']) if row else ''}</td>")
            out.append("</tr>")
        out.append("</table>")
    for name, run in zip(names, runs, strict=True):
        if run.get("fuzz"):
            out.append(_fuzz_section(name, run["fuzz"]))
    for name, run in zip(names, runs, strict=True):
        others = run.get("other_failures") or []
        if others:
            out.append(f"<h2>Regression snapshots and other failures: {html.escape(name)}</h2>")
            for other in others:
                out.append(
                    f"<details open><summary>{_badge('fail')} "
                    f"<code>{html.escape(other['test'])}</code></summary>"
                    f"<pre>{html.escape(other['reason'])}</pre></details>"
                )
    out.append(_decisions_section({row.get("decision") for row in catalogue_rows.values()} - {None}))
    out.append("</body></html>")
    return "".join(out)


def decision_texts(path: Path = DOCS_DIR / "decisions.md") -> dict[str, str]:
    """D-NNN -> its section of docs/decisions.md (title line included), as written."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    sections: dict[str, str] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        match = re.match(r"(D-\d{3})\b", block)
        if match:
            sections[match.group(1)] = block.strip()
    return sections


def _decisions_section(cited: set[str]) -> str:
    """The text of every decision the rows cite, so the report explains itself wherever it is opened."""
    texts = decision_texts()
    if not cited or not texts:
        return ""
    out = ["<h2>Decisions cited</h2>"]
    for decision in sorted(cited):
        body = texts.get(decision, f"{decision}: text not found in docs/decisions.md")
        out.append(f"<div id='decision-{html.escape(decision)}'><pre>{html.escape(body)}</pre></div>")
    return "".join(out)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table class='narrow'><tr>{head}</tr>{body}</table>"


def _fuzz_failure(failure: dict[str, Any]) -> str:
    requirement = failure.get("bound_to") or failure.get("requirement")
    bound = (
        f"<a href='#req-{html.escape(requirement)}'><code>{html.escape(requirement)}</code></a> "
        if requirement
        else "unbound "
    )
    times = f" &times;{failure['count']}" if failure.get("count", 1) > 1 else ""
    parts = [
        f"<details><summary>{_badge('fail')} {bound}<code>{html.escape(failure['check'])}</code> "
        f"({html.escape(failure['code'])}) {html.escape(failure['operation'])}: "
        f"{html.escape(failure['title'])} <span class='muted'>{html.escape(failure['phase'])}, "
        f"{html.escape(failure['mode'])}, status {failure.get('status')}{times}</span></summary>",
        f"<pre>{html.escape(failure['message'][:3000])}</pre>",
    ]
    if failure.get("response"):
        parts.append(f"<p class='muted'>Response</p><pre>{html.escape(failure['response'])}</pre>")
    parts.append(f"<p class='muted'>Replay</p><pre>{html.escape(failure['curl'])}</pre></details>")
    return "".join(parts)


def _fuzz_section(name: str, fuzz: dict[str, Any]) -> str:
    """The schemathesis run beside the matrix: what was sent, what broke, and how to replay it."""
    settings, requests = fuzz["settings"], fuzz["requests"]
    failures = fuzz.get("failures", [])
    verdict = "pass" if fuzz.get("passed") else "fail"
    modes = sorted({mode for by_mode in requests["by_phase"].values() for mode in by_mode})
    generation = (  # schemathesis ignores the seed when generation is deterministic
        "deterministic generation"
        if settings.get("deterministic")
        else f"random generation, seed {settings['seed']}"
    )
    out = [
        f"<h2>Fuzzing: {html.escape(name)}</h2>",
        f"<p>{_badge(verdict)} {html.escape(fuzz.get('tool', 'schemathesis'))} against "
        f"{html.escape(str(fuzz['target'].get('label') or fuzz['target'].get('url')))}, started "
        f"{html.escape(str(fuzz.get('started_at')))}, {fuzz.get('duration_s')} s: "
        f"<b>{requests['total']}</b> requests, {len(failures)} unique failure(s); {generation}, "
        f"mode {html.escape(settings['mode'])}, max-examples {settings['max_examples']}, "
        f"phases {html.escape(', '.join(settings['phases']))}.</p>",
        _table(
            ["phase", *modes, "total"],
            (
                [phase, *(by_mode.get(m, 0) for m in modes), sum(by_mode.values())]
                for phase, by_mode in requests["by_phase"].items()
            ),
        ),
        "<p class='muted'>Statuses: "
        + html.escape(", ".join(f"{k} {v}" for k, v in requests["by_status"].items()))
        + f"; network errors {requests.get('network_errors', 0)}.</p>",
    ]
    if fuzz.get("accepted_refusals"):
        refusals = ", ".join(f"{k} {v}" for k, v in fuzz["accepted_refusals"].items())
        out.append(
            "<p class='muted'>Schema-valid requests refused for routing or capability reasons, "
            f"accepted under D-053: {html.escape(refusals)}.</p>"
        )
    for item in fuzz.get("informational", []):
        out.append(
            f"<p>{_badge('informational')} <a href='#req-{html.escape(item['requirement'])}'>"
            f"<code>{html.escape(item['requirement'])}</code></a> "
            f"<code>{html.escape(item['check'])}</code> &times;{item['count']}: "
            f"{html.escape(str(item['example'])[:600])}</p>"
        )
    for error in fuzz.get("errors", []):
        out.append(
            f"<p>{_badge('not_run')} {html.escape(error['operation'])} ({html.escape(error['phase'])}): "
            f"{html.escape(error['title'])}: not tested</p><pre>{html.escape(error['message'])}</pre>"
        )
    if failures:
        out.append(
            "<p class='muted'>A failure that names a requirement also marks that requirement's row above; "
            "unbound ones come from schemathesis checks that no single requirement covers (a 5xx, an "
            "undocumented status or header, an invalid request accepted) and appear only here.</p>"
        )
    by_check: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for failure in failures:
        by_check[failure["check"]].append({**failure, "bound_to": requirement_of(failure)})
    for check, items in sorted(by_check.items()):
        total = sum(item.get("count", 1) for item in items)
        out.append(
            f"<h3><code>{html.escape(check)}</code>: {len(items)} unique, {total} failing case(s)</h3>"
        )
        out.extend(_fuzz_failure(item) for item in items[:50])
        if len(items) > 50:
            out.append(f"<p class='muted'>... and {len(items) - 50} more in fuzz.json</p>")
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# CLI: `auriko-conformance report A.json [B.json ...] [-o report.html]`
# --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="auriko-conformance report",
        description="Render one or more results.json files side by side in one HTML matrix.",
    )
    parser.add_argument("results", nargs="+", type=Path, help="results.json files (one column each)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"))
    parser.add_argument("--label", action="append", default=[], help="column label, once per file, in order")
    parser.add_argument(
        "--fuzz",
        action="append",
        default=[],
        type=Path,
        help="fuzz.json of `auriko-conformance fuzz` to fold into a run, once per results file, in order",
    )
    args = parser.parse_args(argv)
    if args.label and len(args.label) != len(args.results):
        parser.error("give --label once per results file, or not at all")
    if args.fuzz and len(args.fuzz) != len(args.results):
        parser.error("give --fuzz once per results file, or not at all")
    runs = []
    for path in args.results:
        try:
            runs.append(load_results(path))
        except (OSError, orjson.JSONDecodeError) as exc:
            parser.error(f"{path}: {exc}")
    for path, run in zip(args.fuzz, runs, strict=False):
        try:
            attach(run, load_results(path))
        except (OSError, orjson.JSONDecodeError, ValueError) as exc:
            parser.error(f"{path}: not a fuzz.json ({exc})")
    labels = args.label or [
        f"{path.parent.name or path.stem}: {run['target'].get('label') or run['target']['url']}"
        for path, run in zip(args.results, runs, strict=True)
    ]
    args.output.write_text(render_html(runs, labels), encoding="utf-8")
    for label, run in zip(labels, runs, strict=True):
        print(f"{label}: " + ", ".join(f"{k} {v}" for k, v in run["summary"].items()))
    print(f"wrote {args.output}")
    return 0
