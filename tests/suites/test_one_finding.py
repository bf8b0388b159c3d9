"""One defect, one finding: catch-all rules leave a defect to the specific rule that owns its place,
and rules that cannot read their subject read blocked by the rule that broke it (issue 15, D-146).

Each case feeds a broken exchange and checks both halves: the owner still fails (no false pass), and
the catch-all or dependent rule does not fail as well (no collateral).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import Context, Located, owners_of
from auriko_conformance.suites.checks.quota import KeyContext
from auriko_conformance.suites.checks.scenarios import ScenarioContext
from auriko_conformance.suites.checks.security import SecurityContext
from auriko_conformance.suites.checks.strategy import ChoiceContext, Promise
from auriko_conformance.suites.checks.stream import usage_chunk_blocker
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext, journal_context
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.plugin import Judge
from auriko_conformance.suites.scenario import ExpectedError, RouteContext, SdkOutcome
from auriko_conformance.suites.target import Target
from auriko_conformance.suites.test_client_sdk import Recorder, _client
from auriko_conformance.suites.test_routing import no_answer

from auriko_conformance.servers import serving
from tests.fixed_answer import fixed_answer

URL = "http://gw/v1/chat/completions"
METADATA = {
    "provider": "openai",
    "provider_model_id": "gpt-4o-mini-2024-07-18",
    "model_canonical": "gpt-4o-mini",
    "routing_strategy": "balanced",
}
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def completion(**message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi.", **message},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
        "routing_metadata": copy.deepcopy(METADATA),
    }


def answer(body: dict[str, Any], request: dict[str, Any] | None = None) -> Exchange:
    return Exchange.build(
        status=200,
        body=body,
        headers={"content-type": "application/json"},
        url=URL,
        request_body=request or {"model": "gpt-4o-mini", "messages": []},
    )


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def usage_chunk(**extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": USAGE,
        "routing_metadata": copy.deepcopy(METADATA),
        **extra,
    }


def stream(*events: Any, request: dict[str, Any] | None = None) -> Exchange:
    raw = b"".join(b"data: " + (e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n\n" for e in events)
    return Exchange.build(
        status=200,
        body=raw,
        headers={"content-type": "text/event-stream"},
        url=URL,
        request_body=request or {"model": "gpt-4o-mini", "messages": [], "stream": True},
    )


def clamped_at_anthropic(exchange: Exchange) -> XlateContext:
    """What Anthropic received for a request of `temperature: 1.5`: clamped to 1 (XLATE-016 then owes
    a warning naming `temperature`)."""
    entry = {"provider": "anthropic", "flavour": "anthropic", "method": "POST", "path": "/v1/messages",
             "body": {"model": "claude", "temperature": 1, "max_tokens": 5}, "status": 200}  # fmt: skip
    context = journal_context(exchange.request_body or {}, [entry])
    assert context is not None
    return context


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Judge:
    return Judge(request.node)


def assert_one_finding(judge: Judge, owner: str, other: str) -> None:
    """The defect is `owner`'s finding, and `other`, which saw it too, reads blocked by `owner`."""
    failed, blocked = verdicts(judge)
    assert owner in failed
    assert other not in failed
    assert blocked[other] == (owner,)


def verdicts(judge: Judge) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    judge.settle()
    return {f.requirement for f in judge.findings}, {b.requirement: b.roots for b in judge.blocked}


# --------------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------------


def test_the_longest_owned_prefix_decides() -> None:
    defers = {"$.routing_metadata": ("META-003",), "$.routing_metadata.warnings": ("META-008",)}
    assert owners_of(defers, "$.routing_metadata.warnings[*]") == ("META-008",)
    assert owners_of(defers, "$.routing_metadata.provider") == ("META-003",)
    assert owners_of(defers, "$.routing_metadata_extra") == ()  # a prefix ends at `.` or `[`
    assert Located("m", "$.choices[3].message").path == "$.choices[*].message"


# --------------------------------------------------------------------------------------------------
# SCHEMA-002 and ERR-001 leave a defect to its owner
# --------------------------------------------------------------------------------------------------


def test_an_empty_tool_call_id_is_schema_004s_alone(judge: Judge) -> None:
    call = {"id": "", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    judge(answer(completion(tool_calls=[call], content=None)))
    assert_one_finding(judge, "SCHEMA-004", "SCHEMA-002")


def test_the_owner_judged_later_still_takes_the_defect(judge: Judge) -> None:
    """Any order: SCHEMA-002 first, the owner in a later call on the same exchange."""
    body = completion()
    body["routing_metadata"]["warnings"] = ["temperature was clamped"]
    exchange = answer(body)
    judge(exchange, only=["completion_matches_schema"])
    judge(exchange, only=["warnings_are_structured"])
    failed, blocked = verdicts(judge)
    assert failed == {"META-008"}
    assert blocked == {"SCHEMA-002": ("META-008",)}


def test_an_owner_the_test_did_not_judge_is_judged_where_its_place_was_read(judge: Judge) -> None:
    """The test judged SCHEMA-002 only: the owner of the place (META-008) is judged on the same exchange
    when the test settles, fails there, and takes the defect (one finding, whatever the test chose)."""
    body = completion()
    body["routing_metadata"]["warnings"] = ["temperature was clamped"]
    judge(answer(body), only=["completion_matches_schema"])
    failed, blocked = verdicts(judge)
    assert failed == {"META-008"}
    assert blocked == {"SCHEMA-002": ("META-008",)}


def test_a_defect_its_owner_cannot_judge_stays_the_catch_alls(request: pytest.FixtureRequest) -> None:
    """No false pass: an owner that cannot judge the exchange (here the target does not claim the
    feature it needs) takes nothing, so SCHEMA-002 keeps the violation."""
    judge = Judge(request.node, claims=frozenset())
    body = completion()
    body["routing_metadata"]["warnings"] = ["temperature was clamped"]
    judge(answer(body), only=["completion_matches_schema"])
    failed, blocked = verdicts(judge)
    assert failed == {"SCHEMA-002"}
    assert blocked == {}


def test_an_unowned_violation_stays_beside_an_owned_one(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["warnings"] = ["clamped"]
    body["system_fingerprint"] = 7  # unowned: no specific rule judges it
    judge(answer(body))
    failed, _ = verdicts(judge)
    assert {"SCHEMA-002", "META-008"} <= failed
    assert all("system_fingerprint" in f.message for f in judge.findings if f.requirement == "SCHEMA-002")


def test_a_usage_chunks_bad_metadata_is_not_reported_as_empty_choices(judge: Judge) -> None:
    """The usage chunk is validated against its own branch: no "choices should be non-empty" noise."""
    final = usage_chunk()
    final["routing_metadata"]["cost"] = {"usd": 0.1, "cache_savings_usd": 0.0}
    judge(stream(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), final, b"[DONE]"))
    messages = [f.message for f in judge.findings if f.requirement == "SCHEMA-002"]
    assert not any("should be non-empty" in m for m in messages)
    failed, blocked = verdicts(judge)
    assert "META-006" in failed
    assert blocked.get("SCHEMA-002") == ("META-006",)


def test_a_flattened_error_envelope_is_schema_006s_not_err_001s(judge: Judge) -> None:
    exchange = Exchange.build(
        status=401,
        body={"message": "bad key", "type": "authentication_error", "code": "invalid_api_key"},
        headers={"content-type": "application/json"},
        url=URL,
    )
    judge(exchange)
    assert_one_finding(judge, "SCHEMA-006", "ERR-001")


def test_a_legacy_code_is_err_002s_not_err_001s(judge: Judge) -> None:
    error = {"message": "m", "type": "not_found_error", "code": "not_found", "param": "model"}
    exchange = Exchange.build(
        status=404, body={"error": error}, headers={"content-type": "application/json"}, url=URL
    )
    judge(exchange)
    assert_one_finding(judge, "ERR-002", "ERR-001")


def test_a_stream_labelled_json_is_schema_009s(judge: Judge) -> None:
    raw = b'data: {"id":"x","object":"chat.completion.chunk"}\n\ndata: [DONE]\n\n'
    exchange = Exchange.build(
        status=200,
        body=raw,
        headers={"content-type": "application/json"},
        url=URL,
        request_body={"model": "m", "messages": [], "stream": True},
    )
    judge(exchange)
    failed, blocked = verdicts(judge)
    assert "SCHEMA-009" in failed
    assert not failed & {"SCHEMA-001", "SCHEMA-002"}
    assert blocked["SCHEMA-002"] == ("SCHEMA-009",)


def test_a_keepalive_sent_as_data_is_stream_018s(judge: Judge) -> None:
    judge(
        stream(
            {"type": "ping"}, chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), b"[DONE]"
        )
    )
    assert_one_finding(judge, "STREAM-018", "SCHEMA-002")


# --------------------------------------------------------------------------------------------------
# Stream rules: each judges its own subject
# --------------------------------------------------------------------------------------------------


def test_an_unknown_stream_finish_reason_fails_stream_011(judge: Judge) -> None:
    judge(
        stream(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "end_turn"), usage_chunk(), b"[DONE]")
    )
    assert_one_finding(judge, "STREAM-011", "SCHEMA-002")


def test_a_usage_copy_after_done_is_stream_002s_not_stream_004s(judge: Judge) -> None:
    judge(
        stream(chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), b"[DONE]", usage_chunk())
    )
    failed, _ = verdicts(judge)
    assert "STREAM-002" in failed
    assert "STREAM-004" not in failed


