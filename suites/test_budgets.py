"""HDR-003..007, ERR-013..015: budgets, credit and the gateway's own rate limit, on any target.

No ordinary key runs out during a run, so the checks for budget and quota refusals would never see one.
The target profile names keys that do (`keys:` in the profile, D-121): one with a budget a request or two
spends, one without credit, one with a low request limit. Each test spends its key until the refusal
comes (a few requests at most), judging every answer on the way; a target whose profile names no such
key reads "not claimed". The keys are shared with nobody, so the tests run in parallel with the rest.
"""

from __future__ import annotations

from typing import Any

import pytest

from suites.checks.quota import KeyContext
from suites.exchange import Exchange
from suites.plugin import NOT_CLAIMED, Judge
from suites.profile import TargetProfile
from suites.target import Mocks, Target, new_tag

#: requests a budgeted key may answer before its budget must be spent (the profile's key: one)
BUDGET_REQUESTS = 4
#: requests within which a low-limit key must be refused (the reference's: two per minute)
LIMIT_REQUESTS = 12


def key_for(profile: TargetProfile, role: str) -> str:
    key = profile.keys.get(role)
    if not key:
        pytest.skip(NOT_CLAIMED + f"the profile names no `keys.{role}`")
    return key


def send(target: Target, profile: TargetProfile, key: str, tag: str) -> Exchange:
    body = {"model": profile.default_model, "messages": [{"role": "user", "content": "Count to three."}]}
    return target.chat(body, tag=tag, headers={"Authorization": f"Bearer {key}"})


def journal_of(request: pytest.FixtureRequest, tag: str) -> list[dict[str, Any]] | None:
    """This request's upstream requests, when the run has the mocks (refusals must have none)."""
    if not request.config.getoption("--mock-url"):
        return None
    mocks: Mocks = request.getfixturevalue("mocks")
    return mocks.settled_journal(tag, wait_s=0.5)


def spend_until_refused(
    request: pytest.FixtureRequest,
    target: Target,
    profile: TargetProfile,
    judge: Judge,
    role: str,
    code: str,
    attempts: int,
) -> Exchange | None:
    """Send with the `role` key until it is refused with `code`; judge every answer on the way."""
    key = key_for(profile, role)
    for _ in range(attempts):
        tag = new_tag(role)
        exchange = send(target, profile, key, tag)
        judge(exchange)
        refused = exchange.status == 429 and (exchange.json or {}).get("error", {}).get("code") == code
        journal = journal_of(request, tag) if refused else None
        judge(exchange, KeyContext(request=exchange.request_body or {}, role=role, journal=journal))
        if exchange.status != 200:
            return exchange
    return None


@pytest.mark.requirement("HDR-005", "HDR-007", "ERR-013", "ERR-015")
def test_a_spent_budget_is_refused(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    last = spend_until_refused(request, target, profile, judge, "budget", "budget_exhausted", BUDGET_REQUESTS)
    code = ((last.json or {}).get("error") or {}).get("code") if last else None
    judge.require(
        "ERR-013",
        last is not None and last.status == 429 and code == "budget_exhausted",
        f"the budget key was not refused with 429 budget_exhausted within {BUDGET_REQUESTS} requests "
        f"(last: HTTP {last.status if last else 200} {code!r})",
        last,
    )


@pytest.mark.requirement("HDR-007", "ERR-013", "ERR-015")
def test_no_credit_is_insufficient_quota(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    last = spend_until_refused(request, target, profile, judge, "no_quota", "insufficient_quota", 1)
    code = ((last.json or {}).get("error") or {}).get("code") if last else None
    judge.require(
        "ERR-013",
        last is not None and last.status == 429 and code == "insufficient_quota",
        f"a key without credit got HTTP {last.status if last else 200} {code!r}, not 429 insufficient_quota",
        last,
    )


@pytest.mark.requirement("ERR-014", "HDR-003", "HDR-006")
def test_the_gateways_own_rate_limit(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    last = spend_until_refused(
        request, target, profile, judge, "low_limit", "rate_limit_exceeded", LIMIT_REQUESTS
    )
    judge.require(
        "ERR-014",
        last is not None and last.status == 429,
        f"the low-limit key was not refused within {LIMIT_REQUESTS} requests",
        last,
    )
