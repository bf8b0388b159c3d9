"""Suite mistakes found on third-party gateways (docs/portkey.md, docs/litellm.md), each fed back as the
exchange the gateway produced, with the verdict it must get now.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from auriko_conformance.mocks.directives import DirectiveError
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import Context, all_checks, run_checks
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.plugin import ANSWERED, UNSTAGED_MARK, Judge, unstaged
from auriko_conformance.suites.profile import load_profile
from auriko_conformance.suites.scenario import ExpectedError, RouteContext
from auriko_conformance.suites.snapshot import claimed_by_profile

from tests.suites import samples

ROOT = Path(__file__).resolve().parents[2]

#: Portkey 1.15.2 relaying the DeepSeek mock's refusal of `[[mock: tool_calls=1]]` after Portkey had
#: dropped the request's tools (tool_choice none): the scenario could not be staged.
PORTKEY_UNSTAGED = {
    "error": {
        "message": 'Invalid response received from deepseek: {"error":{"message":"invalid mock directive '
        '\'tool_calls\': the request declares no tools to call","type":"invalid_request_error",'
        '"param":"tool_calls","code":null}}',
        "type": None,
        "param": None,
        "code": None,
    },
    "provider": "deepseek",
}


def judge() -> Judge:
    return Judge(node=SimpleNamespace(nodeid="t.py::t", name="t"))  # type: ignore[arg-type]


def chat_error(body: dict[str, Any], status: int = 400) -> Exchange:
    return Exchange.build(
        status=status,
        body=orjson.dumps(body),
        headers={"content-type": "application/json"},
        request_body={"model": "deepseek-chat", "messages": [{"role": "user", "content": "Hi"}]},
    )


def test_a_relayed_mock_directive_refusal_blocks_without_a_finding() -> None:
    j = judge()
    exchange = chat_error(PORTKEY_UNSTAGED)
    assert unstaged(exchange) == "invalid mock directive 'tool_calls': the request declares no tools to call"
    assert not expect.success(j, exchange, "XLATE-007")
    assert [f for f in j.findings if f.requirement == ANSWERED] == []
    [block] = [b for b in j.blocked if b.requirement == "XLATE-007"]
    assert block.roots == ()
    assert "could not stage" in block.reason
    assert "tool_calls" in block.reason


def test_an_ordinary_refusal_still_fails_a_valid_request_is_answered() -> None:
    j = judge()
    body = {"error": {"message": "anthropic error: max_tokens: Field required", "type": None}}
    assert not expect.success(j, chat_error(body), "XLATE-007")
    assert [f.requirement for f in j.findings if f.requirement == ANSWERED] == [ANSWERED]
    assert [b.roots for b in j.blocked if b.requirement == "XLATE-007"] == [(ANSWERED,)]


def test_the_mark_is_how_the_mocks_word_a_directive_they_cannot_follow() -> None:
    assert str(DirectiveError("tool_calls", "no tools")).startswith(UNSTAGED_MARK)


def _portkey_gemini_stream() -> Exchange:
    """Portkey's Gemini stream: content, a finish_reason, then the end of the body with no `[DONE]`."""
    base = {"id": "google-1", "object": "chat.completion.chunk", "created": 1, "model": "gemini-2.5-flash"}
    deltas = [("Lantern", None), (" ribbon", None), (".", "stop")]
    payloads = [
        {**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
        for text, finish in deltas
    ]
    return Exchange.build(
        status=200,
        body=b"".join(b"data: " + orjson.dumps(p) + b"\n\n" for p in payloads),
        headers=samples.SSE_HEADERS,
        request_body={**samples.REQUEST, "stream": True},
    )


def test_a_finished_stream_without_done_fails_the_terminator_rule_only() -> None:
    """Class 2 (misattribution): the missing `[DONE]` is STREAM-002's; nothing was cut mid-stream."""
    found = {f.requirement for f in run_checks(_portkey_gemini_stream())}
    assert "STREAM-002" in found
    assert "STREAM-015" not in found


def test_a_stream_cut_before_its_finish_reason_is_still_a_silent_truncation() -> None:
    exchange = samples.stream_exchange(samples.stream_payloads()[:2])
    assert "STREAM-015" in {f.requirement for f in run_checks(exchange)}


#: What the Anthropic mock received from Portkey for an overload scenario (`[[mock: error=529]]`): no
#: `max_tokens`, so the request was refused with 400 before the 529 could be injected.
ANTHROPIC_WITHOUT_MAX_TOKENS = {
    "provider": "anthropic",
    "flavour": "anthropic",
    "method": "POST",
    "path": "/anthropic/v1/messages",
    "query": {},
    "headers": {"x-api-key": "[redacted:892a8281]", "anthropic-version": "2023-06-01"},
    "body": {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "Hi [[mock: error=529]]"}],
    },
    "status": 400,
    "outcome": "error",
}


