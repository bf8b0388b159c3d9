"""The one SSE decoder (`auriko_conformance/sse.py`, issue 14): the WHATWG rules one by one, bytes cut
anywhere, and a literal transcription of the spec's algorithm as the oracle for random streams."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auriko_conformance.sse import Event, SSEDecoder, aiter_events, decode


def fed(body: bytes, size: int, *, every_block: bool = False, close: bool = True) -> list[Event]:
    decoder = SSEDecoder(every_block=every_block)
    events = [e for i in range(0, len(body), size) for e in decoder.feed(body[i : i + size])]
    return events + decoder.close() if close else events


def fields(events: list[Event]) -> list[tuple[str | None, str | None]]:
    return [(e.event, e.data) for e in events]


# --------------------------------------------------------------------------------------------------
# line ends
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_every_line_end_reads_the_same(end: bytes) -> None:
    body = end.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    for size in (1, 2, 3, 5, len(body)):
        events = fed(body, size)
        assert fields(events) == [("a", "1"), (None, "2\n3")], size
        assert all(e.terminated for e in events)
    # read whole, each event records the line ends that closed it (a CRLF cut by a read after its CR
    # is recorded as far as that read went: see the next tests)
    assert [e.separator for e in decode(body)] == [end * 2, end * 2]


def test_mixed_line_ends_in_one_stream() -> None:
    body = b"data: a\r\n\ndata: b\n\r\ndata: c\r\rdata: d\n\n"
    events = decode(body)
    assert [e.data for e in events] == ["a", "b", "c", "d"]
    assert [e.separator for e in events] == [b"\r\n\n", b"\n\r\n", b"\r\r", b"\n\n"]


def test_a_crlf_cut_between_two_reads_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []  # CR LF: one line end, not an empty line
    assert [e.data for e in decoder.feed(b"\n\r\n")] == ["a\nb"]


def test_a_cr_ending_a_read_waits_for_the_next_byte() -> None:
    """An LF after it would belong to the same line end: raw bytes and separators never depend on
    where the stream was cut."""
    decoder = SSEDecoder(every_block=True)
    assert decoder.feed(b"data: a\r\n\r") == []
    (first,) = decoder.feed(b"\ndata: b\r\r")
    assert (first.data, first.raw, first.separator) == ("a", b"data: a\r\n\r\n", b"\r\n\r\n")
    (second,) = decoder.feed(b"d")  # not an LF: the CR alone ended the blank line
    assert (second.data, second.raw, second.separator) == ("b", b"data: b\r\r", b"\r\r")
    (rest,) = decoder.close()
    assert (rest.data, rest.raw, rest.terminated) == (None, b"d", False)


def test_close_dispatches_an_event_whose_blank_line_ends_the_stream_in_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == []
    (event,) = decoder.close()
    assert (event.data, event.separator, event.terminated) == ("a", b"\r\r", True)


def test_a_big_crlf_body_is_read_in_one_go() -> None:
    body = b"".join(b"data: %d\r\n\r\n" % i for i in range(20_000))
    assert [e.data for e in decode(body)] == [str(i) for i in range(20_000)]
    mixed = body + b"data: x\n\n" + body  # the general search, with its own order of patterns
    assert len(decode(mixed)) == 40_001


# --------------------------------------------------------------------------------------------------
# fields
# --------------------------------------------------------------------------------------------------


def test_data_lines_are_joined_with_lf_and_lose_one_space() -> None:
    (event,) = decode(b"data:a\ndata:  b\ndata\ndata: \n\n")
    assert event.data == "a\n b\n\n"
    assert event.data_lines == 4


def test_an_empty_data_line_is_an_event() -> None:
    assert [e.data for e in decode(b"data:\n\ndata: \n\n")] == ["", ""]


def test_an_event_without_data_is_not_dispatched() -> None:
    body = b"event: lonely\nid: 7\nretry: 10\n\n: keep-alive\n\n\n\ndata: x\n\n"
    (event,) = decode(body)
    assert (event.event, event.data, event.id, event.retry) == (None, "x", "7", None)


def test_comments_are_skipped_and_kept_for_who_asks() -> None:
    body = b": hello\ndata: x\n:  two spaces\n\n"
    (event,) = decode(body)
    assert event.data == "x"
    assert event.comments == ["hello", " two spaces"]


def test_event_names_last_for_one_event() -> None:
    events = decode(b"event: a\ndata: 1\n\ndata: 2\n\nevent:b\nevent: c\ndata: 3\n\nevent\ndata: 4\n\n")
    assert fields(events) == [("a", "1"), (None, "2"), ("c", "3"), ("", "4")]


def test_ids_last_until_changed_and_retry_must_be_digits() -> None:
    body = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0\nretry: 5\ndata: c\n\nid\nretry: 5s\ndata: d\n\n"
    events = decode(body)
    assert [(e.id, e.retry) for e in events] == [("1", None), ("1", None), ("1", 5), ("", None)]


def test_unknown_fields_are_ignored_and_noted() -> None:
    (event,) = decode(b"data: x\nfoo: 1\nbar\n\n")
    assert event.data == "x"
    assert event.notes == [
        (2, "unknown field 'foo'"),
        (3, "no field name separator: 'bar'"),
        (3, "unknown field 'bar'"),
    ]
    assert event.lines == 4


def test_a_leading_bom_is_skipped_once() -> None:
    events = decode(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n")
    assert [e.data for e in events] == ["a", "c"]  # the second BOM is part of a field name
    for end in (b"\n", b"\r\n", b"\r"):  # also after a first event that took a shortcut
        assert [e.data for e in decode(b"data: a" + end * 2 + b"\xef\xbb\xbfdata: b" + end * 2)] == ["a"]
    first, rest = decode(b"\xef\xbb\xbf: hi\n\n\xef\xbb\xbf: no\n", every_block=True)
    assert (first.comments, first.raw, rest.comments) == (["hi"], b"\xef\xbb\xbf: hi\n\n", [])


def test_invalid_utf8_is_replaced() -> None:
    assert [e.data for e in decode(b"data: \xff\xfe\n\n")] == ["\ufffd\ufffd"]


# --------------------------------------------------------------------------------------------------
# the end of the stream, and every block
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tail", [b"data: last", b"data: last\n", b"data: last\r\n", b"data: last\r"])
def test_the_rest_after_the_last_blank_line_comes_at_close(tail: bytes) -> None:
    decoder = SSEDecoder()
    assert [e.data for e in decoder.feed(b"data: a\n\n" + tail)] == ["a"]
    (rest,) = decoder.close()
    assert (rest.data, rest.raw, rest.separator, rest.terminated) == ("last", tail, b"", False)
    assert decoder.close() == []


def test_a_rest_without_data_is_nothing_unless_every_block() -> None:
    assert decode(b"data: a\n\n: bye\n") == decode(b"data: a\n\n")
    rest = decode(b"data: a\n\n: bye\n", every_block=True)[-1]
    assert (rest.data, rest.raw, rest.terminated) == (None, b": bye\n", False)


def test_every_block_keeps_every_byte() -> None:
    body = b'\n: hi\n\nevent: a\ndata: {"x": 1}\n\n\n\nid: 3\n\r\ndata: [DONE]\r\n\r\ndata: tail'
    for size in range(1, len(body) + 1):
        events = fed(body, size, every_block=True)
        assert b"".join(e.raw for e in events) == body, size
        assert [e.data for e in events] == [None, '{"x": 1}', None, None, "[DONE]", "tail"], size
        assert events[0].comments == ["hi"]
        assert events[0].lines == 3
        assert events[-1].text_lines() == ["data: tail"]


def test_the_async_helper_reads_as_bytes_arrive() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"data: a\n", b"\ndata: b\n\nda", b"ta: c"):
            yield part

    async def collect() -> list[str | None]:
        return [event.data async for event in aiter_events(chunks())]

    assert asyncio.run(collect()) == ["a", "b", "c"]


# --------------------------------------------------------------------------------------------------
# the spec's algorithm, transcribed, against the decoder on random streams cut anywhere
# --------------------------------------------------------------------------------------------------


def whatwg(stream: bytes) -> list[tuple[str | None, str, str | None]]:
    """https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation,
    line by line (event type None where the spec says `message`); an unterminated last line is not
    a line, and an event still being built at the end is dropped."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)[:-1]
    out: list[tuple[str | None, str, str | None]] = []
    data, kind, last_id = "", "", None
    for line in lines:
        if line == "":
            if data:
                out.append((kind or None, data.removesuffix("\n"), last_id))
            data, kind = "", ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "data":
            data += value + "\n"
        elif name == "id" and "\0" not in value:
            last_id = value
    return out


PIECES = [b"data:", b"data: ", b"event: e", b"event:", b"id: 1", b"id", b": c", b"x", b" ", b"\xc3\xa9"]
ENDS = [b"\n", b"\r", b"\r\n", b"\n\n", b"\r\n\r\n", b"\r\r"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(ENDS)), max_size=30),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_the_decoder_agrees_with_the_spec(parts: list[tuple[bytes, bytes]], cuts: list[int]) -> None:
    body = b"".join(piece + end for piece, end in parts)
    points = sorted({min(c, len(body)) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    events += [e for e in decoder.close() if e.terminated]
    got = [(e.event or None, e.data, e.id) for e in events]
    assert got == whatwg(body)
    assert [(e.raw, e.separator) for e in events] == [(e.raw, e.separator) for e in decode(body)][
        : len(events)
    ]
    keeper = SSEDecoder(every_block=True)
    kept = [e for chunk in chunks for e in keeper.feed(chunk)] + keeper.close()
    assert b"".join(e.raw for e in kept) == body
