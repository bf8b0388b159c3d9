"""Per-key budgets and credit balance in the reference gateway (reference_impl/budgets.py, D-121).

The ledger is exercised with a fake clock (exact periods and amounts); the wiring through the app with
the embedded default's test keys: a daily budget one request spends, a key with no credit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from auriko_conformance.reference_impl.budgets import (
    Budget,
    BudgetConfigError,
    Ledger,
    charge,
    period_window,
    usd,
)
from auriko_conformance.reference_impl.config import (
    BUDGET_TEST_KEY,
    NO_QUOTA_TEST_KEY,
    TEST_API_KEY,
    ConfigError,
    config_from_mapping,
)

from tests.reference.conftest import check_error, parse_sse, user

# Wednesday 2026-12-02 23:59:30 UTC
NOW = dt.datetime(2026, 12, 2, 23, 59, 30, tzinfo=dt.UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def headers(pairs: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in pairs}


def test_periods_end_at_the_next_day_iso_week_and_month() -> None:
    now = dt.datetime.fromtimestamp(NOW, dt.UTC)
    assert period_window("daily", now) == ((2026, 12, 2), dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    assert period_window("weekly", now) == ((2026, 49), dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
    assert period_window("monthly", now) == ((2026, 12), dt.datetime(2027, 1, 1, tzinfo=dt.UTC))


def test_amounts_are_plain_decimals() -> None:
    assert usd(0.0000105) == b"0.0000105"
    assert usd(5.0) == b"5"
    assert usd(0) == b"0"


def test_a_spent_daily_budget_is_refused_until_the_day_ends() -> None:
    clock = Clock()
    ledger = Ledger({"ak_b": Budget(daily_usd=0.01, monthly_usd=1.0)}, clock)
    pairs, refusal = ledger.admit("ak_b")
    assert refusal is None
    assert headers(pairs) == {
        "x-budget-daily-limit": "0.01",
        "x-budget-daily-spend": "0",
        "x-budget-monthly-limit": "1",
        "x-budget-monthly-spend": "0",
    }
    ledger.spend("ak_b", 0.004)
    assert ledger.admit("ak_b")[1] is None
    ledger.spend("ak_b", 0.007)  # an admitted request may overspend; the next one is refused
    pairs, refusal = ledger.admit("ak_b")
    assert refusal is not None
    assert refusal.code == "budget_exhausted"
    assert refusal.status == 429
    assert refusal.retry_after == "30"  # the day ends in 30 s
    h = headers(pairs)
    assert h["x-budget-exceeded"] == "true"
    assert h["x-budget-exceeded-period"] == "daily"
    assert h["x-budget-exceeded-scope"] == "api_key"
    assert h["x-rate-limit-source"] == "auriko"
    assert h["x-budget-daily-spend"] == "0.011"
    clock.now += 31  # a new day: the daily spend starts again, the monthly one does not
    pairs, refusal = ledger.admit("ak_b")
    assert refusal is None
    assert headers(pairs)["x-budget-daily-spend"] == "0"
    assert headers(pairs)["x-budget-monthly-spend"] == "0.011"


def test_no_credit_is_insufficient_quota() -> None:
    ledger = Ledger({"ak_q": Budget(credits_microdollars=10)}, Clock())
    pairs, refusal = ledger.admit("ak_q")
    assert refusal is None
    assert headers(pairs) == {"x-credits-balance-microdollars": "10"}
    ledger.spend("ak_q", 0.0000101)
    pairs, refusal = ledger.admit("ak_q")
    assert refusal is not None
    assert refusal.code == "insufficient_quota"
    assert headers(pairs)["x-credits-balance-microdollars"] == "-1"


def test_keys_without_budget_cost_nothing() -> None:
    ledger = Ledger({"ak_b": Budget(daily_usd=1.0)}, Clock())
    assert ledger.admit("ak_other") == ([], None)
    assert ledger.headers("ak_other") == []
    with ledger.charging("ak_other"):
        charge(5.0)
    with ledger.charging("ak_b"):
        charge(0.25)
    charge(9.0)  # outside any binding: nobody pays
    assert headers(ledger.headers("ak_b"))["x-budget-daily-spend"] == "0.25"


@pytest.mark.parametrize(
    "raw", [{"daily_usd": -1}, {"daily_usd": "1"}, {"credits_microdollars": 1.5}, {"daily_usd": True}]
)
def test_bad_budgets_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(BudgetConfigError):
        Budget(**raw)


def test_config_budgets() -> None:
    config = config_from_mapping({"api_keys": ["ak_x"], "budgets": {"ak_x": {"weekly_usd": 2}}})
    assert config.budgets == {"ak_x": Budget(weekly_usd=2)}
    for bad in ({"ak_y": {"daily_usd": 1}}, {"ak_x": {"yearly_usd": 1}}, {"ak_x": {"daily_usd": -2}}, [1]):
        with pytest.raises(ConfigError):
            config_from_mapping({"api_keys": ["ak_x"], "budgets": bad})


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_the_budget_key_is_refused_after_one_paid_request(client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": user("Hello"), "stream": True}
    first = await client.post("/v1/chat/completions", json=body, headers=_auth(BUDGET_TEST_KEY))
    assert first.status_code == 200
    assert first.headers["x-budget-daily-spend"] == "0"
    assert parse_sse(first.text)[-1] == "[DONE]"  # the stream's cost was charged
    await asyncio.sleep(0)
    second = await client.post("/v1/chat/completions", json=body, headers=_auth(BUDGET_TEST_KEY))
    check_error(second, 429, "budget_exhausted")
    assert second.headers["x-budget-exceeded-period"] == "daily"
    assert float(second.headers["x-budget-daily-spend"]) >= float(second.headers["x-budget-daily-limit"])
    assert int(second.headers["retry-after"]) >= 1
    me = await client.get("/v1/me", headers=_auth(BUDGET_TEST_KEY))
    assert me.status_code == 200
    assert "x-budget-daily-limit" in me.headers
    plain = await client.post("/v1/chat/completions", json=body, headers=_auth(TEST_API_KEY))
    assert plain.status_code == 200
    assert not any(h.startswith("x-budget") for h in plain.headers)


async def test_the_no_quota_key_is_refused_at_once(client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": user("Hello")}
    response = await client.post("/v1/chat/completions", json=body, headers=_auth(NO_QUOTA_TEST_KEY))
    check_error(response, 429, "insufficient_quota")
    assert response.headers["x-credits-balance-microdollars"] == "0"
    assert response.headers["x-rate-limit-source"] == "auriko"
