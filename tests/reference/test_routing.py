"""Routing with known right answers: strategies, constraints and their codes, prefer, fallback plans.

The llama offerings are the yardstick: `vllm` is fast and pricier (blended 0.6 USD/1M, TTFT p50 150 ms,
120 tok/s), `vllm-b` slow and cheap (0.375, 400 ms, 45 tok/s).
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.reference_impl.catalog import load_catalog
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.routing import STRATEGY_WEIGHTS, Router
from auriko_conformance.reference_impl.stats import LiveStats
from auriko_conformance.reference_impl.validation import validate_chat_request

CATALOG = load_catalog()


def make_router() -> Router:
    return Router(CATALOG, LiveStats(CATALOG.all_offerings()))


def plan(body: dict[str, Any], router: Router | None = None):
    body = {"messages": [{"role": "user", "content": "hi"}], **body}
    return (router or make_router()).plan(validate_chat_request(body))


def providers(result) -> list[str]:
    return [o.provider for o in result.attempts]


def fails(body: dict[str, Any], code: str, param: str | None) -> None:
    with pytest.raises(GatewayError) as info:
        plan(body)
    assert info.value.code == code, info.value.message
    assert info.value.param == param


@pytest.mark.parametrize(
    ("strategy", "first"),
    [
        ("cost", "vllm-b"),
        ("cost-focus", "vllm-b"),
        ("ttft", "vllm"),
        ("ttft-focus", "vllm"),
        ("tps", "vllm"),
        ("tps-focus", "vllm"),
        ("balanced", "vllm"),
    ],
)
def test_each_strategy_picks_the_known_best(strategy, first):
    result = plan({"model": "llama-3.3-70b", "gateway": {"routing": {"optimize": strategy}}})
    assert providers(result)[0] == first
    assert result.strategy == strategy


def test_default_strategy_is_cost_focus():
    result = plan({"model": "llama-3.3-70b-instruct"})
    assert result.strategy == "cost-focus"
    assert providers(result) == ["vllm-b", "vllm"]


def test_every_strategy_has_weights_summing_to_one():
    for weights in STRATEGY_WEIGHTS.values():
        assert sum(weights) == pytest.approx(1)


@pytest.mark.parametrize(
    ("weights", "first"), [({"cost": 1}, "vllm-b"), ({"ttft": 2, "throughput": 1}, "vllm")]
)
def test_custom_weights(weights, first):
    result = plan({"model": "llama-3.3-70b", "gateway": {"routing": {"weights": weights}}})
    assert providers(result)[0] == first
    assert result.strategy == "custom"


def test_suffix_sets_strategy_and_explicit_optimize_wins():
    assert providers(plan({"model": "llama-3.3-70b:ttft"}))[0] == "vllm"
    assert plan({"model": "llama-3.3-70b:ttft"}).strategy == "ttft"
    result = plan({"model": "llama-3.3-70b:ttft", "gateway": {"routing": {"optimize": "cost"}}})
    assert result.strategy == "cost"
    assert providers(result)[0] == "vllm-b"


def test_prefer_is_a_soft_hint():
    assert (
        providers(plan({"model": "llama-3.3-70b", "gateway": {"routing": {"prefer": "vllm"}}}))[0] == "vllm"
    )
    assert (
        providers(plan({"model": "llama-3.3-70b", "gateway": {"routing": {"prefer": "nobody"}}}))[0]
        == "vllm-b"
    )


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        ({"max_cost_per_1m": 0.5}, ["vllm-b"]),
        ({"max_ttft_ms": 200}, ["vllm"]),
        ({"max_ttft_ms": 500, "ttft_percentile": "p95"}, ["vllm"]),
        ({"min_throughput_tps": 100}, ["vllm"]),
        ({"min_throughput_tps": 40, "throughput_percentile": "p95"}, ["vllm"]),
        ({"providers": ["vllm"]}, ["vllm"]),
        ({"exclude_providers": ["vllm-b"]}, ["vllm"]),
        ({"data_policy": "zdr"}, ["vllm"]),
        ({"data_policy": "no_training"}, ["vllm-b", "vllm"]),
    ],
)
def test_constraints_filter(routing, expected):
    assert providers(plan({"model": "llama-3.3-70b", "gateway": {"routing": routing}})) == expected


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (
            {"gateway": {"routing": {"max_cost_per_1m": 0.1}}},
            "cost_constraint_exceeded",
            "gateway.routing.max_cost_per_1m",
        ),
        (
            {"gateway": {"routing": {"max_ttft_ms": 100}}},
            "latency_constraint_exceeded",
            "gateway.routing.max_ttft_ms",
        ),
        (
            {"gateway": {"routing": {"min_throughput_tps": 500}}},
            "throughput_constraint_not_met",
            "gateway.routing.min_throughput_tps",
        ),
        (
            {"gateway": {"routing": {"providers": ["openai"]}}},
            "provider_not_in_allowlist",
            "gateway.routing.providers",
        ),
        (
            {"gateway": {"routing": {"exclude_providers": ["vllm", "vllm-b"]}}},
            "no_compatible_endpoint",
            "gateway.routing.exclude_providers",
        ),
        ({"gateway": {"routing": {"only_byok": True}}}, "byok_keys_required", "gateway.routing.only_byok"),
        ({"reasoning_effort": "high"}, "reasoning_not_supported", "reasoning_effort"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
                    }
                ]
            },
            "vision_not_supported",
            "messages",
        ),
    ],
)
def test_constraint_that_excludes_everything_has_its_own_code(body, code, param):
    fails({"model": "llama-3.3-70b", **body}, code, param)


def test_data_policy_with_no_match():
    fails(
        {"model": "gpt-4o", "gateway": {"routing": {"data_policy": "zdr"}}},
        "no_compatible_endpoint",
        "gateway.routing.data_policy",
    )


def test_require_parameters():
    body = {"model": "claude-sonnet-4-6", "seed": 1, "gateway": {"routing": {"require_parameters": True}}}
    fails(body, "required_params_not_supported", "gateway.routing.require_parameters")
    ok = {
        "model": "llama-3.3-70b",
        "seed": 1,
        "logit_bias": {"50": 1},
        "gateway": {"routing": {"require_parameters": True}},
    }
    assert providers(plan(ok)) == ["vllm-b", "vllm"]


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        (
            {
                "model": "claude-sonnet-4-6",
                "messages": [{"role": "user", "content": "Reply in JSON."}],  # D-054
                "response_format": {"type": "json_object"},
            },
            "json_mode_not_supported",
            "response_format",
        ),
        (
            {
                "model": "deepseek-chat",
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            },
            "structured_output_not_supported",
            "response_format",
        ),
        ({"model": "gpt-4o", "reasoning_effort": "low"}, "reasoning_not_supported", "reasoning_effort"),
        ({"model": "o3", "reasoning_effort": "off"}, "thinking_disable_not_supported", "reasoning_effort"),
        (
            {"model": "gemini-2.5-pro", "reasoning_effort": "off"},
            "thinking_disable_not_supported",
            "reasoning_effort",
        ),
        ({"model": "claude-sonnet-4-6", "n": 2}, "no_compatible_endpoint", "n"),
        (
            {
                "model": "claude-sonnet-4-6",
                "reasoning_effort": "high",
                "tools": TOOLS,
                "tool_choice": "required",
            },
            "tool_choice_required_not_supported",
            "tool_choice",
        ),
        (
            {
                "model": "deepseek-chat",
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}],
                    }
                ],
            },
            "vision_not_supported",
            "messages",
        ),
    ],
)
def test_capability_errors(body, code, param):
    fails(body, code, param)


def test_reasoning_off_on_a_model_without_reasoning_is_fine():
    assert providers(plan({"model": "gpt-4o", "reasoning_effort": "off"})) == ["openai"]


def test_forced_tool_choice_with_reasoning_goes_to_a_provider_that_honours_it():
    body = {
        "gateway": {"models": ["claude-sonnet-4-6", "o3"]},
        "reasoning_effort": "high",
        "tools": TOOLS,
        "tool_choice": "required",
    }
    assert providers(plan(body)) == ["openai"]


def test_tier():
    fails({"model": "claude-opus-4-7-fast"}, "tier_opt_in_required", "gateway.routing.tier")
    result = plan({"model": "claude-opus-4-7-fast", "gateway": {"routing": {"tier": "priority"}}})
    assert [o.tier for o in result.attempts] == ["priority"]
    assert [o.tier for o in plan({"model": "claude-opus-4-7"}).attempts] == ["standard"]
    priority = plan({"model": "claude-opus-4-7", "gateway": {"routing": {"tier": "priority"}}})
    assert [o.tier for o in priority.attempts] == ["priority"]


def test_multi_model_pool_and_fallback_modes():
    pool = plan({"gateway": {"models": ["gpt-4o", "llama-3.3-70b"]}})
    assert pool.attempts[0].model == "llama-3.3-70b-instruct"
    fallback = plan({"gateway": {"models": ["gpt-4o", "llama-3.3-70b"], "routing": {"mode": "fallback"}}})
    assert providers(fallback) == ["openai", "vllm-b", "vllm"]


def test_fallback_limits():
    body = {
        "gateway": {
            "models": ["gpt-4o", "llama-3.3-70b", "qwen3-32b"],
            "routing": {"max_fallback_attempts": 1},
        }
    }
    assert len(plan(body).attempts) == 2
    body["gateway"]["routing"] = {"allow_fallbacks": False}
    assert len(plan(body).attempts) == 1
    assert len(plan({"gateway": {"models": ["gpt-4o", "llama-3.3-70b", "qwen3-32b"]}}).attempts) == 4


def test_live_stats_change_the_answer():
    router = make_router()
    for _ in range(10):
        router.stats.record_ttft("vllm-b/llama-3.3-70b-instruct", 20.0)
        router.stats.record_ttft("vllm/llama-3.3-70b-instruct", 900.0)
    result = plan({"model": "llama-3.3-70b", "gateway": {"routing": {"optimize": "ttft-focus"}}}, router)
    assert providers(result)[0] == "vllm-b"


def test_stats_percentiles():
    stats = LiveStats(CATALOG.all_offerings(), window=100, min_samples=5)
    key = "vllm/llama-3.3-70b-instruct"
    assert stats.ttft(key) == 150
    for value in range(1, 101):
        stats.record_ttft(key, float(value))
        stats.record_tps(key, float(value))
    assert stats.ttft(key) == pytest.approx(50, abs=1)
    assert stats.ttft(key, "p95") == pytest.approx(95, abs=1)
    assert stats.tps(key, "p95") == pytest.approx(6, abs=1)  # slow tail of throughput
