"""Per-key spending budgets and credit balance (contract sections 6 and 9, D-121).

A key may have daily, weekly and monthly USD limits and a credit balance in microdollars (`budgets:` in
the gateway config). Spend is the exact `routing_metadata.cost.usd` of each answered request, counted per
UTC calendar day, ISO week and month. Before routing, a key whose balance is spent is refused with 429
`insufficient_quota`, a key with a period at its limit with 429 `budget_exhausted` naming the period;
every chat completion and `GET /v1/me` response of a budgeted key carries the limit, spend and balance
headers. Keys without budgets cost one dict lookup per request.

Spend reaches the ledger without threading the key through routing and translation: the app binds the
request's key to a context variable (`charging`), and `metadata.routing_metadata` calls `charge` with each
request's cost. Tasks copy the context when created, so a stream's relay task charges the right key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, fields

from auriko_conformance.reference_impl.errors import GatewayError

Header = tuple[bytes, bytes]
PERIODS = ("daily", "weekly", "monthly")


class BudgetConfigError(ValueError):
    """A budget the gateway cannot enforce (negative or non-numeric)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """One key's limits; None = no limit of that kind."""

    daily_usd: float | None = None
    weekly_usd: float | None = None
    monthly_usd: float | None = None
    credits_microdollars: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise BudgetConfigError(f"{f.name} must be a non-negative number")
        if self.credits_microdollars is not None and not isinstance(self.credits_microdollars, int):
            raise BudgetConfigError("credits_microdollars must be an integer")

    def limit(self, period: str) -> float | None:
        return getattr(self, f"{period}_usd")


def period_window(period: str, now: dt.datetime) -> tuple[tuple[int, ...], dt.datetime]:
    """(an identity of the period containing `now`, the moment the next one starts), UTC."""
    day = dt.datetime(now.year, now.month, now.day, tzinfo=dt.UTC)
    if period == "daily":
        return (now.year, now.month, now.day), day + dt.timedelta(days=1)
    if period == "weekly":
        year, week, weekday = now.isocalendar()
        return (year, week), day + dt.timedelta(days=8 - weekday)
    following = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=dt.UTC)
    return (now.year, now.month), following


def usd(amount: float) -> bytes:
    """A decimal USD amount without exponent (HDR-004): 0.0000105, not 1.05e-05."""
    text = f"{amount:.9f}".rstrip("0").rstrip(".")
    return (text or "0").encode()


@dataclass(slots=True)
class _Account:
    budget: Budget
    spent: dict[str, tuple[tuple[int, ...], float]] = field(default_factory=dict)
    spent_total: float = 0.0

    def spend(self, period: str, now: dt.datetime) -> float:
        window, _ = period_window(period, now)
        current = self.spent.get(period)
        return current[1] if current is not None and current[0] == window else 0.0

    def balance(self) -> int | None:
        credits = self.budget.credits_microdollars
        return None if credits is None else credits - math.ceil(self.spent_total * 1_000_000)


_CHARGE: ContextVar[Callable[[float], None] | None] = ContextVar("auriko_charge", default=None)


def charge(amount_usd: float) -> None:
    """Add a request's cost to the budget of the key bound by `Ledger.charging` (no key bound: nothing)."""
    spend = _CHARGE.get()
    if spend is not None:
        spend(amount_usd)


class Ledger:
    """Spend per key and period; `admit` before routing, `charge` (through the context) after."""

    def __init__(self, budgets: Mapping[str, Budget], clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts = {key: _Account(budget) for key, budget in budgets.items()}

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def headers(self, key: str) -> list[Header]:
        """The budget and balance headers of `key` (none when it has no budget)."""
        account = self.accounts.get(key)
        if account is None:
            return []
        now = self._now()
        headers: list[Header] = []
        for period in PERIODS:
            limit = account.budget.limit(period)
            if limit is not None:
                prefix = b"x-budget-" + period.encode()
                headers.append((prefix + b"-limit", usd(limit)))
                headers.append((prefix + b"-spend", usd(account.spend(period, now))))
        balance = account.balance()
        if balance is not None:
            headers.append((b"x-credits-balance-microdollars", str(balance).encode()))
        return headers

    def admit(self, key: str) -> tuple[list[Header], GatewayError | None]:
        """The key's headers, and the 429 to answer instead when its balance or a budget is spent."""
        account = self.accounts.get(key)
        if account is None:
            return [], None
        headers = self.headers(key)
        now = self._now()
        balance = account.balance()
        if balance is not None and balance <= 0:
            _, renews = period_window("monthly", now)  # a plan's quota renews with the month
            error = GatewayError(
                "insufficient_quota",
                "This API key's credit balance is used up.",
                retry_after=_seconds_until(renews, now),
            )
            return [*headers, (b"x-rate-limit-source", b"auriko")], error
        for period in PERIODS:
            limit = account.budget.limit(period)
            if limit is not None and account.spend(period, now) >= limit:
                _, ends = period_window(period, now)
                error = GatewayError(
                    "budget_exhausted",
                    f"The {period} budget of this API key ({usd(limit).decode()} USD) is spent.",
                    retry_after=_seconds_until(ends, now),
                )
                exceeded = [
                    (b"x-budget-exceeded", b"true"),
                    (b"x-budget-exceeded-period", period.encode()),
                    (b"x-budget-exceeded-scope", b"api_key"),
                    (b"x-rate-limit-source", b"auriko"),
                ]
                return [*headers, *exceeded], error
        return headers, None

    def spend(self, key: str, amount_usd: float) -> None:
        account = self.accounts.get(key)
        if account is None or amount_usd <= 0:
            return
        now = self._now()
        for period in PERIODS:
            window, _ = period_window(period, now)
            account.spent[period] = (window, account.spend(period, now) + amount_usd)
        account.spent_total += amount_usd

    @contextlib.contextmanager
    def charging(self, key: str) -> Iterator[None]:
        """Within this block (and tasks it starts), `charge` adds to `key`'s spend."""
        if key not in self.accounts:
            yield
            return
        token = _CHARGE.set(lambda amount: self.spend(key, amount))
        try:
            yield
        finally:
            _CHARGE.reset(token)


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> str:
    return str(max(1, math.ceil((moment - now).total_seconds())))
