"""`auriko-conformance run`: run the suites against a target and write the reports.

Without `--target-url` it starts the embedded mocks and the reference gateway on free ports, points the
gateway at the mocks, and runs the suites against it: the one command a fresh checkout needs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from suites.report import console_summary, load_results

SUITES_DIR = Path(__file__).resolve().parent
DEFAULT_KEY = "ak_test_conformance"
#: The name runs against the embedded reference go by (its ports change from run to run).
EMBEDDED_LABEL = "embedded reference"


@contextlib.contextmanager
def embedded_target() -> Iterator[tuple[str, str]]:
    """Start the mock providers and the reference gateway; yield (gateway URL, mock URL)."""
    from auriko_conformance.servers import serving
    from mocks.app import create_app as create_mocks
    from reference_impl.app import create_app as create_gateway
    from reference_impl.config import default_config
    from reference_impl.server import uvicorn_options

    with serving(create_mocks()) as mock_server:
        config = default_config(mock_base_url=mock_server.url)
        # The same server settings `auriko-conformance serve` uses (header limits, keep-alive, timeouts).
        with serving(create_gateway(config), **uvicorn_options(config)) as gateway:
            yield gateway.url, mock_server.url


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance run",
        description="Run the conformance suites against a gateway and write JUnit, JSON and HTML reports.",
    )
    env = os.environ.get
    parser.add_argument("--target-url", default=env("AURIKO_TARGET_URL"), help="gateway under test")
    parser.add_argument("--api-key", default=env("AURIKO_API_KEY"), help="API key for the target")
    parser.add_argument(
        "--mock-url", default=env("AURIKO_MOCK_URL"), help="mock server the target uses upstream"
    )
    parser.add_argument("--target-profile", default=env("AURIKO_TARGET_PROFILE"), help="target profile YAML")
    parser.add_argument(
        "--target-label",
        default=env("AURIKO_TARGET_LABEL"),
        help="the target's name in the reports, and what a fuzz run's results are matched by "
        "(default: its URL; 'embedded reference' without --target-url)",
    )
    parser.add_argument("--level", default=env("AURIKO_LEVEL", "full"), choices=["core", "auriko", "full"])
    parser.add_argument("--report-dir", default=env("AURIKO_REPORT_DIR", "reports"), type=Path)
    parser.add_argument(
        "--fail-on",
        default=env("AURIKO_FAIL_ON", "must"),
        choices=["must", "any", "never"],
        help="exit 1 on MUST failures (default), on any finding incl. SHOULD/MAY (any), or never",
    )
    parser.add_argument("-n", "--workers", default="2", help="pytest-xdist workers ('0' to run in-process)")
    parser.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="-- then extra pytest arguments")
    return parser


def pytest_args(
    args: argparse.Namespace,
    target_url: str,
    api_key: str | None,
    mock_url: str | None,
    label: str | None = None,
) -> list[str]:
    report_dir: Path = args.report_dir
    argv = [
        str(SUITES_DIR),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfE",
        f"--rootdir={SUITES_DIR}",
        "-c",
        os.devnull,
        f"--target-url={target_url}",
        f"--level={args.level}",
        f"--conformance-report={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        "-o",
        "junit_family=xunit2",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
    ]
    if api_key:
        argv.append(f"--api-key={api_key}")
    if label:
        argv.append(f"--target-label={label}")
    if mock_url:
        argv.append(f"--mock-url={mock_url}")
    if args.target_profile:
        argv.append(f"--target-profile={args.target_profile}")
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.workers not in ("0", "1"):
        argv += ["-n", args.workers, "--dist", "load"]
    extra = [a for a in args.pytest_args if a != "--"]
    return argv + extra


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        label = args.target_label
        if args.target_url:
            target_url, mock_url, api_key = args.target_url, args.mock_url, args.api_key
        else:
            target_url, mock_url = stack.enter_context(embedded_target())
            api_key, label = args.api_key or DEFAULT_KEY, label or EMBEDDED_LABEL
            print(f"embedded reference gateway at {target_url}, mock providers at {mock_url}")
        code = pytest.main(pytest_args(args, target_url, api_key, mock_url, label))
    results_path = args.report_dir / "results.json"
    if not results_path.exists():
        print(f"no results written (pytest exit code {int(code)})", file=sys.stderr)
        return int(code) or 2
    results = load_results(results_path)
    print(console_summary(results))
    print(f"reports: {args.report_dir / 'report.html'}, {results_path}, {args.report_dir / 'junit.xml'}")
    if int(code) not in (0, 1):
        return int(code)  # the run itself broke (usage error, collection error, interrupted)
    return exit_code(results, args.fail_on, tests_failed=int(code) == 1)


def exit_code(results: dict[str, Any], fail_on: str, *, tests_failed: bool = False) -> int:
    """The build verdict: MUST failures (or a test that crashed) fail it; `any` also fails on SHOULD/MAY."""
    # The suites' own verdicts: fuzz results folded into the report have their own exit code (`fuzz`).
    summary = results.get("suite_summary") or results["summary"]
    if fail_on == "never":
        return 0
    if summary["fail"] or results.get("other_failures") or tests_failed:
        return 1
    return 1 if fail_on == "any" and summary["informational"] else 0
