"""What an authenticated key may do: expiry, scopes and blocked providers (contract 9.2 and 14, D-124, D-143).

A key may be configured as expired (401 `expired_api_key`: it was valid once, unlike an unknown key's
401 `invalid_api_key`), with scopes that lack `inference` (a management-only key, 403
`insufficient_permissions` on every inference endpoint), or with providers its workspace blocked (never
routed to; a model only they serve is 400 `provider_blocked`). `key_policies:` in the gateway config;
keys without a policy cost one dict lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auriko_conformance.reference_impl.errors import GatewayError

SCOPES = ("inference", "management")


class KeyPolicyError(ValueError):
    """A policy the gateway cannot apply."""


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    expired: bool = False
    scopes: tuple[str, ...] = ("inference",)
    blocked_providers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.expired, bool):
            raise KeyPolicyError("expired must be true or false")
        blocked = self.blocked_providers
        if isinstance(blocked, str) or not all(isinstance(name, str) and name for name in blocked):
            raise KeyPolicyError("blocked_providers must be a list of provider names")
        object.__setattr__(self, "blocked_providers", frozenset(blocked))
        scopes = tuple(self.scopes)
        if not scopes or any(scope not in SCOPES for scope in scopes):
            raise KeyPolicyError(f"scopes must be a non-empty list of {', '.join(SCOPES)}")
        object.__setattr__(self, "scopes", scopes)


class KeyPolicies:
    def __init__(self, policies: Mapping[str, KeyPolicy]) -> None:
        self.policies = dict(policies)

    def blocked_providers(self, key: str) -> frozenset[str]:
        """The providers `key`'s workspace blocked (routing skips them)."""
        policy = self.policies.get(key)
        return frozenset() if policy is None else policy.blocked_providers

    def admit(self, key: str) -> None:
        """Raise the error an inference request with `key` gets, if any."""
        policy = self.policies.get(key)
        if policy is None:
            return
        if policy.expired:
            raise GatewayError("expired_api_key", "This API key has expired. Create a new key.")
        if "inference" not in policy.scopes:
            raise GatewayError(
                "insufficient_permissions",
                "This API key may not call inference endpoints (scope: inference).",
            )
