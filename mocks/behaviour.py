"""The deterministic reply: text, reasoning, tool calls, finish reason and usage, provider-neutral.

The reply is a pure function of the conversation (`Turn`) and the directives, never of the provider or
of sampling parameters, so a suite can predict it and compare providers. Text is a sentence of
`words` tokens (default 20) drawn from a fixed vocabulary by a PRNG seeded with the last user text
(markers removed). `reply_text()` is public so a suite can compute the expected answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from auriko_conformance.mocks.conversation import ToolDef, Turn
from auriko_conformance.mocks.directives import DirectiveError, Directives
from auriko_conformance.mocks.tokens import canonical_json, count_tokens, split_tokens

DEFAULT_REPLY_TOKENS = 20
DEFAULT_REASONING_TOKENS = 16

VOCAB: tuple[str, ...] = tuple(
    [
        "amber",
        "anchor",
        "apple",
        "arrow",
        "autumn",
        "basket",
        "beacon",
        "birch",
        "bridge",
        "bronze",
        "candle",
        "canyon",
        "cedar",
        "circle",
        "cloud",
        "comet",
        "copper",
        "coral",
        "cotton",
        "crystal",
        "delta",
        "desert",
        "echo",
        "ember",
        "falcon",
        "feather",
        "field",
        "forest",
        "garden",
        "glacier",
        "granite",
        "harbor",
        "hazel",
        "island",
        "ivory",
        "jasmine",
        "lantern",
        "lemon",
        "maple",
        "marble",
        "meadow",
        "mirror",
        "morning",
        "orbit",
        "pebble",
        "pepper",
        "pilot",
        "plum",
        "prairie",
        "quartz",
        "rain",
        "ribbon",
        "river",
        "saffron",
        "silver",
        "sparrow",
        "spruce",
        "stone",
        "summer",
        "thunder",
        "timber",
        "velvet",
        "willow",
        "winter",
    ]
)

FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_TOOL_CALLS = "tool_calls"
FINISH_CONTENT_FILTER = "content_filter"
FINISH_STOP_SEQUENCE = "stop_sequence"


@lru_cache(maxsize=8192)
def reply_text(seed: str, tokens: int = DEFAULT_REPLY_TOKENS) -> str:
    """The sentence of exactly `tokens` tokens the mocks answer to a user text `seed` (markers removed,
    whitespace collapsed): `tokens - 1` words and a full stop."""
    rng = random.Random(seed)
    if tokens <= 1:
        return rng.choice(VOCAB).capitalize()
    words = [rng.choice(VOCAB) for _ in range(tokens - 1)]
    return " ".join(words).capitalize() + "."


def reasoning_text(seed: str, tokens: int) -> str:
    """The reasoning (thinking) text of `tokens` tokens for a user text `seed`."""
    return reply_text("reasoning:" + seed, tokens) if tokens > 0 else ""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call: the arguments as an object and as the compact JSON text OpenAI-style APIs carry."""

    name: str
    arguments: Any
    arguments_json: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Counts:
    """Neutral counts; each flavour renders its native shape from these."""

    prompt: int
    cached: int
    completion: int  # visible text + reasoning + tool calls
    reasoning: int

    @property
    def total(self) -> int:
        return self.prompt + self.completion


@dataclass(slots=True)
class Reply:
    text: str
    text_chunks: list[str]
    reasoning: str
    reasoning_chunks: list[str]
    tool_calls: list[ToolCall]
    finish: str
    usage: Counts
    stop_sequence: str | None = None
    directives: Directives = field(default_factory=Directives)

    def native_finish(self, table: Mapping[str, str]) -> str:
        """The flavour's finish reason: the one a `native_finish` directive names (so a suite can make
        every native reason, unknown ones included, reach the gateway), else `table`'s for `finish`."""
        return self.directives.native_finish or table[self.finish]


