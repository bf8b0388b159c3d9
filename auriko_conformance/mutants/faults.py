"""The transforms a fault applies, by name: what `catalogue.yaml` entries point at.

Each transform is a `Fault` subclass registered under a name; a catalogue entry names one and gives its
arguments, so the same transform serves several faults (`ignore_routing_option` with `option: prefer`
or `option: data_policy`, `upstream_drop` with any native field). A fault acts on the side(s) it
overrides: `front_*` hooks see the client's request and the gateway's answer, `back_*` hooks see a
native upstream request and the mock's answer. The base class forwards everything unchanged (the
identity fault), and on the front it records each tagged client request in the shared ledger so that
back hooks can see what the client asked for.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

import httpx
import orjson

from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse, SSEEvent

Events = AsyncIterator[SSEEvent]
CHAT_PATH = "/v1/chat/completions"
OPENAI_FAMILY = ("openai", "deepseek", "vllm")

TRANSFORMS: dict[str, type[Fault]] = {}


def transform(name: str) -> Callable[[type[Fault]], type[Fault]]:
    def register(cls: type[Fault]) -> type[Fault]:
        if name in TRANSFORMS:
            raise ValueError(f"two transforms named {name!r}")
        cls.transform_name = name
        TRANSFORMS[name] = cls
        return cls

    return register


def build(name: str, args: dict[str, Any] | None = None, **settings: Any) -> Fault:
    """The fault object for transform `name` with its catalogue `args` and the run's `settings`."""
    fault = TRANSFORMS[name](**(args or {}))
    fault.settings = dict(settings)
    return fault


# --------------------------------------------------------------------------------------------------
# Base classes
# --------------------------------------------------------------------------------------------------


class Fault:
    """Forwards everything unchanged (the identity fault); subclasses override the hooks they need."""

    transform_name: ClassVar[str] = ""

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.settings: dict[str, Any] = {}

    async def on_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        if request.side == "front":
            tag = request.tag
            if tag is not None:
                hop.ledger.put("client", tag, request.json)
                hop.ledger.put("client-auth", tag, request.headers.get("authorization"))
            return await self.front_request(request, hop)
        return await self.back_request(request, hop)

    async def on_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if request.side == "front":
            return await self.front_response(request, response, hop)
        return await self.back_response(request, response, hop)

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        return request

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        return response

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        return request

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        return response


transform("identity")(Fault)


def is_chat(request: ProxyRequest) -> bool:
    return request.method == "POST" and request.path.rstrip("/").endswith(CHAT_PATH)


def kind_of(event: SSEEvent) -> str:
    """done | usage | chunk | error | other: the role of one gateway stream event."""
    if event.is_done:
        return "done"
    payload = event.json
    if not isinstance(payload, dict):
        return "other"
    if "error" in payload and "choices" not in payload:
        return "error"
    choices = payload.get("choices")
    if isinstance(choices, list):
        return "chunk" if choices else "usage"
    return "other"


class CompletionEdit(Fault):
    """Rewrites successful chat completions: the JSON body (`completion`) and/or the stream (`stream`)."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if not is_chat(request) or response.status != 200:
            return response
        client = request.json if isinstance(request.json, dict) else {}
        if response.events is not None:
            response.events = self.stream(response.events, client)
            return response
        body = response.json
        if isinstance(body, dict) and "choices" in body:
            response.set_json(self.completion(body, client))
        return response

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        return self.final(body, client)

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        """Edit the object that carries usage and routing_metadata (the body, or the final chunk)."""
        return final

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        """Edit one content chunk of a stream."""
        return chunk

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            kind = kind_of(event)
            if kind == "usage":
                yield event.with_json(self.final(event.copy_json(), client))
            elif kind == "chunk":
                yield event.with_json(self.chunk(event.copy_json(), client))
            else:
                yield event


def _metadata(final: dict[str, Any]) -> dict[str, Any]:
    metadata = final.get("routing_metadata")
    return metadata if isinstance(metadata, dict) else {}


def _choices(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in payload.get("choices") or [] if isinstance(c, dict)]


# --------------------------------------------------------------------------------------------------
# Stream framing and chunk order
# --------------------------------------------------------------------------------------------------


@transform("drop_usage_chunk")
class DropUsageChunk(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            if kind_of(event) != "usage":
                yield event


@transform("usage_chunk_with_choices")
class UsageChunkWithChoices(CompletionEdit):
    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        if "choices" in final and not final["choices"]:
            final["choices"] = [{"index": 0, "delta": {}, "finish_reason": None}]
        return final


@transform("usage_chunk_before_finish")
class UsageChunkBeforeFinish(CompletionEdit):
    """The finish chunk is held back and sent after the usage chunk."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        held: list[SSEEvent] = []
        async for event in events:
            kind = kind_of(event)
            if kind == "chunk" and any(c.get("finish_reason") for c in _choices(event.json)):
                held.append(event)
                continue
            if kind == "usage":
                yield event
                for item in held:
                    yield item
                held = []
                continue
            if kind == "done":
                for item in held:
                    yield item
                held = []
            yield event
        for item in held:
            yield item


@transform("usage_on_every_chunk")
class UsageOnEveryChunk(CompletionEdit):
    """Running usage counts on every content chunk (continuous usage stats passed through)."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        count = 0
        async for event in events:
            if kind_of(event) == "chunk":
                count += 1
                chunk = event.copy_json()
                chunk["usage"] = {"prompt_tokens": 0, "completion_tokens": count, "total_tokens": count}
                yield event.with_json(chunk)
            else:
                yield event


@transform("usage_chunk_twice")
class UsageChunkTwice(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            yield event
            if kind_of(event) == "usage":
                yield event


@transform("done_missing")
class DoneMissing(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            if not event.is_done:
                yield event


@transform("done_twice")
class DoneTwice(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            yield event
            if event.is_done:
                yield event


@transform("data_after_done")
class DataAfterDone(CompletionEdit):
    """A copy of the usage chunk follows `[DONE]`."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        usage: SSEEvent | None = None
        async for event in events:
            yield event
            if kind_of(event) == "usage":
                usage = event
            if event.is_done and usage is not None:
                yield usage


