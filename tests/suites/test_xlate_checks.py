"""The XLATE and EXT checks pass a correct translation and fail a broken one, naming the right requirement.

Each case builds what the mock journal would record for a correct gateway (the upstream request) plus the
gateway's answer, asserts the check finds nothing, then breaks exactly one thing (a mistranslated
parameter, a missing system prompt, top_k dropped for Gemini, a credential forwarded, ...) and asserts
the finding carries the requirement ID the check is bound to.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from auriko_conformance.mocks.journal import redact
from auriko_conformance.suites.checks import (
    all_checks,
    ext,
    request_fields,
    run_checks,
    xlate,
    xlate_anthropic,
    xlate_gemini,
    xlate_openai,
    xlate_request,
    xlate_response,
)
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.requirements import load_catalogue

#: The modules holding the XLATE and EXT checks (split by provider, as mocks/ and the adapters are).
TRANSLATION_MODULES = {
    m.__name__ for m in (ext, xlate_anthropic, xlate_gemini, xlate_openai, xlate_request, xlate_response)
}

PATHS = {
    "anthropic": "/anthropic/v1/messages",
    "gemini": "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
    "openai": "/openai/v1/chat/completions",
    "deepseek": "/deepseek/chat/completions",
    "vllm": "/vllm/v1/chat/completions",
}
HEADERS = {
    "anthropic": {"x-api-key": "[redacted:1a2b3c4d]", "anthropic-version": "2023-06-01"},
    "gemini": {"x-goog-api-key": "[redacted:1a2b3c4d]"},
}
BEARER = {"authorization": "Bearer [redacted:1a2b3c4d]"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
PING = {"type": "function", "function": {"name": "ping"}}
HISTORY = [
    {"role": "user", "content": "Weather?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                "provider_signature": "sig-1",
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"t": 18}'},
    {"role": "user", "content": "Thanks."},
]


# ------------------------------------------------------------------------------------------------ builders


def up(
    flavour: str, body: dict[str, Any], *, path: str | None = None, usage: Any = None, **kw: Any
) -> Upstream:
    headers = kw.pop("headers", HEADERS.get(flavour, BEARER))
    return Upstream(
        provider=flavour,
        flavour=flavour,
        method=kw.pop("method", "POST"),
        path=path or PATHS[flavour],
        query=kw.pop("query", {}),
        headers=headers,
        body=body,
        status=kw.pop("status", 200),
        usage=usage,
        raw={"body": body, "headers": headers},
    )


def answer(
    message: dict[str, Any] | None = None,
    *,
    finish: str = "stop",
    usage: dict[str, Any] | None = None,
    warnings: list[dict[str, str]] = (),  # type: ignore[assignment]
    native: str | None = None,
) -> Exchange:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": "Hi.", **(message or {})},
        "finish_reason": finish,
    }
    if native is not None:
        choice["native_finish_reason"] = native
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [choice],
        "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        "routing_metadata": {"provider": "p", "warnings": list(warnings)},
    }
    return Exchange.build(status=200, body=body, headers={"content-type": "application/json"})


def streamed(
    deltas: list[dict[str, Any]],
    *,
    finish: str = "stop",
    usage: dict[str, Any] | None = None,
    warnings: list[dict[str, str]] = (),  # type: ignore[assignment]
) -> Exchange:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    final = {
        **base,
        "choices": [],
        "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        "routing_metadata": {"provider": "p", "warnings": list(warnings)},
    }
    data = "".join(f"data: {orjson.dumps(c).decode()}\n\n" for c in [*chunks, final]) + "data: [DONE]\n\n"
    return Exchange.build(status=200, body=data, headers={"content-type": "text/event-stream"})


def failure(
    status: int, code: str, param: str | None = None, kind: str = "invalid_request_error"
) -> Exchange:
    body = {"error": {"message": "m", "type": kind, "code": code, "param": param}}
    return Exchange.build(status=status, body=body, headers={"content-type": "application/json"})


def warn(kind: str, message: str) -> dict[str, str]:
    return {"type": kind, "code": kind, "message": message}


def ctx(
    request: dict[str, Any],
    upstream: Upstream | None = None,
    upstreams: list[Upstream] | None = None,
    **expect: Any,
) -> XlateContext:
    ups = upstreams if upstreams is not None else ([upstream] if upstream else [])
    return XlateContext(request=request, upstream=upstream, upstreams=ups, expect=expect)


Scenario = tuple[Exchange, XlateContext]


def found(check: Callable[..., Any], scenario: Scenario) -> list[str]:
    exchange, context = scenario
    return [f.requirement for f in run_checks(exchange, context, only=[check.__name__])]


def edit(value: Any, fn: Callable[[Any], Any]) -> Any:
    """A deep copy of `value` changed in place by `fn` (whose return value is ignored)."""
    copied = copy.deepcopy(value)
    fn(copied)
    return copied


# ------------------------------------------------------------------------------------------------ scenarios

ANT_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 40,
    "system": [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "One line."}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
        {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
    ],
}
CONVERSATION = {
    "model": "m",
    "max_completion_tokens": 40,
    "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "developer", "content": "One line."},
        {"role": "user", "content": "Bye"},
    ],
}
GEM_BODY = {
    "systemInstruction": {"parts": [{"text": "Be terse."}, {"text": "One line."}]},
    "contents": [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello."}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ],
    "generationConfig": {"maxOutputTokens": 40},
}
ANT_TOOLS_REQUEST = {
    "model": "m",
    "messages": HISTORY,
    "tools": [WEATHER, PING],
    "tool_choice": "required",
    "parallel_tool_calls": False,
}
ANT_TOOLS_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 4096,
    "tools": [
        {"name": "get_weather", "description": "Weather.", "input_schema": WEATHER["function"]["parameters"]},
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '{"t": 18}'},
                {"type": "text", "text": "Thanks."},
            ],
        },
    ],
}
GEM_TOOLS_REQUEST = {
    "model": "m",
    "messages": HISTORY,
    "tools": [WEATHER],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
}
GEM_TOOLS_BODY = {
    "tools": [
        {
            "functionDeclarations": [
                {"name": "get_weather", "parametersJsonSchema": WEATHER["function"]["parameters"]}
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    "contents": [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "sig-1",
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": {"t": 18}}}},
                {"text": "Thanks."},
            ],
        },
    ],
}


# Each entry: (check, requirement, good scenario, broken scenarios {label: scenario}).
CASES: list[tuple[Callable[..., Any], str, Scenario, dict[str, Scenario]]] = []


def case(check: Callable[..., Any], requirement: str, good: Scenario, **broken: Scenario) -> None:
    CASES.append((check, requirement, good, broken))


# REQ-016 (with mocks: an unknown field never reaches the provider) ---------------------------------
case(
    request_fields.unknown_fields_not_forwarded,
    "REQ-016",
    (answer(), ctx({"model": "m", "frobnicate": 1}, up("openai", {"model": "m", "messages": []}))),
    forwarded=(
        answer(),
        ctx({"model": "m", "frobnicate": 1}, up("openai", {"model": "m", "messages": [], "frobnicate": 1})),
    ),
    # the provider refused the forwarded field: judged on what it received (the root-cause probe)
    refused_upstream=(
        failure(502, "upstream_error"),
        ctx(
            {"model": "m", "frobnicate": 1},
            up("openai", {"model": "m", "messages": [], "frobnicate": 1}, status=400),
        ),
    ),
)

# XLATE-001 -----------------------------------------------------------------------------------------
case(
    xlate_request.native_endpoint_and_auth,
    "XLATE-001",
    (answer(), ctx({"model": "m"}, up("anthropic", ANT_BODY), provider_model_id="claude-haiku-4-5")),
    anthropic_without_max_tokens=(
        answer(),
        ctx({"model": "m"}, up("anthropic", edit(ANT_BODY, lambda b: b.pop("max_tokens") and None))),
    ),
    anthropic_without_version=(
        answer(),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, headers={"x-api-key": "[redacted:1a2b3c4d]"})),
    ),
    anthropic_ignores_client_limit=(
        answer(),
        ctx({"model": "m", "max_completion_tokens": 64}, up("anthropic", ANT_BODY)),
    ),
    anthropic_wrong_model=(
        answer(),
        ctx({"model": "m"}, up("anthropic", ANT_BODY), provider_model_id="claude-sonnet-4-5"),
    ),
    anthropic_openai_path=(
        answer(),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, path="/anthropic/v1/chat/completions")),
    ),
    gemini_model_in_body=(
        answer(),
        ctx({"model": "m"}, up("gemini", {**GEM_BODY, "model": "gemini-2.5-flash"})),
    ),
    gemini_stream_with_unknown_alt=(
        answer(),
        ctx(
            {"model": "m", "stream": True},
            up(
                "gemini",
                GEM_BODY,
                path="/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                query={"alt": "proto"},
            ),
        ),
    ),
    gemini_without_key=(answer(), ctx({"model": "m"}, up("gemini", GEM_BODY, headers={}))),
    openai_without_bearer=(answer(), ctx({"model": "m"}, up("openai", {"model": "gpt"}, headers={}))),
)
case(
    xlate_request.native_endpoint_and_auth,
    "XLATE-001",
    (
        answer(),
        ctx(
            {"model": "m", "stream": True},
            up(
                "gemini",
                GEM_BODY,
                path="/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                query={"alt": "sse"},
            ),
            provider_model_id="gemini-2.5-flash",
        ),
    ),
    gemini_wrong_model_in_path=(
        answer(),
        ctx({"model": "m"}, up("gemini", GEM_BODY), provider_model_id="gemini-2.5-pro"),
    ),
)

# Portkey's native Gemini call (D-138): the key as ?key= and a stream without alt=sse (one JSON array),
# both documented by Google; neither is a finding.
case(
    xlate_request.native_endpoint_and_auth,
    "XLATE-001",
    (
        answer(),
        ctx(
            {"model": "m", "stream": True},
            up(
                "gemini",
                GEM_BODY,
                path="/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                query={"key": "[redacted:1a2b3c4d]"},
                headers={},
            ),
        ),
    ),
    gemini_key_in_query_without_a_value=(
        answer(),
        ctx({"model": "m"}, up("gemini", GEM_BODY, query={"key": ""}, headers={})),
    ),
)

# XLATE-002 -----------------------------------------------------------------------------------------
STREAM_REQ = {"model": "m", "stream": True}
case(
    xlate_request.stream_options_where_accepted,
    "XLATE-002",
    (answer(), ctx(STREAM_REQ, up("deepseek", {"stream": True, "stream_options": {"include_usage": True}}))),
    compatible_without_usage=(answer(), ctx(STREAM_REQ, up("vllm", {"stream": True}))),
    anthropic_with_stream_options=(
        answer(),
        ctx(STREAM_REQ, up("anthropic", {**ANT_BODY, "stream_options": {"include_usage": True}})),
    ),
    gemini_with_stream_options=(answer(), ctx(STREAM_REQ, up("gemini", {**GEM_BODY, "stream_options": {}}))),
)

# XLATE-003 / XLATE-004 -------------------------------------------------------------------------------
case(
    xlate_anthropic.anthropic_system_top_level,
    "XLATE-003",
    (answer(), ctx(CONVERSATION, up("anthropic", ANT_BODY))),
    missing_system_prompt=(
        answer(),
        ctx(CONVERSATION, up("anthropic", edit(ANT_BODY, lambda b: b.pop("system") and None))),
    ),
    developer_dropped=(
        answer(),
        ctx(CONVERSATION, up("anthropic", edit(ANT_BODY, lambda b: b.update(system="Be terse.")))),
    ),
    system_role_in_messages=(
        answer(),
        ctx(
            CONVERSATION,
            up(
                "anthropic",
                edit(ANT_BODY, lambda b: b["messages"].insert(0, {"role": "system", "content": "x"})),
            ),
        ),
    ),
)
case(
    xlate_anthropic.anthropic_system_top_level,
    "XLATE-003",
    (answer(), ctx(CONVERSATION, up("anthropic", {**ANT_BODY, "system": "Be terse.\nOne line."}))),
    system_order_swapped=(
        answer(),
        ctx(CONVERSATION, up("anthropic", {**ANT_BODY, "system": "One line.\nBe terse."})),
    ),
)
case(
    xlate_gemini.gemini_system_instruction,
    "XLATE-004",
    (answer(), ctx(CONVERSATION, up("gemini", GEM_BODY))),
    assistant_role_not_model=(
        answer(),
        ctx(
            CONVERSATION,
            up(
                "gemini",
                {
                    "system_instruction": GEM_BODY["systemInstruction"],
                    "contents": [
                        {"role": "user", "parts": [{"text": "Hi"}]},
                        {"role": "assistant", "parts": [{"text": "Hello."}]},
                    ],
                },
            ),
        ),
    ),
    missing_system_instruction=(
        answer(),
        ctx(CONVERSATION, up("gemini", edit(GEM_BODY, lambda b: b.pop("systemInstruction") and None))),
    ),
    system_as_content=(
        answer(),
        ctx(
            CONVERSATION,
            up(
                "gemini",
                edit(
                    GEM_BODY,
                    lambda b: b["contents"].insert(0, {"role": "system", "parts": [{"text": "Be terse."}]}),
                ),
            ),
        ),
    ),
)
case(
    xlate_gemini.gemini_system_instruction,
    "XLATE-004",
    (
        answer(),
        ctx(
            CONVERSATION,
            up(
                "gemini",
                {
                    "system_instruction": {"parts": [{"text": "Be terse.\nOne line."}]},
                    "contents": GEM_BODY["contents"],
                },
            ),
        ),
    ),
    assistant_turn_lost=(
        answer(),
        ctx(CONVERSATION, up("gemini", edit(GEM_BODY, lambda b: b["contents"].pop(1) and None))),
    ),
)

# XLATE-005 / XLATE-006 -------------------------------------------------------------------------------
# Portkey's tools: each input_schema gains an empty `$defs`, which defines nothing (the same schema).
case(
    xlate_anthropic.anthropic_tools_native,
    "XLATE-005",
    (
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up(
                "anthropic",
                edit(ANT_TOOLS_BODY, lambda b: b["tools"][0]["input_schema"].update({"$defs": {}})),
            ),
        ),
    ),
    non_empty_defs_added=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up(
                "anthropic",
                edit(ANT_TOOLS_BODY, lambda b: b["tools"][0]["input_schema"].update({"$defs": {"x": {}}})),
            ),
        ),
    ),
)
case(
    xlate_anthropic.anthropic_tools_native,
    "XLATE-005",
    (answer(), ctx(ANT_TOOLS_REQUEST, up("anthropic", ANT_TOOLS_BODY))),
    schema_changed=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up(
                "anthropic", edit(ANT_TOOLS_BODY, lambda b: b["tools"][0]["input_schema"].update(required=[]))
            ),
        ),
    ),
    required_sent_as_auto=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["tool_choice"].update(type="auto"))),
        ),
    ),
    parallel_flag_lost=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b.update(tool_choice={"type": "any"}))),
        ),
    ),
    openai_shaped_tool=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["tools"].__setitem__(0, WEATHER))),
        ),
    ),
    empty_tool_without_schema=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["tools"][1].pop("input_schema"))),
        ),
    ),
    tool_result_missing=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["messages"][2]["content"].pop(0))),
        ),
    ),
    tool_use_input_as_string=(
        answer(),
        ctx(
            ANT_TOOLS_REQUEST,
            up(
                "anthropic",
                edit(
                    ANT_TOOLS_BODY, lambda b: b["messages"][1]["content"][0].update(input='{"city":"Paris"}')
                ),
            ),
        ),
    ),
)
case(
    xlate_anthropic.anthropic_tools_native,
    "XLATE-005",
    (
        answer(),
        ctx(
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [WEATHER],
                "tool_choice": "none",
            },
            up(
                "anthropic",
                {**ANT_BODY, "tools": ANT_TOOLS_BODY["tools"][:1], "tool_choice": {"type": "none"}},
            ),
        ),
    ),
    none_dropped=(
        answer(),
        ctx(
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "tools": [WEATHER],
                "tool_choice": "none",
            },
            up("anthropic", {**ANT_BODY, "tools": ANT_TOOLS_BODY["tools"][:1]}),
        ),
    ),
)
case(
    xlate_gemini.gemini_tools_native,
    "XLATE-006",
    (answer(), ctx(GEM_TOOLS_REQUEST, up("gemini", GEM_TOOLS_BODY))),
    named_without_allowed_names=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY,
                    lambda b: b["toolConfig"]["functionCallingConfig"].pop("allowedFunctionNames"),
                ),
            ),
        ),
    ),
    signature_not_echoed=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini", edit(GEM_TOOLS_BODY, lambda b: b["contents"][1]["parts"][0].pop("thoughtSignature"))
            ),
        ),
    ),
    args_as_string=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY, lambda b: b["contents"][1]["parts"][0]["functionCall"].update(args="{}")
                ),
            ),
        ),
    ),
    response_not_object=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY,
                    lambda b: b["contents"][2]["parts"][0]["functionResponse"].update(response="18"),
                ),
            ),
        ),
    ),
    declaration_missing=(
        answer(),
        ctx(GEM_TOOLS_REQUEST, up("gemini", edit(GEM_TOOLS_BODY, lambda b: b.update(tools=[])))),
    ),
    # issue 16: only the names were compared, so a tool sent without its parameters passed
    parameters_dropped=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY,
                    lambda b: b["tools"][0]["functionDeclarations"][0].pop("parametersJsonSchema"),
                ),
            ),
        ),
    ),
    parameters_emptied=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY,
                    lambda b: b["tools"][0]["functionDeclarations"][0].update(
                        parametersJsonSchema={"type": "object"}
                    ),
                ),
            ),
        ),
    ),
)


def _gem_tools_subset(parameters: dict[str, Any]) -> dict[str, Any]:
    """GEM_TOOLS_BODY with the tool schema in the OpenAPI subset (`parameters`), snake_case spelling."""
    declaration = {"name": "get_weather", "parameters": parameters}
    return {**GEM_TOOLS_BODY, "tools": [{"function_declarations": [declaration]}]}


SUBSET_WEATHER = {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}
case(
    xlate_gemini.gemini_tools_native,
    "XLATE-006",
    (answer(), ctx(GEM_TOOLS_REQUEST, up("gemini", _gem_tools_subset(SUBSET_WEATHER)))),
    subset_property_lost=(
        answer(),
        ctx(GEM_TOOLS_REQUEST, up("gemini", _gem_tools_subset({"type": "OBJECT", "properties": {}}))),
    ),
    subset_type_changed=(
        answer(),
        ctx(
            GEM_TOOLS_REQUEST,
            up("gemini", _gem_tools_subset({"type": "OBJECT", "properties": {"city": {"type": "INTEGER"}}})),
        ),
    ),
    subset_not_a_schema=(answer(), ctx(GEM_TOOLS_REQUEST, up("gemini", _gem_tools_subset("object")))),  # type: ignore[arg-type]
)

# XLATE-007 / XLATE-009 / XLATE-011 (response side) -----------------------------------------------------
NONE_REQ = {"model": "m", "tools": [WEATHER], "tool_choice": "none"}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}
case(
    xlate_response.tool_choice_none_honoured,
    "XLATE-007",
    (answer(), ctx(NONE_REQ)),
    tool_call_returned=(answer({"content": None, "tool_calls": [CALL]}, finish="tool_calls"), ctx(NONE_REQ)),
    finish_tool_calls=(answer(finish="tool_calls"), ctx(NONE_REQ)),
    streamed_tool_call=(
        streamed([{"role": "assistant", "tool_calls": [{"index": 0, **CALL}]}], finish="tool_calls"),
        ctx(NONE_REQ),
    ),
)
EMPTY_CALL = {"id": "call_2", "type": "function", "function": {"name": "ping", "arguments": "{}"}}
case(
    xlate_response.tool_call_arguments_are_json,
    "XLATE-009",
    (answer({"content": None, "tool_calls": [EMPTY_CALL]}, finish="tool_calls"), ctx({"model": "m"})),
    empty_string_arguments=(
        answer(
            {"content": None, "tool_calls": [edit(EMPTY_CALL, lambda c: c["function"].update(arguments=""))]}
        ),
        ctx({"model": "m"}),
    ),
    stream_empty_arguments=(
        streamed(
            [
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c",
                            "type": "function",
                            "function": {"name": "ping", "arguments": ""},
                        }
                    ]
                }
            ]
        ),
        ctx({"model": "m"}),
    ),
    stream_broken_arguments=(
        streamed(
            [
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a'},
                        }
                    ]
                },
                {"tool_calls": [{"index": 0, "function": {"arguments": ": 1"}}]},
            ]
        ),
        ctx({"model": "m"}),
    ),
    no_arguments_as_null=(
        answer(
            {
                "content": None,
                "tool_calls": [edit(EMPTY_CALL, lambda c: c["function"].update(arguments="null"))],
            }
        ),
        ctx({"model": "m"}, no_argument_tools=["ping"]),
    ),
)


def _tool_stream(first_index: int, split: bool = True) -> Exchange:
    a, b = first_index, first_index + 1
    deltas = [
        {"role": "assistant", "reasoning_content": "Thinking about the weather and the time."},
        {
            "tool_calls": [
                {
                    "index": a,
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": a, "function": {"arguments": '{"city":'}}]},
        {
            "tool_calls": [
                {
                    "index": b,
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": b if split else a, "function": {"arguments": '{"zone":"UTC"}'}}]},
        {"tool_calls": [{"index": a if split else b, "function": {"arguments": '"Paris"}'}}]},
    ]
    return streamed(deltas, finish="tool_calls")


TOOL_EXPECT = {"tool_names": ["get_weather", "get_time"], "argument_keys": [["city"], ["zone"]]}
case(
    xlate_anthropic.anthropic_stream_tool_indices,
    "XLATE-011",
    (_tool_stream(0), ctx({"model": "m"}, up("anthropic", ANT_BODY), **TOOL_EXPECT)),
    indices_counting_the_thinking_block=(_tool_stream(1), ctx({"model": "m"}, up("anthropic", ANT_BODY))),
    argument_delta_on_the_wrong_call=(
        _tool_stream(0, split=False),
        ctx({"model": "m"}, up("anthropic", ANT_BODY), **TOOL_EXPECT),
    ),
)

# XLATE-008 / XLATE-010 --------------------------------------------------------------------------------
DS_REQ = {"model": "deepseek-chat", "messages": HISTORY, "reasoning_effort": "high"}
DS_BODY = {
    "model": "deepseek-chat",
    "thinking": {"type": "enabled"},
    "messages": [
        HISTORY[0],
        {**{k: v for k, v in HISTORY[1].items()}, "reasoning_content": ""},
        HISTORY[2],
        HISTORY[3],
    ],
}
case(
    xlate_openai.deepseek_reasoning_content_on_tool_turns,
    "XLATE-008",
    (answer(), ctx(DS_REQ, up("deepseek", DS_BODY))),
    reasoning_content_missing=(
        answer(),
        ctx(DS_REQ, up("deepseek", edit(DS_BODY, lambda b: b["messages"][1].pop("reasoning_content")))),
    ),
    client_value_replaced=(
        answer(),
        ctx(
            edit(DS_REQ, lambda r: r["messages"][1].update(reasoning_content="mine")),
            up("deepseek", DS_BODY),
        ),
    ),
)
EMPTY_ARGS_REQ = edit(
    ANT_TOOLS_REQUEST, lambda r: r["messages"][1]["tool_calls"][0]["function"].update(arguments="")
)
case(
    xlate_request.empty_arguments_become_empty_object,
    "XLATE-010",
    (
        answer(),
        ctx(
            EMPTY_ARGS_REQ,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["messages"][1]["content"][0].update(input={}))),
        ),
    ),
    raw_string_input=(
        answer(),
        ctx(
            EMPTY_ARGS_REQ,
            up(
                "anthropic",
                edit(ANT_TOOLS_BODY, lambda b: b["messages"][1]["content"][0].update(input={"_raw": ""})),
            ),
        ),
    ),
    upstream_rejected=(
        failure(502, "upstream_error", kind="api_error"),
        ctx(
            EMPTY_ARGS_REQ,
            up("anthropic", edit(ANT_TOOLS_BODY, lambda b: b["messages"][1]["content"][0].update(input={}))),
        ),
    ),
)
GEM_EMPTY_REQ = edit(
    GEM_TOOLS_REQUEST, lambda r: r["messages"][1]["tool_calls"][0]["function"].update(arguments="")
)
case(
    xlate_request.empty_arguments_become_empty_object,
    "XLATE-010",
    (
        answer(),
        ctx(
            GEM_EMPTY_REQ,
            up(
                "gemini",
                edit(GEM_TOOLS_BODY, lambda b: b["contents"][1]["parts"][0]["functionCall"].update(args={})),
            ),
        ),
    ),
    args_kept_as_text=(
        answer(),
        ctx(
            GEM_EMPTY_REQ,
            up(
                "gemini",
                edit(
                    GEM_TOOLS_BODY,
                    lambda b: b["contents"][1]["parts"][0]["functionCall"].update(args={"value": ""}),
                ),
            ),
        ),
    ),
)

# XLATE-012 .. XLATE-018 ----------------------------------------------------------------------------------
STOP_REQ = {"model": "m", "stop": "zebra"}
case(
    xlate_request.stop_native_field,
    "XLATE-012",
    (answer(), ctx(STOP_REQ, up("anthropic", {**ANT_BODY, "stop_sequences": ["zebra"]}))),
    stop_not_translated=(answer(), ctx(STOP_REQ, up("anthropic", {**ANT_BODY, "stop": "zebra"}))),
    string_not_listed=(answer(), ctx(STOP_REQ, up("anthropic", {**ANT_BODY, "stop_sequences": "zebra"}))),
)
case(
    xlate_request.stop_native_field,
    "XLATE-012",
    (answer(), ctx(STOP_REQ, up("gemini", {**GEM_BODY, "generation_config": {"stop_sequences": ["zebra"]}}))),
    gemini_stop_missing=(answer(), ctx(STOP_REQ, up("gemini", GEM_BODY))),
    openai_stop_listed=(answer(), ctx(STOP_REQ, up("openai", {"stop": ["zebra"]}))),
)
WS_REQ = {"model": "m", "stop": ["\n", "zebra"]}
STOP_WARNING = [warn("unsupported_parameter", "Whitespace-only `stop` sequences were dropped.")]
case(
    xlate_anthropic.anthropic_whitespace_stops_dropped,
    "XLATE-013",
    (answer(warnings=STOP_WARNING), ctx(WS_REQ, up("anthropic", {**ANT_BODY, "stop_sequences": ["zebra"]}))),
    whitespace_forwarded=(
        answer(warnings=STOP_WARNING),
        ctx(WS_REQ, up("anthropic", {**ANT_BODY, "stop_sequences": ["\n", "zebra"]})),
    ),
    no_warning=(answer(), ctx(WS_REQ, up("anthropic", {**ANT_BODY, "stop_sequences": ["zebra"]}))),
    request_failed=(failure(502, "upstream_error", kind="api_error"), ctx(WS_REQ, None, flavour="anthropic")),
)
case(
    xlate_request.output_limit_native_field,
    "XLATE-014",
    (
        answer(),
        ctx(
            {"model": "m", "max_tokens": 40},
            up("gemini", {**GEM_BODY, "generationConfig": {"max_output_tokens": 40}}),
        ),
    ),
    gemini_limit_missing=(
        answer(),
        ctx({"model": "m", "max_tokens": 40}, up("gemini", {**GEM_BODY, "generationConfig": {}})),
    ),
    gemini_limit_changed=(
        answer(),
        ctx(
            {"model": "m", "max_tokens": 40},
            up("gemini", {**GEM_BODY, "generationConfig": {"maxOutputTokens": 4096}}),
        ),
    ),
    gemini_not_clamped=(
        answer(),
        ctx(
            {"model": "m", "max_tokens": 100_000},
            up("gemini", {**GEM_BODY, "generationConfig": {"maxOutputTokens": 200_000}}),
        ),
    ),
)
case(
    xlate_request.output_limit_native_field,
    "XLATE-014",
    (
        answer(),
        ctx(
            {"model": "o4-mini", "max_tokens": 50},
            up("openai", {"max_completion_tokens": 50}),
            reasoning_model=True,
        ),
    ),
    reasoning_model_got_max_tokens=(
        answer(),
        ctx({"model": "o4-mini", "max_tokens": 50}, up("openai", {"max_tokens": 50}), reasoning_model=True),
    ),
    deepseek_wrong_field=(
        answer(),
        ctx({"model": "d", "max_completion_tokens": 50}, up("deepseek", {"max_completion_tokens": 50})),
    ),
)
SAMPLING_REQ = {"model": "m", "temperature": 0.5, "top_p": 0.9, "top_k": 40}
case(
    xlate_request.sampling_native_anthropic_gemini,
    "XLATE-015",
    (
        answer(),
        ctx(SAMPLING_REQ, up("anthropic", {**ANT_BODY, "temperature": 0.5, "top_p": 0.9, "top_k": 40})),
    ),
    anthropic_top_k_dropped=(
        answer(),
        ctx(SAMPLING_REQ, up("anthropic", {**ANT_BODY, "temperature": 0.5, "top_p": 0.9})),
    ),
)
GEM_SAMPLING_REQ = {**SAMPLING_REQ, "seed": 7, "n": 2, "presence_penalty": 0.2, "frequency_penalty": 0.3}
GEM_SAMPLING = {
    "temperature": 0.5,
    "topP": 0.9,
    "topK": 40,
    "seed": 7,
    "candidateCount": 2,
    "presencePenalty": 0.2,
}
PENALTY_WARNING = [warn("unsupported_parameter", "'frequency_penalty' is not supported by this model.")]
case(
    xlate_request.sampling_native_anthropic_gemini,
    "XLATE-015",
    (
        answer(warnings=PENALTY_WARNING),
        ctx(GEM_SAMPLING_REQ, up("gemini", {**GEM_BODY, "generationConfig": GEM_SAMPLING})),
    ),
    top_k_dropped_for_gemini=(
        answer(warnings=PENALTY_WARNING),
        ctx(
            GEM_SAMPLING_REQ,
            up(
                "gemini",
                {**GEM_BODY, "generationConfig": edit(GEM_SAMPLING, lambda c: c.pop("topK") and None)},
            ),
        ),
    ),
    n_not_candidate_count=(
        answer(warnings=PENALTY_WARNING),
        ctx(
            GEM_SAMPLING_REQ,
            up(
                "gemini",
                {
                    **GEM_BODY,
                    "n": 2,
                    "generationConfig": edit(GEM_SAMPLING, lambda c: c.pop("candidateCount") and None),
                },
            ),
        ),
    ),
    penalty_dropped_silently=(
        answer(),
        ctx(GEM_SAMPLING_REQ, up("gemini", {**GEM_BODY, "generationConfig": GEM_SAMPLING})),
    ),
)
TEMP_WARNING = [warn("unsupported_parameter", "temperature 1.5 is above Anthropic's maximum; 1 was used.")]
case(
    xlate_anthropic.anthropic_temperature_clamped,
    "XLATE-016",
    (
        answer(warnings=TEMP_WARNING),
        ctx({"model": "m", "temperature": 1.5}, up("anthropic", {**ANT_BODY, "temperature": 1})),
    ),
    not_clamped=(
        answer(warnings=TEMP_WARNING),
        ctx({"model": "m", "temperature": 1.5}, up("anthropic", {**ANT_BODY, "temperature": 1.5})),
    ),
    no_warning=(
        answer(),
        ctx({"model": "m", "temperature": 1.5}, up("anthropic", {**ANT_BODY, "temperature": 1})),
    ),
)
OPENAI_REQ = {"model": "m", "seed": 7, "logit_bias": {"1": -100}, "prompt_cache_key": "k", "verbosity": "low"}
VERBOSITY_WARNING = [
    warn("unsupported_parameter", "'verbosity' is not supported by openai (gpt-4o) and was dropped.")
]
case(
    xlate_openai.openai_compatible_fields_unchanged,
    "XLATE-017",
    (
        answer(warnings=VERBOSITY_WARNING),
        ctx(OPENAI_REQ, up("openai", {"seed": 7, "logit_bias": {"1": -100}, "prompt_cache_key": "k"})),
    ),
    seed_changed=(
        answer(warnings=VERBOSITY_WARNING),
        ctx(OPENAI_REQ, up("openai", {"seed": 8, "logit_bias": {"1": -100}, "prompt_cache_key": "k"})),
    ),
    verbosity_dropped_silently=(
        answer(),
        ctx(OPENAI_REQ, up("openai", {"seed": 7, "logit_bias": {"1": -100}, "prompt_cache_key": "k"})),
    ),
)
VLLM_REQ = {"model": "m", "top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1}
case(
    xlate_openai.openai_compatible_fields_unchanged,
    "XLATE-017",
    (answer(), ctx(VLLM_REQ, up("vllm", {"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1}))),
    min_p_dropped=(answer(), ctx(VLLM_REQ, up("vllm", {"top_k": 40, "repetition_penalty": 1.1}))),
)
# D-112: top_a reaches vLLM unchanged where the model takes it, else it is dropped with a warning
TOP_A_REQ = {"model": "m", "top_a": 0.5}
case(
    xlate_openai.openai_compatible_fields_unchanged,
    "XLATE-017",
    (answer(), ctx(TOP_A_REQ, up("vllm", {"top_a": 0.5}))),
    top_a_changed=(answer(), ctx(TOP_A_REQ, up("vllm", {"top_a": 0.9}))),
    top_a_dropped_silently=(answer(), ctx(TOP_A_REQ, up("vllm", {}))),
)
case(
    xlate_openai.openai_compatible_fields_unchanged,
    "XLATE-017",
    (answer(warnings=[warn("unsupported_parameter", "top_a was dropped")]), ctx(TOP_A_REQ, up("vllm", {}))),
    warning_names_another_field=(
        answer(warnings=[warn("unsupported_parameter", "top_k was dropped")]),
        ctx(TOP_A_REQ, up("vllm", {})),
    ),
)
case(
    xlate_request.no_native_field_not_forwarded,
    "XLATE-018",
    (answer(), ctx({"model": "m", "top_k": 20, "top_a": 0.5}, up("openai", {"model": "gpt"}))),
    top_k_forwarded_to_openai=(answer(), ctx({"model": "m", "top_k": 20}, up("openai", {"top_k": 20}))),
    top_a_forwarded_to_deepseek=(answer(), ctx({"model": "m", "top_a": 0.5}, up("deepseek", {"top_a": 0.5}))),
    seed_forwarded_to_anthropic=(
        answer(),
        ctx({"model": "m", "seed": 7}, up("anthropic", {**ANT_BODY, "seed": 7})),
    ),
    logit_bias_in_gemini_config=(
        answer(),
        ctx(
            {"model": "m", "logit_bias": {"1": 1}},
            up("gemini", {**GEM_BODY, "generationConfig": {"logit_bias": {"1": 1}}}),
        ),
    ),
)

# XLATE-019 / XLATE-020 ------------------------------------------------------------------------------------
SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "string"}},
    "additionalProperties": False,
    "$schema": "x",
}
RF_REQ = {
    "model": "m",
    "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}},
}
case(
    xlate_gemini.gemini_response_format,
    "XLATE-019",
    (
        answer(),
        ctx(
            RF_REQ,
            up(
                "gemini",
                {
                    **GEM_BODY,
                    "generationConfig": {
                        "responseMimeType": "application/json",
                        "responseJsonSchema": SCHEMA,
                    },
                },
            ),
        ),
    ),
    mime_type_missing=(
        answer(),
        ctx(RF_REQ, up("gemini", {**GEM_BODY, "generationConfig": {"responseJsonSchema": SCHEMA}})),
    ),
    schema_missing=(
        answer(),
        ctx(RF_REQ, up("gemini", {**GEM_BODY, "generationConfig": {"responseMimeType": "application/json"}})),
    ),
    uncleaned_response_schema=(
        answer(),
        ctx(
            RF_REQ,
            up(
                "gemini",
                {
                    **GEM_BODY,
                    "generationConfig": {"responseMimeType": "application/json", "responseSchema": SCHEMA},
                },
            ),
        ),
    ),
    upstream_400=(
        failure(502, "upstream_error", kind="api_error"),
        ctx(
            RF_REQ,
            up(
                "gemini",
                {
                    **GEM_BODY,
                    "generationConfig": {
                        "responseMimeType": "application/json",
                        "responseJsonSchema": SCHEMA,
                    },
                },
                status=400,
            ),
        ),
    ),
)


def _gem_response_schema(schema: Any) -> dict[str, Any]:
    """A Gemini body asking for JSON with `schema` in the OpenAPI subset (`responseSchema`)."""
    return {
        **GEM_BODY,
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema},
    }


case(
    xlate_gemini.gemini_response_format,
    "XLATE-019",
    (
        answer(),
        ctx(
            RF_REQ,
            up("gemini", _gem_response_schema({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}})),
        ),
    ),
    # issue 16: only leftover additionalProperties/$schema were looked for, so these passed
    empty_response_schema=(answer(), ctx(RF_REQ, up("gemini", _gem_response_schema({})))),
    wrong_response_schema=(
        answer(),
        ctx(
            RF_REQ,
            up("gemini", _gem_response_schema({"type": "OBJECT", "properties": {"b": {"type": "STRING"}}})),
        ),
    ),
    response_schema_as_array=(
        answer(),
        ctx(RF_REQ, up("gemini", _gem_response_schema({"type": "ARRAY", "items": {"type": "STRING"}}))),
    ),
)
case(
    xlate_anthropic.anthropic_json_schema_as_content,
    "XLATE-020",
    (answer({"content": '{"a": "x"}'}), ctx(RF_REQ, up("anthropic", ANT_BODY))),
    answered_as_tool_call=(
        answer(
            {
                "content": None,
                "tool_calls": [edit(CALL, lambda c: c["function"].update(name="json_tool_call"))],
            },
            finish="tool_calls",
        ),
        ctx(RF_REQ, up("anthropic", ANT_BODY)),
    ),
    not_json=(answer({"content": "Here you go: a is x"}), ctx(RF_REQ, up("anthropic", ANT_BODY))),
    # issue 16: parsing was enough, so JSON that ignores the schema passed
    wrong_type=(answer({"content": '{"a": 1}'}), ctx(RF_REQ, up("anthropic", ANT_BODY))),
    extra_property=(answer({"content": '{"a": "x", "b": 2}'}), ctx(RF_REQ, up("anthropic", ANT_BODY))),
    not_an_object=(answer({"content": '["a"]'}), ctx(RF_REQ, up("anthropic", ANT_BODY))),
)


# reasoning_effort grid ---------------------------------------------------------------------------------------
def _effort(effort: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": effort, **extra}


case(
    xlate_anthropic.claude_adaptive_effort,
    "XLATE-021",
    (
        answer(),
        ctx(
            _effort("medium"),
            up(
                "anthropic",
                {**ANT_BODY, "thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}},
            ),
            claude_kind="adaptive",
        ),
    ),
    enabled_instead_of_adaptive=(
        answer(),
        ctx(
            _effort("medium"),
            up("anthropic", {**ANT_BODY, "thinking": {"type": "enabled", "budget_tokens": 2048}}),
            claude_kind="adaptive",
        ),
    ),
    wrong_effort=(
        answer(),
        ctx(
            _effort("medium"),
            up(
                "anthropic",
                {**ANT_BODY, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
            ),
            claude_kind="adaptive",
        ),
    ),
)
BUDGET_BODY = {**ANT_BODY, "max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 1024}}
case(
    xlate_anthropic.thinking_budget_in_range,
    "XLATE-022",
    (answer(), ctx({}, up("anthropic", BUDGET_BODY))),  # no test knowledge needed: it probes refusals too
    budget_below_minimum=(
        answer(),
        ctx({}, up("anthropic", {**BUDGET_BODY, "thinking": {"type": "enabled", "budget_tokens": 512}})),
    ),
    budget_not_below_max_tokens=(answer(), ctx({}, up("anthropic", {**BUDGET_BODY, "max_tokens": 1024}))),
)
case(
    xlate_anthropic.claude_budget_from_effort,
    "XLATE-022",
    (answer(), ctx(_effort("low"), up("anthropic", BUDGET_BODY), claude_kind="budget")),
    adaptive_on_budget_model=(
        answer(),
        ctx(
            _effort("low"),
            up("anthropic", {**ANT_BODY, "thinking": {"type": "adaptive"}}),
            claude_kind="budget",
        ),
    ),
    opus_without_effort=(
        answer(),
        ctx(_effort("low"), up("anthropic", BUDGET_BODY), claude_kind="budget", effort_control=True),
    ),
)
EFFORT_WARNING = [warn("unsupported_parameter", "reasoning_effort 'xhigh' is not available; 'max' was used.")]
case(
    xlate_anthropic.claude_xhigh_normalised,
    "XLATE-023",
    (
        answer(warnings=EFFORT_WARNING),
        ctx(
            _effort("xhigh"),
            up(
                "anthropic",
                {**ANT_BODY, "thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            ),
            claude_kind="adaptive",
            xhigh_to="max",
        ),
    ),
    xhigh_kept_where_unsupported=(
        answer(warnings=EFFORT_WARNING),
        ctx(
            _effort("xhigh"),
            up(
                "anthropic",
                {**ANT_BODY, "thinking": {"type": "adaptive"}, "output_config": {"effort": "xhigh"}},
            ),
            claude_kind="adaptive",
            xhigh_to="max",
        ),
    ),
    changed_without_warning=(
        answer(),
        ctx(
            _effort("xhigh"),
            up(
                "anthropic",
                {**ANT_BODY, "thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            ),
            claude_kind="adaptive",
            xhigh_to="max",
        ),
    ),
)
case(
    xlate_anthropic.claude_xhigh_normalised,
    "XLATE-023",
    (
        answer(warnings=EFFORT_WARNING),
        ctx(
            _effort("xhigh"),
            up(
                "anthropic",
                {**BUDGET_BODY, "thinking": {"type": "enabled", "budget_tokens": 4096}, "max_tokens": 8192},
            ),
            claude_kind="budget",
            xhigh_to="high",
            high_budget=4096,
        ),
    ),
    budget_above_high=(
        answer(warnings=EFFORT_WARNING),
        ctx(
            _effort("xhigh"),
            up(
                "anthropic",
                {**BUDGET_BODY, "thinking": {"type": "enabled", "budget_tokens": 8192}, "max_tokens": 9000},
            ),
            claude_kind="budget",
            xhigh_to="high",
            high_budget=4096,
        ),
    ),
)
THINKING_WARNINGS = [
    warn("unsupported_parameter", f"'{n}' is incompatible with Claude extended thinking and was dropped.")
    for n in ("temperature", "top_k", "top_p")
]
SAMPLING_THINKING_REQ = _effort("low", temperature=0.5, top_k=40, top_p=0.5)
case(
    xlate_anthropic.claude_thinking_sampling_stripped,
    "XLATE-024",
    (answer(warnings=THINKING_WARNINGS), ctx(SAMPLING_THINKING_REQ, up("anthropic", BUDGET_BODY))),
    temperature_forwarded=(
        answer(warnings=THINKING_WARNINGS),
        ctx(SAMPLING_THINKING_REQ, up("anthropic", {**BUDGET_BODY, "temperature": 0.5})),
    ),
    top_p_without_warning=(
        answer(warnings=THINKING_WARNINGS[:2]),
        ctx(SAMPLING_THINKING_REQ, up("anthropic", BUDGET_BODY)),
    ),
)
FORCED_REQ = _effort("low", tools=[WEATHER], tool_choice="required")
case(
    xlate_anthropic.claude_thinking_no_forced_tool,
    "XLATE-025",
    (failure(400, "tool_choice_required_not_supported"), ctx(FORCED_REQ, None, [], flavour="anthropic")),
    sent_with_both=(
        answer(),
        ctx(
            FORCED_REQ,
            None,
            [up("anthropic", {**BUDGET_BODY, "tool_choice": {"type": "any"}}, status=400)],
            flavour="anthropic",
        ),
    ),
    thinking_dropped_silently=(
        answer(),
        ctx(
            FORCED_REQ,
            None,
            [up("anthropic", {**ANT_BODY, "tool_choice": {"type": "any"}})],
            flavour="anthropic",
        ),
    ),
    wrong_error_code=(failure(400, "invalid_request"), ctx(FORCED_REQ, None, [], flavour="anthropic")),
)
case(
    xlate_anthropic.claude_thinking_no_forced_tool,
    "XLATE-025",
    (
        answer(),
        ctx(
            FORCED_REQ,
            None,
            [up("openai", {"tool_choice": "required", "reasoning_effort": "low"})],
            flavour="anthropic",
        ),
    ),
)
LEVEL_WARNING = [warn("unsupported_parameter", "reasoning_effort 'max' is not available; 'high' was used.")]
case(
    xlate_gemini.gemini_thinking_by_generation,
    "XLATE-026",
    (
        answer(warnings=LEVEL_WARNING),
        ctx(
            _effort("max"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}}}),
            gemini_kind="level",
        ),
    ),
    both_level_and_budget=(
        answer(warnings=LEVEL_WARNING),
        ctx(
            _effort("max"),
            up(
                "gemini",
                {
                    **GEM_BODY,
                    "generationConfig": {"thinkingConfig": {"thinkingLevel": "high", "thinkingBudget": 4096}},
                },
            ),
            gemini_kind="level",
        ),
    ),
    budget_on_gemini_3=(
        answer(warnings=LEVEL_WARNING),
        ctx(
            _effort("max"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 16384}}}),
            gemini_kind="level",
        ),
    ),
    no_warning=(
        answer(),
        ctx(
            _effort("max"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingLevel": "high"}}}),
            gemini_kind="level",
        ),
    ),
)
case(
    xlate_gemini.gemini_thinking_by_generation,
    "XLATE-026",
    (
        answer(),
        ctx(
            _effort("low"),
            up("gemini", {**GEM_BODY, "generation_config": {"thinking_config": {"thinking_budget": 1024}}}),
            gemini_kind="budget",
        ),
    ),
    dynamic_budget_is_not_derived_from_effort=(
        answer(),
        ctx(
            _effort("low"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": -1}}}),
            gemini_kind="budget",
        ),
    ),
    zero_budget=(
        answer(),
        ctx(
            _effort("low"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}),
            gemini_kind="budget",
        ),
    ),
    level_on_2_5=(
        answer(),
        ctx(
            _effort("low"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}}),
            gemini_kind="budget",
        ),
    ),
)
MAX_WARNING = [
    warn("unsupported_parameter", "reasoning_effort 'max' is not available on o4-mini; 'high' was used.")
]
case(
    xlate_openai.openai_native_effort,
    "XLATE-027",
    (
        answer(warnings=MAX_WARNING),
        ctx(
            _effort("max"), up("openai", {"reasoning_effort": "high"}), openai_reasoning=True, ceiling="high"
        ),
    ),
    max_forwarded=(
        answer(warnings=MAX_WARNING),
        ctx(_effort("max"), up("openai", {"reasoning_effort": "max"}), openai_reasoning=True),
    ),
    no_warning=(
        answer(),
        ctx(_effort("max"), up("openai", {"reasoning_effort": "high"}), openai_reasoning=True),
    ),
    effort_changed=(
        answer(),
        ctx(_effort("low"), up("openai", {"reasoning_effort": "medium"}), openai_reasoning=True),
    ),
    forwarded_with_tools_on_5_4=(
        answer(),
        ctx(
            _effort("high"),
            up("openai", {"reasoning_effort": "high"}),
            openai_reasoning=True,
            effort_dropped_with_tools=True,
        ),
    ),
)
case(
    xlate_openai.deepseek_thinking_from_effort,
    "XLATE-028",
    (
        answer(),
        ctx(
            _effort("low"),
            up("deepseek", {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}),
            deepseek_v4=True,
        ),
    ),
    thinking_not_enabled=(
        answer(),
        ctx(_effort("low"), up("deepseek", {"reasoning_effort": "high"}), deepseek_v4=True),
    ),
    foreign_depth=(
        answer(),
        ctx(
            _effort("low"),
            up("deepseek", {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}),
            deepseek_v4=True,
        ),
    ),
)
case(
    xlate_request.reasoning_rejected_without_reasoning,
    "XLATE-029",
    (failure(400, "reasoning_not_supported"), ctx(_effort("low"), non_reasoning_model=True)),
    accepted=(answer(), ctx(_effort("low"), non_reasoning_model=True)),
    other_code=(
        failure(400, "invalid_parameter_value", "reasoning_effort"),
        ctx(_effort("low"), non_reasoning_model=True),
    ),
)
case(
    xlate_request.reasoning_off_native,
    "XLATE-030",
    (
        answer(),
        ctx(
            _effort("off"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}),
            off="gemini_budget",
        ),
    ),
    budget_kept=(
        answer(),
        ctx(
            _effort("off"),
            up("gemini", {**GEM_BODY, "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}}),
            off="gemini_budget",
        ),
    ),
    claude_thinking_sent=(answer(), ctx(_effort("off"), up("anthropic", BUDGET_BODY), off="claude")),
    deepseek_not_disabled=(answer(), ctx(_effort("off"), up("deepseek", {"model": "d"}), off="deepseek")),
    accepted_where_impossible=(answer(), ctx(_effort("off"), up("gemini", GEM_BODY), off="reject")),
    gateway_refused_off=(
        failure(400, "invalid_parameter_value", "reasoning_effort"),
        ctx(_effort("off"), off="claude"),
    ),
)
# Portkey: Anthropic refused the request for its missing max_tokens (XLATE-001's finding, named from the
# journal by the test); the refusal says nothing about how `off` was mapped.
case(
    xlate_request.reasoning_off_native,
    "XLATE-030",
    (
        failure(400, "invalid_request"),
        ctx(
            _effort("off"),
            up("anthropic", edit(ANT_BODY, lambda b: b.pop("max_tokens")), status=400),
            off="claude",
        ),
    ),
)

# reasoning output, history -------------------------------------------------------------------------------------
REASONING = "Primes have two divisors; seven has exactly two, so seven."
case(
    xlate_response.reasoning_returned_as_reasoning_content,
    "XLATE-031",
    (
        answer(
            {
                "content": "7.",
                "reasoning_content": REASONING,
                "reasoning": [{"type": "thinking", "thinking": REASONING, "signature": "s1"}],
            }
        ),
        ctx({"model": "m"}, up("anthropic", BUDGET_BODY), reasoning_text=REASONING),
    ),
    reasoning_in_content=(
        answer({"content": REASONING + " 7."}),
        ctx({"model": "m"}, up("anthropic", BUDGET_BODY), reasoning_text=REASONING),
    ),
    signature_lost=(
        answer(
            {
                "content": "7.",
                "reasoning_content": REASONING,
                "reasoning": [{"type": "thinking", "thinking": REASONING}],
            }
        ),
        ctx({"model": "m"}, up("anthropic", BUDGET_BODY), reasoning_text=REASONING),
    ),
    stream_reasoning_as_content=(
        streamed([{"role": "assistant", "content": REASONING}, {"content": " 7."}]),
        ctx({"model": "m"}, up("deepseek", {"thinking": {"type": "enabled"}}), reasoning_text=REASONING),
    ),
)
case(
    xlate_response.reasoning_not_in_content,
    "XLATE-031",
    (answer({"content": "7.", "reasoning_content": REASONING}), ctx({"model": "m"})),
    duplicated_into_content=(
        answer({"content": f"{REASONING}\n7.", "reasoning_content": REASONING}),
        ctx({"model": "m"}),
    ),
)
ROUND_REQ = {
    "model": "m",
    "messages": [
        {"role": "user", "content": "Prime?"},
        {
            "role": "assistant",
            "content": "7.",
            "reasoning": [
                {"type": "thinking", "thinking": "t1", "signature": "s1"},
                {"type": "redacted", "data": "d1"},
            ],
        },
        {"role": "user", "content": "Another."},
    ],
}
ROUND_BODY = {
    **ANT_BODY,
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Prime?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "t1", "signature": "s1"},
                {"type": "redacted_thinking", "data": "d1"},
                {"type": "text", "text": "7."},
            ],
        },
        {"role": "user", "content": [{"type": "text", "text": "Another."}]},
    ],
}
case(
    xlate_anthropic.anthropic_history_round_trips,
    "XLATE-032",
    (answer(), ctx(ROUND_REQ, up("anthropic", ROUND_BODY))),
    signature_changed=(
        answer(),
        ctx(
            ROUND_REQ,
            up("anthropic", edit(ROUND_BODY, lambda b: b["messages"][1]["content"][0].update(signature=""))),
        ),
    ),
    redacted_lost=(
        answer(),
        ctx(
            ROUND_REQ,
            up("anthropic", edit(ROUND_BODY, lambda b: b["messages"][1]["content"].pop(1) and None)),
        ),
    ),
    order_swapped=(
        answer(),
        ctx(ROUND_REQ, up("anthropic", edit(ROUND_BODY, lambda b: b["messages"][1]["content"].reverse()))),
    ),
    empty_text_block=(
        answer(),
        ctx(
            ROUND_REQ,
            up(
                "anthropic",
                edit(ROUND_BODY, lambda b: b["messages"][1]["content"].append({"type": "text", "text": ""})),
            ),
        ),
    ),
)

# usage ----------------------------------------------------------------------------------------------------------
ANT_USAGE = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 2,
    "cache_read_input_tokens": 8,
    "output_tokens": 30,
}


def _usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


case(
    xlate_anthropic.anthropic_usage_mapped,
    "XLATE-033",
    (answer(usage=_usage(20, 30, 8)), ctx({"model": "m"}, up("anthropic", ANT_BODY, usage=ANT_USAGE))),
    cache_not_added=(
        answer(usage=_usage(10, 30, 8)),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, usage=ANT_USAGE)),
    ),
    cache_counted_twice=(
        answer(usage=_usage(28, 30, 8)),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, usage=ANT_USAGE)),
    ),
    stream_output_summed=(
        streamed([{"content": "x"}], usage=_usage(20, 31, 8)),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, usage=ANT_USAGE)),
    ),
    cached_missing=(
        answer(usage=_usage(20, 30)),
        ctx({"model": "m"}, up("anthropic", ANT_BODY, usage=ANT_USAGE)),
    ),
)
GEM_USAGE = {
    "promptTokenCount": 12,
    "candidatesTokenCount": 20,
    "thoughtsTokenCount": 16,
    "cachedContentTokenCount": 8,
}
case(
    xlate_gemini.gemini_usage_mapped,
    "XLATE-034",
    (
        streamed([{"content": "x"}], usage=_usage(12, 36, 8, 16)),
        ctx({"model": "m"}, up("gemini", GEM_BODY, usage=GEM_USAGE)),
    ),
    thoughts_not_in_completion=(
        answer(usage=_usage(12, 20, 8, 16)),
        ctx({"model": "m"}, up("gemini", GEM_BODY, usage=GEM_USAGE)),
    ),
    chunks_summed=(
        answer(usage=_usage(24, 72, 16, 32)),
        ctx({"model": "m"}, up("gemini", GEM_BODY, usage=GEM_USAGE)),
    ),
    reasoning_missing=(
        answer(usage=_usage(12, 36, 8)),
        ctx({"model": "m"}, up("gemini", GEM_BODY, usage=GEM_USAGE)),
    ),
)
DS_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 36,
    "total_tokens": 48,
    "prompt_cache_hit_tokens": 8,
    "prompt_cache_miss_tokens": 4,
    "completion_tokens_details": {"reasoning_tokens": 16},
}
case(
    xlate_openai.deepseek_usage_mapped,
    "XLATE-035",
    (answer(usage=_usage(12, 36, 8, 16)), ctx({"model": "m"}, up("deepseek", {}, usage=DS_USAGE))),
    reasoning_added_again=(
        answer(usage=_usage(12, 52, 8, 16)),
        ctx({"model": "m"}, up("deepseek", {}, usage=DS_USAGE)),
    ),
    cache_hits_ignored=(
        answer(usage=_usage(12, 36, 0, 16)),
        ctx({"model": "m"}, up("deepseek", {}, usage=DS_USAGE)),
    ),
)

# finish reasons -----------------------------------------------------------------------------------------------------
case(
    xlate_response.finish_reason_mapped,
    "XLATE-036",
    (answer(finish="content_filter"), ctx({"model": "m"}, native_finish="refusal")),
    passed_through=(answer(finish="refusal"), ctx({"model": "m"}, native_finish="refusal")),
    end_turn_raw=(
        streamed([{"content": "x"}], finish="end_turn"),
        ctx({"model": "m"}, native_finish="end_turn"),
    ),
    max_tokens_as_stop=(answer(finish="stop"), ctx({"model": "m"}, native_finish="MAX_TOKENS")),
    recitation_as_stop=(answer(finish="stop"), ctx({"model": "m"}, native_finish="RECITATION")),
    spii_as_stop=(answer(finish="stop"), ctx({"model": "m"}, native_finish="SPII")),
)
case(
    xlate_response.finish_reason_mapped,
    "XLATE-036",
    (
        answer({"content": None, "tool_calls": [CALL]}, finish="tool_calls"),
        ctx({"model": "m"}, native_finish="STOP"),
    ),
    stop_with_calls=(
        answer({"content": None, "tool_calls": [CALL]}, finish="stop"),
        ctx({"model": "m"}, native_finish="STOP"),
    ),
)
case(
    xlate_response.native_finish_reason_kept,
    "XLATE-037",
    (answer(finish="stop", native="pause_turn"), ctx({"model": "m"}, native_finish="pause_turn")),
    pause_turn_as_length=(
        answer(finish="length", native="pause_turn"),
        ctx({"model": "m"}, native_finish="pause_turn"),
    ),
    native_value_missing=(
        answer(finish="length"),
        ctx({"model": "m"}, native_finish="insufficient_system_resource"),
    ),
    context_window_as_stop=(
        answer(finish="stop", native="model_context_window_exceeded"),
        ctx({"model": "m"}, native_finish="model_context_window_exceeded"),
    ),
    unknown_not_stop=(
        answer(finish="content_filter", native="brand_new"),
        ctx({"model": "m"}, native_finish="brand_new"),
    ),
)
case(
    xlate_response.truncation_wins_over_tool_calls,
    "XLATE-038",
    (answer({"content": None, "tool_calls": [CALL]}, finish="length"), ctx({"model": "m"}, truncated=True)),
    tool_calls_win=(
        answer({"content": None, "tool_calls": [CALL]}, finish="tool_calls"),
        ctx({"model": "m"}, truncated=True),
    ),
    stream_tool_calls_win=(
        streamed([{"tool_calls": [{"index": 0, **CALL}]}], finish="tool_calls"),
        ctx({"model": "m"}, truncated=True),
    ),
)

# images, cache_control -------------------------------------------------------------------------------------------------
IMAGE_REQ = {
    "model": "m",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "text", "text": "What?", "cache_control": {"type": "ephemeral"}},
            ],
        }
    ],
}
IMAGE_BODY = {
    **ANT_BODY,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {"type": "text", "text": "What?", "cache_control": {"type": "ephemeral"}},
            ],
        }
    ],
}
case(
    xlate_request.image_parts_native,
    "XLATE-039",
    (answer(), ctx(IMAGE_REQ, up("anthropic", IMAGE_BODY))),
    data_url_as_url=(
        answer(),
        ctx(
            IMAGE_REQ,
            up(
                "anthropic",
                edit(
                    IMAGE_BODY,
                    lambda b: b["messages"][0]["content"].__setitem__(
                        0, {"type": "image", "source": {"type": "url", "url": "data:image/png;base64,QUJD"}}
                    ),
                ),
            ),
        ),
    ),
    media_type_lost=(
        answer(),
        ctx(
            IMAGE_REQ,
            up(
                "anthropic",
                edit(
                    IMAGE_BODY,
                    lambda b: b["messages"][0]["content"][0]["source"].update(media_type="image/jpeg"),
                ),
            ),
        ),
    ),
)
case(
    xlate_request.image_parts_native,
    "XLATE-039",
    (
        answer(),
        ctx(
            IMAGE_REQ,
            up(
                "gemini",
                {
                    "contents": [
                        {
                            "role": "user",
                            "parts": [{"inline_data": {"mime_type": "image/png", "data": "QUJD"}}],
                        }
                    ]
                },
            ),
        ),
    ),
    data_url_as_text=(
        answer(),
        ctx(
            IMAGE_REQ,
            up("gemini", {"contents": [{"role": "user", "parts": [{"text": "data:image/png;base64,QUJD"}]}]}),
        ),
    ),
)
case(
    xlate_anthropic.anthropic_cache_control_forwarded,
    "XLATE-040",
    (answer(), ctx(IMAGE_REQ, up("anthropic", IMAGE_BODY))),
    cache_control_dropped=(
        answer(),
        ctx(
            IMAGE_REQ,
            up(
                "anthropic",
                edit(IMAGE_BODY, lambda b: b["messages"][0]["content"][2].pop("cache_control") and None),
            ),
        ),
    ),
)

# EXT -------------------------------------------------------------------------------------------------------------------
EXT_REQ = {
    "model": "m",
    "extensions": {
        "anthropic": {"metadata": {"user_id": "u1"}},
        "google": {"safety_settings": [{"category": "C", "threshold": "T"}]},
        "openai": {"store": False},
    },
}
case(
    ext.extensions_reach_provider,
    "EXT-001",
    (
        answer(),
        ctx(EXT_REQ, up("anthropic", {**ANT_BODY, "metadata": {"user_id": "u1"}}), extension="anthropic"),
    ),
    extension_dropped=(answer(), ctx(EXT_REQ, up("anthropic", ANT_BODY), extension="anthropic")),
    value_changed=(
        answer(),
        ctx(EXT_REQ, up("anthropic", {**ANT_BODY, "metadata": {"user_id": "other"}}), extension="anthropic"),
    ),
    nested_under_a_key=(
        answer(),
        ctx(
            EXT_REQ,
            up("anthropic", {**ANT_BODY, "anthropic": {"metadata": {"user_id": "u1"}}}),
            extension="anthropic",
        ),
    ),
)
case(
    ext.extensions_reach_provider,
    "EXT-001",
    (
        answer(),
        ctx(
            EXT_REQ,
            up("gemini", {**GEM_BODY, "safetySettings": [{"category": "C", "threshold": "T"}]}),
            extension="google",
        ),
    ),
)
case(
    ext.other_extensions_stay_behind,
    "EXT-002",
    (
        answer(),
        ctx(EXT_REQ, up("anthropic", {**ANT_BODY, "metadata": {"user_id": "u1"}}), extension="anthropic"),
    ),
    openai_extension_leaked=(
        answer(),
        ctx(EXT_REQ, up("anthropic", {**ANT_BODY, "store": False}), extension="anthropic"),
    ),
    google_extension_leaked_camel=(
        answer(),
        ctx(EXT_REQ, up("gemini", {**GEM_BODY, "store": False}), extension="google"),
    ),
)
EXT_WARNINGS = [
    warn("ignored_extension", "extensions.google was ignored: routed elsewhere."),
    warn("unknown_provider", "extensions.acme names no known provider."),
]
case(
    ext.extension_provider_warnings,
    "EXT-003",
    (answer(warnings=EXT_WARNINGS), ctx({"model": "m"}, ignored=["google"], unknown=["acme"])),
    no_warnings=(answer(), ctx({"model": "m"}, ignored=["google"], unknown=["acme"])),
    wrong_type=(
        answer(warnings=[warn("blocked_field", "extensions.google, extensions.acme")]),
        ctx({"model": "m"}, ignored=["google"], unknown=["acme"]),
    ),
    request_failed=(
        failure(400, "invalid_parameter_value", "extensions.acme"),
        ctx({"model": "m"}, ignored=["google"], unknown=["acme"]),
    ),
)
SECRET = "sk-conformance-0123456789abcdef"
case(
    ext.credentials_stripped,
    "EXT-004",
    (answer(), ctx({"model": "m"}, None, [up("deepseek", {"x": {"kept": 1}})], secrets=[SECRET])),
    credential_forwarded=(
        answer(),
        ctx({"model": "m"}, None, [up("deepseek", {"x": {"kept": 1, "Api_Key": SECRET}})], secrets=[SECRET]),
    ),
    credential_in_a_list=(
        answer(),
        ctx({"model": "m"}, None, [up("deepseek", {"x": [{"token": SECRET}]})], secrets=[SECRET]),
    ),
    request_rejected=(failure(400, "invalid_request"), ctx({"model": "m"}, None, [], secrets=[SECRET])),
    # issue 16: the journal shows auth headers as fingerprints, so a credential moved there passed
    credential_moved_to_auth_header=(
        answer(),
        ctx(
            {"model": "m"},
            None,
            [up("anthropic", ANT_BODY, headers={**HEADERS["anthropic"], "x-api-key": redact(SECRET)})],
            secrets=[SECRET],
        ),
    ),
    credential_moved_to_bearer=(
        answer(),
        ctx(
            {"model": "m"},
            None,
            [up("deepseek", {"x": {"kept": 1}}, headers={"authorization": redact(f"Bearer {SECRET}")})],
            secrets=[SECRET],
        ),
    ),
)
case(
    ext.core_fields_top_level_only,
    "EXT-005",
    (
        answer(),
        ctx(
            {"model": "m"},
            up("deepseek", {"model": "deepseek-chat", "temperature": 0.3, "x": {"model": "nested"}}),
            preserved={"model": "deepseek-chat", "temperature": 0.3},
            nested={"x.model": "nested"},
            blocked_values=["evil-model"],
        ),
    ),
    model_overridden=(
        answer(),
        ctx(
            {"model": "m"},
            up("deepseek", {"model": "evil-model", "temperature": 0.3, "x": {"model": "nested"}}),
            preserved={"model": "deepseek-chat", "temperature": 0.3},
            nested={"x.model": "nested"},
            blocked_values=["evil-model"],
        ),
    ),
    # issue 16: a client value that vanished upstream (stripped along with the extension) passed
    preserved_value_vanished=(
        answer(),
        ctx(
            {"model": "m"},
            up("deepseek", {"model": "deepseek-chat", "x": {"model": "nested"}}),
            preserved={"model": "deepseek-chat", "temperature": 0.3},
            nested={"x.model": "nested"},
        ),
    ),
    nested_stripped_too=(
        answer(),
        ctx(
            {"model": "m"},
            up("deepseek", {"model": "deepseek-chat", "temperature": 0.3, "x": {}}),
            preserved={"model": "deepseek-chat"},
            nested={"x.model": "nested"},
        ),
    ),
    system_instruction_overridden=(
        answer(),
        ctx(
            {"model": "m"},
            up("gemini", {**GEM_BODY, "system_instruction": {"parts": [{"text": "evil"}]}}),
            preserved={"systemInstruction.parts": GEM_BODY["systemInstruction"]["parts"]},
            blocked_values=["evil"],
        ),
    ),
)
STRIP_WARNINGS = [
    warn("blocked_field", "extensions.anthropic.API_KEY was removed: credentials are never forwarded.")
]
case(
    ext.strips_reported_without_value,
    "EXT-006",
    (answer(warnings=STRIP_WARNINGS), ctx({"model": "m"}, stripped=["API_KEY"], stripped_values=[SECRET])),
    no_warning=(answer(), ctx({"model": "m"}, stripped=["API_KEY"], stripped_values=[SECRET])),
    value_echoed=(
        answer(warnings=[warn("blocked_field", f"extensions.anthropic.API_KEY={SECRET} was removed.")]),
        ctx({"model": "m"}, stripped=["API_KEY"], stripped_values=[SECRET]),
    ),
)
case(
    ext.service_tier_extension_rejected,
    "EXT-007",
    (
        failure(400, "invalid_request", "extensions.openai.service_tier"),
        ctx({"model": "m"}, platform_governed="extensions.openai.service_tier"),
    ),
    accepted=(answer(), ctx({"model": "m"}, platform_governed="extensions.openai.service_tier")),
    wrong_param=(
        failure(400, "invalid_request", "extensions"),
        ctx({"model": "m"}, platform_governed="extensions.openai.service_tier"),
    ),
)
case(
    ext.extension_not_object_rejected,
    "EXT-008",
    (
        failure(400, "invalid_parameter_value", "extensions.anthropic"),
        ctx({"model": "m"}, bad_extension="extensions.anthropic"),
    ),
    accepted=(answer(), ctx({"model": "m"}, bad_extension="extensions.anthropic")),
    wrong_code=(
        failure(400, "invalid_request", "extensions.anthropic"),
        ctx({"model": "m"}, bad_extension="extensions.anthropic"),
    ),
)

GOOD = [
    pytest.param(check, good, id=f"{req}-{check.__name__}-{i}")
    for i, (check, req, good, _) in enumerate(CASES)
]
BROKEN = [
    pytest.param(check, req, scenario, id=f"{req}-{label}")
    for check, req, _, broken in CASES
    for label, scenario in broken.items()
]


# ------------------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize(("check", "scenario"), GOOD)
def test_correct_translation_has_no_findings(check: Callable[..., Any], scenario: Scenario) -> None:
    assert found(check, scenario) == []


@pytest.mark.parametrize(("check", "requirement", "scenario"), BROKEN)
def test_broken_translation_is_found(check: Callable[..., Any], requirement: str, scenario: Scenario) -> None:
    assert found(check, scenario) != []
    assert set(found(check, scenario)) == {requirement}


def test_every_xlate_and_ext_check_is_shown_to_fail() -> None:
    mine = {c.requirement for c in all_checks().values() if c.func.__module__ in TRANSLATION_MODULES}
    exercised = {req for _, req, _, broken in CASES if broken}
    assert mine <= exercised, f"checks never shown to fail: {sorted(mine - exercised)}"


def test_every_xlate_and_ext_requirement_has_a_check() -> None:
    wanted = {r.id for r in load_catalogue() if r.area in ("XLATE", "EXT")}
    mine = {c.requirement for c in all_checks().values() if c.func.__module__ in TRANSLATION_MODULES}
    assert wanted == mine


def test_request_side_checks_are_silent_without_an_upstream() -> None:
    """Other suites run every check on their exchanges: without journal data ours must say nothing."""
    exchange = answer({"content": "Hello."})
    request = {
        **CONVERSATION,
        **SAMPLING_REQ,
        "stop": "zebra",
        "reasoning_effort": "low",
        "extensions": {"x": {}},
    }
    for check in all_checks().values():
        if check.func.__module__ in TRANSLATION_MODULES:
            findings, _applied = check.judge(exchange, XlateContext(request=request))
            assert findings == [], check.name


#: checks that judge only the request a provider received: the root-cause probe runs them on a refusal
UPSTREAM_SIDE = {
    "extensions_reach_provider", "other_extensions_stay_behind", "core_fields_top_level_only",
    "native_endpoint_and_auth", "stream_options_where_accepted", "anthropic_system_top_level",
    "gemini_system_instruction", "anthropic_tools_native", "gemini_tools_native",
    "deepseek_reasoning_content_on_tool_turns", "stop_native_field", "output_limit_native_field",
    "no_native_field_not_forwarded", "claude_adaptive_effort", "claude_budget_from_effort",
    "deepseek_thinking_from_effort", "image_parts_native", "anthropic_cache_control_forwarded",
    "anthropic_temperature_clamped", "claude_xhigh_normalised", "claude_thinking_sampling_stripped",
    "gemini_response_format", "gemini_thinking_by_generation", "credentials_stripped",
    "anthropic_whitespace_stops_dropped", "thinking_budget_in_range",
}  # fmt: skip
#: probes that judge the request's fate as well, so they apply with no journal entry too
WITHOUT_JOURNAL = {"credentials_stripped", "anthropic_whitespace_stops_dropped"}


def test_upstream_side_checks_are_selected_by_their_declaration() -> None:
    """The registry, not the check's body, decides that an upstream request of the right provider is
    there to judge (`upstream_request(...)`): no journal entry or another provider's leaves it unselected."""
    checks = all_checks()
    translation = {c.name for c in checks.values() if c.func.__module__ in TRANSLATION_MODULES}
    assert {c.name for c in checks.values() if c.upstream_side} & translation == UPSTREAM_SIDE
    exchange = answer()
    for name in UPSTREAM_SIDE:
        chk = checks[name]
        assert chk.context is XlateContext, name
        assert chk.selects(exchange, XlateContext(request={"model": "m"})) == (name in WITHOUT_JOURNAL), name
        for flavour in PATHS:
            selected = chk.selects(exchange, ctx({"model": "m"}, up(flavour, {})))
            assert selected == (not chk.flavours or flavour in chk.flavours), (name, flavour)
    assert checks["anthropic_system_top_level"].flavours == {"anthropic"}
    assert checks["image_parts_native"].flavours == {"anthropic", "gemini"}


