"""Each adapter in both directions: request bodies (golden checks), responses, streams, usage."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from auriko_conformance.reference_impl.adapters import Attempt, make_adapters
from auriko_conformance.reference_impl.adapters.base import StreamProtocolError
from auriko_conformance.reference_impl.config import default_config
from auriko_conformance.reference_impl.validation import validate_chat_request

CONFIG = default_config()
ADAPTERS = make_adapters()


def attempt_for(
    model: str, body: dict[str, Any], provider: str | None = None, stream: bool = False
) -> Attempt:
    request = validate_chat_request({"model": model, **body})
    offering = next(
        o for o in CONFIG.catalog.resolve(model).offerings if provider is None or o.provider == provider
    )
    return Attempt(request, offering, CONFIG.providers[offering.provider], [], stream)


def build(model: str, body: dict[str, Any], **kwargs: Any) -> tuple[dict[str, Any], Attempt, str]:
    attempt = attempt_for(model, body, **kwargs)
    call = ADAPTERS[attempt.provider.flavour].build(attempt)
    return orjson.loads(call.body), attempt, call.url


def decode(model: str, sse: str, body: dict[str, Any] | None = None) -> tuple[list[Any], Any]:
    attempt = attempt_for(model, body or {"messages": [{"role": "user", "content": "hi"}]}, stream=True)
    decoder = ADAPTERS[attempt.provider.flavour].stream_decoder(attempt)
    events: list[Any] = []
    for block in sse.strip().split("\n\n"):
        name = None
        data = []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.extend(decoder.feed(name, "\n".join(data)))
    events.extend(decoder.close())
    return events, decoder


CONVERSATION = [
    {"role": "system", "content": "Be terse."},
    {"role": "developer", "content": "Use metric units."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18}'},
    {"role": "tool", "tool_call_id": "call_2", "content": "12:00"},
    {"role": "user", "content": "Thanks"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    {"type": "function", "function": {"name": "get_time"}},
]


# --------------------------------------------------------------------------------------------- requests
def test_openai_request():
    body, attempt, url = build(
        "gpt-4o",
        {
            "messages": CONVERSATION,
            "tools": TOOLS,
            "tool_choice": "auto",
            "max_tokens": 50,
            "top_k": 5,
            "seed": 3,
        },
        stream=True,
    )
    assert url.endswith("/openai/v1/chat/completions")
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["max_completion_tokens"] == 50
    assert "max_tokens" not in body
    assert "top_k" not in body
    assert body["seed"] == 3
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][3]["tool_calls"][1]["function"]["arguments"] == "{}"
    assert any(w["type"] == "unsupported_parameter" and "top_k" in w["message"] for w in attempt.warnings)


def test_openai_reasoning_effort_max_goes_to_ceiling():
    body, attempt, _ = build("o3", {"messages": CONVERSATION[:3], "reasoning_effort": "max"})
    assert body["reasoning_effort"] == "high"
    assert attempt.warnings[0]["type"] == "unsupported_parameter"


def test_anthropic_request():
    body, attempt, url = build(
        "claude-sonnet-4-5",
        {
            "messages": CONVERSATION,
            "tools": TOOLS,
            "tool_choice": "required",
            "parallel_tool_calls": False,
            "stop": ["\n", "END"],
            "temperature": 1.5,
            "user": "u-1",
            "seed": 4,
        },
    )
    assert url.endswith("/anthropic/v1/messages")
    assert body["system"] == [
        {"type": "text", "text": "Be terse."},
        {"type": "text", "text": "Use metric units."},
    ]
    assert body["max_tokens"] == 4096
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == 1
    assert body["metadata"] == {"user_id": "u-1"}
    assert "seed" not in body
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert body["tools"][1] == {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    tool_use = body["messages"][1]["content"]
    assert tool_use[0] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert tool_use[1]["input"] == {}
    results = body["messages"][2]["content"]
    assert [b["type"] for b in results] == ["tool_result", "tool_result", "text"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "call_1", "content": '{"temp_c": 18}'}
    kinds = {w["message"].split("'")[1] for w in attempt.warnings if "'" in w["message"]}
    assert {"seed"} <= kinds


@pytest.mark.parametrize(
    ("effort", "budget", "max_tokens"),
    [("low", 1024, 4096), ("medium", 2048, 4096), ("high", 4096, 4096 + 4096), ("max", 16384, 4096 + 16384)],
)
def test_anthropic_budget_grid(effort, budget, max_tokens):
    body, attempt, _ = build(
        "claude-haiku-4-5", {"messages": CONVERSATION[2:3], "reasoning_effort": effort, "temperature": 0.2}
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == max_tokens
    assert body["max_tokens"] > budget
    assert "temperature" not in body
    assert any("temperature" in w["message"] for w in attempt.warnings)


def test_anthropic_xhigh_normalisation():
    body, attempt, _ = build("claude-opus-4-5", {"messages": CONVERSATION[2:3], "reasoning_effort": "xhigh"})
    assert body["thinking"]["budget_tokens"] == 4096  # clamped to high on Opus 4.5
    assert attempt.warnings
    body, _, _ = build("claude-opus-4-7", {"messages": CONVERSATION[2:3], "reasoning_effort": "xhigh"})
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "xhigh"}
    body, _, _ = build("claude-sonnet-4-6", {"messages": CONVERSATION[2:3], "reasoning_effort": "xhigh"})
    assert body["output_config"] == {"effort": "max"}


def test_anthropic_off_sends_no_thinking_and_json_schema_uses_output_config():
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}
    body, _, _ = build(
        "claude-sonnet-4-6",
        {
            "messages": CONVERSATION[2:3],
            "reasoning_effort": "off",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        },
    )
    assert "thinking" not in body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_gemini_request():
    body, _attempt, url = build(
        "gemini-2.5-flash",
        {
            "messages": CONVERSATION,
            "tools": TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
            "stop": "END",
            "max_completion_tokens": 77,
            "temperature": 0.3,
            "n": 2,
            "reasoning_effort": "medium",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object", "additionalProperties": False}},
            },
        },
        stream=True,
    )
    assert url.endswith("/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}, {"text": "Use metric units."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    calls = body["contents"][1]["parts"]
    assert calls[0] == {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    responses = body["contents"][2]["parts"]
    assert responses[0] == {
        "functionResponse": {"name": "get_weather", "response": {"output": {"temp_c": 18}}}
    }
    assert responses[1]["functionResponse"]["name"] == "get_time"
    config = body["generationConfig"]
    assert config["stopSequences"] == ["END"]
    assert config["maxOutputTokens"] == 77
    assert config["candidateCount"] == 2
    assert config["temperature"] == 0.3
    assert config["thinkingConfig"] == {"thinkingBudget": 2048, "includeThoughts": True}
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == {"type": "object", "additionalProperties": False}
    assert (
        body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]["additionalProperties"] is False
    )
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}
    }
    assert "stream_options" not in body


def test_gemini_levels_and_off():
    body, attempt, _ = build("gemini-3-pro", {"messages": CONVERSATION[2:3], "reasoning_effort": "max"})
    assert body["generationConfig"]["thinkingConfig"]["thinkingLevel"] == "high"
    assert attempt.warnings
    body, _, _ = build("gemini-2.5-flash", {"messages": CONVERSATION[2:3], "reasoning_effort": "off"})
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 0}


def test_deepseek_thinking_backfills_reasoning_content_and_drops_logprobs():
    body, _attempt, url = build(
        "deepseek-chat",
        {"messages": CONVERSATION, "tools": TOOLS, "reasoning_effort": "low", "logprobs": True},
    )
    assert url.endswith("/deepseek/chat/completions")
    assert body["thinking"] == {"type": "enabled"}
    assert body["reasoning_effort"] == "high"
    assert body["messages"][3]["reasoning_content"] == ""
    assert body["messages"][1]["role"] == "system"
    assert "logprobs" not in body
    assert "max_tokens" not in body
    body, _, _ = build("deepseek-chat", {"messages": CONVERSATION[2:3], "reasoning_effort": "off"})
    assert body["thinking"] == {"type": "disabled"}


def test_vllm_request_keeps_sampling_extras_and_drops_top_a():
    body, attempt, url = build(
        "qwen3-32b",
        {
            "messages": CONVERSATION[2:3],
            "top_k": 5,
            "min_p": 0.1,
            "repetition_penalty": 1.1,
            "top_a": 0.2,
            "reasoning_effort": "off",
        },
        provider="vllm-b",
    )
    assert url.endswith("/vllm-b/v1/chat/completions")
    assert body["top_k"] == 5
    assert body["min_p"] == 0.1
    assert body["repetition_penalty"] == 1.1
    assert "top_a" not in body
    assert body["reasoning_effort"] == "none"
    assert any("top_a" in w["message"] for w in attempt.warnings)


def test_extensions_are_sanitised_and_merged():
    extensions = {
        "anthropic": {
            "metadata": {"user_id": "u-9", "api_key": "sk-stolen"},
            "Authorization": "x",
            "model": "claude-other",
            "top_k": 3,
        },
        "openai": {"logit_bias": {"1": 2}},
    }
    body, attempt, _ = build("claude-sonnet-4-6", {"messages": CONVERSATION[2:3], "extensions": extensions})
    assert body["metadata"] == {"user_id": "u-9"}
    assert body["model"] == "claude-sonnet-4-6"
    assert body["top_k"] == 3
    assert "Authorization" not in body
    assert "logit_bias" not in body
    blocked = [w for w in attempt.warnings if w["type"] == "blocked_field"]
    assert len(blocked) == 3


# --------------------------------------------------------------------------------------------- responses
def test_anthropic_response():
    attempt = attempt_for("claude-sonnet-4-6", {"messages": CONVERSATION[2:3]})
    native = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [
            {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 9,
            "output_tokens": 30,
            "cache_read_input_tokens": 1,
            "cache_creation_input_tokens": 2,
        },
    }
    completion, usage = ADAPTERS["anthropic"].parse_response(native, attempt)
    message = completion["choices"][0]["message"]
    assert message["content"] == "Checking."
    assert message["reasoning_content"] == "Let me think."
    assert message["reasoning"] == [{"type": "thinking", "thinking": "Let me think.", "signature": "sig"}]
    assert [c["function"]["arguments"] for c in message["tool_calls"]] == ['{"city":"Paris"}', "{}"]
    assert completion["choices"][0]["finish_reason"] == "tool_calls"
    assert (usage.prompt, usage.cached, usage.cache_write, usage.completion) == (12, 1, 2, 30)


def test_gemini_response_tool_calls_and_length_wins():
    attempt = attempt_for("gemini-2.5-flash", {"messages": CONVERSATION[2:3]})
    native = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "hmm", "thought": True},
                        {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "ts"},
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            },
            {
                "content": {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                "finishReason": "MAX_TOKENS",
                "index": 1,
            },
        ],
        "usageMetadata": {
            "promptTokenCount": 5,
            "candidatesTokenCount": 7,
            "thoughtsTokenCount": 3,
            "cachedContentTokenCount": 2,
        },
        "modelVersion": "gemini-2.5-flash",
    }
    completion, usage = ADAPTERS["gemini"].parse_response(native, attempt)
    first, second = completion["choices"]
    assert first["finish_reason"] == "tool_calls"
    assert second["finish_reason"] == "length"
    assert first["message"]["reasoning_content"] == "hmm"
    assert first["message"]["tool_calls"][0]["provider_signature"] == "ts"
    assert (usage.prompt, usage.completion, usage.reasoning, usage.cached) == (5, 10, 3, 2)


def test_deepseek_response_usage_and_finish():
    attempt = attempt_for("deepseek-reasoner", {"messages": CONVERSATION[2:3]})
    native = {
        "id": "uuid",
        "object": "chat.completion",
        "created": 1,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "x", "reasoning_content": "r"},
                "finish_reason": "insufficient_system_resource",
            }
        ],
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": 37,
            "total_tokens": 48,
            "prompt_cache_hit_tokens": 4,
            "prompt_cache_miss_tokens": 7,
            "completion_tokens_details": {"reasoning_tokens": 20},
        },
    }
    completion, usage = ADAPTERS["deepseek"].parse_response(native, attempt)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["native_finish_reason"] == "insufficient_system_resource"
    assert choice["message"]["reasoning_content"] == "r"
    assert (usage.prompt, usage.cached, usage.completion, usage.reasoning) == (11, 4, 37, 20)


# --------------------------------------------------------------------------------------------- streams
ANTHROPIC_STREAM = """
event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"usage":{"input_tokens":9,"cache_read_input_tokens":1,"cache_creation_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Par"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_time","input":{}}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":9,"cache_read_input_tokens":1,"output_tokens":30}}

