"""The token rule gives identical prompt counts whichever provider shape carries a conversation, and
exact usage in each provider's native shape."""

from __future__ import annotations

import json

import pytest
from auriko_conformance.mocks.behaviour import reply_text
from auriko_conformance.mocks.tokens import count_tokens

from tests.mocks.conftest import ANTHROPIC_HEADERS, AUTH, GEMINI_HEADERS

SYSTEM = "You are a terse assistant."
QUESTION = "What's the weather in Paris?"
ARGS = {"city": "Paris", "units": "metric"}
RESULT = "21 degrees and sunny"
FOLLOW_UP = "And tomorrow? [[conformance-id: tok-1]] [[mock: words=7 cached=5]]"
EXPECTED_PROMPT = sum(
    count_tokens(t) for t in (SYSTEM, QUESTION, "get_weather", json.dumps(ARGS), RESULT, FOLLOW_UP)
)

OPENAI_BODY = {
    "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps(ARGS)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": RESULT},
        {"role": "user", "content": [{"type": "text", "text": FOLLOW_UP}]},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
}
ANTHROPIC_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 100,
    "system": [{"type": "text", "text": SYSTEM}],
    "messages": [
        {"role": "user", "content": QUESTION},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": ARGS}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": RESULT},
                {"type": "text", "text": FOLLOW_UP},
            ],
        },
    ],
    "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
}
GEMINI_BODY = {
    "systemInstruction": {"parts": [{"text": SYSTEM}]},
    "contents": [
        {"role": "user", "parts": [{"text": QUESTION}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": ARGS}}]},
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": RESULT}}},
                {"text": FOLLOW_UP},
            ],
        },
    ],
    "tools": [{"functionDeclarations": [{"name": "get_weather"}]}],
}
TEXT = reply_text("And tomorrow?", 7)


async def test_same_conversation_same_counts_in_every_shape(client):
    bodies = {
        "openai": ("/openai/v1/chat/completions", {"model": "gpt-4o-2024-08-06", **OPENAI_BODY}, AUTH),
        "deepseek": ("/deepseek/v1/chat/completions", {"model": "deepseek-chat", **OPENAI_BODY}, AUTH),
        "vllm": ("/vllm/v1/chat/completions", OPENAI_BODY, {}),
        "anthropic": ("/anthropic/v1/messages", ANTHROPIC_BODY, ANTHROPIC_HEADERS),
        "gemini": ("/gemini/v1beta/models/gemini-2.0-flash:generateContent", GEMINI_BODY, GEMINI_HEADERS),
    }
    replies = {}
    for name, (path, body, headers) in bodies.items():
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        replies[name] = response.json()

    for name in ("openai", "deepseek", "vllm"):
        usage = replies[name]["usage"]
        assert replies[name]["choices"][0]["message"]["content"] == TEXT
        assert usage["prompt_tokens"] == EXPECTED_PROMPT
        assert usage["completion_tokens"] == 7
        assert usage["total_tokens"] == EXPECTED_PROMPT + 7
        assert usage["prompt_tokens_details"]["cached_tokens"] == 5
    assert replies["deepseek"]["usage"]["prompt_cache_hit_tokens"] == 5
    assert replies["deepseek"]["usage"]["prompt_cache_miss_tokens"] == EXPECTED_PROMPT - 5

    anthropic = replies["anthropic"]
    assert anthropic["content"] == [{"type": "text", "text": TEXT}]
    usage = anthropic["usage"]
    assert usage["input_tokens"] == EXPECTED_PROMPT - 5
    assert usage["cache_read_input_tokens"] == 5
    assert (
        usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
        == EXPECTED_PROMPT
    )
    assert usage["output_tokens"] == 7

    gemini = replies["gemini"]
    assert gemini["candidates"][0]["content"]["parts"] == [{"text": TEXT}]
    meta = gemini["usageMetadata"]
    assert meta["promptTokenCount"] == EXPECTED_PROMPT
    assert meta["cachedContentTokenCount"] == 5
    assert meta["candidatesTokenCount"] == 7
    assert meta["totalTokenCount"] == EXPECTED_PROMPT + 7


async def test_tool_definitions_do_not_count(client):
    base = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hi"}]}
    plain = (await client.post("/openai/v1/chat/completions", json=base, headers=AUTH)).json()
    with_tools = (
        await client.post(
            "/openai/v1/chat/completions", json={**base, "tools": OPENAI_BODY["tools"]}, headers=AUTH
        )
    ).json()
    assert plain["usage"]["prompt_tokens"] == with_tools["usage"]["prompt_tokens"] == 1


@pytest.mark.parametrize("cached", [0, 3, 10_000])
async def test_cached_is_capped_at_prompt(client, cached):
    body = {
        "model": "gpt-4o-2024-08-06",
        "messages": [{"role": "user", "content": f"[[mock: cached={cached}]]"}],
    }
    usage = (await client.post("/openai/v1/chat/completions", json=body, headers=AUTH)).json()["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == min(cached, usage["prompt_tokens"])


async def test_max_tokens_truncates_with_length(client):
    body = {"model": "gpt-4o-2024-08-06", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    reply = (await client.post("/openai/v1/chat/completions", json=body, headers=AUTH)).json()
    assert reply["choices"][0]["finish_reason"] == "length"
    assert count_tokens(reply["choices"][0]["message"]["content"]) == 5
    assert reply_text("hello").startswith(reply["choices"][0]["message"]["content"])
    anthropic = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hello"}],
    }
    message = (await client.post("/anthropic/v1/messages", json=anthropic, headers=ANTHROPIC_HEADERS)).json()
    assert message["stop_reason"] == "max_tokens"
    assert message["content"][0]["text"] == reply["choices"][0]["message"]["content"]
    gemini = {"contents": [{"parts": [{"text": "hello"}]}], "generationConfig": {"maxOutputTokens": 5}}
    candidate = (
        await client.post(
            "/gemini/v1/models/gemini-2.0-flash:generateContent", json=gemini, headers=GEMINI_HEADERS
        )
    ).json()["candidates"][0]
    assert candidate["finishReason"] == "MAX_TOKENS"


async def test_reasoning_counts_against_max_tokens(client):
    body = {
        "model": "o3-2025-04-16",
        "messages": [{"role": "user", "content": "x [[mock: reasoning=30]]"}],
        "max_completion_tokens": 35,
    }
    reply = (await client.post("/openai/v1/chat/completions", json=body, headers=AUTH)).json()
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 35
    assert reply["usage"]["completion_tokens_details"]["reasoning_tokens"] == 30


async def test_stop_sequence_truncates(client):
    text = reply_text("hello")
    stop_word = text.split(" ")[3]
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hello"}],
        "stop_sequences": [stop_word],
    }
    message = (await client.post("/anthropic/v1/messages", json=body, headers=ANTHROPIC_HEADERS)).json()
    assert message["stop_reason"] == "stop_sequence"
    assert message["stop_sequence"] == stop_word
    assert message["content"][0]["text"] == " ".join(text.split(" ")[:3])
    assert message["usage"]["output_tokens"] == 3
    oa = {
        "model": "gpt-4o-2024-08-06",
        "messages": [{"role": "user", "content": "hello"}],
        "stop": [stop_word],
    }
    reply = (await client.post("/openai/v1/chat/completions", json=oa, headers=AUTH)).json()
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["choices"][0]["message"]["content"] == message["content"][0]["text"]
