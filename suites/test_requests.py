"""REQ: request validation. Bad input gets the contract's envelope with the right code and `param`."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks.xlate import journal_context, warnings_unreadable
from auriko_conformance.suites.plugin import Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Target

#: cases whose rule is the Auriko contract's own limit, beyond what OpenAI's API checks (D-092)
AURIKO = pytest.mark.level("auriko")

USER = [{"role": "user", "content": "Hello"}]
BAD = "invalid_parameter_value"
#: where a requirement names no code, a missing part and a wrong value are both fair answers
INVALID = {BAD, "missing_required_parameter"}


def _body(profile: TargetProfile, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": profile.default_model, "messages": USER}
    for key, value in fields.items():
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_DROP = object()


@pytest.mark.requirement("REQ-001")
def test_messages_missing_or_empty(target: Target, profile: TargetProfile, judge: Judge) -> None:
    missing = target.chat(_body(profile, messages=_DROP))
    expect.error(judge, missing, "REQ-001", status=400, code="missing_required_parameter", param="messages")
    empty = target.chat(_body(profile, messages=[]))
    expect.error(judge, empty, "REQ-001", status=400, code=BAD, param="messages")


@pytest.mark.requirement("REQ-002")
def test_neither_model_nor_gateway_models(target: Target, profile: TargetProfile, judge: Judge) -> None:
    exchange = target.chat(_body(profile, model=_DROP))
    expect.error(judge, exchange, "REQ-002", status=400, code="missing_required_parameter", param="model")


@pytest.mark.requirement("REQ-003")
@pytest.mark.needs("multi_model")
def test_model_and_gateway_models(target: Target, profile: TargetProfile, judge: Judge) -> None:
    exchange = target.chat(_body(profile, gateway={"models": [profile.default_model]}))
    expect.error(judge, exchange, "REQ-003", status=400, code=BAD, param="gateway.models")


OUT_OF_RANGE = [
    ("temperature", 2.01), ("temperature", -0.5), ("top_p", 1.5), ("min_p", -0.1), ("top_a", 1.01),
    ("presence_penalty", 2.5), ("frequency_penalty", -2.5), ("max_tokens", 0), ("max_completion_tokens", 0),
    ("top_k", 0), ("n", 0), pytest.param("n", 11, marks=AURIKO),  # n <= 10 is Auriko's limit
]  # fmt: skip
BOUNDARIES = [
    ("temperature", 0), ("temperature", 2), ("top_p", 0), ("top_p", 1), ("presence_penalty", -2),
    ("frequency_penalty", 2), ("max_completion_tokens", 1), ("n", 1),
]  # fmt: skip


@pytest.mark.requirement("REQ-004")
@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_out_of_range(target: Target, profile: TargetProfile, judge: Judge, field: str, value: Any) -> None:
    exchange = target.chat(_body(profile, **{field: value}))
    expect.error(judge, exchange, "REQ-004", status=400, code=BAD, param=field)


@pytest.mark.requirement("REQ-004")
@pytest.mark.parametrize(("field", "value"), BOUNDARIES)
def test_boundaries_accepted(
    target: Target, profile: TargetProfile, judge: Judge, field: str, value: Any
) -> None:
    expect.accepted(judge, target.chat(_body(profile, **{field: value})), "REQ-004", field)


@pytest.mark.requirement("REQ-005")
@pytest.mark.parametrize("stream", [False, True])
def test_top_logprobs_over_20(target: Target, profile: TargetProfile, judge: Judge, stream: bool) -> None:
    exchange = target.chat(_body(profile, logprobs=True, top_logprobs=21, stream=stream))
    expect.error(judge, exchange, "REQ-005", status=400, code=BAD, param="top_logprobs")
    after = target.chat(_body(profile))
    judge.require("REQ-005", after.status == 200, f"the next valid request got HTTP {after.status}", after)


@pytest.mark.requirement("REQ-006")
def test_repetition_penalty(target: Target, profile: TargetProfile, judge: Judge) -> None:
    for value in (0, -1):
        exchange = target.chat(_body(profile, repetition_penalty=value))
        expect.error(judge, exchange, "REQ-006", status=400, code=BAD, param="repetition_penalty")
    expect.accepted(
        judge, target.chat(_body(profile, repetition_penalty=0.5)), "REQ-006", "repetition_penalty"
    )


@pytest.mark.requirement("REQ-007")
@pytest.mark.parametrize("value", ["minimal", "none", ""])
def test_reasoning_effort_enum(target: Target, profile: TargetProfile, judge: Judge, value: str) -> None:
    exchange = target.chat(_body(profile, reasoning_effort=value))
    expect.error(judge, exchange, "REQ-007", status=400, code=BAD, param="reasoning_effort")


@pytest.mark.requirement("REQ-008")
def test_verbosity_enum(target: Target, profile: TargetProfile, judge: Judge) -> None:
    exchange = target.chat(_body(profile, verbosity="loud"))
    expect.error(judge, exchange, "REQ-008", status=400, code=BAD, param="verbosity")


TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


@pytest.mark.requirement("REQ-009")
@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": [TOOL], "tool_choice": "always"}, "tool_choice"),
        ({"tools": [{"function": {"name": "f"}}]}, "tools"),
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools"),
    ],
    ids=["tool_choice_enum", "tool_without_type", "tool_without_name"],
)
def test_tools_validated(
    target: Target, profile: TargetProfile, judge: Judge, fields: dict[str, Any], param: str
) -> None:
    exchange = target.chat(_body(profile, **fields))
    expect.error(judge, exchange, "REQ-009", status=400, code=INVALID, param_prefix=param)


@pytest.mark.requirement("REQ-009")
@pytest.mark.needs("tools")
def test_named_tool_choice_accepted(target: Target, profile: TargetProfile, judge: Judge) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    exchange = target.chat(_body(profile, tools=[TOOL], tool_choice=choice))
    expect.accepted(judge, exchange, "REQ-009", "tool_choice")


@pytest.mark.requirement("REQ-010")
@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "yaml"},
        {"type": "json_schema", "json_schema": {"schema": {"type": "object"}}},
        pytest.param({"type": "json_schema", "json_schema": {"name": "x"}}, marks=AURIKO),
    ],
    ids=["unknown_type", "schema_without_name", "schema_without_schema"],
)
def test_response_format_validated(
    target: Target, profile: TargetProfile, judge: Judge, response_format: dict[str, Any]
) -> None:
    exchange = target.chat(_body(profile, response_format=response_format))
    expect.error(judge, exchange, "REQ-010", status=400, code=INVALID, param_prefix="response_format")


@pytest.mark.requirement("REQ-011")
@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "robot", "content": "hi"}],
        [{"role": "tool", "content": "42"}],
        pytest.param([{"role": "user", "content": [{"type": "video", "video": "x"}]}], marks=AURIKO),
        pytest.param(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "max"}}
                    ],
                }
            ],
            marks=AURIKO,
        ),
        pytest.param(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "hi", "cache_control": {"type": "forever"}}],
                }
            ],
            marks=AURIKO,
        ),
    ],
    ids=["unknown_role", "tool_without_id", "unknown_part", "bad_detail", "bad_cache_control"],
)
def test_message_shapes_validated(
    target: Target, profile: TargetProfile, judge: Judge, messages: list[dict[str, Any]]
) -> None:
    exchange = target.chat(_body(profile, messages=messages))
    expect.error(judge, exchange, "REQ-011", status=400, code=INVALID, param_prefix="messages")


@pytest.mark.requirement("REQ-012")
@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", "hot"), ("stream", "yes"), ("messages", {}), ("seed", 1.5), ("logprobs", "true")],
)
def test_wrong_json_types(
    target: Target, profile: TargetProfile, judge: Judge, field: str, value: Any
) -> None:
    exchange = target.chat(_body(profile, **{field: value}))
    expect.error(judge, exchange, "REQ-012", status=400, code=BAD, param=field)


@pytest.mark.requirement("REQ-013")
@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"hello"', b"42", b""], ids=str)
def test_unparseable_body(target: Target, judge: Judge, raw: bytes) -> None:
    exchange = target.request(
        "POST", "/v1/chat/completions", raw=raw, headers={"Content-Type": "application/json"}
    )
    expect.error(judge, exchange, "REQ-013", status=400, code="invalid_request")


DOCUMENTED = [
    ("stop", "END"), ("stop", ["END", "STOP"]), ("seed", 7), ("user", "user-1"),
    ("logit_bias", {"50256": -100}), ("presence_penalty", 0.5), ("frequency_penalty", 0.5),
    ("max_tokens", 64), ("max_completion_tokens", 64),
    ("parallel_tool_calls", True), ("stream", False), ("n", 1), ("logprobs", False),
    ("prompt_cache_key", "conv-1"), ("safety_identifier", "hash-1"),
    # OpenAI's own API refuses web_search_options on a model without search; Auriko drops it with a warning
    pytest.param("web_search_options", {}, marks=AURIKO),
    ("response_format", {"type": "text"}), ("functions", [{"name": "f", "parameters": {"type": "object"}}]),
]  # fmt: skip


@pytest.mark.requirement("REQ-014")
@pytest.mark.parametrize(("field", "value"), DOCUMENTED, ids=lambda v: str(v)[:24])
def test_documented_parameters_accepted(
    target: Target, profile: TargetProfile, judge: Judge, field: str, value: Any
) -> None:
    expect.accepted(judge, target.chat(_body(profile, **{field: value})), "REQ-014", field)


@pytest.mark.requirement("REQ-014")
def test_legacy_function_call_accepted(target: Target, profile: TargetProfile, judge: Judge) -> None:
    functions = [{"name": "f", "parameters": {"type": "object"}}]
    exchange = target.chat(_body(profile, functions=functions, function_call="auto"))
    expect.accepted(judge, exchange, "REQ-014", "functions", "function_call")


@pytest.mark.requirement("REQ-014")
def test_top_logprobs_accepted(target: Target, profile: TargetProfile, judge: Judge) -> None:
    expect.accepted(
        judge,
        target.chat(_body(profile, logprobs=True, top_logprobs=0)),
        "REQ-014",
        "top_logprobs",
        "logprobs",
    )


@pytest.mark.requirement("REQ-014")
def test_developer_role_accepted(target: Target, profile: TargetProfile, judge: Judge) -> None:
    messages = [{"role": "developer", "content": "Be brief."}, *USER]
    exchange = target.chat(_body(profile, messages=messages))
    expect.accepted(judge, exchange, "REQ-014", "messages", "developer")


@pytest.mark.requirement("REQ-015")
def test_at_most_four_stops(target: Target, profile: TargetProfile, judge: Judge) -> None:
    five = target.chat(_body(profile, stop=["a1", "b2", "c3", "d4", "e5"]))
    expect.error(judge, five, "REQ-015", status=400, code=BAD, param="stop")
    expect.success(judge, target.chat(_body(profile, stop=["a1", "b2", "c3", "d4"])), "REQ-015")


def mocks_journal(request: pytest.FixtureRequest, tag: str) -> list[dict[str, Any]]:
    """The upstream requests this test's tag caused, when the run has mocks (empty otherwise)."""
    if not request.config.getoption("--mock-url"):
        return []
    return request.getfixturevalue("mocks").settled_journal(tag)


