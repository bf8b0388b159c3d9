"""One adapter per provider flavour over the shared mechanism in `adapters/base.py`."""

from __future__ import annotations

from auriko_conformance.reference_impl.adapters.anthropic import AnthropicAdapter
from auriko_conformance.reference_impl.adapters.base import (
    Adapter,
    Attempt,
    StreamDecoder,
    UpstreamCall,
    Usage,
)
from auriko_conformance.reference_impl.adapters.deepseek import DeepSeekAdapter
from auriko_conformance.reference_impl.adapters.gemini import GeminiAdapter
from auriko_conformance.reference_impl.adapters.openai import OpenAIAdapter
from auriko_conformance.reference_impl.adapters.vllm import VLLMAdapter


def make_adapters(anthropic_default_max_tokens: int = 4096) -> dict[str, Adapter]:
    """flavour -> adapter instance (adapters are stateless; one per flavour per app)."""
    return {
        "openai": OpenAIAdapter(),
        "anthropic": AnthropicAdapter(anthropic_default_max_tokens),
        "gemini": GeminiAdapter(),
        "deepseek": DeepSeekAdapter(),
        "vllm": VLLMAdapter(),
    }


__all__ = ["Adapter", "Attempt", "StreamDecoder", "UpstreamCall", "Usage", "make_adapters"]
