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


def data_event(payload: object) -> bytes:
    """`data: <json>` and a blank line (OpenAI-compatible and Gemini `alt=sse`)."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def named_event(name: str, payload: object) -> bytes:
    """`event: <name>` + `data: <json>` (Anthropic)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