@pytest.mark.requirement("REQ-016")
@pytest.mark.needs("warnings")
def test_unknown_top_level_field_dropped_with_warning(
    target: Target, profile: TargetProfile, judge: Judge, tag: str, request: pytest.FixtureRequest
) -> None:
    exchange = target.chat(_body(profile, frobnicate=1), tag=tag)
    # With mocks, what reached the provider: the field must be absent there too, and a provider's
    # refusal of it is this rule's finding, not "a valid request was refused" (REQ-027).
    journal = mocks_journal(request, tag)
    upstream = journal_context(exchange.request_body or {}, journal)
    if not expect.success(judge, exchange, "REQ-016", upstream=upstream, journal=journal):
        return
    if upstream is not None:
        judge(exchange, upstream, only=["unknown_fields_not_forwarded"])
    warnings = ((exchange.json or {}).get("routing_metadata") or {}).get("warnings") or []
    named = [
        w for w in warnings
        if isinstance(w, dict) and w.get("type") == "unsupported_field"
        and "frobnicate" in f"{w.get('code')} {w.get('message')}"
    ]  # fmt: skip
    claimed = profile.claims_feature("routing_metadata")
    unreadable = None if named else warnings_unreadable(exchange, typed=True, claimed=claimed)
    if unreadable:
        judge.block("REQ-016", unreadable[1], unreadable[0], stops=False)
        return
    judge.require(
        "REQ-016", bool(named), f"no unsupported_field warning names frobnicate: {warnings}", exchange
    )


