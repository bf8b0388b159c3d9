"""The lean upstream HTTP/1.1 client (reference_impl/http1.py) against small asyncio servers on port 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from auriko_conformance.reference_impl.http1 import Headers, Pool, request_head, split_url

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.connections = 0
        self.closed_by_client = 0
        self.requests: list[bytes] = []
        self.url = ""


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    state = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await handler(reader, writer, state.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            state.closed_by_client += 1
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/v1/chat/completions?x=1"
    try:
        yield state
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader, state: Server | None = None) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    if state is not None:
        state.requests.append(head + body)
    return head + body


def json_response(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n".encode()
        + extra
        + b"\r\n"
        + body
    )


def pool(max_connections: int = 8) -> Pool:
    return Pool(max_connections, 4, 30.0)


async def test_keep_alive_reuses_one_connection_and_sends_the_request_verbatim():
    seen: list[bytes] = []

    async def handler(reader, writer, n):
        while True:
            seen.append(await read_request(reader))
            writer.write(json_response(b'{"ok":true}'))
            await writer.drain()

    async with serve(handler) as server:
        client = pool()
        for _ in range(3):
            response = await client.request(
                server.url, {"authorization": "Bearer k"}, b'{"a":1}', connect_s=5, read_s=5
            )
            assert response.status_code == 200
            assert response.content == b'{"ok":true}'
        await client.aclose()
    assert server.connections == 1
    head = seen[0].decode()
    assert head.startswith("POST /v1/chat/completions?x=1 HTTP/1.1\r\n")
    assert "authorization: Bearer k\r\n" in head
    assert "content-length: 7\r\n" in head
    assert seen[0].endswith(b'{"a":1}')


async def test_stream_yields_dechunked_bytes_as_they_arrive():
    release = asyncio.Event()

    async def handler(reader, writer, n):
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        writer.write(b"7\r\ndata: 1\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"7\r\ndata: 2\r\n0\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with serve(handler) as server:
        client = pool()
        response = await client.request(server.url, {}, b"{}", connect_s=5, read_s=5, stream=True)
        assert response.status_code == 200
        assert response.headers.get("Content-Type") == "text/event-stream"
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"data: 1"  # before the rest exists
        release.set()
        rest = [chunk async for chunk in chunks]
        assert b"".join(rest) == b"data: 2"
        await response.aclose()
        await client.aclose()


async def test_closing_an_unfinished_response_closes_the_connection():
    closed = asyncio.Event()

    async def handler(reader, writer, n):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        assert await reader.read() == b""  # the client went away
        closed.set()

    async with serve(handler) as server:
        client = pool()
        response = await client.request(server.url, {}, b"{}", connect_s=5, read_s=5, stream=True)
        await response.aclose()
        await asyncio.wait_for(closed.wait(), 5)
        await client.aclose()


async def test_a_stale_keep_alive_connection_is_retried_once_on_a_fresh_one():
    async def handler(reader, writer, n):
        await read_request(reader)
        writer.write(json_response(b"first" if n == 1 else b"second"))
        await writer.drain()
        if n == 1:
            await read_request(reader)  # the next request arrives, the server drops the connection
            writer.transport.abort()
            return
        await reader.read()

    async with serve(handler) as server:
        client = pool()
        first = await client.request(server.url, {}, b"{}", connect_s=5, read_s=5)
        second = await client.request(server.url, {}, b"{}", connect_s=5, read_s=5)
        await client.aclose()
    assert (first.content, second.content) == (b"first", b"second")
    assert server.connections == 2


async def test_errors_are_httpx_types():
    async def silent(reader, writer, n):
        await read_request(reader)
        await asyncio.sleep(5)

    async def truncated(reader, writer, n):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        await writer.drain()
        writer.transport.abort()

    async with serve(silent) as server:
        client = pool()
        with pytest.raises(httpx.ReadTimeout):
            await client.request(server.url, {}, b"{}", connect_s=5, read_s=0.2)
        await client.aclose()
    async with serve(truncated) as server:
        client = pool()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.request(server.url, {}, b"{}", connect_s=5, read_s=5)
        await client.aclose()
    unused = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = unused.sockets[0].getsockname()[1]
    unused.close()
    await unused.wait_closed()
    client = pool()
    with pytest.raises(httpx.ConnectError):
        await client.request(f"http://127.0.0.1:{port}/x", {}, b"", connect_s=5, read_s=5)
    with pytest.raises(httpx.UnsupportedProtocol):
        await client.request("ftp://127.0.0.1/x", {}, b"", connect_s=5, read_s=5)
    await client.aclose()


async def test_status_headers_and_the_connection_limit():
    active = 0
    peak = 0

    async def handler(reader, writer, n):
        nonlocal active, peak
        while True:
            await read_request(reader)
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.05)
            active -= 1
            writer.write(
                json_response(b"{}", "429 Too Many Requests", b"retry-after: 3\r\nx-a: 1\r\nX-A: 2\r\n")
            )
            await writer.drain()

    async with serve(handler) as server:
        client = Pool(1, 4, 30.0)
        responses = await asyncio.gather(
            *(client.request(server.url, {}, b"{}", connect_s=5, read_s=5) for _ in range(3))
        )
        await client.aclose()
    assert peak == 1  # max_connections=1: one exchange at a time
    assert {r.status_code for r in responses} == {429}
    assert responses[0].headers.get("Retry-After") == "3"
    assert responses[0].headers.get("x-a") == "1, 2"


async def test_cancelling_a_request_frees_its_slot():
    async def handler(reader, writer, n):
        await read_request(reader)
        await asyncio.sleep(5)

    async with serve(handler) as server:
        client = Pool(1, 4, 30.0)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.request(server.url, {}, b"{}", connect_s=5, read_s=None)
        assert not client._slots.locked()
        await client.aclose()


def test_request_head_and_urls():
    origin, head = request_head("https://api.example.com/v1/messages", {"x-api-key": "k"}, 12)
    assert origin == ("https", "api.example.com", 443)
    assert head.startswith(b"POST /v1/messages HTTP/1.1\r\nhost: api.example.com\r\n")
    assert head.endswith(b"x-api-key: k\r\ncontent-length: 12\r\n\r\n")
    assert split_url("http://127.0.0.1:8900/openai/v1/chat/completions")[0] == ("http", "127.0.0.1", 8900)
    assert b"host: 127.0.0.1:8900\r\n" in split_url("http://127.0.0.1:8900/x")[1]
    with pytest.raises(httpx.LocalProtocolError):
        request_head("http://h/x", {"x": "a\r\nInjected: 1"}, 0)
    assert Headers({"retry-after": "1"}).get("Retry-After") == "1"
