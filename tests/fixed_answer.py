"""A stand-in gateway that gives every request the same answer: the broken target fuzz tests run against."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def fixed_answer(status: int, content_type: bytes, body: bytes) -> Asgi:
    """An ASGI app that reads each request whole and answers `status` with `body`, whatever was asked."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]}
        )
        await send({"type": "http.response.body", "body": body})

    return app
