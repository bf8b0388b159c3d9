"""Every check passes a correct response and fails a broken one, naming the right requirement.

A conformance check that cannot fail is worse than none, so each mutation below breaks exactly one
rule of a known-good response and asserts that the finding carries the requirement ID of that rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, all_checks, run_checks, select_checks, unclaimed_checks
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

GOOD_CONTEXT = Context(request=s.REQUEST, prices=s.PRICES, expected_strategy="cost-focus")


def _ids(exchange: Exchange, context: Context = GOOD_CONTEXT) -> set[str]:
    return {f.requirement for f in run_checks(exchange, context)}


@pytest.mark.parametrize(
    "exchange",
    [
        s.completion_exchange(),
        s.stream_exchange(),
        s.stream_exchange(s.stream_payloads(tool_calls=True)),
        s.error_exchange(
            404,
            {
                "message": "no",
                "type": "not_found_error",
                "code": "model_not_found",
                "param": "model",
                "doc_url": "https://docs.auriko.ai/errors/model_not_found",
            },
            {**s.HEADERS, "x-error-type": "not_found_error", "x-error-retryable": "false"},
        ),
        s.error_exchange(
            429,
            {
                "message": "slow",
                "type": "rate_limit_error",
                "code": "rate_limit_exceeded",
                "param": None,
                "doc_url": "https://docs.auriko.ai/errors/rate_limit_exceeded",
            },
            {
                **s.HEADERS,
                "x-error-type": "rate_limit_error",
                "x-error-retryable": "true",
                "retry-after": "7",
                "x-rate-limit-source": "auriko",
                "x-ratelimit-limit-requests": "600",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "2026-11-25T18:00:00Z",
            },
        ),
    ],
    ids=["completion", "stream", "tool-stream", "404", "429"],
)
def test_correct_responses_have_no_findings(exchange: Exchange) -> None:
    context = copy.copy(GOOD_CONTEXT)
    context.request = exchange.request_body
    assert run_checks(exchange, context) == []


def _stream(mutate: Callable[[list[Any]], Any], tool_calls: bool = False) -> Exchange:
    payloads = s.stream_payloads(tool_calls=tool_calls)
    result = mutate(payloads)
    return s.stream_exchange(result if isinstance(result, list) and result is not payloads else payloads)


def _asking_usage(exchange: Exchange) -> Exchange:
    """The stream answers a request that asked for usage (`stream_options.include_usage`)."""
    exchange.request_body = {**exchange.request_body, "stream_options": {"include_usage": True}}
    return exchange


def _completion(mutate: Callable[[dict[str, Any]], Any]) -> Exchange:
    body = s.completion()
    mutate(body)
    return s.completion_exchange(body)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(obj: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for key in parents:
            obj = obj[int(key)] if key.isdigit() else obj[key]  # type: ignore[index]
        if value is _DELETE:
            del obj[last]
        else:
            obj[last] = value

    return apply


_DELETE = object()


def _all_tool_calls_on_index_0(payloads: list[Any]) -> None:
    for chunk in payloads[1:5]:
        for delta in chunk["choices"][0]["delta"]["tool_calls"]:
            delta["index"] = 0


_FINAL = -2  # index of the usage chunk in stream_payloads()

BROKEN: dict[str, tuple[Exchange, str]] = {
    # ---- stream framing
    "no_blank_line_after_last_event": (
        s.stream_exchange(raw=s.sse(s.stream_payloads()).rstrip(b"\n") + b"\n"), "STREAM-001"),
    "garbage_event": (_stream(lambda p: p.insert(1, "not json at all")), "STREAM-001"),
    "done_missing": (_stream(lambda p: p[:-1]), "STREAM-002"),
    "done_twice": (_stream(lambda p: [*p, "[DONE]"]), "STREAM-002"),
    "data_after_done": (_stream(lambda p: [*p, p[0]]), "STREAM-002"),
    "final_usage_chunk_missing": (_asking_usage(_stream(lambda p: p[:_FINAL] + p[-1:])), "STREAM-003"),
    "final_chunk_with_choices": (
        _stream(lambda p: p[_FINAL].update(choices=[{"index": 0, "delta": {}, "finish_reason": None}])),
        "STREAM-003"),
    "final_chunk_without_routing_metadata": (_stream(lambda p: p[_FINAL].pop("routing_metadata")), "STREAM-005"),
    "usage_chunk_before_finish_chunk": (_stream(lambda p: [*p[:3], p[_FINAL], p[3], p[-1]]), "STREAM-003"),
    "usage_on_content_chunk": (_stream(lambda p: p[1].update(usage=s.USAGE)), "STREAM-004"),
    "two_usage_chunks": (_stream(lambda p: [*p[:-1], p[_FINAL], p[-1]]), "STREAM-004"),
    "changing_chunk_ids": (_stream(lambda p: p[2].update(id="chatcmpl-2")), "STREAM-009"),
    "role_on_every_delta": (_stream(lambda p: p[1]["choices"][0]["delta"].update(role="assistant")), "STREAM-010"),
    "no_role_on_first_delta": (_stream(lambda p: p[0]["choices"][0]["delta"].pop("role")), "STREAM-010"),
    "finish_reason_twice": (_stream(lambda p: p[2]["choices"][0].update(finish_reason="stop")), "STREAM-011"),
    "finish_reason_never": (_stream(lambda p: p[3]["choices"][0].update(finish_reason=None)), "STREAM-011"),
    "tool_call_name_repeated": (
        _stream(lambda p: p[3]["choices"][0]["delta"]["tool_calls"][0]["function"].update(name="f"), True),
        "STREAM-013"),
    "tool_call_without_id": (
        _stream(lambda p: p[1]["choices"][0]["delta"]["tool_calls"][0].pop("id"), True), "STREAM-013"),
    "parallel_tool_calls_on_index_0": (
        _stream(_all_tool_calls_on_index_0, True),
        "STREAM-012"),
    "tool_arguments_invalid_json": (
        _stream(lambda p: p[4]["choices"][0]["delta"]["tool_calls"][0]["function"].update(arguments=": 2"), True),
        "STREAM-012"),
    "silent_truncation": (_stream(lambda p: p[:2]), "STREAM-015"),
    "error_event_without_envelope": (_stream(lambda p: [*p[:2], {"error": "boom"}]), "STREAM-015"),
    "stream_answered_as_json": (
        Exchange.build(status=200, body=s.completion(), headers=s.HEADERS, request_body={**s.REQUEST, "stream": True}),
        "SCHEMA-009"),
    # ---- schema
    "completion_missing_choices": (_completion(_set("choices", _DELETE)), "SCHEMA-001"),
    "completion_wrong_object": (_completion(_set("object", "chat.completion.chunk")), "SCHEMA-001"),
    "completion_bad_finish_reason": (_completion(_set("choices.0.finish_reason", "end_turn")), "SCHEMA-003"),
    "completion_text_plain": (
        s.completion_exchange(headers={"content-type": "text/plain", "x-request-id": "r"}), "SCHEMA-009"),
    "chunk_missing_object": (_stream(lambda p: p[1].pop("object")), "SCHEMA-002"),
    "chunk_usage_string": (_stream(lambda p: p[_FINAL].update(usage="14 tokens")), "SCHEMA-002"),
    # ---- routing metadata and usage
    "metadata_missing": (_completion(_set("routing_metadata", _DELETE)), "META-001"),
    "metadata_provider_missing": (_completion(_set("routing_metadata.provider", _DELETE)), "META-003"),
    "metadata_provider_number": (_completion(_set("routing_metadata.provider", 3)), "META-003"),
    "strategy_not_echoed": (_completion(_set("routing_metadata.routing_strategy", "cost")), "META-005"),
    "cost_off_by_factor": (_completion(_set("routing_metadata.cost.usd", s.METADATA["cost"]["usd"] * 1000)),
                           "META-007"),
    "cost_missing": (_completion(_set("routing_metadata.cost", _DELETE)), "META-007"),
    "ttft_in_non_stream": (_completion(_set("routing_metadata.ttft_ms", 12.0)), "META-006"),
    "total_not_sum": (_completion(_set("usage.total_tokens", 15)), "SCHEMA-005"),
    "reasoning_double_counted": (
        _completion(_set("usage.completion_tokens_details", {"reasoning_tokens": 9})), "SCHEMA-005"),
    "warning_as_string": (_completion(_set("routing_metadata.warnings", ["seed dropped"])), "META-008"),
    # ---- errors
    "flattened_envelope": (
        Exchange.build(status=400, headers=s.HEADERS,
                       body={"message": "bad", "type": "invalid_request_error", "code": "invalid_request"}),
        "SCHEMA-006"),
    "empty_error_body": (s.error_exchange(401, None), "SCHEMA-006"),
    "code_of_another_status": (
        s.error_exchange(500, {"message": "m", "type": "api_error", "code": "model_not_found", "param": None}),
        "ERR-001"),
    "error_type_not_of_status": (
        s.error_exchange(400, {"message": "m", "type": "api_error", "code": "invalid_request", "param": None}),
        "ERR-001"),
    "unknown_code": (
        s.error_exchange(502, {"message": "m", "type": "api_error", "code": "provider_error", "param": None}),
        "ERR-002"),
    "429_without_retry_after": (
        s.error_exchange(429, {"message": "m", "type": "rate_limit_error", "code": "rate_limit_exceeded",
                               "param": None}), "HDR-003"),
    "error_type_header_disagrees": (
        s.error_exchange(503, {"message": "m", "type": "api_error", "code": "no_provider_available", "param": None},
                         {**s.HEADERS, "x-error-type": "server_error", "x-error-retryable": "true"}),
        "ERR-012"),
    "error_provider_header_on_own_error": (
        s.error_exchange(400, {"message": "m", "type": "invalid_request_error", "code": "invalid_request",
                               "param": None},
                         {**s.HEADERS, "x-error-type": "invalid_request_error", "x-error-retryable": "false",
                          "x-error-provider": "openai"}),
        "ERR-012"),
    "error_provider_header_disagrees": (
        s.error_exchange(502, {"message": "m", "type": "api_error", "code": "upstream_error", "param": None,
                               "provider": "anthropic"},
                         {**s.HEADERS, "x-error-type": "api_error", "x-error-retryable": "true",
                          "x-error-provider": "openai"}),
        "ERR-012"),
    "error_with_status_200": (
        s.completion_exchange({"error": {"message": "m", "type": "api_error", "code": "upstream_error"}}), "ERR-003"),
    "no_request_id": (s.completion_exchange(headers={"content-type": "application/json"}), "HDR-001"),
    "no_request_id_on_models": (
        Exchange.build(status=200, body={"object": "list", "data": []}, method="GET",
                       headers={"content-type": "application/json"}, url="http://target.test/v1/models"),
        "HDR-002"),
    "metadata_on_content_chunk": (_stream(lambda p: p[1].update(routing_metadata=s.METADATA)), "STREAM-006"),
    "done_after_error_event": (
        _stream(lambda p: [*p[:2], {"error": {"message": "cut", "type": "api_error", "code": "upstream_error",
                                              "param": None}}, "[DONE]"]), "STREAM-016"),
    "error_event_missing_param": (
        _stream(lambda p: [*p[:2], {"error": {"message": "cut", "type": "api_error", "code": "upstream_error"}}]),
        "STREAM-016"),
    "error_as_text_plain": (
        s.error_exchange(404, {"message": "m", "type": "not_found_error", "code": "model_not_found", "param": None},
                         {"content-type": "text/plain", "x-request-id": "r"}), "ERR-004"),
    "warning_unknown_type": (
        _completion(_set("routing_metadata.warnings", [{"type": "note", "code": "x", "message": "y"}])), "META-009"),
    "negative_cost": (_completion(_set("routing_metadata.cost.usd", -1)), "META-006"),
    "zero_cache_savings": (_completion(_set("routing_metadata.cost.cache_savings_usd", 0)), "META-006"),
    "choice_index_gap": (_completion(_set("choices.0.index", 1)), "SCHEMA-003"),
    "tool_call_arguments_object": (
        _completion(_set("choices.0.message.tool_calls",
                         [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}])),
        "SCHEMA-004"),
    "tool_call_ids_repeat": (
        _completion(_set("choices.0.message.tool_calls",
                         [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                          {"id": "c1", "type": "function", "function": {"name": "g", "arguments": "{}"}}])),
        "SCHEMA-004"),
    "doc_url_wrong": (
        s.error_exchange(404, {"message": "m", "type": "not_found_error", "code": "model_not_found", "param": None,
                               "doc_url": "https://docs.auriko.ai/errors/not_found"}), "SCHEMA-007"),
    "top_logprobs_null": (
        Exchange.build(status=200, headers=s.HEADERS, request_body={**s.REQUEST, "logprobs": True, "top_logprobs": 2},
                       body={**s.completion(), "choices": [{**s.completion()["choices"][0], "logprobs": {
                           "content": [{"token": "Hi", "logprob": -0.1, "bytes": None, "top_logprobs": None}]}}]}),
        "SCHEMA-008"),
    "logprobs_silently_dropped": (
        Exchange.build(status=200, headers=s.HEADERS, request_body={**s.REQUEST, "logprobs": True},
                       body=s.completion()), "SCHEMA-008"),
    "remaining_above_limit": (
        s.completion_exchange(headers={**s.HEADERS, "x-ratelimit-limit-requests": "10",
                                       "x-ratelimit-remaining-requests": "11"}), "HDR-004"),
    "reset_not_iso": (
        s.completion_exchange(headers={**s.HEADERS, "x-ratelimit-reset-requests": "6s"}), "HDR-004"),
    "budget_429_without_headers": (
        s.error_exchange(429, {"message": "m", "type": "rate_limit_error", "code": "budget_exhausted", "param": None},
                         {**s.HEADERS, "retry-after": "60", "x-rate-limit-source": "auriko"}), "HDR-005"),
    "429_without_source": (
        s.error_exchange(429, {"message": "m", "type": "rate_limit_error", "code": "rate_limit_exceeded",
                               "param": None}, {**s.HEADERS, "retry-after": "1"}), "HDR-006"),
    "metadata_on_error": (
        Exchange.build(status=404, headers=s.HEADERS, body={
            "error": {"message": "m", "type": "not_found_error", "code": "model_not_found", "param": "model"},
            "routing_metadata": s.METADATA}), "META-002"),
    "budget_as_402": (
        s.error_exchange(402, {"message": "m", "type": "invalid_request_error", "code": "budget_exceeded",
                               "param": None}), "ERR-013"),
    "quota_as_403": (
        s.error_exchange(403, {"message": "m", "type": "permission_error", "code": "insufficient_quota",
                               "param": None}), "ERR-013"),
    "internal_field_leak": (_completion(_set("routing_metadata.candidates_total", 5)), "META-010"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_response_fails_with_the_right_requirement(case: str) -> None:
    exchange, requirement = BROKEN[case]
    context = copy.copy(GOOD_CONTEXT)
    context.request = exchange.request_body or s.REQUEST
    assert requirement in _ids(exchange, context), run_checks(exchange, context)


def test_stream_text_must_match_non_stream_text() -> None:
    exchange = s.stream_exchange()
    context = Context(request={**s.REQUEST, "stream": True}, reference_text="Hello there friend")
    assert run_checks(exchange, context, only=["stream_text_matches_non_stream"]) == []
    context.reference_text = "Hello there"
    assert {
        f.requirement for f in run_checks(exchange, context, only=["stream_text_matches_non_stream"])
    } == {"STREAM-014"}


def test_dropped_parameter_needs_a_warning() -> None:
    context = Context(request=s.REQUEST, dropped_parameters=("seed",))
    found = run_checks(s.completion_exchange(), context, only=["warning_for_each_dropped_parameter"])
    assert [f.requirement for f in found] == ["META-012"]
    body = s.completion()
    body["routing_metadata"]["warnings"] = [
        {"type": "unsupported_parameter", "code": "unsupported_parameter", "message": "seed was dropped"}
    ]
    assert run_checks(s.completion_exchange(body), context, only=["warning_for_each_dropped_parameter"]) == []


def test_model_canonical_must_match() -> None:
    context = Context(request=s.REQUEST, expected_canonical="gpt-4o")
    assert run_checks(s.completion_exchange(), context, only=["model_canonical_is_requested_model"]) == []
    context.expected_canonical = "gpt-4o-mini"
    found = run_checks(s.completion_exchange(), context, only=["model_canonical_is_requested_model"])
    assert [f.requirement for f in found] == ["META-004"]


def test_gateway_metadata_must_not_be_echoed() -> None:
    request = {**s.REQUEST, "gateway": {"metadata": {"trace_id": "trace-secret-42", "tags": ["nightly-run"]}}}
    context = Context(request=request)
    assert run_checks(s.completion_exchange(), context, only=["gateway_metadata_not_echoed"]) == []
    echoed = s.completion_exchange(headers={**s.HEADERS, "x-trace": "trace-secret-42"})
    assert [f.requirement for f in run_checks(echoed, context, only=["gateway_metadata_not_echoed"])] == [
        "META-013"
    ]


def test_every_check_is_exercised_by_a_broken_case() -> None:
    exercised = {req for _, req in BROKEN.values()} | {"STREAM-014", "META-012", "META-004", "META-013"}
    # STREAM-018/020 (and the scenario checks these modules register) are proven with the routing
    # scenarios in test_route_checks.py
    exercised |= {"STREAM-018", "STREAM-020"} | {c.requirement for c in all_checks().values() if c.given}
    # The modules this file covers; route/xlate checks are proven in their own test files.
    mine = {
        "auriko_conformance.suites.checks.stream",
        "auriko_conformance.suites.checks.schema",
        "auriko_conformance.suites.checks.errors",
        "auriko_conformance.suites.checks.meta",
    }
    registered = {c.requirement for c in all_checks().values() if c.func.__module__ in mine}
    assert registered <= exercised, f"checks never shown to fail: {sorted(registered - exercised)}"


def test_checks_needing_an_unclaimed_feature_are_named_not_run() -> None:
    """A profile without routing_metadata: META checks drop out of the selection and are named as
    unclaimed, so the report says "not claimed" rather than "not run" for their requirements."""
    exchange = s.completion_exchange()
    everything = {c.name for c in select_checks(exchange)}
    claims = frozenset({"streaming"})
    chosen = {c.name for c in select_checks(exchange, claims=claims)}
    dropped = unclaimed_checks(exchange, None, claims)
    assert {c.name for c in dropped} == everything - chosen
    assert "META-001" in {c.requirement for c in dropped}
    assert all(c.needs for c in dropped)  # only checks that need a feature drop out
    assert unclaimed_checks(exchange, None, None) == []  # no profile: everything is claimed


def test_a_stream_without_usage_is_judged_by_stream_003_only_when_usage_was_asked() -> None:
    """OpenAI's API sends no usage chunk unless asked: that is STREAM-007's Auriko rule, not STREAM-003's."""
    exchange = _stream(lambda p: p[:_FINAL] + p[-1:])
    context = Context(request=exchange.request_body)
    assert "STREAM-003" not in _ids(exchange, context)
    assert "STREAM-003" in _ids(_asking_usage(exchange), Context(request=exchange.request_body))
