"""Request validation: exact codes and dotted param paths, limits, auth, conversions."""

from __future__ import annotations

import orjson
import pytest

from tests.reference.conftest import check_completion, check_error, user

pytestmark = pytest.mark.asyncio


async def test_neither_model_nor_gateway_models(chat):
    error = check_error(
        await chat({"messages": user("hi")}, validate=False), 400, "missing_required_parameter"
    )
    assert error["param"] == "model"


async def test_both_model_and_gateway_models(chat):
    body = {"model": "gpt-4o", "messages": user("hi"), "gateway": {"models": ["gpt-4o"]}}
    error = check_error(await chat(body, validate=False), 400, "invalid_parameter_value")
    assert error["param"] == "gateway.models"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"n": 11}, "n"),
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"gateway": {"routing": {"optimize": "fastest"}}}, "gateway.routing.optimize"),
        ({"gateway": {"routing": {"max_fallback_attempts": 20}}}, "gateway.routing.max_fallback_attempts"),
        ({"gateway": {"routing": {"weights": {"cost": 0}}}}, "gateway.routing.weights.cost"),
        ({"gateway": {"routing": {"timeout_ms": 5000, "deadline_ms": 1000}}}, "gateway.routing.deadline_ms"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"verbosity": "loud"}, "verbosity"),
    ],
)
async def test_invalid_values_name_their_param(chat, extra, param):
    body = {"model": "gpt-4o", "messages": user("hi"), **extra}
    error = check_error(await chat(body, validate=False), 400, "invalid_parameter_value")
    assert error["param"] == param


async def test_message_missing_content_is_missing_parameter(chat):
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "x"}],
    }
    error = check_error(await chat(body, validate=False), 400, "missing_required_parameter")
    assert error["param"] == "messages[1].tool_call_id"


async def test_unknown_role(chat):
    body = {"model": "gpt-4o", "messages": [{"role": "robot", "content": "a"}]}
    error = check_error(await chat(body, validate=False), 400, "invalid_parameter_value")
    assert error["param"] == "messages[0].role"


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"speed": 1}, "gateway.speed"),
        ({"routing": {"fast": True}}, "gateway.routing.fast"),
        ({"metadata": {"colour": "red"}}, "gateway.metadata.colour"),
    ],
)
async def test_unknown_keys_inside_gateway(chat, options, param):
    body = {"model": "gpt-4o", "messages": user("hi"), "gateway": options}
    error = check_error(await chat(body, validate=False), 400, "unknown_field")
    assert error["param"] == param


async def test_unknown_top_level_field_is_dropped_with_warning(chat):
    response = await chat({"model": "gpt-4o", "messages": user("hi"), "prediction": {"x": 1}})
    assert response.status_code == 200, response.text
    body = response.json()
    check_completion(body)
    warnings = body["routing_metadata"]["warnings"]
    assert any(w["type"] == "unsupported_field" and "prediction" in w["message"] for w in warnings)


async def test_model_not_found(chat):
    error = check_error(await chat({"model": "gpt-9-turbo", "messages": user("hi")}), 404, "model_not_found")
    assert error["param"] == "model"
    body = {"messages": user("hi"), "gateway": {"models": ["gpt-4o", "nope"]}}
    error = check_error(await chat(body), 404, "model_not_found")
    assert error["param"] == "gateway.models[1]"


async def test_unknown_suffix_is_model_not_found(chat):
    check_error(await chat({"model": "gpt-4o:warp", "messages": user("hi")}), 404, "model_not_found")


async def test_not_json_and_not_object(client):
    check_error(await client.post("/v1/chat/completions", content=b"{nope"), 400, "invalid_request")
    check_error(await client.post("/v1/chat/completions", content=b"[1]"), 400, "invalid_request")


async def test_too_deep(client):
    deep: dict = {}
    node = deep
    for _ in range(70):
        node["x"] = {}
        node = node["x"]
    body = {"model": "gpt-4o", "messages": user("hi"), "extensions": {"openai": deep}}
    check_error(await client.post("/v1/chat/completions", content=orjson.dumps(body)), 400, "invalid_request")


async def test_too_many_messages(chat):
    body = {"model": "gpt-4o", "messages": user("hi") * 2049}
    error = check_error(await chat(body, validate=False), 400, "invalid_parameter_value")
    assert error["param"] == "messages"


async def test_payload_too_large(client):
    body = orjson.dumps({"model": "gpt-4o", "messages": user("x" * (4 * 1024 * 1024 + 10))})
    check_error(await client.post("/v1/chat/completions", content=body), 413, "payload_too_large")


@pytest.mark.parametrize(
    "header", [None, "Bearer sk-not-auriko", "Bearer ak_wrong", "Basic ak_test_conformance"]
)
async def test_auth(client, header):
    headers = {"authorization": header} if header else {}
    client.headers.pop("authorization", None)
    response = await client.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": user("hi")}, headers=headers
    )
    check_error(response, 401, "invalid_api_key")


async def test_auth_comes_before_validation(client):
    client.headers.pop("authorization", None)
    check_error(await client.post("/v1/chat/completions", content=b"{nope"), 401, "invalid_api_key")


async def test_functions_become_tools(chat):
    body = {
        "model": "gpt-4o",
        "messages": user("weather? [[mock: tool_calls=1]]"),
        "functions": [{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        "function_call": "auto",
    }
    response = await chat(body)
    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_tool_choice_must_name_a_tool(chat):
    body = {
        "model": "gpt-4o",
        "messages": user("hi"),
        "tools": [{"type": "function", "function": {"name": "a"}}],
        "tool_choice": {"type": "function", "function": {"name": "b"}},
    }
    error = check_error(await chat(body), 400, "invalid_parameter_value")
    assert error["param"] == "tool_choice"


async def test_platform_governed_extension(chat):
    body = {"model": "gpt-4o", "messages": user("hi"), "extensions": {"openai": {"service_tier": "flex"}}}
    error = check_error(await chat(body), 400, "invalid_request")
    assert error["param"] == "extensions.openai.service_tier"
