"""Verdicts on a gateway the suite was not tuned on: one root cause, one finding (D-090, D-091).

The deviant gateway here is the reference with one defect: its Anthropic adapter never sets the
`max_tokens` Anthropic requires, so the strict Anthropic mock refuses every request with 400. The rule
that states the field (XLATE-001) must fail, judged from the journal although the upstream refused;
every other requirement those tests cover must read "blocked" by it, never "fail".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.mocks.app import create_app as create_mocks
from auriko_conformance.mocks.journal import OUTCOME_CLIENT_CLOSED
from auriko_conformance.reference_impl.adapters.anthropic import AnthropicAdapter
from auriko_conformance.reference_impl.app import create_app as create_gateway
from auriko_conformance.reference_impl.config import TEST_API_KEY, default_config
from auriko_conformance.suites import expect, snapshot
from auriko_conformance.suites.checks import Finding, all_checks, xlate_anthropic, xlate_gemini, xlate_request
from auriko_conformance.suites.checks.xlate import Upstream
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.findings import group_findings, normalise
from auriko_conformance.suites.journal import refusals
from auriko_conformance.suites.plugin import ANSWERED, Judge
from auriko_conformance.suites.report import build_results, console_summary, render_html
from auriko_conformance.suites.scenario import RouteContext
from auriko_conformance.suites.snapshot import Client
from auriko_conformance.suites.test_routing import answered

from auriko_conformance.servers import serving
from tests.suites.nested import run_suites

SUITES = Path(__file__).resolve().parents[2] / "suites"


def _drop_max_tokens(self: AnthropicAdapter, attempt: Any, native: dict[str, Any], max_tokens: Any) -> None:
    """The defect: the field Anthropic requires is never placed."""


def _without_max_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite: str, select: str
) -> tuple[dict[str, Any], set[str], set[str]]:
    """Run `suite` (`-k select`) on a reference gateway that never places Anthropic's max_tokens: its rows
    by id, and the ids that failed and that read blocked."""
    monkeypatch.setattr(AnthropicAdapter, "place_max_tokens", _drop_max_tokens)
    with (
        serving(create_mocks()) as mocks,
        serving(create_gateway(default_config(mock_base_url=mocks.url))) as gw,
    ):
        run_suites(
            [
                str(SUITES / suite),
                *("-k", select, "-q", "-p", "no:cacheprovider"),
                *("--target-url", gw.url, "--mock-url", mocks.url, "--api-key", TEST_API_KEY),
                *("--conformance-report", str(tmp_path)),
            ]
        )
    rows = {row["id"]: row for row in orjson.loads((tmp_path / "results.json").read_bytes())["requirements"]}
    failed = {i for i, row in rows.items() if row["verdict"] == "fail"}
    blocked = {i for i, row in rows.items() if row["verdict"] == "blocked"}
    return rows, failed, blocked


def test_an_omitted_upstream_field_fails_its_rule_and_blocks_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, failed, blocked = _without_max_tokens(
        tmp_path, monkeypatch, "test_translation.py", "anthropic and not snapshot"
    )
    assert failed == {"XLATE-001"}
    assert len(blocked) >= 10, blocked  # the translation rules of every Anthropic test
    assert {r for i in blocked for r in rows[i]["blocked_by"]} == {"XLATE-001"}
    groups = rows["XLATE-001"]["groups"]
    assert len(groups) == 1
    assert groups[0]["count"] > 10
    assert "max_tokens" in groups[0]["example"]["message"]
    assert rows["XLATE-001"]["blocks"] == len(blocked)


def _run(*tests: dict[str, Any]) -> dict[str, Any]:
    base = {"outcome": "passed", "reason": "", "findings": [], "evidence": [], "checked": [], "blocked": []}
    return build_results([{**base, **t} for t in tests], options={"level": "full"}, started=0, finished=1)


def _finding(requirement: str, message: str) -> dict[str, Any]:
    return {"requirement": requirement, "check": "c", "message": message, "level": "MUST"}


def test_blocked_wins_over_pass_and_loses_to_a_finding() -> None:
    """A requirement one test could not judge is not a pass (class 4); a real finding still fails it."""
    results = _run(
        {"nodeid": "a", "requirements": ["SCHEMA-001"], "checked": ["SCHEMA-001"]},
        {"nodeid": "b", "requirements": ["SCHEMA-001"], "outcome": "failed",
         "findings": [_finding("REQ-027", "a valid request was answered HTTP 400")],
         "blocked": [{"requirement": "SCHEMA-001", "reason": "HTTP 400", "roots": ["REQ-027"]}]},
        {"nodeid": "c", "requirements": ["STREAM-002"], "outcome": "failed",
         "findings": [_finding("STREAM-002", "the stream never sent data: [DONE]")],
         "blocked": [{"requirement": "STREAM-002", "reason": "HTTP 400", "roots": ["REQ-027"]}]},
    )  # fmt: skip
    rows = {row["id"]: row for row in results["requirements"]}
    assert rows["SCHEMA-001"]["verdict"] == "blocked"
    assert rows["SCHEMA-001"]["blocked_by"] == ["REQ-027"]
    assert rows["STREAM-002"]["verdict"] == "fail"
    assert rows["REQ-027"]["verdict"] == "fail"
    assert rows["REQ-027"]["blocks"] == 1
    console = console_summary(results)
    lines = [line for line in console.splitlines() if line.startswith(("FAIL", "BLOCKED"))]
    assert lines[0].startswith("FAIL REQ-027")
    assert "blocks 1" in lines[0]
    assert "BLOCKED SCHEMA-001 by REQ-027" in lines
    page = render_html([results])
    assert 'class="v blocked"' in page
    assert "#req-REQ-027" in page


def test_findings_are_grouped_by_normalised_message() -> None:
    findings = [
        Finding("SCHEMA-002", "c", f"event #{i}: 'x{i}' is not of type 'integer'") for i in range(200)
    ]
    findings.append(Finding("SCHEMA-002", "c", "event #3: missing id"))
    groups = group_findings(findings)
    assert [(g.requirement, g.count) for g in groups] == [("SCHEMA-002", 200), ("SCHEMA-002", 1)]
    assert str(groups[0]).startswith("[SCHEMA-002] (x200) event #0")
    assert normalise("HTTP 400 'a' vs \"b\" id 0123abcd99") == "HTTP # '…' vs '…' id <id>"
    results = _run(
        {"nodeid": "a", "requirements": ["SCHEMA-002"], "outcome": "failed",
         "findings": [_finding(f.requirement, f.message) for f in findings]},
    )  # fmt: skip
    row = next(r for r in results["requirements"] if r["id"] == "SCHEMA-002")
    assert row["finding_count"] == 201
    assert [g["count"] for g in row["groups"]] == [200, 1]


# --------------------------------------------------------------------------------------------------
# The root-cause probe judges a refused request with the test's expectations (issue 15 class 1)
# --------------------------------------------------------------------------------------------------

_ANT = {"model": "claude", "max_tokens": 8192, "messages": [{"role": "user", "content": "Hi"}]}
_GEM = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
_STRICT = {
    "type": "json_schema",
    "json_schema": {
        "name": "a",
        "strict": True,
        "schema": {"$schema": "x", "type": "object", "additionalProperties": False},
    },
}

#: A rule whose check needs the test's expectations, a request, and what a faulty gateway sent upstream
#: (which the provider refused); one row per survivor of the mutation catalogue before the probe saw them.
REFUSED_TRANSLATIONS = {
    "output-limit-wrong-field-for-reasoning-models": (
        xlate_request.output_limit_native_field,
        {"max_tokens": 400},
        ("openai", {"model": "o4-mini", "max_tokens": 400}),
        {"reasoning_model": True},
    ),
    "thinking-budget-below-minimum": (
        xlate_anthropic.claude_budget_from_effort,
        {"reasoning_effort": "high"},
        ("anthropic", {**_ANT, "thinking": {"type": "enabled", "budget_tokens": 512}}),
        {"claude_kind": "budget"},
    ),
    "gemini-thinking-level-and-budget": (
        xlate_gemini.gemini_thinking_by_generation,
        {"reasoning_effort": "low"},
        (
            "gemini",
            {
                **_GEM,
                "generationConfig": {"thinkingConfig": {"thinkingLevel": "low", "thinkingBudget": 1024}},
            },
        ),
        {"gemini_kind": "level"},
    ),
    "gemini-strict-schema-forwarded-raw": (
        xlate_gemini.gemini_response_format,
        {"response_format": _STRICT},
        (
            "gemini",
            {
                **_GEM,
                "generationConfig": {
                    "responseMimeType": "application/json",
                    "responseSchema": _STRICT["json_schema"]["schema"],
                },
            },
        ),
        {},
    ),
    "sampling-forwarded-unchecked-to-anthropic (clamp)": (
        xlate_anthropic.anthropic_temperature_clamped,
        {"temperature": 1.5},
        ("anthropic", {**_ANT, "temperature": 1.5}),
        {},
    ),
    "sampling-forwarded-unchecked-to-anthropic (thinking)": (
        xlate_anthropic.claude_thinking_sampling_stripped,
        {"reasoning_effort": "low", "temperature": 0.5},
        ("anthropic", {**_ANT, "thinking": {"type": "enabled", "budget_tokens": 1024}, "temperature": 0.5}),
        {},
    ),
    "xhigh-not-normalised-for-claude": (
        xlate_anthropic.claude_xhigh_normalised,
        {"reasoning_effort": "xhigh"},
        ("anthropic", {**_ANT, "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}}),
        {"claude_kind": "adaptive", "xhigh_to": "max"},
    ),
}


#: what a correct gateway's request to each provider looks like besides its body (XLATE-001 holds)
_NATIVE_ENDPOINTS = {
    "openai": ("/openai/v1/chat/completions", {"authorization": "Bearer [redacted:1a2b]"}),
    "anthropic": (
        "/anthropic/v1/messages",
        {"x-api-key": "[redacted:1a2b]", "anthropic-version": "2023-06-01"},
    ),
    "gemini": ("/gemini/v1beta/models/gemini-3-pro:generateContent", {"x-goog-api-key": "[redacted:1a2b]"}),
}


def _refused_client(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, flavour: str, native: dict[str, Any]
) -> tuple[Client, Judge]:
    """A Client whose target answered 502 because the `flavour` provider refused `native` with 400."""
    body = {
        "error": {"message": "upstream refused", "type": "api_error", "code": "upstream_error", "param": None}
    }
    exchange = Exchange.build(status=502, body=body, headers={"content-type": "application/json"})
    path, headers = _NATIVE_ENDPOINTS[flavour]
    entry = {"provider": flavour, "flavour": flavour, "method": "POST", "path": path, "headers": headers}
    entry.update(body=native, status=400)
    monkeypatch.setattr(snapshot, "send", lambda *args, **kwargs: (exchange, [Upstream.from_entry(entry)]))
    judge = Judge(request.node)
    return Client(None, None, judge, "tag"), judge  # type: ignore[arg-type]


def _translation_verdicts(judge: Judge) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    """(requirements with findings among XLATE and REQ-027, blocked requirement -> its roots)."""
    failed = {f.requirement for f in judge.findings if f.requirement.startswith(("XLATE", ANSWERED))}
    return failed, {b.requirement: b.roots for b in judge.blocked}


@pytest.mark.parametrize("fault", list(REFUSED_TRANSLATIONS))
def test_a_refused_translation_fails_the_rule_it_breaks(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, fault: str
) -> None:
    chk, client_request, (flavour, native), expectations = REFUSED_TRANSLATIONS[fault]
    requirement = all_checks()[chk.__name__].requirement
    client, judge = _refused_client(monkeypatch, request, flavour, native)
    sent = client.send({"model": "m", **client_request}, flavour)
    sent.exchange.request_body = {"model": "m", **client_request}
    assert client.translated(sent, requirement, chk, **expectations) is False
    failed, blocked = _translation_verdicts(judge)
    assert failed == {requirement}, judge.findings
    assert requirement not in blocked  # the rule is the root: it fails, it is not blocked by itself
    assert [e["requirements"] for e in judge.evidence if requirement in e["requirements"]]


def test_a_refusal_no_rule_explains_is_the_root_and_blocks_the_rule(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The same probe on a correct translation the provider refused anyway: no XLATE finding is made
    up; the refusal is REQ-027's finding and the test's rule reads blocked by it."""
    correct = {**_ANT, "thinking": {"type": "enabled", "budget_tokens": 4096}}
    client, judge = _refused_client(monkeypatch, request, "anthropic", correct)
    sent = client.send({"model": "m", "reasoning_effort": "high"}, "anthropic")
    sent.exchange.request_body = {"model": "m", "reasoning_effort": "high"}
    assert not client.translated(
        sent, "XLATE-022", xlate_anthropic.claude_budget_from_effort, claude_kind="budget"
    )
    failed, blocked = _translation_verdicts(judge)
    assert failed == {ANSWERED}
    assert blocked == {"XLATE-022": (ANSWERED,)}


