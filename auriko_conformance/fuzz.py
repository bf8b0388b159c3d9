"""`auriko-conformance fuzz`: schemathesis over openapi.yaml, against the embedded reference or any gateway.

Schemathesis generates valid and invalid requests from the contract (phases examples, coverage,
fuzzing and stateful; positive and negative data) and checks every response with its built-in checks
plus the suite's own (`suites/fuzz_checks.py`: error envelope, routing_metadata, stream framing). This
module owns the run: the schemathesis configuration, the target (without `--target-url` it starts the
mock providers and the reference gateway on free ports in a child process, so the gateway and the
fuzzer each get a core), and the reports:

    <report-dir>/fuzz-junit.xml      schemathesis's JUnit report (one test case per operation and phase)
    <report-dir>/fuzz.json           summary: requests per phase and mode, failures with a curl line each,
                                     the routing refusals accepted under D-053, informational findings
    <report-dir>/fuzz-schemathesis.toml  the exact schemathesis configuration of the run

When the report directory also holds the suites' results for the same target, the fuzz results are
folded into them (`suites/fuzz_report.py`): report.html gains a Fuzzing section and the requirement
rows its failures name, junit.xml gains the fuzz test suite.

A run is reproducible: `--seed` fixes Hypothesis's seed and, by default, generation is deterministic
(`--generation-deterministic`) and schemathesis's cross-run cache is off. The same configuration drives
`suites/test_fuzz.py` (`schemathesis_config()`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shlex
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from auriko_conformance.embedded import DEFAULT_KEY, EMBEDDED_LABEL, SERVER_LOG, embedded_target_process
from auriko_conformance.paths import OPENAPI_PATH
from auriko_conformance.suites import options as shared_options
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.profile import ProfileError, load_profile

PHASES = ("examples", "coverage", "fuzzing", "stateful")
MODES = ("positive", "negative", "all")
DEFAULT_SEED = 20261125
API_KEY_PLACEHOLDER = "$AURIKO_API_KEY"
#: Streams are read whole (n <= 10 choices of a mock answer stay far below this).
MAX_STREAM_EVENTS = 10_000
#: Headers the HTTP client adds on its own: left out of curl lines.
_CLIENT_HEADERS = frozenset({"user-agent", "accept-encoding", "accept", "connection", "content-length"})


@dataclass(slots=True)
class FuzzOptions:
    target_url: str | None = None
    api_key: str | None = None
    max_examples: int = 100
    seed: int = DEFAULT_SEED
    phases: tuple[str, ...] = PHASES
    mode: str = "all"
    report_dir: Path = Path("reports")
    target_profile: Path | None = None
    #: the target's name in the reports, what the suites' results are matched by (default: its URL)
    target_label: str | None = None
    deterministic: bool = True
    workers: int = 1
    request_timeout: float = 30.0
    max_failures: int | None = None
    #: extra headers on every request (`--header`, then the profile's)
    headers: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------
# Configuration shared by the CLI run and the pytest suite
# ---------------------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return orjson.dumps(str(value)).decode()  # a JSON string is a valid TOML basic string


def schemathesis_config(options: FuzzOptions) -> str:
    """The schemathesis configuration (TOML) of a run; the suite's pytest fuzzing uses it as well.

    Every built-in check stays on with its default expectations, including `negative_data_rejection`,
    `positive_data_acceptance`, `unsupported_method`, `missing_required_header` and `ignored_auth`; the
    suite's checks are added by `suites.fuzz_checks`. Decision D-053 says what counts as a failure.
    """
    settings: dict[str, Any] = {
        "seed": options.seed,
        "continue-on-failure": True,
        "max-stream-events": MAX_STREAM_EVENTS,
        "request-timeout": options.request_timeout,
        "workers": options.workers,
    }
    if options.max_failures:
        settings["max-failures"] = options.max_failures
    lines = [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    lines += [
        "",
        "[generation]",
        f"mode = {_toml_value(options.mode)}",
        f"max-examples = {options.max_examples}",
        f"deterministic = {_toml_value(options.deterministic)}",
        "",
        "[cache]",
        "enabled = false  # no learning across runs: a seed replays the same run",
        "",
        "[checks]",
        "enabled = true",
    ]
    for phase in PHASES:
        lines += ["", f"[phases.{phase}]", f"enabled = {_toml_value(phase in options.phases)}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------
# Results: counted from schemathesis's events by a CLI event handler
# ---------------------------------------------------------------------------------------------------


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


_ACTIVE: FuzzResults | None = None


def _register_handler() -> None:
    """Register (once) the CLI event handler that feeds the active `FuzzResults`."""
    from schemathesis.cli import handler
    from schemathesis.cli.commands.run.handlers.base import EventHandler
    from schemathesis.cli.ext.handlers import CUSTOM_HANDLERS
    from schemathesis.engine import events

    if any(getattr(h, "__name__", "") == "AurikoFuzzStats" for h in CUSTOM_HANDLERS):
        return

    class AurikoFuzzStats(EventHandler):
        def __init__(self, *args: Any, **params: Any) -> None:
            pass

        def handle_event(self, ctx: Any, event: Any) -> None:
            results = _ACTIVE
            if results is None:
                return
            if isinstance(event, events.ScenarioFinished):
                results.record_scenario(str(event.phase), event.recorder)
            elif isinstance(event, events.NonFatalError):
                with results.lock:
                    results.errors.append(
                        {
                            "operation": event.label,
                            "phase": str(event.phase or ""),
                            "title": event.info.title,
                            "message": event.info.message[:2000],
                        }
                    )
            elif isinstance(event, events.EngineFinished):
                results.running_time = event.running_time
                results.stop_reason = str(event.stop_reason)

    handler()(AurikoFuzzStats)


# ---------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------


def schemathesis_argv(
    options: FuzzOptions, target_url: str, api_key: str | None, config_path: Path
) -> list[str]:
    report_dir = options.report_dir
    argv = [
        "--config-file",
        str(config_path),
        "run",
        str(OPENAPI_PATH),
        "--url",
        target_url,
        "--phases",
        ",".join(options.phases),
        "--mode",
        options.mode,
        "--max-examples",
        str(options.max_examples),
        "--seed",
        str(options.seed),
        "--report",
        "junit",
        "--report-junit-path",
        str(report_dir / "fuzz-junit.xml"),
        "--no-color",
    ]
    if options.deterministic:
        argv.append("--generation-deterministic")
    if api_key:
        argv += ["-H", f"Authorization: Bearer {api_key}"]
    for name, value in options.headers.items():
        argv += ["-H", f"{name}: {value}"]
    return argv


def run_schemathesis(argv: list[str]) -> int:
    """Run `st <argv>` in this process (our hooks and checks are registered here); its exit code."""
    from schemathesis.cli import schemathesis as st

    try:
        st.main(args=argv, prog_name="st", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def run(options: FuzzOptions) -> tuple[int, dict[str, Any]]:
    """One fuzz run; returns (exit code, summary) and writes the reports."""
    global _ACTIVE
    from auriko_conformance.suites import fuzz_checks
    from auriko_conformance.suites.fuzz_report import merge_directory

    profile = load_profile(options.target_profile)
    fuzz_checks.configure(profile)
    fuzz_checks.reset_counters()
    _register_handler()
    options.report_dir.mkdir(parents=True, exist_ok=True)
    config_path = options.report_dir / "fuzz-schemathesis.toml"
    config_path.write_text(schemathesis_config(options), encoding="utf-8")

    started = time.time()
    results = FuzzResults()
    with contextlib.ExitStack() as stack:
        if options.target_url:
            target_url, api_key, embedded = options.target_url, options.api_key, False
        else:
            target_url = stack.enter_context(
                embedded_target_process(log_file=options.report_dir / SERVER_LOG)
            ).url
            api_key, embedded = options.api_key or DEFAULT_KEY, True
            print(f"embedded reference gateway at {target_url}", flush=True)
        _ACTIVE = results
        try:
            code = run_schemathesis(schemathesis_argv(options, target_url, api_key, config_path))
        finally:
            _ACTIVE = None
    results.exit_code = code
    summary = build_summary(options, results, target_url=target_url, embedded=embedded, started=started)
    (options.report_dir / "fuzz.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    summary["merged"] = merge_directory(options.report_dir)  # into the suites' report, if one is there
    return code, summary


def build_summary(
    options: FuzzOptions, results: FuzzResults, *, target_url: str, embedded: bool, started: float
) -> dict[str, Any]:
    from schemathesis import __version__ as st_version

    from auriko_conformance.suites import fuzz_checks

    failures = sorted(results.failures.values(), key=lambda f: (f.operation, f.check, f.title))
    return {
        "schema_version": 1,
        "tool": f"schemathesis {st_version}",
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
        "accepted_refusals": dict(sorted(fuzz_checks.ACCEPTED_REFUSALS.items())),
        "informational": fuzz_checks.INFORMATIONAL.as_list(),
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


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------


def _phases(value: str) -> tuple[str, ...]:
    phases = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        raise argparse.ArgumentTypeError(f"phases are a comma-separated subset of {','.join(PHASES)}")
    return phases


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance fuzz",
        description="Fuzz a gateway from openapi.yaml with schemathesis (the embedded reference by default).",
    )
    shared_options.add_to_argparse(parser, (*shared_options.TARGET, shared_options.REPORT_DIR))
    parser.add_argument(
        "--max-examples",
        type=int,
        default=100,
        help="examples per operation in the fuzzing phase (both modes together), and stateful scenarios",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Hypothesis seed")
    parser.add_argument("--phases", type=_phases, default=PHASES, help="comma-separated; default: all four")
    parser.add_argument("--mode", choices=MODES, default="all", help="positive, negative or all (default)")
    parser.add_argument(
        "--workers", type=int, default=1, help="schemathesis workers (operations in parallel)"
    )
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--max-failures", type=int, default=None, help="stop after this many failures")
    parser.add_argument(
        "--no-deterministic",
        dest="deterministic",
        action="store_false",
        help="random generation (still seeded) instead of deterministic",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        headers = shared_options.parse_headers(args.header)
        profile = load_profile(Path(args.target_profile) if args.target_profile else None)
    except (ProfileError, ValueError) as exc:
        print(f"auriko-conformance fuzz: invalid configuration:\n  {exc}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    options = FuzzOptions(
        target_url=args.target_url,
        api_key=args.api_key,
        max_examples=args.max_examples,
        seed=args.seed,
        phases=args.phases,
        mode=args.mode,
        report_dir=args.report_dir,
        target_profile=Path(args.target_profile) if args.target_profile else None,
        target_label=args.target_label,
        headers={**profile.headers, **headers},
        deterministic=args.deterministic,
        workers=args.workers,
        request_timeout=args.request_timeout,
        max_failures=args.max_failures,
    )
    code, summary = run(options)
    print(console_summary(summary))
    print(f"reports: {options.report_dir / 'fuzz.json'}, {options.report_dir / 'fuzz-junit.xml'}")
    if not options.target_url:
        print(f"embedded servers' log: {options.report_dir / SERVER_LOG}")
    if summary.get("merged"):
        print(summary["merged"])
    if code not in (0, 1):
        return code
    return 0 if summary["passed"] else 1
