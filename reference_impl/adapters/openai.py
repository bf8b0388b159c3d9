"""OpenAI Chat Completions, and the base of the OpenAI-compatible flavours (DeepSeek, vLLM).

The wire format is the gateway's own, so translation is mostly pruning: fields the target rejects
(strict OpenAI 400s unknown fields), reasoning fields on assistant turns, `stream_options` added only
where accepted. The differences between OpenAI, DeepSeek and vLLM are class attributes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from auriko_conformance.reference_impl.adapters.base import (
    OPTIONAL_PARAMS,
    Adapter,
    Attempt,
    Event,
    StreamDecoder,
    UpstreamCall,
    UpstreamStreamError,
    Usage,
    new_id,
    with_reasoning_estimate,
)

EFFORT_ORDER = ("minimal", "low", "medium", "high", "xhigh", "max")


class OpenAIAdapter(Adapter):
    flavour = "openai"
    chat_path: ClassVar[str] = "/chat/completions"
    #: the shared optional parameters OpenAI has natively: all but the open-weights samplers
    param_map: ClassVar[dict[str, str]] = {
        name: name
        for name in OPTIONAL_PARAMS
        if name not in ("top_k", "min_p", "top_a", "repetition_penalty")
    }
    max_tokens_path = "max_completion_tokens"
    finish_reasons: ClassVar[dict[str, str]] = {
        "stop": "stop",
        "length": "length",
        "tool_calls": "tool_calls",
        "content_filter": "content_filter",
        "function_call": "function_call",
    }
    # message keys the target accepts on assistant turns besides role/content/name/tool_calls
    assistant_extra_keys: ClassVar[tuple[str, ...]] = ("refusal",)
    developer_role: ClassVar[str] = "developer"  # what a `developer` message becomes
    collapse_content: ClassVar[bool] = False  # DeepSeek: content parts -> one string
    reasoning_fields: ClassVar[tuple[str, ...]] = ()  # where the target returns reasoning text
    #: the target's usage counts reasoning in `completion_tokens` without saying how much (vLLM): the
    #: gateway estimates `reasoning_tokens` from the reasoning text (D-061)
    estimates_reasoning: ClassVar[bool] = False
    send_stream_options: ClassVar[bool] = True

    # --- reasoning -------------------------------------------------------------------------------------
    def translate_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        effort = attempt.request.body.get("reasoning_effort")
        caps = attempt.offering.capabilities
        if caps.reasoning == "none":
            return
        attempt.thinking = True
        if effort is None:
            return
        if effort == "off":
            self.disable_reasoning(attempt, native)
            return
        native["reasoning_effort"] = self.native_effort(attempt, effort)

    def native_effort(self, attempt: Attempt, effort: str) -> str:
        """The model's own effort value; values it lacks go to its ceiling with a warning."""
        caps = attempt.offering.capabilities
        if effort in caps.effort_values:
            return effort
        ceiling = caps.effort_ceiling or caps.effort_values[-1]
        if EFFORT_ORDER.index(effort) < EFFORT_ORDER.index(caps.effort_values[0]):
            target = caps.effort_values[0]
        else:
            target = ceiling
        attempt.warn(
            "unsupported_parameter",
            f"reasoning_effort '{effort}' is not available on {attempt.offering.provider_model_id}; "
            f"'{target}' was used.",
        )
        return target

    def disable_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        native["reasoning_effort"] = "none"
        attempt.thinking = False

    # --- messages and tools ------------------------------------------------------------------------------
    def translate_messages(self, attempt: Attempt, native: dict[str, Any]) -> None:
        native["messages"] = [self.message(attempt, m) for m in attempt.request.body["messages"]]

    def message(self, attempt: Attempt, m: dict[str, Any]) -> dict[str, Any]:
        role = m["role"]
        if role == "developer" and self.developer_role != "developer":
            m = {**m, "role": self.developer_role}
        if role == "assistant":
            out = {k: v for k, v in m.items() if k in ("role", "content", "name", "function_call")}
            for key in self.assistant_extra_keys:
                if key in m:
                    out[key] = m[key]
            if m.get("tool_calls"):
                out["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {
                            "name": c["function"]["name"],
                            "arguments": c["function"]["arguments"] or "{}",
                        },
                    }
                    for c in m["tool_calls"]
                ]
            self.assistant_hook(attempt, m, out)
            m = out
        content = m.get("content")
        if isinstance(content, list):
            if self.collapse_content and all(p.get("type") in ("text", "refusal") for p in content):
                # an assistant turn's refusal parts become text, as for Anthropic (DeepSeek takes strings)
                texts = (p["text"] if p["type"] == "text" else p["refusal"] for p in content)
                m = {**m, "content": "".join(texts)}
            elif any("cache_control" in p for p in content):
                m = {**m, "content": [{k: v for k, v in p.items() if k != "cache_control"} for p in content]}
        return m

    def assistant_hook(self, attempt: Attempt, original: dict[str, Any], out: dict[str, Any]) -> None:
        """Flavour hook for assistant turns (DeepSeek echoes `reasoning_content`)."""

    def translate_tools(self, attempt: Attempt, native: dict[str, Any]) -> None:
        body = attempt.request.body
        native["tools"] = body["tools"]
        if "tool_choice" in body:
            native["tool_choice"] = body["tool_choice"]

    def translate_response_format(self, attempt: Attempt, native: dict[str, Any], rf: dict[str, Any]) -> None:
        native["response_format"] = rf

    def finish_call(self, attempt: Attempt, native: dict[str, Any]) -> UpstreamCall:
        native["model"] = attempt.offering.provider_model_id
        if attempt.stream:
            native["stream"] = True
            if self.send_stream_options:
                native["stream_options"] = {"include_usage": True}
        # put the model and messages first: upstream logs read better, nothing depends on it
        ordered = {"model": native.pop("model"), "messages": native.pop("messages"), **native}
        headers = {"authorization": f"Bearer {attempt.provider.api_key}", "content-type": "application/json"}
        return UpstreamCall(attempt.provider.base_url + self.chat_path, headers, orjson.dumps(ordered))

    # --- response ----------------------------------------------------------------------------------------
    def usage_of(self, raw: dict[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        prompt_details = raw.get("prompt_tokens_details") or {}
        completion_details = raw.get("completion_tokens_details") or {}
        cached = prompt_details.get("cached_tokens") or raw.get("prompt_cache_hit_tokens") or 0
        return Usage(
            prompt=raw.get("prompt_tokens") or 0,
            completion=raw.get("completion_tokens") or 0,
            cached=cached,
            cache_write=prompt_details.get("cache_write_tokens") or 0,
            reasoning=completion_details.get("reasoning_tokens") or 0,
        )

    def reasoning_of(self, message: dict[str, Any]) -> str | None:
        for key in self.reasoning_fields:
            value = message.get(key)
            if value:
                return value
        return None

    def parse_response(self, data: dict[str, Any], attempt: Attempt) -> tuple[dict[str, Any], Usage | None]:
        choices = []
        for choice in data.get("choices") or ():
            message = choice.get("message") or {}
            out: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
            reasoning = self.reasoning_of(message)
            if reasoning is not None and not attempt.request.exclude_reasoning:
                out["reasoning_content"] = reasoning
            if message.get("refusal"):
                out["refusal"] = message["refusal"]
            calls = message.get("tool_calls")
            if calls:
                out["tool_calls"] = [
                    {
                        "id": c.get("id") or new_id("call_"),
                        "type": "function",
                        "function": {
                            "name": c["function"]["name"],
                            "arguments": c["function"].get("arguments") or "{}",
                        },
                    }
                    for c in calls
                ]
            native_finish = choice.get("finish_reason")
            finish = self.map_finish(native_finish)
            entry: dict[str, Any] = {
                "index": choice.get("index", len(choices)),
                "message": out,
                "logprobs": choice.get("logprobs"),
                "finish_reason": finish,
            }
            if native_finish != finish:
                entry["native_finish_reason"] = native_finish
            choices.append(entry)
        completion: dict[str, Any] = {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": data.get("created") or 0,
            "model": data.get("model") or attempt.offering.provider_model_id,
            "choices": choices,
        }
        if data.get("system_fingerprint"):
            completion["system_fingerprint"] = data["system_fingerprint"]
        if data.get("service_tier"):
            completion["service_tier"] = data["service_tier"]
        usage = self.usage_of(data.get("usage"))
        if self.estimates_reasoning:
            texts = (self.reasoning_of(choice.get("message") or {}) for choice in data.get("choices") or ())
            usage = with_reasoning_estimate(usage, [text for text in texts if text])
        return completion, usage

    def stream_decoder(self, attempt: Attempt) -> StreamDecoder:
        return OpenAIStreamDecoder(self, attempt)


class OpenAIStreamDecoder(StreamDecoder):
    """`data: {chunk}` ... `data: [DONE]`; usage on a chunk with `choices: []` (or on the last chunk)."""

    def feed(self, event: str | None, data: str) -> list[Event]:
        if data == "[DONE]":
            self.done = True
            return []
        chunk = orjson.loads(data)
        if "error" in chunk and "choices" not in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UpstreamStreamError(str(message))
        adapter: OpenAIAdapter = self.adapter  # type: ignore[assignment]
        if self.model is None:
            self.model = chunk.get("model")
            self.system_fingerprint = chunk.get("system_fingerprint")
        events: list[Event] = []
        exclude_reasoning = self.attempt.request.exclude_reasoning
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            for key in adapter.reasoning_fields:
                text = delta.get(key)
                if text and adapter.estimates_reasoning:
                    self.reasoning_texts.append(text)
                if text and not exclude_reasoning:
                    events.append(("reasoning", index, text))
            content = delta.get("content")
            if content:
                events.append(("text", index, content))
            for call in delta.get("tool_calls") or ():
                events.append(self._tool_event(index, call))
            if choice.get("logprobs"):
                events.append(("logprobs", index, choice["logprobs"]))
            native_finish = choice.get("finish_reason")
            if native_finish:
                events.append(("finish", index, adapter.map_finish(native_finish), native_finish))
        usage = chunk.get("usage")
        if usage:  # replace, never add: some upstreams send cumulative usage
            self.usage = adapter.usage_of(usage)
            if adapter.estimates_reasoning:
                self.usage = with_reasoning_estimate(self.usage, self.reasoning_texts)
        return events

    def _tool_event(self, choice: int, call: dict[str, Any]) -> Event:
        fn = call.get("function") or {}
        upstream_index = call.get("index", 0)
        call_id = call.get("id")
        # an upstream that gives every call index 0 but a fresh id still gets distinct indexes
        key = (upstream_index, call_id) if call_id else None
        if key is not None:
            slot, _ = self.tool_index(choice, key)
            self.tool_slots[(choice, ("last", upstream_index))] = slot
            return ("tool", choice, slot, call_id, fn.get("name"), fn.get("arguments") or "")
        slot = self.tool_slots.get((choice, ("last", upstream_index)))
        if slot is None:  # a fragment without an id and no known call: treat it as a new call
            slot, _ = self.tool_index(choice, ("anon", upstream_index))
            self.tool_slots[(choice, ("last", upstream_index))] = slot
            return (
                "tool",
                choice,
                slot,
                new_id("call_"),
                fn.get("name") or "unknown",
                fn.get("arguments") or "",
            )
        return ("tool", choice, slot, None, None, fn.get("arguments") or "")
