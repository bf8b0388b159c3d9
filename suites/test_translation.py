"""XLATE: translation to and from each provider's native API, judged through the mock journal.

Each test sends an OpenAI-shaped request for a model the target routes to one provider, reads the exact
request that provider received (the mock journal, filtered by this test's correlation tag) and runs the
XLATE checks of `suites/checks/xlate_*.py` on it and on the answer. Models come from the target profile
(`models.by_provider`); tests that need a particular model kind (a Claude 4.6 model, Gemini 3, ...) use
the public model names below, which a profile can rename under `models.by_kind`, and report "not
claimed" when the target does not know the model or routes it to another provider.

Requirements with a `decision` are SHOULD: their findings are informational, never failures.
`test_upstream_snapshot` keeps the normalised upstream bodies of the request corpus
(`fixtures/corpus/translation.yaml`) as per-profile syrupy baselines.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from auriko_conformance.mocks.behaviour import reasoning_text, reply_text
from auriko_conformance.mocks.directives import strip_markers
from auriko_conformance.mocks.tokens import count_tokens
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import (
    schema,
    xlate,
    xlate_anthropic,
    xlate_gemini,
    xlate_openai,
    xlate_request,
    xlate_response,
)
from auriko_conformance.suites.journal import refusals
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.scenario import RouteContext
from auriko_conformance.suites.snapshot import (
    FLAVOURS,
    Client,
    Sent,
    Upstream,
    corpus_model,
    corpus_params,
    flavour_models_of,
    kind_model,
    load_corpus,
    model_for,
    normalise_exchange,
    profile_snapshot,
    send,
    user,
)
from auriko_conformance.suites.target import Mocks, Target

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Local time in a time zone.",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}
PING = {"type": "function", "function": {"name": "ping", "description": "Takes no arguments."}}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def tool_history(*, arguments: str = '{"city":"Paris"}', **call_extra: Any) -> list[dict[str, Any]]:
    call = {
        "id": "call_conf_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
        **call_extra,
    }
    return [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_conf_1", "content": '{"temperature_c": 18}'},
        {"role": "user", "content": "Thanks. Summarise it."},
    ]


def seed_of(text: str) -> str:
    """The user text a mock derives its deterministic reply from (markers removed)."""
    return strip_markers(text)


@pytest.fixture(scope="module")
def flavour_models(mocks: Mocks, profile: TargetProfile) -> dict[str, str]:
    return flavour_models_of(mocks, profile)


@pytest.fixture
def client(target: Target, mocks: Mocks, judge: Judge, tag: str) -> Client:
    return Client(target, mocks, judge, tag)


# --------------------------------------------------------------------------------------------------
# Endpoints, auth, stream_options (XLATE-001, XLATE-002)
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("XLATE-001", "XLATE-002")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_native_endpoint_auth_and_stream_options(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str], flavour: str, stream: bool
) -> None:
    body = user("Name a colour.", model=model_for(flavour_models, flavour), max_completion_tokens=24)
    if stream:
        body["stream"] = True
    sent = client.send(body, flavour)
    if client.translated(
        sent, "XLATE-001", xlate_request.native_endpoint_and_auth, xlate_request.stream_options_where_accepted
    ):  # the model it expects comes from the report: whether the report names the model sent is META-011's
        provider = (sent.exchange.metadata or {}).get("provider")
        instances = {provider: profile.mock_instance(provider)} if isinstance(provider, str) else {}
        journal = [u.raw for u in sent.upstreams]
        context = RouteContext(request=sent.exchange.request_body or {}, journal=journal, instances=instances)
        client.judge(sent.exchange, context, only=["provider_names_answering_endpoint"])


# --------------------------------------------------------------------------------------------------
# System prompts and roles (XLATE-003, XLATE-004)
# --------------------------------------------------------------------------------------------------

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Pick a fruit."},
    {"role": "assistant", "content": "Apple."},
    {"role": "developer", "content": "Answer in one sentence."},
    {"role": "user", "content": "Now pick a tree."},
]


@pytest.mark.requirement("XLATE-003")
def test_anthropic_system_becomes_top_level(client: Client, flavour_models: dict[str, str]) -> None:
    sent = client.send(
        {"model": model_for(flavour_models, "anthropic"), "messages": CONVERSATION}, "anthropic"
    )
    client.translated(sent, "XLATE-003", xlate_anthropic.anthropic_system_top_level)


@pytest.mark.requirement("XLATE-004")
def test_gemini_system_instruction_and_model_role(client: Client, flavour_models: dict[str, str]) -> None:
    sent = client.send({"model": model_for(flavour_models, "gemini"), "messages": CONVERSATION}, "gemini")
    client.translated(sent, "XLATE-004", xlate_gemini.gemini_system_instruction)


# --------------------------------------------------------------------------------------------------
# Tools (XLATE-005 .. XLATE-011)
# --------------------------------------------------------------------------------------------------

#: Anthropic's tool shapes are XLATE-005, Gemini's XLATE-006: each parameter carries its own ID.
TOOL_FLAVOURS = [
    pytest.param("anthropic", marks=pytest.mark.requirement("XLATE-005")),
    pytest.param("gemini", marks=pytest.mark.requirement("XLATE-006")),
]
TOOL_CHOICES = {
    "auto-serial": {"tool_choice": "auto", "parallel_tool_calls": False},
    "required": {"tool_choice": "required"},
    "none": {"tool_choice": "none"},
    "named": {"tool_choice": {"type": "function", "function": {"name": "get_time"}}},
}


def _tools_check(flavour: str) -> Any:
    """The check of a provider's tools rule (XLATE-005 for Anthropic, XLATE-006 for Gemini)."""
    if flavour == "anthropic":
        return xlate_anthropic.anthropic_tools_native
    return xlate_gemini.gemini_tools_native