def test_two_usage_chunks_before_done_still_fail_stream_004(judge: Judge) -> None:
    judge(
        stream(chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), usage_chunk(), b"[DONE]")
    )
    assert "STREAM-004" in verdicts(judge)[0]


def test_a_usage_chunk_with_choices_is_stream_003s(judge: Judge) -> None:
    last = usage_chunk()
    last["choices"] = [{"index": 0, "delta": {}, "finish_reason": None}]
    exchange = stream(chunk({"role": "assistant", "content": "Hi"}, "stop"), last, b"[DONE]")
    judge(exchange)
    failed, blocked = verdicts(judge)
    assert "STREAM-003" in failed
    assert not failed & {"STREAM-006", "SCHEMA-002"}
    assert blocked["STREAM-006"] == ("STREAM-003",)
    assert usage_chunk_blocker(exchange) == (
        ("STREAM-003",),
        "usage came in the last chunk, but with choices",
    )


def test_run_together_events_block_the_sentinel_rule(judge: Judge) -> None:
    raw = b'data: {"a": 1}\ndata: [DONE]\n'
    exchange = Exchange.build(
        status=200,
        body=raw,
        headers={"content-type": "text/event-stream"},
        url=URL,
        request_body={"model": "m", "messages": [], "stream": True},
    )
    judge(exchange)
    assert_one_finding(judge, "STREAM-001", "STREAM-002")
    assert usage_chunk_blocker(exchange)[0] == ("STREAM-001",)


def test_an_error_event_first_in_a_200_is_not_judged_as_a_mid_stream_code(judge: Judge) -> None:
    error = {"message": "bad key", "type": "authentication_error", "code": "invalid_api_key", "param": None}
    judge(stream({"error": error}))
    assert "STREAM-016" not in verdicts(judge)[0]


def test_a_mid_stream_error_code_after_content_still_fails_stream_016(judge: Judge) -> None:
    error = {"message": "m", "type": "invalid_request_error", "code": "invalid_api_key", "param": None}
    judge(stream(chunk({"role": "assistant", "content": "Hi"}), {"error": error}))
    assert "STREAM-016" in verdicts(judge)[0]


def test_a_string_error_event_fails_stream_016_and_not_schema_002(judge: Judge) -> None:
    judge(stream(chunk({"role": "assistant", "content": "Hi"}), {"error": "upstream timed out"}))
    failed, _ = verdicts(judge)
    assert {"STREAM-015", "STREAM-016"} <= failed
    assert "SCHEMA-002" not in failed


def _tool_stream(arguments: str) -> Exchange:
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "ping", "arguments": ""}}
    more = {"index": 0, "function": {"arguments": arguments}}
    return stream(
        chunk({"role": "assistant", "tool_calls": [first]}),
        chunk({"tool_calls": [more]}),
        chunk({}, "tool_calls"),
        usage_chunk(),
        b"[DONE]",
    )


def test_empty_streamed_arguments_are_xlate_009s_not_stream_012s(judge: Judge) -> None:
    exchange = _tool_stream("")
    judge(exchange)
    judge(exchange, XlateContext(request=exchange.request_body or {}), only=["tool_call_arguments_are_json"])
    assert_one_finding(judge, "XLATE-009", "STREAM-012")


def test_calls_merged_under_one_index_are_stream_012s_not_xlate_009s(judge: Judge) -> None:
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "a", "arguments": '{"x":1}'},
    }
    second = {
        "index": 0,
        "id": "call_2",
        "type": "function",
        "function": {"name": "b", "arguments": '{"y":2}'},
    }
    exchange = stream(
        chunk({"role": "assistant", "tool_calls": [first]}),
        chunk({"tool_calls": [second]}),
        chunk({}, "tool_calls"),
        usage_chunk(),
        b"[DONE]",
    )
    judge(exchange)
    judge(exchange, XlateContext(request=exchange.request_body or {}), only=["tool_call_arguments_are_json"])
    assert_one_finding(judge, "STREAM-012", "XLATE-009")


# --------------------------------------------------------------------------------------------------
# Warnings that cannot be read block the rules that read them
# --------------------------------------------------------------------------------------------------


