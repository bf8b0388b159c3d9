"""What a fuzz run is asked to do, and the schemathesis configuration that says it.

One configuration drives both ways of fuzzing: `auriko-conformance fuzz` (all four phases, with the
per-phase counts and `fuzz.json`) and the pytest suite `suites/test_fuzz.py` (`-m fuzz`, without the
stateful phase). A run is reproducible: `seed` fixes Hypothesis's seed and, by default, generation is
deterministic and schemathesis's cross-run cache is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

PHASES = ("examples", "coverage", "fuzzing", "stateful")
MODES = ("positive", "negative", "all")
DEFAULT_SEED = 20261125
#: Streams are read whole (n <= 10 choices of a mock answer stay far below this).
MAX_STREAM_EVENTS = 10_000


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
    suite's checks are added by `suites.fuzzing.checks`. Decision D-053 says what counts as a failure.
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