@pytest.mark.needs("tools")
@pytest.mark.parametrize("choice", list(TOOL_CHOICES))
@pytest.mark.parametrize("flavour", TOOL_FLAVOURS)
def test_tools_and_tool_choice_native(
    client: Client, flavour_models: dict[str, str], flavour: str, choice: str
) -> None:
    requirement = "XLATE-005" if flavour == "anthropic" else "XLATE-006"
    body = user(
        "Weather in Paris?",
        model=model_for(flavour_models, flavour),
        tools=[WEATHER, TIME, PING],
        **TOOL_CHOICES[choice],
    )
    sent = client.send(body, flavour)
    client.translated(sent, requirement, _tools_check(flavour))


@pytest.mark.needs("tools")
@pytest.mark.parametrize("flavour", TOOL_FLAVOURS)
def test_tool_history_native(client: Client, flavour_models: dict[str, str], flavour: str) -> None:
    requirement = "XLATE-005" if flavour == "anthropic" else "XLATE-006"
    messages = tool_history(provider_signature="c2lnLWNvbmZvcm1hbmNl")
    sent = client.send(
        {"model": model_for(flavour_models, flavour), "messages": messages, "tools": [WEATHER]}, flavour
    )
    client.translated(sent, requirement, _tools_check(flavour))


@pytest.mark.requirement("XLATE-007")
@pytest.mark.needs("tools")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_tool_choice_none_is_guaranteed(client: Client, flavour_models: dict[str, str], flavour: str) -> None:
    body = user(
        "Weather in Paris? [[mock: tool_calls=1]]",
        model=model_for(flavour_models, flavour),
        tools=[WEATHER],
        tool_choice="none",
    )
    sent = client.send(body, flavour)
    client.translated(sent, "XLATE-007", xlate_response.tool_choice_none_honoured)


@pytest.mark.requirement("XLATE-008")
@pytest.mark.needs("tools", "reasoning")
@pytest.mark.parametrize("client_value", [None, "I should look the weather up."], ids=["filler", "echoed"])
def test_deepseek_reasoning_content_on_tool_turns(
    client: Client, profile: TargetProfile, client_value: str | None
) -> None:
    messages = tool_history()
    if client_value is not None:
        messages[1]["reasoning_content"] = client_value
    sent = client.kind(
        profile,
        "deepseek_v4",
        {"messages": messages, "tools": [WEATHER], "reasoning_effort": "high"},
        "XLATE-008",
    )
    client.translated(sent, "XLATE-008", xlate_openai.deepseek_reasoning_content_on_tool_turns, thinking=True)


@pytest.mark.requirement("XLATE-009")
@pytest.mark.needs("tools")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_tool_arguments_are_json(
    client: Client, flavour_models: dict[str, str], flavour: str, stream: bool
) -> None:
    body = user(
        "Ping the server.", model=model_for(flavour_models, flavour), tools=[PING], tool_choice="required"
    )
    if stream:
        body["stream"] = True
    sent = client.send(body, flavour)
    if client.served(sent, "XLATE-009"):
        messages = xlate.messages_of(sent.exchange)
        if not any(m.get("tool_calls") for m in messages):
            # no tool call to read arguments from: when the provider was never asked for one (tool_choice
            # mistranslated), the translation rule that says so is the finding (judged on what it received)
            if roots := client.judge.explained(sent.exchange, sent.context()):
                reason = "the provider returned no tool call: the request it received did not force one"
                client.judge.block("XLATE-009", reason, roots, stops=False)
                return
            client.judge.require(
                "XLATE-009", False, "tool_choice required returned no tool call", sent.exchange
            )
        client.check(sent, xlate_response.tool_call_arguments_are_json, no_argument_tools=["ping"])


@pytest.mark.requirement("SCHEMA-004")
@pytest.mark.needs("tools", "parallel_tool_calls")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_parallel_tool_calls_have_distinct_ids(
    client: Client, flavour_models: dict[str, str], flavour: str
) -> None:
    """Two tool calls in one non-stream answer: SCHEMA-004 holds their ids unique within the response
    (the streamed case is STREAM-012's)."""
    body = user(
        "Weather in Paris and the time in Tokyo. [[mock: tool_calls=2]]",
        model=model_for(flavour_models, flavour),
        tools=[WEATHER, TIME],
        tool_choice="auto",
    )
    sent = client.send(body, flavour)
    if client.served(sent, "SCHEMA-004"):
        calls = [c for m in xlate.messages_of(sent.exchange) for c in m.get("tool_calls") or []]
        client.judge.require(
            "SCHEMA-004", len(calls) >= 2, f"two tool calls were due, {len(calls)} came", sent.exchange
        )


@pytest.mark.requirement("XLATE-010")
@pytest.mark.needs("tools")
@pytest.mark.parametrize("flavour", ["anthropic", "gemini"])
def test_empty_client_arguments_normalised(
    client: Client, flavour_models: dict[str, str], flavour: str
) -> None:
    messages = tool_history(arguments="")
    messages[1]["tool_calls"][0]["function"]["name"] = "ping"
    sent = client.send(
        {"model": model_for(flavour_models, flavour), "messages": messages, "tools": [PING]}, flavour
    )
    client.translated(sent, "XLATE-010", xlate_request.empty_arguments_become_empty_object)