@pytest.mark.requirement("REQ-017")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize(
    ("gateway", "param"),
    [
        ({"routin": {}}, "gateway.routin"),
        ({"routing": {"speed": "max"}}, "gateway.routing.speed"),
        ({"metadata": {"owner": "me"}}, "gateway.metadata.owner"),
    ],
    ids=["gateway", "routing", "metadata"],
)
def test_unknown_gateway_keys(
    target: Target, profile: TargetProfile, judge: Judge, gateway: dict[str, Any], param: str
) -> None:
    exchange = target.chat(_body(profile, gateway=gateway))
    expect.error(judge, exchange, "REQ-017", status=400, code="unknown_field", param=param)


ROUTING_INVALID = [
    ({"optimize": "cheapest"}, "optimize"), ({"optimize": "fastest"}, "optimize"), ({"mode": "race"}, "mode"),
    ({"data_policy": "private"}, "data_policy"), ({"ttft_percentile": "p99"}, "ttft_percentile"),
    ({"throughput_percentile": "p90"}, "throughput_percentile"), ({"max_cost_per_1m": 0}, "max_cost_per_1m"),
    ({"max_ttft_ms": 0}, "max_ttft_ms"), ({"min_throughput_tps": -1}, "min_throughput_tps"),
    ({"timeout_ms": 0}, "timeout_ms"), ({"deadline_ms": -5}, "deadline_ms"),
    ({"only_byok": True, "only_platform": True}, ("only_byok", "only_platform")),
]  # fmt: skip