@transform("finish_reason_twice")
class FinishReasonTwice(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            yield event
            if kind_of(event) == "chunk":
                chunk = event.copy_json()
                finished = [c for c in _choices(chunk) if c.get("finish_reason")]
                if finished:
                    chunk["choices"] = [
                        {"index": c.get("index"), "delta": {}, "finish_reason": c["finish_reason"]}
                        for c in finished
                    ]
                    yield event.with_json(chunk)


@transform("finish_reason_never")
class FinishReasonNever(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            if choice.get("finish_reason") is not None:
                choice["finish_reason"] = None
        return chunk


@transform("role_on_every_delta")
class RoleOnEveryDelta(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            if isinstance(choice.get("delta"), dict):
                choice["delta"]["role"] = "assistant"
        return chunk


@transform("role_missing")
class RoleMissing(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            if isinstance(choice.get("delta"), dict):
                choice["delta"].pop("role", None)
        return chunk


@transform("chunk_ids_change")
class ChunkIdsChange(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        number = 0
        async for event in events:
            if kind_of(event) in ("chunk", "usage"):
                number += 1
                payload = event.copy_json()
                payload["id"] = f"{payload.get('id')}-{number}"
                yield event.with_json(payload)
            else:
                yield event


@transform("sse_framing_broken")
class SseFramingBroken(CompletionEdit):
    """Events end with a single newline instead of a blank line (they run together for strict readers)."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            if event.data is None:
                yield event
            else:
                yield SSEEvent(raw=f"data: {event.data}\n".encode(), data=event.data)


@transform("keepalive_as_data")
class KeepaliveAsData(CompletionEdit):
    """An upstream `ping` is passed on as a data event after the first chunk."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        sent = False
        async for event in events:
            yield event
            if not sent and kind_of(event) == "chunk":
                sent = True
                yield SSEEvent.of({"type": "ping"})


@transform("stream_text_changed")
class StreamTextChanged(CompletionEdit):
    """The second content delta loses its text: the joined stream differs from the non-stream answer."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        seen = 0
        async for event in events:
            if kind_of(event) == "chunk":
                chunk = event.copy_json()
                changed = False
                for choice in _choices(chunk):
                    delta = choice.get("delta") or {}
                    if isinstance(delta.get("content"), str) and delta["content"]:
                        seen += 1
                        if seen == 2:
                            delta["content"] = ""
                            changed = True
                if changed:
                    yield event.with_json(chunk)
                    continue
            yield event


@transform("stream_buffered")
class StreamBuffered(CompletionEdit):
    """The whole stream is held back and sent in one piece once the upstream has finished."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        held = [event async for event in events]
        for event in held:
            yield event


@transform("stream_content_type")
class StreamContentType(Fault):
    """A stream is labelled application/json."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if is_chat(request) and response.events is not None:
            response.headers["content-type"] = "application/json"
        return response


@transform("mid_stream_error_swallowed")
class MidStreamErrorSwallowed(CompletionEdit):
    """A mid-stream error event becomes a clean finish: stop, a usage chunk, `[DONE]`."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        last: dict[str, Any] = {}
        async for event in events:
            kind = kind_of(event)
            if kind == "chunk":
                last = event.json
            if kind != "error":
                yield event
                continue
            head = {k: last.get(k) for k in ("id", "object", "created", "model")} if last else {}
            head.setdefault("object", "chat.completion.chunk")
            yield SSEEvent.of({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            model = str(head.get("model") or "unknown")
            metadata = {
                "provider": "openai",
                "provider_model_id": model,
                "model_canonical": str(client.get("model") or model),
                "routing_strategy": "cost-focus",
            }
            yield SSEEvent.of({**head, "choices": [], "usage": usage, "routing_metadata": metadata})
            yield SSEEvent.of("[DONE]")
            return


@transform("mid_stream_error_as_string")
class MidStreamErrorAsString(CompletionEdit):
    """The mid-stream error event carries a bare message string instead of an error object."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            if kind_of(event) == "error":
                error = event.json.get("error")
                message = error.get("message") if isinstance(error, dict) else str(error)
                yield event.with_json({"error": message or "upstream failed"})
            else:
                yield event


@transform("done_after_error")
class DoneAfterError(CompletionEdit):
    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        failed = False
        async for event in events:
            failed = failed or kind_of(event) == "error"
            yield event
        if failed:
            yield SSEEvent.of("[DONE]")


@transform("pre_stream_error_as_stream")
class PreStreamErrorAsStream(Fault):
    """An error known before the first byte of a stream is sent as HTTP 200 with one error event."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        client = request.json if isinstance(request.json, dict) else {}
        if not is_chat(request) or client.get("stream") is not True or response.status < 400:
            return response
        payload = response.json if isinstance(response.json, dict) else {"error": {"message": "failed"}}

        async def events() -> AsyncIterator[SSEEvent]:
            yield SSEEvent.of(payload)

        headers = httpx.Headers({k: v for k, v in response.headers.items() if k != "content-type"})
        headers["content-type"] = "text/event-stream"
        return ProxyResponse(200, headers, events=events())


@transform("stream_logprobs_dropped")
class StreamLogprobsDropped(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            choice.pop("logprobs", None)
        return chunk


@transform("stream_routing_metadata_everywhere")
class StreamRoutingMetadataEverywhere(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        model = str(chunk.get("model") or "unknown")
        chunk["routing_metadata"] = {
            "provider": "auriko",
            "provider_model_id": model,
            "model_canonical": model,
            "routing_strategy": "cost-focus",
        }
        return chunk


# --------------------------------------------------------------------------------------------------
# Tool calls
# --------------------------------------------------------------------------------------------------


def _tool_deltas(chunk: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for choice in _choices(chunk):
        for delta in (choice.get("delta") or {}).get("tool_calls") or []:
            if isinstance(delta, dict):
                yield choice, delta


@transform("tool_calls_on_index_0")
class ToolCallsOnIndexZero(CompletionEdit):
    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for _, delta in _tool_deltas(chunk):
            delta["index"] = 0
        return chunk


@transform("tool_arguments_fragment_lost")
class ToolArgumentsFragmentLost(CompletionEdit):
    """The first non-empty argument fragment of each streamed tool call is lost (invalid JSON)."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        dropped: set[tuple[Any, Any]] = set()
        async for event in events:
            if kind_of(event) != "chunk":
                yield event
                continue
            chunk = event.copy_json()
            changed = False
            for choice, delta in _tool_deltas(chunk):
                key = (choice.get("index"), delta.get("index"))
                function = delta.get("function") or {}
                if key not in dropped and function.get("arguments"):
                    dropped.add(key)
                    function["arguments"] = ""
                    changed = True
            yield event.with_json(chunk) if changed else event


@transform("tool_fragments_repeat_header")
class ToolFragmentsRepeatHeader(CompletionEdit):
    """Later fragments of a streamed tool call carry `id`, `type` and `name` again, as nulls."""

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        started: set[tuple[Any, Any]] = set()
        async for event in events:
            if kind_of(event) != "chunk":
                yield event
                continue
            chunk = event.copy_json()
            changed = False
            for choice, delta in _tool_deltas(chunk):
                key = (choice.get("index"), delta.get("index"))
                if key in started:
                    delta.update(id=None, type=None)
                    delta.setdefault("function", {})["name"] = None
                    changed = True
                started.add(key)
            yield event.with_json(chunk) if changed else event


@transform("tool_call_id_empty")
class ToolCallIdEmpty(CompletionEdit):
    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            for call in (choice.get("message") or {}).get("tool_calls") or []:
                call["id"] = ""
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for _, delta in _tool_deltas(chunk):
            if "id" in delta:
                delta["id"] = ""
        return chunk


@transform("tool_call_ids_shared")
class ToolCallIdsShared(CompletionEdit):
    """Every tool call of an answer carries the same id."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            for call in (choice.get("message") or {}).get("tool_calls") or []:
                call["id"] = "call_shared"
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for _, delta in _tool_deltas(chunk):
            if delta.get("id"):
                delta["id"] = "call_shared"
        return chunk


@transform("tool_arguments_as_object")
class ToolArgumentsAsObject(CompletionEdit):
    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            for call in (choice.get("message") or {}).get("tool_calls") or []:
                function = call.get("function") or {}
                try:
                    function["arguments"] = orjson.loads(function.get("arguments") or "{}")
                except orjson.JSONDecodeError:
                    function["arguments"] = {}
        return body


@transform("empty_arguments_not_normalised")
class EmptyArgumentsNotNormalised(CompletionEdit):
    """A tool call without arguments comes back as `""` instead of `"{}"`."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            for call in (choice.get("message") or {}).get("tool_calls") or []:
                function = call.get("function") or {}
                if (function.get("arguments") or "").replace(" ", "") == "{}":
                    function["arguments"] = ""
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for _, delta in _tool_deltas(chunk):
            function = delta.get("function") or {}
            if (function.get("arguments") or "").replace(" ", "") == "{}":
                function["arguments"] = ""
        return chunk


@transform("tool_choice_none_ignored")
class ToolChoiceNoneIgnored(CompletionEdit):
    """With `tool_choice: none`, the answer still calls the first declared tool."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        tools = client.get("tools") or []
        if client.get("tool_choice") != "none" or not tools:
            return body
        name = ((tools[0] or {}).get("function") or {}).get("name", "tool")
        for choice in _choices(body):
            message = choice.setdefault("message", {})
            message["tool_calls"] = [
                {"id": "call_mutant_1", "type": "function", "function": {"name": name, "arguments": "{}"}}
            ]
            choice["finish_reason"] = "tool_calls"
        return body


@transform("json_answer_as_tool_call")
class JsonAnswerAsToolCall(CompletionEdit):
    """A json_schema answer comes back as a call of a tool named after the schema (the forced-tool trick
    leaking out) instead of as content."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        response_format = client.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            return body
        name = (response_format.get("json_schema") or {}).get("name") or "json"
        for choice in _choices(body):
            message = choice.get("message") or {}
            if isinstance(message.get("content"), str):
                call = {"id": "call_json", "type": "function", "function": {"name": name}}
                call["function"]["arguments"] = message["content"]
                message.update(content=None, tool_calls=[call])
                choice["finish_reason"] = "tool_calls"
        return body


@transform("truncation_as_tool_calls")
class TruncationAsToolCalls(CompletionEdit):
    """A tool call cut by the token limit is reported as `tool_calls`, not `length`."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            if choice.get("finish_reason") == "length" and (choice.get("message") or {}).get("tool_calls"):
                choice["finish_reason"] = "tool_calls"
        return body

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        calling: set[Any] = set()
        async for event in events:
            if kind_of(event) != "chunk":
                yield event
                continue
            chunk = event.copy_json()
            for choice, _ in _tool_deltas(chunk):
                calling.add(choice.get("index"))
            changed = False
            for choice in _choices(chunk):
                if choice.get("finish_reason") == "length" and choice.get("index") in calling:
                    choice["finish_reason"] = "tool_calls"
                    changed = True
            yield event.with_json(chunk) if changed else event


# --------------------------------------------------------------------------------------------------
# Choices, finish reasons, reasoning, logprobs
# --------------------------------------------------------------------------------------------------


@transform("finish_reason_null")
class FinishReasonNull(CompletionEdit):
    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            choice["finish_reason"] = None
        return body


@transform("finish_reason_native")
class FinishReasonNative(CompletionEdit):
    """The provider's own finish reason (`end_turn`, `MAX_TOKENS`, ...) is passed through unmapped."""

    NATIVE: ClassVar[dict[str, str]] = {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "refusal",
    }

    def _map(self, choice: dict[str, Any]) -> None:
        reason = choice.get("finish_reason")
        if reason is not None:
            native = choice.get("native_finish_reason")
            choice["finish_reason"] = (
                native if native and native != reason else self.NATIVE.get(reason, reason)
            )

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            self._map(choice)
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            self._map(choice)
        return chunk


@transform("choices_collapsed")
class ChoicesCollapsed(CompletionEdit):
    """`n > 1` answers come back with the first choice only."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        body["choices"] = _choices(body)[:1]
        return body

    async def stream(self, events: Events, client: dict[str, Any]) -> Events:
        async for event in events:
            if kind_of(event) == "chunk":
                chunk = event.copy_json()
                kept = [c for c in _choices(chunk) if c.get("index") == 0]
                if not kept:
                    continue
                if len(kept) != len(chunk["choices"]):
                    chunk["choices"] = kept
                    yield event.with_json(chunk)
                    continue
            yield event


@transform("reasoning_in_content")
class ReasoningInContent(CompletionEdit):
    """Reasoning text is merged into the answer's content."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            message = choice.get("message") or {}
            reasoning = message.pop("reasoning_content", None)
            if reasoning:
                message["content"] = f"{reasoning}{message.get('content') or ''}"
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            delta = choice.get("delta") or {}
            reasoning = delta.pop("reasoning_content", None)
            if reasoning:
                delta["content"] = f"{reasoning}{delta.get('content') or ''}"
        return chunk


@transform("top_logprobs_null")
class TopLogprobsNull(CompletionEdit):
    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(body):
            logprobs = choice.get("logprobs")
            for entry in (logprobs or {}).get("content") or [] if isinstance(logprobs, dict) else []:
                if isinstance(entry, dict):
                    entry["top_logprobs"] = None
        return body


# --------------------------------------------------------------------------------------------------
# usage and routing_metadata
# --------------------------------------------------------------------------------------------------


@transform("usage_edit")
class UsageEdit(CompletionEdit):
    """Scale `completion_tokens` (`completion_factor`), add to `total_tokens` (`total_delta`), leave
    reasoning out of completion_tokens (`reasoning_out`), lose the cached-token details (`drop_cached`)."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        usage = final.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            factor = int(self.args.get("completion_factor", 1))
            usage["completion_tokens"] *= factor
            if self.args.get("reasoning_out"):
                details = usage.get("completion_tokens_details") or {}
                usage["completion_tokens"] -= int(details.get("reasoning_tokens") or 0)
            if self.args.get("drop_cached"):
                usage.pop("prompt_tokens_details", None)
            usage["total_tokens"] = int(usage.get("prompt_tokens") or 0) + usage["completion_tokens"]
            usage["total_tokens"] += int(self.args.get("total_delta", 0))
        return final


@transform("cost_edit")
class CostEdit(CompletionEdit):
    """`factor` scales cost.usd; `savings_zero` reports zero cache savings on every answer."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        cost = _metadata(final).get("cost")
        if isinstance(cost, dict) and isinstance(cost.get("usd"), int | float):
            cost["usd"] = cost["usd"] * float(self.args.get("factor", 1))
            if self.args.get("savings_zero"):
                cost.update(cache_savings_percent=0, cache_savings_usd=0.0)
        return final


@transform("metadata_edit")
class MetadataEdit(CompletionEdit):
    """Edit routing_metadata: `drop` keys, `set` values, `copy` one field's value into another
    (`{to: from}`), `wrap_list` a value in a list."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        if self.args.get("drop_object") and (final.get("object") == "chat.completion"):
            final.pop("routing_metadata", None)
            return final
        metadata = _metadata(final)
        if not metadata:
            return final
        for key in self.args.get("drop", []):
            metadata.pop(key, None)
        for key, value in (self.args.get("set") or {}).items():
            metadata[key] = value
        for key, source in (self.args.get("copy") or {}).items():
            if source in metadata:
                metadata[key] = metadata[source]
        for key in self.args.get("wrap_list", []):
            if key in metadata:
                metadata[key] = [metadata[key]]
        return final


@transform("completion_fields")
class CompletionFields(CompletionEdit):
    """`set` top-level fields of non-stream completions; `choice_drop` keys of every choice (body and
    stream chunks)."""

    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        body.update(copy.deepcopy(self.args.get("set") or {}))
        for choice in _choices(body):
            for key in self.args.get("choice_drop", []):
                choice.pop(key, None)
        return body

    def chunk(self, chunk: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        for choice in _choices(chunk):
            for key in self.args.get("choice_drop", []):
                choice.pop(key, None)
        return chunk


@transform("stripped_values_echoed")
class StrippedValuesEchoed(CompletionEdit):
    """Each string the client put under `extensions` is quoted back in a warning."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        values: list[str] = []

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                for value in node.values():
                    collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)
            elif isinstance(node, str) and len(node) >= 8:
                values.append(node)

        collect(client.get("extensions"))
        if metadata and values:
            metadata.setdefault("warnings", []).extend(
                {"type": "blocked_field", "code": "blocked_field", "message": f"removed {v!r}"}
                for v in values
            )
        return final


@transform("ttft_on_non_stream")
class TtftOnNonStream(CompletionEdit):
    def completion(self, body: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        if _metadata(body):
            body["routing_metadata"]["ttft_ms"] = 12.5
        return body


@transform("routing_strategy_constant")
class RoutingStrategyConstant(CompletionEdit):
    """routing_strategy is always `value`, or only when the request named no strategy (`when_default`)."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        if not metadata:
            return final
        if self.args.get("when_default"):
            routing = (client.get("gateway") or {}).get("routing") or {}
            model = str(client.get("model") or "")
            if routing.get("optimize") or routing.get("weights") or model.count(":") == 1:
                return final
        metadata["routing_strategy"] = self.args.get("value", "cost-focus")
        return final


@transform("model_canonical_unresolved")
class ModelCanonicalUnresolved(CompletionEdit):
    """model_canonical echoes the model ID the client sent (alias and suffix kept)."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        if metadata and isinstance(client.get("model"), str):
            metadata["model_canonical"] = client["model"]
        return final


@transform("provider_misreported")
class ProviderMisreported(CompletionEdit):
    """routing_metadata.provider names another provider than the one that answered."""

    OTHER: ClassVar[dict[str, str]] = {
        "openai": "anthropic",
        "anthropic": "openai",
        "google": "vllm",
        "gemini": "vllm",
        "deepseek": "openai",
        "vllm": "vllm-b",
        "vllm-b": "vllm",
    }

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        if isinstance(metadata.get("provider"), str):
            metadata["provider"] = self.OTHER.get(metadata["provider"], "openai")
        return final


@transform("warnings_edit")
class WarningsEdit(CompletionEdit):
    """`mode`: drop (no warnings), strings (plain-string items), untyped (no `type`)."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        warnings = metadata.get("warnings")
        if not isinstance(warnings, list):
            return final
        mode = self.args.get("mode", "drop")
        if mode == "drop":
            metadata.pop("warnings")
        elif mode == "strings":
            metadata["warnings"] = [w.get("message", str(w)) if isinstance(w, dict) else w for w in warnings]
        elif mode == "untyped":
            for warning in warnings:
                if isinstance(warning, dict):
                    warning.pop("type", None)
        return final


@transform("internal_fields_leak")
class InternalFieldsLeak(CompletionEdit):
    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        metadata = _metadata(final)
        if metadata:
            metadata.update(candidates_total=2, candidates_viable=2, score=0.5)
        return final


@transform("gateway_metadata_echoed")
class GatewayMetadataEchoed(CompletionEdit):
    """The client's gateway.metadata comes back inside routing_metadata."""

    def final(self, final: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
        echoed = (client.get("gateway") or {}).get("metadata")
        metadata = _metadata(final)
        if metadata and isinstance(echoed, dict):
            metadata["metadata"] = echoed
        return final


# --------------------------------------------------------------------------------------------------
# Errors and headers
# --------------------------------------------------------------------------------------------------


class ErrorEdit(Fault):
    """Rewrites JSON error responses (4xx/5xx with an `error` object)."""

    statuses: ClassVar[frozenset[int] | None] = None

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status < 400 or response.events is not None:
            return response
        if self.statuses is not None and response.status not in self.statuses:
            return response
        body = response.json
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return response
        return self.edit(request, response, body) or response

    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        return None


@transform("error_envelope_flattened")
class ErrorEnvelopeFlattened(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        response.set_json(body["error"])
        return response


@transform("error_details_nested")
class ErrorDetailsNested(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        error = body["error"]
        error["details"] = [{"reason": error.get("code"), "message": error.get("message")}]
        response.set_json(body)
        return response


@transform("error_status_200")
class ErrorStatus200(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        response.status = 200
        return response


@transform("error_type_swapped")
class ErrorTypeSwapped(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        error = body["error"]
        error["type"] = "invalid_request_error" if error.get("type") == "api_error" else "api_error"
        response.headers["x-error-type"] = error["type"]
        response.set_json(body)
        return response


LEGACY_CODES = {
    "model_not_found": "not_found",
    "resource_not_found": "not_found",
    "upstream_error": "provider_error",
    "service_unavailable": "gateway_unavailable",
    "no_compatible_endpoint": "no_providers_available",
    "unknown_field": "unknown_parameter",
    "cost_constraint_exceeded": "routing_constraint_unsatisfiable",
    "latency_constraint_exceeded": "routing_constraint_unsatisfiable",
    "throughput_constraint_not_met": "routing_constraint_unsatisfiable",
    "vision_not_supported": "capability_mismatch",
    "tools_not_supported": "capability_mismatch",
    "budget_exhausted": "budget_exceeded",
}


@transform("legacy_error_codes")
class LegacyErrorCodes(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        error = body["error"]
        code = error.get("code")
        if code not in LEGACY_CODES:
            return None
        error["code"] = LEGACY_CODES[code]
        error.pop("doc_url", None)
        response.set_json(body)
        return response


@transform("error_content_type")
class ErrorContentType(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        response.headers["content-type"] = str(self.args.get("content_type", "text/plain"))
        return response


@transform("error_status_mapped")
class ErrorStatusMapped(ErrorEdit):
    """Errors of status `from_status` (and code `when_code`) are sent as `to_status` with `code`, `type`."""

    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        if response.status != int(self.args["from_status"]):
            return None
        error = body["error"]
        if self.args.get("when_code") is not None and error.get("code") != self.args["when_code"]:
            return None
        response.status = int(self.args["to_status"])
        error["code"] = self.args.get("code", error.get("code"))
        error["type"] = self.args.get("type", error.get("type"))
        if error.get("code"):
            error["doc_url"] = f"https://docs.auriko.ai/errors/{error['code']}"
        response.headers["x-error-type"] = str(error["type"])
        response.set_json(body)
        return response


@transform("error_fields")
class ErrorFields(ErrorEdit):
    """`drop` keys of the error object, or `set` them, on errors with code `when_code` (any when unset)."""

    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        error = body["error"]
        when = self.args.get("when_code")
        if when is not None and error.get("code") != when:
            return None
        for key in self.args.get("drop", []):
            error.pop(key, None)
        error.update(copy.deepcopy(self.args.get("set") or {}))
        response.set_json(body)
        return response


@transform("upstream_error_shape_leaked")
class UpstreamErrorShapeLeaked(ErrorEdit):
    """A 502 carries the provider's own error body (Anthropic's shape) instead of the envelope."""

    statuses = frozenset({502})

    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        message = body["error"].get("message") or "upstream failed"
        response.set_json({"type": "error", "error": {"type": "api_error", "message": message}})
        return response


@transform("routing_metadata_on_errors")
class RoutingMetadataOnErrors(ErrorEdit):
    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        body["error"]["routing_metadata"] = {"provider": "openai", "routing_strategy": "cost-focus"}
        response.set_json(body)
        return response


@transform("header_edit")
class HeaderEdit(Fault):
    """Edit response headers: `drop` names, `set` values; only for `statuses` / non-stream chat answers
    (`only_completions`) when given."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        statuses = self.args.get("statuses")
        if statuses and response.status not in statuses:
            return response
        if self.args.get("only_completions") and (not is_chat(request) or response.events is not None):
            return response
        for name in self.args.get("drop", []):
            if name in response.headers:
                del response.headers[name]
        for name, value in (self.args.get("set") or {}).items():
            if self.args.get("only_present") and name not in response.headers:
                continue
            response.headers[name] = str(value)
        return response


@transform("ratelimit_remaining_above_limit")
class RatelimitRemainingAboveLimit(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        limit = response.headers.get("x-ratelimit-limit-requests")
        if limit and limit.isdigit():
            response.headers["x-ratelimit-remaining-requests"] = str(int(limit) + 1)
        return response


@transform("late_error")
class LateError(ErrorEdit):
    """Errors of `status` are held `seconds` before they are sent (a deadline overrun)."""

    def edit(
        self, request: ProxyRequest, response: ProxyResponse, body: dict[str, Any]
    ) -> ProxyResponse | None:
        if response.status != int(self.args.get("status", 504)):
            return None
        response.delay_s = float(self.args.get("seconds", 2.0))
        return response


@transform("unknown_path_html")
class UnknownPathHtml(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status == 404 and not is_chat(request) and "/models/" not in request.path:
            response.headers["content-type"] = "text/html"
            response.body = b"<html><body><h1>404 Not Found</h1></body></html>"
        return response


# --------------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------------


@transform("auth_not_enforced")
class AuthNotEnforced(Fault):
    """Any key, or none, is accepted: the proxy sends the valid key on the client's behalf."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        key = self.settings.get("api_key")
        if key and request.headers.get("authorization") != f"Bearer {key}":
            request.headers["authorization"] = f"Bearer {key}"
        return request


@transform("client_key_forwarded")
class ClientKeyForwarded(Fault):
    """The client's own Authorization goes upstream in place of the provider key."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        auth = hop.ledger.get("client-auth", request.tag)
        if isinstance(auth, str) and auth:
            token = auth.removeprefix("Bearer ").strip()
            for name in ("x-api-key", "x-goog-api-key"):
                if name in request.headers:
                    request.headers[name] = token
            if "authorization" in request.headers or not any(
                n in request.headers for n in ("x-api-key", "x-goog-api-key")
            ):
                request.headers["authorization"] = f"Bearer {token}"
        return request


@transform("provider_key_leaked")
class ProviderKeyLeaked(Fault):
    """The provider key the gateway used upstream comes back to the client: in a debug header, or
    (`where: message`) quoted in error messages."""

    NAMES: ClassVar[tuple[str, ...]] = ("authorization", "x-api-key", "x-goog-api-key")

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        for name in self.NAMES:
            if request.headers.get(name):
                hop.ledger.put("upstream-key", request.tag, request.headers[name].removeprefix("Bearer "))
                break
        return request

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        key = hop.ledger.get("upstream-key", request.tag)
        if not key:
            return response
        if self.args.get("where") != "message":
            response.headers["x-debug-upstream-key"] = key
            return response
        error = response.json.get("error") if isinstance(response.json, dict) else None
        if isinstance(error, dict):
            error["message"] = f"{error.get('message')} (upstream key {key})"
            response.set_json({**response.json, "error": error})
        return response


# --------------------------------------------------------------------------------------------------
# Models endpoints
# --------------------------------------------------------------------------------------------------


@transform("models_edit")
class ModelsEdit(Fault):
    """`owned_by` in the listing, a `phantom` model listed, listing keys dropped (`drop_keys`),
    `unknown_200` (unknown IDs found), `alias_kept` (an alias is not resolved)."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        path = request.path.rstrip("/")
        if request.method != "GET" or not path.startswith("/v1/models"):
            return response
        body = response.json
        if path == "/v1/models":
            owned_by = self.args.get("owned_by")
            phantom = self.args.get("phantom")
            if response.status == 200 and isinstance(body, dict):
                for key in self.args.get("drop_keys", []):
                    body.pop(key, None)
                for item in body.get("data") or []:
                    item["owned_by"] = owned_by or item.get("owned_by")
                if phantom:
                    entry = {"id": phantom, "object": "model", "created": 1700000000, "owned_by": "auriko"}
                    body.setdefault("data", []).append(entry)
                response.set_json(body)
            return response
        requested = path.removeprefix("/v1/models/")
        if self.args.get("unknown_200") and response.status == 404:
            item = {"id": requested, "object": "model", "created": 0, "owned_by": "auriko"}
            return ProxyResponse.of_json(
                200, item, {"x-request-id": response.headers.get("x-request-id", "")}
            )
        if self.args.get("alias_kept") and response.status == 200 and isinstance(body, dict):
            body["id"] = requested
            response.set_json(body)
        return response


@transform("me_shape_broken")
class MeShapeBroken(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if request.path.rstrip("/") == "/v1/me" and response.status == 200:
            response.set_json({"key": "ak_***", "ok": True})
        return response


# --------------------------------------------------------------------------------------------------
# Request validation: the gateway lets invalid requests through
# --------------------------------------------------------------------------------------------------

RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "min_p": (0, 1),
    "top_a": (0, 1),
    "presence_penalty": (-2, 2),
    "frequency_penalty": (-2, 2),
    "max_tokens": (1, float("inf")),
    "max_completion_tokens": (1, float("inf")),
    "top_k": (1, float("inf")),
    "n": (1, 10),
    "top_logprobs": (0, 20),
}


class ClientBodyEdit(Fault):
    """Rewrites the client's chat request before the gateway sees it (the gateway 'ignores' something)."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        if is_chat(request) and isinstance(body, dict):
            edited = self.edit(copy.deepcopy(body))
            if edited is not None:
                request.set_json(edited)
        return request

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None


@transform("out_of_range_clamped")
class OutOfRangeClamped(ClientBodyEdit):
    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        for name, (low, high) in RANGES.items():
            value = body.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and not low <= value <= high:
                clamped = min(max(value, low), high)
                body[name] = int(clamped) if isinstance(value, int) else clamped
                changed = True
        return body if changed else None


@transform("invalid_enums_defaulted")
class InvalidEnumsDefaulted(ClientBodyEdit):
    ENUMS: ClassVar[dict[str, tuple[set[str], str]]] = {
        "reasoning_effort": ({"low", "medium", "high", "xhigh", "max", "off"}, "medium"),
        "verbosity": ({"low", "medium", "high"}, "medium"),
    }

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        for name, (allowed, default) in self.ENUMS.items():
            if name in body and body[name] not in allowed:
                body[name] = default
                changed = True
        return body if changed else None


@transform("wrong_types_coerced")
class WrongTypesCoerced(ClientBodyEdit):
    """Values of the wrong JSON type are coerced or dropped instead of rejected."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        for name in ("temperature", "top_p", "seed", "max_tokens", "n"):
            value = body.get(name)
            if isinstance(value, str) or (name in ("seed", "max_tokens", "n") and isinstance(value, float)):
                try:
                    number = float(value)
                    body[name] = int(number) if name in ("seed", "max_tokens", "n") else number
                except ValueError:
                    del body[name]
                changed = True
        for name in ("stream", "logprobs"):
            if isinstance(body.get(name), str):
                body[name] = body[name].lower() in ("true", "yes", "1")
                changed = True
        if isinstance(body.get("messages"), dict):
            body["messages"] = [body["messages"]]
            changed = True
        return body if changed else None


@transform("ignore_routing_option")
class IgnoreRoutingOption(ClientBodyEdit):
    """The gateway ignores `gateway.routing.<option>`: it routes as if the option were absent."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        routing = (body.get("gateway") or {}).get("routing")
        option = self.args["option"]
        if not isinstance(routing, dict) or option not in routing:
            return None
        del routing[option]
        if not routing:
            del body["gateway"]["routing"]
        if not body["gateway"]:
            del body["gateway"]
        return body


@transform("set_routing_option")
class SetRoutingOption(ClientBodyEdit):
    """The gateway acts as if `gateway.routing.<option>` were `value` (`only_multi`: with gateway.models)."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        gateway = body.get("gateway")
        if self.args.get("only_multi") and not (isinstance(gateway, dict) and gateway.get("models")):
            return None
        routing = body.setdefault("gateway", {}).setdefault("routing", {})
        if not isinstance(routing, dict) or routing.get(self.args["option"]) == self.args["value"]:
            return None
        routing[self.args["option"]] = self.args["value"]
        return body


@transform("client_drop")
class ClientDrop(ClientBodyEdit):
    """The gateway ignores the client's `path` (`*` wildcards): only when it `equals` a value, or when
    another path (`when`) is present."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        when = self.args.get("when")
        if when and not lookup(body, when):
            return None
        changed = False
        for parent, key in list(walk(body, _split(self.args["path"]))):
            if "equals" in self.args and parent[key] != self.args["equals"]:
                continue
            del parent[key]
            changed = True
        return body if changed else None


GATEWAY_KEYS = {
    "": {"models", "routing", "metadata"},
    "routing": {
        "optimize", "mode", "weights", "providers", "exclude_providers", "prefer", "allow_fallbacks",
        "max_fallback_attempts", "timeout_ms", "deadline_ms", "data_policy", "max_cost_per_1m",
        "max_ttft_ms", "ttft_percentile", "min_throughput_tps", "throughput_percentile",
        "require_parameters", "only_byok", "only_platform", "tier",
    },
    "metadata": {"tags", "user_id", "trace_id", "custom_fields"},
}  # fmt: skip
ROUTING_VALUES = {
    "optimize": {"cost", "cost-focus", "ttft", "ttft-focus", "tps", "tps-focus", "balanced"},
    "mode": {"pool", "fallback"},
    "data_policy": {"none", "no_training", "zdr"},
    "ttft_percentile": {"p50", "p95"},
    "throughput_percentile": {"p50", "p95"},
}
POSITIVE = ("max_cost_per_1m", "max_ttft_ms", "min_throughput_tps", "timeout_ms", "deadline_ms")


@transform("lenient_validation")
class LenientValidation(ClientBodyEdit):
    """The gateway repairs an invalid request instead of refusing it; `rule` says which part:
    tool_choice, response_format, roles, both_models, gateway_keys, routing_values, extensions."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        rule = self.args["rule"]
        before = orjson.dumps(body)
        getattr(self, f"_{rule}")(body)
        return body if orjson.dumps(body) != before else None

    def _tool_choice(self, body: dict[str, Any]) -> None:
        if isinstance(body.get("tool_choice"), str) and body["tool_choice"] not in (
            "auto",
            "none",
            "required",
        ):
            body["tool_choice"] = "auto"
        tools = body.get("tools")
        if isinstance(tools, list):
            kept = [t for t in tools if isinstance(t, dict) and t.get("type") == "function"]
            kept = [t for t in kept if (t.get("function") or {}).get("name")]
            if kept:
                body["tools"] = kept
            else:
                del body["tools"]
                body.pop("tool_choice", None)

    def _response_format(self, body: dict[str, Any]) -> None:
        rf = body.get("response_format")
        if not isinstance(rf, dict):
            return
        schema = rf.get("json_schema") if isinstance(rf.get("json_schema"), dict) else {}
        if rf.get("type") not in ("text", "json_object", "json_schema") or (
            rf.get("type") == "json_schema" and not (schema.get("name") and "schema" in schema)
        ):
            del body["response_format"]

    def _roles(self, body: dict[str, Any]) -> None:
        for message in body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            if message.get("role") not in ("system", "developer", "user", "assistant", "tool", "function"):
                message["role"] = "user"
            if message.get("role") == "tool" and "tool_call_id" not in message:
                message["role"] = "user"
            if isinstance(message.get("content"), list):
                message["content"] = [
                    p
                    for p in message["content"]
                    if isinstance(p, dict) and p.get("type") in ("text", "image_url")
                ]
                for part in message["content"]:
                    part.pop("cache_control", None)
                    if isinstance(part.get("image_url"), dict):
                        part["image_url"].pop("detail", None)

    def _both_models(self, body: dict[str, Any]) -> None:
        gateway = body.get("gateway")
        if "model" in body and isinstance(gateway, dict) and "models" in gateway:
            del gateway["models"]

    def _gateway_keys(self, body: dict[str, Any]) -> None:
        gateway = body.get("gateway")
        if not isinstance(gateway, dict):
            return
        for key in [k for k in gateway if k not in GATEWAY_KEYS[""]]:
            del gateway[key]
        for section in ("routing", "metadata"):
            part = gateway.get(section)
            if isinstance(part, dict):
                for key in [k for k in part if k not in GATEWAY_KEYS[section]]:
                    del part[key]

    def _routing_values(self, body: dict[str, Any]) -> None:
        routing = (body.get("gateway") or {}).get("routing")
        if not isinstance(routing, dict):
            return
        for key, allowed in ROUTING_VALUES.items():
            if key in routing and routing[key] not in allowed:
                del routing[key]
        for key in POSITIVE:
            value = routing.get(key)
            if isinstance(value, int | float) and value <= 0:
                del routing[key]
        if routing.get("only_byok") and routing.get("only_platform"):
            del routing["only_platform"]

    def _extensions(self, body: dict[str, Any]) -> None:
        extensions = body.get("extensions")
        if not isinstance(extensions, dict):
            return
        for name in [k for k, v in extensions.items() if not isinstance(v, dict)]:
            del extensions[name]
        for value in extensions.values():
            value.pop("service_tier", None)


@transform("ignore_model_suffix")
class IgnoreModelSuffix(ClientBodyEdit):
    SUFFIXES: ClassVar[frozenset[str]] = frozenset(
        {"cost-focus", "cost", "ttft-focus", "ttft", "tps-focus", "tps", "balanced"}
    )

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        model = body.get("model")
        if isinstance(model, str) and model.count(":") == 1 and model.split(":")[1] in self.SUFFIXES:
            body["model"] = model.split(":")[0]
            return body
        return None


class ResendOnError(Fault):
    """When the gateway refuses with one of `codes`, send a relaxed request instead and return that."""

    codes: ClassVar[frozenset[str]] = frozenset()

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        body = request.json
        error = response.json.get("error") if isinstance(response.json, dict) else None
        if not is_chat(request) or not isinstance(body, dict) or not isinstance(error, dict):
            return response
        if error.get("code") not in self.codes:
            return response
        relaxed = self.relax(copy.deepcopy(body), error)
        retry = ProxyRequest("front", request.method, request.path, request.query, request.headers, b"")
        retry.set_json(relaxed)
        return await hop.forward(retry)

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        return body


@transform("constraints_not_enforced")
class ConstraintsNotEnforced(ResendOnError):
    """A request whose routing constraints cannot be met is served anyway (the constraint is dropped)."""

    codes = frozenset(
        {
            "provider_not_in_allowlist",
            "no_compatible_endpoint",
            "cost_constraint_exceeded",
            "latency_constraint_exceeded",
            "throughput_constraint_not_met",
            "byok_keys_required",
            "tier_opt_in_required",
            "required_params_not_supported",
            "tool_choice_required_not_supported",
            "structured_output_not_supported",
            "json_mode_not_supported",
        }
    )

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        code = error.get("code")
        gateway = body.setdefault("gateway", {})
        gateway.pop("routing", None)
        if code == "tier_opt_in_required":
            gateway["routing"] = {"tier": "priority"}
        if not gateway:
            body.pop("gateway")
        if code == "tool_choice_required_not_supported":
            body["tool_choice"] = "auto"
        if code in ("structured_output_not_supported", "json_mode_not_supported"):
            body.pop("response_format", None)
        if code == "no_compatible_endpoint" and error.get("param") == "n":
            body.pop("n", None)
        return body


@transform("capabilities_silently_dropped")
class CapabilitiesSilentlyDropped(ResendOnError):
    """Images, tools or reasoning a model cannot take are silently dropped instead of refused."""

    codes = frozenset({"vision_not_supported", "tools_not_supported", "reasoning_not_supported"})

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        body.pop("tools", None)
        body.pop("tool_choice", None)
        body.pop("reasoning_effort", None)
        for message in body.get("messages") or []:
            if isinstance(message, dict) and isinstance(message.get("content"), list):
                message["content"] = [p for p in message["content"] if p.get("type") != "image_url"]
        return body


@transform("unknown_model_defaulted")
class UnknownModelDefaulted(ResendOnError):
    """An unknown model is served by a default model instead of a 404."""

    codes = frozenset({"model_not_found"})

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        body["model"] = self.settings.get("default_model", "gpt-4o-mini")
        body.pop("gateway", None)
        return body


# --------------------------------------------------------------------------------------------------
# The upstream side: native request bodies
# --------------------------------------------------------------------------------------------------


def flavour_of(request: ProxyRequest) -> str | None:
    """The wire flavour of an upstream request, from its path (and instance for OpenAI-compatible ones)."""
    path = request.path
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    if path.rstrip("/").endswith("/messages"):
        return "anthropic"
    if path.rstrip("/").endswith("/chat/completions"):
        instance = request.instance
        if instance.startswith("vllm"):
            return "vllm"
        return "deepseek" if instance.startswith("deepseek") else "openai"
    return None


def is_stream_upstream(request: ProxyRequest, body: dict[str, Any]) -> bool:
    return ":streamGenerateContent" in request.path or body.get("stream") is True


def _split(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def walk(obj: Any, parts: list[str]) -> Iterator[tuple[Any, str]]:
    """(parent, key) for every match of a dotted path; `*` matches every list item or object value."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        children: list[tuple[Any, Any]] = []
        if isinstance(obj, list):
            children = list(enumerate(obj))
        elif isinstance(obj, dict):
            children = list(obj.items())
        for _, child in children:
            yield from walk(child, rest)
        return
    if not isinstance(obj, dict):
        return
    if not rest:
        if head in obj:
            yield obj, head
        return
    if head in obj:
        yield from walk(obj[head], rest)


def lookup(obj: Any, path: str) -> list[Any]:
    return [parent[key] for parent, key in walk(obj, _split(path))]


class UpstreamEdit(Fault):
    """Rewrites native upstream bodies of the given `flavours` (a name, a list, or `openai-family`)."""

    def flavours(self) -> set[str]:
        value = self.args.get("flavour", "any")
        names = value if isinstance(value, list) else [value]
        out: set[str] = set()
        for name in names:
            out |= set(OPENAI_FAMILY) if name == "openai-family" else {name}
        return out

    def applies(self, request: ProxyRequest, body: dict[str, Any]) -> bool:
        flavour = flavour_of(request)
        wanted = self.flavours()
        if flavour is None or ("any" not in wanted and flavour not in wanted):
            return False
        model_prefix = self.args.get("model_prefix")
        if model_prefix:
            model = body.get("model") or request.path.split("/models/")[-1].split(":")[0]
            if not str(model).startswith(
                tuple(model_prefix if isinstance(model_prefix, list) else [model_prefix])
            ):
                return False
        if self.args.get("only_stream") and not is_stream_upstream(request, body):
            return False
        when = self.args.get("when")
        return not (when and not lookup(body, when))

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        if isinstance(body, dict) and self.applies(request, body):
            edited = self.edit(body, request, hop)
            if edited is not None:
                request.set_json(edited)
        return request

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        return None


@transform("upstream_drop")
class UpstreamDrop(UpstreamEdit):
    """Remove the field at `path` (dotted, `*` wildcards) from the native body."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        matches = list(walk(body, _split(self.args["path"])))
        for parent, key in matches:
            del parent[key]
        return body if matches else None


@transform("upstream_rename")
class UpstreamRename(UpstreamEdit):
    """Rename the field at `path` to `to` (same parent)."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        matches = list(walk(body, _split(self.args["path"])))
        for parent, key in matches:
            parent[self.args["to"]] = parent.pop(key)
        return body if matches else None


@transform("upstream_set")
class UpstreamSet(UpstreamEdit):
    """Set the field at `path` to `value` (or `map` its values, or `stringify` it as JSON text): only where
    it exists, or everywhere with `create: true`."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        parts = _split(self.args["path"])
        matches = list(walk(body, parts))
        value = self.args.get("value")
        if not matches and self.args.get("create"):
            node = body
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = copy.deepcopy(value)
            return body
        for parent, key in matches:
            mapping = self.args.get("map")
            if self.args.get("stringify"):
                parent[key] = orjson.dumps(parent[key]).decode()
            elif mapping is not None:
                if parent[key] in mapping:
                    parent[key] = mapping[parent[key]]
            else:
                parent[key] = copy.deepcopy(value)
        return body if matches else None


@transform("upstream_header_drop")
class UpstreamHeaderDrop(UpstreamEdit):
    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json if isinstance(request.json, dict) else {}
        if self.applies(request, body):
            for name in self.args.get("headers", []):
                if name in request.headers:
                    del request.headers[name]
        return request


@transform("upstream_copy_client")
class UpstreamCopyClient(UpstreamEdit):
    """Copy the client's own `fields` verbatim into the native body (untranslated, unfiltered); a field
    `a.b:c.d` copies the client's `a.b` to the body's `c.d`."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        client = hop.ledger.client_request(request.tag)
        changed = False
        for field_spec in self.args.get("fields", []):
            source, _, target = str(field_spec).partition(":")
            values = lookup(client, source)
            if not values:
                continue
            node = body
            parts = _split(target or source)
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = copy.deepcopy(values[0])
            changed = True
        return body if changed else None


EXTENSION_KEY = {"openai": "openai", "anthropic": "anthropic", "gemini": "google", "deepseek": "deepseek"}


def _extension_key(request: ProxyRequest) -> str | None:
    flavour = flavour_of(request)
    if flavour == "vllm":
        return request.instance
    return EXTENSION_KEY.get(flavour or "")


@transform("extensions_unsanitised")
class ExtensionsUnsanitised(UpstreamEdit):
    """The client's extensions go upstream as given: `mode` own (this provider's, credentials and core
    fields included), others (every other provider's too), or dropped (none of them)."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        extensions = hop.ledger.client_request(request.tag).get("extensions")
        key = _extension_key(request)
        if not isinstance(extensions, dict) or key is None:
            return None
        mode = self.args.get("mode", "own")
        own = extensions.get(key) if isinstance(extensions.get(key), dict) else {}
        if mode == "own":
            body.update(copy.deepcopy(own))
        elif mode == "others":
            for name, value in extensions.items():
                if name != key and isinstance(value, dict):
                    body.update(copy.deepcopy(value))
        elif mode == "dropped":
            for name in own:
                body.pop(name, None)
        return body


@transform("anthropic_tool_results_as_text")
class AnthropicToolResultsAsText(UpstreamEdit):
    """Tool results reach Anthropic as plain text in the user turn, not as `tool_result` blocks."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        changed = False
        for message in body.get("messages") or []:
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for i, block in enumerate(content):
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    result = block.get("content")
                    text = result if isinstance(result, str) else orjson.dumps(result).decode()
                    content[i] = {"type": "text", "text": text or "(empty)"}
                    changed = True
        return body if changed else None


@transform("gemini_function_response_in_model_turn")
class GeminiFunctionResponseInModelTurn(UpstreamEdit):
    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        changed = False
        for content in body.get("contents") or []:
            parts = content.get("parts") or []
            if any(
                isinstance(p, dict) and ("functionResponse" in p or "function_response" in p) for p in parts
            ):
                content["role"] = "model"
                changed = True
        return body if changed else None


@transform("gemini_system_in_contents")
class GeminiSystemInContents(UpstreamEdit):
    """The system instruction is sent as a `system` turn inside `contents`."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        for name in ("systemInstruction", "system_instruction"):
            if name in body:
                system = body.pop(name)
                parts = system.get("parts") if isinstance(system, dict) else [{"text": str(system)}]
                body.setdefault("contents", []).insert(0, {"role": "system", "parts": parts})
                return body
        return None


@transform("anthropic_blocks_dropped")
class AnthropicBlocksDropped(UpstreamEdit):
    """Content blocks of the given `types` are removed from the messages sent to Anthropic."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        types = set(self.args.get("types", []))
        changed = False
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                kept = [b for b in content if not (isinstance(b, dict) and b.get("type") in types)]
                if len(kept) != len(content):
                    message["content"] = kept or [{"type": "text", "text": "(removed)"}]
                    changed = True
        return body if changed else None


@transform("gemini_parts_dropped")
class GeminiPartsDropped(UpstreamEdit):
    """Parts carrying any of the `keys` are removed from Gemini contents."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        keys = set(self.args.get("keys", []))
        changed = False
        for content in body.get("contents") or []:
            parts = content.get("parts")
            if isinstance(parts, list):
                kept = [p for p in parts if not (isinstance(p, dict) and keys & set(p))]
                if len(kept) != len(parts):
                    content["parts"] = kept or [{"text": "(removed)"}]
                    changed = True
        return body if changed else None


# --------------------------------------------------------------------------------------------------
# The upstream side: routing decisions and fallback
# --------------------------------------------------------------------------------------------------


@transform("instances_swapped")
class InstancesSwapped(Fault):
    """Upstream calls to one instance go to its `pairs` partner (the other provider of the same model)."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        pairs: dict[str, str] = {}
        for a, b in self.args.get("pairs", [["vllm", "vllm-b"]]):
            pairs[a], pairs[b] = b, a
        instance = request.instance
        if instance in pairs:
            request.path = "/" + pairs[instance] + request.path[len(instance) + 1 :]
        return request


@transform("no_fallback")
class NoFallback(Fault):
    """After a failed attempt, every later attempt for the same request fails the same way: an error
    status is answered again by the proxy (never reaching another provider), a hang hangs again."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        tag = request.tag
        failure = hop.ledger.get("failure", tag)
        if failure == "hang" and self.args.get("hang", True):
            await asyncio.Event().wait()
        if isinstance(failure, tuple):
            status, headers, body = failure
            return ProxyResponse(status, httpx.Headers(headers), body=body)
        if tag is not None and self.args.get("hang", True):
            hop.ledger.put("failure", tag, "hang")  # cleared below once an answer starts
        return request

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        tag = request.tag
        if tag is None:
            return response
        statuses = self.args.get("statuses")
        failed = response.status >= 429 and (statuses is None or response.status in statuses)
        if failed and response.events is None:
            hop.ledger.put(
                "failure", tag, (response.status, list(response.headers.multi_items()), response.body)
            )
        elif hop.ledger.get("failure", tag) == "hang":
            hop.ledger.pop("failure", tag)
        return response


@transform("retry_same_provider")
class RetrySameProvider(Fault):
    """A failed upstream attempt is repeated once on the same provider before the gateway sees it."""

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status >= 429 and response.events is None:
            return await hop.forward(request)
        return response