@pytest.mark.requirement("XLATE-011")
@pytest.mark.needs("tools", "reasoning", "parallel_tool_calls")
def test_anthropic_stream_tool_indices_after_thinking(client: Client, profile: TargetProfile) -> None:
    body = user(
        "Weather in Paris and the time in Tokyo. [[mock: tool_calls=2 reasoning=8]]",
        tools=[WEATHER, TIME],
        tool_choice="auto",
        reasoning_effort="low",
        stream=True,
    )
    sent = client.kind(profile, "claude_haiku_4_5", body, "XLATE-011")
    client.translated(
        sent,
        "XLATE-011",
        xlate_anthropic.anthropic_stream_tool_indices,
        xlate_response.tool_call_arguments_are_json,
        tool_names=["get_weather", "get_time"],
        argument_keys=[["city"], ["zone"]],
    )


# --------------------------------------------------------------------------------------------------
# Stop, token limits, sampling and parameter support (XLATE-012 .. XLATE-018)
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("XLATE-012")
@pytest.mark.parametrize("stop", ["zebra", ["zebra", "yak"]], ids=["string", "list"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_stop_native_field(client: Client, flavour_models: dict[str, str], flavour: str, stop: Any) -> None:
    sent = client.send(
        user("List three animals.", model=model_for(flavour_models, flavour), stop=stop), flavour
    )
    client.translated(sent, "XLATE-012", xlate_request.stop_native_field)


@pytest.mark.requirement("XLATE-013")
def test_anthropic_whitespace_stop_dropped(client: Client, flavour_models: dict[str, str]) -> None:
    sent = client.send(
        user("List three animals.", model=model_for(flavour_models, "anthropic"), stop=["\n", "zebra"]),
        "anthropic",
    )
    client.check(sent, xlate_anthropic.anthropic_whitespace_stops_dropped)


@pytest.mark.requirement("XLATE-014")
@pytest.mark.parametrize(
    ("field", "limit"),
    [("max_completion_tokens", 40), ("max_tokens", 40), ("max_completion_tokens", 1_000_000)],
    ids=["max_completion_tokens", "max_tokens", "clamped"],
)
def test_gemini_output_limit(client: Client, flavour_models: dict[str, str], field: str, limit: int) -> None:
    sent = client.send(
        user("Name a colour.", model=model_for(flavour_models, "gemini"), **{field: limit}), "gemini"
    )
    client.translated(sent, "XLATE-014", xlate_request.output_limit_native_field)


@pytest.mark.requirement("XLATE-014")
@pytest.mark.needs("reasoning")
def test_openai_reasoning_model_output_limit(client: Client, profile: TargetProfile) -> None:
    body = user("Name a colour.", max_tokens=400)
    if profile.reasoning_model:
        sent = client.send({**body, "model": profile.reasoning_model}, "openai")
    else:
        sent = client.kind(profile, "o4_mini", body, "XLATE-014")
    client.translated(sent, "XLATE-014", xlate_request.output_limit_native_field, reasoning_model=True)


@pytest.mark.requirement("XLATE-014")
def test_deepseek_output_limit(client: Client, flavour_models: dict[str, str]) -> None:
    sent = client.send(
        user("Name a colour.", model=model_for(flavour_models, "deepseek"), max_completion_tokens=40),
        "deepseek",
    )
    client.translated(sent, "XLATE-014", xlate_request.output_limit_native_field)


@pytest.mark.requirement("XLATE-015")
def test_anthropic_sampling_native(client: Client, flavour_models: dict[str, str]) -> None:
    body = user(
        "Name a colour.", model=model_for(flavour_models, "anthropic"), temperature=0.5, top_p=0.9, top_k=40
    )
    sent = client.send(body, "anthropic")
    client.translated(sent, "XLATE-015", xlate_request.sampling_native_anthropic_gemini)


@pytest.mark.requirement("XLATE-015")
def test_gemini_sampling_native(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str]
) -> None:
    body = user(
        "Name a colour.",
        model=model_for(flavour_models, "gemini"),
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        seed=7,
        presence_penalty=0.2,
        frequency_penalty=0.3,
    )
    if profile.claims_feature("n"):
        body["n"] = 2
    sent = client.send(body, "gemini")
    client.translated(sent, "XLATE-015", xlate_request.sampling_native_anthropic_gemini)


@pytest.mark.requirement("XLATE-016")
def test_anthropic_temperature_clamped(client: Client, flavour_models: dict[str, str]) -> None:
    sent = client.send(
        user("Name a colour.", model=model_for(flavour_models, "anthropic"), temperature=1.5), "anthropic"
    )
    client.translated(sent, "XLATE-016", xlate_anthropic.anthropic_temperature_clamped)


@pytest.mark.requirement("XLATE-017")
def test_openai_fields_unchanged(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str]
) -> None:
    body = user(
        "Name a colour.",
        model=model_for(flavour_models, "openai"),
        seed=7,
        logit_bias={"50256": -100},
        prompt_cache_key="conformance-cache-key",
        safety_identifier="conformance-user",
        web_search_options={},
    )  # no `verbosity`: gpt-4o-class models lack it; dropping it with a warning is XLATE-018, tested below
    if profile.claims_feature("n"):
        body["n"] = 2
    if profile.claims_feature("logprobs"):
        body.update(logprobs=True, top_logprobs=2)
    sent = client.send(body, "openai")
    # SCHEMA-008 again, now knowing the provider (it returns logprobs: no warning excuses their loss)
    client.translated(
        sent, "XLATE-017", xlate_openai.openai_compatible_fields_unchanged, schema.logprobs_are_arrays
    )


