"""pytest plugin: a `mock_server` fixture running the real mock server on a free port.

Load with `-p mocks.pytest_plugin` or `pytest_plugins = ["mocks.pytest_plugin"]`. The server runs in
a background thread (its own event loop), is session scoped, and is stopped even when tests fail.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mocks.app import MockApp, create_app
from mocks.config import MockConfig


class MockServer:
    """A running mock server: its URL plus the journal/control API as Python calls."""

    def __init__(self, app: MockApp, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self._server: Any = None
        self._thread: threading.Thread | None = None

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
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="error",
            access_log=False,
            lifespan="off",
            http="httptools",
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mock-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._server.started:
                return
            if not self._thread.is_alive():
                break
            time.sleep(0.01)
        raise RuntimeError("mock server did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_mock_server(config: MockConfig | None = None, host: str = "127.0.0.1") -> MockServer:
    """Start a server on a free port (callers must `stop()` it)."""
    server = MockServer(create_app(config), host, free_port(host))
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


__all__ = ["MockServer", "free_port", "mock_server", "start_mock_server"]
