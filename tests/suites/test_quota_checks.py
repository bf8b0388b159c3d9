"""HDR-007, ERR-017, ERR-015: the budget, quota and own-rate-limit checks pass a correct answer and
fail each broken one (headers missing, wrong code or source, a refusal that still reached upstream)."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, all_checks
from auriko_conformance.suites.checks.quota import KeyContext
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

BUDGET = {"x-budget-daily-limit": "0.000001", "x-budget-daily-spend": "0"}
EXHAUSTED = {
    **s.HEADERS,
    "x-budget-daily-limit": "0.000001",
    "x-budget-daily-spend": "0.0000135",
    "x-budget-exceeded": "true",
    "x-budget-exceeded-period": "daily",
    "x-budget-exceeded-scope": "api_key",
    "retry-after": "30",
    "x-rate-limit-source": "auriko",
}
NO_CREDIT = {
    **s.HEADERS,
    "x-credits-balance-microdollars": "0",
    "retry-after": "9",
    "x-rate-limit-source": "auriko",
}
LIMITED = {**s.HEADERS, "retry-after": "20", "x-rate-limit-source": "auriko"}
UPSTREAM = [{"provider": "openai", "status": 200}]


def refusal(code: str, headers: dict[str, str], etype: str = "rate_limit_error") -> Exchange:
    return s.error_exchange(429, {"message": "m", "type": etype, "code": code, "param": None}, headers)


def run(name: str, exchange: Exchange, role: str, journal: list[dict[str, Any]] | None = None) -> list[str]:
    context = KeyContext(request=s.REQUEST, role=role, journal=journal)
    return [f.message for f in all_checks()[name].run(exchange, context)]


GOOD = [
    ("budget_headers_for_budgeted_keys", s.completion_exchange(headers={**s.HEADERS, **BUDGET}), "budget"),
    ("budget_headers_for_budgeted_keys", refusal("budget_exhausted", EXHAUSTED), "budget"),
    ("budget_headers_for_budgeted_keys", refusal("insufficient_quota", NO_CREDIT), "no_quota"),
    ("own_rate_limit_refusal", refusal("rate_limit_exceeded", LIMITED), "low_limit"),
    ("budget_refusal_before_upstream", refusal("budget_exhausted", EXHAUSTED), "budget"),
]


@pytest.mark.parametrize(("name", "exchange", "role"), GOOD)
def test_correct_answers_pass(name: str, exchange: Exchange, role: str) -> None:
    assert run(name, exchange, role, journal=[]) == []


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


BROKEN = {
    "no budget headers": ("budget_headers_for_budgeted_keys", s.completion_exchange(), "budget", None),
    "limit without spend": (
        "budget_headers_for_budgeted_keys",
        s.completion_exchange(headers={**s.HEADERS, "x-budget-daily-limit": "1"}),
        "budget",
        None,
    ),
    "exhausted below the limit": (
        "budget_headers_for_budgeted_keys",
        refusal("budget_exhausted", {**EXHAUSTED, "x-budget-daily-spend": "0"}),
        "budget",
        None,
    ),
    "no balance header": (
        "budget_headers_for_budgeted_keys",
        refusal("insufficient_quota", _without(NO_CREDIT, "x-credits-balance-microdollars")),
        "no_quota",
        None,
    ),
    "quota refused with credit left": (
        "budget_headers_for_budgeted_keys",
        refusal("insufficient_quota", {**NO_CREDIT, "x-credits-balance-microdollars": "500"}),
        "no_quota",
        None,
    ),
    "own limit with another code": (
        "own_rate_limit_refusal",
        refusal("budget_exhausted", LIMITED),
        "low_limit",
        None,
    ),
    "own limit blamed on the provider": (
        "own_rate_limit_refusal",
        refusal("rate_limit_exceeded", {**LIMITED, "x-rate-limit-source": "provider"}),
        "low_limit",
        None,
    ),
    "own limit without Retry-After": (
        "own_rate_limit_refusal",
        refusal("rate_limit_exceeded", _without(LIMITED, "retry-after")),
        "low_limit",
        None,
    ),
    "own limit Retry-After 0": (
        "own_rate_limit_refusal",
        refusal("rate_limit_exceeded", {**LIMITED, "retry-after": "0"}),
        "low_limit",
        None,
    ),
    "refused request reached upstream": (
        "own_rate_limit_refusal",
        refusal("rate_limit_exceeded", LIMITED),
        "low_limit",
        UPSTREAM,
    ),
    "budget refusal reached upstream": (
        "budget_refusal_before_upstream",
        refusal("budget_exhausted", EXHAUSTED),
        "budget",
        UPSTREAM,
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_answers_are_findings(case: str) -> None:
    name, exchange, role, journal = BROKEN[case]
    assert run(name, exchange, role, journal) != []


def test_not_applicable_to_other_keys_and_answers() -> None:
    checks = all_checks()
    plain = Context(request=s.REQUEST)
    for name in (
        "budget_headers_for_budgeted_keys",
        "own_rate_limit_refusal",
        "budget_refusal_before_upstream",
    ):
        assert checks[name].judge(s.completion_exchange(), plain) == ([], False)
    ok = s.completion_exchange()
    assert checks["own_rate_limit_refusal"].judge(ok, KeyContext(role="low_limit")) == ([], False)
    assert checks["budget_refusal_before_upstream"].judge(ok, KeyContext(role="budget")) == ([], False)
    assert {checks[n].requirement for n, _, _ in GOOD} == {"HDR-007", "ERR-017", "ERR-015"}