@pytest.mark.requirement("XLATE-017")
def test_vllm_fields_unchanged(client: Client, flavour_models: dict[str, str]) -> None:
    body = user(
        "Name a colour.",
        model=model_for(flavour_models, "vllm"),
        top_k=40,
        min_p=0.05,
        repetition_penalty=1.1,
        top_a=0.5,  # D-112: forwarded where the model takes it, else dropped with a warning
    )
    sent = client.send(body, "vllm")
    client.translated(sent, "XLATE-017", xlate_openai.openai_compatible_fields_unchanged)


#: A valid value for each parameter some provider has no native field for (XLATE-018).
NO_NATIVE_VALUES: dict[str, Any] = {
    "presence_penalty": 0.1,
    "frequency_penalty": 0.1,
    "seed": 7,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "min_p": 0.05,
    "repetition_penalty": 1.1,
    "web_search_options": {},
    "verbosity": "low",
    "prompt_cache_key": "conformance-cache-key",
    "top_a": 0.5,
    "top_k": 20,
}


@pytest.mark.requirement("XLATE-018", "META-012")
@pytest.mark.parametrize("flavour", list(xlate_request.NOT_FORWARDED))
def test_parameters_without_native_field_not_forwarded(
    client: Client, flavour_models: dict[str, str], flavour: str
) -> None:
    # Exactly the parameters this provider has no field for: each must be dropped, none forwarded.
    params = {name: NO_NATIVE_VALUES[name] for name in xlate_request.NOT_FORWARDED[flavour]}
    if "top_logprobs" in params:
        params["logprobs"] = True
    sent = client.send(user("Name a colour.", model=model_for(flavour_models, flavour), **params), flavour)
    # They have no native field, so the gateway drops them: each with a warning (META-012).
    if client.served(sent, "XLATE-018", dropped_parameters=tuple(params)):
        client.check(sent, xlate_request.no_native_field_not_forwarded)


# --------------------------------------------------------------------------------------------------
# Structured output (XLATE-019, XLATE-020)
# --------------------------------------------------------------------------------------------------

STRICT_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "strict": True,
        "schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
            "required": ["answer", "confidence"],
            "additionalProperties": False,
        },
    },
}
NULLABLE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "note": {"type": ["string", "null"]}},
            "required": ["city", "note"],
            "additionalProperties": False,
        },
    },
}


def _skip_unsupported_output_mode(sent: Sent) -> None:
    """A target may refuse an output mode for a model outright (SP capability errors): not claimed."""
    code = xlate.error_code(sent.exchange)
    if code in ("structured_output_not_supported", "json_mode_not_supported"):
        model = (sent.exchange.request_body or {}).get("model")
        pytest.skip(NOT_CLAIMED + f"the target answers {code} for {model!r}")


@pytest.mark.requirement("XLATE-019")
@pytest.mark.parametrize(
    "response_format", [{"type": "json_object"}, STRICT_SCHEMA], ids=["json_object", "strict_json_schema"]
)
def test_gemini_response_format(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str], response_format: dict[str, Any]
) -> None:
    if response_format["type"] == "json_schema" and not profile.claims_feature("json_schema"):
        pytest.skip(NOT_CLAIMED + "json_schema")
    body = user(
        "Answer as JSON: name a colour.",
        model=model_for(flavour_models, "gemini"),
        response_format=response_format,
    )
    sent = client.send(body, "gemini")
    _skip_unsupported_output_mode(sent)
    client.translated(sent, "XLATE-019", xlate_gemini.gemini_response_format)


@pytest.mark.requirement("XLATE-020")
@pytest.mark.needs("json_schema")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_anthropic_json_schema_answer_is_content(
    client: Client, profile: TargetProfile, stream: bool
) -> None:
    body = user("Give a city as JSON.", response_format=NULLABLE_SCHEMA, stream=stream)
    sent = client.kind(profile, "claude_sonnet_4_6", body, "XLATE-020")
    _skip_unsupported_output_mode(sent)
    client.translated(sent, "XLATE-020", xlate_anthropic.anthropic_json_schema_as_content)


# --------------------------------------------------------------------------------------------------
# reasoning_effort grid (XLATE-021 .. XLATE-030)
# --------------------------------------------------------------------------------------------------

EFFORTS = ("low", "medium", "high")


@pytest.mark.requirement("XLATE-021")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("effort", EFFORTS)
def test_claude_4_6_adaptive_thinking(client: Client, profile: TargetProfile, effort: str) -> None:
    sent = client.kind(
        profile, "claude_sonnet_4_6", user("Think, then name a prime.", reasoning_effort=effort), "XLATE-021"
    )
    client.translated(sent, "XLATE-021", xlate_anthropic.claude_adaptive_effort, claude_kind="adaptive")


