"""Server-sent-event framing and the `Frame` unit streams are made of.

A flavour turns a reply into frames; `Frame.tokens` is how many tokens of generation time pass before
the frame is sent, so pacing stays in one place (`mocks.pacing`) and the wire format in the flavour.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Frame:
    """Bytes to send after `tokens` tokens of generation time. Empty `data` = a pure delay (hidden
    reasoning); `counts` is False for frames that are not events (e.g. a JSON-array bracket)."""

    data: bytes
    tokens: int = 0
    counts: bool = True


def data_event(payload: object, end: bytes = b"\n\n") -> bytes:
    """`data: <json>` and a blank line (OpenAI-compatible; Gemini `alt=sse` ends events with CRLF CRLF)."""
    return b"data: " + orjson.dumps(payload) + end


# Gemini without `alt=sse`: one JSON array, each element pretty-printed (two-space indent), elements
# separated by LF "," CRLF and the array closed by LF "]" -- the bytes Google sends, which gateways that
# split on the separator instead of parsing the array depend on.
ARRAY_OPEN = b"["
ARRAY_SEPARATOR = b"\n,\r\n"
ARRAY_CLOSE = b"\n]"


def array_element(payload: object, first: bool) -> bytes:
    """One element of a Gemini JSON-array stream, with the bytes that come before it."""
    return (ARRAY_OPEN if first else ARRAY_SEPARATOR) + orjson.dumps(payload, option=orjson.OPT_INDENT_2)


# Anthropic pads each `data:` payload with 0-15 spaces before its closing brace, and writes `ping` with a
# space after the colon (both recorded streams, D-165); a fixed cycle of pads keeps the mocks deterministic.
ANTHROPIC_PADS = (15, 13, 0, 9, 4, 11, 2, 7, 14, 1, 10, 5, 12, 3, 8, 6)
PING_EVENT = b'event: ping\ndata: {"type": "ping"}\n\n'
_CLOSERS = tuple(b" " * pad + b"}\n\n" for pad in range(max(ANTHROPIC_PADS) + 1))  # built once


def named_event(name: str, payload: object, pad: int = 0) -> bytes:
    """`event: <name>` + `data: <json>` (Anthropic), `pad` spaces before the payload's closing brace."""
    data = orjson.dumps(payload)
    return b"event: " + name.encode() + b"\ndata: " + data[:-1] + _CLOSERS[pad]
