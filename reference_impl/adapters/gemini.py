"""Google Gemini `generateContent`: `contents`/`parts`, `systemInstruction`, `generationConfig`.

Tools use `parametersJsonSchema` and structured output `responseJsonSchema`, which take plain JSON
Schema (so `additionalProperties: false` from a strict OpenAI schema is accepted, unlike the OpenAPI
subset of `parameters`/`responseSchema`). Function calls carry no ids on the Gemini API: ids are made
here and tool results find their function name through the id of the earlier call.

Reasoning: Gemini 2.5 (`budget`) -> `thinkingConfig.thinkingBudget` (1024/2048/4096/8192/16384,
0 = off where the model allows it); Gemini 3 (`level`) -> `thinkingConfig.thinkingLevel`, with
`xhigh`/`max` -> `high` and a warning.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import httpx
import orjson
from auriko_conformance.reference_impl.adapters.base import (
    THINKING_BUDGETS,
    Adapter,
    Attempt,
    Event,
    StreamDecoder,
    UpstreamCall,
    UpstreamStreamError,
    Usage,
    as_list,
    new_id,
    parse_arguments,
    text_of,
)

MIME_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
CONTENT_FILTER = frozenset(
    [
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "NO_IMAGE",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
    ]
)


_GEMINI_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_GEMINI_NAME_CHAR = re.compile(r"[^A-Za-z0-9_.:-]")


def native_function_name(name: str) -> str:
    """Gemini function names must start with a letter or `_`; OpenAI's may start with a digit or `-`.

    Such a name gets a leading `_` on the way up (declared tool names, `[A-Za-z0-9_-]{1,64}`, need only
    that) and loses it on the way back (`client_function_name`). Names in the history, which the contract
    does not restrict, also have other characters replaced by `_`.
    """
    if _GEMINI_NAME.fullmatch(name):
        return name
    return ("_" + _GEMINI_NAME_CHAR.sub("_", name))[:128]


def client_function_name(attempt: Attempt, native: str) -> str:
    """The declared tool name a Gemini function-call name stands for."""
    if native.startswith("_"):
        for tool in attempt.request.body.get("tools") or ():
            name = tool["function"]["name"]
            if name != native and native_function_name(name) == native:
                return name
    return native


def _image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return {"inlineData": {"mimeType": header[5:].split(";")[0] or "image/png", "data": data}}
    extension = url.rsplit(".", 1)[-1].lower().split("?")[0]
    return {"fileData": {"mimeType": MIME_TYPES.get(extension, "image/jpeg"), "fileUri": url}}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content:
        if part.get("type") == "text" and part["text"]:
            parts.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            parts.append(_image_part(part["image_url"]["url"]))
    return parts


_DELAY = re.compile(r"(\d+(?:\.\d+)?)s")


class GeminiAdapter(Adapter):
    flavour = "gemini"
    param_map: ClassVar[dict[str, str]] = {
        "temperature": "generationConfig.temperature",
        "top_p": "generationConfig.topP",
        "top_k": "generationConfig.topK",
        "stop": "generationConfig.stopSequences",
        "seed": "generationConfig.seed",
        "n": "generationConfig.candidateCount",
        "presence_penalty": "generationConfig.presencePenalty",
        "frequency_penalty": "generationConfig.frequencyPenalty",
        "logprobs": "generationConfig.responseLogprobs",
        "top_logprobs": "generationConfig.logprobs",
    }
    param_transforms: ClassVar[dict[str, Any]] = {"stop": as_list}
    max_tokens_path = "generationConfig.maxOutputTokens"
    finish_reasons: ClassVar[dict[str, str]] = {"STOP": "stop", "MAX_TOKENS": "length"} | {
        reason: "content_filter" for reason in CONTENT_FILTER
    }
    extension_keys: ClassVar[tuple[str, ...]] = ("gemini",)

    def retry_after(self, headers: httpx.Headers, body: bytes) -> str | None:
        """Gemini puts the wait in the body (`RetryInfo.retryDelay`, e.g. "30s"), not in a header."""
        from_headers = super().retry_after(headers, body)
        if from_headers is not None:
            return from_headers
        try:
            details = orjson.loads(body).get("error", {}).get("details") or []
        except (orjson.JSONDecodeError, AttributeError):
            return None
        for detail in details if isinstance(details, list) else []:
            delay = detail.get("retryDelay") if isinstance(detail, dict) else None
            match = _DELAY.fullmatch(delay) if isinstance(delay, str) else None
            if match:
                return str(math.ceil(float(match.group(1))))
        return None

    def adjust_param(self, attempt: Attempt, name: str, value: Any) -> Any:
        if name == "temperature" and value == 0:
            return 0.0
        return value

    def translate_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        effort = attempt.request.body.get("reasoning_effort")
        caps = attempt.offering.capabilities
        if effort is None or caps.reasoning == "none":
            return
        config: dict[str, Any]
        if effort == "off":
            config = {"thinkingBudget": 0}
        elif caps.reasoning == "level":
            level = effort
            if effort not in caps.effort_values:
                level = caps.effort_values[-1] if caps.effort_values else "high"
                attempt.warn(
                    "unsupported_parameter",
                    f"reasoning_effort '{effort}' is not available on {attempt.offering.provider_model_id}; "
                    f"'{level}' was used.",
                )
            config = {"thinkingLevel": level, "includeThoughts": True}
            attempt.thinking = True
        else:
            config = {"thinkingBudget": THINKING_BUDGETS[effort], "includeThoughts": True}
            attempt.thinking = True
        native.setdefault("generationConfig", {})["thinkingConfig"] = config

    # --- messages ----------------------------------------------------------------------------------------
    def translate_messages(self, attempt: Attempt, native: dict[str, Any]) -> None:
        system: list[dict[str, Any]] = []
        contents: list[dict[str, Any]] = []
        call_names: dict[str, str] = {}

        def add(role: str, parts: list[dict[str, Any]]) -> None:
            if not parts:
                return
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": role, "parts": parts})

        for m in attempt.request.body["messages"]:
            role = m["role"]
            if role in ("system", "developer"):
                system.extend({"text": t} for t in [text_of(m["content"])] if t)
            elif role == "user":
                add("user", _parts(m["content"]))
            elif role == "assistant":
                parts = _parts(text_of(m.get("content")))
                for call in m.get("tool_calls") or ():
                    name = native_function_name(call["function"]["name"])
                    call_names[call["id"]] = name
                    part: dict[str, Any] = {
                        "functionCall": {"name": name, "args": parse_arguments(call["function"]["arguments"])}
                    }
                    if call.get("provider_signature"):
                        part["thoughtSignature"] = call["provider_signature"]
                    parts.append(part)
                add("model", parts)
            elif role in ("tool", "function"):
                name = call_names.get(m.get("tool_call_id", ""), "function")
                if m.get("name"):
                    name = native_function_name(m["name"])
                text = text_of(m.get("content"))
                try:
                    result = orjson.loads(text)
                except orjson.JSONDecodeError:
                    result = text
                add("user", [{"functionResponse": {"name": name, "response": {"output": result}}}])
        if not contents:
            contents.append({"role": "user", "parts": [{"text": "."}]})
        if system:
            native["systemInstruction"] = {"parts": system}
        native["contents"] = contents

    def translate_tools(self, attempt: Attempt, native: dict[str, Any]) -> None:
        body = attempt.request.body
        declarations = []
        for tool in body["tools"]:
            fn = tool["function"]
            entry: dict[str, Any] = {"name": native_function_name(fn["name"])}
            if fn.get("description"):
                entry["description"] = fn["description"]
            if fn.get("parameters"):
                entry["parametersJsonSchema"] = fn["parameters"]
            declarations.append(entry)
        native["tools"] = [{"functionDeclarations": declarations}]
        choice = body.get("tool_choice")
        config: dict[str, Any] | None = None
        if choice == "none":
            config = {"mode": "NONE"}
        elif choice == "required":
            config = {"mode": "ANY"}
        elif choice == "auto":
            config = {"mode": "AUTO"}
        elif isinstance(choice, dict):
            allowed = [native_function_name(choice["function"]["name"])]
            config = {"mode": "ANY", "allowedFunctionNames": allowed}
        if config is not None:
            native["toolConfig"] = {"functionCallingConfig": config}

    def translate_response_format(self, attempt: Attempt, native: dict[str, Any], rf: dict[str, Any]) -> None:
        config = native.setdefault("generationConfig", {})
        config["responseMimeType"] = "application/json"
        if rf["type"] == "json_schema":
            config["responseJsonSchema"] = rf["json_schema"]["schema"]

    def finish_call(self, attempt: Attempt, native: dict[str, Any]) -> UpstreamCall:
        model = attempt.offering.provider_model_id
        base = attempt.provider.base_url
        url = (
            f"{base}/models/{model}:streamGenerateContent?alt=sse"
            if attempt.stream
            else f"{base}/models/{model}:generateContent"
        )
        headers = {"x-goog-api-key": attempt.provider.api_key, "content-type": "application/json"}
        return UpstreamCall(url, headers, orjson.dumps(native))

    # --- response ----------------------------------------------------------------------------------------
    @staticmethod
    def usage_of(raw: dict[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        thoughts = raw.get("thoughtsTokenCount") or 0
        return Usage(
            prompt=(raw.get("promptTokenCount") or 0) + (raw.get("toolUsePromptTokenCount") or 0),
            completion=(raw.get("candidatesTokenCount") or 0) + thoughts,
            cached=raw.get("cachedContentTokenCount") or 0,
            reasoning=thoughts,
        )

    def finish_of(self, native: str | None, has_calls: bool) -> str:
        finish = self.map_finish(native)
        return "tool_calls" if has_calls and finish == "stop" else finish  # `length` wins over tool calls

    def parse_response(self, data: dict[str, Any], attempt: Attempt) -> tuple[dict[str, Any], Usage | None]:
        choices = []
        exclude = attempt.request.exclude_reasoning
        for position, candidate in enumerate(data.get("candidates") or ()):
            texts: list[str] = []
            thoughts: list[str] = []
            calls: list[dict[str, Any]] = []
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    fc = part["functionCall"]
                    call: dict[str, Any] = {
                        "id": fc.get("id") or new_id("call_"),
                        "type": "function",
                        "function": {
                            "name": client_function_name(attempt, fc["name"]),
                            "arguments": orjson.dumps(fc.get("args") or {}).decode(),
                        },
                    }
                    if part.get("thoughtSignature"):
                        call["provider_signature"] = part["thoughtSignature"]
                    calls.append(call)
                elif "text" in part:
                    (thoughts if part.get("thought") else texts).append(part["text"])
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(texts) if texts or not calls else None,
            }
            if thoughts and not exclude:
                message["reasoning_content"] = "".join(thoughts)
            if calls:
                message["tool_calls"] = calls
            native_finish = candidate.get("finishReason")
            finish = self.finish_of(native_finish, bool(calls))
            choice: dict[str, Any] = {
                "index": candidate.get("index", position),
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
            }
            if native_finish and native_finish != finish:
                choice["native_finish_reason"] = native_finish
            choices.append(choice)
        completion = {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": 0,
            "model": data.get("modelVersion") or attempt.offering.provider_model_id,
            "choices": choices,
        }
        return completion, self.usage_of(data.get("usageMetadata"))

    def stream_decoder(self, attempt: Attempt) -> StreamDecoder:
        return GeminiStreamDecoder(self, attempt)


class GeminiStreamDecoder(StreamDecoder):
    """Each event is a whole GenerateContentResponse; the stream ends at close after a finishReason."""

    finished: dict[int, bool] | None = None
    calls: dict[int, bool] | None = None

    def feed(self, event: str | None, data: str) -> list[Event]:
        payload = orjson.loads(data)
        if "error" in payload and "candidates" not in payload:
            error = payload["error"]
            raise UpstreamStreamError(str(error.get("message") if isinstance(error, dict) else error))
        if self.finished is None:
            self.finished, self.calls = {}, {}
        if self.model is None:
            self.model = payload.get("modelVersion")
        usage = payload.get("usageMetadata")
        if usage:
            self.usage = GeminiAdapter.usage_of(usage)  # cumulative: replace
        events: list[Event] = []
        exclude = self.attempt.request.exclude_reasoning
        adapter: GeminiAdapter = self.adapter  # type: ignore[assignment]
        for position, candidate in enumerate(payload.get("candidates") or ()):
            index = candidate.get("index", position)
            for part in (candidate.get("content") or {}).get("parts") or ():
                if "functionCall" in part:
                    fc = part["functionCall"]
                    slot, _ = self.tool_index(index, len(self.tool_slots))
                    self.calls[index] = True
                    events.append(
                        (
                            "tool",
                            index,
                            slot,
                            fc.get("id") or new_id("call_"),
                            client_function_name(self.attempt, fc["name"]),
                            orjson.dumps(fc.get("args") or {}).decode(),
                        )
                    )
                elif part.get("text"):
                    if part.get("thought"):
                        if not exclude:
                            events.append(("reasoning", index, part["text"]))
                    else:
                        events.append(("text", index, part["text"]))
            native_finish = candidate.get("finishReason")
            if native_finish and not self.finished.get(index):
                self.finished[index] = True
                events.append(
                    (
                        "finish",
                        index,
                        adapter.finish_of(native_finish, bool(self.calls.get(index))),
                        native_finish,
                    )
                )
        if self.finished and all(self.finished.values()):
            self.done = True
        return events