@pytest.mark.requirement("XLATE-022")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("kind", ["claude_sonnet_4_5", "claude_haiku_4_5", "claude_opus_4_5"])
def test_claude_4_5_budget_from_effort(client: Client, profile: TargetProfile, kind: str) -> None:
    budgets: list[tuple[str, Any]] = []
    for effort in EFFORTS:
        sent = client.kind(
            profile, kind, user("Think, then name a prime.", reasoning_effort=effort), "XLATE-022"
        )
        if not client.translated(
            sent,
            "XLATE-022",
            xlate_anthropic.claude_budget_from_effort,
            claude_kind="budget",
            effort_control=kind == "claude_opus_4_5",
        ):
            return
        budgets.append((effort, xlate_anthropic.budget_of(sent.upstream)))
    for message in xlate.non_decreasing("budget_tokens", budgets):
        client.judge.require("XLATE-022", False, message)
    # A client limit below the budget: the gateway must still send max_tokens above budget_tokens.
    sent = client.kind(
        profile,
        kind,
        user("Think, then name a prime.", reasoning_effort="high", max_completion_tokens=64),
        "XLATE-022",
    )
    client.translated(
        sent,
        "XLATE-022",
        xlate_anthropic.claude_budget_from_effort,
        claude_kind="budget",
        effort_control=kind == "claude_opus_4_5",
    )


XHIGH_CASES = {
    "claude_opus_4_7": ("adaptive", "xhigh"),
    "claude_opus_4_5": ("budget", "high"),
    "claude_sonnet_4_6": ("adaptive", "max"),
    "claude_sonnet_4_5": ("budget", "max"),
}


@pytest.mark.requirement("XLATE-023")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("kind", list(XHIGH_CASES))
def test_claude_xhigh_normalised(client: Client, profile: TargetProfile, kind: str) -> None:
    claude_kind, target = XHIGH_CASES[kind]
    high_budget = None
    if claude_kind == "budget":
        high = client.kind(
            profile, kind, user("Think, then name a prime.", reasoning_effort="high"), "XLATE-023"
        )
        if not client.served(high, "XLATE-023"):
            return
        high_budget = xlate_anthropic.budget_of(high.upstream)
    sent = client.kind(
        profile, kind, user("Think, then name a prime.", reasoning_effort="xhigh"), "XLATE-023"
    )
    client.translated(
        sent,
        "XLATE-023",
        xlate_anthropic.claude_xhigh_normalised,
        claude_kind=claude_kind,
        xhigh_to=target,
        high_budget=high_budget,
    )


@pytest.mark.requirement("XLATE-024")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("kind", ["claude_haiku_4_5", "claude_sonnet_4_6"])
def test_claude_thinking_strips_sampling(client: Client, profile: TargetProfile, kind: str) -> None:
    body = user("Think, then name a prime.", reasoning_effort="low", temperature=0.5, top_k=40, top_p=0.5)
    sent = client.kind(profile, kind, body, "XLATE-024")
    if client.served(sent, "XLATE-024"):
        client.judge.require(
            "XLATE-024",
            xlate_anthropic.anthropic_thinking(sent.upstream),
            "thinking did not reach Claude",
            sent.exchange,
        )
        client.check(sent, xlate_anthropic.claude_thinking_sampling_stripped)


