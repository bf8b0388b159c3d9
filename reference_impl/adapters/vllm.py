"""vLLM's OpenAI-compatible server: more sampling parameters, reasoning in `reasoning`.

vLLM ignores unknown fields, so nothing is rejected for being extra; `reasoning_effort: "none"` turns a
thinking template (Qwen3) off. Older builds name the reasoning field `reasoning_content`: both are read.
"""

from __future__ import annotations

from typing import ClassVar

from auriko_conformance.reference_impl.adapters.base import OPTIONAL_PARAMS
from auriko_conformance.reference_impl.adapters.openai import OpenAIAdapter


class VLLMAdapter(OpenAIAdapter):
    flavour = "vllm"
    chat_path: ClassVar[str] = "/chat/completions"
    #: the shared optional parameters vLLM takes: all but OpenAI's hosted features and OpenRouter's top_a
    param_map: ClassVar[dict[str, str]] = {
        name: name
        for name in OPTIONAL_PARAMS
        if name not in ("top_a", "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier")
    }
    max_tokens_path = "max_tokens"
    assistant_extra_keys: ClassVar[tuple[str, ...]] = ()
    developer_role: ClassVar[str] = "system"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning", "reasoning_content")
    estimates_reasoning: ClassVar[bool] = True
    extension_keys: ClassVar[tuple[str, ...]] = ("vllm",)
