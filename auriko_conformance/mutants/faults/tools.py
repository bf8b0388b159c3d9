"""Tool-call faults: ids, indices, argument fragments and finish reasons of tool calls, in non-stream
bodies and in streamed fragments."""

from __future__ import annotations

from typing import Any

import orjson

from auriko_conformance.mutants.faults.base import (
    JSON,
    Answer,
    CompletionEdit,
    choices_of,
    message_tool_calls,
    tool_deltas,
    transform,
)


def _fragment_key(choice: JSON, delta: JSON) -> tuple[Any, Any]:
    """One streamed tool call: (choice index, tool-call index)."""
    return choice.get("index"), delta.get("index")


@transform("tool_calls_on_index_0")
class ToolCallsOnIndexZero(CompletionEdit):
    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for _, delta in tool_deltas(chunk):
            delta["index"] = 0
        return chunk


@transform("tool_arguments_fragment_lost")
class ToolArgumentsFragmentLost(CompletionEdit):
    """The first non-empty argument fragment of each streamed tool call is lost (invalid JSON)."""

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice, delta in tool_deltas(chunk):
            key = _fragment_key(choice, delta)
            function = delta.get("function") or {}
            if key not in answer.seen and function.get("arguments"):
                answer.seen.add(key)
                function["arguments"] = ""
        return chunk


@transform("tool_fragments_repeat_header")
class ToolFragmentsRepeatHeader(CompletionEdit):
    """Later fragments of a streamed tool call carry `id`, `type` and `name` again, as nulls."""

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice, delta in tool_deltas(chunk):
            key = _fragment_key(choice, delta)
            if key in answer.seen:
                delta.update(id=None, type=None)
                delta.setdefault("function", {})["name"] = None
            answer.seen.add(key)
        return chunk


@transform("tool_call_id_set")
class ToolCallIdSet(CompletionEdit):
    """Every tool call (body and stream) gets the id `value` (empty, or one shared by all)."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        for call in message_tool_calls(body):
            call["id"] = self.args["value"]
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for _, delta in tool_deltas(chunk):
            if "id" in delta and (delta["id"] or not self.args.get("only_set")):
                delta["id"] = self.args["value"]
        return chunk


@transform("tool_arguments_as_object")
class ToolArgumentsAsObject(CompletionEdit):
    def completion(self, body: JSON, answer: Answer) -> JSON:
        for call in message_tool_calls(body):
            function = call.get("function") or {}
            try:
                function["arguments"] = orjson.loads(function.get("arguments") or "{}")
            except orjson.JSONDecodeError:
                function["arguments"] = {}
        return body


def _empty_arguments(function: JSON) -> None:
    if (function.get("arguments") or "").replace(" ", "") == "{}":
        function["arguments"] = ""


@transform("empty_arguments_not_normalised")
class EmptyArgumentsNotNormalised(CompletionEdit):
    """A tool call without arguments comes back as `""` instead of `"{}"`."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        for call in message_tool_calls(body):
            _empty_arguments(call.get("function") or {})
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for _, delta in tool_deltas(chunk):
            _empty_arguments(delta.get("function") or {})
        return chunk


@transform("tool_choice_none_ignored")
class ToolChoiceNoneIgnored(CompletionEdit):
    """With `tool_choice: none`, the answer still calls the first declared tool."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        tools = answer.client.get("tools") or []
        if answer.client.get("tool_choice") != "none" or not tools:
            return body
        name = ((tools[0] or {}).get("function") or {}).get("name", "tool")
        for choice in choices_of(body):
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

    def completion(self, body: JSON, answer: Answer) -> JSON:
        response_format = answer.client.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            return body
        name = (response_format.get("json_schema") or {}).get("name") or "json"
        for choice in choices_of(body):
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

    def completion(self, body: JSON, answer: Answer) -> JSON:
        for choice in choices_of(body):
            if choice.get("finish_reason") == "length" and (choice.get("message") or {}).get("tool_calls"):
                choice["finish_reason"] = "tool_calls"
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        for choice, _ in tool_deltas(chunk):
            answer.seen.add(choice.get("index"))  # this choice is calling a tool
        for choice in choices_of(chunk):
            if choice.get("finish_reason") == "length" and choice.get("index") in answer.seen:
                choice["finish_reason"] = "tool_calls"
        return chunk
