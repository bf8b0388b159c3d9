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
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks.quota import KeyContext
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Mocks, Target, new_tag

from auriko_conformance.contract import error_codes

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
    requirement: str,
) -> None:
    """Send with the `role` key until it is refused; judge every answer on the way, and require (for
    `requirement`) that the refusal is a 429 with `code` within `attempts` requests. Only on a gateway
    that tells keys apart: one that serves any key cannot say what this one may do (AUTH-002's finding)."""
    key = key_for(profile, role)
    marked = list(request.node.get_closest_marker("requirement").args)
    if not expect.keys_told_apart(judge, target, profile.default_model, *marked):
        return
    last: Exchange | None = None
    got: Any = None
    for _ in range(attempts):
        tag = new_tag(role)
        last = send(target, profile, key, tag)
        judge(last)
        got = ((last.json or {}).get("error") or {}).get("code") if isinstance(last.json, dict) else None
        journal = journal_of(request, tag) if last.status == 429 and got == code else None
        judge(last, KeyContext(request=last.request_body or {}, role=role, journal=journal))
        if last.status != 200:
            break
    if last is not None and last.status == 429 and isinstance(got, str) and got not in error_codes():
        # refused as a 429, with a code outside the registry (a legacy one): ERR-002's finding, judged above
        reason = f"the {role} key was refused with code {got!r}, which is not in the registry"
        judge.block(requirement, reason, (expect.LEGACY,), stops=False)
        return
    judge.require(
        requirement,
        last is not None and last.status == 429 and got == code,
        f"the {role} key was not refused with 429 {code} within {attempts} requests "
        f"(last: HTTP {last.status if last else None} {got!r})",
        last,
    )


@pytest.mark.requirement("HDR-005", "HDR-007", "ERR-013", "ERR-015")
def test_a_spent_budget_is_refused(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    spend_until_refused(
        request, target, profile, judge, "budget", "budget_exhausted", BUDGET_REQUESTS, "ERR-013"
    )


@pytest.mark.requirement("HDR-007", "ERR-013", "ERR-015")
def test_no_credit_is_insufficient_quota(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    spend_until_refused(request, target, profile, judge, "no_quota", "insufficient_quota", 1, "ERR-013")


@pytest.mark.requirement("ERR-017", "HDR-003", "HDR-006")
def test_the_gateways_own_rate_limit(
    request: pytest.FixtureRequest, target: Target, profile: TargetProfile, judge: Judge
) -> None:
    spend_until_refused(
        request, target, profile, judge, "low_limit", "rate_limit_exceeded", LIMIT_REQUESTS, "ERR-017"
    )
