"""SCHEMA: every body the target sends matches its schema in openapi.yaml.

The schemas are the contract's own (through `auriko_conformance.contract`), so a change to the contract
changes these checks with no edit here.
"""

from __future__ import annotations

from collections.abc import Iterator

from auriko_conformance import contract
from suites.checks import Applies, Context, check
from suites.exchange import Exchange, ItemKind


def _report(schema: str, instance: object, where: str = "") -> Iterator[str]:
    for violation in contract.violations(schema, instance)[:8]:
        yield f"{where}{violation} (schema {schema})"


@check("SCHEMA-001", Applies.COMPLETION)
def completion_matches_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 is JSON that satisfies ChatCompletion."""
    if exchange.content_type != "application/json":
        yield f"content-type is {exchange.headers.get('content-type')!r}, not application/json"
    if exchange.json is None:
        yield f"body is not JSON: {exchange.excerpt(120)!r}"
        return
    yield from _report("ChatCompletion", exchange.json)


@check("SCHEMA-002", Applies.STREAM)
def stream_events_match_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each SSE event satisfies ChatCompletionStreamEvent; its JSON data satisfies StreamPayload."""
    for item in exchange.stream.items:
        if item.kind is ItemKind.DONE:
            continue
        if item.payload is None:
            continue  # not JSON: STREAM-002 reports it
        yield from _report("StreamPayload", item.payload, f"event #{item.index}: ")


@check("SCHEMA-003", Applies.ERROR)
def error_matches_status_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """An error body is the envelope, with a `code` and `type` that belong to its HTTP status."""
    body = exchange.json
    if body is None:
        yield f"error body is not JSON: {exchange.excerpt(120)!r}"
        return
    schema = contract.error_schema_for_status(exchange.status)
    yield from _report(schema, body)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    known = contract.error_codes().get(code) if isinstance(code, str) else None
    if known and known.status != exchange.status:
        yield f"code {code!r} belongs to HTTP {known.status}, but the status is {exchange.status}"


@check("SCHEMA-004", Applies.ANY)
def json_content_type_on_json_bodies(exchange: Exchange, context: Context) -> Iterator[str]:
    """Non-stream responses (success and error) are served as application/json."""
    if exchange.is_stream or exchange.status == 204:
        return
    if exchange.content_type != "application/json":
        yield f"content-type is {exchange.headers.get('content-type')!r}"
    elif exchange.json is None:
        yield f"declared JSON but does not parse: {exchange.excerpt(80)!r}"
