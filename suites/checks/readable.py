"""Answers the client cannot read for what they are: one rule's finding, every other rule blocked by it.

Most of D-146 works place by place: a rule that reads a value another rule owns leaves that value to it.
Some answers break every place at once, because the client cannot even tell what they are: a stream
labelled JSON, stream events that run together, an error sent with HTTP 200 (the client takes it for an
answer), an error body without its envelope (the client finds no `error` to read). Every rule that reads
such an exchange finds it empty or wrong; the rule that states how the answer must be framed is the one
finding, and `Judge.settle` leaves the other rules' findings on that exchange to it (when it failed
there), so they read blocked.
"""

from __future__ import annotations

from auriko_conformance.suites.checks import error_under_200
from auriko_conformance.suites.checks.stream import framing_broken
from auriko_conformance.suites.exchange import Exchange, ItemKind

#: rules that read only an answer's headers, which stay readable whatever its body is: their findings
#: are never left to the body's reader
HEADER_RULES = frozenset({"ERR-004", "ERR-005", "ERR-012"})


def reads_headers_only(requirement: str) -> bool:
    return requirement.startswith("HDR-") or requirement in HEADER_RULES


#: what a reader can take out of a stream: anything else is no event it could use
_READABLE = frozenset({ItemKind.CHUNK, ItemKind.USAGE, ItemKind.ERROR, ItemKind.DONE})


def unreadable_answer(exchange: Exchange) -> tuple[str, ...]:
    """The rules whose failure makes `exchange` unreadable for what it is, or () when it can be read:

    - an error under HTTP 200: ERR-003 (a JSON body, also where a stream was asked for), STREAM-017 (a
      stream of error events);
    - a JSON error body without the `{"error": ...}` envelope: SCHEMA-006;
    - a stream labelled JSON: SCHEMA-009; events that run together so not one can be read: STREAM-001.
    """
    request = exchange.request_body if isinstance(exchange.request_body, dict) else {}
    streaming = request.get("stream") is True
    body = exchange.json
    if exchange.status >= 400:
        return ("SCHEMA-006",) if isinstance(body, dict) and not isinstance(body.get("error"), dict) else ()
    if exchange.status != 200:
        return ()
    if error_under_200(exchange):
        return ("STREAM-017",) if exchange.is_stream else ("ERR-003",)
    if not streaming:
        return ()
    if not exchange.is_stream:
        return ("SCHEMA-009",)
    if framing_broken(exchange) and not any(item.kind in _READABLE for item in exchange.stream.items):
        return ("STREAM-001",)
    return ()
