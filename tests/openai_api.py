"""OpenAI's API as it documents itself, as a target: the mocks' OpenAI flavour served at the root.

The mocks speak OpenAI's wire format faithfully (errors, streams without usage unless asked, its own
rate-limit headers) but accept any key; OpenAI refuses every key but the account's with 401
`invalid_api_key`. This stand-in adds that, so `--level core` can be run against exactly what OpenAI's
own API does, with no Auriko extension (D-092).
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.fixed_answer import Asgi

KEY = "sk-openai-conformance"
PREFIX = b"/openai"


def _refusal(token: str) -> bytes:
    """OpenAI's answer to a wrong key (its wording and envelope)."""
    message = (
        f"Incorrect API key provided: {token[:8]}****. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
    return orjson.dumps({"error": error})


def openai_api(mocks: Asgi) -> Asgi:
    """Wrap the mock app: paths under OpenAI's root, and only `KEY` accepted."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await mocks(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        if authorization is not None and authorization != f"Bearer {KEY}".encode():
            while (await receive()).get("more_body"):
                pass
            token = authorization.decode("latin-1").removeprefix("Bearer ").strip()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"req_refused")],
                }
            )
            await send({"type": "http.response.body", "body": _refusal(token)})
            return
        path = "/openai" + scope["path"]
        await mocks({**scope, "path": path, "raw_path": PREFIX + scope.get("raw_path", b"")}, receive, send)

    return app