# --------------------------------------------------------------------------------------------------
# Routing scenarios: a refusal is the routing rule's finding only when the journal shows routing gave up
# --------------------------------------------------------------------------------------------------


def _routing_refusal(request: pytest.FixtureRequest, journal: list[dict[str, Any]]) -> Judge:
    """The fallback scenario (`cheap` fails with 500, `dear` must answer) judged on a 502 after `journal`."""
    body = {
        "error": {"message": "upstream failed", "type": "api_error", "code": "upstream_error", "param": None}
    }
    exchange = Exchange.build(status=502, body=body, headers={"content-type": "application/json"})
    judge = Judge(request.node)
    context = RouteContext(journal=journal, answer_from=frozenset({"dear"}))
    answered(judge, exchange, "ROUTE-021", context, "next_candidate_answers")
    judge.blocked_rest(["ROUTE-021", "META-011"])
    return judge


def _verdicts(judge: Judge) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    failed = {f.requirement for f in judge.findings if f.requirement.startswith(("ROUTE", "META", ANSWERED))}
    return failed, {b.requirement: b.roots for b in judge.blocked}


def test_a_gateway_that_stops_after_a_failure_fails_the_fallback_rule(request: pytest.FixtureRequest) -> None:
    """Only `cheap` was tried and it failed with 500: the gateway gave up, ROUTE-021 is the one finding
    (not REQ-027 as well), and META-011, which needed the answer, reads blocked by it."""
    judge = _routing_refusal(request, [{"provider": "cheap", "status": 500, "outcome": "error"}])
    failed, blocked = _verdicts(judge)
    assert failed == {"ROUTE-021"}
    assert blocked == {"META-011": ("ROUTE-021",)}
    assert "never ['dear']" in next(f.message for f in judge.findings if f.requirement == "ROUTE-021")