@pytest.mark.requirement("XLATE-025")
@pytest.mark.needs("reasoning", "tools")
@pytest.mark.parametrize("choice", ["required", "named"])
def test_claude_thinking_never_gets_forced_tool(client: Client, profile: TargetProfile, choice: str) -> None:
    body = user("Weather in Paris?", reasoning_effort="low", tools=[WEATHER], **TOOL_CHOICES[choice])
    if choice == "named":
        body["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
    # Served by another provider that honours the choice is a correct outcome too (D-043): no `kind()`.
    sent = client.send({**body, "model": kind_model(profile, "claude_haiku_4_5")}, "anthropic")
    if sent.exchange.status == 404 or xlate.error_code(sent.exchange) == "model_not_found":
        pytest.skip(
            NOT_CLAIMED + f"the target does not know model {kind_model(profile, 'claude_haiku_4_5')!r}"
        )
    client.check(sent, xlate_anthropic.claude_thinking_no_forced_tool)


@pytest.mark.requirement("XLATE-026")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("effort", ["low", "medium", "high", "xhigh", "max"])
def test_gemini_3_thinking_level(client: Client, profile: TargetProfile, effort: str) -> None:
    sent = client.kind(
        profile, "gemini_3", user("Think, then name a prime.", reasoning_effort=effort), "XLATE-026"
    )
    client.translated(sent, "XLATE-026", xlate_gemini.gemini_thinking_by_generation, gemini_kind="level")


@pytest.mark.requirement("XLATE-026")
@pytest.mark.needs("reasoning")
def test_gemini_2_5_thinking_budget(client: Client, profile: TargetProfile) -> None:
    budgets: list[tuple[str, Any]] = []
    for effort in EFFORTS:
        sent = client.kind(
            profile,
            "gemini_2_5_flash",
            user("Think, then name a prime.", reasoning_effort=effort),
            "XLATE-026",
        )
        if not client.translated(
            sent, "XLATE-026", xlate_gemini.gemini_thinking_by_generation, gemini_kind="budget"
        ):
            return
        config = sent.upstream.gemini["generationConfig"].get("thinkingConfig") or {}
        budgets.append((effort, config.get("thinkingBudget")))
    for message in xlate.non_decreasing("thinkingBudget", budgets):
        client.judge.require("XLATE-026", False, message)


@pytest.mark.requirement("XLATE-027")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("effort", ["low", "medium", "high", "max"])
@pytest.mark.parametrize("kind", ["o3", "o4_mini", "gpt_5"])
def test_openai_native_reasoning_effort(
    client: Client, profile: TargetProfile, kind: str, effort: str
) -> None:
    # `max` is above every one of these models' accepted values (low/medium/high; GPT-5 adds minimal).
    body = user("Think, then name a prime.", reasoning_effort=effort)
    sent = client.kind(profile, kind, body, "XLATE-027")
    client.translated(
        sent, "XLATE-027", xlate_openai.openai_native_effort, openai_reasoning=True, ceiling="high"
    )


@pytest.mark.requirement("XLATE-027")
@pytest.mark.needs("reasoning", "tools")
def test_gpt_5_4_drops_effort_with_tools(client: Client, profile: TargetProfile) -> None:
    body = user("Weather in Paris?", reasoning_effort="high", tools=[WEATHER])
    sent = client.kind(profile, "gpt_5_4", body, "XLATE-027")
    client.translated(
        sent,
        "XLATE-027",
        xlate_openai.openai_native_effort,
        optional_model=True,
        openai_reasoning=True,
        effort_dropped_with_tools=True,
    )


@pytest.mark.requirement("XLATE-028")
@pytest.mark.needs("reasoning")
def test_deepseek_v4_thinking_from_effort(client: Client, profile: TargetProfile) -> None:
    for effort in ("low", "high", "max"):
        sent = client.kind(
            profile, "deepseek_v4", user("Think, then name a prime.", reasoning_effort=effort), "XLATE-028"
        )
        if not client.translated(
            sent, "XLATE-028", xlate_openai.deepseek_thinking_from_effort, deepseek_v4=True
        ):
            return


@pytest.mark.requirement("XLATE-029")
@pytest.mark.parametrize("kind", ["gpt_4o", "llama"])
def test_reasoning_effort_on_plain_model_rejected(client: Client, profile: TargetProfile, kind: str) -> None:
    sent = client.kind(profile, kind, user("Name a prime.", reasoning_effort="low"), "XLATE-029")
    client.check(sent, xlate_request.reasoning_rejected_without_reasoning, non_reasoning_model=True)
    client.judge.require("XLATE-029", not sent.upstreams, "the request reached a provider", sent.exchange)


OFF_CASES = {
    "claude_haiku_4_5": "claude",
    "gemini_2_5_flash": "gemini_budget",
    "deepseek_v4": "deepseek",
    "gemini_2_5_pro": "reject",
    "o3": "reject",
}


@pytest.mark.requirement("XLATE-030")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("kind", list(OFF_CASES))
def test_reasoning_effort_off(client: Client, profile: TargetProfile, kind: str) -> None:
    sent = client.kind(profile, kind, user("Name a prime.", reasoning_effort="off"), "XLATE-030")
    client.check(sent, xlate_request.reasoning_off_native, off=OFF_CASES[kind])
    if OFF_CASES[kind] == "reject":
        return
    journal = [u.raw for u in sent.upstreams]
    if sent.exchange.status != 200 and not refusals(journal):
        client.judge(
            sent.exchange
        )  # the gateway refused `off` itself: XLATE-030's finding, not REQ-027's too
        return
    # an upstream refusal is named by the rule the upstream request broke
    expect.success(client.judge, sent.exchange, "XLATE-030", upstream=sent.context(), journal=journal)


# --------------------------------------------------------------------------------------------------
# Reasoning output and Anthropic history (XLATE-031, XLATE-032)
# --------------------------------------------------------------------------------------------------

REASONING_CASES = {
    "anthropic": ("claude_haiku_4_5", {"reasoning_effort": "low"}),
    "gemini": ("gemini_2_5_flash", {"reasoning_effort": "low"}),
    "deepseek": ("deepseek_v4", {"reasoning_effort": "high"}),
    "vllm": ("qwen3", {}),
}


def _shows_reasoning(up: Upstream) -> bool:
    """Whether this upstream request asked the provider to return its reasoning text."""
    if up.flavour == "gemini":
        return (up.gemini["generationConfig"].get("thinkingConfig") or {}).get("includeThoughts") is True
    if up.flavour == "anthropic":
        return (
            xlate_anthropic.anthropic_thinking(up)
            and (up.json.get("thinking") or {}).get("display") != "omitted"
        )
    if up.flavour == "vllm":
        return up.json.get("include_reasoning") is not False and up.json.get("reasoning_effort") != "none"
    if up.flavour == "deepseek":  # V4 thinks only when thinking is enabled (XLATE-028); the reasoner always
        thinking = up.json.get("thinking")
        return "reasoner" in str(up.json.get("model")) or (
            isinstance(thinking, dict) and thinking.get("type") == "enabled"
        )
    return True


@pytest.mark.requirement("XLATE-031")
@pytest.mark.needs("reasoning")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("flavour", list(REASONING_CASES))
def test_reasoning_kept_apart_from_content(
    client: Client, profile: TargetProfile, flavour: str, stream: bool
) -> None:
    kind, extra = REASONING_CASES[flavour]
    text = "Think it over, then name a prime number."
    body = user(f"{text} [[mock: reasoning=12]]", stream=stream, **extra)
    sent = client.kind(profile, kind, body, "XLATE-031")
    if not client.served(sent, "XLATE-031"):
        return
    if not _shows_reasoning(sent.upstream):
        pytest.skip("the gateway did not ask the provider for its reasoning text: nothing to keep apart")
    client.check(
        sent,
        xlate_response.reasoning_returned_as_reasoning_content,
        xlate_response.reasoning_not_in_content,
        reasoning_text=reasoning_text(seed_of(text), 12),
    )


THOUGHT = {
    "type": "thinking",
    "thinking": "The user wants a prime; 7 works.",
    "signature": "c2lnbmF0dXJlLWNvbmZvcm1hbmNl",
}
REDACTED = {"type": "redacted", "data": "cmVkYWN0ZWQtY29uZm9ybWFuY2U="}


@pytest.mark.requirement("XLATE-032")
@pytest.mark.needs("reasoning")
def test_anthropic_reasoning_blocks_round_trip(client: Client, profile: TargetProfile) -> None:
    messages = [
        {"role": "user", "content": "Name a prime."},
        {"role": "assistant", "content": "7.", "reasoning": [THOUGHT, REDACTED]},
        {"role": "user", "content": "Another one."},
    ]
    sent = client.kind(
        profile, "claude_haiku_4_5", {"messages": messages, "reasoning_effort": "low"}, "XLATE-032"
    )
    client.translated(sent, "XLATE-032", xlate_anthropic.anthropic_history_round_trips)


@pytest.mark.requirement("XLATE-032")
@pytest.mark.parametrize("content", ["", [], None], ids=["empty-string", "empty-list", "null-with-tool-call"])
def test_anthropic_empty_assistant_content(
    client: Client, flavour_models: dict[str, str], content: Any
) -> None:
    if content is None:
        messages = tool_history()
        body: dict[str, Any] = {"messages": messages, "tools": [WEATHER]}
    else:
        messages = [
            {"role": "user", "content": "Pick a fruit."},
            {"role": "assistant", "content": content},
            {"role": "user", "content": "Pick another one."},
        ]
        body = {"messages": messages}
    sent = client.send({**body, "model": model_for(flavour_models, "anthropic")}, "anthropic")
    client.translated(sent, "XLATE-032", xlate_anthropic.anthropic_history_round_trips)


# --------------------------------------------------------------------------------------------------
# Usage (XLATE-033 .. XLATE-035)
# --------------------------------------------------------------------------------------------------

USAGE_CASES = {
    "anthropic-non-stream": ("anthropic", "", False, {}),
    "anthropic-stream": ("anthropic", "", True, {}),
    "anthropic-stream-cumulative": ("anthropic", " usage=cumulative", True, {}),
    "gemini-non-stream": ("gemini", "", False, {}),
    "gemini-stream": ("gemini", "", True, {}),
    "deepseek-non-stream": ("deepseek", "", False, {"reasoning_effort": "high"}),
    "deepseek-stream": ("deepseek", "", True, {"reasoning_effort": "high"}),
}
USAGE_CHECKS = {
    "anthropic": ("XLATE-033", xlate_anthropic.anthropic_usage_mapped),
    "gemini": ("XLATE-034", xlate_gemini.gemini_usage_mapped),
    "deepseek": ("XLATE-035", xlate_openai.deepseek_usage_mapped),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.requirement(USAGE_CHECKS[USAGE_CASES[c][0]][0])) for c in USAGE_CASES],
)
def test_usage_translated_without_double_counting(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str], case: str
) -> None:
    flavour, directive, stream, extra = USAGE_CASES[case]
    if extra and not profile.claims_feature("reasoning"):
        pytest.skip(NOT_CLAIMED + "reasoning")
    requirement, usage_check = USAGE_CHECKS[flavour]
    # Long enough that 8 cached tokens are a real share of the prompt; the mock reports them as cached.
    text = "Summarise the rules of chess for a beginner in one short paragraph, please."
    body = user(
        f"{text} [[mock: cached=8{directive}]]",
        model=model_for(flavour_models, flavour),
        stream=stream,
        **extra,
    )
    if stream:  # ask for usage explicitly: a missing usage chunk is STREAM-007's finding, not this one's
        body["stream_options"] = {"include_usage": True}
    sent = client.send(body, flavour, usage=True)
    if client.served(sent, requirement):
        client.check(sent, usage_check)
        if sent.upstream.usage is not None:
            return  # the provider's own counts are known: the check above judged the translation exactly
        # Without them, the visible answer's tokens under the mock token rule are exactly what is left of
        # completion_tokens once reasoning is taken out (nothing counted twice). A lost or merged delta
        # would fail this too, which is why it is only the fallback.
        usage = xlate.final_usage(sent.exchange) or {}
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
        content = "".join(m.get("content") or "" for m in xlate.messages_of(sent.exchange))
        visible = (usage.get("completion_tokens") or 0) - reasoning
        client.judge.require(
            requirement,
            visible == count_tokens(content),
            f"completion_tokens {usage.get('completion_tokens')} - reasoning_tokens {reasoning} = {visible}, "
            f"but the answer has {count_tokens(content)} tokens",
            sent.exchange,
        )