@pytest.mark.requirement("REQ-018")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize(("routing", "field"), ROUTING_INVALID, ids=lambda v: str(v)[:30])
def test_routing_constraints_validated(
    target: Target,
    profile: TargetProfile,
    judge: Judge,
    routing: dict[str, Any],
    field: str | tuple[str, ...],
) -> None:
    exchange = target.chat(_body(profile, gateway={"routing": routing}))
    fields = field if isinstance(field, tuple) else (field,)
    expect.error(judge, exchange, "REQ-018", status=400, code=BAD)
    expect.param(judge, exchange, "REQ-018", {f"gateway.routing.{f}" for f in fields})


@pytest.mark.requirement("REQ-019")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize(
    ("routing", "param"),
    [
        ({"weights": {"latency": 1}}, "gateway.routing.weights"),
        ({"weights": {"cost": -1, "ttft": 1}}, "gateway.routing.weights"),
        ({"weights": {"cost": 0, "ttft": 0}}, "gateway.routing.weights"),
        ({"timeout_ms": 5000, "deadline_ms": 1000}, "gateway.routing.deadline_ms"),
    ],
    ids=["unknown_key", "negative", "all_zero", "deadline_below_timeout"],
)
def test_weights_and_deadline_checked_server_side(
    target: Target, profile: TargetProfile, judge: Judge, routing: dict[str, Any], param: str
) -> None:
    exchange = target.chat(_body(profile, gateway={"routing": routing}))
    expect.error(judge, exchange, "REQ-019", status=400, code=INVALID | {"unknown_field"}, param_prefix=param)


@pytest.mark.requirement("REQ-020")
@pytest.mark.needs("gateway_routing")
def test_max_fallback_attempts_range(target: Target, profile: TargetProfile, judge: Judge) -> None:
    for value in (0, 20):
        exchange = target.chat(_body(profile, gateway={"routing": {"max_fallback_attempts": value}}))
        expect.error(
            judge, exchange, "REQ-020", status=400, code=BAD, param="gateway.routing.max_fallback_attempts"
        )
    for value in (1, 19):
        exchange = target.chat(_body(profile, gateway={"routing": {"max_fallback_attempts": value}}))
        expect.success(judge, exchange, "REQ-020")