def example_value(schema: Any, key: str, index: int) -> Any:
    """A deterministic value matching a (JSON Schema / OpenAPI / Gemini) schema, for tool arguments and
    structured output."""
    if not isinstance(schema, dict):
        return f"{key}-{index}" if key else "value"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combo in ("anyOf", "oneOf", "any_of", "allOf"):
        if schema.get(combo):
            return example_value(schema[combo][0], key, index)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = str(kind).lower() if kind else ("object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: example_value(sub, name, index) for name, sub in props.items()}
    if kind == "array":
        return [example_value(schema.get("items"), key, index)]
    if kind == "integer":
        return index + 1
    if kind == "number":
        return index + 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    rng = random.Random(f"{key}:{index}")
    return rng.choice(VOCAB).capitalize()


def _tool_calls(turn: Turn, count: int) -> list[ToolCall]:
    if count and not turn.tools:
        raise DirectiveError("tool_calls", "the request declares no tools to call")
    by_name = {t.name: t for t in turn.tools}
    calls = []
    for i in range(count):
        tool: ToolDef = by_name.get(turn.forced_tool or "", turn.tools[i % len(turn.tools)])
        args = example_value(tool.schema, "", i) if tool.schema else {}
        if not isinstance(args, dict):
            args = {}
        args_json = canonical_json(args)
        calls.append(ToolCall(tool.name, args, args_json, count_tokens(tool.name) + count_tokens(args_json)))
    return calls


def _visible_text(turn: Turn, d: Directives) -> str:
    words = d.words or DEFAULT_REPLY_TOKENS
    if turn.json_schema is not None:
        value = example_value(turn.json_schema, "", 0)
        return canonical_json(value)
    if turn.json_mode:
        return canonical_json({"answer": reply_text(turn.reply_seed, words)})
    return reply_text(turn.reply_seed, words)


def plan_reply(turn: Turn, d: Directives) -> Reply:
    """Everything the provider will answer, before any wire format."""
    reasoning_tokens = 0
    if turn.thinking:
        reasoning_tokens = d.reasoning if d.reasoning is not None else DEFAULT_REASONING_TOKENS
    call_count = 0
    if turn.tool_choice != "none" and turn.tools:
        call_count = (
            d.tool_calls if d.tool_calls is not None else (1 if turn.tool_choice == "required" else 0)
        )
    elif d.tool_calls and turn.tool_choice != "none":
        call_count = d.tool_calls
    if not turn.parallel_tools:
        call_count = min(call_count, 1)
    calls = _tool_calls(turn, call_count)

    text = (
        _visible_text(turn, d) if not calls else reply_text(turn.reply_seed, d.preamble) if d.preamble else ""
    )
    chunks = split_tokens(text)
    finish = FINISH_TOOL_CALLS if calls else FINISH_STOP
    stop_sequence = None
    if text and turn.stop:
        hits = [(text.find(s), s) for s in turn.stop if s and s in text]
        if hits:
            pos, stop_sequence = min(hits)
            text = text[:pos]
            chunks = split_tokens(text)
            if text and not text[-1:].strip():  # the stop hit right after whitespace: drop it
                text = text.rstrip()
                chunks = split_tokens(text)
            finish = FINISH_STOP_SEQUENCE

    if d.finish == FINISH_CONTENT_FILTER:
        chunks = chunks[: max(1, len(chunks) // 2)] if chunks else []
        text = "".join(chunks)
        calls = []
        finish = FINISH_CONTENT_FILTER

    if turn.max_tokens is not None:
        budget = turn.max_tokens
        tool_tokens = sum(c.tokens for c in calls)
        if reasoning_tokens >= budget and (reasoning_tokens > budget or chunks or calls):
            reasoning_tokens, chunks, calls, finish = budget, [], [], FINISH_LENGTH
        elif calls and reasoning_tokens + tool_tokens > budget:
            calls, finish = [], FINISH_LENGTH
        elif reasoning_tokens + len(chunks) > budget:
            chunks, finish = chunks[: budget - reasoning_tokens], FINISH_LENGTH
        text = "".join(chunks)
        stop_sequence = stop_sequence if finish == FINISH_STOP_SEQUENCE else None

    if d.finish == FINISH_LENGTH:
        finish = FINISH_LENGTH
    elif d.finish == FINISH_STOP:
        finish = FINISH_STOP

    reasoning = reasoning_text(turn.reply_seed, reasoning_tokens)
    completion = len(chunks) + reasoning_tokens + sum(c.tokens for c in calls)
    cached = min(d.cached or 0, turn.prompt_tokens)
    return Reply(
        text=text,
        text_chunks=chunks,
        reasoning=reasoning,
        reasoning_chunks=split_tokens(reasoning),
        tool_calls=calls,
        finish=finish,
        usage=Counts(
            prompt=turn.prompt_tokens, cached=cached, completion=completion, reasoning=reasoning_tokens
        ),
        stop_sequence=stop_sequence,
        directives=d,
    )
