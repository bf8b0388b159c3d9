"""Sanitising `extensions.<provider>` before it is merged into a native request.

Credential-like keys are removed at any depth (a passthrough must never smuggle someone else's key
upstream); core request fields are removed at the top level only (the gateway owns them: letting an
extension set `model` or `stream` would break routing and translation). Both comparisons are
case-insensitive with `-`/`_` normalised. Each removal is a `blocked_field` warning.
"""

from __future__ import annotations

from typing import Any

from auriko_conformance.reference_impl.validation import MAX_FIELD_WARNINGS, named_warnings

from auriko_conformance import contract

CREDENTIAL_KEYS = frozenset(
    k.replace("-", "_")
    for k in [
        "api_key",
        "apikey",
        "api-key",
        "authorization",
        "auth",
        "bearer",
        "token",
        "access_token",
        "accesstoken",
        "secret",
        "secret_key",
        "secretkey",
        "credential",
        "credentials",
        "password",
        "x-api-key",
        "x-auth-token",
        "anthropic-api-key",
        "openai-api-key",
        "google-api-key",
    ]
)
CORE_FIELDS = frozenset(
    [
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "tools",
        "tool_choice",
        "response_format",
        "parallel_tool_calls",
        "temperature",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "stop",
        "user",
        "inference_geo",
        "inferencegeo",
        "contents",
        "system_instruction",
        "systeminstruction",
        "system",
    ]
)
# Reasoning is steered by `reasoning_effort`; provider-native thinking switches in extensions are blocked
# too, because they would contradict the translation (contract section 2.4).
REASONING_FIELDS = frozenset({"thinking", "reasoning_effort", "thinkingconfig", "thinking_config"})
# D-023: platform-governed fields -> hard 400 rather than a silent strip.
PLATFORM_GOVERNED = frozenset({"service_tier"})
# Credential-like names beyond the exact list: any key containing one of these, or ending in "token"
# (`refresh_token`, `sessionToken`; never `max_tokens`), at any depth (D-050).
CREDENTIAL_PARTS = (
    "api_key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "credential",
    "private_key",
    "privatekey",
    "access_key",
    "accesskey",
    "cookie",
)
# SDK-client and transport options (where and how to connect), never native body fields: a request must
# not be able to aim the gateway's upstream call anywhere else or add headers to it (D-050). The one list
# lives in the contract, where the suite reads it too.
TRANSPORT_FIELDS = frozenset(contract.transport_fields())


def _norm(key: str) -> str:
    return key.lower().replace("-", "_")


def _is_credential(norm: str) -> bool:
    return norm in CREDENTIAL_KEYS or norm.endswith("token") or any(p in norm for p in CREDENTIAL_PARTS)


def _strip_credentials(value: Any, path: str, removed: list[str]) -> Any:
    if isinstance(value, dict):
        clean = {}
        for key, child in value.items():
            if _is_credential(_norm(key)):
                removed.append(f"{path}.{key} was removed: credentials are never forwarded.")
                continue
            clean[key] = _strip_credentials(child, f"{path}.{key}", removed)
        return clean
    if isinstance(value, list):
        return [_strip_credentials(item, f"{path}[{i}]", removed) for i, item in enumerate(value)]
    return value


def find_platform_governed(extensions: dict[str, Any]) -> str | None:
    """The dotted path of the first platform-governed field in any provider extension (D-023)."""
    for provider, value in extensions.items():
        if isinstance(value, dict):
            for key in value:
                if _norm(key) in PLATFORM_GOVERNED:
                    return f"extensions.{provider}.{key}"
    return None


#: why each kind of top-level extension key is removed
REMOVAL_REASONS = {
    "credential": "credentials are never forwarded.",
    "transport": "the upstream URL and headers are the gateway's.",
    "core": "it is a core request field; set it at the top level.",
    "reasoning": "use reasoning_effort for reasoning.",
}


def removal_kind(key: str) -> str | None:
    """The kind of a top-level extension key the gateway removes (a `REMOVAL_REASONS` key), or None to
    keep it (the mutation harness reuses it to build a gateway that removes only some kinds)."""
    norm = _norm(key)
    if _is_credential(norm):
        return "credential"
    if norm in TRANSPORT_FIELDS:
        return "transport"
    if norm in CORE_FIELDS or norm.replace("_", "") in CORE_FIELDS:
        return "core"
    if norm in REASONING_FIELDS:
        return "reasoning"
    return None


def strip_credentials(value: Any) -> Any:
    """`value` without credential keys at any depth."""
    return _strip_credentials(value, "", [])


def sanitise_extension(value: dict[str, Any], path: str, removed: list[str]) -> dict[str, Any]:
    """A copy of one `extensions.<provider>` object that is safe to merge; what was removed and why is
    appended to `removed` (one `blocked_field` warning each, see `blocked_warnings`)."""
    clean: dict[str, Any] = {}
    for key, child in value.items():
        kind = removal_kind(key)
        if kind is not None:
            removed.append(f"{path}.{key} was removed: {REMOVAL_REASONS[kind]}")
            continue
        clean[key] = _strip_credentials(child, f"{path}.{key}", removed)
    return clean


def blocked_warnings(removed: list[str]) -> list[dict[str, str]]:
    """`blocked_field` warnings for the removals: 16 named, the rest counted (D-060)."""
    return named_warnings("blocked_field", removed, len(removed), "extension fields were removed")


def extension_warnings(
    extensions: dict[str, Any], known_providers: frozenset[str], used: set[str]
) -> list[dict[str, str]]:
    """`unknown_provider` for names no provider has; `ignored_extension` for known ones not used (each
    kind named up to 16 times, the rest counted: D-060)."""
    unknown = [name for name in extensions if name not in known_providers]
    ignored = [name for name in extensions if name in known_providers and name not in used]
    return [
        *named_warnings(
            "unknown_provider",
            [
                f"extensions.{name} names no known provider and was ignored."
                for name in unknown[:MAX_FIELD_WARNINGS]
            ],
            len(unknown),
            "extensions name no known provider and were ignored",
        ),
        *named_warnings(
            "ignored_extension",
            [
                f"extensions.{name} was ignored: the request was routed elsewhere."
                for name in ignored[:MAX_FIELD_WARNINGS]
            ],
            len(ignored),
            "extensions were ignored: the request was routed elsewhere",
        ),
    ]
