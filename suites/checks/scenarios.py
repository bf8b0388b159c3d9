"""ERR-016: a documented error code provoked by the scenario the target's profile names for it.

Many codes of the contract's table need a state no ordinary request has: an expired key, a key without
the inference scope, a model that cannot stream, one that only streams, one offered only in batches, a
provider the workspace blocked... A profile names how to provoke each one it claims (`error_scenarios:`,
D-124); the suite sends that request and this check holds the answer to the contract's status and type
for the code. Codes without a scenario read "not claimed".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auriko_conformance.suites.checks import (
    Applies,
    Context,
    Located,
    NotApplicable,
    about_status,
    check,
    error_under_200,
)
from auriko_conformance.suites.checks.errors import SCENARIO_ERROR_OWNERS, under_200
from auriko_conformance.suites.exchange import Exchange

from auriko_conformance.contract import error_codes

#: the documented codes issue 16 found never triggered, most common in practice first
SCENARIO_CODES = (
    "model_unavailable",
    "no_provider_available",
    "expired_api_key",
    "insufficient_permissions",
    "streaming_not_supported",
    "unsupported_modalities",
    "tools_with_structured_output_not_supported",
    "feature_disabled",
    "provider_blocked",
    "platform_keys_unavailable",
    "non_streaming_not_supported",
    "batch_only",
)


@dataclass(slots=True)
class ScenarioContext(Context):
    """`Context` plus the code the scenario must produce."""

    code: str | None = None


@check("ERR-016", Applies.ANY, defers=SCENARIO_ERROR_OWNERS)
def scenario_gives_its_documented_error(exchange: Exchange, context: Context) -> Iterator[str]:
    """The scenario's request is answered with its code, and the status and type the contract gives it."""
    if not isinstance(context, ScenarioContext) or context.code is None:
        raise NotApplicable
    want = error_codes()[context.code]
    error = exchange.error
    if error is None or error_under_200(exchange):
        message = f"expected {want.status} {want.code}, got HTTP {exchange.status}: {exchange.excerpt(160)}"
        yield under_200(exchange, message)
        return
    if error.get("code") != want.code:
        yield f"expected code {want.code!r}, got {error.get('code')!r} (HTTP {exchange.status})"
    if exchange.status != want.status:
        yield about_status(f"{want.code} must be HTTP {want.status}, got {exchange.status}")
    if error.get("type") != want.type:  # with the right code, a wrong type is ERR-001's (code and type)
        yield Located(f"{want.code} must have type {want.type!r}, got {error.get('type')!r}", "$.error.type")