# --------------------------------------------------------------------------------------------------
# Finish reasons and truncation (XLATE-036 .. XLATE-038)
# --------------------------------------------------------------------------------------------------

FINISH_TEXT = "Describe an autumn forest walk."


def _finish_case(case: str, flavour_model: str) -> tuple[dict[str, Any], str]:
    """(request body, the native finish reason the mock answers with) for one case."""
    if case == "end_turn" or case == "STOP":
        return user(FINISH_TEXT, model=flavour_model), case
    if case == "stop_sequence":
        word = reply_text(seed_of(FINISH_TEXT)).split()[3]
        return user(FINISH_TEXT, model=flavour_model, stop=[word]), case
    if case in ("max_tokens", "MAX_TOKENS"):
        return user(FINISH_TEXT, model=flavour_model, max_completion_tokens=5), case
    if case in ("tool_use", "STOP-tools"):
        return user(FINISH_TEXT, model=flavour_model, tools=[WEATHER], tool_choice="required"), case.split(
            "-"
        )[0]
    if case in ("refusal", "SAFETY"):
        return user(f"{FINISH_TEXT} [[mock: content_filter]]", model=flavour_model), case
    # every other native reason (unmapped and unknown ones included) is named to the mock directly
    return user(f"{FINISH_TEXT} [[mock: native_finish={case}]]", model=flavour_model), case


