"""The fuzzer's own checks and hooks (suites/fuzzing/checks.py), without a server.

Each schemathesis check is shown to pass a correct response and to fail, with the right requirement ID,
on a response that breaks it; the hooks are shown to make generated bodies fit the target without
turning a negative case positive.
"""

from __future__ import annotations

import copy
import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
import yaml
from auriko_conformance.suites.fuzzing import checks as fuzz_checks
from auriko_conformance.suites.fuzzing.checks import (
    ConformanceFailure,
    FuzzTarget,
    auriko_error_envelope,
    auriko_routing_metadata,
    auriko_stream_framing,
    fit_to_target,
    satisfy_cross_field_rules,
)
from auriko_conformance.suites.profile import load_profile
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from auriko_conformance.paths import OPENAPI_PATH
from tests.suites import samples

CHAT = "/v1/chat/completions"
LITELLM_PROFILE = Path(__file__).resolve().parents[1] / "fixtures" / "profiles" / "litellm.yaml"
REQUEST_BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_path(OPENAPI_PATH)


def make_case(schema: Any, body: Any = None, *, path: str = CHAT, method: str = "POST") -> Any:
    operation = schema[path][method]
    if method == "POST":
        return operation.Case(body=copy.deepcopy(body if body is not None else REQUEST_BODY))
    return operation.Case()


def response(status: int, body: Any, *, headers: dict[str, str] | None = None, path: str = CHAT) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    request = httpx.Request("POST", f"http://target.test{path}")
    raw = httpx.Response(status, content=content, headers=headers or samples.HEADERS, request=request)
    raw.elapsed = datetime.timedelta(milliseconds=5)
    return Response.from_any(raw)


def failures_of(check: Any, resp: Response, case: Any) -> list[Failure]:
    try:
        check(None, resp, case)
    except FailureGroup as group:
        return list(group.exceptions)
    except Failure as failure:
        return [failure]
    return []


def requirements(found: list[Failure]) -> set[str]:
    return {f.requirement for f in found if isinstance(f, ConformanceFailure)}


def envelope(code: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": "m", "type": type_, "code": code, "param": None, **extra}}


# ------------------------------------------------------------------------------------------ error envelope


def test_error_envelope_passes_a_correct_error(schema):
    resp = response(400, envelope("invalid_parameter_value", "invalid_request_error"))
    assert failures_of(auriko_error_envelope, resp, make_case(schema)) == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(400, {"message": "bad"}, {"SCHEMA-006", "ERR-001"}, id="not-an-envelope"),
        pytest.param(502, b"", {"SCHEMA-006"}, id="empty-body"),
        pytest.param(
            404, envelope("invalid_parameter_value", "invalid_request_error"), {"ERR-001"},
            id="code-of-another-status",
        ),
        pytest.param(
            400, envelope("invalid_parameter_value", "api_error"), {"ERR-001"}, id="wrong-type"
        ),
        pytest.param(400, envelope("capability_mismatch", "invalid_request_error"), {"ERR-002"}, id="legacy-code"),
        pytest.param(
            500, {"error": {"message": "m", "type": "api_error", "code": "internal_error"}}, {"SCHEMA-006"},
            id="param-missing",
        ),
    ],
)  # fmt: skip
def test_error_envelope_fails_broken_errors(schema, status, body, expected):
    found = failures_of(auriko_error_envelope, response(status, body), make_case(schema))
    assert expected <= requirements(found), found


def test_error_envelope_fails_a_200_that_is_an_error(schema):
    resp = response(200, envelope("upstream_error", "api_error"))
    assert "ERR-003" in requirements(failures_of(auriko_error_envelope, resp, make_case(schema)))


def test_error_envelope_fails_non_json_error_media_type(schema):
    body = orjson.dumps(envelope("invalid_parameter_value", "invalid_request_error"))
    resp = response(400, body, headers={"content-type": "text/plain", "x-request-id": "r"})
    assert "ERR-004" in requirements(failures_of(auriko_error_envelope, resp, make_case(schema)))


# ---------------------------------------------------------------------------------------- routing_metadata


def test_routing_metadata_passes_a_correct_completion(schema):
    resp = response(200, samples.completion())
    assert failures_of(auriko_routing_metadata, resp, make_case(schema)) == []


def test_routing_metadata_fails_a_completion_without_it(schema):
    body = samples.completion()
    del body["routing_metadata"]
    found = failures_of(auriko_routing_metadata, response(200, body), make_case(schema))
    assert requirements(found) == {"META-001"}


