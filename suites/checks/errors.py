"""ERR and HDR: the error envelope, its headers, the headers every response carries, and the error an
upstream failure must end in.

Clients retry on the status and branch on `code`; a gateway that flattens the envelope, answers an
error with 200, or drops `Retry-After` from an upstream 429 breaks them (field-survey.md #17, #19).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from auriko_conformance.suites.checks import (
    STATUS,
    Applies,
    Context,
    Located,
    Restated,
    about_status,
    check,
    error_under_200,
    family,
    register,
)
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.scenario import RouteContext

from auriko_conformance import contract

CHAT_PATH = "/v1/chat/completions"
#: the rule that holds an error's code, param and type to the situation's (suites.expect.CODES)
CODES = "ERR-014"

ERROR = Applies.ERROR


@check("SCHEMA-006", ERROR)
def error_envelope_shape(exchange: Exchange, context: Context) -> Iterator[str]:
    """Errors are `{"error": {message, type, code, param}}`: flat, never empty, never top-level fields."""
    body = exchange.json
    if not exchange.body.strip():
        yield "the error body is empty"
        return
    if not isinstance(body, dict) or "error" not in body:
        yield f"the body is not an error envelope: {exchange.excerpt(160)!r}"
        return
    error = body["error"]
    if not isinstance(error, dict):
        yield f"error is a {type(error).__name__}, not an object"
        return
    for key in ("message", "type", "code", "param"):
        if key not in error:
            yield f"error.{key} is missing"
    extra = sorted(set(body) - {"error"})
    if extra:
        yield f"top-level keys besides error: {extra}"
    if "details" in error or isinstance(error.get("error"), dict):
        yield "the envelope is nested or carries details[] (it must be flat)"
    if not isinstance(error.get("message"), str) or not error.get("message"):
        yield "error.message is not a non-empty string"


@check("ERR-002", ERROR)
def error_code_is_current(exchange: Exchange, context: Context) -> Iterator[str]:
    """`code` is null or a current registry code; no legacy code, no 402 or 422 status."""
    if exchange.status in (402, 422):
        yield f"HTTP {exchange.status} is not a status of the contract"
    error = exchange.error
    code = error.get("code") if error else None
    if code is not None and code not in contract.error_codes():
        yield f"code {code!r} is not a current error code"


def _registry_code(exchange: Exchange, context: Context) -> bool:
    """The error names a code of the registry (unknown codes are ERR-002's finding)."""
    code = exchange.error.get("code") if exchange.error else None
    return isinstance(code, str) and code in contract.error_codes()


@check("ERR-001", ERROR, when=_registry_code)
def error_code_matches_status(exchange: Exchange, context: Context) -> Iterator[str]:
    """The `code` is one the contract lists for this HTTP status, with that status's `type`."""
    error = exchange.error or {}
    code = error.get("code")
    entry = contract.error_codes()[str(code)]
    if entry.status != exchange.status:
        yield f"code {code!r} is an HTTP {entry.status} code, returned with {exchange.status}"
    if error.get("type") != entry.type:
        yield f"code {code!r} has type {entry.type!r}, got {error.get('type')!r}"


def _is_429(exchange: Exchange, context: Context) -> bool:
    return exchange.status == 429


#: a 429's Retry-After that is missing or no number of seconds: HDR-003's finding (its check fails on
#: exactly this); the rules about how long the delay is judge a readable value only (D-146)
RETRY_AFTER = "(the Retry-After header)"
RETRY_AFTER_OWNERS: dict[str, tuple[str, ...]] = {RETRY_AFTER: ("HDR-003",)}


def unreadable_retry_after(value: str | None) -> bool:
    return value is None or not value.replace(".", "", 1).isdigit()


@check("HDR-003", ERROR, when=_is_429)
def retry_after_on_429(exchange: Exchange, context: Context) -> Iterator[str]:
    """A 429 carries `Retry-After` in whole or decimal seconds."""
    value = exchange.headers.get("retry-after")
    if value is None:
        yield "429 without a Retry-After header"
    elif unreadable_retry_after(value):
        yield f"Retry-After is {value!r}, not a number of seconds"


def _has_envelope(exchange: Exchange, context: Context) -> bool:
    return exchange.error is not None


@check("ERR-012", ERROR, needs=("error_headers",), when=_has_envelope, defers={"$.error": ("SCHEMA-006",)})
def error_headers_agree_with_body(exchange: Exchange, context: Context) -> Iterator[str]:
    """`X-Error-Type` equals the envelope type; `X-Error-Retryable` is true exactly for 429/5xx types."""
    error = exchange.error or {}
    error_type = exchange.headers.get("x-error-type")
    if error_type is None:
        yield "no X-Error-Type header"
    elif error_type != error.get("type"):
        yield f"X-Error-Type {error_type!r} differs from error.type {error.get('type')!r}"
    provider, header = error.get("provider"), exchange.headers.get("x-error-provider")
    if isinstance(provider, str) and provider:
        if header != provider:
            yield f"X-Error-Provider is {header!r}, error.provider is {provider!r}"
    elif header is not None:
        # Without `provider` in an envelope that lacks required fields too (SCHEMA-006 fails on it), who
        # produced the error cannot be read from the body: the place is SCHEMA-006's then.
        yield Located(f"X-Error-Provider {header!r} on an error no provider produced", "$.error.provider")
    retryable = exchange.headers.get("x-error-retryable")
    retry_status = exchange.status == 429 or exchange.status >= 500
    expected = "true" if retry_status and error.get("type") in {"rate_limit_error", "api_error"} else "false"
    if retryable is None:
        yield "no X-Error-Retryable header"
    elif retryable.lower() != expected:
        yield f"X-Error-Retryable is {retryable!r} for type {error.get('type')!r}, expected {expected!r}"


def _chat(exchange: Exchange, context: Context) -> bool:
    return exchange.url.endswith(CHAT_PATH)


def _json_200(exchange: Exchange, context: Context) -> bool:
    return exchange.status == 200 and not exchange.is_stream


@check("ERR-003", Applies.ANY, when=_json_200)
def no_error_with_status_200(exchange: Exchange, context: Context) -> Iterator[str]:
    """A failure is never answered with HTTP 200 and an error body."""
    if error_under_200(exchange):
        yield f"HTTP 200 with an error body: {exchange.excerpt(160)!r}"


@check("HDR-001", Applies.ANY, when=_chat)
def request_id_on_chat_responses(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every chat-completions response, success or error, carries a non-empty `X-Request-ID`."""
    if not exchange.headers.get("x-request-id", "").strip():
        yield f"HTTP {exchange.status} response without X-Request-ID"


@check("HDR-002", Applies.ANY, when=lambda exchange, context: not _chat(exchange, context))
def request_id_on_other_responses(exchange: Exchange, context: Context) -> Iterator[str]:
    """Responses outside the chat handler (models, 404, 405, 401) carry `X-Request-ID` too."""
    if not exchange.headers.get("x-request-id", "").strip():
        yield f"HTTP {exchange.status} response to {exchange.method} {exchange.url} without X-Request-ID"


_INT = re.compile(r"^\d+$")
_SIGNED_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


_PERIODS = ("daily", "weekly", "monthly")
#: the headers HDR-004 gives a format; only their presence makes the check judge anything (other
#: x-ratelimit-* headers, e.g. a provider's passed on, are not judged here)
_FORMATTED_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-credits-balance-microdollars",
    *(f"x-budget-{period}-{kind}" for period in _PERIODS for kind in ("limit", "spend")),
)


def _rate_limit_headers(exchange: Exchange, context: Context) -> bool:
    return any(name in exchange.headers for name in _FORMATTED_HEADERS)


@check("HDR-004", Applies.ANY, when=_rate_limit_headers)
def rate_limit_and_budget_header_formats(exchange: Exchange, context: Context) -> Iterator[str]:
    """Rate-limit, credit and budget headers, when present, have the documented formats."""
    h = exchange.headers
    limit, remaining = h.get("x-ratelimit-limit-requests"), h.get("x-ratelimit-remaining-requests")
    for name, value in (("X-RateLimit-Limit-Requests", limit), ("X-RateLimit-Remaining-Requests", remaining)):
        if value is not None and not _INT.match(value):
            yield f"{name} is {value!r}, not a non-negative integer"
    if limit and remaining and _INT.match(limit) and _INT.match(remaining) and int(remaining) > int(limit):
        yield f"X-RateLimit-Remaining-Requests {remaining} exceeds the limit {limit}"
    reset = h.get("x-ratelimit-reset-requests")
    if reset is not None:
        try:
            dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            yield f"X-RateLimit-Reset-Requests is {reset!r}, not an ISO 8601 timestamp"
    credits = h.get("x-credits-balance-microdollars")
    if credits is not None and not _SIGNED_INT.match(credits):
        yield f"X-Credits-Balance-Microdollars is {credits!r}, not an integer"
    for period in ("Daily", "Weekly", "Monthly"):
        for kind in ("Limit", "Spend"):
            value = h.get(f"x-budget-{period.lower()}-{kind.lower()}")
            if value is not None and not _DECIMAL.match(value.lstrip("$")):
                yield f"X-Budget-{period}-{kind} is {value!r}, not a decimal USD amount"


def _budget_exhausted(exchange: Exchange, context: Context) -> bool:
    return exchange.status == 429 and (exchange.error or {}).get("code") == "budget_exhausted"


@check("HDR-005", ERROR, when=_budget_exhausted)
def budget_exhaustion_headers(exchange: Exchange, context: Context) -> Iterator[str]:
    """A 429 `budget_exhausted` names the exhausted budget in the X-Budget-Exceeded* headers."""
    for name in ("X-Budget-Exceeded", "X-Budget-Exceeded-Period", "X-Budget-Exceeded-Scope"):
        if not exchange.headers.get(name):
            yield f"budget_exhausted without {name}"


@check("HDR-006", ERROR, when=_is_429)
def rate_limit_source_values(exchange: Exchange, context: Context) -> Iterator[str]:
    """429s say where the limit came from (`provider`/`auriko`); budget headers use the documented values."""
    source = exchange.headers.get("x-rate-limit-source")
    if source not in {"provider", "auriko"}:
        yield f"X-Rate-Limit-Source is {source!r}"
    period = exchange.headers.get("x-budget-exceeded-period")
    if period is not None and period not in {"daily", "weekly", "monthly"}:
        yield f"X-Budget-Exceeded-Period is {period!r}"
    scope = exchange.headers.get("x-budget-exceeded-scope")
    if scope is not None and scope not in {"workspace", "api_key", "byok_provider"}:
        yield f"X-Budget-Exceeded-Scope is {scope!r}"


@check("META-002", ERROR)
def no_routing_metadata_on_errors(exchange: Exchange, context: Context) -> Iterator[str]:
    """Error responses carry no `routing_metadata` (D-002)."""
    body = exchange.json
    if isinstance(body, dict):
        error = body.get("error")
        if "routing_metadata" in body or (isinstance(error, dict) and "routing_metadata" in error):
            yield "the error response carries routing_metadata"


_BUDGET_CODES = frozenset({"budget_exhausted", "insufficient_quota", "budget_exceeded"})


def _budget_error(exchange: Exchange, context: Context) -> bool:
    return exchange.status == 402 or (exchange.error or {}).get("code") in _BUDGET_CODES


@check(
    "ERR-013", ERROR, when=_budget_error, defers={"$.error.code": ("ERR-002",), "$.error.type": ("ERR-001",)}
)
def budget_errors_are_429(exchange: Exchange, context: Context) -> Iterator[str]:
    """Budget and quota exhaustion are 429 `rate_limit_error` (D-012), never the legacy 402."""
    error = exchange.error
    code = error.get("code") if error else None
    if exchange.status != 429:
        yield f"budget/quota error {code!r} returned with HTTP {exchange.status}, not 429"
    if code == "budget_exceeded":  # a legacy code: ERR-002's finding (it fails on exactly this)
        yield Located("legacy code budget_exceeded (current: budget_exhausted)", "$.error.code")
    if error and error.get("type") != "rate_limit_error":  # a type its code does not have: ERR-001's
        yield Located(
            f"budget/quota error has type {error.get('type')!r}, not rate_limit_error", "$.error.type"
        )


# --------------------------------------------------------------------------------------------------
# The error an upstream failure (or a routing rule) must end in: judged when the scenario knows it
# --------------------------------------------------------------------------------------------------


#: places of a scenario's error that other rules own (D-146): an error body under HTTP 200 (ERR-003),
#: the envelope (SCHEMA-006), a code outside the registry (ERR-002), a type its code does not have (ERR-001)
UNDER_200 = "(an error body under HTTP 200)"
#: an error event under HTTP 200 where the stream never began: how it is sent is STREAM-017's finding
STREAM_UNDER_200 = "(an error event under HTTP 200, no stream)"
SCENARIO_ERROR_OWNERS: dict[str, tuple[str, ...]] = {
    UNDER_200: ("ERR-003",),
    STREAM_UNDER_200: ("STREAM-017",),
    "$": ("SCHEMA-006",),
    "$.error.code": ("ERR-002",),
    "$.error.type": ("ERR-001",),
}


def under_200(exchange: Exchange, message: str) -> str:
    """`message` about a 200 that is no answer, at the place of the rule that judges how errors are sent."""
    if not error_under_200(exchange):
        return message
    return Located(message, STREAM_UNDER_200 if exchange.is_stream else UNDER_200)


def expected_error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    """The exchange is the scenario's error, in the gateway's envelope."""
    want = context.error
    if want is None:
        return
    if exchange.status == 200:
        message = f"expected HTTP {want.status} {sorted(want.codes)}, got 200: {exchange.excerpt(200)}"
        yield under_200(exchange, message)
        return
    body, error = exchange.json, exchange.error
    if error is None or not isinstance(body, dict):
        yield Located(f"HTTP {exchange.status} without an error envelope: {exchange.excerpt(200)}", "$")
        return
    # an upstream's own error shape leaking through lacks the envelope's keys; extra top-level fields
    # beside a complete envelope are SCHEMA-006's finding, not the scenario's
    if not {"message", "type", "code", "param"} <= set(error):
        message = f"not the gateway's envelope (top-level {sorted(body)}, error keys {sorted(error)})"
        yield Located(message, "$")
        if exchange.status == want.status:
            return  # no envelope to read a code, param or type from: SCHEMA-006's finding
    status_message = f"HTTP {exchange.status}, expected {want.status} (code {error.get('code')!r})"
    code_message = f"code {error.get('code')!r}, expected {' or '.join(sorted(want.codes))}"
    if want.mapped_by is not None:
        # the scenario ends in an upstream failure whose error another rule states: a wrong mapping is
        # that rule's finding (restated under it), the scenario's own clauses stay this rule's
        if exchange.status != want.status:
            yield Restated(status_message, STATUS, want.mapped_by)
        if want.codes and error.get("code") not in want.codes:
            yield Restated(code_message, "$.error.code", want.mapped_by)
        return
    if exchange.status != want.status:
        yield about_status(status_message)
    if want.codes and error.get("code") not in want.codes:
        yield Located(code_message, "$.error.code")
    if want.param is not None and error.get("param") != want.param:
        # the param a situation's error names is ERR-014's rule for every situation (one finding)
        yield Restated(f"param {error.get('param')!r}, expected {want.param!r}", "$.error.param", CODES)
    if want.error_type is not None and error.get("type") != want.error_type:
        yield Located(f"type {error.get('type')!r}, expected {want.error_type!r}", "$.error.type")


def never_500(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    """An upstream failure never surfaces as the gateway's own internal error."""
    error = exchange.error or {}
    if exchange.status == 500 or error.get("code") == "internal_error":
        yield f"an upstream failure surfaced as HTTP {exchange.status} {error.get('code')!r}"


SCENARIO = {"context": RouteContext, "given": ("error",)}

family(
    {
        "ERR-007": ("upstream_429_stays_429", "Every attempt 429: 429 rate_limit_error rate_limit_exceeded."),
        "ERR-008": ("upstream_overload_is_503", "Every attempt 529/503: 503 api_error, never 500."),
        "ERR-009": ("upstream_timeout_is_504", "Every attempt timed out: 504 api_error upstream_timeout."),
        "ERR-010": (
            "upstream_failure_is_502",
            "Upstream 500 / garbage / reset: 502 upstream_error, gateway envelope.",
        ),
        "ERR-011": (
            "upstream_error_mapping",
            "The chain's error follows the last attempt's mapping (D-038).",
        ),
    },
    expected_error,
    **SCENARIO,
    defers=SCENARIO_ERROR_OWNERS,
)
register(
    "ERR-008",
    "upstream_overload_never_500",
    "An upstream overload is never a 500/internal_error.",
    never_500,
    **SCENARIO,
)


def _retry_after(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    value = exchange.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is None or unreadable_retry_after(value):
        yield Located(f"Retry-After is {value!r}; the upstream sent 30", RETRY_AFTER)
    elif seconds < 30:
        yield f"Retry-After is {value!r}, shorter than the upstream's 30"


def _expects_429(exchange: Exchange, context: Context) -> bool:
    return isinstance(context, RouteContext) and context.error is not None and context.error.status == 429


for _requirement, _name, _doc in (
    (
        "ERR-007",
        "upstream_retry_after_preserved",
        "A passed-through upstream 429 keeps a Retry-After no shorter than the upstream's (30 s).",
    ),
    (
        "ERR-011",
        "upstream_retry_delay_kept",
        "An upstream 429 retry delay in any spelling (Gemini RetryInfo too) is kept as Retry-After (D-038).",
    ),
):
    register(
        _requirement, _name, _doc, _retry_after, **SCENARIO, when=_expects_429, defers=RETRY_AFTER_OWNERS
    )
