"""The models each mock serves by default, with the reasoning kind that decides its thinking rules.

Data only: the flavour modules read `reasoning` to decide whether thinking is on for a request and which
thinking parameters the real API accepts for that model. The ids are exactly the provider model ids the
reference gateway's catalog points at.
"""

from __future__ import annotations

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


OPENAI_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("gpt-4o-2024-08-06"),
    ModelSpec("gpt-4o-mini-2024-07-18"),
    ModelSpec("gpt-4.1-2025-04-14", context_window=1_047_576, max_output=32_768),
    ModelSpec(
        "o3-2025-04-16",
        Reasoning.EFFORT,
        thinking_by_default=True,
        rejects_stop=True,
        context_window=200_000,
        max_output=100_000,
    ),
    ModelSpec(
        "o4-mini-2025-04-16",
        Reasoning.EFFORT,
        thinking_by_default=True,
        rejects_stop=True,
        context_window=200_000,
        max_output=100_000,
    ),
    ModelSpec(
        "gpt-5-2025-08-07",
        Reasoning.EFFORT,
        thinking_by_default=True,
        context_window=400_000,
        max_output=128_000,
    ),
)

ANTHROPIC_MODELS: tuple[ModelSpec, ...] = (
    # Anthropic's model page: Sonnet 4.6 writes up to 128K tokens (LiteLLM sends that as max_tokens).
    ModelSpec("claude-sonnet-4-6", Reasoning.ADAPTIVE, context_window=200_000, max_output=128_000),
    ModelSpec(
        "claude-opus-4-7",
        Reasoning.ADAPTIVE,
        rejects_enabled_thinking=True,
        context_window=200_000,
        max_output=128_000,
    ),
    ModelSpec("claude-opus-4-5", Reasoning.BUDGET, context_window=200_000, max_output=64_000),
    ModelSpec("claude-sonnet-4-5", Reasoning.BUDGET, context_window=200_000, max_output=64_000),
    ModelSpec("claude-haiku-4-5", Reasoning.BUDGET, context_window=200_000, max_output=64_000),
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
    ),
    ModelSpec(
        "gemini-3-pro-preview",
        Reasoning.THINKING_LEVEL,
        thinking_by_default=True,
        can_disable_thinking=False,
        context_window=1_048_576,
        max_output=65_536,
    ),
    ModelSpec("gemini-2.0-flash", context_window=1_048_576, max_output=8_192),
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

ALL_MODELS: dict[str, ModelSpec] = {m.id: m for models in MODELS_BY_FLAVOUR.values() for m in models}


def model_spec(model_id: str) -> ModelSpec:
    """The spec of a known model id, or a non-reasoning spec for ids a config adds without one."""
    return ALL_MODELS.get(model_id) or ModelSpec(model_id)
