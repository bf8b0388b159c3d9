"""`auriko-conformance fuzz`: schemathesis over openapi.yaml, against the embedded reference or any gateway.

The command line on top of `suites/fuzzing/` (which holds the configuration, the hooks and checks, the
results and their merge into the report; docs/fuzzing.md). This module owns what only a command does:
its options, the target (without `--target-url` it starts the mock providers and the reference gateway
on free ports in a child process, so the gateway and the fuzzer each get a core), running
schemathesis's own command in this process with an event handler that counts what it does, and the
files:

    <report-dir>/fuzz-junit.xml      schemathesis's JUnit report (one test case per operation and phase)
    <report-dir>/fuzz.json           summary: requests per phase and mode, failures with a curl line each,
                                     the routing refusals accepted under D-053, informational findings
    <report-dir>/fuzz-schemathesis.toml  the exact schemathesis configuration of the run

When the report directory also holds the suites' results for the same target and session (D-135),
the fuzz results are folded into them in memory and the report is written once: report.html gains a
Fuzzing section and the requirement rows its failures name, junit.xml gains the fuzz test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from schemathesis.cli import handler
from schemathesis.cli import schemathesis as st_command
from schemathesis.cli.commands.run.handlers.base import EventHandler
from schemathesis.cli.ext.handlers import CUSTOM_HANDLERS
from schemathesis.engine import events

from auriko_conformance.embedded import SERVER_LOG, embedded_target_process
from auriko_conformance.paths import OPENAPI_PATH
from auriko_conformance.reference_impl.config import TEST_API_KEY
from auriko_conformance.suites import options as shared_options
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.fuzzing import checks
from auriko_conformance.suites.fuzzing.merge import FUZZ_FILE, FUZZ_JUNIT_FILE, saved_suites_results
from auriko_conformance.suites.fuzzing.results import FuzzResults, build_summary, console_summary
from auriko_conformance.suites.fuzzing.settings import (
    DEFAULT_SEED,
    MODES,
    PHASES,
    FuzzOptions,
    schemathesis_config,
)
from auriko_conformance.suites.profile import ProfileError, load_profile
from auriko_conformance.suites.report import write_reports

_ACTIVE: FuzzResults | None = None


class AurikoFuzzStats(EventHandler):
    """Schemathesis's command reports to its event handlers; this one feeds the active `FuzzResults`."""

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


def _register_handler() -> None:
    """Register the event handler once per process (schemathesis keeps a global list of them)."""
    if not any(getattr(h, "__name__", "") == AurikoFuzzStats.__name__ for h in CUSTOM_HANDLERS):
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
        str(report_dir / FUZZ_JUNIT_FILE),
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
    try:
        st_command.main(args=argv, prog_name="st", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def run(options: FuzzOptions) -> tuple[int, dict[str, Any]]:
    """One fuzz run; returns (exit code, summary) and writes the reports."""
    global _ACTIVE
    profile = load_profile(options.target_profile)
    checks.configure(profile)
    checks.reset_counters()
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
            api_key, embedded = options.api_key or TEST_API_KEY, True
            print(f"embedded reference gateway at {target_url}", flush=True)
        _ACTIVE = results
        try:
            code = run_schemathesis(schemathesis_argv(options, target_url, api_key, config_path))
        finally:
            _ACTIVE = None
    results.exit_code = code
    summary = build_summary(options, results, target_url=target_url, embedded=embedded, started=started)
    (options.report_dir / FUZZ_FILE).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    # the suites' results of the same target and session, if there are any, with this run folded in
    suites_results, merged = saved_suites_results(options.report_dir, summary)
    if suites_results is not None:
        write_reports(suites_results, options.report_dir)
        merged = f"{merged}: {options.report_dir / 'report.html'}, results.json and junit.xml"
    summary["merged"] = merged
    return code, summary


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
    print(f"reports: {options.report_dir / FUZZ_FILE}, {options.report_dir / FUZZ_JUNIT_FILE}")
    if not options.target_url:
        print(f"embedded servers' log: {options.report_dir / SERVER_LOG}")
    if summary.get("merged"):
        print(summary["merged"])
    if code not in (0, 1):
        return code
    return 0 if summary["passed"] else 1
