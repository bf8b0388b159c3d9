"""DeepSeek: OpenAI-compatible with a `thinking` switch, `reasoning_content`, and its own strictness.

Thinking mode (V4): `thinking: {"type": "enabled"|"disabled"}` plus `reasoning_effort` `high`/`max`
(the catalog's effort values). In thinking mode DeepSeek requires the `reasoning_content` of every
assistant tool-call turn to be sent back, so the adapter backfills an empty one where the client
dropped it; `logprobs` are rejected there, so they are dropped with a warning.
"""

from __future__ import annotations

from typing import Any, ClassVar

from auriko_conformance.reference_impl.adapters.base import Attempt
from auriko_conformance.reference_impl.adapters.openai import OpenAIAdapter


class DeepSeekAdapter(OpenAIAdapter):
    flavour = "deepseek"
    chat_path: ClassVar[str] = "/chat/completions"
    param_map: ClassVar[dict[str, str]] = {
        n: n
        for n in [
            "temperature",
            "top_p",
            "stop",
            "presence_penalty",
            "frequency_penalty",
            "logprobs",
            "top_logprobs",
        ]
    }
    max_tokens_path = "max_tokens"
    finish_reasons: ClassVar[dict[str, str]] = {
        **OpenAIAdapter.finish_reasons,
        "insufficient_system_resource": "length",
    }
    assistant_extra_keys: ClassVar[tuple[str, ...]] = ("reasoning_content",)
    developer_role: ClassVar[str] = "system"
    collapse_content: ClassVar[bool] = True
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content",)

    def translate_reasoning(self, attempt: Attempt, native: dict[str, Any]) -> None:
        effort = attempt.request.body.get("reasoning_effort")
        caps = attempt.offering.capabilities
        always = not caps.can_disable_reasoning  # deepseek-reasoner
        if effort is None:
            attempt.thinking = always
            return
        if effort == "off":
            native["thinking"] = {"type": "disabled"}
            attempt.thinking = False
            return
        attempt.thinking = True
        if not always:
            native["thinking"] = {"type": "enabled"}
        native["reasoning_effort"] = self.native_effort(attempt, effort)

    def adjust_param(self, attempt: Attempt, name: str, value: Any) -> Any:
        if attempt.thinking and name in ("logprobs", "top_logprobs"):
            attempt.warn(
                "unsupported_parameter",
                f"'{name}' is not available in DeepSeek thinking mode and was dropped.",
            )
            return None
        return value

    def assistant_hook(self, attempt: Attempt, original: dict[str, Any], out: dict[str, Any]) -> None:
        if attempt.thinking and out.get("tool_calls") and out.get("reasoning_content") is None:
            out["reasoning_content"] = ""  # DeepSeek 400s a thinking-mode tool-call turn without it