#: an upstream request the checks find nothing wrong with, refused by the provider all the same
_OPENAI_REFUSED = {
    "flavour": "openai",
    "method": "POST",
    "path": _NATIVE_ENDPOINTS["openai"][0],
    "headers": _NATIVE_ENDPOINTS["openai"][1],
    "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
    "status": 400,
    "outcome": "error",
}


@pytest.mark.parametrize(
    "journal",
    [
        [],  # refused before any routing (a missing header, a bad key)
        [{**_OPENAI_REFUSED, "provider": "cheap"}],  # a provider refused a request no translation rule faults
        [{"provider": "cheap", "status": 500}, {**_OPENAI_REFUSED, "provider": "dear"}],
    ],
    ids=["no-attempt", "refused-translation", "next-candidate-refused"],
)
def test_a_refusal_routing_did_not_cause_blocks_the_routing_rule(
    request: pytest.FixtureRequest, journal: list[dict[str, Any]]
) -> None:
    """The journal does not show routing giving up: the refusal (REQ-027) is the root, and the routing
    rule reads blocked by it, never "expected an answer"."""
    failed, blocked = _verdicts(_routing_refusal(request, journal))
    assert failed == {ANSWERED}
    assert blocked == {"ROUTE-021": (ANSWERED,), "META-011": (ANSWERED,)}


