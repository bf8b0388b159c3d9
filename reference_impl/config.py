"""Gateway configuration: providers (where and with which key), client API keys, timeouts, limits.

With no file the gateway runs against the local mocks (`http://127.0.0.1:8900/<prefix>`) with the
documented test key `ak_test_conformance`, so `auriko-conformance serve` works out of the box. A YAML
file (see docs/reference-gateway.md) overrides any part; unknown keys are errors, because a silently
ignored typo in a gateway config is a production incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml
from auriko_conformance.reference_impl.budgets import Budget, BudgetConfigError
from auriko_conformance.reference_impl.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog
from auriko_conformance.reference_impl.key_policies import KeyPolicy, KeyPolicyError

TEST_API_KEY = "ak_test_conformance"
# Documented test keys of the embedded default (fixtures/profiles/reference.yaml names them): one with a
# daily budget a single request exhausts, one without credit, one allowed two requests per minute (D-121).
BUDGET_TEST_KEY = "ak_test_budget"
NO_QUOTA_TEST_KEY = "ak_test_no_quota"
LOW_LIMIT_TEST_KEY = "ak_test_low_limit"
# ... and one expired key, one management-only key (D-124), one whose workspace blocked DeepSeek (D-143).
EXPIRED_TEST_KEY = "ak_test_expired"
MANAGEMENT_TEST_KEY = "ak_test_management"
BLOCKED_PROVIDER_TEST_KEY = "ak_test_blocked_provider"
DEFAULT_BUDGETS = {
    BUDGET_TEST_KEY: Budget(daily_usd=0.000001, monthly_usd=5.0),
    NO_QUOTA_TEST_KEY: Budget(credits_microdollars=0),
}
DEFAULT_KEY_POLICIES = {
    EXPIRED_TEST_KEY: KeyPolicy(expired=True),
    MANAGEMENT_TEST_KEY: KeyPolicy(scopes=("management",)),
    BLOCKED_PROVIDER_TEST_KEY: KeyPolicy(blocked_providers=frozenset({"deepseek"})),
}
DEFAULT_KEYS = frozenset(
    {
        TEST_API_KEY,
        BUDGET_TEST_KEY,
        NO_QUOTA_TEST_KEY,
        LOW_LIMIT_TEST_KEY,
        EXPIRED_TEST_KEY,
        MANAGEMENT_TEST_KEY,
        BLOCKED_PROVIDER_TEST_KEY,
    }
)
FLAVOURS = ("openai", "anthropic", "gemini", "deepseek", "vllm")


class ConfigError(ValueError):
    """A config file or mapping the gateway cannot run with."""


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One upstream: `flavour` picks the adapter (wire format), `base_url` ends before the API path."""

    name: str
    flavour: str
    base_url: str
    api_key: str = ""

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ConfigError(f"provider {self.name!r}: flavour must be one of {FLAVOURS}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits (D-025): body bytes (413 above), messages per request, JSON nesting depth,
    containers (D-060) and keys + values (D-141); and the slow-client guards (D-051): header bytes and time
    (`auriko_conformance/http_guard.py`), body time (app)."""

    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 2048
    max_json_depth: int = 64
    # objects and arrays (D-060), keys and values (D-141) in one body: bound the CPU that parsing a body
    # costs before validation can refuse it
    max_json_containers: int = 100_000
    max_json_values: int = 100_000
    # keys and values in `extensions` (D-141): each attempt walks them in Python to strip credentials
    max_extension_values: int = 10_000
    max_header_bytes: int = 64 * 1024
    header_timeout_ms: int = 10_000
    body_timeout_ms: int = 30_000


# Requests per minute per API key when the config names no limit: high enough that no suite run, soak or
# benchmark of this project comes near it (the soak peaks around 25,000 per minute), low enough to exist.
DEFAULT_REQUESTS_PER_MINUTE = 600_000


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-key request limits (D-049): `requests_per_minute` for every key, `keys` overrides per key."""

    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    keys: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for where, value in [("requests_per_minute", self.requests_per_minute), *self.keys.items()]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"rate_limits: {where} must be a positive integer (requests per minute)")

    def for_key(self, key: str) -> int:
        return self.keys.get(key, self.requests_per_minute)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream time allowances. `attempt_ms` is the default per-attempt `timeout_ms` (D-007)."""

    attempt_ms: int = 120_000
    connect_ms: int = 5_000
    max_connections: int = 512
    keepalive_connections: int = 128
    # attempts in flight to one provider: a provider that hangs holds at most this many (issue 19)
    max_connections_per_provider: int = 128


@dataclass(frozen=True)
class GatewayConfig:
    providers: dict[str, ProviderConfig]
    catalog: Catalog
    api_keys: frozenset[str] = frozenset({TEST_API_KEY})
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    #: per-key spending budgets and credit balance (reference_impl/budgets.py, D-121)
    budgets: Mapping[str, Budget] = field(default_factory=dict)
    #: per-key expiry and scopes (reference_impl/key_policies.py, D-124)
    key_policies: Mapping[str, KeyPolicy] = field(default_factory=dict)
    # Anthropic requires max_tokens; this is what the gateway sends when the client gave none.
    anthropic_default_max_tokens: int = 4096
    # live stats: samples kept per offering, and how many before they replace the catalog priors
    stats_window: int = 64
    stats_min_samples: int = 5


def _providers_from_catalog(catalog: Catalog, mock_base_url: str | None) -> dict[str, ProviderConfig]:
    providers: dict[str, ProviderConfig] = {}
    for entry in catalog.providers.values():
        base_url = entry.base_url
        if mock_base_url is not None:
            # catalog URLs point at the default mock host; swap the host, keep the per-provider path
            path = base_url.split("://", 1)[-1].split("/", 1)
            base_url = mock_base_url.rstrip("/") + ("/" + path[1] if len(path) > 1 else "")
        providers[entry.name] = ProviderConfig(entry.name, entry.flavour, base_url, entry.api_key)
    return providers


def default_config(mock_base_url: str | None = None, **overrides: Any) -> GatewayConfig:
    """The embedded default: the shipped catalog, providers at the mocks, key `ak_test_conformance`.

    `mock_base_url` (e.g. `http://127.0.0.1:50123`) moves every provider to another mock host.
    """
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    config = GatewayConfig(
        providers=_providers_from_catalog(catalog, mock_base_url),
        catalog=catalog,
        api_keys=DEFAULT_KEYS,
        rate_limits=RateLimits(keys={LOW_LIMIT_TEST_KEY: 2}),
        budgets=DEFAULT_BUDGETS,
        key_policies=DEFAULT_KEY_POLICIES,
    )
    return replace(config, **overrides) if overrides else config


def _dataclass_from(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    allowed = {f.name for f in fields(cls)}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    return cls(**raw)


_TOP_KEYS = {
    "catalog",
    "mock_base_url",
    "providers",
    "api_keys",
    "limits",
    "timeouts",
    "rate_limits",
    "budgets",
    "key_policies",
    "anthropic_default_max_tokens",
    "stats_window",
    "stats_min_samples",
}


def config_from_mapping(data: Mapping[str, Any], base_dir: Path | None = None) -> GatewayConfig:
    """Build a config from parsed YAML; every key is optional (see docs/reference-gateway.md)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    catalog_path = Path(data.get("catalog") or DEFAULT_CATALOG_PATH)
    if base_dir is not None and not catalog_path.is_absolute():
        catalog_path = base_dir / catalog_path
    catalog = load_catalog(catalog_path)
    providers = _providers_from_catalog(catalog, data.get("mock_base_url"))
    for name, raw in (data.get("providers") or {}).items():
        if not isinstance(raw, Mapping):
            raise ConfigError(f"providers.{name}: expected a mapping")
        bad = set(raw) - {"flavour", "base_url", "api_key"}
        if bad:
            raise ConfigError(f"providers.{name}: unknown keys {sorted(bad)}")
        base = providers.get(name)
        if base is None:
            if "flavour" not in raw or "base_url" not in raw:
                raise ConfigError(f"providers.{name}: a new provider needs flavour and base_url")
            providers[name] = ProviderConfig(name=name, **raw)
        else:
            providers[name] = replace(base, **raw)
    missing = {o.provider for o in catalog.all_offerings()} - set(providers)
    if missing:
        raise ConfigError(f"catalog offerings name providers with no config: {sorted(missing)}")
    keys = data.get("api_keys")
    if keys is not None and (not keys or not all(isinstance(k, str) and k.startswith("ak_") for k in keys)):
        raise ConfigError("api_keys: a non-empty list of keys starting with 'ak_'")
    rate_limits = _dataclass_from(RateLimits, data.get("rate_limits") or {}, "rate_limits")
    unknown_keys = set(rate_limits.keys) - set(keys if keys is not None else [TEST_API_KEY])
    if unknown_keys:
        raise ConfigError(f"rate_limits.keys: not in api_keys: {len(unknown_keys)} key(s)")
    client_keys = keys if keys is not None else [TEST_API_KEY]
    budgets = _per_key(Budget, BudgetConfigError, data.get("budgets") or {}, client_keys, "budgets")
    policies = _per_key(
        KeyPolicy, KeyPolicyError, data.get("key_policies") or {}, client_keys, "key_policies"
    )
    extra = {
        k: data[k] for k in ("anthropic_default_max_tokens", "stats_window", "stats_min_samples") if k in data
    }
    return GatewayConfig(
        providers=providers,
        catalog=catalog,
        api_keys=frozenset(keys) if keys is not None else frozenset({TEST_API_KEY}),
        limits=_dataclass_from(Limits, data.get("limits") or {}, "limits"),
        timeouts=_dataclass_from(Timeouts, data.get("timeouts") or {}, "timeouts"),
        rate_limits=rate_limits,
        budgets=budgets,
        key_policies=policies,
        **extra,
    )


def _per_key(cls: type, error: type[Exception], raw: Any, keys: Any, where: str) -> dict[str, Any]:
    """A mapping of client key -> `cls` settings (budgets, key policies); every key must be configured."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of API key -> settings")
    unknown = set(raw) - set(keys)
    if unknown:
        raise ConfigError(f"{where}: not in api_keys: {len(unknown)} key(s)")
    try:
        return {key: _dataclass_from(cls, value, where) for key, value in raw.items()}
    except (error, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_config(path: str | Path) -> GatewayConfig:
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_mapping(data, base_dir=path.parent)
