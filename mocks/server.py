"""`auriko-conformance mocks`: serve every mock provider from one uvicorn process."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import orjson
from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.config import MockConfig, load_config

from auriko_conformance.http_guard import guarded_protocol

CONTROL_TOKEN_ENV = "AURIKO_MOCK_CONTROL_TOKEN"
# Header guards (shared with the gateway, auriko_conformance/http_guard.py): a connection that trickles
# its headers is closed after 10 s, headers over 64 KiB get a 400 (before: it stayed open for ever).
MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT_MS = 10_000


def _rejection(message: str) -> bytes:
    """The 400 for a request refused before its path is known (no flavour to shape it): OpenAI's shape."""
    body = orjson.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}})
    head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    return head % len(body) + b"connection: close\r\n\r\n" + body


def uvicorn_options(
    max_header_bytes: int = MAX_HEADER_BYTES, header_timeout_ms: int = HEADER_TIMEOUT_MS
) -> dict[str, Any]:
    """How `auriko-conformance mocks` serves: uvloop, httptools with the header guards, no access log."""
    return {
        "access_log": False,
        "http": guarded_protocol(
            max_header_bytes=max_header_bytes, header_timeout_ms=header_timeout_ms, rejection=_rejection
        ),
        "loop": "uvloop",
        "lifespan": "on",
        "ws": "none",
        "timeout_keep_alive": 30,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance mocks",
        description="Mock OpenAI, Anthropic, Gemini, DeepSeek and vLLM servers.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--config", help="YAML file with provider instances (see mocks/README.md)")
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug", "trace"]
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_ENV),
        help=f"require this token (header X-Mock-Control-Token) on /__mock/* (default: ${CONTROL_TOKEN_ENV})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mocks until interrupted. Access logs are off: they cost more than a mock reply."""
    import uvicorn

    args = build_parser().parse_args(list(argv) if argv is not None else None)
    config = load_config(args.config) if args.config else MockConfig()
    app = create_app(config)
    app.state.control_token = args.control_token or None
    print(
        f"auriko mocks on http://{args.host}:{args.port}: "
        + ", ".join(f"{i.name}={i.prefix}" for i in config.instances),
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, **uvicorn_options())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
