"""Stream faults: framing, chunk order, the usage chunk, `[DONE]`, mid-stream errors.

Each is a few lines on `CompletionEdit.on_event` / `on_end` (the one stream loop lives in `base`); the
events a fault drops, doubles or moves are named by their `kind_of`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import httpx

from auriko_conformance.mutants.faults.base import (
    JSON,
    Answer,
    CompletionEdit,
    Fault,
    choices_of,
    client_json,
    is_chat,
    transform,
)
from auriko_conformance.mutants.faults.paths import lookup
from auriko_conformance.mutants.faults.upstream import OPENAI_FAMILY, flavour_of
from auriko_conformance.mutants.proxy import Hop, ProxiedEvent, ProxyRequest, ProxyResponse


@transform("stream_kinds_edit")
class StreamKindsEdit(CompletionEdit):
    """Events of the `drop` kinds are never sent, those of the `twice` kinds are sent twice (kinds of
    `kind_of`: usage, done, chunk, error)."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind in self.args.get("drop", ()):
            return []
        return [event, event] if kind in self.args.get("twice", ()) else [event]


@transform("usage_only_from_upstream")
class UsageOnlyFromUpstream(CompletionEdit):
    """The gateway neither asks for usage nor makes it up: the client's `stream_options` go upstream as
    sent, and the usage chunk reaches the client only when the upstream streamed usage. An
    OpenAI-compatible upstream does so only when asked, so a client that did not ask
    `include_usage: true` gets no usage chunk from those providers (Anthropic and Gemini always send it).
    The back records per request tag whether the upstream was asked; the front drops the usage chunk of
    an answer whose upstream was not."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        if not isinstance(body, dict) or body.get("stream") is not True:
            return request
        if flavour_of(request) not in OPENAI_FAMILY:
            hop.ledger.put("upstream-usage", request.tag, True)
            return request
        options = hop.ledger.client_request(request.tag).get("stream_options")
        asked = isinstance(options, dict) and options.get("include_usage") is True
        hop.ledger.put("upstream-usage", request.tag, asked)
        if isinstance(options, dict):
            body["stream_options"] = options
        else:
            body.pop("stream_options", None)
        request.set_json(body)
        return request

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if hop.ledger.get("upstream-usage", request.tag, True):
            return response
        return await super().front_response(request, response, hop)

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        return [] if kind == "usage" else [event]


@transform("usage_chunk_with_choices")
class UsageChunkWithChoices(CompletionEdit):
    def final(self, final: JSON, answer: Answer) -> JSON:
        if "choices" in final and not final["choices"]:
            final["choices"] = [{"index": 0, "delta": {}, "finish_reason": None}]
        return final


@transform("usage_chunk_before_finish")
class UsageChunkBeforeFinish(CompletionEdit):
    """The finish chunk is held back and sent after the usage chunk."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind == "chunk" and any(c.get("finish_reason") for c in choices_of(event.json)):
            answer.held.append(event)
            return []
        if kind == "usage":
            return [event, *self.on_end(answer)]
        return [*self.on_end(answer), event] if kind == "done" else [event]

    def on_end(self, answer: Answer) -> Iterable[ProxiedEvent]:
        held, answer.held = answer.held, []
        return held


@transform("usage_on_every_chunk")
class UsageOnEveryChunk(CompletionEdit):
    """Running usage counts on every content chunk (continuous usage stats passed through)."""

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        answer.count += 1
        chunk["usage"] = {"prompt_tokens": 0, "completion_tokens": answer.count, "total_tokens": answer.count}
        return chunk


@transform("data_after_done")
class DataAfterDone(CompletionEdit):
    """A copy of the usage chunk follows `[DONE]`."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind == "usage":
            answer.last = event
        return [event, answer.last] if kind == "done" and answer.last is not None else [event]


@transform("finish_reason_twice")
class FinishReasonTwice(CompletionEdit):
    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        finished = [c for c in choices_of(event.json) if c.get("finish_reason")] if kind == "chunk" else []
        if not finished:
            return [event]
        again = {k: v for k, v in event.json.items() if k != "choices"}
        again["choices"] = [
            {"index": c.get("index"), "delta": {}, "finish_reason": c["finish_reason"]} for c in finished
        ]
        return [event, event.with_json(again)]


@transform("finish_reason_never")
class FinishReasonNever(CompletionEdit):
    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            if choice.get("finish_reason") is not None:
                choice["finish_reason"] = None
        return chunk


@transform("delta_role")
class DeltaRole(CompletionEdit):
    """`mode` every: every delta says role assistant; missing: no delta does."""

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            if isinstance(choice.get("delta"), dict):
                if self.args.get("mode") == "every":
                    choice["delta"]["role"] = "assistant"
                else:
                    choice["delta"].pop("role", None)
        return chunk


@transform("chunk_ids_change")
class ChunkIdsChange(CompletionEdit):
    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind not in ("chunk", "usage"):
            return [event]
        answer.count += 1
        payload = event.copy_json()
        payload["id"] = f"{payload.get('id')}-{answer.count}"
        return [event.with_json(payload)]


@transform("sse_framing_broken")
class SseFramingBroken(CompletionEdit):
    """Events end with a single newline instead of a blank line (they run together for strict readers)."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if event.data is None:
            return [event]
        return [ProxiedEvent(raw=f"data: {event.data}\n".encode(), data=event.data)]


