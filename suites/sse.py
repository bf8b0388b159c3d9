"""A strict Server-Sent Events reader that keeps what a lenient client would hide.

Client libraries forgive framing mistakes (a missing blank line before the connection closes, a stray
line without a field name), so a gateway can ship them unnoticed until a stricter client breaks. This
reader recovers the events with the project's one SSE reader (`auriko_conformance.sse`, WHATWG rules)
and records every deviation from the framing the contract expects (`data:` lines, events separated by
a blank line) instead of hiding it. Comment lines (`: keep-alive`) are legal and only counted
(decision D-022).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auriko_conformance.sse import decode


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
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        transcript.framing_errors.append(f"stream is not valid UTF-8 at byte {exc.start}")
    errors = transcript.framing_errors
    line = 0  # lines before the block
    for block in decode(body, every_block=True):
        transcript.comments += [comment.lstrip(" ") for comment in block.comments]
        errors += [f"line {line + number}: {note}" for number, note in block.notes]
        if not block.terminated:
            lines = block.text_lines()
            if lines:
                transcript.unterminated = "\n".join(lines)
                errors.append(
                    "stream ended without the blank line that dispatches its last event: "
                    + repr(lines[-1][:80])
                )
            break
        line += block.lines
        if block.data is not None:
            transcript.events.append(
                SSEEvent(
                    index=len(transcript.events),
                    data=block.data,
                    event=block.event,
                    id=block.id,
                    retry=block.retry,
                    data_lines=block.data_lines,
                )
            )
        else:
            lines = block.text_lines()
            if any(not text.startswith(":") for text in lines):
                errors.append(f"line {line}: event without a data field: {lines!r}")
    return transcript
