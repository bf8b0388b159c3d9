"""`auriko-conformance serve [--config FILE] [--host 127.0.0.1] [--port 8000]`: one uvicorn process.

uvloop and httptools are picked explicitly (they are in uvicorn[standard]): both are measurably faster
than the pure-Python defaults, and the gateway's overhead budget is a millisecond.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from reference_impl.app import create_app
from reference_impl.config import default_config, load_config
from reference_impl.protocol import guarded_protocol


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
        loop="uvloop",
        http=guarded_protocol(config.limits),  # httptools + header size and time limits (D-051)
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
    )
    return 0
