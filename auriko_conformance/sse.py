"""The one Server-Sent Events reader (issue 14): bytes in, events out, as the bytes arrive.

Every part of the project reads `text/event-stream` bodies: the gateway reads its providers' native
streams on its hot path, the mutation proxy rewrites streams event by event, the fidelity harness
compares recorded framing, the conformance suite judges a gateway's framing and the load test counts
tokens. They used to parse SSE five ways, each forgiving different mistakes; a stream that one of them
read and another did not was a bug in the tools, not in the gateway. This module is the foundation
layer's reader, so it imports nothing from the project.

It follows the WHATWG event-stream rules: a line ends in CRLF, LF or CR (a CRLF split across two
reads is still one line end, so an event whose blank line ends in CR at the end of a read waits for the
next byte or `close()`: only a stream of lone CRs would notice); an empty line dispatches the event;
`data:` lines are joined with LF; one space after the colon is removed; `event`, `id` (kept from one
event to the next, as the spec says) and `retry` are read; a line starting with `:` is a comment; a
line without a colon is a field name with an empty value; other field names are ignored; a leading
byte-order mark is skipped. An event without a `data` line is not dispatched.

Two choices are the caller's, because the callers need different things:

- `every_block=True` also returns the blocks that dispatch nothing (comment-only keep-alives, runs of
  blank lines, data-less events), so the `raw` bytes of everything returned add up to the input byte for
  byte (the proxy passes untouched events on as they came; the strict reader reports data-less events);
- `close()` returns what the stream left after its last blank line as an event whose `separator` is
  empty. A browser drops it; the gateway and the proxy keep it, the strict reader reports it, and the
  load test never calls `close()`.

Speed matters (the gateway reads every upstream byte through here): when all of a read's lines end
the same way (LF, or CRLF) it is cut into events by one `bytes.split`, otherwise searched with
`bytes.find`; never byte by byte in Python. A one-line `data: ` event skips the field loop, and what
only a strict reader needs is worked out from `raw` when it asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

_BOM = b"\xef\xbb\xbf"
#: where one line end meets another: LF LF, LF CR (also CRLF CR...), CR CR (a lone CR, then a CR)
_BLANK_LINE = (b"\n\n", b"\n\r", b"\r\r")
_FIELDS = frozenset({b"data", b"event", b"id", b"retry"})


class Event:
    """One block of an event stream.

    `data` is the joined `data:` lines, None for a block that dispatches nothing (only returned with
    `every_block`). `raw` is the block's exact bytes, the blank line that ends it included; `separator`
    is the end of its last line plus that blank line (`b"\\n\\n"`, `b"\\r\\n\\r\\n"`, ...), empty for the
    unterminated rest `close()` returns. `id` is the last event id seen so far (the spec keeps it from
    one event to the next), `retry` this block's valid `retry` field.

    What only a strict reader asks about (line count, comments, odd lines) is worked out from `raw`
    when asked, so that the gateway's hot path does not pay for it.
    """

    __slots__ = ("data", "event", "id", "raw", "retry", "separator")

    def __init__(
        self,
        data: str | None,
        event: str | None,
        id: str | None,
        retry: int | None,
        raw: bytes,
        separator: bytes,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.raw = raw
        self.separator = separator

    @property
    def terminated(self) -> bool:
        """Dispatched by a blank line (False only for the rest of a stream that ended mid-event)."""
        return bool(self.separator)

    @property
    def data_lines(self) -> int:
        """How many `data` lines made `data` (a line cannot hold a line end, so each LF joins two)."""
        return 0 if self.data is None else self.data.count("\n") + 1

    @property
    def lines(self) -> int:
        """The block's lines, the blank one that ends it included (to number the lines of a body)."""
        return len(self.raw.splitlines())

    @property
    def comments(self) -> list[str]:
        """The text of the block's comment lines (one space after the colon removed)."""
        return [_text(_value(line[1:])) for line in self._lines() if line[:1] == b":"]

    @property
    def notes(self) -> list[tuple[int, str]]:
        """(line within the block from 1, what is odd about it) for each line the spec tolerates but a
        strict reader reports: no colon (the whole line is a field name), or an unknown field name."""
        found = []
        for number, line in enumerate(self._lines(), 1):
            if not line or line[:1] == b":":
                continue
            name, colon, _ = line.partition(b":")
            if not colon:
                found.append((number, f"no field name separator: {_text(line)[:80]!r}"))
            if name not in _FIELDS:
                found.append((number, f"unknown field {_text(name)!r}"))
        return found

    def text_lines(self) -> list[str]:
        """The block's non-empty lines as text, for messages about a block."""
        return [_text(line) for line in self._lines() if line]

    def _lines(self) -> list[bytes]:
        return self.raw.splitlines()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in Event.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return f"Event(event={self.event!r}, data={self.data!r}, raw={self.raw!r})"


class _FirstEvent(Event):
    """The stream's first block when it starts with a byte-order mark, which `raw` keeps (the bytes
    add up) and its lines do not (a BOM anywhere else is part of a line)."""

    __slots__ = ()

    def _lines(self) -> list[bytes]:
        return self.raw[len(_BOM) :].splitlines()


