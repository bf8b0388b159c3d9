"""ROUTE-006 and ROUTE-031..038: the contest checks pass the promised choice and fail every other one.

A good exchange: the winner was asked first, answered, and is the reported provider. Each broken case
changes one thing a gateway could get wrong (it asked the loser first, the loser answered, it reported
the wrong provider or strategy, it called a provider the filter rules out, it answered with an error).
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, Located, all_checks, owners_of
from auriko_conformance.suites.checks.route import UPSTREAM_PROVIDER
from auriko_conformance.suites.checks.strategy import CHOICE_CHECKS, ChoiceContext, Promise, selection
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

FAST, CHEAP = "vllm", "vllm-b"
CHECKS = [name for name, _ in CHOICE_CHECKS.values()]


def entry(provider: str, status: int = 200, outcome: str = "ok") -> dict[str, Any]:
    return {"provider": provider, "status": status, "outcome": outcome, "body": {"model": "m"}}


def answer(provider: str = FAST, strategy: str = "ttft-focus") -> Exchange:
    body = s.completion()
    body["routing_metadata"].update(provider=provider, routing_strategy=strategy)
    return s.completion_exchange(body)


def error(code: str) -> Exchange:
    return s.error_exchange(
        400, {"message": "m", "type": "invalid_request_error", "code": code, "param": None}
    )


PROMISE = Promise(FAST, CHEAP, "the lowest TTFT", strategy="ttft-focus")
FILTER = Promise(FAST, CHEAP, "max_ttft_ms", excludes_loser=True)
LENIENT = Promise(FAST, CHEAP, "p95", excludes_loser=True, tolerated_codes=frozenset({"latency_limit"}))


def run(name: str, exchange: Exchange, promise: Promise, journal: list[dict[str, Any]]) -> list[str]:
    chk = all_checks()[name]
    context = ChoiceContext(request=s.REQUEST, promise=promise, journal=journal)
    return [f.message for f in chk.run(exchange, context)]


@pytest.mark.parametrize("name", CHECKS)
def test_the_promised_choice_passes(name: str) -> None:
    assert run(name, answer(), PROMISE, [entry(FAST)]) == []
    assert run(name, answer(strategy="x"), FILTER, [entry(FAST)]) == []
    assert run(name, error("latency_limit"), LENIENT, []) == []


BROKEN: dict[str, tuple[Exchange, Promise, list[dict[str, Any]], str]] = {
    "loser asked first": (answer(), PROMISE, [entry(CHEAP, 500, "error"), entry(FAST)], "tried first"),
    "loser answered": (answer(), PROMISE, [entry(CHEAP)], "answered"),
    "wrong provider reported": (answer(CHEAP), PROMISE, [entry(FAST)], "routing_metadata.provider"),
    "strategy not echoed": (answer(strategy="cost"), PROMISE, [entry(FAST)], "routing_strategy"),
    "excluded loser called": (answer(), FILTER, [entry(CHEAP, 503, "error"), entry(FAST)], "rules it out"),
    "error instead of answer": (error("no_compatible_endpoint"), PROMISE, [], "got HTTP 400"),
    "untolerated error code": (error("no_compatible_endpoint"), LENIENT, [], "got HTTP 400"),
}


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("case", list(BROKEN))
def test_every_wrong_choice_is_a_finding(name: str, case: str) -> None:
    exchange, promise, journal, words = BROKEN[case]
    findings = run(name, exchange, promise, journal)
    assert any(words in f for f in findings), findings


def test_bound_to_their_requirements() -> None:
    checks = all_checks()
    assert {checks[name].requirement for name, _ in CHOICE_CHECKS.values()} == set(CHOICE_CHECKS)
    assert all(checks[name].needs == ("gateway_routing",) for name in CHECKS)


def test_not_applicable_without_a_contest() -> None:
    chk = all_checks()[CHECKS[0]]
    assert chk.judge(answer(), Context(request=s.REQUEST)) == ([], False)
    assert chk.judge(answer(), ChoiceContext(request=s.REQUEST, journal=[entry(FAST)])) == ([], False)


def test_selection_names_what_was_asked_and_reported() -> None:
    context = ChoiceContext(request=s.REQUEST, promise=PROMISE, journal=[entry(CHEAP), entry(FAST)])
    assert selection(answer(), context) == "asked ['vllm-b', 'vllm'], reported provider 'vllm'"


def _findings(name: str, exchange: Exchange, promise: Promise, journal: list[dict[str, Any]]) -> list[Any]:
    chk = all_checks()[name]
    context = ChoiceContext(request=s.REQUEST, promise=promise, journal=journal)
    return [
        (f.message, owners_of(chk.defers, getattr(f.message, "path", ""))) for f in chk.run(exchange, context)
    ]


@pytest.mark.parametrize("name", CHECKS)
def test_a_reading_the_report_disputes_is_left_to_meta_011(name: str) -> None:
    """The report names the winner, the journal saw the loser asked first and answer (a swapped upstream):
    the contest cannot tell a wrong choice from a wrong report, so its findings are META-011's place."""
    journal = [entry(CHEAP, 500, "error"), entry(CHEAP)]
    found = _findings(name, answer(FAST), FILTER, journal)
    assert len(found) == 2  # called although ruled out; answered
    for message, owners in found:
        assert isinstance(message, Located)
        assert message.path == UPSTREAM_PROVIDER
        assert owners == ("META-011",)


@pytest.mark.parametrize("name", CHECKS)
def test_a_reading_the_report_agrees_with_stays_firm(name: str) -> None:
    """The loser answered and the report says so: the journal findings are the contest's own; only the
    report's mismatch with the promise sits at routing_metadata.provider (META's place, as before)."""
    found = _findings(name, answer(CHEAP), PROMISE, [entry(CHEAP)])
    firm = [message for message, owners in found if not owners]
    assert any("tried first" in m for m in firm)
    assert any("answered" in m for m in firm)
    assert [message for message, owners in found if owners] == [
        "routing_metadata.provider is 'vllm-b', expected 'vllm'"
    ]
