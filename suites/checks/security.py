"""AUTH-006, STREAM-022, REQ-028: the reference's security rules (D-050, D-048, D-051) judged on any target.

The reference's own tests hold it to these rules; a gateway under test was never asked. Here the suite
plants values where an attacker would (transport options in `extensions`, a stalled upstream stream, input
built to crash or to be echoed) and reads what came out: the mock journal for where upstream requests went
and what they carried, the client-side clock for how long a stream ran, the error for what it quotes
(D-123). Pure functions over an exchange and a `SecurityContext`; tests/suites/test_security_checks.py
feeds them broken observations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from auriko_conformance.suites.checks import Applies, Blocked, Context, NotApplicable, about_status, check
from auriko_conformance.suites.checks.readable import unreadable_answer
from auriko_conformance.suites.exchange import Exchange, ItemKind

from auriko_conformance import contract

#: SDK-client options a request must never use to steer the gateway's upstream call (D-050): the contract's
#: one list, which the reference gateway strips too
TRANSPORT_OPTIONS = contract.transport_fields()
#: the longest error message or param a hostile request may get back (D-051 cuts at 1,024; D-123)
MAX_ECHO = 2048


@dataclass(slots=True)
class SecurityContext(Context):
    """`Context` plus what a hostile scenario planted and where its upstream requests belong."""

    journal: list[dict[str, Any]] | None = None
    #: the mock instance the request must reach (transport options must not move it)
    expected_instance: str | None = None
    #: a unique value planted in transport options: it must reach no upstream header, URL or body
    marker: str | None = None
    #: a stalled stream must have ended within this many milliseconds (client clock)
    within_ms: float | None = None
    #: the request was built to crash the gateway or be echoed back
    hostile: bool = False


def _security(context: Context) -> SecurityContext:
    if not isinstance(context, SecurityContext):
        raise NotApplicable
    return context


@check("AUTH-006", Applies.ANY)
def extensions_never_redirect_upstream(exchange: Exchange, context: Context) -> Iterator[str]:
    """Transport options in `extensions` (base_url, api_base, headers, extra_query, proxy ...) neither move
    the upstream request nor reach its headers, URL or body."""
    sec = _security(context)
    if sec.journal is None or sec.expected_instance is None or sec.marker is None:
        raise NotApplicable
    elsewhere = sorted({str(e.get("provider")) for e in sec.journal} - {sec.expected_instance})
    if elsewhere:
        belongs = sec.expected_instance
        yield f"an extension moved the upstream request to {elsewhere}; it belongs to {belongs!r}"
    if exchange.status == 200 and not sec.journal:
        yield f"answered, but {sec.expected_instance!r} received nothing: the request went somewhere else"
    for entry in sec.journal:
        where = {
            "headers": orjson.dumps(entry.get("headers") or {}).decode(),
            "URL": f"{entry.get('path')}?{orjson.dumps(entry.get('query') or {}).decode()}",
        }
        for place, text in where.items():
            if sec.marker in text:
                provider = entry.get("provider")
                yield f"a value planted in extensions reached the upstream {place} of {provider!r}"
        body = entry.get("body")
        forwarded = sorted(k for k in TRANSPORT_OPTIONS if isinstance(body, dict) and k in body)
        if forwarded:
            yield f"transport options {forwarded} were forwarded in the upstream body"


@check("STREAM-022", Applies.ANY)
def stream_deadline_bounds_a_stall(exchange: Exchange, context: Context) -> Iterator[str]:
    """A stream whose upstream stalls ends by deadline_ms (plus a margin) with an error event (D-048)."""
    sec = _security(context)
    if sec.within_ms is None:
        raise NotApplicable
    late = exchange.elapsed_ms > sec.within_ms
    if not late and (roots := unreadable_answer(exchange)):
        # in time, but nothing of it can be read: whether it ended with an error event is unobservable
        raise Blocked("the stream could not be read, so its end cannot be judged", roots)
    if late:
        took, bound = exchange.elapsed_ms, sec.within_ms
        yield f"the stalled stream was still open after {took:.0f} ms (bound {bound:.0f})"
    if exchange.status == 200 and exchange.is_stream:
        items = exchange.stream.items
        if not any(item.kind is ItemKind.ERROR for item in items):
            yield "the stalled stream ended without an error event"
    elif exchange.status < 400:
        yield f"a stalled stream answered HTTP {exchange.status}"


@check("REQ-028", Applies.ANY)
def hostile_input_gets_an_envelope(exchange: Exchange, context: Context) -> Iterator[str]:
    """Hostile input (odd media types, bytes that are not JSON, huge values) gets an answer or the 4xx
    envelope, never a 5xx, and no error quotes more than MAX_ECHO characters of it (D-051)."""
    sec = _security(context)
    if not sec.hostile:
        raise NotApplicable
    if exchange.status >= 500:
        yield about_status(f"hostile input caused HTTP {exchange.status}: {exchange.excerpt(160)}")
        return
    if exchange.status < 400:
        return
    error = exchange.error
    if error is None or not {"message", "type", "code"} <= set(error):
        yield f"HTTP {exchange.status} without the error envelope: {exchange.excerpt(160)}"
        return
    for key in ("message", "param"):
        value = error.get(key)
        if isinstance(value, str) and len(value) > MAX_ECHO:
            yield f"error.{key} is {len(value)} characters long: it echoes the hostile input"
