"""STREAM: the framing and chunk rules of a `stream: true` response, and what an upstream failure or
an upstream's cumulative usage must become in it.

The rules come from the seed page and the streaming guide (final chunk with `choices: []`, `usage` and
`routing_metadata`, then `data: [DONE]`) and from bugs gateways shipped (field-survey.md section 4):
usage emitted twice, `[DONE]` doubled, parallel tool calls all on index 0, a silent short stream.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import orjson
from auriko_conformance.suites.checks import (
    Applies,
    Blocked,
    Context,
    Located,
    NotApplicable,
    check,
    error_under_200,
    register,
)
from auriko_conformance.suites.checks.errors import UNDER_200
from auriko_conformance.suites.exchange import Exchange, ItemKind, StreamItem
from auriko_conformance.suites.scenario import RouteContext

STREAM = Applies.STREAM
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
#: a finish_reason that is no member of the enum (null, missing, a provider's own name): the enum rules
#: (SCHEMA-003 for a completion, STREAM-011 for a stream) judge it on every answer, so a translation rule
#: that reads the same value leaves it to them (D-146)
FINISH_OUTSIDE = "(a finish_reason outside the enum)"
FINISH_OWNERS: dict[str, tuple[str, ...]] = {FINISH_OUTSIDE: ("SCHEMA-003", "STREAM-011")}


def finish_finding(finish: Any, message: str, *, native_too: bool = True) -> str:
    """`message` about a wrong finish_reason, at FINISH_OUTSIDE when the value is outside the enum (with
    `native_too` False only when it is no string at all: a provider's name passed through is the mapping
    rule's own finding)."""
    outside = finish not in FINISH_REASONS if native_too else not isinstance(finish, str)
    return Located(message, FINISH_OUTSIDE) if outside else message


#: places beyond JSON paths (`Located`): a streamed tool call whose arguments are `""`, and one whose
#: joined fragments do not parse (parallel calls merged under one index are STREAM-012's defect)
EMPTY_ARGUMENTS = "(tool-call arguments: empty)"
JOINED_ARGUMENTS = "(tool-call arguments: joined from a stream)"


#: a place beyond JSON paths: the final usage chunk sent with a non-empty `choices` (STREAM-003's defect)
USAGE_WITH_CHOICES = "(final usage chunk with choices)"
#: a stream with no usage to read (STREAM-003 when usage was asked for, STREAM-007 when not), and one
#: that sends it more than once (STREAM-004): a rule about the counts has no single usage to judge
USAGE_MISSING = "(no final usage chunk)"
#: a client's usage counts that are not the provider's final ones, and not their sum either
USAGE_COUNTS = "(usage counts: not the provider's)"
USAGE_OWNERS: dict[str, tuple[str, ...]] = {
    USAGE_MISSING: ("STREAM-003", "STREAM-007"),
    "(usage sent more than once)": ("STREAM-004",),
    USAGE_COUNTS: ("XLATE-002", "XLATE-033", "XLATE-034", "XLATE-035"),
}


def framing_broken(exchange: Exchange) -> bool:
    """The events cannot be told apart or read (STREAM-001 fails on exactly this): what a later rule
    would read in them (the sentinel, the usage chunk) is unobservable."""
    return bool(exchange.stream.sse.framing_errors or exchange.stream.of_kind(ItemKind.INVALID))


def usage_with_choices(exchange: Exchange) -> StreamItem | None:
    """The last data event before `[DONE]` when it carries usage but also choices: the final usage chunk
    in the wrong shape (STREAM-003 fails on it), not a content chunk and not a missing usage chunk."""
    items = [item for item in _before_done(exchange) if item.kind is not ItemKind.DONE]
    last = items[-1] if items else None
    if last is not None and last.kind is ItemKind.CHUNK and isinstance(last.payload.get("usage"), dict):
        return last
    return None


def usage_chunk_blocker(exchange: Exchange) -> tuple[tuple[str, ...], str] | None:
    """Why a stream's final usage chunk cannot be found although the rule's subject may be there: the
    failing rule that hides it, and the reason (None: it is simply missing)."""
    if framing_broken(exchange):
        return ("STREAM-001",), "the stream's events could not be read apart"
    if usage_with_choices(exchange) is not None:
        return ("STREAM-003",), "usage came in the last chunk, but with choices"
    return None


@check("STREAM-001", STREAM)
def sse_framing(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every event is `data:` lines closed by a blank line; nothing left unterminated."""
    yield from exchange.stream.sse.framing_errors


@check("STREAM-001", STREAM)
def event_data_is_json_or_done(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each event's data is a JSON chunk, a JSON error, or the `[DONE]` sentinel."""
    for item in exchange.stream.of_kind(ItemKind.INVALID):
        yield f"event #{item.index} is neither a chunk, an error event nor [DONE]: {item.data[:120]!r}"


@check("STREAM-002", STREAM)
def done_exactly_once_and_last(exchange: Exchange, context: Context) -> Iterator[str]:
    """A stream that did not fail ends with exactly one `data: [DONE]`, and nothing follows it."""
    items = exchange.stream.items
    done = [item.index for item in items if item.kind is ItemKind.DONE]
    failed = any(item.kind is ItemKind.ERROR for item in items)
    if not done and failed:
        raise NotApplicable  # a failed stream: STREAM-015/016 judge it
    if not done and framing_broken(exchange):
        raise Blocked(
            "the stream's events could not be read apart, so its [DONE] cannot be found", ("STREAM-001",)
        )
    if not done:
        yield "the stream never sent data: [DONE] and reported no error"
        return
    if len(done) > 1:
        yield f"data: [DONE] sent {len(done)} times (events {done})"
    if done[-1] != len(items) - 1 or done[0] != len(items) - 1 - (len(done) - 1):
        yield f"data follows [DONE]: [DONE] at event {done[0]} of {len(items)}"


def _usage_due(exchange: Exchange, context: Context) -> bool:
    """Usage was asked for (`stream_options.include_usage`), or sent: where it sits is then STREAM-003's.
    A stream with no usage at all when none was asked for is STREAM-007's finding (an Auriko rule)."""
    options = context.request.get("stream_options") if isinstance(context.request, dict) else None
    asked = isinstance(options, dict) and options.get("include_usage") is True
    return asked or any(isinstance(p.get("usage"), dict) for p in exchange.stream.json_payloads)


@check("STREAM-003", STREAM, when=_usage_due)
def final_usage_chunk_before_done(exchange: Exchange, context: Context) -> Iterator[str]:
    """The last data event before `[DONE]` has `choices: []` and a `usage` object."""
    items = exchange.stream.items
    if any(item.kind is ItemKind.ERROR for item in items):
        raise NotApplicable
    payload_items = [item for item in items if item.kind is not ItemKind.DONE]
    if not payload_items:
        yield "the stream carried no data events"
        return
    last = payload_items[-1]
    if last.kind is not ItemKind.USAGE:
        yield f"the last data event (#{last.index}) is a {last.kind.value}, not the final usage chunk"
        return
    if not isinstance(last.payload.get("usage"), dict):
        yield f"the final chunk (#{last.index}) has no usage object"


def _has_usage_chunk(exchange: Exchange, context: Context) -> bool:
    """The stream has its final usage chunk (a missing one is STREAM-003's finding)."""
    return exchange.stream.final_usage_chunk is not None


@check("STREAM-005", STREAM, needs=("routing_metadata",), when=_has_usage_chunk)
def final_chunk_has_routing_metadata(exchange: Exchange, context: Context) -> Iterator[str]:
    """The final usage chunk carries `routing_metadata` with its four required fields."""
    metadata = (exchange.stream.final_usage_chunk or {}).get("routing_metadata")
    if not isinstance(metadata, dict):
        yield "the final usage chunk has no routing_metadata object"
        return
    for key in ("provider", "provider_model_id", "model_canonical", "routing_strategy"):
        if not isinstance(metadata.get(key), str) or not metadata.get(key):
            yield f"routing_metadata.{key} is {metadata.get(key)!r} in the final chunk"


@check("STREAM-006", STREAM, needs=("routing_metadata",), defers={USAGE_WITH_CHOICES: ("STREAM-003",)})
def routing_metadata_only_on_final_chunk(exchange: Exchange, context: Context) -> Iterator[str]:
    """Content chunks do not carry `routing_metadata` (it belongs on the final chunk, D-003)."""
    misplaced = usage_with_choices(exchange)
    for item in exchange.stream.of_kind(ItemKind.CHUNK):
        if item.payload.get("routing_metadata") is not None:
            message = f"content chunk #{item.index} carries routing_metadata"
            yield Located(message, USAGE_WITH_CHOICES) if item is misplaced else message


def _before_done(exchange: Exchange) -> list[StreamItem]:
    items = exchange.stream.items
    done = next((i for i, item in enumerate(items) if item.kind is ItemKind.DONE), len(items))
    return items[:done]


@check("STREAM-004", STREAM)
def exactly_one_usage_chunk(exchange: Exchange, context: Context) -> Iterator[str]:
    """Usage is sent once: at most one chunk with empty `choices`, and no second event carries `usage`
    (a lone usage on a content chunk is STREAM-003's finding, not a repeat)."""
    # Events after [DONE] are STREAM-002's finding (nothing follows the sentinel), not a repeat.
    items = _before_done(exchange)
    usage_chunks = [i for i in items if i.kind is ItemKind.USAGE]
    if len(usage_chunks) > 1:
        yield f"{len(usage_chunks)} chunks with empty choices (events {[i.index for i in usage_chunks]})"
    carrying = [i.index for i in items if isinstance(i.payload, dict) and i.payload.get("usage")]
    if len(carrying) > 1 and len(usage_chunks) <= 1:
        yield f"usage sent {len(carrying)} times (events {carrying}); it belongs on the final chunk only"


@check("STREAM-009", STREAM)
def constant_id_created(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every chunk of one stream repeats the same `id` and `created`."""
    payloads = exchange.stream.json_payloads
    for key in ("id", "created"):
        values = {orjson.dumps(p.get(key)) for p in payloads}
        if len(values) > 1:
            shown = sorted(v.decode() for v in values)[:4]
            yield f"{key} changes within the stream: {', '.join(shown)}"


@check("STREAM-010", STREAM)
def role_in_first_delta_only(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each choice's first delta carries `role: assistant`; later deltas carry no role."""
    seen: set[int] = set()
    for number, chunk in enumerate(exchange.stream.chunks):
        for choice in chunk["choices"]:
            index = choice.get("index")
            delta = choice.get("delta") or {}
            if index not in seen:
                seen.add(index)
                if delta.get("role") != "assistant":
                    yield f"choice {index}: first delta (chunk {number}) has role {delta.get('role')!r}"
            elif "role" in delta and delta["role"] is not None:
                yield f"choice {index}: role repeated in chunk {number}"


@check("STREAM-011", STREAM)
def one_finish_reason_per_choice(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each choice gets exactly one non-null `finish_reason`, from the enum, on its last content chunk."""
    if exchange.stream.of_kind(ItemKind.ERROR):
        raise NotApplicable
    finishes: dict[int, list[int]] = defaultdict(list)
    last_chunk: dict[int, int] = {}
    for number, chunk in enumerate(exchange.stream.chunks):
        for choice in chunk["choices"]:
            index = choice.get("index")
            if not choice.get("delta") and choice.get("finish_reason") is None:
                continue  # an empty delta (e.g. a usage chunk that kept a choice) carries no content
            last_chunk[index] = number
            if choice.get("finish_reason") is not None:
                finishes[index].append(number)
    for number, chunk in enumerate(exchange.stream.chunks):
        for choice in chunk["choices"]:
            reason = choice.get("finish_reason")
            if reason is not None and reason not in FINISH_REASONS:
                where = f"choice {choice.get('index')} (chunk {number})"
                yield f"{where}: finish_reason {reason!r} is not one of {sorted(FINISH_REASONS)}"
    for index in sorted(last_chunk):
        got = finishes.get(index, [])
        if not got:
            yield f"choice {index} never got a finish_reason"
        elif len(got) > 1:
            yield f"choice {index} got finish_reason {len(got)} times (chunks {got})"
        elif got[0] != last_chunk[index]:
            yield f"choice {index}: content continues after its finish_reason (chunk {got[0]})"


def _tool_call_deltas(exchange: Exchange) -> Iterator[tuple[int, int, dict[str, Any]]]:
    for number, chunk in enumerate(exchange.stream.chunks):
        for choice in chunk["choices"]:
            for delta in (choice.get("delta") or {}).get("tool_calls") or []:
                yield number, choice.get("index"), delta


@check("STREAM-013", STREAM)
def tool_call_delta_shape(exchange: Exchange, context: Context) -> Iterator[str]:
    """A tool call's first delta has `id`, `type` and `function.name`; later ones omit them."""
    if not any(True for _ in _tool_call_deltas(exchange)):
        raise NotApplicable
    started: set[tuple[int, int]] = set()
    for number, choice, delta in _tool_call_deltas(exchange):
        key = (choice, delta.get("index"))
        function = delta.get("function") or {}
        if key not in started:
            started.add(key)
            missing = [n for n, v in (("id", delta.get("id")), ("type", delta.get("type")),
                                      ("function.name", function.get("name"))) if not v]  # fmt: skip
            if missing:
                yield f"tool call {key[1]} of choice {choice}: first delta (chunk {number}) lacks {missing}"
        else:
            repeated = [n for n in ("id", "type") if n in delta] + (
                ["function.name"] if "name" in function else []
            )
            if repeated:
                yield f"tool call {key[1]} of choice {choice}: chunk {number} repeats {repeated}"


@check("STREAM-012", STREAM, defers={EMPTY_ARGUMENTS: ("XLATE-009",)})
def tool_call_arguments_join_to_json(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each tool call's argument fragments, joined, parse as one JSON object; calls have distinct ids."""
    if not any(True for _ in _tool_call_deltas(exchange)):
        raise NotApplicable
    arguments: dict[tuple[int, int], list[str]] = defaultdict(list)
    ids: Counter[str] = Counter()
    for _, choice, delta in _tool_call_deltas(exchange):
        key = (choice, delta.get("index"))
        if delta.get("id"):
            ids[delta["id"]] += 1
        fragment = (delta.get("function") or {}).get("arguments")
        if isinstance(fragment, str):
            arguments[key].append(fragment)
    for (choice, index), parts in sorted(arguments.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        joined = "".join(parts)
        try:
            value = orjson.loads(joined)
        except orjson.JSONDecodeError:
            message = f"tool call {index} of choice {choice}: arguments do not parse as JSON: {joined[:99]!r}"
            # `""` for a call without arguments is the rule XLATE-009 states ("{}", never "")
            yield Located(message, EMPTY_ARGUMENTS) if joined == "" else message
            continue
        if not isinstance(value, dict):
            yield f"tool call {index} of choice {choice}: arguments are not a JSON object: {joined[:80]!r}"
    for call_id, count in ids.items():
        if count > 1:
            yield f"tool call id {call_id!r} starts {count} calls (parallel calls need distinct ids)"


@check("STREAM-014", STREAM, given=("reference_text",))
def stream_text_matches_non_stream(exchange: Exchange, context: Context) -> Iterator[str]:
    """The joined stream text equals the non-stream answer to the same (deterministic) request."""
    want = context.reference_text or ""
    streamed = exchange.stream.text()
    if streamed != want:
        yield f"streamed text {streamed[:100]!r} differs from the non-stream text {want[:100]!r}"


def _every_choice_finished(exchange: Exchange) -> bool:
    """Every choice that streamed got its finish_reason: the answer is complete, whatever follows."""
    seen: set[Any] = set()
    finished: set[Any] = set()
    for chunk in exchange.stream.chunks:
        for choice in chunk["choices"]:
            seen.add(choice.get("index"))
            if choice.get("finish_reason") is not None:
                finished.add(choice.get("index"))
    return bool(seen) and seen == finished


@check("STREAM-015", STREAM)
def mid_stream_error_is_detectable(exchange: Exchange, context: Context) -> Iterator[str]:
    """A stream that stops early ends with an error event, never a silent clean end."""
    items = exchange.stream.items
    if not items or any(item.kind is ItemKind.DONE for item in items) or _every_choice_finished(exchange):
        raise NotApplicable  # a finished stream without [DONE] lacks only the terminator (STREAM-002)
    if not exchange.stream.of_kind(ItemKind.ERROR):
        yield "the stream ended without [DONE] and without an error event (a silent truncation)"
        return
    error = exchange.stream.of_kind(ItemKind.ERROR)[-1].payload.get("error")
    if not isinstance(error, dict):
        yield f"the error event's `error` is {error!r}, not an object"


def _has_error_event(exchange: Exchange, context: Context) -> bool:
    return bool(exchange.stream.of_kind(ItemKind.ERROR))


@check("STREAM-016", STREAM, when=_has_error_event)
def mid_stream_error_event_format(exchange: Exchange, context: Context) -> Iterator[str]:
    """The mid-stream error event holds a full envelope; the stream then closes without `[DONE]` (D-004)."""
    errors = exchange.stream.of_kind(ItemKind.ERROR)
    error = errors[-1].payload.get("error")
    if not isinstance(error, dict):
        yield f"the error event's `error` is {error!r}, not an envelope object"
    else:
        for key in ("message", "type", "code", "param"):
            if key not in error:
                yield f"the error event lacks error.{key}"
        # An error event before any chunk is a failure known before the stream started: its code names
        # that situation, and sending it under 200 is STREAM-017's finding, not a mid-stream code.
        midway = any(item.kind is ItemKind.CHUNK for item in exchange.stream.items[: errors[-1].index])
        if midway and error.get("code") not in {"upstream_error", "upstream_timeout", None}:
            yield f"mid-stream error code {error.get('code')!r} (expected upstream_error or upstream_timeout)"
    if any(item.kind is ItemKind.DONE for item in exchange.stream.items[errors[-1].index :]):
        yield "[DONE] follows the error event"


def _asked_to_stream(exchange: Exchange, context: Context) -> bool:
    return isinstance(context.request, dict) and context.request.get("stream") is True


@check("SCHEMA-009", Applies.ANY, when=lambda e, c: e.status == 200 and _asked_to_stream(e, c))
def stream_content_type(exchange: Exchange, context: Context) -> Iterator[str]:
    """A successful `stream: true` request is answered as `text/event-stream`."""
    if not exchange.is_stream:
        yield f"content-type is {exchange.headers.get('content-type')!r}"


# --------------------------------------------------------------------------------------------------
# Streams of a given request shape, and streams whose upstream failed or reported cumulative usage
# --------------------------------------------------------------------------------------------------

KEEPALIVE_TYPES = frozenset({"ping", "keep-alive", "keepalive", "heartbeat"})


def is_keepalive(item: StreamItem) -> bool:
    """An upstream `ping` or keep-alive passed on as a data event (STREAM-018's defect)."""
    payload = item.payload
    kind = payload.get("type") if isinstance(payload, dict) else None
    return (isinstance(kind, str) and kind.lower() in KEEPALIVE_TYPES) or (
        item.kind is ItemKind.INVALID and item.data.strip().lower().lstrip(":").strip() in KEEPALIVE_TYPES
    )


def is_sse(body: bytes) -> bool:
    """A body written as server-sent events, whatever its content-type says."""
    return body.lstrip()[:6].startswith((b"data:", b"event:", b":"))


@check("STREAM-018", STREAM)
def upstream_keepalives_not_data(exchange: Exchange, context: Context) -> Iterator[str]:
    """Keep-alives are SSE comments; an upstream `ping` or keep-alive never becomes a data event (D-022)."""
    for item in exchange.stream.items:
        if is_keepalive(item):
            yield f"event #{item.index} is an upstream keep-alive sent as data: {item.data[:80]!r}"


def _asked_for_logprobs(exchange: Exchange, context: Context) -> bool:
    return isinstance(context.request, dict) and context.request.get("logprobs") is True


@check("STREAM-020", STREAM, when=_asked_for_logprobs)
def stream_logprobs_join_to_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """With `logprobs: true`, content chunks carry logprobs.content whose tokens join to the text."""
    tokens: list[str] = []
    missing = 0
    for chunk in exchange.stream.chunks:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index") != 0:
                continue
            content = (choice.get("delta") or {}).get("content")
            logprobs = choice.get("logprobs")
            entries = logprobs.get("content") if isinstance(logprobs, dict) else None
            if isinstance(content, str) and content and not isinstance(entries, list):
                missing += 1
            for entry in entries or []:
                if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                    tokens.append(entry["token"])
    text = exchange.stream.text()
    if missing:
        yield f"{missing} content chunks carry no choices[].logprobs.content"
    elif text and "".join(tokens) != text:
        yield f"logprob tokens join to {''.join(tokens)[:80]!r}, the content is {text[:80]!r}"


def _stream_failure(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if exchange.status != 200 or not exchange.is_stream:
        if exchange.status < 400 or exchange.error is None:
            yield f"the failed stream ended as HTTP {exchange.status} with no error: {exchange.excerpt(160)}"
        return  # the gateway had sent nothing yet: a non-2xx error is a detectable end
    items = exchange.stream.items
    errors = [i for i in items if i.kind is ItemKind.ERROR]
    if not errors:
        kinds = [i.kind.value for i in items[-3:]]
        yield f"the upstream failed mid-stream but the client saw no error event (last events: {kinds})"
    elif not isinstance(errors[-1].payload.get("error"), dict):
        yield f"the error event's `error` is {errors[-1].payload.get('error')!r}, not an object"


register(
    "STREAM-015",
    "upstream_failure_reported_in_stream",
    "A stream whose upstream failed after its first bytes carries an error event, never a clean end.",
    _stream_failure,
    context=RouteContext,
    given=("upstream_failed",),
)


def _pre_stream_error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if 200 <= exchange.status < 300:
        kind = exchange.content_type
        message = f"an error known before the first byte was sent as HTTP {exchange.status} ({kind})"
        # a JSON error body under 200 is ERR-003's finding (as for any request); a stream is this rule's
        json_error = not exchange.is_stream and error_under_200(exchange)
        yield Located(message, UNDER_200) if json_error else message
    elif exchange.error is None:
        message = f"HTTP {exchange.status} without a JSON error envelope ({exchange.content_type})"
        yield Located(message, "$") if isinstance(exchange.json, dict) else message


register(
    "STREAM-017",
    "pre_stream_error_is_non_2xx",
    "With stream: true, an error known before the first byte is a non-2xx JSON error envelope.",
    _pre_stream_error,
    defers={UNDER_200: ("ERR-003",), "$": ("SCHEMA-006",)},
    context=RouteContext,
    given=("error",),
    when=_asked_to_stream,
)


def _usage_not_summed(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    # events after [DONE] are STREAM-002's finding; no usage, or usage sent twice, STREAM-003/004's
    with_usage = [
        i
        for i in _before_done(exchange)
        if isinstance(i.payload, dict) and isinstance(i.payload.get("usage"), dict)
    ]
    if len(with_usage) > 1:
        message = f"{len(with_usage)} events carry a usage object (expected one, the final chunk)"
        yield Located(message, "(usage sent more than once)")
    final = exchange.usage  # where it sits is STREAM-003's finding; the counts are this one's
    if final is None:
        yield Located("no final usage chunk", USAGE_MISSING)
        return
    prompt, completion = context.upstream_usage or (0, 0)
    got = (final.get("prompt_tokens"), final.get("completion_tokens"))
    if got != (prompt, completion):
        message = (
            f"usage (prompt, completion) is {got}, the upstream's final counts are {(prompt, completion)}"
        )
        summed = any(isinstance(n, int) and n > m for n, m in zip(got, (prompt, completion), strict=True))
        # counts below the final ones are no sum: the native shape was mapped wrongly (the usage
        # translation rule's finding, when it fails on the exchange); a count above them is this rule's
        yield message if summed else Located(message, USAGE_COUNTS)


register(
    "STREAM-019",
    "cumulative_usage_not_summed",
    "Cumulative upstream usage gives one usage chunk equal to the upstream's final counts.",
    _usage_not_summed,
    context=RouteContext,
    given=("upstream_usage",),
    defers=USAGE_OWNERS,
    when=lambda exchange, context: exchange.status == 200 and exchange.is_stream,
)
