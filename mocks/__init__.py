"""Mock provider servers: OpenAI, Anthropic, Gemini, DeepSeek and vLLM wire formats in one ASGI app.

Start with `auriko-conformance mocks`, or in-process with `mocks.app.create_app()`. See `mocks/README.md`
for the token rule, the scenario directives, the strictness rules and the control and journal APIs.
"""

from __future__ import annotations

__all__ = ["count_tokens", "create_app"]

from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.tokens import count_tokens
