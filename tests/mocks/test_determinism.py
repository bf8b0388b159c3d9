"""Same request, same body (ids and timestamps aside), for every flavour, stream and non-stream."""

from __future__ import annotations

import re

import pytest

from tests.mocks.conftest import (
    ANTHROPIC_HEADERS,
    AUTH,
    GEMINI_HEADERS,
    WEATHER_TOOL_ANTHROPIC,
    WEATHER_TOOL_OPENAI,
)

TEXT = "Plan a trip [[mock: tool_calls=1 reasoning=6 cached=2]]"
CASES = {
    "openai": (
        "/openai/v1/chat/completions",
        AUTH,
        {
            "model": "o4-mini-2025-04-16",
            "messages": [{"role": "user", "content": TEXT}],
            "tools": [WEATHER_TOOL_OPENAI],
        },
    ),
    "deepseek": (
        "/deepseek/chat/completions",
        AUTH,
        {
            "model": "deepseek-reasoner",
            "messages": [{"role": "user", "content": TEXT}],
            "tools": [WEATHER_TOOL_OPENAI],
        },
    ),
    "vllm": (
        "/vllm/v1/chat/completions",
        {},
        {
            "model": "Qwen/Qwen3-32B",
            "messages": [{"role": "user", "content": TEXT}],
            "tools": [WEATHER_TOOL_OPENAI],
        },
    ),
    "anthropic": (
        "/anthropic/v1/messages",
        ANTHROPIC_HEADERS,
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 500,
            "thinking": {"type": "adaptive"},
            "messages": [{"role": "user", "content": TEXT}],
            "tools": [WEATHER_TOOL_ANTHROPIC],
        },
    ),
    "gemini": (
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        GEMINI_HEADERS,
        {
            "contents": [{"parts": [{"text": TEXT}]}],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "parametersJsonSchema": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                            },
                        }
                    ]
                }
            ],
        },
    ),
}
VOLATILE = {"id", "created", "responseId"}
_IDS = re.compile(r'"(?:id|created|responseId)":\s*("[^"]*"|\d+)')


def scrub(value):
    if isinstance(value, dict):
        return {k: ("*" if k in VOLATILE else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@pytest.mark.parametrize("name", list(CASES))
async def test_same_request_same_body(client, name):
    path, headers, body = CASES[name]
    first = (await client.post(path, json=body, headers=headers)).json()
    second = (await client.post(path, json=body, headers=headers)).json()
    assert scrub(first) == scrub(second)
    assert first != second or name == "gemini"  # fresh ids every time (Gemini's responseId too)


@pytest.mark.parametrize("name", list(CASES))
async def test_same_stream_same_bytes_but_ids(client, name):
    path, headers, body = CASES[name]
    if name == "gemini":
        path = path.replace(":generateContent", ":streamGenerateContent?alt=sse")
    else:
        body = {**body, "stream": True}
    first = (await client.post(path, json=body, headers=headers)).text
    second = (await client.post(path, json=body, headers=headers)).text
    assert _IDS.sub("*", first) == _IDS.sub("*", second)
    assert first.rstrip().endswith(("[DONE]", "}"))  # a complete stream
