"""`auriko-conformance serve [--config FILE] [--host 127.0.0.1] [--port 8000]`: one uvicorn process.

uvloop and httptools are picked explicitly (they are in uvicorn[standard]): both are measurably faster
than the pure-Python defaults, and the gateway's overhead budget is a millisecond.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import uvicorn
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import GatewayConfig, default_config, load_config
from auriko_conformance.reference_impl.errors import GatewayError

from auriko_conformance.http_guard import guarded_protocol


def _rejection(message: str) -> bytes:
    """A complete 400 `invalid_request` response that closes the connection (no ASGI cycle exists)."""
    body = GatewayError("invalid_request", message).body()
    head = (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n"
        b"content-length: %d\r\nx-request-id: req_%s\r\nx-error-type: invalid_request_error\r\n"
        b"x-error-retryable: false\r\nconnection: close\r\n\r\n"
    ) % (len(body), os.urandom(12).hex().encode())
    return head + body


def uvicorn_options(config: GatewayConfig) -> dict[str, Any]:
    """How the gateway is served (also by bench/soak.py): uvloop, httptools with the header guards (D-051).

    Idle keep-alive connections are closed by the guard after `header_timeout_ms` (10 s): longer than the
    5 s idle expiry of httpx-based clients (the OpenAI SDK), so a client never sends a request on a
    connection the gateway is just closing. uvicorn's own keep-alive timer (5 s by default, equal to the
    clients') lost 2-5 requests per 10,000 in the soak; it is set beyond the guard's so the guard decides.
    """
    return {
        "loop": "uvloop",
        "http": guarded_protocol(
            max_header_bytes=config.limits.max_header_bytes,
            header_timeout_ms=config.limits.header_timeout_ms,
            rejection=_rejection,
        ),
        "timeout_keep_alive": config.limits.header_timeout_ms / 1000 + 1,
        "access_log": False,
        "lifespan": "on",
        # no WebSockets: an upgrade on any path was a plain-text 500, and the WebSocket library logged
        # the request headers, `Authorization` included, at DEBUG (issue 19)
        "ws": "none",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance serve", description="Run the reference gateway."
    )
    parser.add_argument("--config", help="YAML config (default: embedded, providers at the local mocks)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--mock-base-url", help="move every provider to this mock host, e.g. http://127.0.0.1:8900"
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(list(argv) if argv is not None else None)
    config = load_config(args.config) if args.config else default_config(args.mock_base_url)
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        **uvicorn_options(config),
    )
    return 0