def test_a_fault_the_upstream_never_met_is_blocked_by_the_broken_rule() -> None:
    """Class 1 (cascade): "expected 503, got 400" is not ERR-008's finding when the upstream refused the
    gateway's request first; the rule that states the missing field fails, from the journal."""
    j = judge()
    refused = {"error": {"message": "anthropic error: max_tokens: Field required", "type": None}}
    exchange = chat_error(refused)
    assert not expect.staged(j, exchange, [ANTHROPIC_WITHOUT_MAX_TOKENS], "ERR-008", "ERR-011")
    assert {f.requirement for f in j.findings} == {"XLATE-001"}
    assert {b.requirement: b.roots for b in j.blocked} == {
        "ERR-008": ("XLATE-001",),
        "ERR-011": ("XLATE-001",),
    }


def test_a_fault_the_upstream_answered_is_staged() -> None:
    j = judge()
    overloaded = {**ANTHROPIC_WITHOUT_MAX_TOKENS, "status": 529}
    assert expect.staged(j, chat_error({"error": {"message": "overloaded"}}, 500), [overloaded], "ERR-008")
    assert j.blocked == []


def test_a_stream_answered_as_a_success_fails_the_rule_that_makes_it_an_error() -> None:
    """Class 2: Portkey clamps `temperature: 9` and streams an answer; that is REQ-004's finding, and
    STREAM-017 (how a known error is sent) is blocked by it, not failed."""
    j = judge()
    expect.pre_stream_error(j, _portkey_gemini_stream(), "validation", "REQ-004")
    assert {f.requirement for f in j.findings} == {"REQ-004"}
    assert [(b.requirement, b.roots) for b in j.blocked] == [("STREAM-017", ("REQ-004",))]


def test_an_error_sent_as_a_200_stream_still_fails_stream_017() -> None:
    j = judge()
    payloads = [{"error": {"message": "temperature out of range", "type": "invalid_request_error"}}]
    exchange = samples.stream_exchange(payloads)
    expect.pre_stream_error(j, exchange, "validation", "REQ-004")
    assert {f.requirement for f in j.findings} == {"STREAM-017"}
    assert j.blocked == []


def _upstream_overload(body: dict[str, Any]) -> list[str]:
    exchange = chat_error(body, 503)
    context = RouteContext(request=exchange.request_body, error=ExpectedError(503, error_type="api_error"))
    return [f"{f.requirement} {f.message}" for f in run_checks(exchange, context)]


def test_an_extra_top_level_field_is_the_envelope_rule_only() -> None:
    """Class 2: Portkey's `"provider"` beside a complete envelope fails SCHEMA-006 once; the upstream
    failure rows judge the status, code and type only."""
    envelope = {"message": "overloaded", "type": "server_error", "param": None, "code": "server_overloaded"}
    found = _upstream_overload({"error": envelope, "provider": "openai"})
    assert "SCHEMA-006 top-level keys besides error: ['provider']" in found
    assert [f for f in found if f.startswith("ERR-008")] == [
        "ERR-008 type 'server_error', expected 'api_error'"
    ]


