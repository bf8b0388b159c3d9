"""The provider-neutral view of one chat request: what each flavour's parser produces.

Every flavour reads its own wire shape into a `Turn`, and from there the reply (`mocks.behaviour`) no
longer depends on the provider. `TurnBuilder` applies the token rule to every text the conversation
carries, so the same conversation gives the same prompt token count in any provider's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auriko_conformance.mocks.directives import strip_markers
from auriko_conformance.mocks.models import ModelSpec
from auriko_conformance.mocks.tokens import count_argument_tokens, count_json_tokens, count_tokens


@dataclass(frozen=True, slots=True)
class ToolDef:
    """A declared function: its name and JSON-ish parameter schema (any dialect; read leniently)."""

    name: str
    schema: Any = None


@dataclass(slots=True)
class Turn:
    """What a request asks for, in neutral terms. `max_tokens` bounds reasoning + visible output."""

    model: ModelSpec
    prompt_tokens: int
    reply_seed: str
    directive_text: str
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    tools: tuple[ToolDef, ...] = ()
    tool_choice: str = "auto"  # auto | none | required
    forced_tool: str | None = None
    parallel_tools: bool = True
    thinking: bool = False
    thinking_requested: bool = False  # the request asked for thinking (on or not for this answer)
    show_reasoning: bool = True
    json_schema: Any = None
    json_mode: bool = False


class TurnBuilder:
    """Walks a conversation once: counts prompt tokens, remembers the last user text (the reply seed)
    and the user text after the last assistant turn (where directives are read)."""

    __slots__ = ("_trailing", "last_user_text", "tokens")

    def __init__(self) -> None:
        self.tokens = 0
        self.last_user_text = ""
        self._trailing: list[str] = []

    def system_text(self, text: str) -> None:
        self.tokens += count_tokens(text)

    def user_text(self, text: str) -> None:
        self.tokens += count_tokens(text)
        self.last_user_text = text
        self._trailing.append(text)

    def assistant_text(self, text: str) -> None:
        self.tokens += count_tokens(text)

    def assistant_turn(self) -> None:
        """An assistant (model) turn starts: directives before it no longer apply."""
        self._trailing.clear()

    def tool_call(self, name: str, arguments: Any) -> None:
        """A tool call in history; `arguments` is an OpenAI JSON string or an already parsed object."""
        self.tokens += count_tokens(name)
        if isinstance(arguments, str):
            self.tokens += count_argument_tokens(arguments)
        else:
            self.tokens += count_json_tokens(arguments if arguments is not None else {})

    def tool_result_text(self, text: str) -> None:
        self.tokens += count_tokens(text)

    def tool_result_json(self, value: Any) -> None:
        self.tokens += count_json_tokens(value)

    def build(self, model: ModelSpec, **params: Any) -> Turn:
        return Turn(
            model=model,
            prompt_tokens=self.tokens,
            reply_seed=strip_markers(self.last_user_text),
            directive_text="\n".join(self._trailing),
            **params,
        )
