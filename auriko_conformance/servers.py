"""Run an ASGI app on a real socket in a background thread, on a free port, and always stop it.

The suites need real HTTP servers (the gateway must make real connections to the mocks, and a third
party gateway can only reach a real port), but tests must never rely on fixed ports or leave servers
behind. Binding the socket ourselves with port 0 and handing the bound socket to the server (a thread's
uvicorn, or a child process through `pass_fds`) gives a free port with no race: the common "bind,
read the port, close, let the server bind it again" leaves a window in which another process takes it.
The context manager stops the server even when the code inside raises.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn


def listening_socket(host: str = "127.0.0.1", port: int = 0, backlog: int = 1024) -> socket.socket:
    """A socket bound (port 0: to a free port) and listening, inheritable by a child process.

    Give it to the server that will use it (`start_server` does; a child gets it with `pass_fds` and
    serves its file descriptor) instead of its port number: the port stays ours throughout.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def unused_port(host: str = "127.0.0.1") -> int:
    """A port free at this moment, for a program that binds its own socket and cannot be handed one
    (LiteLLM's proxy, Portkey's gateway). Between this call and the program's bind another process can
    take the port: such a program's start-up retries on "address already in use". Servers of our own
    get `listening_socket()` instead, which has no such window."""
    with listening_socket(host, backlog=1) as sock:
        return int(sock.getsockname()[1])


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@dataclass(slots=True)
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)


def ask_to_exit(servers: list[RunningServer]) -> None:
    """Tell every server to stop before waiting for any: a set of servers then winds down in the time of
    the slowest, not of all of them in turn."""
    for running in servers:
        running.server.should_exit = True


def start_server(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 15.0, **options: Any
) -> RunningServer:
    """Serve `app` on a free port; `options` override the `uvicorn.Config` defaults below (e.g. `http=`)."""
    sock = listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    defaults: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "auto",
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 2,
    }
    config = uvicorn.Config(app, **{**defaults, **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn:{bound_port}"
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"server for {app!r} did not start on {host}:{bound_port}")
        time.sleep(0.01)
    return RunningServer(url=f"http://{host}:{bound_port}", server=server, thread=thread)


@contextlib.contextmanager
def serving(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Iterator[RunningServer]:
    running = start_server(app, host, port, **options)
    try:
        yield running
    finally:
        running.stop()
