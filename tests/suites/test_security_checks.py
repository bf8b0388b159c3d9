"""AUTH-006, STREAM-022, REQ-028: the security checks pass a safe observation and fail each unsafe one."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, all_checks
from auriko_conformance.suites.checks.security import SecurityContext
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

MARKER = "conformance-abc123"


def entry(provider: str = "openai", **fields: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "status": 200,
        "outcome": "ok",
        "path": "/openai/v1/chat/completions",
        "query": {},
        "headers": {"authorization": "Bearer [redacted:1234]"},
        "body": {"model": "gpt-4o-mini"},
        **fields,
    }


def redirect(journal: list[dict[str, Any]]) -> SecurityContext:
    return SecurityContext(request=s.REQUEST, journal=journal, expected_instance="openai", marker=MARKER)


def run(name: str, exchange: Exchange, context: Context) -> list[str]:
    return [f.message for f in all_checks()[name].run(exchange, context)]


def error(status: int, message: str = "m", param: str | None = None) -> Exchange:
    return s.error_exchange(
        status,
        {"message": message, "type": "invalid_request_error", "code": "invalid_request", "param": param},
    )


def stalled(with_error: bool, elapsed_ms: float) -> Exchange:
    payloads = s.stream_payloads()[:2]
    if with_error:
        payloads.append(
            {"error": {"message": "t", "type": "api_error", "code": "upstream_timeout", "param": None}}
        )
    exchange = s.stream_exchange(payloads)
    exchange.elapsed_ms = elapsed_ms
    return exchange


DEADLINE = SecurityContext(request=s.REQUEST, within_ms=2500)
HOSTILE = SecurityContext(request=s.REQUEST, hostile=True)

GOOD = [
    ("extensions_never_redirect_upstream", s.completion_exchange(), redirect([entry()])),
    ("extensions_never_redirect_upstream", error(400), redirect([])),
    ("stream_deadline_bounds_a_stall", stalled(True, 1600), DEADLINE),
    ("stream_deadline_bounds_a_stall", error(504), DEADLINE),
    ("hostile_input_gets_an_envelope", s.completion_exchange(), HOSTILE),
    ("hostile_input_gets_an_envelope", error(400, "m" * 1024, "model"), HOSTILE),
]


@pytest.mark.parametrize(("name", "exchange", "context"), GOOD)
def test_safe_observations_pass(name: str, exchange: Exchange, context: Context) -> None:
    assert run(name, exchange, context) == []


BROKEN = {
    "moved to the decoy": (
        "extensions_never_redirect_upstream",
        s.completion_exchange(),
        redirect([entry("vllm-b")]),
    ),
    "answered from nowhere": ("extensions_never_redirect_upstream", s.completion_exchange(), redirect([])),
    "marker in a header": (
        "extensions_never_redirect_upstream",
        s.completion_exchange(),
        redirect([entry(headers={"x-conformance-marker": MARKER})]),
    ),
    "marker in the query": (
        "extensions_never_redirect_upstream",
        s.completion_exchange(),
        redirect([entry(query={"marker": MARKER})]),
    ),
    "options forwarded in the body": (
        "extensions_never_redirect_upstream",
        s.completion_exchange(),
        redirect([entry(body={"model": "m", "base_url": "http://x"})]),
    ),
    "stream left open": ("stream_deadline_bounds_a_stall", stalled(True, 5000), DEADLINE),
    "stream ended cleanly": ("stream_deadline_bounds_a_stall", stalled(False, 1600), DEADLINE),
    "5xx on hostile input": ("hostile_input_gets_an_envelope", error(500), HOSTILE),
    "4xx without envelope": (
        "hostile_input_gets_an_envelope",
        s.error_exchange(400, None, {"content-type": "text/plain"}),
        HOSTILE,
    ),
    "message echoes the input": ("hostile_input_gets_an_envelope", error(400, "m" * 5000), HOSTILE),
    "param echoes the input": ("hostile_input_gets_an_envelope", error(400, "m", "p" * 5000), HOSTILE),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_unsafe_observations_are_findings(case: str) -> None:
    name, exchange, context = BROKEN[case]
    assert run(name, exchange, context) != []


def test_not_applicable_without_a_scenario() -> None:
    checks = all_checks()
    for name in {n for n, _, _ in GOOD}:
        assert checks[name].judge(s.completion_exchange(), Context(request=s.REQUEST)) == ([], False)
        assert checks[name].judge(s.completion_exchange(), SecurityContext(request=s.REQUEST)) == ([], False)
    assert {checks[n].requirement for n, _, _ in GOOD} == {"AUTH-006", "STREAM-022", "REQ-028"}
