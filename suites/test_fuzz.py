"""Schemathesis fuzzing of the target from openapi.yaml, as a pytest suite (marker `fuzz`).

The same machinery as `auriko-conformance fuzz` (`suites/fuzzing/`): the schemathesis configuration of
`settings.schemathesis_config` (examples, coverage and fuzzing phases; positive and negative data;
every built-in check) and the hooks and checks of `checks`. pytest runs one
test per operation; schemathesis drives Hypothesis inside it, and a failure shows the minimal case
with a curl line.

It runs only when asked, because it sends thousands of requests:

    auriko-conformance run -- -m fuzz                  # the embedded reference
    auriko-conformance run --target-url URL --api-key KEY -- -m fuzz

`AURIKO_FUZZ_MAX_EXAMPLES` (default 25) and `AURIKO_FUZZ_SEED` tune it. The stateful phase, the
per-phase and per-mode counts and `fuzz.json` belong to `auriko-conformance fuzz`.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from auriko_conformance.suites.fuzzing import checks
from auriko_conformance.suites.fuzzing.settings import DEFAULT_SEED, PHASES, FuzzOptions, schemathesis_config
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Target

from auriko_conformance.paths import OPENAPI_PATH

pytestmark = pytest.mark.fuzz

ASKED = "fuzz"


def selected(config: pytest.Config) -> bool:
    """Only an explicit `-m` expression naming `fuzz` (and not excluding it) runs the fuzzer."""
    expression = config.getoption("markexpr", "") or ""
    return ASKED in expression and f"not {ASKED}" not in expression


def _schema() -> Any:
    options = FuzzOptions(
        max_examples=int(os.environ.get("AURIKO_FUZZ_MAX_EXAMPLES", "25")),
        seed=int(os.environ.get("AURIKO_FUZZ_SEED", str(DEFAULT_SEED))),
        phases=tuple(p for p in PHASES if p != "stateful"),  # stateful runs in `auriko-conformance fuzz`
    )
    config = schemathesis.Config.from_str(schemathesis_config(options))
    return schemathesis.openapi.from_path(OPENAPI_PATH, config=config)


# Loaded at import (a local file): `schemathesis.pytest.from_fixture` would defer it, but its lazy
# loader does not run under pytest 9.2 (it sets `Function._nodeid`, which pytest no longer has).
schema = _schema()


@pytest.fixture(autouse=True)
def _fuzz_only_when_asked(pytestconfig: pytest.Config, profile: TargetProfile, target: Target) -> None:
    if not selected(pytestconfig):
        pytest.skip("schemathesis fuzzing runs only when selected: -m fuzz")
    checks.configure(profile)
    # Configured, not passed to the call: schemathesis must know the credentials to drop them on
    # purpose (negative cases without Authorization, `ignored_auth`).
    schema.config.update(headers=target.auth_headers())


@schema.parametrize()
def test_contract_fuzzing(case: Any, target: Target) -> None:
    """Every generated request gets an answer the contract and the suite's checks accept."""
    case.call_and_validate(base_url=target.base_url)
