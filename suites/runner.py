"""`auriko-conformance run`: run the suites against a target and write the reports.

Without `--target-url` it starts the embedded mocks and the reference gateway on free ports, points the
gateway at the mocks, and runs the suites against it: the one command a fresh checkout needs.

Before any test it checks what would otherwise show up as hundreds of failing rows: the options and
the profile (exit 2, one line per problem), then the preflight (exit 3, one paragraph). Either way the
report directory gets a report that says why nothing was judged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from auriko_conformance.reference_impl.config import TEST_API_KEY
from auriko_conformance.suites import options
from auriko_conformance.suites.exit_codes import ExitCode, epilog
from auriko_conformance.suites.preflight import run_preflight
from auriko_conformance.suites.profile import ProfileError, TargetProfile, load_profile
from auriko_conformance.suites.report import console_summary, load_results, not_judged_results, write_reports
from auriko_conformance.suites.target import Target

from auriko_conformance.embedded import EMBEDDED_LABEL, SERVER_LOG, embedded_target

SUITES_DIR = Path(__file__).resolve().parent
#: the pytest plugin, loaded explicitly (there is no global entry point)
PLUGIN = "auriko_conformance.suites.plugin"

#: `run`'s own options (the target and suite options come from suites/options.py)
RUN: tuple[options.Option, ...] = (
    options.REPORT_DIR,
    options.Option(
        "--fail-on",
        "exit 1 on MUST failures (must), on any finding incl. SHOULD/MAY (any), or never",
        "AURIKO_FAIL_ON",
        "must",
        choices=options.FAIL_ON,
    ),
    options.Option("--workers", "pytest-xdist workers ('0': in this process)", "AURIKO_WORKERS", "2"),
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance run",
        description="Run the conformance suites against a gateway and write JUnit, JSON and HTML reports.",
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_to_argparse(parser, (*options.TARGET, *options.SUITES, *RUN))
    parser.add_argument("-n", dest="workers", help="short for --workers")
    parser.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- then extra pytest arguments")
    return parser


def pytest_args(
    args: argparse.Namespace,
    target_url: str,
    api_key: str | None,
    mock_url: str | None,
    label: str | None = None,
    *,
    preflight: bool = False,
) -> list[str]:
    """pytest's argv for a run; `preflight`: the plugin runs it (the CLI runs its own before pytest)."""
    report_dir: Path = args.report_dir
    forwarded = argparse.Namespace(
        **{
            **vars(args),
            "target_url": target_url,
            "api_key": api_key,
            "mock_url": mock_url,
            "target_label": label,
            "no_preflight": not preflight,
        }
    )
    argv = [
        str(SUITES_DIR),
        "-p",
        PLUGIN,
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--rootdir={SUITES_DIR}",
        "-c",
        os.devnull,
        f"--conformance-report={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-o",
        "junit_family=xunit2",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *options.forward(forwarded, (*options.TARGET, *options.SUITES)),
    ]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.workers not in ("0", "1"):
        argv += ["-n", args.workers, "--dist", "load"]
    return argv + [a for a in args.pytest_args if a != "--"]


def _configuration(args: argparse.Namespace) -> tuple[TargetProfile, dict[str, str]]:
    """The profile and headers, validated; `ProfileError`/`ValueError` name each problem."""
    headers = options.parse_headers(args.header)
    profile = load_profile(Path(args.target_profile) if args.target_profile else None)
    return profile, {**profile.headers, **headers}


def _not_judged(
    args: argparse.Namespace,
    stage: str,
    message: str,
    code: ExitCode,
    tests: list[dict[str, Any]] | None = None,
) -> int:
    print(message, file=sys.stderr)
    shown = {
        "target-url": args.target_url,
        "target-profile": args.target_profile,
        "level": args.level,
        "mock-url": args.mock_url,
        "target-label": args.target_label,
    }
    write_reports(not_judged_results(stage, message, shown, tests), args.report_dir)
    print(f"report (not judged: {stage}): {args.report_dir / 'report.html'}", file=sys.stderr)
    return int(code)


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)  # a bad option exits 2 (argparse), which is ExitCode.CONFIG
    args.report_dir.mkdir(parents=True, exist_ok=True)
    try:
        profile, headers = _configuration(args)
    except (ProfileError, ValueError) as exc:
        message = "auriko-conformance run: invalid configuration, nothing was run:\n  " + "\n  ".join(
            str(exc).splitlines()
        )
        return _not_judged(args, "configuration invalid", message, ExitCode.CONFIG)
    server_log: Path | None = None
    with contextlib.ExitStack() as stack:
        label = args.target_label
        if args.target_url:
            target_url, mock_url, api_key = args.target_url, args.mock_url, args.api_key
        else:
            server_log = args.report_dir / SERVER_LOG
            embedded = stack.enter_context(embedded_target(log_file=server_log))
            target_url, mock_url = embedded.url, embedded.mock_url
            api_key, label = args.api_key or TEST_API_KEY, label or EMBEDDED_LABEL
            print(f"embedded reference gateway at {target_url}, mock providers at {mock_url}")
        if not args.no_preflight:
            target = Target(
                target_url, api_key, args.timeout, args.stall_timeout, headers, profile.model_headers
            )
            with contextlib.closing(target.client):
                result = run_preflight(target, mock_url, profile)
            if not result.ok:
                return _not_judged(
                    args, "preflight failed", result.paragraph(), ExitCode.PREFLIGHT, result.tests()
                )
        code = int(pytest.main(pytest_args(args, target_url, api_key, mock_url, label)))
    return _verdict(args, code, server_log)


def _verdict(args: argparse.Namespace, code: int, server_log: Path | None) -> int:
    results_path = args.report_dir / "results.json"
    if code == ExitCode.CONFIG and not results_path.exists():
        return code  # the plugin refused the configuration and said why
    if not results_path.exists():
        print(f"no results written (pytest exit code {code})", file=sys.stderr)
        return int(ExitCode.HARNESS)
    results = load_results(results_path)
    print(console_summary(results))
    print(f"reports: {args.report_dir / 'report.html'}, {results_path}, {args.report_dir / 'junit.xml'}")
    if server_log is not None:
        print(f"embedded servers' log: {server_log}")
    if (results.get("harness") or {}).get("stopped"):
        return int(ExitCode.STOPPED)
    if code not in (0, 1):
        return int(ExitCode.HARNESS)  # the run itself broke (collection error, internal error, interrupted)
    return exit_code(results, args.fail_on, tests_failed=code == 1)


def exit_code(results: dict[str, Any], fail_on: str, *, tests_failed: bool = False) -> int:
    """The build verdict: MUST failures (or a test that crashed) fail it; `any` also fails on SHOULD/MAY."""
    # The suites' own verdicts: fuzz results folded into the report have their own exit code (`fuzz`).
    summary = results.get("suite_summary") or results["summary"]
    if fail_on == "never":
        return 0
    if summary["fail"] or results.get("other_failures") or tests_failed:
        return 1
    return 1 if fail_on == "any" and summary["informational"] else 0
