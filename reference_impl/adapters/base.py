"""The shared translation mechanism; each flavour module supplies data and the few functions that differ.

Request side: `Adapter.build()` runs one pipeline for every provider -- drop unsupported parameters (with
an `unsupported_parameter` warning), map the kept ones through the flavour's `param_map` (OpenAI name ->
dotted native path), translate messages, tools, tool_choice, response_format and reasoning_effort, then
merge the sanitised `extensions.<provider>` on top.

Response side: a native body becomes an OpenAI `chat.completion` (without `routing_metadata`, which the
app adds), and a native stream becomes a list of normalised events per upstream SSE event:

    ("text", choice, str)            ("reasoning", choice, str)      ("signature", choice, str)
    ("tool", choice, tool_index, id | None, name | None, arguments_fragment)
    ("finish", choice, reason, native_reason)        ("logprobs", choice, obj)

plus `usage` kept on the decoder (replaced, never added: upstream usage is often cumulative).
`streaming.py` turns those events into OpenAI chunks, so framing rules live in one place.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import httpx
import orjson
from auriko_conformance.reference_impl.catalog import Offering
from auriko_conformance.reference_impl.config import ProviderConfig
from auriko_conformance.reference_impl.extensions import blocked_warnings, sanitise_extension
from auriko_conformance.reference_impl.validation import ChatRequest, warning

Event = tuple[Any, ...]

# Optional OpenAI parameters subject to the per-offering support list (dropped with a warning if absent).
OPTIONAL_PARAMS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "top_a",
    "repetition_penalty",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
    "user",
    "parallel_tool_calls",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
)

#: Thinking budget (tokens) per reasoning_effort, for the providers that take a budget rather than a
#: level (Anthropic's budget models, Gemini 2.5). The docs say only "derived from effort", with no
#: numbers: one table, so every budget provider derives it the same way and `xhigh` < `max` holds.
THINKING_BUDGETS = {"low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}


class StreamProtocolError(Exception):
    """The upstream stream broke its own protocol or ended early (becomes a D-004 error event)."""


class UpstreamStreamError(Exception):
    """The provider reported an error inside a 200 stream (e.g. Anthropic `event: error`)."""

    def __init__(self, message: str, overloaded: bool = False) -> None:
        super().__init__(message)
        self.overloaded = overloaded


@dataclass(slots=True)
class Usage:
    """Normalised token counts: prompt includes cached and cache-write tokens; completion, reasoning."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def to_dict(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
            "prompt_tokens_details": {"cached_tokens": self.cached},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        }
        if self.cache_write:
            usage["prompt_tokens_details"]["cache_write_tokens"] = self.cache_write
        return usage


@dataclass(slots=True)
class Attempt:
    """One try of one offering: what to translate, where to, and the warnings this try produced."""

    request: ChatRequest
    offering: Offering
    provider: ProviderConfig
    warnings: list[dict[str, str]]
    stream: bool
    thinking: bool = False  # set by the reasoning translation: reasoning is on for this attempt

    def warn(self, kind: str, message: str) -> None:
        self.warnings.append(warning(kind, message))


@dataclass(slots=True)
class UpstreamCall:
    url: str
    headers: dict[str, str]
    body: bytes


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """`set_path(d, "generationConfig.topP", 0.9)` creates intermediate objects as needed."""
    if "." not in path:
        target[path] = value
        return
    *parents, leaf = path.split(".")
    node = target
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    """Merge `extra` into `base` in place: objects merge recursively, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def text_of(content: Any) -> str:
    """The text of an OpenAI `content`: a string, or text parts joined (refusal parts included)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    # by the part's own type: parts are open objects, a refusal part may carry an unrelated `text` key
    return "".join(
        p["text"] if p["type"] == "text" else p["refusal"]
        for p in content
        if p.get("type") in ("text", "refusal")
    )


def parse_arguments(arguments: str | None) -> dict[str, Any]:
    """OpenAI tool-call `arguments` (a JSON string) -> object; empty means no arguments (`{}`)."""
    if not arguments or not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {"_raw": arguments}
    return value if isinstance(value, dict) else {"value": value}