@pytest.mark.parametrize("field", ["provider", "provider_model_id", "model_canonical", "routing_strategy"])
def test_routing_metadata_fails_a_missing_required_field(schema, field):
    body = samples.completion()
    body["routing_metadata"][field] = ""
    found = failures_of(auriko_routing_metadata, response(200, body), make_case(schema))
    assert requirements(found) == {"META-003"}


def test_routing_metadata_fails_a_stream_whose_final_chunk_lacks_it(schema):
    payloads = samples.stream_payloads()
    del payloads[-2]["routing_metadata"]
    resp = response(200, samples.sse(payloads), headers=samples.SSE_HEADERS)
    case = make_case(schema, {**REQUEST_BODY, "stream": True})
    assert "STREAM-005" in requirements(failures_of(auriko_routing_metadata, resp, case))


def test_routing_metadata_ignores_other_operations(schema):
    resp = response(200, {"object": "list", "data": []}, path="/v1/models")
    assert (
        failures_of(auriko_routing_metadata, resp, make_case(schema, path="/v1/models", method="GET")) == []
    )


# ------------------------------------------------------------------------------------------ stream framing


def stream_case(schema: Any) -> Any:
    return make_case(schema, {**REQUEST_BODY, "stream": True})


def test_stream_framing_passes_a_correct_stream(schema):
    fuzz_checks.reset_counters()
    for payloads in (samples.stream_payloads(), samples.stream_payloads(tool_calls=True)):
        resp = response(200, samples.sse(payloads), headers=samples.SSE_HEADERS)
        assert failures_of(auriko_stream_framing, resp, stream_case(schema)) == []
    assert fuzz_checks.INFORMATIONAL.as_list() == []


def _without_done() -> list[Any]:
    return samples.stream_payloads()[:-1]


def _done_twice() -> list[Any]:
    return [*samples.stream_payloads(), "[DONE]"]


def _usage_not_last() -> list[Any]:
    payloads = samples.stream_payloads()
    payloads[-2], payloads[-3] = payloads[-3], payloads[-2]
    return payloads


def _id_changes() -> list[Any]:
    payloads = samples.stream_payloads()
    payloads[1]["id"] = "chatcmpl-2"
    return payloads


def _role_twice() -> list[Any]:
    payloads = samples.stream_payloads()
    payloads[1]["choices"][0]["delta"]["role"] = "assistant"
    return payloads


def _no_finish_reason() -> list[Any]:
    payloads = samples.stream_payloads()
    payloads[3]["choices"][0]["finish_reason"] = None
    return payloads


def _bad_tool_arguments() -> list[Any]:
    payloads = samples.stream_payloads(tool_calls=True)
    payloads[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = "}"
    return payloads


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_without_done, "STREAM-002", id="no-done"),
        pytest.param(_done_twice, "STREAM-002", id="done-twice"),
        pytest.param(_usage_not_last, "STREAM-003", id="usage-not-last"),
        pytest.param(_id_changes, "STREAM-009", id="id-changes"),
        pytest.param(_role_twice, "STREAM-010", id="role-twice"),
        pytest.param(_no_finish_reason, "STREAM-011", id="no-finish-reason"),
        pytest.param(_bad_tool_arguments, "STREAM-012", id="tool-arguments-not-json"),
    ],
)
def test_stream_framing_fails_broken_streams(schema, make, expected):
    resp = response(200, samples.sse(make()), headers=samples.SSE_HEADERS)
    assert expected in requirements(failures_of(auriko_stream_framing, resp, stream_case(schema)))


def test_stream_framing_fails_unterminated_and_non_json_events(schema):
    raw = samples.sse(samples.stream_payloads()) + b"data: {not json}\n\ndata: [DONE]"
    resp = response(200, raw, headers=samples.SSE_HEADERS)
    found = requirements(failures_of(auriko_stream_framing, resp, stream_case(schema)))
    assert "STREAM-001" in found


def test_stream_framing_fails_a_stream_request_answered_as_json(schema):
    resp = response(200, samples.completion())
    assert "SCHEMA-009" in requirements(failures_of(auriko_stream_framing, resp, stream_case(schema)))


