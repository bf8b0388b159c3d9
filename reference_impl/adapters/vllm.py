"""vLLM's OpenAI-compatible server: more sampling parameters, reasoning in `reasoning`.

vLLM ignores unknown fields, so nothing is rejected for being extra; `reasoning_effort: "none"` turns a
thinking template (Qwen3) off. Older builds name the reasoning field `reasoning_content`: both are read.
"""

from __future__ import annotations

from typing import ClassVar

from reference_impl.adapters.openai import OpenAIAdapter


class VLLMAdapter(OpenAIAdapter):
    flavour = "vllm"
    chat_path: ClassVar[str] = "/chat/completions"
    param_map: ClassVar[dict[str, str]] = {
        n: n
        for n in [
            "temperature",
            "top_p",
            "top_k",
            "min_p",
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
        ]
    }
    max_tokens_path = "max_tokens"
    assistant_extra_keys: ClassVar[tuple[str, ...]] = ()
    developer_role: ClassVar[str] = "system"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning", "reasoning_content")
    extension_keys: ClassVar[tuple[str, ...]] = ("vllm",)