def new_id(prefix: str) -> str:
    return prefix + os.urandom(12).hex()


def first_user_text(messages: list[dict[str, Any]]) -> str:
    return next((text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")


class Adapter:
    """One provider flavour. Subclasses set the class attributes and implement the abstract hooks."""

    flavour: ClassVar[str] = "base"
    # OpenAI parameter -> dotted native path (only parameters the flavour can carry at all)
    param_map: ClassVar[dict[str, str]] = {}
    # OpenAI parameter -> value transform before it is placed
    param_transforms: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    max_tokens_path: ClassVar[str] = "max_tokens"
    finish_reasons: ClassVar[dict[str, str]] = {}
    extension_keys: ClassVar[tuple[str, ...]] = ()  # extension names besides the provider's own

    # --- request ---------------------------------------------------------------------------------------
    def build(self, attempt: Attempt) -> UpstreamCall:
        body = attempt.request.body
        native: dict[str, Any] = {}
        self.translate_reasoning(attempt, native)
        self.place_params(attempt, native)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        self.place_max_tokens(attempt, native, max_tokens)
        self.translate_messages(attempt, native)
        if body.get("tools"):
            if attempt.offering.capabilities.tools:
                self.translate_tools(attempt, native)
            else:  # only reachable with tool_choice "none": the tools would never be called anyway
                attempt.warn(
                    "unsupported_parameter", f"'tools' dropped: {attempt.offering.provider} has no tools."
                )
        rf = body.get("response_format")
        if rf and rf["type"] != "text":
            self.translate_response_format(attempt, native, rf)
        self.merge_extensions(attempt, native)
        return self.finish_call(attempt, native)

    def place_params(self, attempt: Attempt, native: dict[str, Any]) -> None:
        body = attempt.request.body
        supported = attempt.offering.supported_parameters
        provider = attempt.offering.provider
        for name in OPTIONAL_PARAMS:
            if name not in body:
                continue
            value = body[name]
            if value is None or (name == "n" and value == 1):
                continue
            if name not in supported or name not in self.param_map:
                attempt.warn(
                    "unsupported_parameter",
                    f"'{name}' is not supported by {provider} ({attempt.offering.provider_model_id})"
                    " and was dropped.",
                )
                continue
            value = self.adjust_param(attempt, name, value)
            if value is None:
                continue
            transform = self.param_transforms.get(name)
            set_path(native, self.param_map[name], transform(value) if transform else value)

    def adjust_param(self, attempt: Attempt, name: str, value: Any) -> Any:
        """Flavour hook: change or drop (return None) one supported parameter's value."""
        return value

    def place_max_tokens(self, attempt: Attempt, native: dict[str, Any], max_tokens: int | None) -> None:
        if max_tokens is not None:
            set_path(native, self.max_tokens_path, self.clamp_max_tokens(attempt, max_tokens))

    @staticmethod
    def clamp_max_tokens(attempt: Attempt, max_tokens: int) -> int:
        """A limit above the model's output ceiling becomes the ceiling, with a warning (XLATE-014)."""
        ceiling = attempt.offering.max_output_tokens
        if ceiling is None or max_tokens <= ceiling:
            return max_tokens
        attempt.warn(
            "unsupported_parameter",
            f"max_completion_tokens {max_tokens} is above the output limit of "
            f"{attempt.offering.provider_model_id}; {ceiling} was used.",
        )
        return ceiling

    def translate_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        raise NotImplementedError

    def translate_messages(self, attempt: Attempt, native: dict[str, Any]) -> None:
        raise NotImplementedError

    def translate_tools(self, attempt: Attempt, native: dict[str, Any]) -> None:
        raise NotImplementedError

    def translate_response_format(self, attempt: Attempt, native: dict[str, Any], rf: dict[str, Any]) -> None:
        raise NotImplementedError

    def merge_extensions(self, attempt: Attempt, native: dict[str, Any]) -> None:
        extensions = attempt.request.extensions
        if not extensions:
            return
        provider = attempt.offering.provider
        removed: list[str] = []
        for key in dict.fromkeys((*self.extension_keys, provider)):
            value = extensions.get(key)
            if isinstance(value, dict) and value:
                clean = sanitise_extension(value, f"extensions.{key}", removed)
                deep_merge(native, clean)
        attempt.warnings.extend(blocked_warnings(removed))

    def finish_call(self, attempt: Attempt, native: dict[str, Any]) -> UpstreamCall:
        raise NotImplementedError

    # --- response --------------------------------------------------------------------------------------
    def parse_response(self, data: dict[str, Any], attempt: Attempt) -> tuple[dict[str, Any], Usage | None]:
        """Native body -> (OpenAI completion without routing_metadata, usage)."""
        raise NotImplementedError

    def stream_decoder(self, attempt: Attempt) -> StreamDecoder:
        raise NotImplementedError

    def retry_after(self, headers: httpx.Headers, body: bytes) -> str | None:
        """Seconds the provider asks us to wait, from `retry-after` / `retry-after-ms` (whole seconds, up)."""
        for name, scale in (("retry-after", 1.0), ("retry-after-ms", 1000.0)):
            value = headers.get(name)
            if value is not None:
                try:
                    return str(max(0, math.ceil(float(value) / scale)))
                except ValueError:
                    return None
        return None

    def error_message(self, status: int, body: bytes) -> str:
        """The provider's error text from its own envelope (for logs and the 502 message)."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body[:200].decode("utf-8", "replace") or f"HTTP {status}"
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or error)
        if isinstance(error, str):
            return error
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
        return f"HTTP {status}"

    def map_finish(self, native: str | None) -> str:
        if native is None:
            return "stop"
        return self.finish_reasons.get(native, "stop")


# A token estimate for text whose provider does not count it separately: a run of word characters or one
# punctuation character. Real tokenizers differ; the estimate is capped by the provider's own total.
_TOKEN_ESTIMATE = re.compile(r"\w+|[^\w\s]")


def with_reasoning_estimate(usage: Usage | None, reasoning_texts: list[str]) -> Usage | None:
    """`usage` with `reasoning` estimated from the reasoning text when the provider reported none (D-061).

    vLLM counts a thinking model's reasoning in `completion_tokens` but has no `reasoning_tokens`:
    `qwen3-32b` answered `completion_tokens` 26 with `reasoning_tokens` 0 for 16 tokens of reasoning.
    """
    if usage is None or usage.reasoning or not reasoning_texts:
        return usage
    estimate = sum(len(_TOKEN_ESTIMATE.findall(text)) for text in reasoning_texts)
    return replace(usage, reasoning=min(estimate, usage.completion))


@dataclass(slots=True)
class StreamDecoder:
    """Base for a native-stream decoder: `feed()` per SSE event, `close()` at the end of the body."""

    adapter: Adapter
    attempt: Attempt
    usage: Usage | None = None
    done: bool = False
    model: str | None = None
    system_fingerprint: str | None = None
    tool_slots: dict[tuple[int, Any], int] = field(default_factory=dict)
    tool_counts: dict[int, int] = field(default_factory=dict)
    reasoning_texts: list[str] = field(default_factory=list)  # kept only to estimate (D-061)

    def feed(self, event: str | None, data: str) -> list[Event]:
        raise NotImplementedError

    def close(self) -> list[Event]:
        """End of the upstream body: a stream that never reached its terminal event is an error."""
        if not self.done:
            raise StreamProtocolError("the provider closed the stream before it was complete")
        return []

    def tool_index(self, choice: int, key: Any) -> tuple[int, bool]:
        """A distinct, dense index per tool call of a choice; True when `key` is new (first delta)."""
        slot = self.tool_slots.get((choice, key))
        if slot is not None:
            return slot, False
        slot = self.tool_counts.get(choice, 0)
        self.tool_counts[choice] = slot + 1
        self.tool_slots[(choice, key)] = slot
        return slot, True