def test_stream_framing_fails_an_event_off_the_schema(schema):
    payloads = samples.stream_payloads()
    payloads[0]["object"] = "chat.completion"
    resp = response(200, samples.sse(payloads), headers=samples.SSE_HEADERS)
    assert "SCHEMA-002" in requirements(failures_of(auriko_stream_framing, resp, stream_case(schema)))


def test_should_findings_are_counted_not_failed(schema):
    fuzz_checks.reset_counters()
    payloads = samples.stream_payloads()
    payloads[0]["routing_metadata"] = copy.deepcopy(samples.METADATA)  # STREAM-006 is SHOULD (D-003)
    resp = response(200, samples.sse(payloads), headers=samples.SSE_HEADERS)
    assert failures_of(auriko_stream_framing, resp, stream_case(schema)) == []
    informational = fuzz_checks.INFORMATIONAL.as_list()
    assert [i["requirement"] for i in informational] == ["STREAM-006"]
    fuzz_checks.reset_counters()


def test_failures_are_one_per_requirement_and_check(schema):
    body = samples.completion()
    body["routing_metadata"] = {"provider": ""}
    found = failures_of(auriko_routing_metadata, response(200, body), make_case(schema))
    assert len(found) == 1  # four messages, one failure
    assert "provider_model_id" in found[0].message
    assert found[0].title.startswith("[META-003]")


def test_checks_are_registered_with_schemathesis(schema):
    """`validate_response` (what `call_and_validate` runs) dispatches the suite's checks by default."""
    body = samples.completion()
    del body["routing_metadata"]
    case = make_case(schema)
    with pytest.raises((AssertionError, FailureGroup)) as excinfo:
        case.validate_response(response(200, body))
    raised = excinfo.value
    found = list(raised.exceptions) if isinstance(raised, BaseExceptionGroup) else [raised]
    assert "META-001" in requirements(found)
    registered = {check.__name__ for check in schemathesis.checks.CHECKS.get_all()}
    assert set(fuzz_checks.CUSTOM_CHECKS) <= registered


# ------------------------------------------------------------------------------------------------- hooks


@pytest.fixture
def target() -> FuzzTarget:
    return FuzzTarget.from_profile(load_profile())


def test_target_names_come_from_the_profile(target):
    profile = load_profile()
    assert profile.default_model in target.models
    assert set(profile.models_by_provider.values()) <= set(target.models)
    assert profile.unknown_model not in target.models
    assert set(target.providers) == set(profile.models_by_provider)


def test_fit_replaces_models_and_providers_stably(target):
    body = {
        "model": "zzz:ttft",
        "messages": [{"role": "user", "content": "x" * 5000}, {"role": "user", "content": [{"type": "text", "text": "y" * 999}]}],
        "gateway": {"routing": {"providers": ["nope", "openai"], "prefer": "elsewhere"}},
        "extensions": {"openai": {"junk": 1}, "not-a-provider": {"kept": True}},
    }  # fmt: skip
    again = copy.deepcopy(body)
    fit_to_target(body, target)
    fit_to_target(again, target)
    assert body == again  # same input, same replacement: seeded runs replay
    base, suffix = body["model"].split(":")
    assert base in target.models
    assert suffix == "ttft"
    assert set(body["gateway"]["routing"]["providers"]) <= set(target.providers)
    assert body["gateway"]["routing"]["prefer"] in target.providers
    assert len(body["messages"][0]["content"]) == target.max_text
    assert len(body["messages"][1]["content"][0]["text"]) == target.max_text
    assert body["extensions"] == {"openai": {}, "not-a-provider": {"kept": True}}


def test_fit_keeps_invalid_values_invalid(target):
    """A negative case keeps its violation: only valid values are replaced by valid values."""
    body = {
        "model": "",
        "messages": "not-a-list",
        "gateway": {"models": [5, ""]},
        "extensions": {"openai": 3},
    }
    before = copy.deepcopy(body)
    fit_to_target(body, target)
    assert body == before


def test_fit_maps_gateway_models(target):
    body = {"messages": [{"role": "user", "content": "hi"}], "gateway": {"models": ["a", "b:cost"]}}
    fit_to_target(body, target)
    first, second = body["gateway"]["models"]
    assert first in target.models
    assert second.endswith(":cost")
    assert second[:-5] in target.models


