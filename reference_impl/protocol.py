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
  framing): the same 400 envelope instead of uvicorn's plain-text one.

The body has its own deadline in the app (`limits.body_timeout_ms`, `reference_impl/app.py`). Used by
`auriko-conformance serve`; pass `http=guarded_protocol(limits)` to any other uvicorn runner.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from reference_impl.config import Limits
from reference_impl.errors import GatewayError


def _rejection(message: str) -> bytes:
    """A complete 400 `invalid_request` response that closes the connection (no ASGI cycle exists)."""
    body = GatewayError("invalid_request", message).body()
    head = (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n"
        b"content-length: %d\r\nx-request-id: req_%s\r\nx-error-type: invalid_request_error\r\n"
        b"x-error-retryable: false\r\nconnection: close\r\n\r\n"
    ) % (len(body), os.urandom(12).hex().encode())
    return head + body


def guarded_protocol(limits: Limits) -> type[HttpToolsProtocol]:
    """An `HttpToolsProtocol` subclass enforcing `limits.max_header_bytes` and `limits.header_timeout_ms`."""
    timeout_s = limits.header_timeout_ms / 1000
    max_bytes = limits.max_header_bytes

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _awaiting_headers = False  # from a request's first byte (on_message_begin) to its header end
        _header_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)  # may begin a request and may complete its headers
            if self._awaiting_headers and not self.transport.is_closing():
                self._header_bytes += len(data)  # no header end in this chunk: all of it is header bytes
                if self._header_bytes > max_bytes:
                    self._awaiting_headers = False
                    self._stop_timer()
                    self.transport.write(_rejection(f"The request headers exceed {max_bytes} bytes."))
                    self.transport.close()

        def send_400_response(self, msg: str) -> None:
            self._stop_timer()
            self.transport.write(_rejection(f"{msg.rstrip('.')}: not a well-formed HTTP/1.1 request."))
            self.transport.close()

        def on_message_begin(self) -> None:
            self._awaiting_headers = True
            self._header_bytes = 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._awaiting_headers = False
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
