"""What a mock process serves: provider instances (flavour, prefix, models, default behaviour) and limits.

A config is immutable; run-time changes (control API) live in `mocks.control`, and `POST /__mock/reset`
goes back to the values here. `load_config` reads the YAML given to `auriko-conformance mocks --config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from mocks.models import MODELS_BY_FLAVOUR

FLAVOURS: tuple[str, ...] = ("openai", "anthropic", "gemini", "deepseek", "vllm")


class ConfigError(ValueError):
    """A config file or mapping that cannot describe a mock process."""


@dataclass(frozen=True, slots=True)
class ProviderInstance:
    """One provider host: a flavour (wire format) served under `prefix`, with its default behaviour.

    ttft_ms: delay before the first byte; tps: tokens per second after that (0 = no pacing);
    jitter_ms: +/- seeded noise on each delay; error_rate/error_status: share of requests answered with
    that provider-shaped error; down: answer every request with 503 at once (see README).
    """

    name: str
    flavour: str
    prefix: str
    models: tuple[str, ...] = ()
    ttft_ms: float = 0.0
    tps: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    down: bool = False
    auth_required: bool = True

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ConfigError(f"provider {self.name!r}: unknown flavour {self.flavour!r} (one of {FLAVOURS})")
        if not self.prefix.startswith("/") or self.prefix.endswith("/") or self.prefix.startswith("/__mock"):
            raise ConfigError(f"provider {self.name!r}: prefix must look like '/name', got {self.prefix!r}")
        if not self.models:
            object.__setattr__(self, "models", tuple(m.id for m in MODELS_BY_FLAVOUR[self.flavour]))


def _instance(name: str, flavour: str, **overrides: Any) -> ProviderInstance:
    return ProviderInstance(name=name, flavour=flavour, prefix=f"/{name}", **overrides)


DEFAULT_INSTANCES: tuple[ProviderInstance, ...] = (
    _instance("openai", "openai"),
    _instance("anthropic", "anthropic"),
    _instance("gemini", "gemini"),
    _instance("deepseek", "deepseek"),
    # real vLLM runs without --api-key unless told otherwise
    _instance("vllm", "vllm", auth_required=False),
    # a second vLLM host with the same models, slower by default, for routing-between-providers tests
    _instance("vllm-b", "vllm", auth_required=False, ttft_ms=50.0, tps=200.0),
)


@dataclass(frozen=True, slots=True)
class MockConfig:
    """The whole mock process: instances, RNG seed, journal ring size, request body limit."""

    instances: tuple[ProviderInstance, ...] = DEFAULT_INSTANCES
    seed: int = 1234
    journal_size: int = 10_000
    max_body_bytes: int = 32 * 1024 * 1024  # Anthropic's documented Messages limit
    stream_timeout_s: float = 600.0  # longest a `timeout`/`stall_after` scenario holds a connection

    def __post_init__(self) -> None:
        names = [i.name for i in self.instances]
        prefixes = [i.prefix for i in self.instances]
        if len(set(names)) != len(names) or len(set(prefixes)) != len(prefixes):
            raise ConfigError("provider names and prefixes must be unique")

    def instance(self, name: str) -> ProviderInstance:
        for inst in self.instances:
            if inst.name == name:
                return inst
        raise KeyError(name)


_INSTANCE_FIELDS = {f.name for f in fields(ProviderInstance)}
_TOP_FIELDS = {"seed", "journal_size", "max_body_bytes", "stream_timeout_s", "providers", "include_defaults"}


def config_from_mapping(data: Mapping[str, Any]) -> MockConfig:
    """Build a config from parsed YAML. `providers` entries override default instances of the same name
    and add new ones; `include_defaults: false` serves only the listed providers."""
    unknown = set(data) - _TOP_FIELDS
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    by_name: dict[str, ProviderInstance] = (
        {i.name: i for i in DEFAULT_INSTANCES} if data.get("include_defaults", True) else {}
    )
    for raw in data.get("providers") or []:
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise ConfigError(f"each provider needs a name: {raw!r}")
        bad = set(raw) - _INSTANCE_FIELDS
        if bad:
            raise ConfigError(f"provider {raw['name']!r}: unknown keys {sorted(bad)}")
        values = dict(raw)
        if "models" in values:
            values["models"] = tuple(values["models"])
        base = by_name.get(values["name"])
        if base is not None:
            by_name[base.name] = replace(base, **values)
        else:
            values.setdefault("prefix", f"/{values['name']}")
            if "flavour" not in values:
                raise ConfigError(f"provider {values['name']!r}: flavour is required")
            by_name[values["name"]] = ProviderInstance(**values)
    top = {k: data[k] for k in ("seed", "journal_size", "max_body_bytes", "stream_timeout_s") if k in data}
    return MockConfig(instances=tuple(by_name.values()), **top)


def load_config(path: str | Path) -> MockConfig:
    """Read a YAML config file (see README for its keys)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_mapping(data)


__all__ = [
    "DEFAULT_INSTANCES",
    "FLAVOURS",
    "ConfigError",
    "MockConfig",
    "ProviderInstance",
    "config_from_mapping",
    "load_config",
]
