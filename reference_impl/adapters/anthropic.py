"""Anthropic Messages: top-level `system`, content blocks, `tool_use`/`tool_result`, named SSE events.

Reasoning (contract section 7, LiteLLM's grid): adaptive models (Claude 4.6+) get
`thinking: {"type": "adaptive"}` + `output_config.effort`; budget models (Claude 4.5) get
`thinking: {"type": "enabled", "budget_tokens": B}` with B = 1024/2048/4096/8192/16384 for
low/medium/high/xhigh/max, and `max_tokens` raised above B. While thinking, Anthropic refuses
`temperature`, `top_k` and a `top_p` below 0.95: they are stripped with a warning (D-024).
`max_tokens` is required: `GatewayConfig.anthropic_default_max_tokens` (4096) when the client gave none.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson
from auriko_conformance.reference_impl.adapters.base import (
    THINKING_BUDGETS,
    Adapter,
    Attempt,
    Event,
    StreamDecoder,
    StreamProtocolError,
    UpstreamCall,
    UpstreamStreamError,
    Usage,
    as_list,
    new_id,
    parse_arguments,
    text_of,
)

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI user/system content -> Anthropic content blocks (empty or whitespace-only text dropped:
    Anthropic rejects it)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    blocks = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if not part["text"].strip():
                continue
            block: dict[str, Any] = {"type": "text", "text": part["text"]}
        elif kind == "image_url":
            block = _image_block(part["image_url"]["url"])
        elif kind == "refusal":
            if not part["refusal"].strip():
                continue
            block = {"type": "text", "text": part["refusal"]}
        else:
            continue
        if "cache_control" in part:
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


class AnthropicAdapter(Adapter):
    flavour = "anthropic"
    param_map: ClassVar[dict[str, str]] = {
        "temperature": "temperature",
        "top_p": "top_p",
        "top_k": "top_k",
        "stop": "stop_sequences",
        "user": "metadata.user_id",
    }
    param_transforms: ClassVar[dict[str, Any]] = {"stop": as_list}
    max_tokens_path = "max_tokens"
    finish_reasons: ClassVar[dict[str, str]] = {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "tool_use": "tool_calls",
        "refusal": "content_filter",
        "pause_turn": "stop",
        "model_context_window_exceeded": "length",
    }

    def __init__(self, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.default_max_tokens = default_max_tokens

    # --- parameters ------------------------------------------------------------------------------------
    def adjust_param(self, attempt: Attempt, name: str, value: Any) -> Any:
        if attempt.thinking and (name in ("temperature", "top_k") or (name == "top_p" and value < 0.95)):
            attempt.warn(
                "unsupported_parameter",
                f"'{name}' is incompatible with Claude extended thinking and was dropped.",
            )
            return None
        if name == "temperature" and value > 1:
            attempt.warn(
                "unsupported_parameter", f"temperature {value} is above Anthropic's maximum; 1 was used."
            )
            return 1
        if name == "stop":
            stops = as_list(value)
            kept = [s for s in stops if s.strip()]
            if len(kept) != len(stops):
                attempt.warn(
                    "unsupported_parameter",
                    "Whitespace-only stop sequences are not accepted by Anthropic and were dropped.",
                )
            return kept or None
        return value

    def translate_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        effort = attempt.request.body.get("reasoning_effort")
        caps = attempt.offering.capabilities
        if effort is None or caps.reasoning == "none":
            return
        if effort == "off":
            return  # thinking is off unless requested
        attempt.thinking = True
        if effort == "xhigh" and effort not in caps.effort_values:
            target = caps.xhigh_to or "max"
            attempt.warn(
                "unsupported_parameter",
                f"reasoning_effort 'xhigh' is not available on {attempt.offering.provider_model_id}; "
                f"'{target}' was used.",
            )
            effort = target
        if caps.reasoning == "adaptive":
            native["thinking"] = {"type": "adaptive"}
            native["output_config"] = {"effort": effort}
        else:
            native["thinking"] = {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
            if caps.effort_with_budget:  # Opus 4.5: "thinking budget + effort control" (contract §7)
                native["output_config"] = {"effort": effort}

    def place_max_tokens(self, attempt: Attempt, native: dict[str, Any], max_tokens: int | None) -> None:
        requested = max_tokens if max_tokens is not None else self.default_max_tokens
        requested = self.clamp_max_tokens(attempt, requested)
        budget = (native.get("thinking") or {}).get("budget_tokens")
        if budget is not None and requested <= budget:
            requested += budget  # thinking counts toward max_tokens and the budget must stay below it
            ceiling = attempt.offering.max_output_tokens
            requested = min(requested, ceiling) if ceiling else requested  # budgets stay below ceilings
        native["max_tokens"] = requested

    # --- messages ----------------------------------------------------------------------------------------
    def translate_messages(self, attempt: Attempt, native: dict[str, Any]) -> None:
        system: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []

        def add(role: str, blocks: list[dict[str, Any]]) -> None:
            if not blocks:
                return
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"].extend(blocks)  # Anthropic alternates roles: merge neighbours
            else:
                turns.append({"role": role, "content": blocks})

        for m in attempt.request.body["messages"]:
            role = m["role"]
            if role in ("system", "developer"):
                system.extend(_blocks(m["content"]))
            elif role == "user":
                add("user", _blocks(m["content"]))
            elif role == "assistant":
                add("assistant", self._assistant_blocks(m))
            elif role == "tool":
                add(
                    "user",
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": m["tool_call_id"],
                            "content": text_of(m["content"]),
                        }
                    ],
                )
            elif role == "function":
                add("user", [{"type": "text", "text": f"{m['name']} returned: {m.get('content') or ''}"}])
        if not turns or turns[0]["role"] != "user":
            turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "."}]})
        if system:
            native["system"] = system
        native["messages"] = turns

    def _assistant_blocks(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for block in m.get("reasoning") or ():
            if block["type"] == "thinking":
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": block["thinking"],
                        "signature": block.get("signature", ""),
                    }
                )
            else:
                blocks.append({"type": "redacted_thinking", "data": block["data"]})
        blocks.extend(_blocks(m.get("content")))
        for call in m.get("tool_calls") or ():
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call["id"],
                    "name": call["function"]["name"],
                    "input": parse_arguments(call["function"]["arguments"]),
                }
            )
        return blocks

    def translate_tools(self, attempt: Attempt, native: dict[str, Any]) -> None:
        body = attempt.request.body
        tools = []
        for tool in body["tools"]:
            fn = tool["function"]
            schema = fn.get("parameters") or {"properties": {}}
            entry: dict[str, Any] = {
                "name": fn["name"],
                # Anthropic requires `type: object`; OpenAI lets it be implied (contract: object or absent)
                "input_schema": schema if "type" in schema else {"type": "object", **schema},
            }
            if fn.get("description"):
                entry["description"] = fn["description"]
            tools.append(entry)
        native["tools"] = tools
        choice = body.get("tool_choice")
        mapped: dict[str, Any] | None = None
        if choice == "none":
            mapped = {"type": "none"}
        elif choice == "required":
            mapped = {"type": "any"}
        elif isinstance(choice, dict):
            mapped = {"type": "tool", "name": choice["function"]["name"]}
        elif choice == "auto":
            mapped = {"type": "auto"}
        if (
            body.get("parallel_tool_calls") is False
            and "parallel_tool_calls" in attempt.offering.supported_parameters
        ):
            mapped = mapped or {"type": "auto"}
            if mapped["type"] != "none":
                mapped["disable_parallel_tool_use"] = True
        if mapped is not None:
            native["tool_choice"] = mapped

    def translate_response_format(self, attempt: Attempt, native: dict[str, Any], rf: dict[str, Any]) -> None:
        if rf["type"] == "json_schema":
            native.setdefault("output_config", {})["format"] = {
                "type": "json_schema",
                "schema": rf["json_schema"]["schema"],
            }

    def finish_call(self, attempt: Attempt, native: dict[str, Any]) -> UpstreamCall:
        ordered = {"model": attempt.offering.provider_model_id, **native}
        if attempt.stream:
            ordered["stream"] = True
        headers = {
            "x-api-key": attempt.provider.api_key,
            "anthropic-version": ANTHROPIC_VERSION,
            "content-type": "application/json",
        }
        return UpstreamCall(attempt.provider.base_url + "/v1/messages", headers, orjson.dumps(ordered))

    # --- response ----------------------------------------------------------------------------------------
    @staticmethod
    def usage_of(raw: dict[str, Any]) -> Usage:
        cache_read = raw.get("cache_read_input_tokens") or 0
        cache_write = raw.get("cache_creation_input_tokens") or 0
        details = raw.get("output_tokens_details") or {}
        return Usage(
            prompt=(raw.get("input_tokens") or 0) + cache_read + cache_write,
            completion=raw.get("output_tokens") or 0,
            cached=cache_read,
            cache_write=cache_write,
            reasoning=details.get("thinking_tokens") or 0,
        )

    def parse_response(self, data: dict[str, Any], attempt: Attempt) -> tuple[dict[str, Any], Usage | None]:
        texts: list[str] = []
        thinking: list[str] = []
        reasoning_blocks: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for block in data.get("content") or ():
            kind = block.get("type")
            if kind == "text":
                texts.append(block["text"])
            elif kind == "thinking":
                thinking.append(block.get("thinking", ""))
                reasoning_blocks.append(
                    {
                        "type": "thinking",
                        "thinking": block.get("thinking", ""),
                        "signature": block.get("signature", ""),
                    }
                )
            elif kind == "redacted_thinking":
                reasoning_blocks.append({"type": "redacted", "data": block.get("data", "")})
            elif kind == "tool_use":
                calls.append(
                    {
                        "id": block["id"],
                        "type": "function",
                        "function": {
                            "name": block["name"],
                            "arguments": orjson.dumps(block.get("input") or {}).decode(),
                        },
                    }
                )
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(texts) if texts or not calls else None,
        }
        if reasoning_blocks and not attempt.request.exclude_reasoning:
            message["reasoning_content"] = "".join(thinking)
            message["reasoning"] = reasoning_blocks
        if calls:
            message["tool_calls"] = calls
        native_finish = data.get("stop_reason")
        finish = self.map_finish(native_finish)
        choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        if native_finish and native_finish != finish:
            choice["native_finish_reason"] = native_finish
        completion = {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": 0,
            "model": data.get("model") or attempt.offering.provider_model_id,
            "choices": [choice],
        }
        usage = data.get("usage")
        return completion, self.usage_of(usage) if usage else None

    def stream_decoder(self, attempt: Attempt) -> StreamDecoder:
        return AnthropicStreamDecoder(self, attempt)


class AnthropicStreamDecoder(StreamDecoder):
    """message_start -> content blocks -> message_delta(s) -> message_stop; usage taken once, not summed."""

    blocks: dict[int, tuple[str, int, bool]] | None = None  # block index -> (kind, tool slot, got args)
    finish: tuple[str, str] | None = None
    raw_usage: dict[str, Any] | None = None

    def feed(self, event: str | None, data: str) -> list[Event]:
        payload = orjson.loads(data)
        kind = payload.get("type") or event
        if self.blocks is None:
            self.blocks = {}
            self.raw_usage = {}
        if kind == "message_start":
            message = payload.get("message") or {}
            self.model = message.get("model")
            self.raw_usage.update(message.get("usage") or {})
            self._sync_usage()
            return []
        if kind == "content_block_start":
            block = payload["content_block"]
            index = payload["index"]
            if block.get("type") == "tool_use":
                slot, _ = self.tool_index(0, index)
                self.blocks[index] = ("tool", slot, False)
                return [("tool", 0, slot, block.get("id") or new_id("toolu_"), block["name"], "")]
            self.blocks[index] = (block.get("type", "text"), 0, False)
            text = block.get("text")
            return [("text", 0, text)] if block.get("type") == "text" and text else []
        if kind == "content_block_delta":
            delta = payload["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                return [("text", 0, delta["text"])] if delta["text"] else []
            if self.attempt.request.exclude_reasoning and dtype in ("thinking_delta", "signature_delta"):
                return []
            if dtype == "thinking_delta":
                return [("reasoning", 0, delta["thinking"])] if delta["thinking"] else []
            if dtype == "signature_delta":
                return [("signature", 0, delta["signature"])]
            if dtype == "input_json_delta":
                fragment = delta.get("partial_json") or ""
                block_kind, slot, _ = self.blocks[payload["index"]]
                if not fragment:
                    return []
                self.blocks[payload["index"]] = (block_kind, slot, True)
                return [("tool", 0, slot, None, None, fragment)]
            return []
        if kind == "content_block_stop":
            entry = self.blocks.get(payload.get("index"))
            if entry and entry[0] == "tool" and not entry[2]:
                return [("tool", 0, entry[1], None, None, "{}")]  # zero-argument call: "{}" not ""
            return []
        if kind == "message_delta":
            reason = (payload.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish = (self.adapter.map_finish(reason), reason)
            self.raw_usage.update(payload.get("usage") or {})  # cumulative: later values replace
            self._sync_usage()
            return []
        if kind == "message_stop":
            self.done = True
            if self.finish is None:
                raise StreamProtocolError("Anthropic stream ended without a stop_reason")
            return [("finish", 0, self.finish[0], self.finish[1])]
        if kind == "error":
            error = payload.get("error") or {}
            raise UpstreamStreamError(
                str(error.get("message") or "provider error"),
                overloaded=error.get("type") == "overloaded_error",
            )
        return []  # ping and unknown events

    def _sync_usage(self) -> None:
        self.usage = AnthropicAdapter.usage_of(self.raw_usage)
