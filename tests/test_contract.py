"""The contract itself: openapi.yaml is valid, complete against the docs, and enforces its rules.

The documented facts below are copied from the Auriko docs (the seed page of POST /v1/chat/completions
and the contract pages), so that this test needs nothing outside the repository.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.request.exceptions import InvalidRequestBody
from openapi_core.validation.response.exceptions import MissingRequiredHeader
from openapi_spec_validator import validate as validate_spec

from auriko_conformance import contract

# Every request field named on https://docs.auriko.ai/api-reference/chat-completions.
SEED_REQUEST_FIELDS = [
    "model", "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "reasoning_effort", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "top_k",
    "min_p", "top_a", "repetition_penalty", "tools", "tool_choice", "parallel_tool_calls", "functions",
    "function_call", "response_format", "stream", "stream_options", "user", "n", "logprobs",
    "top_logprobs", "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier",
    "gateway", "extensions",
]  # fmt: skip

# https://docs.auriko.ai/contract/response-metadata
ROUTING_METADATA_REQUIRED = {"provider", "provider_model_id", "model_canonical", "routing_strategy"}
ROUTING_METADATA_OPTIONAL = {"cost", "throughput_tps", "ttft_ms", "warnings"}
COST_FIELDS = {"usd", "cache_savings_percent", "cache_savings_usd"}
WARNING_TYPES = {
    "unsupported_parameter", "unsupported_feature", "unsupported_field", "ignored_extension",
    "unknown_provider", "blocked_field", "provider_timeout",
}  # fmt: skip

# https://docs.auriko.ai/guides/routing-options: the 20 RoutingOptions fields.
ROUTING_OPTIONS = {
    "optimize", "weights", "max_cost_per_1m", "max_ttft_ms", "min_throughput_tps", "ttft_percentile",
    "throughput_percentile", "providers", "exclude_providers", "prefer", "mode", "allow_fallbacks",
    "max_fallback_attempts", "timeout_ms", "deadline_ms", "data_policy", "only_byok", "only_platform",
    "require_parameters", "tier",
}  # fmt: skip

# https://docs.auriko.ai/contract/error-codes (current): code -> (HTTP status, type).
ERROR_TABLE: dict[str, tuple[int, str]] = {
    **{c: (401, "authentication_error") for c in
       ["invalid_api_key", "expired_api_key", "invalid_recovery_code", "mfa_verification_failed"]},
    **{c: (403, "permission_error") for c in
       ["insufficient_permissions", "feature_disabled", "mfa_required"]},
    **{c: (400, "invalid_request_error") for c in [
        "invalid_request", "missing_required_parameter", "invalid_parameter_value",
        "context_length_exceeded", "content_filtered", "field_immutable", "operation_not_allowed",
        "unknown_field", "payment_declined", "payment_method_invalid", "tools_not_supported",
        "json_mode_not_supported", "structured_output_not_supported",
        "tools_with_structured_output_not_supported", "vision_not_supported", "reasoning_not_supported",
        "thinking_disable_not_supported", "streaming_not_supported", "non_streaming_not_supported",
        "batch_only", "tier_opt_in_required", "tool_choice_required_not_supported",
        "cost_constraint_exceeded", "latency_constraint_exceeded", "throughput_constraint_not_met",
        "provider_not_in_allowlist", "provider_blocked", "required_params_not_supported",
        "byok_keys_required", "platform_keys_unavailable", "unsupported_modalities",
        "no_compatible_endpoint", "no_responses_endpoint", "input_requires_responses_endpoint",
        "response_api_only", "hosted_tool_not_supported", "no_tools_on_endpoint"]},
    "payload_too_large": (413, "invalid_request_error"),
    **{c: (409, "invalid_request_error") for c in
       ["idempotency_conflict", "idempotency_replay_unavailable", "state_precondition_failed",
        "duplicate_resource"]},
    "method_not_allowed": (405, "invalid_request_error"),
    "model_not_found": (404, "not_found_error"),
    "resource_not_found": (404, "not_found_error"),
    **{c: (429, "rate_limit_error") for c in
       ["rate_limit_exceeded", "budget_exhausted", "insufficient_quota"]},
    **{c: (503, "api_error") for c in ["no_provider_available", "model_unavailable", "service_unavailable"]},
    "upstream_error": (502, "api_error"),
    "upstream_timeout": (504, "api_error"),
    "internal_error": (500, "api_error"),
}  # fmt: skip

VALID_BODY: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return contract.load_spec()


@pytest.fixture(scope="module")
def api(spec: dict[str, Any]) -> OpenAPI:
    return OpenAPI.from_dict(copy.deepcopy(spec))


def test_spec_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_seed_request_field_is_in_the_contract() -> None:
    missing = sorted(set(SEED_REQUEST_FIELDS) - contract.request_fields())
    assert not missing, f"request fields on the seed page missing from openapi.yaml: {missing}"


def test_routing_metadata_fields_match_the_fact_sheet(spec: dict[str, Any]) -> None:
    required, every = contract.routing_metadata_fields()
    assert required == ROUTING_METADATA_REQUIRED
    assert every >= ROUTING_METADATA_REQUIRED | ROUTING_METADATA_OPTIONAL
    schemas = spec["components"]["schemas"]
    assert set(schemas["CostInfo"]["properties"]) >= COST_FIELDS
    assert schemas["CostInfo"]["required"] == ["usd"]
    assert set(schemas["StructuredWarning"]["properties"]) == {"type", "code", "message"}
    assert set(schemas["StructuredWarning"]["properties"]["type"]["enum"]) == WARNING_TYPES


def test_routing_options_has_all_twenty_fields() -> None:
    assert contract.routing_option_fields() == ROUTING_OPTIONS


def test_error_table_matches_the_docs_exactly() -> None:
    derived = {code: (entry.status, entry.type) for code, entry in contract.error_codes().items()}
    assert derived == ERROR_TABLE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 429, 500, 502, 503, 504])
def test_every_error_status_has_an_envelope_schema(spec: dict[str, Any], status: int) -> None:
    assert contract.error_schema_for_status(status) == f"Error{status}"
    assert status in contract.error_statuses()


def test_error_schema_rejects_a_code_from_another_status() -> None:
    wrong = {
        "error": {"message": "m", "type": "invalid_request_error", "code": "model_not_found", "param": None}
    }
    assert contract.violations("Error400", wrong)
    assert not contract.violations(
        "Error404",
        {"error": {"message": "m", "type": "not_found_error", "code": "model_not_found", "param": "model"}},
    )


def test_flattened_error_envelope_is_rejected() -> None:
    flat = {"message": "m", "type": "invalid_request_error", "code": "invalid_request", "param": None}
    assert contract.violations("Error400", flat)


# --------------------------------------------------------------------------------------------------
# Examples: every example in the contract satisfies its own schema (validated with openapi-core for
# operations, and with the JSON Schema validators for component schemas).
# --------------------------------------------------------------------------------------------------


def _schema_examples(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for name, schema in spec["components"]["schemas"].items():
        for i, example in enumerate(schema.get("examples", [])):
            yield f"{name}[{i}]", example


def test_major_schemas_have_examples(spec: dict[str, Any]) -> None:
    with_examples = {name.split("[")[0] for name, _ in _schema_examples(spec)}
    major = {
        "ChatCompletionRequest", "Tool", "NamedToolChoice", "ResponseFormat", "Gateway", "RoutingOptions",
        "RoutingWeights", "RequestMetadata", "Extensions", "Usage", "RoutingMetadata", "StructuredWarning",
        "ChatCompletionChunk", "ChatCompletionUsageChunk", "StreamError", "ErrorResponse", "Model",
    }  # fmt: skip
    assert major <= with_examples, sorted(major - with_examples)


@pytest.mark.parametrize(
    ("name", "example"),
    list(_schema_examples(contract.load_spec())),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_schema_example_conforms(name: str, example: Any) -> None:
    assert contract.violations(name.split("[")[0], example) == []


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _concrete_path(path: str) -> str:
    return path.replace("{model_id}", "gpt-4o")


def _mock_request(method: str, path: str, body: Any | None) -> MockRequest:
    data = orjson.dumps(body) if body is not None else None
    return MockRequest(
        "https://api.auriko.ai",
        method,
        _concrete_path(path),
        headers={"Authorization": "Bearer ak_test_conformance"},
        data=data,
        content_type="application/json" if body is not None else None,
    )


def test_every_operation_has_examples(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        ok = operation["responses"]["200"]
        media = next(iter(_resolve(spec, ok)["content"].values()))
        assert media.get("examples"), f"{method.upper()} {path}: 200 has no example"
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"].get("examples")


def _request_examples(spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    operation = spec["paths"]["/v1/chat/completions"]["post"]
    for key, example in operation["requestBody"]["content"]["application/json"]["examples"].items():
        yield key, example["value"]


@pytest.mark.parametrize(("key", "body"), list(_request_examples(contract.load_spec())))
def test_request_examples_pass_openapi_core(api: OpenAPI, key: str, body: Any) -> None:
    api.validate_request(_mock_request("post", "/v1/chat/completions", body))


def _response_examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, int, Any]]:
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            response = _resolve(spec, response)
            media = response.get("content", {}).get("application/json")
            if not media:
                continue
            for key, example in media.get("examples", {}).items():
                yield f"{method} {path} {status} {key}", path, int(status), _resolve(spec, example)["value"]


@pytest.mark.parametrize(
    ("label", "path", "status", "body"), list(_response_examples(contract.load_spec())), ids=lambda v: str(v)
)
def test_response_examples_pass_openapi_core(
    api: OpenAPI, label: str, path: str, status: int, body: Any
) -> None:
    method = label.split()[0]
    request_body = VALID_BODY if method == "post" else None
    headers = {"X-Request-ID": "req_1"}
    if status == 429:
        headers["Retry-After"] = "7"
    response = MockResponse(
        orjson.dumps(body), status_code=status, headers=headers, content_type="application/json"
    )
    api.validate_response(_mock_request(method, path, request_body), response)


def test_response_validation_requires_x_request_id(api: OpenAPI) -> None:
    body = _resolve(contract.load_spec(), {"$ref": "#/components/examples/ChatCompletionText"})["value"]
    response = MockResponse(orjson.dumps(body), status_code=200, headers={}, content_type="application/json")
    with pytest.raises(MissingRequiredHeader, match="X-Request-ID"):
        api.validate_response(_mock_request("post", "/v1/chat/completions", VALID_BODY), response)


def test_stream_example_events_conform(spec: dict[str, Any]) -> None:
    media = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    events = [
        line.removeprefix("data: ") for line in media["examples"]["stream"]["value"].splitlines() if line
    ]
    assert events[-1] == "[DONE]"
    for data in events:
        assert contract.violations("ChatCompletionStreamEvent", {"data": data}) == []
        if data != "[DONE]":
            assert contract.violations("StreamPayload", orjson.loads(data)) == []
    final = orjson.loads(events[-2])
    assert contract.is_valid("ChatCompletionUsageChunk", final)


def test_usage_chunk_with_choices_is_not_a_usage_chunk() -> None:
    chunk = {
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "routing_metadata": {"provider": "p", "provider_model_id": "m", "model_canonical": "m",
                             "routing_strategy": "cost"},
    }  # fmt: skip
    assert not contract.is_valid("ChatCompletionUsageChunk", chunk)
    assert not contract.is_valid("StreamPayload", chunk), "usage on a content chunk must break the contract"


# --------------------------------------------------------------------------------------------------
# Request validation: bodies that break the contract are rejected, by our validator and openapi-core.
# --------------------------------------------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID_BODY)
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_DROP = object()

INVALID_BODIES: dict[str, dict[str, Any]] = {
    "model_and_gateway_models": _with(gateway={"models": ["gpt-4o", "claude-sonnet-4-6"]}),
    "neither_model_nor_gateway_models": _with(model=_DROP),
    "gateway_without_models_and_no_model": _with(model=_DROP, gateway={"routing": {"optimize": "cost"}}),
    "temperature_3": _with(temperature=3),
    "temperature_negative": _with(temperature=-0.1),
    "top_p_above_1": _with(top_p=1.5),
    "n_11": _with(n=11),
    "n_0": _with(n=0),
    "empty_messages": _with(messages=[]),
    "messages_missing": _with(messages=_DROP),
    "unknown_role": _with(messages=[{"role": "robot", "content": "hi"}]),
    "tool_message_without_id": _with(messages=[{"role": "tool", "content": "x"}]),
    "max_tokens_0": _with(max_tokens=0),
    "max_completion_tokens_0": _with(max_completion_tokens=0),
    "reasoning_effort_unknown": _with(reasoning_effort="extreme"),
    "five_stops": _with(stop=["a", "b", "c", "d", "e"]),
    "presence_penalty_3": _with(presence_penalty=3),
    "frequency_penalty_minus_3": _with(frequency_penalty=-3),
    "top_k_0": _with(top_k=0),
    "min_p_2": _with(min_p=2),
    "top_a_negative": _with(top_a=-1),
    "top_logprobs_21": _with(top_logprobs=21),
    "tool_choice_unknown": _with(tool_choice="always"),
    "tool_choice_named_without_name": _with(tool_choice={"type": "function", "function": {}}),
    "tool_bad_name": _with(tools=[{"type": "function", "function": {"name": "has space"}}]),
    "response_format_schema_without_name": _with(
        response_format={"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}
    ),
    "response_format_unknown_type": _with(response_format={"type": "yaml"}),
    "stream_not_bool": _with(stream="yes"),
    "gateway_models_11": _with(model=_DROP, gateway={"models": [f"m{i}" for i in range(11)]}),
    "gateway_models_empty": _with(model=_DROP, gateway={"models": []}),
    "gateway_unknown_key": _with(gateway={"routin": {}}),
    "routing_unknown_optimize": _with(gateway={"routing": {"optimize": "fastest"}}),
    "routing_weights_all_zero": _with(gateway={"routing": {"weights": {"cost": 0, "ttft": 0}}}),
    "routing_weights_unknown_key": _with(gateway={"routing": {"weights": {"latency": 1}}}),
    "routing_weights_negative": _with(gateway={"routing": {"weights": {"cost": -1, "ttft": 1}}}),
    "routing_max_fallback_attempts_20": _with(gateway={"routing": {"max_fallback_attempts": 20}}),
    "routing_timeout_0": _with(gateway={"routing": {"timeout_ms": 0}}),
    "routing_max_cost_0": _with(gateway={"routing": {"max_cost_per_1m": 0}}),
    "routing_byok_and_platform": _with(gateway={"routing": {"only_byok": True, "only_platform": True}}),
    "routing_data_policy_unknown": _with(gateway={"routing": {"data_policy": "private"}}),
    "routing_percentile_p99": _with(gateway={"routing": {"ttft_percentile": "p99"}}),
    "metadata_unknown_key": _with(gateway={"metadata": {"owner": "me"}}),
    "metadata_custom_field_not_string": _with(gateway={"metadata": {"custom_fields": {"a": 1}}}),
    "extensions_provider_not_object": _with(extensions={"anthropic": "top_k=5"}),
    "logit_bias_out_of_range": _with(logit_bias={"50256": 101}),
}


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
def test_invalid_body_is_rejected(api: OpenAPI, case: str) -> None:
    body = INVALID_BODIES[case]
    assert contract.validate_request_body(body), f"{case} should violate the contract"
    with pytest.raises(InvalidRequestBody):
        api.validate_request(_mock_request("post", "/v1/chat/completions", body))


VALID_BODIES: dict[str, dict[str, Any]] = {
    "minimal": VALID_BODY,
    "multi_model": {"messages": VALID_BODY["messages"],
                    "gateway": {"models": ["gpt-4o", "claude-sonnet-4-6"]}},
    "suffix": _with(model="gpt-4o:ttft-focus"),
    "unknown_top_level_field_is_dropped_not_rejected": _with(prediction={"type": "content", "content": "x"}),
    "every_role": _with(
        messages=[
            {"role": "system", "content": "s"},
            {"role": "developer", "content": [{"type": "text", "text": "d"}]},
            {"role": "user", "content": [{"type": "text", "text": "u"},
                                         {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "assistant", "content": "ok", "reasoning_content": "thought"},
            {"role": "user", "content": "again"},
        ]
    ),
    "every_sampling_field": _with(
        temperature=0, top_p=1, max_tokens=1, max_completion_tokens=10, reasoning_effort="off", stop="\n",
        presence_penalty=-2, frequency_penalty=2, logit_bias={"1": -100}, seed=-1, top_k=1, min_p=0, top_a=1,
        repetition_penalty=1.1, n=10, logprobs=True, top_logprobs=20, user="u", verbosity="low",
        prompt_cache_key="k", safety_identifier="s", web_search_options={"search_context_size": "low"},
        stream=True, stream_options={"include_usage": False}, parallel_tool_calls=False,
        reasoning={"exclude": True},
    ),
    "named_tool_choice": _with(
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    ),
    "legacy_functions": _with(functions=[{"name": "f"}], function_call={"name": "f"}),
    "json_schema": _with(
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    ),
    "full_routing": _with(
        gateway={
            "routing": {
                "optimize": "balanced", "weights": {"cost": 1}, "max_cost_per_1m": 5, "max_ttft_ms": 900,
                "min_throughput_tps": 20, "ttft_percentile": "p95", "throughput_percentile": "p50",
                "providers": ["openai"], "exclude_providers": ["vllm"], "prefer": "openai",
                "mode": "fallback",
                "allow_fallbacks": False, "max_fallback_attempts": 19, "timeout_ms": 1000,
                "deadline_ms": 5000, "data_policy": "zdr", "only_byok": True, "only_platform": False,
                "require_parameters": True, "tier": "priority",
            },
            "metadata": {"tags": ["a"], "user_id": "u", "trace_id": "t", "custom_fields": {"k": "v"}},
        },
        extensions={"anthropic": {"metadata": {"user_id": "x"}}, "mistral": {"safe_prompt": True}},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(VALID_BODIES))
def test_valid_body_is_accepted(api: OpenAPI, case: str) -> None:
    body = VALID_BODIES[case]
    assert contract.validate_request_body(body) == []
    api.validate_request(_mock_request("post", "/v1/chat/completions", body))


def test_violation_names_the_offending_path() -> None:
    found = contract.validate_request_body(_with(gateway={"routing": {"max_fallback_attempts": 20}}))
    assert any("max_fallback_attempts" in v.path for v in found), found


def test_contract_cli_reports_a_bad_body(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(INVALID_BODIES["temperature_3"]))
    good = tmp_path / "good.json"
    good.write_bytes(orjson.dumps(VALID_BODY))
    assert contract.main([str(good)]) == 0
    assert contract.main([str(bad)]) == 1
    assert "temperature" in capsys.readouterr().out