METADATA_OVER = [
    {"tags": [f"t{i}" for i in range(33)]}, {"tags": ["x" * 129]}, {"user_id": "u" * 257},
    {"trace_id": "t" * 257}, {"custom_fields": {f"k{i}": "v" for i in range(33)}},
    {"custom_fields": {"k" * 65: "v"}}, {"custom_fields": {"k": 1}}, {"custom_fields": {"k": "v" * 513}},
]  # fmt: skip
METADATA_AT_LIMIT = {
    "tags": ["x" * 128 for _ in range(32)], "user_id": "u" * 256, "trace_id": "t" * 256,
    "custom_fields": {("k" * 62) + f"{i:02d}": "v" * 512 for i in range(32)},
}  # fmt: skip


@pytest.mark.requirement("REQ-021")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("metadata", METADATA_OVER, ids=lambda m: next(iter(m)))
def test_metadata_limits(
    target: Target, profile: TargetProfile, judge: Judge, metadata: dict[str, Any]
) -> None:
    exchange = target.chat(_body(profile, gateway={"metadata": metadata}))
    expect.error(judge, exchange, "REQ-021", status=400, code=BAD, param_prefix="gateway.metadata")


@pytest.mark.requirement("REQ-021", "META-013")
@pytest.mark.needs("gateway_routing")
def test_metadata_at_limits_accepted(target: Target, profile: TargetProfile, judge: Judge) -> None:
    exchange = target.chat(_body(profile, gateway={"metadata": METADATA_AT_LIMIT}))
    expect.success(judge, exchange, "REQ-021")  # runs META-013's check on it too


@pytest.mark.requirement("REQ-022")
@pytest.mark.needs("multi_model")
def test_gateway_models_limits(target: Target, profile: TargetProfile, judge: Judge) -> None:
    for models in ([], [profile.default_model] * 11):
        exchange = target.chat({"messages": USER, "gateway": {"models": models}})
        expect.error(judge, exchange, "REQ-022", status=400, code=BAD, param="gateway.models")
    unknown = target.chat(
        {"messages": USER, "gateway": {"models": [profile.default_model, profile.unknown_model]}}
    )
    expect.error(judge, unknown, "REQ-022", status=404, code="model_not_found")


@pytest.mark.requirement("REQ-023")
def test_reasoning_object(target: Target, profile: TargetProfile, judge: Judge) -> None:
    expect.success(judge, target.chat(_body(profile, reasoning={"exclude": True})), "REQ-023")
    for value in ("exclude", {"exclude": "yes"}, {"exclude": True, "budget": 5}):
        exchange = target.chat(_body(profile, reasoning=value))
        expect.error(judge, exchange, "REQ-023", status=400, code=BAD, param_prefix="reasoning")


@pytest.mark.requirement("REQ-024")
def test_stream_options_need_stream(target: Target, profile: TargetProfile, judge: Judge) -> None:
    for stream in (False, _DROP):
        exchange = target.chat(_body(profile, stream=stream, stream_options={"include_usage": True}))
        expect.error(judge, exchange, "REQ-024", status=400, code=BAD, param="stream_options")


@pytest.mark.requirement("REQ-025")
def test_body_size_limit(target: Target, profile: TargetProfile, judge: Judge) -> None:
    big = _body(profile, messages=[{"role": "user", "content": "x" * (4 * 1024 * 1024 + 16)}])
    exchange = target.chat(big)
    expect.error(judge, exchange, "REQ-025", status=413, code="payload_too_large")


@pytest.mark.requirement("REQ-025")
def test_message_count_and_depth_limits(target: Target, profile: TargetProfile, judge: Judge) -> None:
    many = target.chat(_body(profile, messages=[{"role": "user", "content": "hi"}] * 2049))
    expect.error(judge, many, "REQ-025", status=400, code=BAD, param="messages")
    deep: Any = "x"
    for _ in range(80):
        deep = {"a": deep}
    nested = target.chat(_body(profile, extensions={"openai": deep}))
    expect.error(judge, nested, "REQ-025", status=400, code="invalid_request")


@pytest.mark.requirement("REQ-026")
def test_unknown_model(target: Target, profile: TargetProfile, judge: Judge) -> None:
    exchange = target.chat(_body(profile, model=profile.unknown_model))
    expect.error(judge, exchange, "REQ-026", status=404, code="model_not_found", param="model")