def test_string_warnings_block_a_rule_that_needs_a_warning(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["warnings"] = ["temperature was clamped to 1"]
    exchange = answer(body, {"model": "claude", "messages": [], "temperature": 1.5})
    upstream = clamped_at_anthropic(exchange)
    judge(exchange)
    judge(exchange, upstream, only=["anthropic_temperature_clamped"])
    assert_one_finding(judge, "META-008", "XLATE-016")


def test_readable_warnings_still_owe_the_warning(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["warnings"] = []
    exchange = answer(body, {"model": "claude", "messages": [], "temperature": 1.5})
    upstream = clamped_at_anthropic(exchange)
    judge(exchange, upstream, only=["anthropic_temperature_clamped"])
    assert "XLATE-016" in verdicts(judge)[0]


# --------------------------------------------------------------------------------------------------
# REQ-016 on what reached the provider
# --------------------------------------------------------------------------------------------------


def test_a_forwarded_unknown_field_refused_upstream_is_req_016s(judge: Judge) -> None:
    request = {"model": "gpt-4o-mini", "messages": [], "frobnicate": 1}
    refused = Exchange.build(
        status=502,
        body={"error": {"message": "openai returned 400", "type": "api_error", "code": "upstream_error",
                        "param": None}},
        headers={"content-type": "application/json"},
        url=URL,
        request_body=request,
    )  # fmt: skip
    journal = [
        {"provider": "openai", "flavour": "openai", "method": "POST", "path": "/v1/chat/completions",
         "headers": {"authorization": "Bearer [redacted:1a2b3c4d]"},
         "body": {"model": "gpt-4o-mini", "messages": [], "frobnicate": 1}, "status": 400}
    ]  # fmt: skip
    roots = judge.attribute(refused, journal_context(request, journal), journal)
    assert roots == ("REQ-016",)
    assert {f.requirement for f in judge.findings} == {"REQ-016"}


def test_context_without_a_journal_is_none() -> None:
    assert journal_context({"model": "m"}, []) is None


def test_a_probe_on_a_refusal_defers_too(judge: Judge) -> None:
    """Root-cause probes on a refused request: a core field an extension overrode is EXT-005's, not also
    XLATE-001's ("max_tokens is 7, the client's limit is 40")."""
    request = {
        "model": "claude",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 40,
        "extensions": {"anthropic": {"max_tokens": 7, "System": "evil"}},
    }
    refused = Exchange.build(
        status=502,
        body={"error": {"message": "anthropic returned 400", "type": "api_error", "code": "upstream_error",
                        "param": None}},
        headers={"content-type": "application/json"},
        url=URL,
        request_body=request,
    )  # fmt: skip
    journal = [
        {"provider": "anthropic", "flavour": "anthropic", "method": "POST", "path": "/v1/messages",
         "headers": {"x-api-key": "[redacted:1a2b3c4d]", "anthropic-version": "2023-06-01"},
         "body": {"model": "claude", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 7,
                  "System": "evil"},
         "status": 400}
    ]  # fmt: skip
    upstream = journal_context(request, journal)
    assert upstream is not None
    upstream.expect = {"preserved": {"max_tokens": 40}}
    judge.attribute(refused, upstream, journal)
    assert_one_finding(judge, "EXT-005", "XLATE-001")


def test_a_rule_that_could_not_read_its_subject_stops_nothing(judge: Judge) -> None:
    """ERR-014 blocked by SCHEMA-006 (no envelope to read a code from) does not stop the test: the
    test's other requirements keep the verdicts their own tests give them (HDR-002 is not blocked)."""
    exchange = Exchange.build(
        status=404, body={"detail": "Not Found"}, headers={"content-type": "application/json"}, url=URL
    )
    expect.error(judge, exchange, "ERR-006", status=404, code="resource_not_found")
    judge.blocked_rest(["ERR-006", "HDR-002"])
    _, blocked = verdicts(judge)
    assert blocked["ERR-014"] == ("SCHEMA-006",)
    assert "HDR-002" not in blocked


def test_an_answer_that_never_came_still_blocks_the_rest(judge: Judge) -> None:
    refused = Exchange.build(
        status=500,
        body={"error": {"message": "m", "type": "api_error", "code": "internal_error", "param": None}},
        headers={"content-type": "application/json"},
        url=URL,
        request_body={"model": "m", "messages": []},
    )
    assert not expect.success(judge, refused, "XLATE-009")
    judge.blocked_rest(["XLATE-009", "STREAM-012"])
    _, blocked = verdicts(judge)
    assert blocked["STREAM-012"] == ("REQ-027",)


# --------------------------------------------------------------------------------------------------
# Scenario rules leave the envelope, the codes and the metadata report to their rules
# --------------------------------------------------------------------------------------------------


def test_a_scenarios_error_without_envelope_is_schema_006s(judge: Judge) -> None:
    exchange = Exchange.build(
        status=503, body={"message": "overloaded"}, headers={"content-type": "application/json"}, url=URL
    )
    context = RouteContext(
        request={"model": "m"}, error=ExpectedError(503, frozenset({"service_unavailable"}))
    )
    judge(exchange)
    judge(exchange, context, only=["upstream_overload_is_503"])
    assert_one_finding(judge, "SCHEMA-006", "ERR-008")


def test_a_scenarios_legacy_code_is_err_002s_but_a_wrong_status_stays(judge: Judge) -> None:
    error = {"message": "m", "type": "api_error", "code": "provider_error", "param": None}
    exchange = Exchange.build(
        status=500, body={"error": error}, headers={"content-type": "application/json"}, url=URL
    )
    context = RouteContext(
        request={"model": "m"}, error=ExpectedError(503, frozenset({"service_unavailable"}))
    )
    judge(exchange)
    judge(exchange, context, only=["upstream_overload_is_503"])
    failed, _ = verdicts(judge)
    assert {"ERR-002", "ERR-008"} <= failed  # the status is the scenario's own rule
    messages = [f.message for f in judge.findings if f.requirement == "ERR-008"]
    assert not any("provider_error" in m and m.startswith("code") for m in messages)


def test_an_error_under_200_blocks_the_status_rule(judge: Judge) -> None:
    error = {"message": "bad key", "type": "authentication_error", "code": "invalid_api_key", "param": None}
    exchange = Exchange.build(
        status=200,
        body={"error": error},
        headers={"content-type": "application/json"},
        url=URL,
        request_body={"model": "m", "messages": []},
    )
    expect.error(judge, exchange, "AUTH-001", status=401, code="invalid_api_key")
    assert_one_finding(judge, "ERR-003", "AUTH-001")


def test_an_unreadable_provider_report_is_meta_003s_not_the_routing_rules(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["provider"] = ["openai"]  # mistyped: META-003 fails on it
    exchange = answer(body)
    # without a journal (no mocks) the rule reads who served from routing_metadata
    context = RouteContext(request={"model": "m"}, answer_from=frozenset({"cheap"}))
    judge(exchange)
    judge(exchange, context, only=["cheapest_provider_answers"])
    assert_one_finding(judge, "META-003", "ROUTE-006")


def _routed(provider: str, model: str = METADATA["provider_model_id"]) -> Exchange:
    """An answer whose routing_metadata names `provider` (a mock instance) as the one that answered."""
    body = completion()
    body["routing_metadata"].update(provider=provider, provider_model_id=model)
    return answer(body)


def _answered_by(instance: str) -> list[dict[str, Any]]:
    """A journal where `instance` alone was called and answered the model routing_metadata names."""
    body = {"model": METADATA["provider_model_id"]}
    return [{"provider": instance, "status": 200, "outcome": "ok", "body": body}]


def _allowlist(journal: list[dict[str, Any]]) -> RouteContext:
    return RouteContext(
        request={"model": "m"}, journal=journal, allowed=frozenset({"vllm"}), answer_from=frozenset({"vllm"})
    )


ROUTE_RULES = [
    "providers_allowlist_respected",
    "cheapest_provider_answers",
    "provider_names_answering_endpoint",
]


def test_a_swapped_upstream_is_meta_011s_not_the_allowlists(judge: Judge) -> None:
    """The gateway reports `vllm`, the journal saw `vllm-b` answer: which of the two is wrong (the choice,
    the call or the report) cannot be told, so the routing rules read blocked by META-011."""
    exchange = _routed("vllm")
    judge(exchange, _allowlist(_answered_by("vllm-b")), only=ROUTE_RULES)
    assert_one_finding(judge, "META-011", "ROUTE-001")
    assert {b.requirement: b.roots for b in judge.blocked}["ROUTE-006"] == ("META-011",)


def test_a_route_rule_judged_first_still_leaves_a_swap_to_meta_011(judge: Judge) -> None:
    exchange = _routed("vllm")
    context = _allowlist(_answered_by("vllm-b"))
    judge(exchange, context, only=["providers_allowlist_respected"])
    judge(exchange, context, only=["provider_names_answering_endpoint"])
    assert_one_finding(judge, "META-011", "ROUTE-001")


def test_an_outside_provider_reported_truthfully_still_fails_the_allowlist(judge: Judge) -> None:
    """The control: report and journal agree on `vllm-b`, which the allowlist rules out."""
    exchange = _routed("vllm-b")
    judge(exchange, _allowlist(_answered_by("vllm-b")), only=ROUTE_RULES)
    failed, blocked = verdicts(judge)
    assert {"ROUTE-001", "ROUTE-006"} <= failed
    assert "META-011" not in failed
    assert blocked == {}


def test_a_swap_the_test_did_not_judge_meta_011_on_is_still_meta_011s(judge: Judge) -> None:
    """The test judged the allowlist only: META-011, the owner of the disputed reading, is judged on the
    same exchange when the test settles, fails, and the allowlist reads blocked by it."""
    exchange = _routed("vllm")
    judge(exchange, _allowlist(_answered_by("vllm-b")), only=["providers_allowlist_respected"])
    failed, blocked = verdicts(judge)
    assert "META-011" in failed
    assert blocked["ROUTE-001"] == ("META-011",)


def test_meta_011_failing_on_the_model_alone_leaves_the_allowlist_its_finding(judge: Judge) -> None:
    """Report and journal agree on who answered (`vllm-b`, outside the allowlist); META-011 fails only on
    provider_model_id. The routing reading is not disputed, so both rules fail: two defects."""
    exchange = _routed("vllm-b", model="not-what-the-provider-got")
    judge(exchange, _allowlist(_answered_by("vllm-b")), only=ROUTE_RULES)
    failed, blocked = verdicts(judge)
    assert {"META-011", "ROUTE-001", "ROUTE-006"} <= failed
    assert blocked == {}


def _contest(judge: Judge, exchange: Exchange, journal: list[dict[str, Any]], *checks: str) -> None:
    """A contest judged as test_routing.judge_choice does: the contest's checks, then META-011."""
    promise = Promise("vllm", "vllm-b", "cost: a tenth of the price", strategy="balanced")
    choice = ChoiceContext(request={"model": "m"}, promise=promise, journal=journal)
    judge(exchange, choice, only=list(checks))
    route = RouteContext(request={"model": "m"}, journal=journal)
    judge(exchange, route, only=["provider_names_answering_endpoint"])


def test_a_swapped_contest_is_meta_011s_not_the_strategys(judge: Judge) -> None:
    """The gateway reports the promised winner `vllm`; the journal saw the loser answer."""
    contest = ["base_strategy_favours_its_dimension", "cost_focus_wins_the_contest"]
    _contest(judge, _routed("vllm"), _answered_by("vllm-b"), *contest)
    assert_one_finding(judge, "META-011", "ROUTE-033")
    assert {b.requirement: b.roots for b in judge.blocked}["ROUTE-006"] == ("META-011",)


def test_a_misreported_contest_winner_is_meta_011s(judge: Judge) -> None:
    """The winner answered, the report names the loser (the provider-misreported fault)."""
    _contest(judge, _routed("vllm-b"), _answered_by("vllm"), "base_strategy_favours_its_dimension")
    assert_one_finding(judge, "META-011", "ROUTE-033")


def test_a_contest_lost_and_reported_truthfully_still_fails(judge: Judge) -> None:
    """The control: the loser answered and the report says so."""
    _contest(judge, _routed("vllm-b"), _answered_by("vllm-b"), "base_strategy_favours_its_dimension")
    failed, blocked = verdicts(judge)
    assert "ROUTE-033" in failed
    assert "META-011" not in failed
    assert blocked == {}


def test_no_routing_metadata_blocks_a_rule_that_needs_a_warning(judge: Judge) -> None:
    body = completion()
    del body["routing_metadata"]
    exchange = answer(body, {"model": "claude", "messages": [], "temperature": 1.5})
    upstream = clamped_at_anthropic(exchange)
    judge(exchange)
    judge(exchange, upstream, only=["anthropic_temperature_clamped"])
    assert_one_finding(judge, "META-001", "XLATE-016")


def test_route_017_judges_a_valid_n_only(judge: Judge) -> None:
    """n above the contract's maximum (10) is a value to refuse (REQ-004's rule); serving it with fewer
    choices is not also ROUTE-017's finding. A valid n served with fewer choices still is."""
    body = completion()
    body["choices"] = [{**body["choices"][0], "index": i} for i in range(10)]
    judge(answer(body, {"model": "m", "messages": [], "n": 11}))
    assert "ROUTE-017" not in verdicts(judge)[0]
    one = completion()
    judge(answer(one, {"model": "m", "messages": [], "n": 2}))
    assert "ROUTE-017" in verdicts(judge)[0]


def test_err_003_judges_every_endpoint(judge: Judge) -> None:
    error = {"message": "bad key", "type": "authentication_error", "code": "invalid_api_key", "param": None}
    models = Exchange.build(
        status=200,
        body={"error": error},
        headers={"content-type": "application/json"},
        method="GET",
        url="http://gw/v1/models",
    )
    judge(models)
    assert "ERR-003" in verdicts(judge)[0]


# --------------------------------------------------------------------------------------------------
# The other places D-146 named: each shown on a broken exchange, both ways
# --------------------------------------------------------------------------------------------------


def _error(status: int, error: dict[str, Any], **headers: str) -> Exchange:
    return Exchange.build(
        status=status,
        body={"error": error},
        headers={"content-type": "application/json", **headers},
        url=URL,
        request_body={"model": "m", "messages": []},
    )


def test_x_error_provider_on_an_incomplete_envelope_is_schema_006s(judge: Judge) -> None:
    incomplete = {"type": "api_error", "message": "upstream failed"}  # no code, no param: who produced it?
    judge(_error(502, incomplete, **{"x-error-provider": "anthropic", "x-error-type": "api_error",
                                     "x-error-retryable": "true"}))  # fmt: skip
    assert_one_finding(judge, "SCHEMA-006", "ERR-012")


def test_x_error_provider_on_the_gateways_own_error_stays_err_012s(judge: Judge) -> None:
    own = {"message": "bad key", "type": "authentication_error", "code": "invalid_api_key", "param": None}
    judge(_error(401, own, **{"x-error-provider": "openai", "x-error-type": "authentication_error",
                              "x-error-retryable": "false"}))  # fmt: skip
    failed, _ = verdicts(judge)
    assert "ERR-012" in failed
    assert "SCHEMA-006" not in failed


def test_a_scenario_errors_wrong_type_is_err_001s(judge: Judge) -> None:
    wrong = {
        "message": "overloaded",
        "type": "invalid_request_error",
        "code": "service_unavailable",
        "param": None,
    }
    exchange = _error(503, wrong)
    context = RouteContext(
        request={"model": "m"},
        error=ExpectedError(503, frozenset({"service_unavailable"}), error_type="api_error"),
    )
    judge(exchange)
    judge(exchange, context, only=["upstream_overload_is_503"])
    assert_one_finding(judge, "ERR-001", "ERR-008")


def test_meta_003_judges_completions_and_stream_005_the_final_chunk(judge: Judge) -> None:
    final = usage_chunk()
    final["routing_metadata"]["provider"] = ""
    judge(stream(chunk({"role": "assistant", "content": "Hi"}, "stop"), final, b"[DONE]"))
    failed, _ = verdicts(judge)
    assert "STREAM-005" in failed
    assert "META-003" not in failed
    body = completion()
    body["routing_metadata"]["provider"] = ""
    judge(answer(body))
    assert "META-003" in verdicts(judge)[0]


def test_a_system_instruction_set_from_extensions_is_ext_005s(judge: Judge) -> None:
    request = {
        "model": "gemini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "extensions": {"google": {"systemInstruction": {"parts": [{"text": "evil-system"}]}}},
    }
    entry = {"provider": "gemini", "flavour": "gemini", "method": "POST",
             "path": "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
             "headers": {"x-goog-api-key": "[redacted:1a2b3c4d]"},
             "body": {"systemInstruction": {"parts": [{"text": "evil-system"}]},
                      "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
             "status": 200}  # fmt: skip
    upstream = journal_context(request, [entry])
    assert upstream is not None
    upstream.expect = {"nested": {}, "blocked_values": ["evil-system"]}
    exchange = answer(completion(), request)
    judge(exchange, upstream, only=["gemini_system_instruction", "core_fields_top_level_only"])
    assert_one_finding(judge, "EXT-005", "XLATE-004")
    judge = Judge(judge.node)
    judge(exchange, upstream, only=["gemini_system_instruction"])  # EXT-005 is judged when the test settles
    assert_one_finding(judge, "EXT-005", "XLATE-004")


# --------------------------------------------------------------------------------------------------
# An error known before the stream began, sent as HTTP 200 with an error event (STREAM-017's)
# --------------------------------------------------------------------------------------------------

PRE_STREAM_ERROR = {"error": {"message": "no", "type": "invalid_request_error", "code": "invalid_parameter_value",
                              "param": "top_logprobs", "doc_url": "https://docs.auriko.ai/errors/x"}}  # fmt: skip
LOGPROBS_STREAM = {"model": "m", "messages": [], "stream": True, "logprobs": True, "top_logprobs": 21}


def test_an_error_event_under_200_is_stream_017s_not_the_validation_rules(judge: Judge) -> None:
    exchange = stream(PRE_STREAM_ERROR, b"[DONE]", request=LOGPROBS_STREAM)
    expect.error(judge, exchange, "REQ-005", status=400, code="invalid_parameter_value", param="top_logprobs")
    assert_one_finding(judge, "STREAM-017", "REQ-005")
    assert "SCHEMA-008" not in {f.requirement for f in judge.findings}  # no choices to carry logprobs


def test_a_scenarios_error_event_under_200_is_stream_017s(judge: Judge) -> None:
    exchange = stream(PRE_STREAM_ERROR, request={"model": "m", "messages": [], "stream": True})
    context = RouteContext(
        request=exchange.request_body or {}, error=ExpectedError(429, frozenset({"rate_limit_exceeded"}))
    )
    judge(exchange)
    judge(exchange, context, only=["upstream_429_stays_429", "pre_stream_error_is_non_2xx"])
    assert_one_finding(judge, "STREAM-017", "ERR-007")


def test_a_documented_scenario_under_200_is_the_sending_rules(judge: Judge) -> None:
    exchange = stream(PRE_STREAM_ERROR, request={"model": "m", "messages": [], "stream": True})
    judge(exchange)
    expect.under_200(judge, exchange, "streaming_not_supported")
    context = ScenarioContext(request=exchange.request_body or {}, code="streaming_not_supported")
    judge(exchange, context, only=["scenario_gives_its_documented_error"])
    assert_one_finding(judge, "STREAM-017", "ERR-016")


def test_an_error_after_content_is_no_error_under_200(judge: Judge) -> None:
    """A mid-stream failure began the stream: the scenario's own rule judges it (no deferral)."""
    exchange = stream(chunk({"role": "assistant", "content": "Hi"}), PRE_STREAM_ERROR,
                      request={"model": "m", "messages": [], "stream": True})  # fmt: skip
    assert expect.under_200(judge, exchange, "x") == ()
    context = RouteContext(
        request=exchange.request_body or {}, error=ExpectedError(429, frozenset({"rate_limit_exceeded"}))
    )
    judge(exchange, context, only=["upstream_429_stays_429"])
    failed, blocked = verdicts(judge)
    assert "ERR-007" in failed
    assert "ERR-007" not in blocked


# --------------------------------------------------------------------------------------------------
# An answer nothing can be read from: the reader's rule is the one finding
# --------------------------------------------------------------------------------------------------

TOOL_STREAM = {"model": "m", "messages": [], "stream": True, "tool_choice": "required"}
REQUEST_ID = {"x-request-id": "req-1"}


def _run_together(*events: dict[str, Any]) -> Exchange:
    """Events closed by one newline instead of a blank line: they read as one event of invalid JSON."""
    raw = b"".join(b"data: " + orjson.dumps(e) + b"\n" for e in events) + b"data: [DONE]\n\n"
    return Exchange.build(status=200, body=raw, headers={"content-type": "text/event-stream", **REQUEST_ID},
                          url=URL, request_body=TOOL_STREAM)  # fmt: skip


def test_events_that_run_together_leave_the_rules_that_read_them_to_stream_001(judge: Judge) -> None:
    exchange = _run_together(chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk())
    judge(exchange)
    judge.require(
        "XLATE-009", bool(exchange.messages), "tool_choice required returned no tool call", exchange
    )
    judge.require("STREAM-014", exchange.stream.text() == "Hi", "streamed text '' differs", exchange)
    failed, blocked = verdicts(judge)
    assert failed == {"STREAM-001"}
    assert blocked["XLATE-009"] == ("STREAM-001",)
    assert blocked["STREAM-014"] == ("STREAM-001",)


def test_a_stream_labelled_json_leaves_the_rules_that_read_it_to_schema_009(judge: Judge) -> None:
    raw = b'data: {"id":"x","object":"chat.completion.chunk","choices":[]}\n\ndata: [DONE]\n\n'
    exchange = Exchange.build(status=200, body=raw, headers={"content-type": "application/json", **REQUEST_ID},
                              url=URL, request_body=TOOL_STREAM)  # fmt: skip
    judge(exchange)
    judge.require("XLATE-033", exchange.usage is not None, "the response has no usage", exchange)
    failed, blocked = verdicts(judge)
    assert failed == {"SCHEMA-009"}
    assert blocked["XLATE-033"] == ("SCHEMA-009",)


def test_one_unreadable_event_among_readable_ones_defers_nothing(judge: Judge) -> None:
    """A keepalive sent as data breaks STREAM-001 too, but the chunks are readable: what another rule
    finds in them is its own finding."""
    exchange = stream({"type": "ping"}, chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(),
                      b"[DONE]", request=TOOL_STREAM)  # fmt: skip
    judge(exchange)
    judge.require("XLATE-009", False, "tool_choice required returned no tool call", exchange)
    failed, blocked = verdicts(judge)
    assert "XLATE-009" in failed
    assert "XLATE-009" not in blocked


# --------------------------------------------------------------------------------------------------
# The SDK rows are judged on the bytes the SDK read, after the answer's own rules
# --------------------------------------------------------------------------------------------------


def _sdk_completion(raw: Exchange, outcome_metadata: Any) -> RouteContext:
    sdk = SdkOutcome(kind="completion", routing_metadata=outcome_metadata, text="Hi.", metadata_claimed=True)
    return RouteContext(request=raw.request_body or {}, sdk=sdk)


def test_no_routing_metadata_is_meta_001s_not_the_sdks(judge: Judge) -> None:
    body = completion()
    del body["routing_metadata"]
    raw = answer(body)
    judge(raw)
    judge(raw, _sdk_completion(raw, None), only=["sdk_sync_client_works"])
    assert_one_finding(judge, "META-001", "CLIENT-001")


def test_an_sdk_that_cannot_read_present_metadata_fails_client_001(judge: Judge) -> None:
    raw = answer(completion())
    judge(raw)
    judge(raw, _sdk_completion(raw, None), only=["sdk_sync_client_works"])
    failed, blocked = verdicts(judge)
    assert "CLIENT-001" in failed
    assert "CLIENT-001" not in blocked


@pytest.mark.parametrize("stream", [False, True])
def test_the_recorder_keeps_the_bytes_the_sdk_read(stream: bool) -> None:
    if stream:
        raw = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in (chunk({"content": "Hi"}, "stop"),))
        raw += b"data: [DONE]\n\n"
        app = fixed_answer(200, b"text/event-stream", raw)
    else:
        raw = orjson.dumps(completion())
        app = fixed_answer(200, b"application/json", raw)
    recorder = Recorder()
    with serving(app) as server, _client(Target(server.url, "k", 5.0), recorder) as client:
        result = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=stream
        )
        if stream:
            assert [c.choices[0].delta.content for c in result] == ["Hi"]
    exchange = recorder.last()
    assert exchange is not None
    assert exchange.body == raw
    assert exchange.status == 200
    assert exchange.request_body["messages"][0]["content"] == "x"


# --------------------------------------------------------------------------------------------------
# Usage counts need one usage chunk to count (STREAM-019, XLATE-033..035)
# --------------------------------------------------------------------------------------------------

USAGE_ASKED = {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}


def _summed(judge: Judge, *events: Any) -> None:
    exchange = stream(*events, request=USAGE_ASKED)
    judge(exchange)
    context = RouteContext(request=USAGE_ASKED, upstream_usage=(3, 2))
    judge(exchange, context, only=["cumulative_usage_not_summed"])


def test_no_usage_chunk_is_stream_003s_not_the_count_rules(judge: Judge) -> None:
    _summed(judge, chunk({"role": "assistant", "content": "Hi"}, "stop"), b"[DONE]")
    assert_one_finding(judge, "STREAM-003", "STREAM-019")


def test_two_usage_chunks_are_stream_004s_not_the_count_rules(judge: Judge) -> None:
    _summed(
        judge, chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), usage_chunk(), b"[DONE]"
    )
    assert_one_finding(judge, "STREAM-004", "STREAM-019")


def test_a_usage_copy_after_done_is_not_counted_by_stream_019(judge: Judge) -> None:
    _summed(
        judge, chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), b"[DONE]", usage_chunk()
    )
    failed, blocked = verdicts(judge)
    assert "STREAM-002" in failed
    assert "STREAM-019" not in failed
    assert "STREAM-019" not in blocked


