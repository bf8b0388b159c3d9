"""Run the suites against a target from a test, in a child process.

The suites import with the session's profile (suites/test_fuzz.py fits the contract to it at import),
so a run inside the test process would leave another target's state in modules the rest of the tests
use. The target can stay in the test process (a monkeypatched reference, an ASGI stand-in); only pytest
runs apart.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_suites(args: Sequence[str], timeout: float = 600) -> int:
    """`pytest ARGS` in a child process rooted at the repository; its exit code."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=REPO, timeout=timeout, capture_output=True, check=False).returncode
