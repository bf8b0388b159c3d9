"""The ROUTE / upstream-failure / CLIENT checks pass a correct observation and fail a broken one.

Each case gives a known-good exchange and context (a synthetic mock journal, an expected error, an SDK
outcome), then breaks exactly one thing and asserts the findings carry exactly the check's requirement.
The scenario-discovery helpers (`Directory`, `native_usage`, `upstream_model`) are tested here too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, Located, all_checks, owners_of, run_checks
from auriko_conformance.suites.checks.route import UPSTREAM_PROVIDER
from auriko_conformance.suites.directory import Directory
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import answering_entries, native_usage, upstream_model
from auriko_conformance.suites.scenario import ExpectedError, RouteContext, SdkOutcome

from tests.suites import samples as s

MODEL_ID = s.METADATA["provider_model_id"]


def entry(
    provider: str, status: int | None = 200, outcome: str | None = "ok", model: str = MODEL_ID
) -> dict[str, Any]:
    return {
        "provider": provider,
        "status": status,
        "outcome": outcome,
        "path": f"/{provider}/v1/chat/completions",
        "body": {"model": model},
    }


def ctx(journal: list[dict[str, Any]] | None = None, **fields: Any) -> RouteContext:
    return RouteContext(request=s.REQUEST, journal=journal, **fields)


def answer(provider: str = "openai") -> Exchange:
    body = s.completion()
    body["routing_metadata"]["provider"] = provider
    return s.completion_exchange(body)


def error(
    status: int, code: str | None, etype: str = "api_error", headers: dict[str, str] | None = None
) -> Exchange:
    return s.error_exchange(
        status, {"message": "m", "type": etype, "code": code, "param": None}, headers or dict(s.HEADERS)
    )


def flat_anthropic_error() -> Exchange:
    body = {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}
    return Exchange.build(status=502, body=body, headers=s.HEADERS, request_body=s.REQUEST)


def stream_with(payloads: list[Any], request: dict[str, Any] | None = None) -> Exchange:
    exchange = s.stream_exchange(payloads)
    exchange.request_body = request or {**s.REQUEST, "stream": True}
    return exchange


def cut_stream(with_error: bool) -> Exchange:
    payloads = s.stream_payloads()[:2]
    if with_error:
        payloads.append(
            {"error": {"message": "cut", "type": "api_error", "code": "upstream_error", "param": None}}
        )
    return stream_with(payloads)


def summed_usage_stream() -> Exchange:
    payloads = s.stream_payloads()
    payloads[-2]["usage"]["completion_tokens"] = 10  # 1 + 2 + 3 + 4: each cumulative count added up
    return stream_with(payloads)


def doubled_usage_stream() -> Exchange:
    payloads = s.stream_payloads()
    payloads[1]["usage"] = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    return stream_with(payloads)


def ping_stream() -> Exchange:
    payloads = s.stream_payloads()
    payloads.insert(1, {"type": "ping"})
    return stream_with(payloads)


def logprob_stream(tokens_ok: bool) -> Exchange:
    payloads = s.stream_payloads()
    for chunk in payloads[:3]:
        content = chunk["choices"][0]["delta"]["content"]
        token = content if tokens_ok else content.upper()
        chunk["choices"][0]["logprobs"] = {"content": [{"token": token, "logprob": -0.1, "top_logprobs": []}]}
    return stream_with(payloads, {**s.REQUEST, "stream": True, "logprobs": True})


def n_completion(choices: int) -> Exchange:
    body = s.completion()
    body["choices"] = [{**copy.deepcopy(body["choices"][0]), "index": i} for i in range(choices)]
    exchange = s.completion_exchange(body)
    exchange.request_body = {**s.REQUEST, "n": 2}
    return exchange


def strategy_answer(strategy: str, canonical: str = "gpt-4o") -> Exchange:
    body = s.completion()
    body["routing_metadata"].update(routing_strategy=strategy, model_canonical=canonical)
    return s.completion_exchange(body)


def timed(exchange: Exchange, elapsed_ms: float) -> Exchange:
    exchange.elapsed_ms = elapsed_ms
    return exchange


def streamed(exchange: Exchange) -> Exchange:
    exchange.request_body = {**s.REQUEST, "stream": True}
    return exchange


def sdk(**fields: Any) -> RouteContext:
    return RouteContext(request=s.REQUEST, sdk=SdkOutcome(**fields))


SDK_COMPLETION = {"kind": "completion", "routing_metadata": copy.deepcopy(s.METADATA), "text": "Hello there"}
SDK_STREAM = {
    "kind": "stream",
    "chunks": 5,
    "last_chunk": {"choices": [], "usage": dict(s.USAGE)},
    "text": "Hi",
}
ENVELOPE = {"message": "no", "type": "not_found_error", "code": "model_not_found", "param": "model"}
SDK_ERROR = {
    "kind": "error",
    "status": 404,
    "raised": ("NotFoundError", "APIStatusError", "APIError", "OpenAIError", "Exception"),
    "error_fields": {"code": "model_not_found", "param": "model", "type": "not_found_error"},
    "envelope": ENVELOPE,
    "request_id": "req_1",
}
TWO_VLLMS = [entry("vllm-b", 500, "error"), entry("vllm")]
RATE_LIMITED = {**s.HEADERS, "retry-after": "30"}
E429 = ExpectedError(429, frozenset({"rate_limit_exceeded"}), error_type="rate_limit_error")
E502 = ExpectedError(502, frozenset({"upstream_error"}))


@dataclass(frozen=True)
class Case:
    good: Callable[[], tuple[Exchange, Context]]
    broken: Callable[[], tuple[Exchange, Context]]


def _calls_case(check: str) -> tuple[str, Case]:
    return check, Case(
        lambda: (
            answer("vllm"),
            ctx([entry("vllm")], allowed=frozenset({"vllm"}), forbidden=frozenset({"x"})),
        ),
        lambda: (answer("vllm"), ctx(TWO_VLLMS, allowed=frozenset({"vllm"}))),
    )


def _answer_case(check: str) -> tuple[str, Case]:
    return check, Case(
        lambda: (answer("vllm"), ctx(TWO_VLLMS, answer_from=frozenset({"vllm"}))),
        lambda: (answer("vllm"), ctx(TWO_VLLMS, answer_from=frozenset({"vllm-b"}))),
    )


def _error_case(check: str) -> tuple[str, Case]:
    return check, Case(
        lambda: (error(502, "upstream_error"), ctx(error=E502)),
        lambda: (flat_anthropic_error(), ctx(error=E502)),
    )


CASES: dict[str, Case] = dict(
    [
        *(
            _calls_case(name)
            for name in (
                "providers_allowlist_respected",
                "excluded_providers_not_called",
                "cost_ceiling_respected",
                "data_policy_respected",
                "required_parameters_respected",
                "forced_tool_choice_respected",
                "output_mode_respected",
                "native_n_respected",
            )
        ),
        *(
            _answer_case(name)
            for name in (
                "preferred_provider_answers",
                "cheapest_provider_answers",
                "pool_cheapest_answers",
                "next_candidate_answers",
                "next_candidate_after_overload",
                "next_candidate_after_timeout",
            )
        ),
        *(
            _error_case(name)
            for name in (
                "allowlist_miss_is_400",
                "empty_filter_is_no_compatible_endpoint",
                "cost_ceiling_below_all_is_400",
                "unmeetable_latency_or_mode_is_400",
                "unmeetable_throughput_is_400",
                "required_params_unsupported_is_400",
                "only_byok_without_keys_is_400",
                "premium_tier_needs_opt_in",
                "tool_choice_required_unsupported_is_400",
                "capability_mismatch_is_400",
                "n_unsupported_is_no_compatible_endpoint",
                "single_attempt_error_is_mapped",
                "unknown_suffix_is_model_not_found",
                "upstream_429_stays_429",
                "upstream_overload_is_503",
                "upstream_timeout_is_504",
                "upstream_failure_is_502",
                "upstream_error_mapping",
            )
        ),
        (
            "fallback_mode_exhausts_models_in_order",
            Case(
                lambda: (
                    answer("openai"),
                    ctx(
                        [entry("vllm-b", 500, "error"), entry("vllm", 500, "error"), entry("openai")],
                        tried_first=frozenset({"vllm", "vllm-b"}),
                        answer_from=frozenset({"openai"}),
                    ),
                ),
                lambda: (
                    answer("openai"),
                    ctx(
                        [entry("vllm-b", 500, "error"), entry("openai")],
                        tried_first=frozenset({"vllm", "vllm-b"}),
                        answer_from=frozenset({"openai"}),
                    ),
                ),
            ),
        ),
        (
            "one_attempt_without_fallbacks",
            Case(
                lambda: (error(502, "upstream_error"), ctx([entry("vllm-b", 500, "error")], max_upstream=1)),
                lambda: (error(502, "upstream_error"), ctx(TWO_VLLMS, max_upstream=1)),
            ),
        ),
        (
            "fallback_attempts_capped",
            Case(
                lambda: (error(502, "upstream_error"), ctx(TWO_VLLMS, max_upstream=2)),
                lambda: (
                    error(502, "upstream_error"),
                    ctx([*TWO_VLLMS, entry("openai", 500, "error")], max_upstream=2),
                ),
            ),
        ),
        (
            "fallbacks_on_by_default",
            Case(
                lambda: (error(503, "service_unavailable"), ctx(TWO_VLLMS, min_upstream=2)),
                lambda: (
                    error(503, "service_unavailable"),
                    ctx([entry("vllm-b", 503, "error")], min_upstream=2),
                ),
            ),
        ),
        (
            "upstream_retry_after_preserved",
            Case(
                lambda: (
                    error(429, "rate_limit_exceeded", "rate_limit_error", RATE_LIMITED),
                    ctx(error=E429),
                ),
                lambda: (
                    error(429, "rate_limit_exceeded", "rate_limit_error", {**s.HEADERS, "retry-after": "1"}),
                    ctx(error=E429),
                ),
            ),
        ),
        (
            "upstream_retry_delay_kept",
            Case(
                lambda: (
                    error(429, "rate_limit_exceeded", "rate_limit_error", RATE_LIMITED),
                    ctx(error=E429),
                ),
                lambda: (error(429, "rate_limit_exceeded", "rate_limit_error"), ctx(error=E429)),
            ),
        ),
        (
            "upstream_overload_never_500",
            Case(
                lambda: (error(503, "service_unavailable"), ctx(error=ExpectedError(503))),
                lambda: (error(500, "internal_error"), ctx(error=ExpectedError(503))),
            ),
        ),
        (
            "anthropic_529_never_500",
            Case(
                lambda: (error(503, "service_unavailable"), ctx(error=ExpectedError(503))),
                lambda: (error(500, "internal_error"), ctx(error=ExpectedError(503))),
            ),
        ),
        (
            "deadline_bounds_the_chain",
            Case(
                lambda: (timed(error(504, "upstream_timeout"), 700), ctx(within_ms=1600)),
                lambda: (timed(error(504, "upstream_timeout"), 2400), ctx(within_ms=1600)),
            ),
        ),
        (
            "provider_names_answering_endpoint",
            Case(
                lambda: (answer("google"), ctx([entry("gemini")], instances={"google": "gemini"})),
                lambda: (answer("openai"), ctx([entry("gemini")], instances={"google": "gemini"})),
            ),
        ),
        (
            "suffix_sets_strategy",
            Case(
                lambda: (strategy_answer("ttft"), ctx(expected_strategy="ttft", expected_canonical="gpt-4o")),
                lambda: (
                    strategy_answer("cost-focus"),
                    ctx(expected_strategy="ttft", expected_canonical="gpt-4o"),
                ),
            ),
        ),
        (
            "extra_suffix_or_optimize_wins",
            Case(
                lambda: (strategy_answer("tps"), ctx(expected_strategy="tps")),
                lambda: (strategy_answer("tps", "gpt-4o:tps"), ctx(expected_canonical="gpt-4o")),
            ),
        ),
        (
            "multi_colon_id_looked_up_whole",
            Case(
                lambda: (error(404, "model_not_found", "not_found_error"), ctx(not_strategy="ttft")),
                lambda: (strategy_answer("ttft"), ctx(not_strategy="ttft")),
            ),
        ),
        (
            "n_choices_never_fewer",
            Case(
                lambda: (n_completion(2), Context(request={**s.REQUEST, "n": 2})),
                lambda: (n_completion(1), Context(request={**s.REQUEST, "n": 2})),
            ),
        ),
        (
            "upstream_keepalives_not_data",
            Case(lambda: (s.stream_exchange(), Context()), lambda: (ping_stream(), Context())),
        ),
        (
            "stream_logprobs_join_to_content",
            Case(
                lambda: (logprob_stream(True), Context(request={**s.REQUEST, "logprobs": True})),
                lambda: (logprob_stream(False), Context(request={**s.REQUEST, "logprobs": True})),
            ),
        ),
        (
            "upstream_failure_reported_in_stream",
            Case(
                lambda: (cut_stream(True), ctx(upstream_failed=True)),
                lambda: (cut_stream(False), ctx(upstream_failed=True)),
            ),
        ),
        (
            "pre_stream_error_is_non_2xx",
            Case(
                lambda: (
                    streamed(error(502, "upstream_error")),
                    RouteContext(request={**s.REQUEST, "stream": True}, error=E502),
                ),
                lambda: (cut_stream(True), RouteContext(request={**s.REQUEST, "stream": True}, error=E502)),
            ),
        ),
        (
            "cumulative_usage_not_summed",
            Case(
                lambda: (s.stream_exchange(), ctx(upstream_usage=(10, 4))),
                lambda: (summed_usage_stream(), ctx(upstream_usage=(10, 4))),
            ),
        ),
        (
            "sdk_sync_client_works",
            Case(
                lambda: (s.completion_exchange(), sdk(**SDK_STREAM)),
                lambda: (
                    s.completion_exchange(),
                    sdk(**{**SDK_STREAM, "chunks": 0, "last_chunk": None}),
                ),
            ),
        ),
        (
            "sdk_async_client_works",
            Case(
                lambda: (s.completion_exchange(), sdk(**SDK_COMPLETION)),
                lambda: (s.completion_exchange(), sdk(**{**SDK_COMPLETION, "routing_metadata": None})),
            ),
        ),
        (
            "sdk_extra_body_gateway",
            Case(
                lambda: (
                    s.completion_exchange(),
                    RouteContext(
                        sdk=SdkOutcome(
                            **{
                                **SDK_COMPLETION,
                                "routing_metadata": {"provider": "o", "routing_strategy": "ttft"},
                            }
                        ),
                        expected_strategy="ttft",
                    ),
                ),
                lambda: (
                    s.completion_exchange(),
                    RouteContext(sdk=SdkOutcome(**SDK_COMPLETION), expected_strategy="ttft"),
                ),
            ),
        ),
        (
            "sdk_error_classes",
            Case(
                lambda: (s.completion_exchange(), sdk(**SDK_ERROR)),
                lambda: (
                    s.completion_exchange(),
                    sdk(**{**SDK_ERROR, "raised": ("APIStatusError", "APIError")}),
                ),
            ),
        ),
        (
            "sdk_mid_stream_error_raises",
            Case(
                lambda: (
                    s.completion_exchange(),
                    sdk(kind="stream", chunks=2, raised=("APIError", "OpenAIError")),
                ),
                lambda: (s.completion_exchange(), sdk(**SDK_STREAM)),
            ),
        ),
    ]
)


#: checks proven here that need no scenario: they judge any answer to a request of their shape
SHAPE_CHECKS = {"n_choices_never_fewer", "upstream_keepalives_not_data", "stream_logprobs_join_to_content"}


def _route_checks() -> dict[str, Any]:
    """The scenario checks (they judge a `RouteContext`), and the request-shape checks above."""
    return {name: c for name, c in all_checks().items() if c.context is RouteContext or name in SHAPE_CHECKS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_good_observation_has_no_findings(name: str) -> None:
    exchange, context = CASES[name].good()
    assert run_checks(exchange, context, only=[name]) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_observation_names_the_requirement(name: str) -> None:
    exchange, context = CASES[name].broken()
    found = run_checks(exchange, context, only=[name])
    requirement = all_checks()[name].requirement
    assert found, f"{name} accepted a broken observation"
    assert {f.requirement for f in found} == {requirement}


def test_every_route_check_has_a_case() -> None:
    assert set(_route_checks()) == set(CASES)


def test_every_requirement_of_the_area_is_covered() -> None:
    covered = {c.requirement for c in _route_checks().values()}
    mine = {f"ROUTE-{i:03d}" for i in range(1, 31)} | {f"ERR-{i:03d}" for i in range(7, 12)}
    mine |= (
        {f"STREAM-{i:03d}" for i in range(15, 21)} | {f"CLIENT-{i:03d}" for i in range(1, 6)} | {"META-011"}
    )
    mine.discard("STREAM-016")  # judged by suites.checks.stream.mid_stream_error_event_format
    assert mine <= covered, sorted(mine - covered)


SCENARIO_CHECKS = sorted(set(CASES) - SHAPE_CHECKS)


@pytest.mark.parametrize("name", SCENARIO_CHECKS)
def test_scenario_checks_do_not_apply_without_their_scenario(name: str) -> None:
    """With a plain Context (another suite's call) a scenario check judges nothing and finds nothing."""
    check = all_checks()[name]
    for exchange in (s.completion_exchange(), s.stream_exchange(), error(502, "upstream_error")):
        assert check.judge(exchange, Context(request=s.REQUEST)) == ([], False)
        assert check.judge(exchange, RouteContext(request=s.REQUEST)) == ([], False)


def test_n_check_accepts_an_error_and_ignores_n_one() -> None:
    context = Context(request={**s.REQUEST, "n": 2})
    assert all_checks()["n_choices_never_fewer"].judge(
        error(400, "no_compatible_endpoint", "invalid_request_error"), context
    ) == ([], True)
    assert all_checks()["n_choices_never_fewer"].judge(
        s.completion_exchange(), Context(request=s.REQUEST)
    ) == ([], False)


def test_stream_failure_accepts_a_pre_stream_error_envelope() -> None:
    found = run_checks(
        error(502, "upstream_error"), ctx(upstream_failed=True), only=["upstream_failure_reported_in_stream"]
    )
    assert found == []


def test_usage_check_flags_usage_on_two_events() -> None:
    found = run_checks(
        doubled_usage_stream(), ctx(upstream_usage=(10, 4)), only=["cumulative_usage_not_summed"]
    )
    assert [f.requirement for f in found] == ["STREAM-019"]


def test_error_check_names_each_mismatch() -> None:
    want = ExpectedError(400, frozenset({"no_compatible_endpoint"}), param="n")
    got = s.error_exchange(
        400, {"message": "m", "type": "invalid_request_error", "code": "other", "param": "x"}
    )
    messages = [
        f.message for f in run_checks(got, ctx(error=want), only=["n_unsupported_is_no_compatible_endpoint"])
    ]
    assert any("code 'other'" in m for m in messages)
    assert any("param 'x'" in m for m in messages)
    ok = run_checks(answer(), ctx(error=want), only=["n_unsupported_is_no_compatible_endpoint"])
    assert ok
    assert "got 200" in ok[0].message


#: the checks that read who was called and who answered from the journal, each with a scenario whose
#: journal saw `vllm-b` alone answer where only `vllm` may
JOURNAL_READERS: dict[str, Callable[[], RouteContext]] = {
    **{
        name: lambda: ctx([entry("vllm-b")], allowed=frozenset({"vllm"}))
        for name in ("providers_allowlist_respected", "data_policy_respected", "native_n_respected")
    },
    **{
        name: lambda: ctx([entry("vllm-b")], forbidden=frozenset({"vllm-b"}))
        for name in ("excluded_providers_not_called", "cost_ceiling_respected")
    },
    **{
        name: lambda: ctx([entry("vllm-b")], answer_from=frozenset({"vllm"}))
        for name in ("preferred_provider_answers", "cheapest_provider_answers", "next_candidate_answers")
    },
    "fallback_mode_exhausts_models_in_order": lambda: ctx(
        [entry("vllm-b")], tried_first=frozenset({"vllm"}), answer_from=frozenset({"vllm"})
    ),
}


@pytest.mark.parametrize("name", sorted(JOURNAL_READERS))
def test_a_journal_reading_the_report_disputes_is_left_to_meta_011(name: str) -> None:
    """The report names `vllm`, the journal saw `vllm-b` answer: each finding sits at the disputed
    upstream identity, which META-011 owns (D-146: blocked by META-011 when META-011 failed there)."""
    check = all_checks()[name]
    found = check.run(answer("vllm"), JOURNAL_READERS[name]())
    assert found
    for finding in found:
        assert isinstance(finding.message, Located)
        assert finding.message.path == UPSTREAM_PROVIDER
        assert owners_of(check.defers, finding.message.path) == ("META-011",)


@pytest.mark.parametrize("name", sorted(JOURNAL_READERS))
def test_a_journal_reading_the_report_agrees_with_stays_firm(name: str) -> None:
    """The report names `vllm-b` too: the routing finding is the rule's own, whatever META-011 says."""
    check = all_checks()[name]
    found = check.run(answer("vllm-b"), JOURNAL_READERS[name]())
    assert found
    assert all(not owners_of(check.defers, getattr(f.message, "path", "")) for f in found)


def test_the_metadata_places_keep_their_owners() -> None:
    defers = all_checks()["cheapest_provider_answers"].defers
    assert "META-003" in owners_of(defers, "$.routing_metadata.provider")
    assert owners_of(defers, "$.routing_metadata.routing_strategy")


# --------------------------------------------------------------------------------------------------
# Journal readers and scenario discovery
# --------------------------------------------------------------------------------------------------


def test_upstream_model_reads_body_or_gemini_path() -> None:
    assert upstream_model({"body": {"model": "m1"}, "path": "/x"}) == "m1"
    gemini = {
        "body": {"contents": []},
        "path": "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    }
    assert upstream_model(gemini) == "gemini-2.5-flash"
    assert upstream_model({"body": None, "path": "/vllm/v1/chat/completions"}) is None


def test_answering_entries_keep_only_complete_answers() -> None:
    journal = [entry("a", 500, "error"), entry("b", 200, "disconnected"), entry("c"), entry("d", None, None)]
    assert [e["provider"] for e in answering_entries(journal)] == ["c"]


@pytest.mark.parametrize(
    ("usage", "counts"),
    [
        ({"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}, (9, 20)),
        ({"input_tokens": 9, "cache_read_input_tokens": 1, "output_tokens": 20}, (10, 20)),
        ({"promptTokenCount": 9, "candidatesTokenCount": 20, "thoughtsTokenCount": 16}, (9, 36)),
        ({"something": 1}, None),
        (None, None),
    ],
)
def test_native_usage_reads_every_provider_shape(usage: Any, counts: tuple[int, int] | None) -> None:
    assert native_usage({"response_usage": usage}) == counts


LISTING = {
    "object": "list",
    "data": [
        {"id": "solo", "providers": [{"name": "openai", "input_price": 0.15, "output_price": 0.6, "data_policy": "no_training"}]},
        {
            "id": "duo",
            "providers": [
                {"name": "fast", "input_price": 0.6, "output_price": 0.6, "data_policy": "zdr"},
                {"name": "slow", "input_price": 0.35, "output_price": 0.4, "data_policy": "no_training"},
            ],
        },
        {"id": "close", "providers": [
            {"name": "fast", "input_price": 1.0, "output_price": 1.0},
            {"name": "slow", "input_price": 0.95, "output_price": 0.95},
        ]},
        {"id": "dear", "providers": [{"name": "anthropic", "input_price": 3, "output_price": 15, "data_policy": "none"}]},
        {"id": "premium", "providers": []},
        {"id": "elsewhere", "providers": [{"name": "not-a-mock", "input_price": 0.01, "output_price": 0.01}]},
        {"id": "bad-prices", "providers": [{"name": "openai", "input_price": "cheap", "output_price": 1}]},
    ],
}  # fmt: skip
INSTANCES = {"fast": "vllm", "slow": "vllm-b"}


def _directory() -> Directory:
    return Directory.from_listing(
        LISTING, lambda name: INSTANCES.get(name, name), {"openai", "anthropic", "vllm", "vllm-b"}
    )


def test_directory_maps_providers_to_mock_instances() -> None:
    directory = _directory()
    assert directory.single("solo").instance == "openai"
    assert directory.single("solo").blended == pytest.approx(0.375)
    assert directory.offers["elsewhere"] == []
    assert directory.offers["bad-prices"] == []
    assert directory.single("duo") is None


def test_directory_finds_a_duo_with_a_clear_price_gap() -> None:
    cheap, dear = _directory().duo()
    assert (cheap.model, cheap.instance, dear.instance) == ("duo", "vllm-b", "vllm")
    assert (cheap.data_policy, dear.data_policy) == ("no_training", "zdr")
    only_close = Directory.from_listing(
        {"data": [LISTING["data"][2]]}, lambda n: INSTANCES.get(n, n), {"vllm", "vllm-b"}
    )
    assert only_close.duo() is None  # 0.95 vs 1.0: no clear cost-focus answer


def test_directory_pool_pair_policy_and_premium() -> None:
    directory = _directory()
    dear, cheap = directory.pool_pair(["solo", "dear", "duo", "missing"])
    assert (dear.model, cheap.model) == ("dear", "solo")
    assert directory.pool_pair(["solo"]) is None
    assert directory.without_policy("zdr", ["duo", "solo"]) == "solo"
    assert directory.without_policy("zdr", ["duo"]) is None
    assert directory.premium_only() == "premium"
    assert Directory.from_listing({"data": []}, str, set()).premium_only() is None