@transform("keepalive_as_data")
class KeepaliveAsData(CompletionEdit):
    """An upstream `ping` is passed on as a data event after the first chunk."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind != "chunk":
            return [event]
        answer.count += 1
        return [event, ProxiedEvent.of({"type": "ping"})] if answer.count == 1 else [event]


@transform("stream_text_changed")
class StreamTextChanged(CompletionEdit):
    """The second content delta is lost (its text and the logprobs of that text): the joined stream
    differs from the non-stream answer."""

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                answer.count += 1
                if answer.count == 2:
                    delta["content"] = ""
                    choice.pop("logprobs", None)
        return chunk


@transform("stream_buffered")
class StreamBuffered(CompletionEdit):
    """The whole stream is held back and sent in one piece once the upstream has finished."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        answer.held.append(event)
        return []

    def on_end(self, answer: Answer) -> Iterable[ProxiedEvent]:
        return answer.held


@transform("stream_content_type")
class StreamContentType(Fault):
    """A stream is labelled application/json."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if is_chat(request) and response.events is not None:
            response.headers["content-type"] = "application/json"
        return response


@transform("mid_stream_error_swallowed")
class MidStreamErrorSwallowed(CompletionEdit):
    """A mid-stream error event becomes a clean finish: stop, a usage chunk, `[DONE]`; only in answers to
    requests that set the path `when_client`, or do not set `unless_client`, when given (the gateway's
    deadline handling is another code path than an upstream's failure)."""

    def _swallows(self, answer: Answer) -> bool:
        when, unless = self.args.get("when_client"), self.args.get("unless_client")
        if when is not None and not lookup(answer.client, when):
            return False
        return unless is None or not lookup(answer.client, unless)

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind == "chunk":
            answer.last = event.json
        if kind != "error" or not self._swallows(answer):
            return [event]
        last = answer.last or {}
        head = {k: last.get(k) for k in ("id", "object", "created", "model")} if last else {}
        head.setdefault("object", "chat.completion.chunk")
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        model = str(head.get("model") or "unknown")
        metadata = {
            "provider": "openai",
            "provider_model_id": model,
            "model_canonical": str(answer.client.get("model") or model),
            "routing_strategy": "cost-focus",
        }
        answer.ended = True
        return [
            ProxiedEvent.of({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
            ProxiedEvent.of({**head, "choices": [], "usage": usage, "routing_metadata": metadata}),
            ProxiedEvent.of("[DONE]"),
        ]


@transform("mid_stream_error_as_string")
class MidStreamErrorAsString(CompletionEdit):
    """The mid-stream error event carries a bare message string instead of an error object."""

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind != "error":
            return [event]
        error = event.json.get("error")
        message = error.get("message") if isinstance(error, dict) else str(error)
        return [event.with_json({"error": message or "upstream failed"})]


@transform("done_after_error")
class DoneAfterError(CompletionEdit):
    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind == "error":
            answer.last = event
        return [event]

    def on_end(self, answer: Answer) -> Iterable[ProxiedEvent]:
        return [ProxiedEvent.of("[DONE]")] if answer.last is not None else []


@transform("pre_stream_error_as_stream")
class PreStreamErrorAsStream(Fault):
    """An error known before the first byte of a stream is sent as HTTP 200 with one error event."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if not is_chat(request) or client_json(request).get("stream") is not True or response.status < 400:
            return response
        payload = response.json if isinstance(response.json, dict) else {"error": {"message": "failed"}}

        async def events() -> AsyncIterator[ProxiedEvent]:
            yield ProxiedEvent.of(payload)

        headers = httpx.Headers({k: v for k, v in response.headers.items() if k != "content-type"})
        headers["content-type"] = "text/event-stream"
        return ProxyResponse(200, headers, events=events())


@transform("stream_logprobs_dropped")
class StreamLogprobsDropped(CompletionEdit):
    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            choice.pop("logprobs", None)
        return chunk


@transform("stream_routing_metadata_everywhere")
class StreamRoutingMetadataEverywhere(CompletionEdit):
    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        model = str(chunk.get("model") or "unknown")
        chunk["routing_metadata"] = {
            "provider": "auriko",
            "provider_model_id": model,
            "model_canonical": model,
            "routing_strategy": "cost-focus",
        }
        return chunk