def test_one_usage_chunk_with_summed_counts_still_fails_stream_019(judge: Judge) -> None:
    summed = usage_chunk()
    summed["usage"] = {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}
    _summed(judge, chunk({"role": "assistant", "content": "Hi"}, "stop"), summed, b"[DONE]")
    failed, blocked = verdicts(judge)
    assert "STREAM-019" in failed
    assert "STREAM-019" not in blocked


# --------------------------------------------------------------------------------------------------
# A finish_reason outside the enum is the enum rules' (SCHEMA-003, STREAM-011), not each mapping rule's
# --------------------------------------------------------------------------------------------------


def _finished(finish: Any, **expect: Any) -> tuple[Exchange, XlateContext]:
    body = completion()
    body["choices"][0]["finish_reason"] = finish
    exchange = answer(body)
    return exchange, XlateContext(request=exchange.request_body or {}, expect=expect)


def test_a_null_finish_reason_is_schema_003s_not_the_mapping_rules(judge: Judge) -> None:
    exchange, context = _finished(None, native_finish="end_turn", truncated=True)
    judge(exchange)
    judge(exchange, context, only=["finish_reason_mapped", "truncation_wins_over_tool_calls"])
    failed, blocked = verdicts(judge)
    assert "SCHEMA-003" in failed
    assert not failed & {"XLATE-036", "XLATE-038"}
    assert blocked["XLATE-036"] == ("SCHEMA-003",)
    assert blocked["XLATE-038"] == ("SCHEMA-003",)


