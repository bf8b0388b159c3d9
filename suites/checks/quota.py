"""HDR-007 and ERR-017: what a key with a budget, no credit or a low request limit gets back.

The generic header and error checks (HDR-003..006, ERR-013) judge any 429 that happens to come by; on
their own they never see one, because no ordinary key runs out. The target profile names keys that do
(`keys.budget`, `keys.no_quota`, `keys.low_limit`, D-121); the suite spends them and tells these checks,
in a `KeyContext`, which kind of key sent the request and which upstream requests it caused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from auriko_conformance.suites.checks import Applies, Context, Located, NotApplicable, check
from auriko_conformance.suites.checks.errors import RETRY_AFTER, RETRY_AFTER_OWNERS, unreadable_retry_after
from auriko_conformance.suites.exchange import Exchange

ROLES = ("budget", "no_quota", "low_limit")
_INT = re.compile(r"^\d+$")


@dataclass(slots=True)
class KeyContext(Context):
    """`Context` plus the kind of key that sent the request and the upstream requests it caused."""

    role: str | None = None
    #: this request's upstream requests (None: no mocks to read them from)
    journal: list[dict[str, Any]] | None = None


def _role(context: Context, *roles: str) -> KeyContext:
    if not isinstance(context, KeyContext) or context.role not in roles:
        raise NotApplicable
    return context


def _periods(exchange: Exchange) -> list[str]:
    h = exchange.headers
    return [p for p in ("daily", "weekly", "monthly") if f"x-budget-{p}-limit" in h]


@check("HDR-007", Applies.ANY)
def budget_headers_for_budgeted_keys(exchange: Exchange, context: Context) -> Iterator[str]:
    """A key with a budget gets its limit and spend headers, a key with a balance its balance, on every
    chat completion response; a refusal's headers show the budget or balance spent."""
    keyed = _role(context, "budget", "no_quota")
    h = exchange.headers
    code = (exchange.error or {}).get("code")
    if keyed.role == "budget":
        periods = _periods(exchange)
        if not periods:
            yield "a key with a budget got no X-Budget-{Daily,Weekly,Monthly}-Limit header"
        for period in periods:
            if f"x-budget-{period}-spend" not in h:
                yield f"X-Budget-{period.capitalize()}-Limit without X-Budget-{period.capitalize()}-Spend"
        exceeded = h.get("x-budget-exceeded-period")
        if code == "budget_exhausted" and exceeded in periods:
            try:
                spend = float(h[f"x-budget-{exceeded}-spend"])
                limit = float(h[f"x-budget-{exceeded}-limit"])
            except (KeyError, ValueError):
                return  # HDR-004 reports a malformed amount
            if spend < limit:
                yield f"budget_exhausted for {exceeded}, but its spend {spend} is below its limit {limit}"
    else:
        balance = h.get("x-credits-balance-microdollars")
        if balance is None:
            yield "a key with a credit balance got no X-Credits-Balance-Microdollars header"
        elif code == "insufficient_quota" and balance.lstrip("-").isdigit() and int(balance) > 0:
            yield f"insufficient_quota while X-Credits-Balance-Microdollars is {balance}"


def _refused_upstream(context: KeyContext) -> Iterator[str]:
    if context.journal:
        seen = [e.get("provider") for e in context.journal]
        yield f"the refused request still reached upstream: {seen}"


#: the X-Rate-Limit-Source header of a 429: HDR-006 holds every 429 to carry it with a documented value
RATE_LIMIT_SOURCE = "header:x-rate-limit-source"


@check(
    "ERR-017",
    Applies.ERROR,
    defers={**RETRY_AFTER_OWNERS, "$.error.type": ("ERR-001",), RATE_LIMIT_SOURCE: ("HDR-006",)},
)
def own_rate_limit_refusal(exchange: Exchange, context: Context) -> Iterator[str]:
    """The gateway's own per-key limit: 429 rate_limit_exceeded, type rate_limit_error, an integer
    Retry-After of at least 1, X-Rate-Limit-Source auriko, and no upstream request."""
    keyed = _role(context, "low_limit")
    if exchange.status != 429:
        raise NotApplicable
    error = exchange.error or {}
    if error.get("code") != "rate_limit_exceeded":
        yield f"the key's own limit answered code {error.get('code')!r}"
    elif error.get("type") != "rate_limit_error":  # a type its code does not have: ERR-001's finding
        yield Located(f"the key's own limit answered type {error.get('type')!r}", "$.error.type")
    retry = exchange.headers.get("retry-after")
    if unreadable_retry_after(retry):
        yield Located(f"Retry-After is {retry!r}, not a number of seconds", RETRY_AFTER)
    elif not _INT.match(retry) or int(retry) < 1:
        yield f"Retry-After is {retry!r}, not a whole number of seconds of at least 1"
    source = exchange.headers.get("x-rate-limit-source")
    if source != "auriko":
        message = f"X-Rate-Limit-Source is {source!r}; the gateway's own limit is 'auriko'"
        # missing or no documented value: HDR-006's finding ("every 429 carries it"); `provider` is this one's
        yield message if source == "provider" else Located(message, RATE_LIMIT_SOURCE)
    yield from _refused_upstream(keyed)


@check("ERR-015", Applies.ERROR)
def budget_refusal_before_upstream(exchange: Exchange, context: Context) -> Iterator[str]:
    """A budget or quota refusal is decided before routing: no upstream request is made for it."""
    keyed = _role(context, "budget", "no_quota")
    code = (exchange.error or {}).get("code")
    if code not in ("budget_exhausted", "insufficient_quota"):
        raise NotApplicable
    yield from _refused_upstream(keyed)