def test_fit_respects_unclaimed_features(target):
    plain = FuzzTarget(models=target.models, providers=target.providers, claims=frozenset())
    body = {"model": "zzz:ttft", "messages": [{"role": "user", "content": "hi"}]}
    fit_to_target(body, plain)
    assert body["model"] in target.models  # no model_suffix claim: no suffix
    multi = {"messages": [{"role": "user", "content": "hi"}], "gateway": {"models": ["a", "b"]}}
    fit_to_target(multi, plain)
    assert multi["model"] in target.models  # no multi_model claim: the first entry becomes `model`
    assert "gateway" not in multi  # neither gateway feature claimed: no gateway at all


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        pytest.param(frozenset(), {}, id="nothing-claimed"),
        pytest.param(frozenset({"extensions"}), {"extensions": {"openai": {}}}, id="extensions"),
        pytest.param(
            frozenset({"gateway_routing"}),
            {"gateway": {"routing": {"optimize": "ttft"}, "metadata": {"tags": ["t"]}}},
            id="gateway-routing",
        ),
        pytest.param(
            frozenset({"multi_model"}), {"gateway": {"models": [5]}}, id="multi-model"
        ),  # kept: claimed
    ],
)
def test_fit_leaves_out_unclaimed_request_features(target, claims, expected):
    """LiteLLM's profile claims none of these: its requests carry no gateway and no extensions (D-056)."""
    fuzz = FuzzTarget(models=target.models, providers=target.providers, claims=claims)
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "gateway": {"routing": {"optimize": "ttft"}, "metadata": {"tags": ["t"]}, "models": [5]},
        "extensions": {"openai": {"store": False}},
    }
    fit_to_target(body, fuzz)
    assert {k: v for k, v in body.items() if k not in ("model", "messages")} == expected
    # an invalid value of an unclaimed feature goes too: it tests a feature the target does not offer
    invalid = {"model": "gpt-4o-mini", "messages": [], "gateway": "not-an-object", "extensions": 3}
    fit_to_target(invalid, FuzzTarget(models=target.models, providers=target.providers, claims=frozenset()))
    assert invalid == {"model": "gpt-4o-mini", "messages": []}


def test_litellm_requests_carry_no_unclaimed_features():
    litellm = FuzzTarget.from_profile(load_profile(LITELLM_PROFILE))
    example = {  # the contract's own example, which the examples phase sends as a positive case
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "gateway": {"routing": {"optimize": "ttft", "max_ttft_ms": 2000}, "metadata": {"trace_id": "t"}},
        "extensions": {"anthropic": {}},
    }
    fit_to_target(example, litellm)
    assert set(example) == {"model", "messages"}
    assert example["model"] in litellm.models


def test_cross_field_rules_for_positive_cases():
    body = {
        "model": "m",
        "messages": [],
        "gateway": {"routing": {"timeout_ms": 5000.0, "deadline_ms": 10}},
        "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}],
        "tool_choice": {"type": "function", "function": {"name": "missing"}},
    }  # fmt: skip
    satisfy_cross_field_rules(body)
    assert body["messages"] == []  # no json_object: nothing to ask for
    assert body["gateway"]["routing"]["deadline_ms"] == 5000.0
    assert [t["function"]["name"] for t in body["tools"]] == ["f", "f_2"]
    assert body["tool_choice"]["function"]["name"] == "f"


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], ["a", "b Reply in JSON."]),
        ([{"role": "user", "content": "say JSON"}, {"role": "user", "content": "b"}], ["say JSON", "b"]),
        ([{"role": "user", "content": [{"type": "text", "text": "x"}]}], [[{"type": "text", "text": "x Reply in JSON."}]]),
    ],
)  # fmt: skip
def test_json_object_positive_cases_ask_for_json(messages, expected):
    body = {"model": "m", "messages": messages, "response_format": {"type": "json_object"}}
    satisfy_cross_field_rules(body)
    assert [m["content"] for m in body["messages"]] == expected


def _call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


def test_tool_turns_are_paired_for_positive_cases():
    from auriko_conformance.reference_impl.validation import validate_chat_request

    messages = [
        {"role": "tool", "tool_call_id": "orphan", "content": "x", "name": 5},
        {"role": "assistant", "content": None, "tool_calls": [_call("a"), _call("b")]},
        {"role": "tool", "tool_call_id": "zzz", "content": "1"},
        {"role": "user", "content": "next"},
        {"role": "assistant", "content": None, "tool_calls": [_call("a")]},
    ]
    body = {"model": "gpt-4o-mini", "messages": messages}
    satisfy_cross_field_rules(body)
    assert [(m["role"], m.get("tool_call_id")) for m in body["messages"]] == [
        ("user", None), ("assistant", None), ("tool", "a"), ("tool", "b"), ("user", None), ("assistant", None),
        ("tool", "a_"),
    ]  # fmt: skip
    assert body["messages"][0] == {"role": "user", "content": "x"}
    assert body["messages"][5]["tool_calls"][0]["id"] == "a_"
    validate_chat_request(body)  # the reference accepts it (D-055)