def _value(value: bytes) -> bytes:
    return value[1:] if value[:1] == b" " else value


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class SSEDecoder:
    """Cuts a byte stream into `Event`s; feed it the bytes as they come, then `close()` it once."""

    __slots__ = ("_buffer", "_every", "_last_id", "_lead", "_started")

    def __init__(self, *, every_block: bool = False) -> None:
        self._every = every_block
        self._buffer = b""
        self._started = False  # the first block was cut (it alone may start with a BOM)
        self._last_id: str | None = None
        self._lead = _BLANK_LINE[0]

    def feed(self, chunk: bytes) -> list[Event]:
        """The events that `chunk` completes, in order."""
        buffer = self._buffer + chunk if self._buffer else chunk
        # One C-level split when every line ends the same way (LF everywhere, or CRLF everywhere with
        # no CRLF cut in two); the general search otherwise.
        if b"\r" in buffer:
            crs = buffer.count(b"\r")
            if buffer[-1:] == b"\r" or crs != buffer.count(b"\r\n") or crs != buffer.count(b"\n"):
                events: list[Event] = []
                pos = self._search(buffer, events, final=False)
                self._buffer = buffer[pos:] if pos else buffer
                return events
            separator, line_end = b"\r\n\r\n", b"\r\n"
        else:
            separator, line_end = b"\n\n", b"\n"
        blocks = buffer.split(separator)
        self._buffer = blocks.pop()
        events = []
        started = self._started  # the first block goes the long way: it may start with a BOM
        for body in blocks:
            if started and body[:6] == b"data: " and b"\n" not in body:
                # the usual event, one `data: ` line: no need for the general field loop
                events.append(
                    Event(
                        body[6:].decode("utf-8", "replace"),
                        None,
                        self._last_id,
                        None,
                        body + separator,
                        separator,
                    )
                )
            else:
                event = self._block(body + separator, body.split(line_end), separator)
                started = True
                if event is not None:
                    events.append(event)
        return events

    def close(self) -> list[Event]:
        """The events still in the buffer: one whose blank line ends in a CR at the very end (no LF can
        follow now), then what the stream left after its last blank line, as one unterminated event."""
        rest, self._buffer = self._buffer, b""
        events: list[Event] = []
        rest = rest[self._search(rest, events, final=True) :]
        if rest:
            body = (
                rest[:-2] if rest.endswith(b"\r\n") else rest[:-1] if rest.endswith((b"\n", b"\r")) else rest
            )
            lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            event = self._block(rest, lines, b"")
            if event is not None:
                events.append(event)
        return events

    def _search(self, buffer: bytes, events: list[Event], *, final: bool) -> int:
        """The general search, for reads whose lines do not all end the same way: a blank line starts
        where one line end meets another, at the first `\\n\\n`, `\\n\\r` or `\\r\\r`. A blank line
        ending in a CR at the end of the buffer waits for the next byte (unless `final`): an LF there
        would belong to it, and `raw` and `separator` must not depend on where the stream was cut.
        Returns where the unread rest starts."""
        pos = 0
        size = len(buffer)
        find = buffer.find
        while pos < size:
            # the pattern that ended the last event first: in a CRLF stream `\n\n` never occurs, and
            # searching for it first would scan the whole rest of a big body once per event
            lead = first_choice = self._lead
            hit = find(lead, pos)
            limit = size if hit < 0 else hit + 1
            for pattern in _BLANK_LINE:
                if pattern is not first_choice:
                    other = find(pattern, pos, limit)
                    if other >= 0:
                        hit, limit, lead = other, other + 1, pattern
            if hit < 0:
                break
            end = hit + 2
            if buffer[hit + 1] == 13:  # the blank line ends in CR, or CRLF
                if end < size:
                    end += buffer[end] == 10
                elif not final:
                    break
            self._lead = lead
            # the last line's end starts at `hit`, or one before for a CRLF
            first = hit - 1 if buffer[hit] == 10 and hit > pos and buffer[hit - 1] == 13 else hit
            body = buffer[pos:first]
            if self._started and body[:6] == b"data: " and b"\n" not in body and b"\r" not in body:
                events.append(
                    Event(_text(body[6:]), None, self._last_id, None, buffer[pos:end], buffer[first:end])
                )
            else:
                lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
                event = self._block(buffer[pos:end], lines, buffer[first:end])
                if event is not None:
                    events.append(event)
            pos = end
        return pos

    def _block(self, raw: bytes, lines: list[bytes], separator: bytes) -> Event | None:
        """One block's fields. `lines` are its lines without line ends (empty ones only lead)."""
        kind = Event
        if not self._started:
            self._started = True
            if lines[0].startswith(_BOM):
                lines[0] = lines[0][len(_BOM) :]
                kind = _FirstEvent
        data: list[bytes] = []
        event: str | None = None
        retry: int | None = None
        for line in lines:
            if line[:5] == b"data:":
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
            elif line[:6] == b"event:":
                value = line[6:]
                event = (value[1:] if value[:1] == b" " else value).decode("utf-8", "replace")
            elif line and line[0] != 58:  # not a comment (`:`)
                name, _, value = line.partition(b":")
                value = _value(value)
                if name == b"data":
                    data.append(value)
                elif name == b"event":
                    event = _text(value)
                elif name == b"id":
                    if b"\0" not in value:
                        self._last_id = _text(value)
                elif name == b"retry" and value.isdigit():
                    retry = int(value)
        if not data:
            return kind(None, event, self._last_id, retry, raw, separator) if self._every else None
        text = (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")
        return kind(text, event, self._last_id, retry, raw, separator)


def decode(body: bytes, *, every_block: bool = False) -> list[Event]:
    """Every event of a whole body, the unterminated rest included (see `Event.terminated`)."""
    decoder = SSEDecoder(every_block=every_block)
    return decoder.feed(body) + decoder.close()


async def aiter_events(chunks: AsyncIterable[bytes], *, every_block: bool = False) -> AsyncIterator[Event]:
    """The events of a byte stream as its bytes arrive, then the unterminated rest (if any)."""
    decoder = SSEDecoder(every_block=every_block)
    feed = decoder.feed
    async for chunk in chunks:
        for event in feed(chunk):
            yield event
    for event in decoder.close():
        yield event
