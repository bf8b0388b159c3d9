"""Fixtures: the real mock server and the reference gateway, each in uvicorn on a free port.

`auriko_conformance.servers.serving` binds port 0 itself (no race for a port) and stops the server in a
`finally`, so a failing test never leaves one behind (tests/reliability/test_harness.py proves it).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app
from auriko_conformance.reference_impl.app import GatewayApp, create_app
from auriko_conformance.reference_impl.config import GatewayConfig, default_config

from auriko_conformance.servers import RunningServer, serving
from tests.reliability.helpers import AUTH, CLIENT_TIMEOUT_S, Journal

_tags = itertools.count()


@pytest.fixture(scope="session")
def mock_server() -> Iterator[RunningServer]:
    with serving(create_mock_app()) as server:
        yield server


@pytest.fixture(scope="session")
def journal(mock_server: RunningServer) -> Iterator[Journal]:
    j = Journal(mock_server.url)
    try:
        yield j
    finally:
        j.close()


@pytest.fixture(scope="session")
def gateway_server(mock_server: RunningServer) -> Iterator[RunningServer]:
    with serving(create_app(default_config(mock_server.url))) as server:
        yield server


@pytest.fixture
def client(gateway_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_server.url, headers=AUTH, timeout=CLIENT_TIMEOUT_S) as c:
        yield c


@pytest.fixture
def tag(request: pytest.FixtureRequest) -> str:
    """A journal tag unique to this test (and call), written as `[[conformance-id: ...]]`."""
    return f"rel-{request.node.name}-{next(_tags)}".replace("[", "(").replace("]", ")").replace(" ", "_")


@pytest.fixture
def gateway_with(
    mock_server: RunningServer,
) -> Iterator[Callable[..., tuple[GatewayApp, RunningServer]]]:
    """Start extra gateways with a changed config (`gateway_with(api_keys=...)`); all stopped at the end."""
    with contextlib.ExitStack() as stack:

        def start(config: GatewayConfig | None = None, **overrides: Any) -> tuple[GatewayApp, RunningServer]:
            app = create_app(config or default_config(mock_server.url, **overrides))
            return app, stack.enter_context(serving(app))

        yield start