def test_no_warning_is_owed_on_a_refusal() -> None:
    """Warnings ride on an answer: a refused request is judged by what reached the provider only."""
    refused = failure(502, "upstream_error", kind="api_error")
    assert not xlate.owes_warning(refused, XlateContext(), "temperature")
    assert xlate.owes_warning(answer(), XlateContext(), "temperature")
    hot = {"model": "m", "temperature": 1.5}
    assert found(xlate_anthropic.anthropic_temperature_clamped, (refused, ctx(hot, up("anthropic", {})))) == [
        "XLATE-016"
    ]  # not sent as 1: the translation is the finding, once
    clamped = ctx(hot, up("anthropic", {"temperature": 1}))
    assert found(xlate_anthropic.anthropic_temperature_clamped, (refused, clamped)) == []


def test_gemini_view_accepts_both_spellings() -> None:
    snake = {
        "system_instruction": {"parts": [{"text": "s"}]},
        "generation_config": {"max_output_tokens": 5, "thinking_config": {"thinking_budget": 0}},
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f"]}},
        "contents": [{"role": "model", "parts": [{"function_call": {"name": "f", "args": {"my_arg": 1}}}]}],
    }
    view = xlate.gemini_view(snake)
    assert view["systemInstruction"]["parts"] == [{"text": "s"}]
    assert view["generationConfig"] == {"maxOutputTokens": 5, "thinkingConfig": {"thinkingBudget": 0}}
    assert view["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["f"]
    # argument names are data, not API fields: they keep their spelling
    assert view["contents"][0]["parts"][0]["functionCall"]["args"] == {"my_arg": 1}


def test_messages_of_joins_stream_tool_deltas() -> None:
    messages = xlate.messages_of(_tool_stream(0))
    calls = messages[0]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert [orjson.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Paris"}, {"zone": "UTC"}]
    assert messages[0]["_finish"] == "tool_calls"


def test_warned_matches_whole_names_only() -> None:
    exchange = answer(warnings=[warn("unsupported_parameter", "'top_p' was dropped.")])
    assert xlate.warned(exchange, "top_p", "unsupported_parameter")
    assert not xlate.warned(exchange, "top", "unsupported_parameter")
    assert not xlate.warned(exchange, "top_p", "blocked_field")


def test_non_decreasing() -> None:
    assert xlate.non_decreasing("budget", [("low", 1024), ("medium", 2048), ("high", 2048)]) == []
    assert xlate.non_decreasing("budget", [("low", 2048), ("medium", 1024)]) == [
        "budget falls from 2048 (low) to 1024 (medium)"
    ]


@pytest.mark.parametrize(
    ("native", "want"), sorted({**xlate_response.FINISH_MAP, **xlate_response.UNMAPPED_FINISH}.items())
)
def test_every_native_finish_reason_has_its_openai_value(native: str, want: str) -> None:
    """The live suite can only make the mocks answer some reasons; the table is checked for all of them."""
    check = (
        xlate_response.native_finish_reason_kept
        if native in xlate_response.UNMAPPED_FINISH
        else xlate_response.finish_reason_mapped
    )
    assert found(check, (answer(finish=want, native=native), ctx({"model": "m"}, native_finish=native))) == []
    wrong = "stop" if want != "stop" else "length"
    assert found(check, (answer(finish=wrong, native=native), ctx({"model": "m"}, native_finish=native)))


def test_a_missing_warning_is_owed_only_when_the_target_claims_warnings() -> None:
    """A gateway that does not claim `routing_metadata.warnings` cannot be faulted for the silence, but
    the translation part of the same check still judges it (LiteLLM: XLATE-023/027 findings were only
    the missing warning)."""
    silent = (
        answer(),
        ctx(_effort("max"), up("openai", {"reasoning_effort": "high"}), openai_reasoning=True),
    )
    assert found(xlate_openai.openai_native_effort, silent) == [
        "XLATE-027"
    ]  # everything claimed: the warning is due
    no_warnings = frozenset({"reasoning"})
    exchange, context = copy.deepcopy(silent)
    context.claims = no_warnings
    assert found(xlate_openai.openai_native_effort, (exchange, context)) == []
    exchange, context = copy.deepcopy(silent)
    context.claims = no_warnings
    context.upstream = context.upstreams[0] = up("openai", {"reasoning_effort": "max"})  # forwarded as is
    assert found(xlate_openai.openai_native_effort, (exchange, context)) == ["XLATE-027"]


def test_schema_violations_leave_unreadable_schemas_alone() -> None:
    """A schema the suite cannot use (invalid, or a $ref it cannot resolve) is not held against the answer."""
    assert list(xlate.schema_violations({"a": 1}, {"type": "no-such-type"})) == []
    assert list(xlate.schema_violations({"a": 1}, {"$ref": "https://example.com/s.json"})) == []
    assert list(xlate.schema_violations({"a": 1}, None)) == []
    assert list(xlate.schema_violations({"a": 1}, {"properties": {"a": {"type": "string"}}})) != []
