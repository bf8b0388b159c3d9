"""What one fuzz run did, counted from schemathesis's events, and its summary (`fuzz.json`).

The command (`auriko-conformance fuzz`) feeds a `FuzzResults` from schemathesis's engine events;
`build_summary` turns it into the summary the console, `fuzz.json` and the report read: requests per
phase and mode, outcomes by status class, each distinct failure once with a curl line to replay it,
the routing refusals accepted under D-053 and the informational (SHOULD/MAY) findings of the suite's
checks. The summary names the target and when the run started and how long it took, which is what
decides whether it belongs with a suites' run (D-135, `suites.fuzzing.merge`).
"""

from __future__ import annotations

import datetime as dt
import shlex
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from auriko_conformance.suites.fuzzing import checks
from auriko_conformance.suites.fuzzing.settings import FuzzOptions
from schemathesis import __version__ as schemathesis_version

from auriko_conformance.embedded import EMBEDDED_LABEL

API_KEY_PLACEHOLDER = "$AURIKO_API_KEY"
#: Headers the HTTP client adds on its own: left out of curl lines.
_CLIENT_HEADERS = frozenset({"user-agent", "accept-encoding", "accept", "connection", "content-length"})


@dataclass(slots=True)
class FailureRecord:
    check: str
    code: str
    title: str
    message: str
    operation: str
    phase: str
    mode: str
    status: int | None
    curl: str
    response: str = ""
    requirement: str | None = None
    count: int = 1


