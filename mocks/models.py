"""The models each mock serves by default, with the reasoning kind that decides its thinking rules.

Data only: the flavour modules read `reasoning` to decide whether thinking is on for a request and which
thinking parameters the real API accepts for that model.

Two lists per provider. `MODELS_BY_FLAVOUR` holds the ids the reference gateway's catalog and the suites
point at (each suite model kind has a deployment there). `PUBLIC_MODELS_BY_FLAVOUR` adds the rest of the
provider's public list, so that a gateway configured with any name the real API accepts gets an answer,
not a 404 the real API would never send. Every model answers to all its names (`ModelSpec.names`): the
id, the dated snapshot and the aliases, and the response's `model` is the snapshot, as the real APIs
resolve `gpt-4o` to `gpt-4o-2024-08-06` and `claude-sonnet-4-5` to `claude-sonnet-4-5-20250929`.
A mock config file adds models of its own (`mocks/README.md`, "Config file").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Reasoning(StrEnum):
    """How a model reasons, i.e. which request fields switch or steer its thinking."""

    NONE = "none"  # never thinks; thinking parameters are rejected (or ignored, per flavour)
    EFFORT = "effort"  # OpenAI o-series / gpt-5: always thinks, `reasoning_effort`, hidden reasoning text
    ADAPTIVE = "adaptive"  # Anthropic 4.6+: `thinking: {"type": "adaptive"}` (+ output_config.effort)
    BUDGET = "budget"  # Anthropic <= 4.5: `thinking: {"type": "enabled", "budget_tokens": N}`
    THINKING_BUDGET = "thinking_budget"  # Gemini 2.5: thinkingConfig.thinkingBudget
    THINKING_LEVEL = "thinking_level"  # Gemini 3: thinkingConfig.thinkingLevel
    TOGGLE = "toggle"  # DeepSeek V4 chat: off unless `thinking: {"type": "enabled"}`
    ALWAYS = "always"  # DeepSeek reasoner: always thinks
    TEMPLATE = "template"  # vLLM Qwen3: thinks unless the chat template / reasoning_effort turns it off


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One served model. Budget ranges apply to Gemini thinkingBudget (inclusive; -1 = dynamic)."""

    id: str
    reasoning: Reasoning = Reasoning.NONE
    rejects_enabled_thinking: bool = False  # Claude 4.7+: `thinking.type: "enabled"` -> 400
    can_disable_thinking: bool = True  # Gemini 2.5 Pro: thinkingBudget 0 -> 400
    thinking_by_default: bool = False  # thinks when the request says nothing about thinking
    budget_min: int = 0
    budget_max: int = 0
    rejects_stop: bool = False  # OpenAI o3 / o4-mini: `stop` is not supported
    context_window: int = 128_000
    max_output: int = 16_384
    snapshot: str = ""  # the dated id the response names when it differs from `id` ("" = `id`)
    aliases: tuple[str, ...] = ()  # further names the real API accepts for this model
    display_name: str = ""  # Anthropic `display_name`, Gemini `displayName` ("" = derived from the id)
    released: str = "2025-01-01"  # ISO date: OpenAI `created`, Anthropic `created_at`
    efforts: tuple[str, ...] = ()  # Anthropic output_config.effort values ("" = the flavour default)
    audio_input: bool = False  # OpenAI: accepts `input_audio` content parts
    web_search: bool = False  # OpenAI: accepts `web_search_options` (the search-preview models)
    fingerprint: bool = True  # OpenAI: `system_fingerprint` is a string (False: null, as newer models send)
    cache_write_tokens: bool = False  # OpenAI: `prompt_tokens_details.cache_write_tokens` (newer models)
    inference_geo: str = "not_available"  # Anthropic `usage.inference_geo` (4.6+: "global")
    avg_logprobs: bool = False  # Gemini <= 2.0: `avgLogprobs` and no `index` on candidates, token details

    @property
    def served_as(self) -> str:
        """The model name a response carries (`model` / `modelVersion`)."""
        return self.snapshot or self.id

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a request may use for this model, the id first."""
        return tuple(dict.fromkeys((self.id, self.served_as, *self.aliases)))


def _reasoning_openai(model_id: str, *aliases: str, released: str, **kw: object) -> ModelSpec:
    """An OpenAI o-series / gpt-5 model: always thinks, `reasoning_effort`, 200K+ context."""
    return ModelSpec(
        model_id,
        Reasoning.EFFORT,
        aliases=aliases,
        released=released,
        **{"thinking_by_default": True, "context_window": 200_000, "max_output": 100_000, **kw},  # type: ignore[arg-type]
    )


OPENAI_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-4o-2024-08-06", aliases=("gpt-4o",), released="2024-08-06"),
    ModelSpec("gpt-4o-mini-2024-07-18", aliases=("gpt-4o-mini",), released="2024-07-18"),
    ModelSpec(
        "gpt-4.1-2025-04-14",
        aliases=("gpt-4.1",),
        released="2025-04-14",
        context_window=1_047_576,
        max_output=32_768,
    ),
    _reasoning_openai("o3-2025-04-16", "o3", released="2025-04-16", rejects_stop=True),
    _reasoning_openai("o4-mini-2025-04-16", "o4-mini", released="2025-04-16", rejects_stop=True),
    _reasoning_openai(
        "gpt-5-2025-08-07", "gpt-5", released="2025-08-07", context_window=400_000, max_output=128_000
    ),
)

XHIGH_EFFORTS = ("low", "medium", "high", "xhigh", "max")


def _adaptive_claude(model_id: str, display: str, released: str, **kw: object) -> ModelSpec:
    """A Claude 4.6+ model: adaptive thinking, 200K context, 128K output, the current response fields."""
    return ModelSpec(
        model_id,
        Reasoning.ADAPTIVE,
        display_name=display,
        released=released,
        **{"context_window": 200_000, "max_output": 128_000, "inference_geo": "global", **kw},  # type: ignore[arg-type]
    )


def _claude(model_id: str, snapshot: str, display: str, released: str, **kw: object) -> ModelSpec:
    """An older Claude: budget thinking (3.7 and 4.x) or none, 200K context."""
    return ModelSpec(
        model_id,
        snapshot=snapshot,
        display_name=display,
        released=released,
        **{"reasoning": Reasoning.BUDGET, "context_window": 200_000, "max_output": 64_000, **kw},  # type: ignore[arg-type]
    )


ANTHROPIC_MODELS: tuple[ModelSpec, ...] = (
    # Anthropic's model page: Sonnet 4.6 writes up to 128K tokens (LiteLLM sends that as max_tokens).
    _adaptive_claude("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17"),
    _adaptive_claude(
        "claude-opus-4-7",
        "Claude Opus 4.7",
        "2026-04-16",
        rejects_enabled_thinking=True,
        efforts=XHIGH_EFFORTS,
    ),
    _claude("claude-opus-4-5", "claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-24"),
    _claude("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29"),
    _claude("claude-haiku-4-5", "claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15"),
)

GEMINI_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "gemini-2.5-flash",
        Reasoning.THINKING_BUDGET,
        thinking_by_default=True,
        budget_min=0,
        budget_max=24_576,
        context_window=1_048_576,
        max_output=65_536,
        display_name="Gemini 2.5 Flash",
    ),
    ModelSpec(
        "gemini-2.5-pro",
        Reasoning.THINKING_BUDGET,
        thinking_by_default=True,
        can_disable_thinking=False,
        budget_min=128,
        budget_max=32_768,
        context_window=1_048_576,
        max_output=65_536,
        display_name="Gemini 2.5 Pro",
    ),
    ModelSpec(
        "gemini-3-pro-preview",
        Reasoning.THINKING_LEVEL,
        thinking_by_default=True,
        can_disable_thinking=False,
        context_window=1_048_576,
        max_output=65_536,
        display_name="Gemini 3 Pro Preview",
    ),
    ModelSpec(
        "gemini-2.0-flash",
        aliases=("gemini-2.0-flash-001",),
        context_window=1_048_576,
        max_output=8_192,
        display_name="Gemini 2.0 Flash",
        avg_logprobs=True,
    ),
)

DEEPSEEK_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("deepseek-chat", Reasoning.TOGGLE, max_output=8_192),
    ModelSpec("deepseek-reasoner", Reasoning.ALWAYS, thinking_by_default=True, max_output=65_536),
)

VLLM_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("meta-llama/Llama-3.3-70B-Instruct", context_window=131_072, max_output=131_072),
    ModelSpec(
        "Qwen/Qwen3-32B",
        Reasoning.TEMPLATE,
        thinking_by_default=True,
        context_window=40_960,
        max_output=40_960,
    ),
)

MODELS_BY_FLAVOUR: dict[str, tuple[ModelSpec, ...]] = {
    "openai": OPENAI_MODELS,
    "anthropic": ANTHROPIC_MODELS,
    "gemini": GEMINI_MODELS,
    "deepseek": DEEPSEEK_MODELS,
    "vllm": VLLM_MODELS,
}


_DATE_RE = re.compile(r"-(\d{4}-\d{2}-\d{2})$")


def _dated(model_id: str, **kw: object) -> ModelSpec:
    """An OpenAI dated snapshot, answering to its alias too (`gpt-4.1-mini-2025-04-14` <- `gpt-4.1-mini`)."""
    match = _DATE_RE.search(model_id)
    assert match is not None, model_id
    return ModelSpec(model_id, aliases=(model_id[: match.start()],), released=match.group(1), **kw)  # type: ignore[arg-type]


def _gemini(model_id: str, display: str, **kw: object) -> ModelSpec:
    return ModelSpec(
        model_id,
        display_name=display,
        **{"context_window": 1_048_576, "max_output": 65_536, **kw},  # type: ignore[arg-type]
    )


# The providers' other public models (late 2025 / 2026 lists), served with their real names.
PUBLIC_MODELS_BY_FLAVOUR: dict[str, tuple[ModelSpec, ...]] = {
    "openai": (
        ModelSpec("gpt-4o-2024-11-20", released="2024-11-20"),
        ModelSpec("gpt-4o-2024-05-13", released="2024-05-13"),
        _dated("gpt-4o-audio-preview-2024-12-17", audio_input=True),
        _dated("gpt-4o-search-preview-2025-03-11", web_search=True),
        _dated("gpt-4o-mini-search-preview-2025-03-11", web_search=True),
        _dated("gpt-4.1-mini-2025-04-14", context_window=1_047_576, max_output=32_768),
        _dated("gpt-4.1-nano-2025-04-14", context_window=1_047_576, max_output=32_768),
        _dated("gpt-4-turbo-2024-04-09", max_output=4_096),
        ModelSpec("gpt-3.5-turbo-0125", aliases=("gpt-3.5-turbo",), released="2024-01-25", max_output=4_096),
        _reasoning_openai("o1-2024-12-17", "o1", released="2024-12-17", rejects_stop=True),
        _reasoning_openai("o3-mini-2025-01-31", "o3-mini", released="2025-01-31"),
        _reasoning_openai(
            "gpt-5-mini-2025-08-07",
            "gpt-5-mini",
            released="2025-08-07",
            context_window=400_000,
            max_output=128_000,
        ),
        _reasoning_openai(
            "gpt-5-nano-2025-08-07",
            "gpt-5-nano",
            released="2025-08-07",
            context_window=400_000,
            max_output=128_000,
        ),
        _reasoning_openai(
            "gpt-5.1-2025-11-13", "gpt-5.1", released="2025-11-13", context_window=400_000, max_output=128_000
        ),
        _reasoning_openai(
            "gpt-5.2-2025-12-11", "gpt-5.2", released="2025-12-11", context_window=400_000, max_output=128_000
        ),
        # recorded in 2026 (pydantic-ai cassettes): reasoning off by default, null fingerprint, cache writes
        _reasoning_openai(
            "gpt-5.6-luna",
            released="2026-09-01",
            context_window=400_000,
            max_output=128_000,
            thinking_by_default=False,
            fingerprint=False,
            cache_write_tokens=True,
        ),
    ),
    "anthropic": (
        # recorded in 2026 (pydantic-ai cassettes): xhigh effort, the newer response fields
        _adaptive_claude("claude-opus-5", "Claude Opus 5", "2026-08-01", efforts=XHIGH_EFFORTS),
        _adaptive_claude("claude-sonnet-5", "Claude Sonnet 5", "2026-08-01", efforts=XHIGH_EFFORTS),
        _adaptive_claude("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05"),
        _claude(
            "claude-opus-4-1", "claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05", max_output=32_000
        ),
        _claude(
            "claude-opus-4-0", "claude-opus-4-20250514", "Claude Opus 4", "2025-05-22", max_output=32_000
        ),
        _claude("claude-sonnet-4-0", "claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22"),
        _claude("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-24"),
        _claude(
            "claude-3-5-haiku-latest",
            "claude-3-5-haiku-20241022",
            "Claude Haiku 3.5",
            "2024-10-22",
            reasoning=Reasoning.NONE,
            max_output=8_192,
        ),
        _claude(
            "claude-3-opus-latest",
            "claude-3-opus-20240229",
            "Claude Opus 3",
            "2024-02-29",
            reasoning=Reasoning.NONE,
            max_output=4_096,
        ),
        _claude(
            "claude-3-haiku-20240307",
            "",
            "Claude Haiku 3",
            "2024-03-07",
            reasoning=Reasoning.NONE,
            max_output=4_096,
        ),
    ),
    "gemini": (
        _gemini(
            "gemini-2.5-flash-lite",
            "Gemini 2.5 Flash-Lite",
            reasoning=Reasoning.THINKING_BUDGET,
            budget_min=512,
            budget_max=24_576,
        ),
        _gemini(
            "gemini-3-flash-preview",
            "Gemini 3 Flash Preview",
            reasoning=Reasoning.THINKING_LEVEL,
            thinking_by_default=True,
            can_disable_thinking=False,
        ),
        _gemini(
            "gemini-flash-latest",
            "Gemini Flash Latest",
            snapshot="gemini-2.5-flash-preview-09-2025",
            reasoning=Reasoning.THINKING_BUDGET,
            thinking_by_default=True,
            budget_max=24_576,
        ),
        _gemini(
            "gemini-2.0-flash-lite",
            "Gemini 2.0 Flash-Lite",
            aliases=("gemini-2.0-flash-lite-001",),
            max_output=8_192,
            avg_logprobs=True,
        ),
        _gemini("gemini-2.0-flash-exp", "Gemini 2.0 Flash Experimental", max_output=8_192, avg_logprobs=True),
        _gemini(
            "gemini-1.5-flash",
            "Gemini 1.5 Flash",
            aliases=("gemini-1.5-flash-002",),
            max_output=8_192,
            avg_logprobs=True,
        ),
        _gemini(
            "gemini-1.5-pro",
            "Gemini 1.5 Pro",
            aliases=("gemini-1.5-pro-002",),
            max_output=8_192,
            avg_logprobs=True,
        ),
    ),
    "deepseek": (),
    "vllm": (),
}

SERVED_BY_FLAVOUR: dict[str, tuple[ModelSpec, ...]] = {
    flavour: models + PUBLIC_MODELS_BY_FLAVOUR[flavour] for flavour, models in MODELS_BY_FLAVOUR.items()
}


def index_by_name(specs: Iterable[ModelSpec]) -> dict[str, ModelSpec]:
    """Every name of every spec -> its spec (the first spec claiming a name keeps it)."""
    index: dict[str, ModelSpec] = {}
    for spec in specs:
        for name in spec.names:
            index.setdefault(name, spec)
    return index


ALL_MODELS: dict[str, ModelSpec] = index_by_name(m for models in SERVED_BY_FLAVOUR.values() for m in models)


def model_spec(model_id: str) -> ModelSpec:
    """The spec of a known model name, or a non-reasoning spec for names a config adds without one."""
    return ALL_MODELS.get(model_id) or ModelSpec(model_id)
