"""The exit codes of `auriko-conformance run` (and of `pytest` with the plugin), one name each.

A CI job must tell "the gateway broke a rule" from "the suite could not judge the gateway": the first
is the gateway team's work, the second is a set-up mistake (wrong URL, key, profile) that must never
look like a failing gateway. 0 and 1 are the verdicts; every code from 2 up is a harness problem.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    #: conformant at the chosen --fail-on
    OK = 0
    #: findings at the chosen --fail-on (MUST failures by default)
    FINDINGS = 1
    #: a bad option or target profile: nothing was run
    CONFIG = 2
    #: preflight failed: the target or the mocks were unreachable, did not answer, or refused the key
    PREFLIGHT = 3
    #: the run stopped early: the target kept timing out, or --max-duration was reached
    STOPPED = 4
    #: the harness itself broke (internal error, interrupted, no results written)
    HARNESS = 5


#: One line per code, for `--help` and the README (kept here so the two never drift).
DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.OK: "conformant at the chosen --fail-on",
    ExitCode.FINDINGS: "findings at the chosen --fail-on (MUST failures by default)",
    ExitCode.CONFIG: "bad option or target profile; nothing was run",
    ExitCode.PREFLIGHT: "preflight failed: target or mocks unreachable, silent, or the key refused",
    ExitCode.STOPPED: "run stopped early: the target kept timing out, or --max-duration was reached",
    ExitCode.HARNESS: "the harness broke (internal error, interrupted, no results written)",
}


def epilog() -> str:
    """The exit-code table as `--help` prints it."""
    lines = ["exit codes:"]
    lines += [f"  {int(code)}  {code.name:<10} {text}" for code, text in DESCRIPTIONS.items()]
    return "\n".join(lines)
