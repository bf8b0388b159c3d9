"""Fixtures for the mock tests: the real server (session) and an in-process client (per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from auriko_conformance.mocks.app import MockApp, create_app
from auriko_conformance.mocks.inprocess import asgi_client
from auriko_conformance.mocks.pytest_plugin import MockServer, mock_server  # noqa: F401  (the session fixture)

KEY = "sk-test-key"
AUTH = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GEMINI_HEADERS = {"x-goog-api-key": KEY}


@pytest.fixture
def server(mock_server: MockServer) -> Iterator[MockServer]:  # noqa: F811
    """The session server, reset after each test so behaviour changes never leak."""
    yield mock_server
    mock_server.reset()


@pytest.fixture
def app() -> MockApp:
    return create_app()


@pytest.fixture
async def client(app: MockApp) -> AsyncIterator:
    async with asgi_client(app) as c:
        yield c


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TIME_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string"}, "hours": {"type": "integer"}},
        },
    },
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME_TOOL_ANTHROPIC = {
    "name": "get_time",
    "input_schema": {
        "type": "object",
        "properties": {"zone": {"type": "string"}, "hours": {"type": "integer"}},
    },
}
