"""Each mock rejects what the real API rejects, with the real status and error shape (in-process)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS, WEATHER_TOOL_ANTHROPIC, user

GPT = "gpt-4o-2024-08-06"
OPENAI = "/openai/v1/chat/completions"
DEEPSEEK = "/deepseek/chat/completions"
VLLM = "/vllm/v1/chat/completions"
ANTHROPIC = "/anthropic/v1/messages"
GEMINI = "/gemini/v1beta/models/{}:generateContent"


def oa(**extra: Any) -> dict[str, Any]:
    return {"model": GPT, "messages": user("hi"), **extra}


def tool(name: str = "get_weather", parameters: Any = None) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": name}
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


OPENAI_CASES = [
    ("unknown top_k", oa(top_k=5), "top_k"),
    ("five stops", oa(stop=["a", "b", "c", "d", "e"]), "stop"),
    ("stream_options without stream", oa(stream_options={"include_usage": True}), "stream_options"),
    ("bad function name", oa(tools=[tool("get weather")]), "tools[0].function.name"),
    (
        "parameters not an object",
        oa(tools=[tool(parameters={"type": "string"})]),
        "tools[0].function.parameters",
    ),
    ("max_tokens on o-series", oa(model="o3-2025-04-16", max_tokens=10), "max_tokens"),
    ("temperature on o-series", oa(model="o4-mini-2025-04-16", temperature=0.2), "temperature"),
    ("temperature on gpt-5", oa(model="gpt-5-2025-08-07", temperature=0.5), "temperature"),
    ("stop on o3", oa(model="o3-2025-04-16", stop=["x"]), "stop"),
    ("logprobs on o-series", oa(model="o3-2025-04-16", logprobs=True), "logprobs"),
    ("reasoning_effort on gpt-4o", oa(reasoning_effort="low"), "reasoning_effort"),
    ("top_logprobs without logprobs", oa(top_logprobs=3), "logprobs"),
    ("top_logprobs above 20", oa(logprobs=True, top_logprobs=21), "top_logprobs"),
    ("temperature above 2", oa(temperature=2.5), "temperature"),
    ("bad role", {"model": GPT, "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ("no messages", {"model": GPT}, "messages"),
    ("empty messages", {"model": GPT, "messages": []}, "messages"),
    ("json_object without the word", oa(response_format={"type": "json_object"}), "messages"),
    ("tool_choice without tools", oa(tool_choice="required"), "tool_choice"),
    ("seed not an integer", oa(seed=1.5), "seed"),
    ("logprobs a string", oa(logprobs="true"), "logprobs"),
    ("stream a string", oa(stream="yes"), "stream"),
]


@pytest.mark.parametrize(("case", "body", "param"), OPENAI_CASES, ids=[c[0] for c in OPENAI_CASES])
async def test_openai_rejects(client, case, body, param):
    response = await client.post(OPENAI, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


async def test_openai_unknown_model_is_404(client):
    response = await client.post(OPENAI, json=oa(model="gpt-404"), headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


async def test_openai_accepts_what_it_should(client):
    body = oa(
        model="o3-2025-04-16",
        max_completion_tokens=100,
        reasoning_effort="high",
        temperature=1,
        stop=None,
        response_format={"type": "json_object"},
        messages=user("reply in json"),
    )
    assert (await client.post(OPENAI, json=body, headers=AUTH)).status_code == 200
    assert (await client.post(OPENAI, json=oa(stop=["a", "b", "c", "d"], n=2), headers=AUTH)).json()[
        "choices"
    ][1]


DEEPSEEK_CASES = [
    ("logprobs in thinking mode", {"model": "deepseek-reasoner", "messages": user("x"), "logprobs": True}),
    (
        "top_logprobs with thinking enabled",
        {"model": "deepseek-chat", "messages": user("x"), "top_logprobs": 2, "thinking": {"type": "enabled"}},
    ),
    (
        "tool turn without reasoning_content",
        {
            "model": "deepseek-reasoner",
            "messages": [
                *user("x"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
        },
    ),
    (
        "json_object without json",
        {"model": "deepseek-chat", "messages": user("x"), "response_format": {"type": "json_object"}},
    ),
    (
        "json_schema unsupported",
        {
            "model": "deepseek-chat",
            "messages": user("x"),
            "response_format": {"type": "json_schema", "json_schema": {"name": "a"}},
        },
    ),
]


@pytest.mark.parametrize(("case", "body"), DEEPSEEK_CASES, ids=[c[0] for c in DEEPSEEK_CASES])
async def test_deepseek_rejects(client, case, body):
    response = await client.post(DEEPSEEK, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_deepseek_accepts_reasoning_passed_back_and_ignores_unknown_fields(client):
    messages = [
        *user("x"),
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "r",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    response = await client.post(
        DEEPSEEK, json={"model": "deepseek-reasoner", "messages": messages, "top_k": 3}, headers=AUTH
    )
    assert response.status_code == 200
    assert (
        await client.post(DEEPSEEK, json={"model": "nope", "messages": user("x")}, headers=AUTH)
    ).status_code == 400


VLLM_CASES = [
    ("stream_options without stream", {"messages": user("x"), "stream_options": {"include_usage": True}}),
    ("top_logprobs above 20", {"messages": user("x"), "logprobs": True, "top_logprobs": 21}),
    ("empty tools", {"messages": user("x"), "tools": []}),
    ("tool_choice without tools", {"messages": user("x"), "tool_choice": "required"}),
]


@pytest.mark.parametrize(("case", "body"), VLLM_CASES, ids=[c[0] for c in VLLM_CASES])
async def test_vllm_rejects(client, case, body):
    response = await client.post(VLLM, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["type"] == "BadRequestError"


async def test_vllm_ignores_unknown_fields(client):
    body = {"messages": user("x"), "top_a": 0.3, "min_p": 0.1, "logprobs": True, "top_logprobs": -1}
    response = await client.post(VLLM, json=body)
    assert response.status_code == 200
    missing = await client.post(VLLM, json={"model": "nope", "messages": user("x")})
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "NotFoundError"


def an(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 2048, "messages": user("hi"), **extra}


THINK = {"type": "enabled", "budget_tokens": 1024}
ANTHROPIC_CASES = [
    ("missing max_tokens", {"model": "claude-sonnet-4-5", "messages": user("x")}, "max_tokens"),
    ("temperature above 1", an(temperature=1.5), "temperature"),
    ("budget below 1024", an(thinking={"type": "enabled", "budget_tokens": 512}), "1024"),
    ("budget not below max_tokens", an(max_tokens=1024, thinking=THINK), "budget_tokens"),
    ("top_k with thinking", an(thinking=THINK, top_k=5), "top_k"),
    ("temperature with thinking", an(thinking=THINK, temperature=0.5), "temperature"),
    ("top_p below 0.95 with thinking", an(thinking=THINK, top_p=0.5), "top_p"),
    (
        "forced tool with thinking",
        an(thinking=THINK, tools=[WEATHER_TOOL_ANTHROPIC], tool_choice={"type": "any"}),
        "forces tool use",
    ),
    (
        "named tool with thinking",
        an(
            thinking=THINK,
            tools=[WEATHER_TOOL_ANTHROPIC],
            tool_choice={"type": "tool", "name": "get_weather"},
        ),
        "forces tool use",
    ),
    (
        "prefill with thinking",
        an(thinking=THINK, messages=[*user("x"), {"role": "assistant", "content": "Sure"}]),
        "prefill",
    ),
    ("whitespace stop sequence", an(stop_sequences=["\n"]), "stop_sequences"),
    ("enabled on opus 4.7", an(model="claude-opus-4-7", thinking=THINK), "adaptive"),
    ("adaptive on sonnet 4.5", an(thinking={"type": "adaptive"}), "adaptive"),
    ("unknown top-level field", an(frequency_penalty=0.2), "frequency_penalty: Extra inputs"),
    ("tool role in messages", an(messages=[{"role": "tool", "content": "x"}]), "role"),
    (
        "empty text block",
        an(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "non-whitespace",
    ),
    ("bad tool name", an(tools=[{**WEATHER_TOOL_ANTHROPIC, "name": "get weather"}]), "name"),
    ("tool schema not an object", an(tools=[{"name": "t", "input_schema": {"type": "string"}}]), "'object'"),
    (
        "tool_use without tool_result",
        an(
            messages=[
                *user("x"),
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
                },
                *user("y"),
            ]
        ),
        "tool_result",
    ),
    (
        "tool_result without tool_use",
        an(
            messages=[
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope", "content": "r"}]}
            ]
        ),
        "unexpected `tool_use_id`",
    ),
]


@pytest.mark.parametrize(("case", "body", "needle"), ANTHROPIC_CASES, ids=[c[0] for c in ANTHROPIC_CASES])
async def test_anthropic_rejects(client, case, body, needle):
    response = await client.post(ANTHROPIC, json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert needle in payload["error"]["message"]
    assert payload["request_id"] == response.headers["request-id"]


async def test_anthropic_accepts_valid_thinking_and_tool_round_trip(client):
    body = an(
        thinking={"type": "enabled", "budget_tokens": 1024},
        temperature=1,
        top_p=0.97,
        messages=[
            *user("x"),
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r"}]},
        ],
    )
    assert (await client.post(ANTHROPIC, json=body, headers=ANTHROPIC_HEADERS)).status_code == 200
    adaptive = an(model="claude-opus-4-7", thinking={"type": "adaptive"}, output_config={"effort": "high"})
    assert (await client.post(ANTHROPIC, json=adaptive, headers=ANTHROPIC_HEADERS)).status_code == 200


def ge(**extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **extra}


GEMINI_CASES = [
    (
        "assistant role",
        "gemini-2.0-flash",
        {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
        "role",
    ),
    ("system role", "gemini-2.0-flash", {"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "role"),
    ("stream_options", "gemini-2.0-flash", ge(stream_options={"include_usage": True}), '"stream_options"'),
    (
        "OpenAI field in generationConfig",
        "gemini-2.0-flash",
        ge(generationConfig={"max_tokens": 5}),
        "\"max_tokens\" at 'generation_config'",
    ),
    (
        "additionalProperties in responseSchema",
        "gemini-2.0-flash",
        ge(
            generationConfig={
                "responseMimeType": "application/json",
                "responseSchema": {"type": "object", "additionalProperties": False},
            }
        ),
        '"additionalProperties"',
    ),
    (
        "$schema in responseSchema",
        "gemini-2.0-flash",
        ge(
            generationConfig={
                "responseMimeType": "application/json",
                "responseSchema": {"$schema": "x", "type": "object"},
            }
        ),
        '"$schema"',
    ),
    (
        "additionalProperties in parameters",
        "gemini-2.0-flash",
        ge(
            tools=[
                {
                    "functionDeclarations": [
                        {"name": "f", "parameters": {"type": "object", "additionalProperties": False}}
                    ]
                }
            ]
        ),
        "parameters",
    ),
    ("no contents", "gemini-2.0-flash", {"contents": []}, "contents is not specified"),
    (
        "thinking on 2.0",
        "gemini-2.0-flash",
        ge(generationConfig={"thinkingConfig": {"thinkingBudget": 512}}),
        "not supported",
    ),
    (
        "budget 0 on 2.5 pro",
        "gemini-2.5-pro",
        ge(generationConfig={"thinkingConfig": {"thinkingBudget": 0}}),
        "Budget 0",
    ),
    (
        "level on 2.5",
        "gemini-2.5-flash",
        ge(generationConfig={"thinkingConfig": {"thinkingLevel": "LOW"}}),
        "level",
    ),
    (
        "level and budget",
        "gemini-3-pro-preview",
        ge(generationConfig={"thinkingConfig": {"thinkingLevel": "LOW", "thinkingBudget": 100}}),
        "only one",
    ),
    (
        "budget out of range",
        "gemini-2.5-flash",
        ge(generationConfig={"thinkingConfig": {"thinkingBudget": 99999}}),
        "invalid",
    ),
    (
        "six stop sequences",
        "gemini-2.0-flash",
        ge(generationConfig={"stopSequences": list("abcdef")}),
        "stop",
    ),
    (
        "bad function name",
        "gemini-2.0-flash",
        ge(tools=[{"functionDeclarations": [{"name": "9lives"}]}]),
        "Invalid function name",
    ),
]


@pytest.mark.parametrize(("case", "model", "body", "needle"), GEMINI_CASES, ids=[c[0] for c in GEMINI_CASES])
async def test_gemini_rejects(client, case, model, body, needle):
    response = await client.post(GEMINI.format(model), json=body, headers=GEMINI_HEADERS)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert needle in error["message"]


async def test_gemini_accepts_snake_case_and_json_schema_extras(client):
    body = {
        "system_instruction": {"parts": [{"text": "Be terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {
            "max_output_tokens": 50,
            "stop_sequences": ["zzz"],
            "top_k": 3,
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
            "response_mime_type": "application/json",
            "responseJsonSchema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": False,
                "properties": {"city": {"type": "string"}},
            },
        },
    }
    for version in ("v1", "v1beta"):
        response = await client.post(
            f"/gemini/{version}/models/gemini-2.5-flash:generateContent", json=body, headers=GEMINI_HEADERS
        )
        assert response.status_code == 200, response.text
        parts = response.json()["candidates"][0]["content"]["parts"]
        assert parts[0]["thought"] is True
        assert list(json.loads(parts[1]["text"])) == ["city"]
    unknown = await client.post(GEMINI.format("gemini-9"), json=ge(), headers=GEMINI_HEADERS)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["status"] == "NOT_FOUND"
