"""Faults in the choices of an answer: finish reasons, the number of choices, reasoning, logprobs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from auriko_conformance.mutants.faults.base import JSON, Answer, CompletionEdit, choices_of, transform
from auriko_conformance.mutants.proxy import ProxiedEvent


@transform("finish_reason_null")
class FinishReasonNull(CompletionEdit):
    def completion(self, body: JSON, answer: Answer) -> JSON:
        for choice in choices_of(body):
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

    def completion(self, body: JSON, answer: Answer) -> JSON:
        return self.chunk(body, answer)

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            reason = choice.get("finish_reason")
            if reason is not None:
                native = choice.get("native_finish_reason")
                choice["finish_reason"] = (
                    native if native and native != reason else self.NATIVE.get(reason, reason)
                )
        return chunk


@transform("choices_collapsed")
class ChoicesCollapsed(CompletionEdit):
    """`n > 1` answers come back with the first choice only."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        body["choices"] = choices_of(body)[:1]
        return body

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        if kind != "chunk":
            return [event]
        chunk = event.copy_json()
        kept = [c for c in choices_of(chunk) if c.get("index") == 0]
        if not kept:
            return []
        if len(kept) != len(chunk["choices"]):
            chunk["choices"] = kept
            return [event.with_json(chunk)]
        return [event]


@transform("reasoning_in_content")
class ReasoningInContent(CompletionEdit):
    """Reasoning text is merged into the answer's content."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        for choice in choices_of(body):
            _merge_reasoning(choice.get("message") or {})
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice in choices_of(chunk):
            _merge_reasoning(choice.get("delta") or {})
        return chunk


def _merge_reasoning(message: JSON) -> None:
    reasoning = message.pop("reasoning_content", None)
    if reasoning:
        message["content"] = f"{reasoning}{message.get('content') or ''}"


@transform("top_logprobs_null")
class TopLogprobsNull(CompletionEdit):
    def completion(self, body: JSON, answer: Answer) -> JSON:
        for choice in choices_of(body):
            logprobs = choice.get("logprobs")
            for entry in (logprobs or {}).get("content") or [] if isinstance(logprobs, dict) else []:
                if isinstance(entry, dict):
                    entry["top_logprobs"] = None
        return body


@transform("finish_reason_remapped")
class FinishReasonRemapped(CompletionEdit):
    """A mapping table with wrong or missing rows: a choice whose `native_finish_reason` is a key of
    `map` finishes with that row's value instead (native_finish_reason itself is kept)."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        return self.chunk(body, answer)

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        table = self.args.get("map") or {}
        for choice in choices_of(chunk):
            native = choice.get("native_finish_reason")
            if choice.get("finish_reason") is not None and native in table:
                choice["finish_reason"] = table[native]
        return chunk


@transform("structured_answer_wrapped")
class StructuredAnswerWrapped(CompletionEdit):
    """A json_schema answer comes back inside a wrapper object `{"<key>": <answer>}`: the forced-tool
    trick's wrapper schema is never unwrapped. Streams get the wrapper's opening before a choice's first
    content delta and its closing on the choice's finish chunk."""

    def applies(self, answer: Answer) -> bool:
        response_format = answer.client.get("response_format")
        return isinstance(response_format, dict) and response_format.get("type") == "json_schema"

    def opening(self) -> str:
        return '{"' + str(self.args.get("key", "output")) + '":'

    def completion(self, body: JSON, answer: Answer) -> JSON:
        if self.applies(answer):
            for choice in choices_of(body):
                message = choice.get("message") or {}
                if isinstance(message.get("content"), str):
                    message["content"] = f"{self.opening()}{message['content']}}}"
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        if not self.applies(answer):
            return chunk
        for choice in choices_of(chunk):
            delta = choice.setdefault("delta", {})
            index = choice.get("index", 0)
            if isinstance(delta.get("content"), str) and delta["content"] and index not in answer.seen:
                answer.seen.add(index)
                delta["content"] = self.opening() + delta["content"]
            if choice.get("finish_reason") is not None and index in answer.seen:
                delta["content"] = f"{delta.get('content') or ''}}}"
        return chunk
