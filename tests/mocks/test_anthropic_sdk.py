"""The Anthropic mock driven by the official `anthropic` SDK, stream accumulator included."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from auriko_conformance.mocks.tokens import count_tokens

from tests.mocks.conftest import KEY, TIME_TOOL_ANTHROPIC, WEATHER_TOOL_ANTHROPIC, user

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MODEL = "claude-sonnet-4-5"


def sdk(server, **kwargs) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.url + "/anthropic", api_key=KEY, max_retries=0, timeout=10, **kwargs
    )


def test_non_stream_equals_accumulated_stream(server):
    client = sdk(server)
    body = {
        "model": MODEL,
        "max_tokens": 200,
        "system": "Be terse.",
        "messages": user("Tell me about rivers"),
    }
    message = client.messages.create(**body)
    assert message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text"]
    assert message.usage.input_tokens == 7
    assert message.usage.output_tokens == 20
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    assert final.usage.output_tokens == 20
    assert final.usage.input_tokens == 7


def test_stream_event_order_and_ping(server):
    client = sdk(server)
    with client.messages.stream(
        model=MODEL,
        max_tokens=3000,
        messages=user("x [[mock: tool_calls=2 reasoning=8]]"),
        tools=[WEATHER_TOOL_ANTHROPIC, TIME_TOOL_ANTHROPIC],
        thinking={"type": "enabled", "budget_tokens": 1024},
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start"
    assert events[-1] == "message_stop"
    assert "input_json" in events
    assert "signature" in events
    assert "thinking" in events
    assert [b.type for b in final.content] == ["thinking", "tool_use", "tool_use"]
    assert final.content[0].signature
    assert [b.name for b in final.content[1:]] == ["get_weather", "get_time"]
    assert final.content[1].input == {"city": final.content[1].input["city"]}
    assert final.stop_reason == "tool_use"


def test_raw_stream_has_ping_and_split_partial_json(server):
    body = {
        "model": MODEL,
        "max_tokens": 100,
        "stream": True,
        "messages": user("x [[mock: tool_calls=1]]"),
        "tools": [TIME_TOOL_ANTHROPIC],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    text = httpx.post(server.url + "/anthropic/v1/messages", json=body, headers=headers).text
    names = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names.count("content_block_delta") >= 3  # "" first, then several partial_json pieces
    assert names[-2:] == ["message_delta", "message_stop"]
    assert "[DONE]" not in text
    # Anthropic's bytes (D-165): `ping` written with a space after the colon; every other payload padded
    # with 0-15 spaces before its closing brace, the amount varying from event to event
    data = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert data[2] == '{"type": "ping"}'
    pads = [len(d[:-1]) - len(d[:-1].rstrip(" ")) for i, d in enumerate(data) if i != 2]
    assert all(0 <= pad <= 15 for pad in pads)
    assert len(set(pads)) > 3


def test_adaptive_thinking_on_4_6_and_display_omitted(server):
    message = sdk(server).messages.create(
        model="claude-sonnet-4-6",
        max_tokens=500,
        messages=user("hm"),
        thinking={"type": "adaptive", "display": "omitted"},
    )
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking == ""
    assert message.usage.output_tokens == 16 + 20


def test_cached_tokens_split_input(server):
    message = sdk(server).messages.create(
        model=MODEL, max_tokens=50, messages=user("a b c d [[mock: cached=4]]")
    )
    usage = message.usage
    prompt = count_tokens("a b c d [[mock: cached=4]]")  # markers are text too: 4 + 9
    assert usage.cache_read_input_tokens == 4
    assert usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens == prompt


@pytest.mark.parametrize(
    ("directive", "status", "exc"),
    [
        ("error=529", 529, anthropic.OverloadedError),
        ("error=429 retry_after=3", 429, anthropic.RateLimitError),
        ("error=500", 500, anthropic.InternalServerError),
        ("error=503", 503, anthropic.InternalServerError),
    ],
)
def test_error_directives(server, directive, status, exc):
    with pytest.raises(exc) as info:
        sdk(server).messages.create(model=MODEL, max_tokens=20, messages=user(f"x [[mock: {directive}]]"))
    assert isinstance(info.value, anthropic.APIStatusError)
    assert info.value.status_code == status
    body = info.value.response.json()
    assert body["type"] == "error"
    assert body["request_id"] == info.value.response.headers["request-id"]
    if status == 529:
        assert body["error"]["type"] == "overloaded_error"
    if status == 429:
        assert info.value.response.headers["retry-after"] == "3"


def test_auth_variants(server):
    # the SDK sends Authorization: Bearer; LiteLLM sends x-api-key: both are accepted
    assert (
        sdk(server).messages.create(model=MODEL, max_tokens=5, messages=user("x")).stop_reason == "max_tokens"
    )
    base = {"model": MODEL, "max_tokens": 5, "messages": user("x")}
    ok = httpx.post(
        server.url + "/anthropic/v1/messages",
        json=base,
        headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    )
    assert ok.status_code == 200
    assert (
        httpx.post(
            server.url + "/anthropic/v1/messages", json=base, headers={"anthropic-version": "2023-06-01"}
        ).status_code
        == 401
    )
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            base_url=server.url + "/anthropic", api_key="bad-key", max_retries=0
        ).messages.create(**base)
    missing_version = httpx.post(server.url + "/anthropic/v1/messages", json=base, headers={"x-api-key": KEY})
    assert missing_version.status_code == 400
    assert "anthropic-version" in missing_version.text


def test_models_list(server):
    """Dated ids newest first with the real display names; aliases and dated ids both answer, and the
    response names the snapshot (as the real API resolves `claude-sonnet-4-5`)."""
    models = list(sdk(server).models.list())
    ids = [m.id for m in models]
    assert (
        ids.index("claude-opus-4-7") < ids.index("claude-sonnet-4-6") < ids.index("claude-haiku-4-5-20251001")
    )
    assert {"claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"} <= set(ids)
    assert "claude-sonnet-4-5" not in ids
    names = {m.id: m.display_name for m in models}
    assert names["claude-sonnet-4-6"] == "Claude Sonnet 4.6"
    assert len({m.created_at for m in models}) > 1
    for name in ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"):
        reply = sdk(server).messages.create(model=name, max_tokens=5, messages=user("x"))
        assert reply.model == "claude-sonnet-4-5-20250929"
    assert sdk(server).models.retrieve("claude-sonnet-4-5").id == "claude-sonnet-4-5-20250929"
    with pytest.raises(anthropic.NotFoundError):
        sdk(server).messages.create(model="claude-9", max_tokens=5, messages=user("x"))
