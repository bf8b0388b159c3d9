"""The embedded target: the mock providers and the reference gateway on free ports, assembled once.

`run` and `fuzz` without `--target-url`, the mutation harness, the benchmarks and the project's tests
all need the same thing: the mocks, the reference gateway pointed at them, served with the settings
`auriko-conformance serve` uses. Assembled in three places, the copies drifted (the mutant runs served
the gateway with other settings). Here it is assembled once; what differs between callers is data:
an optional hop in front of the gateway or between it and the mocks (the mutation harness's fault
proxies), where the servers log, and whether they run in this process or a child.

The servers' own log lines (an aborted connection, an ASGI app that ended a response early when a
test cut it on purpose) are evidence for whoever debugs the reference, not news for someone reading
a conformance run: with `log_file` they go there, and the runner names the file at the end.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auriko_conformance.mocks.app import create_app as create_mocks
from auriko_conformance.reference_impl.app import create_app as create_gateway
from auriko_conformance.reference_impl.config import TEST_API_KEY, default_config
from auriko_conformance.reference_impl.server import uvicorn_options
from auriko_conformance.servers import RunningServer, ask_to_exit, serving

#: what runs against the embedded reference are called in reports (its ports change from run to run)
EMBEDDED_LABEL = "embedded reference"
#: the servers' log file in a report directory (`run` and `fuzz` name it at the end)
SERVER_LOG = "servers.log"
#: loggers of the servers (uvicorn's and ours) that a log file takes over
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "mocks", "reference_impl")

#: A hop: given the URL of the server it sits in front of, the ASGI app to serve in between.
Hop = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class EmbeddedTarget:
    #: what clients talk to: the gateway, or the front hop in front of it
    url: str
    #: the mock providers (their journal and control API), never a hop
    mock_url: str
    #: the reference gateway itself
    gateway_url: str
    api_key: str = TEST_API_KEY


def log_servers_to(path: Path) -> logging.Handler:
    """Send the servers' log lines to `path` instead of the console; returns the handler."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
    return handler


def gateway_server(mock_url: str) -> tuple[Any, dict[str, Any]]:
    """The reference gateway pointed at the mocks, and how it is served (as `auriko-conformance serve`
    serves it): the one recipe for the embedded target here and the benchmarks' gateway process."""
    config = default_config(mock_base_url=mock_url)
    return create_gateway(config), uvicorn_options(config)


@contextlib.contextmanager
def embedded_target(
    *, front: Hop | None = None, back: Hop | None = None, log_file: Path | None = None
) -> Iterator[EmbeddedTarget]:
    """Serve the mocks and the reference gateway (with the optional hops) until the block ends.

    `back` sits between the gateway and the mocks, `front` between the client and the gateway. Every
    server stops when the block ends, also when it raises.
    """
    # With a log file, uvicorn must not install its own console handlers when it starts.
    quiet: dict[str, Any] = {"log_config": None} if log_file else {}
    handler = log_servers_to(log_file) if log_file else None
    try:
        with contextlib.ExitStack() as stack:
            servers: list[RunningServer] = []

            def serve(app: Any, **options: Any) -> RunningServer:
                servers.append(stack.enter_context(serving(app, **{**options, **quiet})))
                return servers[-1]

            mocks = serve(create_mocks())
            upstream = serve(back(mocks.url)).url if back else mocks.url
            app, options = gateway_server(upstream)
            gateway = serve(app, **options)
            url = serve(front(gateway.url)).url if front else gateway.url
            # registered last, so it runs first: every server winds down at once, not one after another
            stack.callback(ask_to_exit, servers)
            yield EmbeddedTarget(url=url, mock_url=mocks.url, gateway_url=gateway.url)
    finally:
        if handler is not None:
            handler.close()


# --------------------------------------------------------------------------------------------------
# In a child process (the fuzzer runs schemathesis in this one, and must not share its GIL)
# --------------------------------------------------------------------------------------------------


def _serve_until_stdin_closes(log_file: str | None) -> None:
    with embedded_target(log_file=Path(log_file) if log_file else None) as target:
        print(target.url, target.mock_url, flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def embedded_target_process(
    *, log_file: Path | None = None, startup_timeout: float = 60.0
) -> Iterator[EmbeddedTarget]:
    """`embedded_target` in a child process, stopped when its stdin closes at the end of the block."""
    argv = [sys.executable, "-m", "auriko_conformance.embedded"]
    if log_file is not None:
        argv.append(str(log_file))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + startup_timeout
        line = ""
        while not line and time.monotonic() < deadline and child.poll() is None:
            line = child.stdout.readline().strip()
        if not line:
            raise RuntimeError("the embedded reference did not start")
        url, mock_url = line.split()
        yield EmbeddedTarget(url=url, mock_url=mock_url, gateway_url=url)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    _serve_until_stdin_closes(sys.argv[1] if len(sys.argv) > 1 else None)
