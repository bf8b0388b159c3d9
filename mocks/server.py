"""`auriko-conformance mocks`: serve every mock provider from one uvicorn process."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mocks.config import MockConfig, load_config


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mocks until interrupted. Access logs are off: they cost more than a mock reply."""
    import uvicorn

    from mocks.app import create_app

    args = build_parser().parse_args(list(argv) if argv is not None else None)
    config = load_config(args.config) if args.config else MockConfig()
    app = create_app(config)
    print(
        f"auriko mocks on http://{args.host}:{args.port}: "
        + ", ".join(f"{i.name}={i.prefix}" for i in config.instances),
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="on",
        timeout_keep_alive=30,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
