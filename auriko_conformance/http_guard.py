"""uvicorn's httptools protocol with the two guards it lacks: a size cap and a deadline on request headers.

uvicorn 0.54 with httptools bounds idle keep-alive connections, but not a client that sends its request
line and headers slowly (slow loris: one connection held for ever per few bytes a minute) or endlessly
(one `X-Big: aaaa...` header grew the server by 190 MB in a measurement). This subclass counts the
bytes received while a request's headers are incomplete and arms a timer when a connection opens and
after each response:

- more than `max_header_bytes` before the headers end: a 400 `invalid_request` envelope (with
  `X-Request-ID`, D-026) and the connection is closed;
- headers not complete within `header_timeout_ms`: the connection is closed (there is no request yet to
  answer);
- a request httptools cannot parse (bad request line, control characters in a header, broken chunked
  framing): the same 400 envelope instead of uvicorn's plain-text one;
- an `Upgrade` request: served as plain HTTP/1.1 (`serve` runs uvicorn without WebSockets), or, when it
  carries a body httptools would drop, the same 400 envelope.

- the bytes of a request that are neither headers nor body (chunk-size lines, chunk extensions,
  trailers) beyond `max_header_bytes` plus `CHUNK_FRAMING_BYTES` per chunk: the same 400 and close
  (a 100 MB chunked trailer was read whole, before authentication, and grew the server by 150 MB);
- only the bytes outside a request's body count towards the next request's headers: a keep-alive
  client that writes the end of a 100 KB body and the start of its next request at once is served
  (the whole read used to count as header bytes: 400 and the first request never answered).

The body has its own deadline in the gateway (`limits.body_timeout_ms`, `reference_impl/app.py`). Used
by `auriko-conformance serve` and `auriko-conformance mocks`: both servers' front door, hence this
foundation layer (neither program imports the other).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("auriko_conformance.http_guard")

# Chunked framing allowed per chunk besides `max_header_bytes`: the size line (16 hex digits), its CRLF
# and the chunk's closing CRLF with room to spare; chunk extensions and trailers use the shared allowance.
CHUNK_FRAMING_BYTES = 64


def guarded_protocol(
    *, max_header_bytes: int, header_timeout_ms: int, rejection: Callable[[str], bytes]
) -> type[HttpToolsProtocol]:
    """An `HttpToolsProtocol` subclass enforcing `max_header_bytes` and `header_timeout_ms`.

    `rejection` renders the complete 400 response for a message: each server speaks its own error
    shape (the gateway's envelope, `reference_impl/server.py`; OpenAI's for the mocks, `mocks/server.py`).
    """
    timeout_s = header_timeout_ms / 1000
    max_bytes = max_header_bytes

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _awaiting_headers = False  # from a request's first byte (on_message_begin) to its header end
        _header_bytes = 0
        _in_body = False  # from a request's header end to its end (body, chunk framing, trailers)
        _framing_bytes = 0  # bytes of the current request that were neither its headers nor its body
        _chunks = 0
        _body_in_read = 0  # body bytes the parser passed on during the current data_received

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._body_in_read = 0
            super().data_received(data)  # may end a request, begin another and complete its headers
            if self.transport.is_closing():
                return
            outside_body = len(data) - self._body_in_read
            if self._awaiting_headers:  # no header end after this read's body bytes: all header bytes
                self._header_bytes += outside_body
                if self._header_bytes > max_bytes:
                    self._refuse(f"The request headers exceed {max_bytes} bytes.")
            elif self._in_body:
                self._framing_bytes += outside_body
                if self._framing_bytes > max_bytes + CHUNK_FRAMING_BYTES * self._chunks:
                    self._refuse(f"The request's chunk framing and trailers exceed {max_bytes} bytes.")

        def _refuse(self, message: str) -> None:
            self._awaiting_headers = self._in_body = False
            self._stop_timer()
            self.transport.write(rejection(message))
            self.transport.close()

        def on_body(self, body: bytes) -> None:
            self._body_in_read += len(body)
            super().on_body(body)

        def on_chunk_header(self) -> None:
            self._chunks += 1

        def on_message_complete(self) -> None:
            self._in_body = False
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            self._refuse(f"{msg.rstrip('.')}: not a well-formed HTTP/1.1 request.")

        def _unsupported_upgrade_warning(self) -> None:
            """An `Upgrade` request (h2c from `curl --http2`, a WebSocket: `serve` runs without WebSocket
            support). Without a body it is served as plain HTTP/1.1, the upgrade ignored. With one,
            httptools has stopped at the header end and the body is lost to the app: a 400 envelope
            instead of "not valid JSON". Logged at DEBUG: a client must not be able to flood the log."""
            logger.debug("upgrade request ignored")
            declared = dict(self.headers)
            if declared.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in declared:
                if self.cycle is not None:  # the app sees the client gone, not an empty body
                    self.cycle.disconnected = True
                    self.cycle.message_event.set()
                self._refuse("Upgrade with a request body is not supported: send plain HTTP/1.1.")

        def on_message_begin(self) -> None:
            self._awaiting_headers = True
            self._header_bytes = 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._awaiting_headers = False
            self._in_body = True
            self._framing_bytes = self._chunks = 0
            self._stop_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # the next request's headers get the same allowance (unless a pipelined one is already read)
            if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
                self._await_headers()

        def _await_headers(self) -> None:
            self._stop_timer()
            self._header_timer = self.loop.call_later(timeout_s, self._headers_too_slow)

        def _stop_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:  # armed until on_headers_complete: nothing or too little came
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpToolsProtocol
