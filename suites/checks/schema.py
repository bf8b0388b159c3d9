"""SCHEMA: every body the target sends matches its schema in openapi.yaml.

The schemas are the contract's own (through `auriko_conformance.contract`), so a change to the contract
changes these checks with no edit here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auriko_conformance.suites.checks import Applies, Context, Located, NotApplicable, check, error_under_200
from auriko_conformance.suites.checks._warning_names import warning_names
from auriko_conformance.suites.checks.stream import FINISH_REASONS, is_keepalive, is_sse
from auriko_conformance.suites.exchange import Exchange, ItemKind

from auriko_conformance import contract

#: stands in for routing_metadata on a usage chunk when the target does not claim the feature
_PLACEHOLDER_METADATA = {
    "provider": "-",
    "provider_model_id": "-",
    "model_canonical": "-",
    "routing_strategy": "-",
}


#: places beyond JSON paths: an upstream keep-alive sent as data, a stream labelled application/json
KEEPALIVE = "(keep-alive)"
NOT_JSON = "(a stream labelled JSON)"

#: The places of a completion or stream chunk that a specific rule judges, with the rules that own them.
#: SCHEMA-002 names every violation; one at an owned place is left to its owner when the owner failed
#: on the same exchange (one defect, one finding), and stays SCHEMA-002's when the owner passed.
SCHEMA_OWNERS: dict[str, tuple[str, ...]] = {
    "$.object": ("SCHEMA-001",),
    "$.id": ("SCHEMA-001",),
    "$.created": ("SCHEMA-001",),
    "$.model": ("SCHEMA-001",),
    "$.choices[*].finish_reason": ("SCHEMA-003", "STREAM-011", "XLATE-036", "XLATE-037"),
    "$.choices[*].message.role": ("SCHEMA-003",),
    "$.choices[*].message.content": ("SCHEMA-003",),
    "$.choices[*].message.tool_calls": ("SCHEMA-004", "XLATE-009"),
    "$.choices[*].delta.tool_calls": ("STREAM-012", "STREAM-013", "XLATE-009"),
    "$.choices[*].logprobs": ("SCHEMA-008", "STREAM-020"),
    "$.usage": ("SCHEMA-005", "STREAM-003"),
    "$.routing_metadata": ("META-001", "META-003", "STREAM-005"),
    "$.routing_metadata.warnings": ("META-008", "META-009"),
    "$.routing_metadata.cost": ("META-006", "META-007"),
    "$.error": ("STREAM-015", "STREAM-016"),
    KEEPALIVE: ("STREAM-018",),
    NOT_JSON: ("SCHEMA-009",),
}
#: The places of an error body that a specific rule judges (ERR-001 states the per-status schema):
#: the envelope's shape is SCHEMA-006's, an unknown or legacy code ERR-002's.
ERROR_OWNERS: dict[str, tuple[str, ...]] = {
    "$": ("SCHEMA-006",),
    "$.error.code": ("ERR-002",),
}
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _report(
    schema: str, instance: object, where: str = "", context: Context | None = None, *, missing_at_child: bool
) -> Iterator[str]:
    """Each violation (at most 8), located: a missing property at its own place when `missing_at_child`
    (a completion without `routing_metadata` is META-001's), else at its parent's (the envelope's)."""
    violations = contract.violations(schema, instance)
    if context is not None and not context.claimed("routing_metadata"):
        # A target that does not claim routing_metadata is judged on the rest of the schema only.
        violations = [v for v in violations if "routing_metadata" not in v.message]
    for violation in violations[:8]:
        path = violation.path
        missing = _REQUIRED.match(violation.message) if violation.keyword == "required" else None
        if missing and missing_at_child:
            path = f"{path}.{missing.group(1)}"
        yield Located(f"{where}{violation} (schema {schema})", path)


@check("SCHEMA-001", Applies.COMPLETION, defers={NOT_JSON: ("SCHEMA-009",)})
def completion_envelope(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 has id, object `chat.completion`, integer created, model and non-empty choices."""
    body = exchange.json
    if not isinstance(body, dict):
        where = NOT_JSON if is_sse(exchange.body) else "$"
        yield Located(f"body is not a JSON object: {exchange.excerpt(120)!r}", where)
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
        raise NotApplicable
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


@check("SCHEMA-002", Applies.COMPLETION, defers=SCHEMA_OWNERS)
def completion_matches_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-stream 200 is JSON that satisfies ChatCompletion."""
    if exchange.json is None:
        # A stream labelled application/json is SCHEMA-009's finding, not a broken completion.
        where = NOT_JSON if is_sse(exchange.body) else "$"
        yield Located(f"body is not JSON: {exchange.excerpt(120)!r}", where)
        return
    yield from _report("ChatCompletion", exchange.json, context=context, missing_at_child=True)


#: the stream payload schema for what an event looks like: one branch's violations say what is wrong,
#: the union's mix the branches (a usage chunk's bad metadata also read "choices should be non-empty")
_BRANCHES = {
    ItemKind.CHUNK: "ChatCompletionChunk",
    ItemKind.USAGE: "ChatCompletionUsageChunk",
    ItemKind.ERROR: "StreamError",
}


@check("SCHEMA-002", Applies.STREAM, defers=SCHEMA_OWNERS)
def stream_events_match_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each SSE event satisfies ChatCompletionStreamEvent; its JSON data satisfies StreamPayload."""
    for item in exchange.stream.items:
        if item.kind is ItemKind.DONE:
            continue
        if item.payload is None:
            continue  # not JSON: STREAM-002 reports it
        payload = item.payload
        if item.kind is ItemKind.USAGE and not context.claimed("routing_metadata"):
            payload = {"routing_metadata": _PLACEHOLDER_METADATA, **payload}
        if contract.is_valid("StreamPayload", payload):
            continue
        if is_keepalive(item):
            yield Located(f"event #{item.index}: an upstream keep-alive is not a chunk", KEEPALIVE)
            continue
        schema = _BRANCHES.get(item.kind, "StreamPayload")
        yield from _report(schema, payload, f"event #{item.index}: ", context, missing_at_child=True)


@check("ERR-001", Applies.ERROR, defers=ERROR_OWNERS)
def error_matches_status_schema(exchange: Exchange, context: Context) -> Iterator[str]:
    """An error body is the envelope, with a `code` and `type` that belong to its HTTP status."""
    body = exchange.json
    if body is None:
        yield Located(f"error body is not JSON: {exchange.excerpt(120)!r}", "$")
        return
    schema = contract.error_schema_for_status(exchange.status)
    yield from _report(schema, body, missing_at_child=False)
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


@check("SCHEMA-004", Applies.COMPLETION)
def tool_calls_well_formed(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each `message.tool_calls` item has a unique id, type function, a name and string arguments."""
    body = exchange.json
    if not any(((c or {}).get("message") or {}).get("tool_calls") for c in (body or {}).get("choices") or []):
        raise NotApplicable
    seen: set[str] = set()
    for choice in body.get("choices") or [] if isinstance(body, dict) else []:
        calls = ((choice or {}).get("message") or {}).get("tool_calls") or []
        for i, call in enumerate(calls):
            where = f"choice {choice.get('index')} tool_calls[{i}]"
            call_id = call.get("id") if isinstance(call, dict) else None
            if not isinstance(call_id, str) or not call_id:
                yield f"{where}: id is {call_id!r}"
            elif call_id in seen:
                yield f"{where}: id {call_id!r} repeats"
            else:
                seen.add(call_id)
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(function, dict):
                yield f"{where}: not a function call: {str(call)[:120]}"
                continue
            if not isinstance(function.get("name"), str) or not function["name"]:
                yield f"{where}: function.name is {function.get('name')!r}"
            if not isinstance(function.get("arguments"), str):
                kind = type(function.get("arguments")).__name__
                yield f"{where}: function.arguments is a {kind}, not a string"


@check("SCHEMA-007", Applies.ERROR)
def error_doc_url(exchange: Exchange, context: Context) -> Iterator[str]:
    """A coded error links `https://docs.auriko.ai/errors/<code>`; a `suggestion` is never empty."""
    body = exchange.json
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        raise NotApplicable
    want = f"https://docs.auriko.ai/errors/{error['code']}"
    if error.get("doc_url") != want:
        yield f"doc_url is {error.get('doc_url')!r}, expected {want!r}"
    if "provider" in error and not isinstance(error["provider"], str | None):
        yield f"provider is {error['provider']!r}"
    if "suggestion" in error and (not isinstance(error["suggestion"], str) or not error["suggestion"]):
        yield f"suggestion is {error['suggestion']!r}"


@check("SCHEMA-008", Applies.ANY)
def logprobs_are_arrays(exchange: Exchange, context: Context) -> Iterator[str]:
    """With logprobs requested, `logprobs.content` entries carry `top_logprobs` arrays of at most k items."""
    if exchange.status != 200 or context.request.get("logprobs") is not True or error_under_200(exchange):
        raise NotApplicable  # an error under 200 has no choices to carry logprobs: ERR-003's or STREAM-017's
    # Routed to a provider without logprobs, and said so: that excuses their absence, never a wrong shape.
    # The gateway's word is no excuse for a provider the journal shows returns them: a warning cannot
    # silence this check (the test's own knowledge, `dropped_parameters`, still can).
    excused = "logprobs" in context.dropped_parameters or (
        not _takes_logprobs(context) and _warned_about(exchange, "logprobs")
    )
    limit = context.request.get("top_logprobs")
    if exchange.is_stream:
        entries = [c for chunk in exchange.stream.chunks for c in chunk.get("choices") or []]
    else:
        entries = (exchange.json or {}).get("choices") or []
    found = False
    for choice in entries:
        logprobs = choice.get("logprobs")
        if logprobs is None:
            continue
        found = True
        content = logprobs.get("content") if isinstance(logprobs, dict) else None
        if not isinstance(content, list):
            yield f"choice {choice.get('index')}: logprobs.content is {str(content)[:60]}"
            continue
        for token in content:
            top = token.get("top_logprobs") if isinstance(token, dict) else None
            if not isinstance(top, list):
                yield f"choice {choice.get('index')}: top_logprobs is {top!r}, not an array"
                break
            if isinstance(limit, int) and len(top) > limit:
                yield f"choice {choice.get('index')}: {len(top)} top_logprobs for top_logprobs={limit}"
                break
    if not found and excused:
        raise NotApplicable
    if not found:
        yield "logprobs were requested but no choice carries logprobs"


#: the upstream flavours whose answers carry per-token logprobs (Gemini takes the parameter but its
#: answers carry none the gateway can translate, Anthropic has neither)
LOGPROBS_FLAVOURS = frozenset({"openai", "deepseek", "vllm"})


def _takes_logprobs(context: Context) -> bool:
    """The request reached (per the journal) a provider whose answers carry logprobs."""
    return getattr(getattr(context, "upstream", None), "flavour", None) in LOGPROBS_FLAVOURS


def _warned_about(exchange: Exchange, parameter: str) -> bool:
    """Did the response's routing_metadata.warnings name this request parameter?"""
    if exchange.is_stream:
        final = exchange.stream.final_usage_chunk or {}
    else:
        final = exchange.json if isinstance(exchange.json, dict) else {}
    warnings = (final.get("routing_metadata") or {}).get("warnings") or []
    return any(warning_names(w, parameter) for w in warnings)