def test_a_native_finish_reason_passed_through_stays_the_mapping_rules(judge: Judge) -> None:
    """`end_turn` unmapped breaks the enum and the mapping: both rules state it, both fail; a rule that
    only reads the value (XLATE-038) leaves it to the enum rule."""
    exchange, context = _finished("end_turn", native_finish="end_turn", truncated=True)
    judge(exchange)
    judge(exchange, context, only=["finish_reason_mapped", "truncation_wins_over_tool_calls"])
    failed, blocked = verdicts(judge)
    assert {"SCHEMA-003", "XLATE-036"} <= failed
    assert blocked["XLATE-038"] == ("SCHEMA-003",)


def test_a_wrong_member_of_the_enum_stays_the_mapping_rules(judge: Judge) -> None:
    exchange, context = _finished("tool_calls", truncated=True)
    judge(exchange)
    judge(exchange, context, only=["truncation_wins_over_tool_calls"])
    failed, blocked = verdicts(judge)
    assert "XLATE-038" in failed
    assert "SCHEMA-003" not in failed
    assert "XLATE-038" not in blocked


def test_a_stalled_stream_that_cannot_be_read_is_stream_001s(judge: Judge) -> None:
    exchange = _run_together(chunk({"role": "assistant", "content": "Hi"}), usage_chunk())
    exchange.elapsed_ms = 10.0
    judge(exchange)
    context = SecurityContext(request=exchange.request_body or {}, within_ms=2500)
    judge(exchange, context, only=["stream_deadline_bounds_a_stall"])
    assert_one_finding(judge, "STREAM-001", "STREAM-022")


def test_a_readable_stalled_stream_without_an_error_fails_stream_022(judge: Judge) -> None:
    exchange = stream(chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), b"[DONE]")
    judge(exchange, SecurityContext(request=exchange.request_body or {}, within_ms=2500),
          only=["stream_deadline_bounds_a_stall"])  # fmt: skip
    failed, _ = verdicts(judge)
    assert "STREAM-022" in failed


def _json_error(status: int, body: dict[str, Any], **headers: str) -> Exchange:
    return Exchange.build(status=status, body=body, headers={"content-type": "application/json", **headers},
                          url=URL, request_body={"model": "m", "messages": []})  # fmt: skip


def test_an_error_under_200_is_err_003s_whatever_else_reads_it(judge: Judge) -> None:
    error = {"message": "no", "type": "invalid_request_error", "code": "invalid_parameter_value",
             "param": "extensions.anthropic"}  # fmt: skip
    exchange = _json_error(200, {"error": error}, **REQUEST_ID)
    judge(exchange)
    judge.require("EXT-008", exchange.status == 400, "expected (400, ...), got (200, ...)", exchange)
    assert_one_finding(judge, "ERR-003", "EXT-008")


def test_an_error_without_its_envelope_is_schema_006s_but_headers_stay_read(judge: Judge) -> None:
    exchange = _json_error(
        400, {"message": "no", "type": "invalid_request_error", "code": "invalid_parameter_value"}
    )
    judge(exchange)
    judge.require("EXT-008", False, "expected (400, code, param), got (400, None, None)", exchange)
    failed, blocked = verdicts(judge)
    assert "SCHEMA-006" in failed
    assert blocked["EXT-008"] == ("SCHEMA-006",)
    assert "HDR-001" in failed  # no X-Request-ID: read from the headers, its own finding


def test_an_enveloped_error_with_the_wrong_code_stays_the_rules(judge: Judge) -> None:
    error = {"message": "no", "type": "invalid_request_error", "code": "invalid_request", "param": None,
             "doc_url": "https://docs.auriko.ai/errors/invalid_request"}  # fmt: skip
    exchange = _json_error(400, {"error": error}, **REQUEST_ID)
    judge(exchange)
    judge.require(
        "EXT-008", False, "expected (400, invalid_parameter_value, ...), got (400, invalid_request)", exchange
    )
    failed, blocked = verdicts(judge)
    assert "EXT-008" in failed
    assert "EXT-008" not in blocked


def test_choices_of_an_unreadable_stream_are_not_counted(judge: Judge) -> None:
    request = {"model": "m", "messages": [], "stream": True, "n": 2}
    raw = (
        b"".join(b"data: " + orjson.dumps(chunk({"content": "Hi"})) + b"\n" for _ in range(2))
        + b"data: [DONE]\n\n"
    )
    exchange = Exchange.build(status=200, body=raw, headers={"content-type": "text/event-stream", **REQUEST_ID},
                              url=URL, request_body=request)  # fmt: skip
    judge(exchange, only=["n_choices_never_fewer"])
    failed, blocked = verdicts(judge)
    assert "ROUTE-017" not in failed
    assert blocked["ROUTE-017"] == ("STREAM-001",)


