"""Diagnostic pytest plugin: record every finding of a test instead of stopping at the first MUST one.

The suite's Judge fails a test at its first MUST finding, so on a gateway that breaks a generic rule
(no routing_metadata, no X-Request-ID, another error envelope) the test's own requirement is never
checked, and the report counts it as a pass. This plugin lets every check of every test run, so the
report lists all findings (docs/litellm.md, "Reading the report"). Diagnostic only; not used by
`make conformance-litellm`:

    PYTHONPATH=bench/litellm REPORT_DIR=reports/litellm-all \\
        bash bench/litellm/run.sh run -- -p diag_no_early_abort
"""

from __future__ import annotations

from typing import Any

from suites import plugin


def _record(self: plugin.Judge, found: list[Any], exchange: Any = None) -> None:
    self.findings.extend(found)
    if exchange is not None and found:
        self.evidence.append(plugin._evidence(exchange))


plugin.Judge.record = _record  # type: ignore[method-assign]
