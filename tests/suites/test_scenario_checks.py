"""ERR-016: the scenario check passes the documented answer and fails every other one."""

from __future__ import annotations

import pytest
from auriko_conformance.suites.checks import Context, all_checks
from auriko_conformance.suites.checks.scenarios import SCENARIO_CODES, ScenarioContext
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

CHECK = "scenario_gives_its_documented_error"


def error(status: int, code: str, etype: str) -> Exchange:
    return s.error_exchange(status, {"message": "m", "type": etype, "code": code, "param": None})


def run(exchange: Exchange, code: str) -> list[str]:
    return [
        f.message for f in all_checks()[CHECK].run(exchange, ScenarioContext(request=s.REQUEST, code=code))
    ]


@pytest.mark.parametrize(
    ("code", "status", "etype"),
    [
        ("expired_api_key", 401, "authentication_error"),
        ("insufficient_permissions", 403, "permission_error"),
        ("streaming_not_supported", 400, "invalid_request_error"),
        ("model_unavailable", 503, "api_error"),
    ],
)
def test_the_documented_answer_passes(code: str, status: int, etype: str) -> None:
    assert run(error(status, code, etype), code) == []


BROKEN = {
    "another code": (
        error(401, "invalid_api_key", "authentication_error"),
        "expired_api_key",
        "expected code",
    ),
    "wrong status": (
        error(400, "insufficient_permissions", "permission_error"),
        "insufficient_permissions",
        "HTTP 403",
    ),
    "wrong type": (error(400, "batch_only", "api_error"), "batch_only", "type"),
    "answered": (s.completion_exchange(), "streaming_not_supported", "got HTTP 200"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_every_other_answer_is_a_finding(case: str) -> None:
    exchange, code, words = BROKEN[case]
    assert any(words in finding for finding in run(exchange, code))


def test_every_scenario_code_is_in_the_contract_and_the_check_needs_a_scenario() -> None:
    from auriko_conformance.contract import error_codes

    assert set(SCENARIO_CODES) <= set(error_codes())
    chk = all_checks()[CHECK]
    assert chk.requirement == "ERR-016"
    assert chk.judge(s.completion_exchange(), Context(request=s.REQUEST)) == ([], False)
    assert chk.judge(s.completion_exchange(), ScenarioContext(request=s.REQUEST)) == ([], False)