#: An invented reason: the gateway must keep it in native_finish_reason and say `stop` (D-044).
UNKNOWN_FINISH = "conformance_unknown_reason"
FINISH_CASES = [
    ("anthropic", "end_turn"),
    ("anthropic", "stop_sequence"),
    ("anthropic", "max_tokens"),
    ("anthropic", "tool_use"),
    ("anthropic", "refusal"),
    ("anthropic", "pause_turn"),
    ("anthropic", "model_context_window_exceeded"),
    ("anthropic", UNKNOWN_FINISH),
    ("gemini", "STOP"),
    ("gemini", "STOP-tools"),
    ("gemini", "MAX_TOKENS"),
    ("gemini", "SAFETY"),
    ("gemini", "RECITATION"),
    ("gemini", "BLOCKLIST"),
    ("gemini", "PROHIBITED_CONTENT"),
    ("gemini", "SPII"),
    ("gemini", UNKNOWN_FINISH),
    ("deepseek", "insufficient_system_resource"),
    ("deepseek", UNKNOWN_FINISH),
]


@pytest.mark.requirement("XLATE-036", "XLATE-037")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize(("flavour", "case"), FINISH_CASES, ids=[f"{f}-{c}" for f, c in FINISH_CASES])
def test_native_finish_reasons_mapped(
    client: Client,
    profile: TargetProfile,
    flavour_models: dict[str, str],
    flavour: str,
    case: str,
    stream: bool,
) -> None:
    if "tool" in case and not profile.claims_feature("tools"):
        pytest.skip(NOT_CLAIMED + "tools")
    body, native = _finish_case(case, model_for(flavour_models, flavour))
    sent = client.send({**body, "stream": stream}, flavour)
    client.translated(
        sent,
        "XLATE-036",
        xlate_response.finish_reason_mapped,
        xlate_response.native_finish_reason_kept,
        native_finish=native,
    )


@pytest.mark.requirement("XLATE-038")
@pytest.mark.needs("tools")
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_truncation_wins_over_tool_calls(
    client: Client, flavour_models: dict[str, str], flavour: str, stream: bool
) -> None:
    body = user(
        "Weather in Paris? [[mock: tool_calls=1 finish=length]]",
        model=model_for(flavour_models, flavour),
        tools=[WEATHER],
        tool_choice="required",
        stream=stream,
    )
    sent = client.send(body, flavour)
    client.translated(
        sent,
        "XLATE-038",
        xlate_response.truncation_wins_over_tool_calls,
        xlate_response.tool_call_arguments_are_json,
        truncated=True,
    )


# --------------------------------------------------------------------------------------------------
# Images and cache_control (XLATE-039, XLATE-040)
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("XLATE-039")
@pytest.mark.parametrize("flavour", ["anthropic", "gemini"])
def test_image_parts_native(client: Client, flavour_models: dict[str, str], flavour: str) -> None:
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    if flavour == "anthropic":
        parts.append({"type": "image_url", "image_url": {"url": "https://example.com/conformance/cat.png"}})
    body = {"model": model_for(flavour_models, flavour), "messages": [{"role": "user", "content": parts}]}
    sent = client.send(body, flavour)
    client.translated(sent, "XLATE-039", xlate_request.image_parts_native)


@pytest.mark.requirement("XLATE-040")
def test_anthropic_cache_control_forwarded(client: Client, flavour_models: dict[str, str]) -> None:
    long_text = "Reference text for caching. " * 20
    parts = [
        {"type": "text", "text": long_text, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Summarise the reference text."},
    ]
    body = {"model": model_for(flavour_models, "anthropic"), "messages": [{"role": "user", "content": parts}]}
    sent = client.send(body, "anthropic")
    client.translated(sent, "XLATE-040", xlate_anthropic.anthropic_cache_control_forwarded)


# --------------------------------------------------------------------------------------------------
# Snapshots of the normalised upstream bodies (regression baselines per target profile)
# --------------------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_case" in metafunc.fixturenames:
        metafunc.parametrize(("corpus_provider", "corpus_case"), corpus_params(metafunc.config))


def test_upstream_snapshot(
    target: Target,
    mocks: Mocks,
    profile: TargetProfile,
    snapshot: Any,
    tag: str,
    corpus_provider: str,
    corpus_case: str,
) -> None:
    """The normalised upstream requests of one corpus case equal the profile's recorded baseline."""
    case = load_corpus()[corpus_case]
    model = corpus_model(profile, corpus_provider, case)
    if model is None:
        pytest.skip(NOT_CLAIMED + f"the profile names no model for {corpus_provider} in case {corpus_case}")
    snap = profile_snapshot(snapshot, profile)
    body = {**copy.deepcopy(case["body"]), "model": model}
    exchange, upstreams = send(target, mocks, body, tag)
    assert normalise_exchange(exchange, upstreams) == snap
