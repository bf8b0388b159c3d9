"""ERR-016: the documented error codes no ordinary request provokes, each through the scenario the target
profile names for it (`error_scenarios:`: a key, a model, streaming or not, extra body fields; D-124)."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks.scenarios import SCENARIO_CODES, ScenarioContext
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Target


def scenario_request(
    profile: TargetProfile, scenario: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The chat body and the extra headers (another key) a scenario describes."""
    request: dict[str, Any] = {
        "model": scenario.get("model") or profile.default_model,
        "messages": [{"role": "user", "content": "Name three rivers."}],
        **(scenario.get("body") or {}),
    }
    if scenario.get("stream"):
        request["stream"] = True
    key = scenario.get("key")
    return request, {"Authorization": f"Bearer {key}"} if key else {}


#: codes about the key itself: judged only on a gateway that tells keys apart
KEY_CODES = frozenset({"expired_api_key", "insufficient_permissions"})


@pytest.mark.requirement("ERR-016")
@pytest.mark.parametrize("code", SCENARIO_CODES)
def test_documented_error_scenario(
    target: Target, profile: TargetProfile, judge: Judge, tag: str, code: str
) -> None:
    scenario = profile.error_scenarios.get(code)
    if scenario is None:
        pytest.skip(NOT_CLAIMED + f"the profile names no scenario for {code}")
    request, headers = scenario_request(profile, scenario)
    exchange = target.chat(request, tag=tag, headers=headers)
    judge(exchange)
    served = (code in KEY_CODES or "key" in scenario) and exchange.status == 200
    # served: a scenario of a key (its own code, or a key whose policy makes the error) needs a gateway
    # that tells keys apart (AUTH-002 first)
    if served and not expect.keys_told_apart(judge, target, profile.default_model, "ERR-016"):
        return
    expect.under_200(judge, exchange, code)  # the owner of an error sent under 200 fails, ERR-016 defers
    judge(exchange, ScenarioContext(request=request, code=code), only=["scenario_gives_its_documented_error"])