@dataclass(slots=True)
class FuzzResults:
    """What one run did: requests by phase and mode, outcomes by status class, unique failures."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    failures: dict[tuple[str, str, str], FailureRecord] = field(default_factory=dict)
    #: operations schemathesis could not test at all (e.g. a schema part it cannot generate)
    errors: list[dict[str, str]] = field(default_factory=list)
    network_errors: int = 0
    exit_code: int | None = None
    stop_reason: str | None = None
    running_time: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def by_phase(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = defaultdict(dict)
        for (phase, mode), count in sorted(self.requests.items()):
            table[phase][mode] = count
        return dict(table)

    def by_mode(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (_, mode), count in self.requests.items():
            totals[mode] += count
        return dict(sorted(totals.items()))

    def record_scenario(self, phase: str, recorder: Any) -> None:
        with self.lock:
            for case_id, interaction in recorder.interactions.items():
                node = recorder.cases.get(case_id)
                mode = _mode_of(node.value if node else None)
                self.requests[(phase, mode)] += 1
                if node is not None:
                    self.operations[node.value.operation.label] += 1
                response = interaction.response
                if response is None:
                    self.network_errors += 1
                else:
                    self.statuses[f"{response.status_code // 100}xx"] += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    self._add_failure(phase, recorder, case_id, check.name, check.failure_info.failure)

    def _add_failure(self, phase: str, recorder: Any, case_id: str, check: str, failure: Any) -> None:
        node = recorder.cases.get(case_id)
        case = node.value if node else None
        operation = failure.operation or (case.operation.label if case is not None else "?")
        interaction = recorder.interactions.get(case_id)
        response = interaction.response if interaction is not None else None
        # schemathesis keeps one server error per operation; the cause of the answer (its code, provider
        # and the start of its message, digits and odd characters dropped) separates distinct bugs
        server_error = type(failure).__name__ == "ServerError"
        cause = _cause(response.content) if response is not None and server_error else ""
        key = (check, operation, f"{getattr(failure, '_unique_key', '') or failure.title}|{cause}")
        if key in self.failures:
            self.failures[key].count += 1
            return
        self.failures[key] = FailureRecord(
            check=check,
            code=failure.code,
            title=failure.title,
            message=failure.message,
            operation=operation,
            phase=phase,
            mode=_mode_of(case),
            status=response.status_code if response is not None else None,
            curl=curl_command(interaction.request) if interaction is not None else "",
            response=_excerpt(response.content) if response is not None else "",
            requirement=getattr(failure, "requirement", None),
        )


def _cause(content: bytes | None) -> str:
    try:
        error = orjson.loads(content or b"").get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    text = str(error.get("message", ""))[:60]
    message = "".join(c for c in text if (c.isascii() and c.isalpha()) or c == " ")
    return f"{error.get('code')}|{error.get('provider')}|{message}"


def _excerpt(content: bytes | None, limit: int = 1500) -> str:
    text = (content or b"").decode("utf-8", errors="replace")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def _mode_of(case: Any) -> str:
    meta = getattr(case, "meta", None) if case is not None else None
    return str(meta.generation.mode.value) if meta is not None else "derived"


def curl_command(request: Any) -> str:
    """A curl line that replays a recorded request; the API key is left to `$AURIKO_API_KEY`."""
    parts = ["curl", "-sS", "-X", request.method]
    for name, values in request.headers.items():
        lower = name.lower()
        if lower in _CLIENT_HEADERS or lower.startswith("x-schemathesis"):
            continue
        for value in values:
            if lower == "authorization" and value.lower().startswith("bearer "):
                parts += ["-H", f'"Authorization: Bearer {API_KEY_PLACEHOLDER}"']
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body:
        parts += ["--data-binary", shlex.quote(request.body.decode("utf-8", errors="backslashreplace"))]
    parts.append(shlex.quote(request.uri))
    return " ".join(parts)


def build_summary(
    options: FuzzOptions, results: FuzzResults, *, target_url: str, embedded: bool, started: float
) -> dict[str, Any]:
    failures = sorted(results.failures.values(), key=lambda f: (f.operation, f.check, f.title))
    return {
        "schema_version": 1,
        "tool": f"schemathesis {schemathesis_version}",
        "target": {
            "url": EMBEDDED_LABEL if embedded else target_url,
            "label": options.target_label or (EMBEDDED_LABEL if embedded else target_url),
            "profile": str(options.target_profile or "reference"),
        },
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 2),
        "settings": {
            "seed": options.seed,
            "deterministic": options.deterministic,
            "phases": list(options.phases),
            "mode": options.mode,
            "max_examples": options.max_examples,
            "workers": options.workers,
        },
        "requests": {
            "total": results.total_requests,
            "by_phase": results.by_phase(),
            "by_mode": results.by_mode(),
            "by_status": dict(sorted(results.statuses.items())),
            "by_operation": dict(sorted(results.operations.items())),
            "network_errors": results.network_errors,
        },
        "exit_code": results.exit_code,
        "stop_reason": results.stop_reason,
        "passed": results.exit_code == 0 and not failures and not results.errors,
        "errors": results.errors,
        "failures": [
            {
                "check": f.check,
                "code": f.code,
                "requirement": f.requirement,
                "title": f.title,
                "message": f.message[:2000],
                "operation": f.operation,
                "phase": f.phase,
                "mode": f.mode,
                "status": f.status,
                "count": f.count,
                "response": f.response,
                "curl": f.curl,
            }
            for f in failures
        ],
        "accepted_refusals": dict(sorted(checks.ACCEPTED_REFUSALS.items())),
        "informational": checks.INFORMATIONAL.as_list(),
        "reports": {"junit": "fuzz-junit.xml", "config": "fuzz-schemathesis.toml"},
    }


def console_summary(summary: dict[str, Any]) -> str:
    requests = summary["requests"]
    settings = summary["settings"]
    # schemathesis ignores the seed in deterministic mode
    generation = "deterministic" if settings.get("deterministic") else f"seed {settings['seed']}"
    lines = [
        f"fuzz: {requests['total']} requests against {summary['target']['url']} "
        f"({generation}, mode {summary['settings']['mode']}, "
        f"max-examples {summary['settings']['max_examples']}) in {summary['duration_s']} s",
    ]
    for phase, modes in requests["by_phase"].items():
        lines.append(f"  {phase:<10}" + "  ".join(f"{mode} {count}" for mode, count in modes.items()))
    lines.append("  statuses  " + "  ".join(f"{k} {v}" for k, v in requests["by_status"].items()))
    if summary["accepted_refusals"]:
        refusals = ", ".join(f"{k} {v}" for k, v in summary["accepted_refusals"].items())
        lines.append(f"  schema-valid requests refused for routing/capability reasons (D-053): {refusals}")
    for item in summary["informational"]:
        lines.append(
            f"  informational [{item['requirement']}] {item['check']} x{item['count']}: {item['example']}"
        )
    for error in summary.get("errors", []):
        lines.append(f"ERROR {error['operation']} ({error['phase']}): {error['title']}: not tested")
    failures = summary["failures"]
    lines.append(f"{len(failures)} unique failure(s)" if failures else "no failures")
    for failure in failures:
        lines.append(
            f"FAIL {failure['operation']} {failure['check']} ({failure['code']}): {failure['title']}"
        )
        lines.append(f"  replay: {failure['curl']}")
    return "\n".join(lines)