event: message_stop
data: {"type":"message_stop"}
"""


def test_anthropic_stream():
    events, decoder = decode("claude-sonnet-4-6", ANTHROPIC_STREAM)
    assert events[0] == ("reasoning", 0, "hmm")
    assert events[1] == ("signature", 0, "sig")
    tools = [e for e in events if e[0] == "tool"]
    assert tools[0] == ("tool", 0, 0, "toolu_a", "get_weather", "")
    assert "".join(e[5] for e in tools if e[2] == 0) == '{"city": "Paris"}'
    assert tools[-2][:5] == ("tool", 0, 1, "toolu_b", "get_time")
    assert tools[-1][5] == "{}"
    assert events[-1] == ("finish", 0, "tool_calls", "tool_use")
    # usage from message_start and message_delta is merged, never added: 9 + 1 cached = 10
    assert (decoder.usage.prompt, decoder.usage.cached, decoder.usage.completion) == (10, 1, 30)


def test_anthropic_stream_cut_short_is_an_error():
    cut = ANTHROPIC_STREAM.split("event: message_delta")[0]
    with pytest.raises(StreamProtocolError):
        decode("claude-sonnet-4-6", cut)


GEMINI_STREAM = """
data: {"candidates":[{"content":{"parts":[{"text":"plan","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":0,"thoughtsTokenCount":40},"modelVersion":"gemini-2.5-flash"}

data: {"candidates":[{"content":{"parts":[{"text":"Okay"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"thoughtsTokenCount":40}}

data: {"candidates":[{"content":{"parts":[{"text":" done."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":9,"thoughtsTokenCount":40}}
"""


def test_gemini_stream_usage_is_cumulative_not_summed():
    events, decoder = decode("gemini-2.5-flash", GEMINI_STREAM)
    assert events == [
        ("reasoning", 0, "plan"),
        ("text", 0, "Okay"),
        ("text", 0, " done."),
        ("finish", 0, "stop", "STOP"),
    ]
    assert (decoder.usage.prompt, decoder.usage.completion, decoder.usage.reasoning) == (4, 49, 40)


def test_gemini_stream_without_finish_is_an_error():
    with pytest.raises(StreamProtocolError):
        decode("gemini-2.5-flash", GEMINI_STREAM.rsplit("data:", 1)[0])


OPENAI_STREAM_SAME_INDEX = """
data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_b","type":"function","function":{"name":"g","arguments":"{\\"x\\":1}"}}]}}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}}

data: [DONE]
"""


def test_openai_stream_gives_parallel_calls_distinct_indexes():
    events, decoder = decode("gpt-4o", OPENAI_STREAM_SAME_INDEX)
    tools = [e for e in events if e[0] == "tool"]
    assert [t[2] for t in tools] == [0, 0, 1]
    assert tools[2][3] == "call_b"
    assert decoder.usage.completion == 6  # the last usage replaces earlier ones


def test_openai_stream_without_done_is_an_error():
    with pytest.raises(StreamProtocolError):
        decode("gpt-4o", OPENAI_STREAM_SAME_INDEX.replace("data: [DONE]", ""))


def test_vllm_stream_reads_reasoning_field():
    sse = """
data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-32B","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"think"}}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-32B","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}

data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-32B","choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}

data: [DONE]
"""
    events, decoder = decode("qwen3-32b", sse)
    assert events == [("reasoning", 0, "think"), ("text", 0, "hi"), ("finish", 0, "stop", "stop")]
    assert decoder.usage.completion == 2
