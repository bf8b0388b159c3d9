"""A strict Server-Sent Events reader that keeps what a lenient client would hide.

Client libraries forgive framing mistakes (a missing blank line before the connection closes, a stray
line without a field name), so a gateway can ship them unnoticed until a stricter client breaks. This
reader follows the WHATWG event-stream grammar to recover the events, and records every deviation
from the framing the contract expects (`data:` lines, events separated by a blank line) instead of
hiding it. Comment lines (`: keep-alive`) are legal and only counted (decision D-022).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KNOWN_FIELDS = frozenset({"data", "event", "id", "retry"})


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. `data` joins multiple `data:` lines with a newline, as the spec says."""

    index: int
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    data_lines: int = 1


@dataclass(slots=True)
class SSETranscript:
    events: list[SSEEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    framing_errors: list[str] = field(default_factory=list)
    #: the last block when the body ended without the blank line that dispatches it
    unterminated: str | None = None

    @property
    def data(self) -> list[str]:
        return [event.data for event in self.events]


def parse_sse(body: bytes) -> SSETranscript:
    """Parse a whole `text/event-stream` body.

    An event is dispatched only by a blank line; a trailing block without one is NOT an event (a real
    browser drops it too) and is reported in `unterminated`, because a gateway that ends its stream
    that way loses its last event for strict clients.
    """
    transcript = SSETranscript()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        transcript.framing_errors.append(f"stream is not valid UTF-8 at byte {exc.start}")
        text = body.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]

    lines = _LINE_BREAK.split(text)
    # A body that ends with a line break yields a final empty string: not a line of its own.
    if lines and lines[-1] == "":
        lines.pop()

    data_lines: list[str] = []
    event_name: str | None = None
    event_id: str | None = None
    retry: int | None = None
    block: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line == "":
            if data_lines:
                transcript.events.append(
                    SSEEvent(
                        index=len(transcript.events),
                        data="\n".join(data_lines),
                        event=event_name,
                        id=event_id,
                        retry=retry,
                        data_lines=len(data_lines),
                    )
                )
            elif block and any(not b.startswith(":") for b in block):
                transcript.framing_errors.append(f"line {number}: event without a data field: {block!r}")
            data_lines, event_name, retry, block = [], None, None, []
            continue
        block.append(line)
        if line.startswith(":"):
            transcript.comments.append(line[1:].lstrip(" "))
            continue
        name, sep, value = line.partition(":")
        if not sep:
            transcript.framing_errors.append(f"line {number}: no field name separator: {line[:80]!r}")
        value = value.removeprefix(" ")
        if name == "data":
            data_lines.append(value)
        elif name == "event":
            event_name = value
        elif name == "id":
            event_id = value
        elif name == "retry":
            retry = int(value) if value.isdigit() else None
        elif name not in _KNOWN_FIELDS:
            transcript.framing_errors.append(f"line {number}: unknown field {name!r}")

    if block:
        transcript.unterminated = "\n".join(block)
        transcript.framing_errors.append(
            "stream ended without the blank line that dispatches its last event: " + repr(block[-1][:80])
        )
    return transcript
