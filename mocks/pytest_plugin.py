"""pytest plugin: a `mock_server` fixture running the real mock server on a free port.

Load with `-p auriko_conformance.mocks.pytest_plugin` or
`pytest_plugins = ["auriko_conformance.mocks.pytest_plugin"]`. The server runs in a background
thread (its own event loop), is session scoped, and is stopped even when tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from auriko_conformance.mocks.app import MockApp, create_app
from auriko_conformance.mocks.config import MockConfig

from auriko_conformance.servers import RunningServer, start_server


class MockServer:
    """A running mock server: its URL plus the journal/control API as Python calls."""

    def __init__(self, app: MockApp, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.url = ""
        self._running: RunningServer | None = None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def provider_url(self, name: str) -> str:
        """Base URL of an instance, e.g. `http://127.0.0.1:PORT/openai`."""
        return self.url + self.app.config.instance(name).prefix

    def journal(
        self, tag: str | None = None, provider: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self.app.state.entries(tag=tag, provider=provider, limit=limit)

    def set_provider(self, name: str, **behaviour: Any) -> dict[str, Any]:
        return self.app.state.set_provider(name, **behaviour)

    def reset(self) -> None:
        self.app.state.reset()

    def start(self) -> None:
        """Serve on a free port: the bound socket goes to uvicorn, so no other process can take the port."""
        self._running = start_server(
            self.app, self.host, log_level="error", lifespan="off", http="httptools", loop="asyncio"
        )
        self.url = self._running.url

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()


def start_mock_server(config: MockConfig | None = None, host: str = "127.0.0.1") -> MockServer:
    """Start a server on a free port (callers must `stop()` it)."""
    server = MockServer(create_app(config), host)
    server.start()
    return server


@pytest.fixture(scope="session")
def mock_server() -> Iterator[MockServer]:
    """The real mock server on a free port for the whole session."""
    server = start_mock_server()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["MockServer", "mock_server", "start_mock_server"]