def test_before_call_fits_positive_cases_and_revalidation_keeps_them_positive(schema, target):
    fuzz_checks.configure(load_profile())
    body = {
        "model": "not-in-the-catalog",
        "messages": [{"role": "user", "content": "hi"}],
        "gateway": {"routing": {"timeout_ms": 50, "deadline_ms": 10}},
    }
    case = make_case(schema, body)
    case._meta = None  # a hand-made case has no generation metadata: treated as not positive
    fuzz_checks.before_call(None, case, {})
    assert case.body["model"] in target.models
    assert case.body["gateway"]["routing"]["deadline_ms"] == 10  # repairs are for positive cases only


def test_routing_refusals_are_not_validation_codes():
    validation = {"invalid_request", "missing_required_parameter", "invalid_parameter_value", "unknown_field"}
    assert not validation & fuzz_checks.ROUTING_REFUSALS
    from auriko_conformance.contract import error_codes

    assert all(error_codes()[code].status == 400 for code in fuzz_checks.ROUTING_REFUSALS)


@pytest.mark.parametrize(
    ("status", "code", "accepted"),
    [(400, "provider_not_in_allowlist", True), (400, "invalid_parameter_value", False), (404, "model_not_found", False)],
)  # fmt: skip
def test_routing_refusal_detection(status, code, accepted):
    content = orjson.dumps(envelope(code, "invalid_request_error"))
    assert (fuzz_checks.is_routing_refusal(status, content) == code) is accepted


@pytest.mark.parametrize(
    ("status", "code", "routing", "accepted"),
    [
        (504, "upstream_timeout", {"timeout_ms": 1}, True),
        (504, "upstream_timeout", {"deadline_ms": 1}, True),
        (504, "upstream_timeout", {}, False),  # a timeout the client did not ask for is a server error
        (502, "upstream_error", {"timeout_ms": 1}, False),
    ],
)
def test_own_deadline_detection(status, code, routing, accepted):
    content = orjson.dumps(envelope(code, "api_error"))
    body = {"model": "m", "messages": [], "gateway": {"routing": routing}}
    assert (fuzz_checks.is_own_deadline(status, content, body) == "upstream_timeout") is accepted


def test_filter_failure_keeps_everything_else(schema):
    from schemathesis.core.failures import ServerError

    case = make_case(schema, {**REQUEST_BODY, "gateway": {"routing": {"timeout_ms": 1}}})
    timeout = response(504, envelope("upstream_timeout", "api_error"))
    other = response(502, envelope("upstream_error", "api_error"))
    failure = ServerError(operation="POST /v1/chat/completions", status_code=504)
    assert fuzz_checks.filter_failure(None, failure, case, timeout) is False
    assert fuzz_checks.filter_failure(None, failure, case, other) is True


def _rejected(status: int, message: str) -> Response:
    return response(
        status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "400"}}
    )


def test_unknown_field_refusal_is_a_should_finding_not_a_failure(schema):
    """REQ-016 (D-001) is a SHOULD: a 400 naming an unknown top-level field is counted, not failed (D-056)."""
    from schemathesis.openapi.checks import RejectedPositiveData

    fuzz_checks.reset_counters()
    failure = RejectedPositiveData(
        operation="POST /v1/chat/completions", message="", status_code=400, allowed_statuses=[]
    )
    case = make_case(schema, {**REQUEST_BODY, "eB\xad\u00b3": {"x": 1}})
    named = _rejected(
        400, "OpenAIException - Unrecognized request argument supplied: eB\xad\u00b3\n\nLiteLLM: ..."
    )
    assert fuzz_checks.filter_failure(None, failure, case, named) is False
    [item] = fuzz_checks.INFORMATIONAL.as_list()
    assert (item["requirement"], item["check"], item["count"]) == ("REQ-016", "positive_data_acceptance", 1)
    # still failures: a refusal for another reason, even with an unknown field in the request ...
    other = _rejected(400, "O-series models don't support temperature=0.2")
    assert fuzz_checks.filter_failure(None, failure, case, other) is True
    # ... a field whose name is only part of a word of the message, and a known field named as the reason
    short = make_case(schema, {**REQUEST_BODY, "e": 1})
    assert fuzz_checks.filter_failure(None, failure, short, other) is True
    known = make_case(schema, {**REQUEST_BODY, "temperature": 0.2})
    assert fuzz_checks.filter_failure(None, failure, known, other) is True
    assert fuzz_checks.INFORMATIONAL.as_list()[0]["count"] == 1
    fuzz_checks.reset_counters()


