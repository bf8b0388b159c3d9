"""The reference's error scenarios: key policies (expired, management-only keys) and delivery-mode
capabilities (D-124), withdrawn models and out-of-service offerings (D-125), blocked providers, BYOK-only
offerings and tools that cannot be combined with a response schema (D-143)."""

from __future__ import annotations

import httpx
import pytest
from auriko_conformance.reference_impl.config import (
    BLOCKED_PROVIDER_TEST_KEY,
    EXPIRED_TEST_KEY,
    MANAGEMENT_TEST_KEY,
    ConfigError,
    config_from_mapping,
)
from auriko_conformance.reference_impl.key_policies import KeyPolicy, KeyPolicyError

from tests.reference.conftest import check_error, user


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(EXPIRED_TEST_KEY, 401, "expired_api_key"), (MANAGEMENT_TEST_KEY, 403, "insufficient_permissions")],
)
async def test_keys_that_may_not_infer(client: httpx.AsyncClient, key: str, status: int, code: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": user("Hello")}
    check_error(await client.post("/v1/chat/completions", json=body, headers=_auth(key)), status, code)
    check_error(await client.get("/v1/models", headers=_auth(key)), status, code)
    check_error(await client.get("/v1/me", headers=_auth(key)), status, code)


@pytest.mark.parametrize(
    ("model", "stream", "code", "param"),
    [
        ("gpt-4o-mini-no-stream", True, "streaming_not_supported", "stream"),
        ("qwen3-32b-stream-only", False, "non_streaming_not_supported", "stream"),
        ("gpt-4o-mini-batch", False, "batch_only", "model"),
        ("gpt-4o-mini-batch", True, "batch_only", "model"),
    ],
)
async def test_delivery_modes(chat, model: str, stream: bool, code: str, param: str) -> None:
    error = check_error(await chat({"model": model, "messages": user("Hello"), "stream": stream}), 400, code)
    assert error["param"] == param


_TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "a", "schema": {"type": "object", "properties": {}}},
}


async def test_tools_with_a_response_schema_where_they_cannot_be_combined(chat) -> None:
    """D-143: either alone is fine on gpt-4o-mini-tools-or-schema; both together are the documented 400."""
    model = "gpt-4o-mini-tools-or-schema"
    both = {"model": model, "messages": user("Hello"), "tools": _TOOLS, "response_format": _SCHEMA}
    error = check_error(await chat(both), 400, "tools_with_structured_output_not_supported")
    assert error["param"] == "response_format"
    for one in ({"tools": _TOOLS}, {"response_format": _SCHEMA}):
        response = await chat({"model": model, "messages": user("Hello"), **one})
        assert response.status_code == 200, response.text
    both["model"] = "gpt-4o-mini"
    assert (await chat(both)).status_code == 200


@pytest.mark.parametrize(
    ("model", "stream"), [("gpt-4o-mini-no-stream", False), ("qwen3-32b-stream-only", True)]
)
async def test_the_other_delivery_mode_works(chat, model: str, stream: bool) -> None:
    response = await chat({"model": model, "messages": user("Hello"), "stream": stream})
    assert response.status_code == 200, response.text


def test_config_key_policies() -> None:
    config = config_from_mapping({"api_keys": ["ak_x"], "key_policies": {"ak_x": {"scopes": ["management"]}}})
    assert config.key_policies == {"ak_x": KeyPolicy(scopes=("management",))}
    for bad in (
        {"ak_y": {"expired": True}},
        {"ak_x": {"scopes": []}},
        {"ak_x": {"scopes": ["admin"]}},
        {"ak_x": {"expired": "yes"}},
    ):
        with pytest.raises(ConfigError):
            config_from_mapping({"api_keys": ["ak_x"], "key_policies": bad})
    with pytest.raises(KeyPolicyError):
        KeyPolicy(scopes=("root",))


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"model": "gpt-4o-mini-unavailable"}, "model_unavailable", "model"),
        ({"gateway": {"models": ["gpt-4o-mini-unavailable"]}}, "model_unavailable", "gateway.models"),
        ({"model": "deepseek-chat-no-provider"}, "no_provider_available", None),
    ],
)
async def test_nothing_in_service(chat, body: dict, code: str, param: str | None) -> None:
    error = check_error(await chat({**body, "messages": user("Hello")}), 503, code)
    assert error["param"] == param


async def test_a_withdrawn_model_in_a_pool_is_skipped(chat) -> None:
    body = {"gateway": {"models": ["gpt-4o-mini-unavailable", "gpt-4o-mini"]}, "messages": user("Hello")}
    response = await chat(body)
    assert response.status_code == 200, response.text
    assert response.json()["routing_metadata"]["model_canonical"] == "gpt-4o-mini"


async def test_a_provider_blocked_for_the_keys_workspace(client: httpx.AsyncClient) -> None:
    """D-143: DeepSeek is blocked for this key: deepseek-chat (DeepSeek only) is 400 provider_blocked;
    the same request with the ordinary key, or a model of another provider, is answered."""
    body = {"model": "deepseek-chat", "messages": user("Hello")}
    headers = _auth(BLOCKED_PROVIDER_TEST_KEY)
    response = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert check_error(response, 400, "provider_blocked")["param"] == "model"
    assert (await client.post("/v1/chat/completions", json=body)).status_code == 200
    other = await client.post("/v1/chat/completions", json={**body, "model": "gpt-4o-mini"}, headers=headers)
    assert other.status_code == 200, other.text


async def test_a_model_only_a_customer_key_can_serve(chat) -> None:
    """D-143: the platform holds no key for deepseek-chat-byok-only: 400 platform_keys_unavailable."""
    response = await chat({"model": "deepseek-chat-byok-only", "messages": user("Hello")})
    assert check_error(response, 400, "platform_keys_unavailable")["param"] == "model"


def test_config_blocked_providers() -> None:
    config = config_from_mapping(
        {"api_keys": ["ak_x"], "key_policies": {"ak_x": {"blocked_providers": ["deepseek", "openai"]}}}
    )
    assert config.key_policies["ak_x"].blocked_providers == frozenset({"deepseek", "openai"})
    with pytest.raises(ConfigError):
        config_from_mapping(
            {"api_keys": ["ak_x"], "key_policies": {"ak_x": {"blocked_providers": "deepseek"}}}
        )