def test_an_upstream_error_shape_leaking_through_is_still_found() -> None:
    leaked = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert any(
        "not the gateway's envelope" in f for f in _upstream_overload(leaked) if f.startswith("ERR-008")
    )


def test_a_refusal_of_max_tokens_on_a_reasoning_model_is_the_output_limit_rule() -> None:
    """Class 2: Portkey forwards the client's `max_tokens` to o4-mini, which refuses it; with the test's
    expectation (a reasoning model) the upstream-side probe names XLATE-014, not REQ-027."""
    j = judge()
    refused = {"error": {"message": "Unsupported parameter: 'max_tokens'", "code": "unsupported_parameter"}}
    exchange = chat_error(refused)
    entry = {
        "provider": "openai",
        "flavour": "openai",
        "method": "POST",
        "path": "/openai/v1/chat/completions",
        "headers": {"authorization": "Bearer [redacted:892a8281]"},
        "body": {"model": "o4-mini", "messages": [], "max_tokens": 400},
        "status": 400,
    }
    upstream = Upstream.from_entry(entry)
    context = XlateContext(
        request={"model": "o4-mini", "max_tokens": 400},
        upstream=upstream,
        upstreams=[upstream],
        expect={"reasoning_model": True},
    )
    assert not expect.success(j, exchange, "XLATE-014", upstream=context, journal=[entry])
    found = {f.requirement for f in j.findings}
    assert "XLATE-014" in found
    assert ANSWERED not in found
    assert j.blocked == []  # a requirement is never blocked by itself: it failed


def test_a_requirement_of_an_unclaimed_feature_is_never_blocked() -> None:
    """Blocked rows whose root is wrong: LiteLLM claims no `warnings`, so META-012 (dropped parameters
    are reported as warnings) reads "not claimed" when its test stops at a refused request, not
    "blocked by REQ-027"; the test's claimed requirements are still blocked."""
    j = Judge(node=SimpleNamespace(nodeid="t.py::t", name="t"), claims=frozenset({"tools"}))  # type: ignore[arg-type]
    j.block("XLATE-018", "the request was answered HTTP 400, not 200", (ANSWERED,))
    j.blocked_rest(["XLATE-018", "META-012", "SCHEMA-001"])
    assert "META-012" in j.unclaimed
    assert [(b.requirement, b.roots) for b in j.blocked] == [
        ("XLATE-018", (ANSWERED,)),
        ("SCHEMA-001", (ANSWERED,)),
    ]


def test_a_model_the_profile_offers_is_claimed_whatever_get_models_lists() -> None:
    """A false "not claimed": Portkey's GET /v1/models is its OpenAI upstream's list, so the reasoning
    tests on claude-haiku-4-5, gemini-2.5-flash and deepseek-chat were skipped although the profile
    offers those models."""
    portkey = load_profile(ROOT / "bench" / "portkey" / "profile.yaml")
    assert claimed_by_profile(portkey, "claude_haiku_4_5", "claude-haiku-4-5")
    assert not claimed_by_profile(portkey, "qwen3", "qwen3-32b")
    assert not claimed_by_profile(load_profile(None), "qwen3", "qwen3-32b")  # no list: GET /v1/models decides


def test_a_forced_tool_with_reasoning_sent_to_claude_is_one_finding() -> None:
    """Class 2: Portkey sent the forced choice to Claude without the thinking (D-043's finding) and got
    the provider's 400 back; "expected tool_choice_required_not_supported" restated the same fact."""
    request = {
        "model": "claude-haiku-4-5",
        "reasoning_effort": "low",
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
    }
    sent = Upstream.from_entry({**ANTHROPIC_WITHOUT_MAX_TOKENS, "body": {"tool_choice": {"type": "any"}}})
    context = XlateContext(request=request, upstream=sent, upstreams=[sent], expect={"flavour": "anthropic"})
    found = [
        f.message
        for f in run_checks(
            chat_error({"error": {"message": "m"}}), context, only=["claude_thinking_no_forced_tool"]
        )
    ]
    assert found == ["Claude was sent thinking=None with tool_choice={'type': 'any'}"]