def test_a_mistyped_provider_is_meta_003s_not_meta_011s_nor_the_routings(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["provider"] = ["vllm"]
    exchange = answer(body)
    judge(exchange)
    judge(exchange, _allowlist(_answered_by("vllm")), only=ROUTE_RULES)
    failed, blocked = verdicts(judge)
    assert "META-003" in failed
    assert not failed & {"META-011", "ROUTE-001", "ROUTE-006"}
    assert blocked["META-011"] == ("META-003",)


@pytest.mark.parametrize(("status", "told_apart"), [(200, False), (401, True), (403, True)])
def test_key_scoped_rules_need_a_gateway_that_tells_keys_apart(
    judge: Judge, status: int, told_apart: bool
) -> None:
    body = orjson.dumps(
        completion() if status == 200 else {"error": {"message": "no", "code": "invalid_api_key"}}
    )
    with serving(fixed_answer(status, b"application/json", body)) as server:
        target = Target(server.url, "k", 5.0)
        try:
            assert expect.keys_told_apart(judge, target, "m", "ERR-013", "HDR-007") is told_apart
        finally:
            target.close()
    failed, blocked = verdicts(judge)
    if told_apart:
        assert not failed
        assert not blocked
    else:
        assert "AUTH-002" in failed
        assert blocked["ERR-013"] == ("AUTH-002",)
        assert blocked["HDR-007"] == ("AUTH-002",)


def _gemini_limited(limit: int | None) -> XlateContext:
    config = {"maxOutputTokens": limit} if limit is not None else {}
    up = Upstream(provider="gemini", flavour="gemini", method="POST", path="/v1beta/models/g:generateContent",
                  body={"contents": [], "generationConfig": config}, status=200)  # fmt: skip
    return XlateContext(request={"model": "m", "max_completion_tokens": 5}, upstream=up, upstreams=[up],
                        expect={"native_finish": "MAX_TOKENS"})  # fmt: skip


def test_an_ending_never_staged_is_the_staging_rules(judge: Judge) -> None:
    """The test asked the provider to stop on a 5-token limit; the limit never reached Gemini, so the
    provider ended otherwise (`stop`): the mapping rules had no MAX_TOKENS to map (XLATE-014's finding)."""
    judge(
        answer(completion()),
        _gemini_limited(None),
        only=["finish_reason_mapped", "native_finish_reason_kept"],
    )
    failed, blocked = verdicts(judge)
    assert not failed & {"XLATE-036", "XLATE-037"}
    assert blocked["XLATE-036"] == ("XLATE-014",)


def test_a_staged_ending_mapped_wrong_fails_the_mapping_rule(judge: Judge) -> None:
    judge(answer(completion()), _gemini_limited(5), only=["finish_reason_mapped"])
    failed, _ = verdicts(judge)
    assert "XLATE-036" in failed


@pytest.mark.parametrize("value", [None, "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_an_unreadable_retry_after_is_hdr_003s_not_the_delay_rules(judge: Judge, value: str | None) -> None:
    error = {"message": "slow down", "type": "rate_limit_error", "code": "rate_limit_exceeded", "param": None,
             "doc_url": "https://docs.auriko.ai/errors/rate_limit_exceeded"}  # fmt: skip
    headers = {"retry-after": value} if value else {}
    exchange = _json_error(429, {"error": error}, **REQUEST_ID, **headers)
    context = RouteContext(
        request={"model": "m"}, error=ExpectedError(429, frozenset({"rate_limit_exceeded"}))
    )
    judge(exchange)
    judge(exchange, context, only=["upstream_retry_after_preserved", "upstream_retry_delay_kept"])
    failed, blocked = verdicts(judge)
    assert "HDR-003" in failed
    assert not failed & {"ERR-007", "ERR-011"}
    assert blocked["ERR-007"] == ("HDR-003",)


def test_a_short_readable_retry_after_stays_err_007s(judge: Judge) -> None:
    error = {"message": "slow down", "type": "rate_limit_error", "code": "rate_limit_exceeded", "param": None,
             "doc_url": "https://docs.auriko.ai/errors/rate_limit_exceeded"}  # fmt: skip
    exchange = _json_error(429, {"error": error}, **REQUEST_ID, **{"retry-after": "1"})
    context = RouteContext(
        request={"model": "m"}, error=ExpectedError(429, frozenset({"rate_limit_exceeded"}))
    )
    judge(exchange, context, only=["upstream_retry_after_preserved"])
    failed, _ = verdicts(judge)
    assert "ERR-007" in failed


def test_an_unknown_model_refused_with_400_is_req_026s(judge: Judge) -> None:
    error = {"message": "no such model", "type": "invalid_request_error", "code": "invalid_parameter_value",
             "param": "model", "doc_url": "https://docs.auriko.ai/errors/invalid_parameter_value"}  # fmt: skip
    exchange = _json_error(400, {"error": error}, **REQUEST_ID)
    expect.error(judge, exchange, "REQ-022", status=404, code="model_not_found")
    assert_one_finding(judge, "REQ-026", "REQ-022")


def test_a_multi_colon_id_refused_as_400_is_req_026s(judge: Judge) -> None:
    error = {"message": "bad", "type": "invalid_request_error", "code": "invalid_parameter_value", "param": "model",
             "doc_url": "https://docs.auriko.ai/errors/invalid_parameter_value"}  # fmt: skip
    exchange = _json_error(400, {"error": error}, **REQUEST_ID)
    exchange.request_body = {"model": "ft:m:org:ttft", "messages": []}
    expect.unknown_model_refused_otherwise(judge, exchange)
    judge(
        exchange,
        RouteContext(request=exchange.request_body, not_strategy="ttft"),
        only=["multi_colon_id_looked_up_whole"],
    )
    assert_one_finding(judge, "REQ-026", "ROUTE-028")


def test_a_missing_routing_strategy_is_meta_003s_not_the_suffix_rules(judge: Judge) -> None:
    body = completion()
    del body["routing_metadata"]["routing_strategy"]
    exchange = answer(body)
    judge(exchange)
    judge(
        exchange,
        RouteContext(request={"model": "m:ttft"}, expected_strategy="ttft-focus"),
        only=["suffix_sets_strategy"],
    )
    assert_one_finding(judge, "META-003", "ROUTE-028")


def test_a_wrong_routing_strategy_stays_the_suffix_rules(judge: Judge) -> None:
    exchange = answer(completion())
    judge(
        exchange,
        RouteContext(request={"model": "m:ttft"}, expected_strategy="ttft-focus"),
        only=["suffix_sets_strategy"],
    )
    failed, _ = verdicts(judge)
    assert "ROUTE-028" in failed


def test_a_misreported_provider_model_is_meta_011s_not_the_model_placement(judge: Judge) -> None:
    """XLATE-001 expects the model the answer reports; the provider got another: which of the two is wrong
    is told by META-011 against the journal, on the same exchange."""
    exchange = _routed("openai", model="gpt-4o-mini")
    entry = {"provider": "openai", "flavour": "openai", "method": "POST", "path": "/openai/v1/chat/completions",
             "headers": {"authorization": "Bearer [redacted]"}, "status": 200, "outcome": "ok",
             "body": {"model": "gpt-4o-mini-2024-07-18", "messages": []}}  # fmt: skip
    up = Upstream.from_entry(entry)
    xlate = XlateContext(request={"model": "m"}, upstream=up, upstreams=[up],
                         expect={"provider_model_id": "gpt-4o-mini"})  # fmt: skip
    judge(exchange, xlate, only=["native_endpoint_and_auth"])
    judge(
        exchange,
        RouteContext(request={"model": "m"}, journal=[entry]),
        only=["provider_names_answering_endpoint"],
    )
    assert_one_finding(judge, "META-011", "XLATE-001")


def test_a_keepalive_the_sdk_got_as_a_chunk_is_stream_018s(judge: Judge) -> None:
    raw = stream(
        {"type": "ping"}, chunk({"role": "assistant", "content": "Hi"}, "stop"), usage_chunk(), b"[DONE]"
    )
    sdk = SdkOutcome(kind="stream", chunks=3, choiceless=1, text="Hi")
    judge(raw)
    judge(raw, RouteContext(request=raw.request_body or {}, sdk=sdk), only=["sdk_sync_client_works"])
    failed, blocked = verdicts(judge)
    assert "STREAM-018" in failed
    assert "CLIENT-001" not in failed
    assert "STREAM-018" in blocked["CLIENT-001"]  # with STREAM-001: a ping is no chunk either


def test_a_wrong_error_type_is_err_001s_not_the_situations(judge: Judge) -> None:
    error = {"message": "no", "type": "api_error", "code": "invalid_request",
             "param": "extensions.openai.service_tier", "doc_url": "https://docs.auriko.ai/errors/invalid_request"}  # fmt: skip
    exchange = _json_error(400, {"error": error}, **REQUEST_ID)
    context = XlateContext(
        request={"model": "m"}, expect={"platform_governed": "extensions.openai.service_tier"}
    )
    judge(exchange)
    judge(exchange, context, only=["service_tier_extension_rejected"])
    assert_one_finding(judge, "ERR-001", "EXT-007")


def test_a_json_error_under_200_for_a_stream_is_err_003s_not_stream_017s(judge: Judge) -> None:
    error = {"message": "no", "type": "api_error", "code": "upstream_error", "param": None,
             "doc_url": "https://docs.auriko.ai/errors/upstream_error"}  # fmt: skip
    exchange = _json_error(200, {"error": error}, **REQUEST_ID)
    exchange.request_body = {"model": "m", "messages": [], "stream": True}
    context = RouteContext(
        request=exchange.request_body, error=ExpectedError(502, frozenset({"upstream_error"}))
    )
    judge(exchange)
    judge(exchange, context, only=["pre_stream_error_is_non_2xx"])
    assert_one_finding(judge, "ERR-003", "STREAM-017")


def test_a_wrong_status_stays_its_rules_finding_on_a_body_without_envelope(judge: Judge) -> None:
    """The status line is readable whatever the body is: a 500 for an unparseable body is REQ-013's own
    finding beside SCHEMA-006's missing envelope; what the body would have said is SCHEMA-006's."""
    exchange = _json_error(500, {"status": "failure", "message": "Something went wrong"}, **REQUEST_ID)
    expect.error(judge, exchange, "REQ-013", status=400, code="invalid_request")
    failed, _ = verdicts(judge)
    assert {"SCHEMA-006", "REQ-013"} <= failed


# --------------------------------------------------------------------------------------------------
# Review: the places of this session's checks not yet fed a broken exchange
# --------------------------------------------------------------------------------------------------


def test_string_warnings_block_meta_012(judge: Judge) -> None:
    body = completion()
    body["routing_metadata"]["warnings"] = ["presence_penalty was dropped"]
    exchange = answer(body)
    judge(exchange, Context(request={"model": "m"}, dropped_parameters=("presence_penalty",)))
    failed, blocked = verdicts(judge)
    assert "META-008" in failed
    assert "META-012" not in failed
    assert blocked["META-012"] == ("META-008",)


@pytest.mark.parametrize(("error_type", "owner"), [("api_error", "ERR-001"), ("rate_limit_error", None)])
def test_a_budget_errors_type_is_err_001s(judge: Judge, error_type: str, owner: str | None) -> None:
    error = {"message": "spent", "type": error_type, "code": "budget_exhausted", "param": None,
             "doc_url": "https://docs.auriko.ai/errors/budget_exhausted"}  # fmt: skip
    judge(_json_error(429, {"error": error}, **REQUEST_ID, **{"retry-after": "60"}))
    failed, blocked = verdicts(judge)
    assert "ERR-013" not in failed
    if owner:
        assert owner in failed
        assert blocked["ERR-013"] == (owner,)


def test_a_claude_budget_without_max_tokens_is_xlate_001s(judge: Judge) -> None:
    entry = {"provider": "anthropic", "flavour": "anthropic", "method": "POST", "path": "/anthropic/v1/messages",
             "headers": {"x-api-key": "[redacted]", "anthropic-version": "2023-06-01"}, "status": 400,
             "body": {"model": "claude", "messages": [], "thinking": {"type": "enabled", "budget_tokens": 1024}}}  # fmt: skip
    up = Upstream.from_entry(entry)
    context = XlateContext(request={"model": "m", "reasoning_effort": "low"}, upstream=up, upstreams=[up],
                           expect={"claude_kind": "budget"})  # fmt: skip
    exchange = _json_error(502, {"error": {"message": "x", "type": "api_error", "code": "upstream_error",
                                           "param": None}}, **REQUEST_ID)  # fmt: skip
    judge(exchange, context, only=["native_endpoint_and_auth", "thinking_budget_in_range"])
    assert_one_finding(judge, "XLATE-001", "XLATE-022")


# --------------------------------------------------------------------------------------------------
# Session 2026-12-04 (late): owners judged where their place was read; places restated under ERR-014
# --------------------------------------------------------------------------------------------------


def _strategy_contest(judge: Judge, reported: str) -> None:
    """optimize ttft-focus; the cheap, slow `vllm-b` answered; the answer reports `reported`."""
    body = completion()
    body["routing_metadata"].update(provider="vllm-b", routing_strategy=reported)
    exchange = answer(
        body, {"model": "m", "messages": [], "gateway": {"routing": {"optimize": "ttft-focus"}}}
    )
    promise = Promise("vllm", "vllm-b", "ttft-focus: the lowest TTFT", strategy="ttft-focus")
    journal = _answered_by("vllm-b")
    judge(exchange, ChoiceContext(request={"model": "m"}, promise=promise, journal=journal),
          only=["ttft_focus_picks_fastest_first_token"])  # fmt: skip
    echo = RouteContext(request={"model": "m"}, expected_strategy="ttft-focus")
    judge(exchange, echo, only=["routing_strategy_echoes_request"])


def test_a_choice_made_by_another_reported_strategy_is_meta_005s(judge: Judge) -> None:
    """The gateway says it routed cost-focus although ttft-focus was asked: the choice follows from the
    strategy it applied, so the one finding is META-005's (the request's strategy was not the one used)."""
    _strategy_contest(judge, "cost-focus")
    assert_one_finding(judge, "META-005", "ROUTE-031")


def test_a_wrong_choice_under_the_asked_strategy_is_the_strategys(judge: Judge) -> None:
    """The control: the gateway reports ttft-focus and still picked the slow provider."""
    _strategy_contest(judge, "ttft-focus")
    failed, blocked = verdicts(judge)
    assert "ROUTE-031" in failed
    assert "META-005" not in failed
    assert "ROUTE-031" not in blocked


def _suffixed(metadata: dict[str, Any], optimize: str | None = None) -> tuple[Exchange, RouteContext]:
    body = completion()
    body["routing_metadata"].update(metadata)
    routing = {"gateway": {"routing": {"optimize": optimize}}} if optimize else {}
    request = {"model": "gpt-4o-mini:ttft", "messages": [], **routing}
    context = RouteContext(
        request=request, expected_strategy=optimize or "ttft", expected_canonical="gpt-4o-mini"
    )
    return answer(body, request), context


def test_a_missing_report_in_a_suffix_test_is_meta_001s(judge: Judge) -> None:
    """The suffix test judges its own check only; META-001 is judged on the exchange when it settles."""
    exchange, context = _suffixed({})
    del exchange.json["routing_metadata"]
    judge(exchange, context, only=["suffix_sets_strategy"])
    assert_one_finding(judge, "META-001", "ROUTE-028")


def test_a_suffix_kept_in_model_canonical_is_meta_004s(judge: Judge) -> None:
    exchange, context = _suffixed({"routing_strategy": "ttft", "model_canonical": "gpt-4o-mini:ttft"})
    judge(exchange, context, only=["suffix_sets_strategy"])
    assert_one_finding(judge, "META-004", "ROUTE-028")


def test_optimize_losing_to_a_suffix_is_meta_005s_and_a_suffix_alone_the_suffix_rules(judge: Judge) -> None:
    exchange, context = _suffixed({"routing_strategy": "ttft"}, optimize="tps")
    judge(exchange, context, only=["extra_suffix_or_optimize_wins"])
    assert_one_finding(judge, "META-005", "ROUTE-029")
    judge = Judge(judge.node)
    exchange, context = _suffixed({"routing_strategy": "cost-focus"})  # no optimize: META-005 says nothing
    judge(exchange, context, only=["suffix_sets_strategy"])
    failed, _ = verdicts(judge)
    assert "ROUTE-028" in failed
    assert "META-005" not in failed


def _refused(param: Any) -> Exchange:
    body = {
        "error": {
            "message": "bad",
            "type": "invalid_request_error",
            "code": "model_not_found",
            "param": param,
        }
    }
    return Exchange.build(status=404, body=body, headers={"content-type": "application/json"}, url=URL,
                          request_body={"model": "gpt-4o-mini:warp", "messages": []})  # fmt: skip


def test_the_param_a_scenarios_error_names_is_err_014s(judge: Judge) -> None:
    exchange = _refused(None)
    want = ExpectedError(404, frozenset({"model_not_found"}), "model")
    judge(
        exchange, RouteContext(request={"model": "m"}, error=want), only=["unknown_suffix_is_model_not_found"]
    )
    assert_one_finding(judge, "ERR-014", "ROUTE-030")
    judge = Judge(judge.node, level="core")  # ERR-014 (auriko) not judged: nothing is restated under it
    judge(
        exchange, RouteContext(request={"model": "m"}, error=want), only=["unknown_suffix_is_model_not_found"]
    )
    assert "ERR-014" not in verdicts(judge)[0]


def test_a_missing_rate_limit_source_is_hdr_006s(judge: Judge) -> None:
    def refusal(source: str | None) -> Exchange:
        headers = {"content-type": "application/json", "retry-after": "1"}
        if source is not None:
            headers["x-rate-limit-source"] = source
        body = {"error": {"message": "slow down", "type": "rate_limit_error", "code": "rate_limit_exceeded",
                          "param": None}}  # fmt: skip
        return Exchange.build(status=429, body=body, headers=headers, url=URL, request_body={"model": "m"})

    context = KeyContext(request={"model": "m"}, role="low_limit", journal=[])
    judge(refusal(None), context, only=["own_rate_limit_refusal"])
    assert_one_finding(judge, "HDR-006", "ERR-017")
    judge = Judge(judge.node)
    judge(refusal("provider"), context, only=["own_rate_limit_refusal"])  # a documented value, the wrong one
    failed, _ = verdicts(judge)
    assert "ERR-017" in failed
    assert "HDR-006" not in failed


def _deepseek_stream(
    stream_options: dict[str, Any] | None, completion_tokens: int
) -> tuple[Exchange, XlateContext]:
    """A DeepSeek stream: the provider journalled (37, 36) tokens; the client got `completion_tokens`."""
    body = {"model": "deepseek-chat", "messages": [], "stream": True}
    if stream_options is not None:
        body["stream_options"] = stream_options
    entry = {"provider": "deepseek", "flavour": "deepseek", "method": "POST", "path": "/deepseek/v1/chat/completions",
             "headers": {"authorization": "Bearer [redacted]"}, "status": 200, "body": body,
             "response_usage": {"prompt_tokens": 37, "completion_tokens": 36}}  # fmt: skip
    up = Upstream.from_entry(entry)
    request = {"model": "deepseek-chat", "messages": [], "stream": True}
    final = usage_chunk()
    final["usage"] = {"prompt_tokens": 37, "completion_tokens": completion_tokens,
                      "total_tokens": 37 + completion_tokens}  # fmt: skip
    exchange = stream(
        chunk({"role": "assistant", "content": "Hi"}, "stop"), final, b"[DONE]", request=request
    )
    return exchange, XlateContext(request=request, upstream=up, upstreams=[up])


def test_counts_never_asked_for_are_xlate_002s(judge: Judge) -> None:
    """The stream did not ask DeepSeek for usage: the zeros the client got are XLATE-002's finding, and
    neither the count mapping (XLATE-035) nor STREAM-008's clause reads them as a second defect."""
    exchange, upstream = _deepseek_stream(None, 0)
    judge(exchange, upstream, only=["stream_options_where_accepted", "deepseek_usage_mapped"])
    expect.usage_counts(judge, exchange, "STREAM-008", (37, 0), (37, 36), upstream)
    failed, blocked = verdicts(judge)
    assert failed == {"XLATE-002"}
    assert blocked["XLATE-035"] == ("XLATE-002",)
    assert blocked["STREAM-008"] == ("XLATE-002",)


def test_counts_the_provider_sent_and_the_gateway_changed_stay_stream_008s(judge: Judge) -> None:
    """The control: usage was asked for and no translation rule fails (the counts match DeepSeek's), yet
    the client got other numbers than the provider's journal: STREAM-008's finding."""
    exchange, upstream = _deepseek_stream({"include_usage": True}, 36)
    expect.usage_counts(judge, exchange, "STREAM-008", (37, 36), (37, 40), upstream)
    failed, _ = verdicts(judge)
    assert failed == {"STREAM-008"}


def test_cumulative_counts_below_the_final_ones_are_the_mappings(judge: Judge) -> None:
    """STREAM-019 is about summing: counts above the provider's final ones are its finding; counts below
    them (a mapping that left thoughts out) are the usage translation rule's, when it fails there."""
    exchange, upstream = _deepseek_stream({"include_usage": True}, 20)
    judge(exchange, upstream, only=["deepseek_usage_mapped"])
    summed = RouteContext(request=exchange.request_body or {}, upstream_usage=(37, 36))
    judge(exchange, summed, only=["cumulative_usage_not_summed"])
    assert_one_finding(judge, "XLATE-035", "STREAM-019")
    judge = Judge(judge.node)
    exchange, upstream = _deepseek_stream({"include_usage": True}, 72)  # summed: STREAM-019's own
    judge(exchange, upstream, only=["deepseek_usage_mapped"])
    judge(exchange, summed, only=["cumulative_usage_not_summed"])
    assert {"STREAM-019", "XLATE-035"} <= verdicts(judge)[0]


def test_a_scenarios_mapped_upstream_failure_is_the_mapping_rules(judge: Judge) -> None:
    """allow_fallbacks false and an upstream 500 answered 500 internal_error: the mapping (502) is
    ERR-010's rule, so ROUTE-024 keeps only its own clause (one attempt) and reads blocked."""
    exchange = _json_error(500, {"error": {"message": "x", "type": "api_error", "code": "internal_error",
                                           "param": None}}, **REQUEST_ID)  # fmt: skip
    want = ExpectedError(502, frozenset({"upstream_error"}), mapped_by="ERR-010")
    judge(exchange, RouteContext(request={"model": "m"}, error=want), only=["single_attempt_error_is_mapped"])
    assert_one_finding(judge, "ERR-010", "ROUTE-024")


def test_a_nested_field_whose_extension_never_arrived_is_ext_001s(judge: Judge) -> None:
    request = {"model": "m", "messages": [], "extensions": {"deepseek": {"x_conformance": {"model": "n-1"}}}}
    entry = {"provider": "deepseek", "flavour": "deepseek", "method": "POST", "path": "/deepseek/v1/chat/completions",
             "headers": {}, "status": 200, "body": {"model": "deepseek-chat", "messages": []}}  # fmt: skip
    up = Upstream.from_entry(entry)
    context = XlateContext(request=request, upstream=up, upstreams=[up],
                           expect={"nested": {"x_conformance.model": "n-1"}, "extension": "deepseek",
                                   "passthrough": ["x_conformance"]})  # fmt: skip
    judge(answer(completion(), request), context, only=["core_fields_top_level_only"])
    assert_one_finding(judge, "EXT-001", "EXT-005")


def test_empty_gemini_args_sent_as_text_are_xlate_006s(judge: Judge) -> None:
    """The empty arguments became `"{}"`, JSON text, as every call's args did: the type is XLATE-006's
    finding (judged on the same request when the test settles), XLATE-010's emptiness was handled."""
    call = {"id": "c1", "type": "function", "function": {"name": "ping", "arguments": ""}}
    request = {"model": "gemini-2.5-flash", "messages": [
        {"role": "user", "content": "Ping."}, {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "pong"}]}  # fmt: skip
    contents = [{"role": "user", "parts": [{"text": "Ping."}]},
                {"role": "model", "parts": [{"functionCall": {"name": "ping", "args": "{}"}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "ping", "response": {"content": "pong"}}}]}]  # fmt: skip
    entry = {"provider": "gemini", "flavour": "gemini", "method": "POST",
             "path": "/gemini/v1beta/models/gemini-2.5-flash:generateContent", "headers": {}, "status": 200,
             "body": {"contents": contents}}  # fmt: skip
    up = Upstream.from_entry(entry)
    context = XlateContext(request=request, upstream=up, upstreams=[up])
    judge(answer(completion(), request), context, only=["empty_arguments_become_empty_object"])
    assert_one_finding(judge, "XLATE-006", "XLATE-010")


def test_extensions_that_made_the_request_fail_defer_to_the_refusals_rule(judge: Judge) -> None:
    """EXT-003's "the request failed" is a clause the translation rule that explains a provider's refusal
    takes (D-153): here EXT-002 fails on the refused request, which carried another provider's extension."""
    request = {"model": "m", "messages": [], "extensions": {"anthropic": {"top_k": 3}}}
    entry = {"provider": "openai", "flavour": "openai", "method": "POST", "path": "/openai/v1/chat/completions",
             "headers": {}, "status": 400, "body": {"model": "gpt-4o-mini", "messages": [], "top_k": 3}}  # fmt: skip
    up = Upstream.from_entry(entry)
    context = XlateContext(request=request, upstream=up, upstreams=[up],
                           expect={"ignored": ["anthropic"], "extension": "openai"})  # fmt: skip
    exchange = _json_error(502, {"error": {"message": "openai returned HTTP 400", "type": "api_error",
                                           "code": "upstream_error", "param": None}}, **REQUEST_ID)  # fmt: skip
    judge(exchange, context, only=["extension_provider_warnings", "other_extensions_stay_behind"])
    assert_one_finding(judge, "EXT-002", "EXT-003")


# --------------------------------------------------------------------------------------------------
# The precondition helpers of D-160, each fed what a broken gateway sends
# --------------------------------------------------------------------------------------------------


def _anthropic_refusal(body: dict[str, Any]) -> tuple[Exchange, list[dict[str, Any]]]:
    """A 502 for an Anthropic request the provider refused with 400, and the journal of it."""
    entry = {"provider": "anthropic", "flavour": "anthropic", "method": "POST", "path": "/anthropic/v1/messages",
             "query": {}, "headers": {"x-api-key": "[redacted]", "anthropic-version": "2023-06-01"},
             "status": 400, "outcome": "error", "body": body}  # fmt: skip
    exchange = _json_error(502, {"error": {"message": "anthropic returned HTTP 400", "type": "api_error",
                                           "code": "upstream_error", "param": None}}, **REQUEST_ID)  # fmt: skip
    exchange.request_body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hi"}]}
    return exchange, [entry]


def test_a_rejection_refused_for_another_reason_is_not_staged(judge: Judge) -> None:
    """The provider refused the request for want of `max_tokens` before the staged context-length 400
    could play: the mapping ERR-011 judges never met it, XLATE-001 is the finding."""
    exchange, journal = _anthropic_refusal(
        {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert not expect.rejection_staged(judge, exchange, journal, "ERR-011")
    failed, blocked = verdicts(judge)
    assert "XLATE-001" in failed
    assert "ERR-011" not in failed
    assert blocked["ERR-011"] == ("XLATE-001",)


def test_a_rejection_the_provider_staged_is_judged(judge: Judge) -> None:
    """The control: a valid request the provider refused as the scenario staged it names no translation
    rule, so the mapping is judged (and REQ-027 is not held against the refusal)."""
    body = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    exchange, journal = _anthropic_refusal(body)
    assert expect.rejection_staged(judge, exchange, journal, "ERR-011")
    failed, blocked = verdicts(judge)
    assert failed == set()
    assert blocked == {}


def test_a_wait_timeout_ms_should_have_ended_is_route_023s(judge: Judge) -> None:
    """No answer at all to a request whose only provider hangs past `timeout_ms`: the provider was never
    abandoned (ROUTE-023); the 504 that ERR-009 judges never came to be judged."""
    with pytest.raises(pytest.fail.Exception):
        no_answer(judge, "ERR-009", None, bounded_by="ROUTE-023")
    failed, blocked = verdicts(judge)
    assert failed == {"ROUTE-023"}
    assert blocked["ERR-009"] == ("ROUTE-023",)


def test_a_param_naming_another_field_is_err_014s(judge: Judge) -> None:
    exchange = _json_error(400, {"error": {"message": "bad", "type": "invalid_request_error",
                                           "code": "invalid_parameter_value", "param": None}}, **REQUEST_ID)  # fmt: skip
    expect.param(judge, exchange, "REQ-018", {"gateway.routing.optimize"})
    assert_one_finding(judge, "ERR-014", "REQ-018")
