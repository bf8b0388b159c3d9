"""The whole gateway over the real mock app (in-process): every flavour, streams, fallbacks, errors,
endpoints. Every response is checked against openapi.yaml."""

from __future__ import annotations

import pytest

from tests.reference.conftest import check_completion, check_error, check_stream, user

pytestmark = pytest.mark.asyncio

MODELS = [
    "gpt-4o",
    "o4-mini",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "gemini-2.5-flash",
    "gemini-3-pro",
    "deepseek-chat",
    "deepseek-reasoner",
    "llama-3.3-70b",
    "qwen3-32b",
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
    {"type": "function", "function": {"name": "get_time"}},
]


@pytest.mark.parametrize("model", MODELS)
async def test_non_stream_every_flavour(chat, model):
    response = await chat(
        {"model": model, "messages": [{"role": "system", "content": "Be terse."}, *user("Hello")]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    check_completion(body)
    assert response.headers["x-request-id"]
    metadata = body["routing_metadata"]
    assert metadata["cost"]["usd"] > 0
    assert body["choices"][0]["message"]["content"]


@pytest.mark.parametrize("model", MODELS)
async def test_stream_every_flavour_with_parallel_tools(chat, model):
    body = {
        "model": model,
        "stream": True,
        "messages": user("Weather? [[mock: tool_calls=2]]"),
        "tools": TOOLS,
    }
    response = await chat(body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.text.count("[DONE]") == 1
    payloads = check_stream(response.text)
    chunks, final = payloads[:-1], payloads[-1]
    assert final["choices"] == []
    assert "usage" in final
    assert "routing_metadata" in final
    assert final["routing_metadata"]["ttft_ms"] >= 0
    assert all("usage" not in c or c["usage"] is None for c in chunks)
    assert [c for c in chunks if c["choices"][0]["delta"].get("role")] == chunks[:1]
    finishes = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch.get("finish_reason")]
    assert finishes == ["tool_calls"]
    calls: dict[int, dict] = {}
    for c in chunks:
        for tc in c["choices"][0]["delta"].get("tool_calls") or ():
            if tc["index"] not in calls:
                assert tc["id"]
                assert tc["type"] == "function"
                assert tc["function"]["name"]
                calls[tc["index"]] = {"name": tc["function"]["name"], "arguments": ""}
            else:
                assert "id" not in tc
                assert "name" not in tc.get("function", {})
            calls[tc["index"]]["arguments"] += tc["function"].get("arguments", "")
    assert sorted(calls) == [0, 1]
    import json

    for call in calls.values():
        json.loads(call["arguments"])
    assert len({c["id"] for c in chunks}) == 1


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-2.5-flash", "deepseek-reasoner", "qwen3-32b"])
async def test_reasoning_stream_and_usage(chat, model):
    body = {
        "model": model,
        "stream": True,
        "messages": user("Think [[mock: reasoning=20]]"),
        "reasoning_effort": "high",
    }
    response = await chat(body)
    assert response.status_code == 200, response.text
    payloads = check_stream(response.text)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in payloads[:-1])
    assert reasoning
    usage = payloads[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    if model not in ("claude-sonnet-4-6", "qwen3-32b"):  # Anthropic and vLLM do not count them apart
        assert usage["completion_tokens_details"]["reasoning_tokens"] > 0


async def test_stream_equals_non_stream_text(chat):
    body = {"model": "claude-sonnet-4-6", "messages": user("Tell me something")}
    full = (await chat(body)).json()["choices"][0]["message"]["content"]
    streamed = await chat({**body, "stream": True})
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in check_stream(streamed.text)[:-1])
    assert text == full


async def test_cost_is_exact(chat):
    response = await chat({"model": "gpt-4o", "messages": user("Hello [[mock: cached=2]]")})
    body = response.json()
    usage, cost = body["usage"], body["routing_metadata"]["cost"]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    expected = (
        (usage["prompt_tokens"] - cached) * 2.5 + cached * 1.25 + usage["completion_tokens"] * 10.0
    ) / 1e6
    assert cost["usd"] == pytest.approx(expected, rel=1e-9)


async def test_fallback_to_the_next_provider(chat):
    body = {"model": "llama-3.3-70b", "messages": user("hi [[mock: provider=vllm-b error=500]]")}
    response = await chat(body)
    assert response.status_code == 200, response.text
    assert response.json()["routing_metadata"]["provider"] == "vllm"


async def test_stream_falls_back_before_the_first_byte(chat):
    body = {
        "model": "llama-3.3-70b",
        "stream": True,
        "messages": user("hi [[mock: provider=vllm-b error=503]]"),
    }
    response = await chat(body)
    assert response.status_code == 200
    assert check_stream(response.text)[-1]["routing_metadata"]["provider"] == "vllm"


async def test_no_fallback_when_disabled(chat):
    body = {
        "model": "llama-3.3-70b",
        "messages": user("hi [[mock: provider=vllm-b error=500]]"),
        "gateway": {"routing": {"allow_fallbacks": False}},
    }
    error = check_error(await chat(body), 502, "upstream_error")
    assert error["provider"] == "vllm-b"


async def test_upstream_429_keeps_status_and_retry_after(chat):
    response = await chat({"model": "gpt-4o", "messages": user("hi [[mock: error=429 retry_after=7]]")})
    check_error(response, 429, "rate_limit_exceeded")
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-error-retryable"] == "true"
    assert response.headers["x-error-provider"] == "openai"


async def test_anthropic_529_is_retryable_503(chat):
    response = await chat({"model": "claude-sonnet-4-6", "messages": user("hi [[mock: error=529]]")})
    check_error(response, 503, "service_unavailable")
    assert response.headers["x-error-retryable"] == "true"


async def test_upstream_400_is_not_retried(chat):
    body = {"model": "llama-3.3-70b", "messages": user("hi [[mock: error=400]]")}
    check_error(await chat(body), 502, "upstream_error")


async def test_timeout_is_504(chat):
    body = {
        "model": "gpt-4o",
        "messages": user("hi [[mock: timeout]]"),
        "gateway": {"routing": {"timeout_ms": 200}},
    }
    response = await chat(body)
    check_error(response, 504, "upstream_timeout")


async def test_timeout_then_fallback_warns(chat):
    body = {
        "model": "llama-3.3-70b",
        "messages": user("hi [[mock: provider=vllm-b timeout]]"),
        "gateway": {"routing": {"timeout_ms": 200}},
    }
    response = await chat(body)
    assert response.status_code == 200, response.text
    metadata = response.json()["routing_metadata"]
    assert metadata["provider"] == "vllm"
    assert any(w["type"] == "provider_timeout" for w in metadata["warnings"])


async def test_transport_failure_never_becomes_a_500(chat):
    # httpx's in-process ASGI transport cannot drop a connection and raises instead: still a 5xx envelope
    body = {
        "model": "claude-sonnet-4-6",
        "stream": True,
        "messages": user("Story [[mock: disconnect_after=3]]"),
    }
    response = await chat(body)
    assert response.status_code != 500


async def test_n_choices(chat):
    response = await chat({"model": "gemini-2.0-flash", "messages": user("hi"), "n": 2})
    assert response.status_code == 200, response.text
    assert [c["index"] for c in response.json()["choices"]] == [0, 1]


async def test_warnings_for_dropped_params_and_extensions(chat):
    body = {
        "model": "claude-sonnet-4-6",
        "messages": user("hi"),
        "seed": 7,
        "extensions": {"anthropic": {"api_key": "x"}, "google": {"safety_settings": []}, "acme": {}},
    }
    response = await chat(body)
    assert response.status_code == 200, response.text
    kinds = {w["type"] for w in response.json()["routing_metadata"]["warnings"]}
    assert {"unsupported_parameter", "blocked_field", "ignored_extension", "unknown_provider"} <= kinds


async def test_multi_turn_tool_conversation_on_deepseek_thinking(chat):
    messages = [
        *user("Weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    body = {"model": "deepseek-chat", "messages": messages, "tools": TOOLS, "reasoning_effort": "high"}
    response = await chat(body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-2.5-flash", "gpt-4o", "llama-3.3-70b"])
async def test_multi_turn_tool_conversation_every_flavour(chat, model):
    messages = [
        {"role": "system", "content": "Be terse."},
        *user("Weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"P"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ]
    response = await chat({"model": model, "messages": messages, "tools": TOOLS, "tool_choice": "auto"})
    assert response.status_code == 200, response.text
    check_completion(response.json())


async def test_json_schema_to_gemini_and_anthropic(chat):
    rf = {
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "additionalProperties": False,
            },
        },
    }
    for model in ("gemini-2.5-flash", "claude-sonnet-4-6", "gpt-4o"):
        response = await chat({"model": model, "messages": user("A city as JSON"), "response_format": rf})
        assert response.status_code == 200, (model, response.text)


# --------------------------------------------------------------------------------------------- endpoints
async def test_models_list_and_retrieve(client):
    from auriko_conformance import contract

    listing = await client.get("/v1/models")
    assert listing.status_code == 200
    assert not contract.violations("ModelList", listing.json())
    assert len(listing.json()["data"]) >= 10
    model = await client.get("/v1/models/llama-3.3-70b")
    assert model.json()["id"] == "llama-3.3-70b-instruct"
    assert not contract.violations("Model", model.json())
    check_error(await client.get("/v1/models/nope"), 404, "model_not_found")


async def test_me(client):
    from auriko_conformance import contract

    response = await client.get("/v1/me")
    assert response.status_code == 200
    assert not contract.violations("ApiKeyIdentity", response.json())


async def test_unknown_path_and_wrong_method(client):
    check_error(await client.get("/v1/nothing"), 404, "resource_not_found")
    response = await client.get("/v1/chat/completions")
    check_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    response = await client.post("/v1/models")
    assert response.headers["allow"] == "GET"