def test_an_abandoned_attempt_is_not_a_refusal() -> None:
    """The mock records an attempt the gateway gave up on (a timeout) as 499 client-closed: the gateway
    left, the provider refused nothing (the evidence said "refused the gateway's request with 499")."""
    abandoned = {"provider": "slow", "status": 499, "outcome": OUTCOME_CLIENT_CLOSED}
    assert refusals([abandoned, {"provider": "p", "status": 429}]) == []
    assert refusals([{"provider": "p", "status": 400}]) == [{"provider": "p", "status": 400}]


# --------------------------------------------------------------------------------------------------
# Error scenarios: the refusal a test provokes, judged under the rule that states the situation
# --------------------------------------------------------------------------------------------------


def _envelope(status: int, code: str, param: str | None = None) -> Exchange:
    body = {"error": {"message": "m", "type": "invalid_request_error", "code": code, "param": param}}
    return Exchange.build(status=status, body=body, headers={"content-type": "application/json"})


def _among(judge: Judge, *requirements: str) -> set[str]:
    """The requirements with findings, of those named (the synthetic exchange lacks e.g. its headers)."""
    return {f.requirement for f in judge.findings if f.requirement in requirements}


def test_another_situations_code_fails_the_situation_not_the_registry(request: pytest.FixtureRequest) -> None:
    """A 400 for an invalid value whose code names another situation of the registry: the gateway did
    not recognise the invalid value (REQ-007), it did not misname it (ERR-014)."""
    judge = Judge(request.node)
    exchange = _envelope(400, "reasoning_not_supported", "reasoning_effort")
    expect.error(
        judge, exchange, "REQ-007", status=400, code="invalid_parameter_value", param="reasoning_effort"
    )
    assert _among(judge, "REQ-007", expect.CODES) == {"REQ-007"}
    judge = Judge(request.node)
    misnamed = _envelope(400, "invalid_value", "reasoning_effort")  # not a registry code: ERR-002's
    expect.error(
        judge, misnamed, "REQ-007", status=400, code="invalid_parameter_value", param="reasoning_effort"
    )
    assert _among(judge, "REQ-007", expect.CODES, "ERR-002") == {"ERR-002"}
    assert {b.requirement: b.roots for b in judge.blocked}[expect.CODES] == ("ERR-002",)


