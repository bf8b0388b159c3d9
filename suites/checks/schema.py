"""SCHEMA: every body the target sends matches its schema in openapi.yaml.

The schemas are the contract's own (through `auriko_conformance.contract`), so a change to the contract
changes these checks with no edit here.
"""

from __future__ import annotations

from collections.abc import Iterator

from auriko_conformance import contract
from suites.checks import Applies, Context, check
from suites.exchange import Exchange, ItemKind

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


def _report(schema: str, instance: object, where: str = "") -> Iterator[str]:
    for violation in contract.violations(schema, instance)[:8]:
        yield f"{where}{violation} (schema {schema})"


@check("SCHEMA-001", Applies.COMPLETION)
def completion_envelope(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 has id, object `chat.completion`, integer created, model and non-empty choices."""
    body = exchange.json
    if not isinstance(body, dict):
        yield f"body is not a JSON object: {exchange.excerpt(120)!r}"
        return
    if not isinstance(body.get("id"), str) or not body.get("id"):
        yield f"id is {body.get('id')!r}"
    if body.get("object") != "chat.completion":
        yield f"object is {body.get('object')!r}"
    if not isinstance(body.get("created"), int) or isinstance(body.get("created"), bool):
        yield f"created is {body.get('created')!r}"
    if not isinstance(body.get("model"), str) or not body.get("model"):
        yield f"model is {body.get('model')!r}"
    if not isinstance(body.get("choices"), list) or not body["choices"]:
        yield f"choices is {str(body.get('choices'))[:80]}"


@check("SCHEMA-003", Applies.COMPLETION)
def choices_well_formed(exchange: Exchange, context: Context) -> Iterator[str]:
    """Choice indexes are 0..n-1, role assistant, content string or null, finish_reason from the enum."""
    body = exchange.json
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list):
        return
    indexes = sorted(
        c.get("index") for c in choices if isinstance(c, dict) and isinstance(c.get("index"), int)
    )
    if indexes != list(range(len(choices))):
        yield f"choice indexes are {indexes}, expected 0..{len(choices) - 1}"
    for choice in choices:
        if not isinstance(choice, dict):
            yield f"a choice is {choice!r}"
            continue
        message = choice.get("message") or {}
        if message.get("role") != "assistant":
            yield f"choice {choice.get('index')}: role is {message.get('role')!r}"
        if not isinstance(message.get("content"), str | None):
            yield f"choice {choice.get('index')}: content is a {type(message.get('content')).__name__}"
        if choice.get("finish_reason") not in FINISH_REASONS:
            yield f"choice {choice.get('index')}: finish_reason is {choice.get('finish_reason')!r}"


@check("SCHEMA-002", Applies.COMPLETION)
def completion_matches_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 is JSON that satisfies ChatCompletion."""
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


@check("SCHEMA-002", Applies.ERROR)
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


@check("SCHEMA-009", Applies.COMPLETION)
def json_content_type_on_success(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 is served as application/json."""
    yield from _json_media_type(exchange)


@check("ERR-004", Applies.ERROR)
def json_content_type_on_errors(exchange: Exchange, context: Context) -> Iterator[str]:
    """Error responses are served as application/json (charset optional)."""
    yield from _json_media_type(exchange)


def _json_media_type(exchange: Exchange) -> Iterator[str]:
    if exchange.content_type != "application/json":
        yield f"content-type is {exchange.headers.get('content-type')!r}"
    elif exchange.json is None:
        yield f"declared JSON but does not parse: {exchange.excerpt(80)!r}"
