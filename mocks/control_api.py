"""The HTTP control surface under `/__mock/`: journal, provider behaviour, reset, health.

Kept apart from the provider hot path; every answer is JSON, every error `{"error": {"message",
"param"}}` with a 4xx status. With a control token set (`auriko-conformance mocks --control-token`),
every request here needs it in `X-Mock-Control-Token` (401 otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from auriko_conformance.mocks.errors import MockError

Message = MutableMapping[str, Any]
TOKEN_HEADER = "X-Mock-Control-Token"
_TOKEN_KEY = TOKEN_HEADER.lower().encode()


def _token_matches(scope: MutableMapping[str, Any], token: str) -> bool:
    """The request carries the control token (compared in constant time)."""
    sent = next((value for name, value in scope["headers"] if name == _TOKEN_KEY), b"")
    return hmac.compare_digest(hashlib.sha256(sent).digest(), hashlib.sha256(token.encode()).digest())


async def _read_json(receive: Callable[[], Awaitable[Message]]) -> Any:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    raw = b"".join(parts)
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MockError(400, f"body is not JSON: {exc}") from None


def _entries_json(entries: list[dict[str, Any]]) -> bytes:
    """`{"entries": [...]}`, each entry encoded on its own: one that cannot be encoded shows a marker in
    place of its body instead of making the whole journal a 500 (issue 19)."""
    parts = []
    for entry in entries:
        try:
            parts.append(orjson.dumps(entry))
        except orjson.JSONEncodeError as exc:
            parts.append(orjson.dumps({**entry, "body": {"journal_error": f"body not encodable: {exc}"}}))
    return b'{"entries":[' + b",".join(parts) + b"]}"


async def _reply(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    payload: Any,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await _reply_raw(send, status, orjson.dumps(payload), extra)


async def _reply_raw(
    send: Callable[[Message], Awaitable[None]],
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _limit(query: dict[str, str]) -> int | None:
    if "limit" not in query:
        return None
    try:
        return max(0, int(query["limit"]))
    except ValueError:
        raise MockError(400, "limit must be an integer", param="limit") from None


async def handle_control(
    state: Any,
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Serve one `/__mock/...` request against a `mocks.app.MockState`."""
    path: str = scope["path"].rstrip("/")
    method: str = scope["method"]
    if state.control_token is not None and not _token_matches(scope, state.control_token):
        await _reply(send, 401, {"error": {"message": f"{TOKEN_HEADER} missing or wrong", "param": None}})
        return
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    allow = ""
    try:
        if path == "/__mock/health":
            allow = "GET"
            if method == "GET":
                return await _reply(send, 200, {"ok": True, "providers": list(state.control.providers)})
        elif path == "/__mock/journal":
            allow = "GET, DELETE"
            if method == "GET":
                entries = state.journal.entries(
                    tag=query.get("tag"), provider=query.get("provider"), limit=_limit(query)
                )
                return await _reply_raw(send, 200, _entries_json(entries))
            if method == "DELETE":
                cleared = len(state.journal)
                state.journal.clear()
                return await _reply(send, 200, {"cleared": cleared})
        elif path == "/__mock/reset":
            allow = "POST"
            if method == "POST":
                state.reset()
                return await _reply(send, 200, {"reset": True})
        elif path == "/__mock/providers":
            allow = "GET"
            if method == "GET":
                return await _reply(
                    send, 200, {"providers": {n: p.to_json() for n, p in state.control.providers.items()}}
                )
        elif path.startswith("/__mock/providers/"):
            allow = "GET, PUT, PATCH"
            provider = state.control.get(path[len("/__mock/providers/") :])
            if method == "GET":
                return await _reply(send, 200, provider.to_json())
            if method in ("PUT", "PATCH"):
                changes = await _read_json(receive)
                if not isinstance(changes, dict):
                    raise MockError(400, "body must be a JSON object")
                provider.update(changes, replace=method == "PUT")
                return await _reply(send, 200, provider.to_json())
        else:
            raise MockError(404, f"unknown control path {path}")
        raise MockError(405, f"{method} not allowed on {path}; use {allow}", headers={"allow": allow})
    except MockError as err:
        extra = [(k.encode(), v.encode()) for k, v in err.headers.items()]
        await _reply(send, err.status, {"error": {"message": err.message, "param": err.param}}, extra)