def test_an_error_under_200_is_err_003_alone(request: pytest.FixtureRequest) -> None:
    """An error body sent with 200 is not a completion: the completion and choice-count rules have
    nothing to judge, and the situation's own rule, which recognised the situation (the body says so),
    reads blocked by ERR-003: a gateway that sends every error with 200 has one defect (D-146)."""
    exchange = _envelope(200, "invalid_parameter_value", "n")
    exchange.request_body = {"model": "m", "n": 11, "messages": [{"role": "user", "content": "Hi"}]}
    judge = Judge(request.node)
    expect.error(judge, exchange, "REQ-005", status=400, code="invalid_parameter_value", param="n")
    assert _among(judge, "ERR-003", "REQ-005", "ROUTE-017", "SCHEMA-001", "SCHEMA-002") == {"ERR-003"}
    assert {b.requirement: b.roots for b in judge.blocked}["REQ-005"] == ("ERR-003",)


def test_a_scenario_whose_failure_never_happened_is_blocked_by_the_refusal(
    request: pytest.FixtureRequest,
) -> None:
    """An overload scenario (every attempt answers 529) where Anthropic refused the gateway's request
    first (no max_tokens: the mocks check a request before they play a directive): ERR-008 has no subject
    and reads blocked by XLATE-001, the rule the refused request breaks, not "expected 503"."""
    path, headers = _NATIVE_ENDPOINTS["anthropic"]
    native = {"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}  # no max_tokens
    refused = {"provider": "anthropic", "flavour": "anthropic", "method": "POST", "path": path}
    refused.update(headers=headers, body=native, status=400, outcome="error")
    exchange = _envelope(502, "upstream_error")
    exchange.request_body = {"model": "claude", "messages": [{"role": "user", "content": "Hi"}]}
    judge = Judge(request.node)
    assert not expect.staged(judge, exchange, [refused])
    judge.blocked_rest(["ERR-008"])
    _, blocked = _verdicts(judge)
    assert {f.requirement for f in judge.findings} == {"XLATE-001"}
    assert blocked == {"ERR-008": ("XLATE-001",)}
    overloaded = [{"provider": "anthropic", "status": 529, "outcome": "error"}]
    assert expect.staged(Judge(request.node), exchange, overloaded)


def test_a_refusal_the_test_did_not_attribute_is_left_to_the_translation_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The extension tests read their own rules (EXT-001/002/004/005) on Anthropic requests that Anthropic
    refuses for want of `max_tokens`: XLATE-001 fails on the refused request, and the extension rules
    (EXT-004's "and the request works" clause, EXT-005's missing client value) read blocked by it."""
    rows, failed, blocked = _without_max_tokens(tmp_path, monkeypatch, "test_extensions.py", "anthropic")
    assert failed == {"XLATE-001"}
    assert {"EXT-004", "EXT-005"} <= blocked
    assert {r for i in blocked for r in rows[i]["blocked_by"]} == {"XLATE-001"}
