"""OpenAI, DeepSeek and vLLM mocks driven by the official `openai` SDK over a real socket."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.mocks.conftest import KEY, TIME_TOOL_OPENAI, WEATHER_TOOL_OPENAI, user

MODELS = {
    "openai": "gpt-4o-2024-08-06",
    "deepseek": "deepseek-chat",
    "vllm": "meta-llama/Llama-3.3-70B-Instruct",
}
BASES = {"openai": "/openai/v1", "deepseek": "/deepseek", "vllm": "/vllm/v1"}


def sdk(server, name: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + BASES[name], api_key=KEY, max_retries=0, timeout=10)


@pytest.mark.parametrize("name", list(MODELS))
def test_non_stream_and_stream_agree(server, name):
    client = sdk(server, name)
    messages = [{"role": "system", "content": "Be terse."}, *user("Tell me about rivers")]
    first = client.chat.completions.create(model=MODELS[name], messages=messages)
    again = client.chat.completions.create(model=MODELS[name], messages=messages)
    assert first.choices[0].message.content == again.choices[0].message.content
    assert first.usage == again.usage
    assert first.id != again.id or name == "vllm"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage.completion_tokens == 20
    assert first.usage.prompt_tokens == 2 + 4 + 1  # "Be terse." + "Tell me about rivers"

    chunks = list(
        client.chat.completions.create(
            model=MODELS[name], messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len({c.id for c in chunks}) == 1
    assert len({c.created for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == first.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    if name == "deepseek":  # recorded DeepSeek streams carry usage on the finish chunk, no `choices: []`
        assert chunks[-1].choices[0].finish_reason == "stop"
    else:
        assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == first.usage.total_tokens
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("count", [1, 2])
def test_tool_calls_non_stream_and_stream(server, name, count):
    client = sdk(server, name)
    messages = user(f"weather please [[mock: tool_calls={count}]]")
    tools = [WEATHER_TOOL_OPENAI, TIME_TOOL_OPENAI]
    reply = client.chat.completions.create(model=MODELS[name], messages=messages, tools=tools)
    calls = reply.choices[0].message.tool_calls
    assert reply.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in calls] == ["get_weather", "get_time"][:count]
    assert all(isinstance(json.loads(c.function.arguments), dict) for c in calls)

    stream = client.chat.completions.create(model=MODELS[name], messages=messages, tools=tools, stream=True)
    args: dict[int, str] = {}
    names: dict[int, str] = {}
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            if delta.id:
                names[delta.index] = delta.function.name
                assert delta.type == "function"
            args[delta.index] = args.get(delta.index, "") + (delta.function.arguments or "")
    assert names == {i: c.function.name for i, c in enumerate(calls)}
    assert {i: json.loads(a) for i, a in args.items()} == {
        i: json.loads(c.function.arguments) for i, c in enumerate(calls)
    }


def test_parallel_tool_calls_false_caps_at_one(server):
    reply = sdk(server, "openai").chat.completions.create(
        model=MODELS["openai"],
        messages=user("x [[mock: tool_calls=3]]"),
        tools=[WEATHER_TOOL_OPENAI],
        parallel_tool_calls=False,
    )
    assert len(reply.choices[0].message.tool_calls) == 1


def test_openai_reasoning_model_reports_tokens_without_text(server):
    client = sdk(server, "openai")
    reply = client.chat.completions.create(
        model="o3-2025-04-16", messages=user("think [[mock: reasoning=40]]"), max_completion_tokens=500
    )
    assert reply.usage.completion_tokens_details.reasoning_tokens == 40
    assert reply.usage.completion_tokens == 40 + 20
    assert (
        not hasattr(reply.choices[0].message, "reasoning_content")
        or reply.choices[0].message.reasoning_content is None
    )


def test_deepseek_reasoning_content_stream_and_usage(server):
    client = sdk(server, "deepseek")
    body = {"model": "deepseek-reasoner", "messages": user("why [[mock: reasoning=12 cached=3]]")}
    reply = client.chat.completions.create(**body)
    message = reply.choices[0].message
    assert message.reasoning_content
    assert len(message.reasoning_content.split()) == 11
    extra = reply.usage.model_extra
    assert reply.usage.completion_tokens_details.reasoning_tokens == 12
    assert extra["prompt_cache_hit_tokens"] == 3
    assert extra["prompt_cache_miss_tokens"] == reply.usage.prompt_tokens - 3
    chunks = list(client.chat.completions.create(**body, stream=True))
    reasoning = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks)
    assert reasoning == message.reasoning_content
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == message.content


def test_vllm_reasoning_field_and_template_switch(server):
    client = sdk(server, "vllm")
    reply = client.chat.completions.create(model="Qwen/Qwen3-32B", messages=user("hmm [[mock: reasoning=5]]"))
    assert reply.choices[0].message.model_extra["reasoning"]
    assert reply.usage.completion_tokens == 25
    off = client.chat.completions.create(
        model="Qwen/Qwen3-32B",
        messages=user("hmm [[mock: reasoning=5]]"),
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    assert off.usage.completion_tokens == 20
    chunks = list(
        client.chat.completions.create(
            model="Qwen/Qwen3-32B", messages=user("hmm [[mock: reasoning=5]]"), stream=True
        )
    )
    streamed = "".join(c.choices[0].delta.model_extra.get("reasoning") or "" for c in chunks if c.choices)
    assert streamed == reply.choices[0].message.model_extra["reasoning"]


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize(
    ("directive", "status", "exc"),
    [
        ("error=429 retry_after=7", 429, openai.RateLimitError),
        ("error=500", 500, openai.InternalServerError),
        ("error=503", 503, openai.InternalServerError),
        ("error=529", 503, openai.InternalServerError),  # no 529 outside Anthropic: overloaded = 503
    ],
)
def test_error_directives_raise_typed_errors(server, name, directive, status, exc):
    with pytest.raises(exc) as info:
        sdk(server, name).chat.completions.create(
            model=MODELS[name], messages=user(f"x [[mock: {directive}]]")
        )
    assert info.value.status_code == status
    if status == 429:
        assert info.value.response.headers["retry-after"] == "7"
    body = info.value.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if name == "vllm":
        assert body["error"]["code"] == status


def test_unknown_directive_is_a_400_naming_it(server):
    with pytest.raises(openai.BadRequestError) as info:
        sdk(server, "openai").chat.completions.create(
            model=MODELS["openai"], messages=user("[[mock: explode]]")
        )
    assert "explode" in info.value.message
    assert info.value.body["param"] == "explode"


def test_auth_failures(server):
    bad = openai.OpenAI(base_url=server.url + "/openai/v1", api_key="bad-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODELS["openai"], messages=user("x"))
    missing = httpx.post(
        server.url + "/deepseek/chat/completions", json={"model": "deepseek-chat", "messages": user("x")}
    )
    assert missing.status_code == 401
    assert "error" in missing.json()
    # vLLM without --api-key accepts anything but the refused key
    ok = httpx.post(server.url + "/vllm/v1/chat/completions", json={"messages": user("x")})
    assert ok.status_code == 200
    assert ok.json()["model"] == MODELS["vllm"]
    refused = httpx.post(
        server.url + "/vllm/v1/chat/completions",
        json={"messages": user("x")},
        headers={"authorization": "Bearer bad-key"},
    )
    assert refused.status_code == 401
    assert refused.json() == {"error": "Unauthorized"}


def test_models_endpoints(server):
    ids = [m.id for m in sdk(server, "openai").models.list()]
    assert {"o3-2025-04-16", "o3", "gpt-4o", "gpt-4o-2024-08-06", "gpt-5-mini"} <= set(ids)  # side by side
    assert len({m.created for m in sdk(server, "openai").models.list()}) > 1
    for name in ("gpt-4o", "gpt-4o-2024-08-06"):
        reply = sdk(server, "openai").chat.completions.create(model=name, messages=user("x"))
        assert reply.model == "gpt-4o-2024-08-06"  # the alias resolved to its snapshot, as the real API does
    assert [m.id for m in sdk(server, "deepseek").models.list()] == ["deepseek-chat", "deepseek-reasoner"]
    assert "Qwen/Qwen3-32B" in [m.id for m in sdk(server, "vllm").models.list()]
    with pytest.raises(openai.NotFoundError):
        sdk(server, "openai").chat.completions.create(model="gpt-9", messages=user("x"))


def test_response_headers(server):
    response = sdk(server, "openai").chat.completions.with_raw_response.create(
        model=MODELS["openai"], messages=user("x")
    )
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["x-ratelimit-remaining-requests"]
    assert response.headers["openai-version"] == "2020-10-01"