def _anthropic_refusal(body: dict[str, Any], request: dict[str, Any]) -> Judge:
    """LiteLLM relays Anthropic's 400 for a field it should have changed; the judge names the rule."""
    j = judge()
    entry = {**ANTHROPIC_WITHOUT_MAX_TOKENS, "body": {"model": "claude-haiku-4-5", "max_tokens": 64, **body}}
    upstream = Upstream.from_entry(entry)
    context = XlateContext(request=request, upstream=upstream, upstreams=[upstream])
    refused = chat_error(
        {"error": {"message": "litellm.BadRequestError: AnthropicException - ...", "code": "400"}}
    )
    assert not expect.success(j, refused, "XLATE-016", upstream=context, journal=[entry])
    return j


def test_a_temperature_anthropic_refused_fails_the_clamping_rule() -> None:
    """Blocked rows whose root was wrong: `temperature: 1.5` reached Anthropic, which refused it; that is
    XLATE-016's own rule, so the row fails (with what was sent) instead of reading blocked by REQ-027."""
    j = _anthropic_refusal({"temperature": 1.5}, {"model": "claude-haiku-4-5", "temperature": 1.5})
    found = [(f.requirement, f.message) for f in j.findings if f.requirement.startswith(("XLATE", "REQ-027"))]
    assert found == [("XLATE-016", "temperature 1.5 reached Anthropic as 1.5, not 1")]


def test_sampling_claude_refused_with_thinking_fails_the_stripping_rule() -> None:
    thinking = {
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "max_tokens": 2048,
        "temperature": 0.5,
    }
    request = {"model": "claude-haiku-4-5", "reasoning_effort": "low", "temperature": 0.5}
    j = _anthropic_refusal(thinking, request)
    found = [(f.requirement, f.message) for f in j.findings if f.requirement.startswith(("XLATE", "REQ-027"))]
    assert found == [("XLATE-024", "temperature=0.5 was sent to Claude alongside thinking")]


def test_an_answer_without_reasoning_is_no_evidence_for_xlate_031() -> None:
    """A false pass: `reasoning_not_in_content` counted every answer as judged, so XLATE-031 passed on
    Portkey while its real tests were skipped. Without reasoning text the check does not apply."""
    plain = samples.completion_exchange()
    assert not reasoning_not_in_content_applies(plain)
    body = samples.completion()
    reasoning = "Seven has exactly two divisors, so it is prime."
    body["choices"][0]["message"].update(reasoning_content=reasoning, content=reasoning + " 7.")
    leaked = samples.completion_exchange(body)
    assert [f.requirement for f in run_checks(leaked, only=["reasoning_not_in_content"])] == ["XLATE-031"]


def reasoning_not_in_content_applies(exchange: Exchange) -> bool:
    return all_checks()["reasoning_not_in_content"].judge(exchange, Context(request={}))[1]


def test_an_sdk_error_situation_answered_as_a_success_names_its_rule() -> None:
    """Blocked without a root: Portkey accepts any key, so the SDK raised nothing where CLIENT-004 wanted
    an AuthenticationError; the block now names AUTH-002, which states the 401 (and fails it)."""
    j = judge()
    expect.not_an_error(j, "CLIENT-004", "an HTTP 401 situation", "AUTH-002")
    assert [(f.requirement, f.message) for f in j.findings] == [
        ("AUTH-002", "an HTTP 401 situation was answered as a success")
    ]
    assert [(b.requirement, b.roots) for b in j.blocked] == [("CLIENT-004", ("AUTH-002",))]