def test_generation_mode_is_read_from_case_metadata(schema):
    case = make_case(schema)
    assert case.meta is None or case.meta.generation.mode in (
        GenerationMode.POSITIVE,
        GenerationMode.NEGATIVE,
    )


# ------------------------------------------------------------------ the contract fitted to the claims (D-056)


@pytest.fixture
def schema_for() -> Any:
    """The contract as schemathesis loads it for a profile (the `before_load_schema` hook applies)."""

    def load(profile: Any) -> Any:
        fuzz_checks.configure(profile)
        return schemathesis.openapi.from_path(OPENAPI_PATH)

    yield load
    fuzz_checks.configure(load_profile())  # later tests see the reference's contract again


def _completion_without_routing_metadata() -> dict[str, Any]:
    body = samples.completion()
    del body["routing_metadata"]
    return body


def test_contract_fitted_to_claims():
    raw = yaml.safe_load(OPENAPI_PATH.read_text())
    assert fuzz_checks.fit_contract_to_claims(copy.deepcopy(raw), load_profile().claims) == []
    assert fuzz_checks.fit_contract_to_claims(copy.deepcopy(raw), None) == []
    edits = fuzz_checks.fit_contract_to_claims(raw, load_profile(LITELLM_PROFILE).claims)
    assert sorted(edits) == [
        "ChatCompletion.required routing_metadata",
        "ChatCompletionUsageChunk.required routing_metadata",
        "paths /v1/me",
    ]
    assert set(raw["paths"]) == {"/v1/chat/completions", "/v1/models", "/v1/models/{model_id}"}
    schemas = raw["components"]["schemas"]
    assert "routing_metadata" in schemas["ChatCompletion"]["properties"]  # its shape is still checked


def test_unclaimed_endpoint_is_not_fuzzed(schema_for):
    assert "/v1/me" not in schema_for(load_profile(LITELLM_PROFILE)).raw_schema["paths"]
    assert "/v1/me" in schema_for(load_profile()).raw_schema["paths"]


def test_response_schema_check_follows_the_routing_metadata_claim(schema_for):
    """schemathesis's own schema check: routing_metadata required only of a target that claims it."""
    litellm = schema_for(load_profile(LITELLM_PROFILE))
    case = make_case(litellm)
    plain = response(200, _completion_without_routing_metadata())
    assert failures_of(response_schema_conformance, plain, case) == []
    stream = samples.stream_payloads()
    del stream[-2]["routing_metadata"]  # the final usage chunk
    sse = response(200, samples.sse(stream), headers=samples.SSE_HEADERS)
    assert (
        failures_of(response_schema_conformance, sse, make_case(litellm, {**REQUEST_BODY, "stream": True}))
        == []
    )
    # still judged on everything else, routing_metadata's shape included
    no_choices = {**_completion_without_routing_metadata(), "choices": []}
    assert failures_of(response_schema_conformance, response(200, no_choices), case)
    bad_metadata = {**_completion_without_routing_metadata(), "routing_metadata": {"provider": 5}}
    assert failures_of(response_schema_conformance, response(200, bad_metadata), case)
    assert failures_of(response_schema_conformance, response(400, {"detail": "Not Found"}), case)
    # a target that claims routing_metadata still fails without it
    reference = schema_for(load_profile())
    assert failures_of(response_schema_conformance, plain, make_case(reference))


# ---------------------------------------------------------------------------------------------- contract


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    ("path", "method"),
    [(CHAT, "POST"), ("/v1/models", "GET"), ("/v1/models/{model_id}", "GET"), ("/v1/me", "GET")],
)
def test_the_contract_stays_fuzzable(schema, path, method, mode):
    """schemathesis can generate every operation (a keyword it cannot generate silently skips one)."""
    from hypothesis import HealthCheck, given, settings

    strategy = schema[path][method].as_strategy(generation_mode=mode)
    drawn = []

    @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    assert drawn
