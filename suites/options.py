"""Every option of the suites, declared once: `auriko-conformance run`, `fuzz` and the pytest plugin.

The same setting is reachable three ways (a `run` flag, a pytest flag, an environment variable), and
three hand-written copies drifted: help text, defaults and environment names differed. Each option is
one row here; `add_to_argparse` and `add_to_pytest` build the two parsers from the rows, and
`forward` turns parsed `run` arguments into the pytest flags that carry them on.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from auriko_conformance.mocks.server import CONTROL_TOKEN_ENV

LEVELS = ("core", "auriko", "full")
FAIL_ON = ("must", "any", "never")
DEFAULT_SNAPSHOT_DIR = "conformance-snapshots"


@dataclass(frozen=True, slots=True)
class Option:
    flag: str
    help: str
    env: str | None = None
    default: Any = None
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    #: "value" takes one argument; "append" is repeatable; "flag" takes none
    kind: Literal["value", "append", "flag"] = "value"
    metavar: str | None = None
    #: the pytest flag when it must differ (`--timeout` is pytest-timeout's)
    pytest_flag: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def in_pytest(self) -> str:
        return self.pytest_flag or self.flag

    def initial(self) -> Any:
        """The default, taken from the environment variable when it is set."""
        raw = os.environ.get(self.env) if self.env else None
        if raw is None or raw == "":
            return self.default
        if self.kind == "flag":
            return raw.lower() not in ("0", "false", "no")
        return self.type(raw)

    def help_text(self) -> str:
        extras = []
        if self.default not in (None, False, ()):
            extras.append(f"default: {self.default}")
        if self.env:
            extras.append(f"env {self.env}")
        return f"{self.help} ({'; '.join(extras)})" if extras else self.help

    def keywords(self, dest: str) -> dict[str, Any]:
        kw: dict[str, Any] = {"dest": dest, "help": self.help_text()}
        if self.kind == "flag":
            kw.update(action="store_true", default=bool(self.initial()))
        elif self.kind == "append":
            kw.update(action="append", default=[], metavar=self.metavar or "VALUE")
        else:
            kw.update(default=self.initial(), type=self.type, metavar=self.metavar)
            if self.choices:
                kw["choices"] = self.choices
        return kw


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text}")
    return value


#: The target and what the suite knows about it: `run`, `fuzz` and the pytest plugin.
TARGET: tuple[Option, ...] = (
    Option(
        "--target-url",
        "gateway under test (absent: the embedded reference on the mocks)",
        "AURIKO_TARGET_URL",
    ),
    Option("--api-key", "API key for the target, sent as 'Authorization: Bearer KEY'", "AURIKO_API_KEY"),
    Option(
        "--header",
        "extra header 'Name: value' on every request to the target; repeatable; added to the profile's "
        "headers and overriding them",
        kind="append",
        metavar="'NAME: VALUE'",
    ),
    Option(
        "--target-profile",
        "YAML profile of the target's models, headers, claims and prices (docs/profiles.md; "
        "default: the reference gateway's)",
        "AURIKO_TARGET_PROFILE",
        metavar="FILE",
    ),
    Option(
        "--target-label",
        "the target's name in the reports, and what a fuzz run's results are matched by (default: its URL)",
        "AURIKO_TARGET_LABEL",
    ),
)

#: The suites (pytest) only.
SUITES: tuple[Option, ...] = (
    Option("--mock-url", "the mock provider server the target uses upstream", "AURIKO_MOCK_URL"),
    Option(
        "--mock-control-token",
        "the token the mocks were started with (`--control-token`), sent in X-Mock-Control-Token "
        "on /__mock/*",
        CONTROL_TOKEN_ENV,
    ),
    Option(
        "--level",
        "core: plain OpenAI compatibility; auriko: adds routing_metadata, gateway, extensions; "
        "full: adds what needs the mocks",
        "AURIKO_LEVEL",
        "full",
        choices=LEVELS,
    ),
    Option(
        "--timeout",
        "seconds a non-streaming answer, or a stream's first byte, may take; a request past it is one "
        "finding on the test's requirement",
        "AURIKO_TIMEOUT",
        30.0,
        _seconds,
        metavar="SECONDS",
        pytest_flag="--target-timeout",
    ),
    Option(
        "--stall-timeout",
        "seconds a stream may go without a byte once it has started",
        "AURIKO_STALL_TIMEOUT",
        15.0,
        _seconds,
        metavar="SECONDS",
    ),
    Option(
        "--max-timeouts",
        "stop the run after this many timed-out tests in a row (0: never stop)",
        "AURIKO_MAX_TIMEOUTS",
        3,
        int,
        metavar="N",
    ),
    Option(
        "--max-duration",
        "stop the run after this many seconds; tests not started by then read 'not run' (0: no limit)",
        "AURIKO_MAX_DURATION",
        0.0,
        _seconds,
        metavar="SECONDS",
    ),
    Option(
        "--snapshot-dir",
        "root of the regression baselines, one folder per profile; --snapshot-update writes here",
        "AURIKO_SNAPSHOT_DIR",
        DEFAULT_SNAPSHOT_DIR,
        metavar="DIR",
    ),
    Option(
        "--no-preflight",
        "skip the preflight (reach the target and mocks, authenticate, probe the default model)",
        "AURIKO_NO_PREFLIGHT",
        kind="flag",
    ),
)

#: Where `run` and `fuzz` write their reports (the same directory joins the two).
REPORT_DIR = Option(
    "--report-dir",
    "directory for report.html, results.json and junit.xml",
    "AURIKO_REPORT_DIR",
    "reports",
    Path,
    metavar="DIR",
)

#: The plugin's report directory (`run` calls it --report-dir).
REPORT = Option(
    "--conformance-report", "directory for results.json and report.html", "AURIKO_REPORT_DIR", metavar="DIR"
)


def add_to_argparse(parser: argparse.ArgumentParser | Any, options: Iterable[Option]) -> None:
    for option in options:
        parser.add_argument(option.flag, **option.keywords(option.dest))


def add_to_pytest(group: pytest.OptionGroup, options: Iterable[Option]) -> None:
    for option in options:
        # a prefixed dest: another plugin's option of the same name must not clash with ours
        group.addoption(option.in_pytest, **option.keywords("auriko_" + option.dest))


def forward(args: argparse.Namespace, options: Iterable[Option]) -> list[str]:
    """The pytest flags that carry parsed `run` arguments on (unset ones are left out)."""
    argv: list[str] = []
    for option in options:
        value = getattr(args, option.dest)
        if option.kind == "flag":
            argv += [option.in_pytest] if value else []
        elif option.kind == "append":
            argv += [f"{option.in_pytest}={item}" for item in value]
        elif value is not None:
            argv.append(f"{option.in_pytest}={value}")
    return argv


def parse_headers(lines: Sequence[str]) -> dict[str, str]:
    """`['Name: value', ...]` as a dict; a line without a colon is a usage error naming it."""
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {line!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers
