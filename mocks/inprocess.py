"""Use the mocks without a socket: an httpx transport, an `AsyncClient`, and a respx router.

httpx's ASGI transport buffers a whole response before returning it, so in-process use suits
non-stream requests and streams that end; the fault scenarios that need a real connection (`timeout`,
`stall_after`, `disconnect_after`, client disconnects) want the real server (`mocks.pytest_plugin`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import respx
from auriko_conformance.mocks.app import MockApp, create_app
from auriko_conformance.mocks.config import MockConfig

DEFAULT_BASE_URL = "http://mocks.test"


def asgi_transport(app: MockApp | None = None) -> httpx.ASGITransport:
    """An httpx transport that hands every request to the mock app."""
    return httpx.ASGITransport(app=app or create_app())


def asgi_client(
    app: MockApp | None = None, base_url: str = DEFAULT_BASE_URL, **kwargs: Any
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose requests go to the mock app (base URL `http://mocks.test`)."""
    return httpx.AsyncClient(transport=asgi_transport(app), base_url=base_url, **kwargs)


@contextmanager
def mock_router(
    app: MockApp | None = None, base_url: str = DEFAULT_BASE_URL, config: MockConfig | None = None
) -> Iterator[respx.MockRouter]:
    """Route plain httpx async calls to `base_url` (e.g. `http://mocks.test/openai/v1/...`) into the app,
    with respx; other hosts are not mocked (respx passes them through unless asserted otherwise)."""
    app = app or create_app(config)
    host = httpx.URL(base_url).host
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        router.route(host=host).mock(side_effect=respx.ASGIHandler(app))
        router.route().pass_through()
        router.app = app  # type: ignore[attr-defined]
        yield router
