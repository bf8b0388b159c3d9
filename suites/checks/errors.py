"""ERR and HDR: the error envelope, its headers, and the headers every response carries.

Clients retry on the status and branch on `code`; a gateway that flattens the envelope, answers an
error with 200, or drops `Retry-After` from an upstream 429 breaks them (field-survey.md #17, #19).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from auriko_conformance import contract
from suites.checks import Applies, Context, NotApplicable, check
from suites.exchange import Exchange

CHAT_PATH = "/v1/chat/completions"

ERROR = Applies.ERROR


def _error(exchange: Exchange) -> dict[str, object] | None:
    body = exchange.json
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


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
    error = _error(exchange)
    code = error.get("code") if error else None
    if code is not None and code not in contract.error_codes():
        yield f"code {code!r} is not a current error code"


@check("ERR-001", ERROR)
def error_code_matches_status(exchange: Exchange, context: Context) -> Iterator[str]:
    """The `code` is one the contract lists for this HTTP status, with that status's `type`."""
    error = _error(exchange)
    if error is None:
        raise NotApplicable
    code = error.get("code")
    entry = contract.error_codes().get(code) if isinstance(code, str) else None
    if entry is None:
        raise NotApplicable  # ERR-002 reports unknown codes
    if entry.status != exchange.status:
        yield f"code {code!r} is an HTTP {entry.status} code, returned with {exchange.status}"
    if error.get("type") != entry.type:
        yield f"code {code!r} has type {entry.type!r}, got {error.get('type')!r}"


@check("HDR-003", ERROR)
def retry_after_on_429(exchange: Exchange, context: Context) -> Iterator[str]:
    """A 429 carries `Retry-After` in whole or decimal seconds."""
    if exchange.status != 429:
        raise NotApplicable
    value = exchange.headers.get("retry-after")
    if value is None:
        yield "429 without a Retry-After header"
    elif not value.replace(".", "", 1).isdigit():
        yield f"Retry-After is {value!r}, not a number of seconds"


@check("ERR-012", ERROR, needs=("error_headers",))
def error_headers_agree_with_body(exchange: Exchange, context: Context) -> Iterator[str]:
    """`X-Error-Type` equals the envelope type; `X-Error-Retryable` is true exactly for 429/5xx types."""
    error = _error(exchange)
    if error is None:
        raise NotApplicable
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
        yield f"X-Error-Provider {header!r} on an error no provider produced"
    retryable = exchange.headers.get("x-error-retryable")
    retry_status = exchange.status == 429 or exchange.status >= 500
    expected = "true" if retry_status and error.get("type") in {"rate_limit_error", "api_error"} else "false"
    if retryable is None:
        yield "no X-Error-Retryable header"
    elif retryable.lower() != expected:
        yield f"X-Error-Retryable is {retryable!r} for type {error.get('type')!r}, expected {expected!r}"


@check("ERR-003", Applies.COMPLETION)
def no_error_with_status_200(exchange: Exchange, context: Context) -> Iterator[str]:
    """A failure is never answered with HTTP 200 and an error body."""
    body = exchange.json
    if isinstance(body, dict) and "error" in body and "choices" not in body:
        yield f"HTTP 200 with an error body: {exchange.excerpt(160)!r}"


@check("HDR-001", Applies.ANY)
def request_id_on_chat_responses(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every chat-completions response, success or error, carries a non-empty `X-Request-ID`."""
    if not exchange.url.endswith(CHAT_PATH):
        raise NotApplicable
    if not exchange.headers.get("x-request-id", "").strip():
        yield f"HTTP {exchange.status} response without X-Request-ID"


@check("HDR-002", Applies.ANY)
def request_id_on_other_responses(exchange: Exchange, context: Context) -> Iterator[str]:
    """Responses outside the chat handler (models, 404, 405, 401) carry `X-Request-ID` too."""
    if exchange.url.endswith(CHAT_PATH):
        raise NotApplicable
    if not exchange.headers.get("x-request-id", "").strip():
        yield f"HTTP {exchange.status} response to {exchange.method} {exchange.url} without X-Request-ID"


_INT = re.compile(r"^\d+$")
_SIGNED_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")


_PERIODS = ("daily", "weekly", "monthly")
#: the headers HDR-004 gives a format; only their presence makes the check judge anything
_FORMATTED_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-credits-balance-microdollars",
    *(f"x-budget-{period}-{kind}" for period in _PERIODS for kind in ("limit", "spend")),
)


@check("HDR-004", Applies.ANY)
def rate_limit_and_budget_header_formats(exchange: Exchange, context: Context) -> Iterator[str]:
    """Rate-limit, credit and budget headers, when present, have the documented formats."""
    h = exchange.headers
    if not any(name in h for name in _FORMATTED_HEADERS):
        raise NotApplicable  # other x-ratelimit-* headers (e.g. a provider's, passed on) are not judged here
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


@check("HDR-005", ERROR)
def budget_exhaustion_headers(exchange: Exchange, context: Context) -> Iterator[str]:
    """A 429 `budget_exhausted` names the exhausted budget in the X-Budget-Exceeded* headers."""
    error = _error(exchange)
    if exchange.status != 429 or not error or error.get("code") != "budget_exhausted":
        raise NotApplicable
    for name in ("X-Budget-Exceeded", "X-Budget-Exceeded-Period", "X-Budget-Exceeded-Scope"):
        if not exchange.headers.get(name):
            yield f"budget_exhausted without {name}"


@check("HDR-006", ERROR)
def rate_limit_source_values(exchange: Exchange, context: Context) -> Iterator[str]:
    """429s say where the limit came from (`provider`/`auriko`); budget headers use the documented values."""
    if exchange.status != 429:
        raise NotApplicable
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


@check("ERR-013", ERROR)
def budget_errors_are_429(exchange: Exchange, context: Context) -> Iterator[str]:
    """Budget and quota exhaustion are 429 `rate_limit_error` (D-012), never the legacy 402."""
    error = _error(exchange)
    code = error.get("code") if error else None
    if exchange.status != 402 and code not in _BUDGET_CODES:
        raise NotApplicable
    if exchange.status != 429:
        yield f"budget/quota error {code!r} returned with HTTP {exchange.status}, not 429"
    if code == "budget_exceeded":
        yield "legacy code budget_exceeded (current: budget_exhausted)"
    if error and error.get("type") != "rate_limit_error":
        yield f"budget/quota error has type {error.get('type')!r}, not rate_limit_error"
