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
from auriko_conformance.mocks.models import ALL_MODELS, SERVED_BY_FLAVOUR, ModelSpec, Reasoning, index_by_name

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
    custom_models: tuple[ModelSpec, ...] = ()  # models a config file defines for this flavour
    accept_unknown_models: bool = False  # serve any model name (as a plain chat model) instead of 404

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ConfigError(f"provider {self.name!r}: unknown flavour {self.flavour!r} (one of {FLAVOURS})")
        if not self.prefix.startswith("/") or self.prefix.endswith("/") or self.prefix.startswith("/__mock"):
            raise ConfigError(f"provider {self.name!r}: prefix must look like '/name', got {self.prefix!r}")
        if not self.models:
            served = SERVED_BY_FLAVOUR[self.flavour] + self.custom_models
            object.__setattr__(self, "models", tuple(dict.fromkeys(m.id for m in served)))

    def specs(self) -> tuple[ModelSpec, ...]:
        """The served models: each configured name resolved to its spec (config-defined first, then the
        built-in lists; a name neither knows is a plain chat model, as before model specs existed)."""
        custom = index_by_name(self.custom_models)
        resolved = (custom.get(name) or ALL_MODELS.get(name) or ModelSpec(name) for name in self.models)
        return tuple(dict.fromkeys(resolved))


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


_INSTANCE_FIELDS = {f.name for f in fields(ProviderInstance)} - {"custom_models"}
_TOP_FIELDS = {
    "seed",
    "journal_size",
    "max_body_bytes",
    "stream_timeout_s",
    "providers",
    "include_defaults",
    "models",
}
_MODEL_FIELDS = {f.name for f in fields(ModelSpec)}
_TUPLE_MODEL_FIELDS = ("aliases", "efforts")


def model_from_mapping(raw: Any) -> tuple[str, ModelSpec]:
    """(flavour, spec) of one `models:` entry of a config file; unknown keys and values are errors."""
    if (
        not isinstance(raw, Mapping)
        or not isinstance(raw.get("id"), str)
        or raw.get("flavour") not in FLAVOURS
    ):
        raise ConfigError(f"each model needs an id and a flavour (one of {FLAVOURS}): {raw!r}")
    values = {k: v for k, v in raw.items() if k != "flavour"}
    bad = set(values) - _MODEL_FIELDS
    if bad:
        raise ConfigError(f"model {raw['id']!r}: unknown keys {sorted(bad)} (known: {sorted(_MODEL_FIELDS)})")
    for key in _TUPLE_MODEL_FIELDS:
        if key in values:
            values[key] = tuple(values[key])
    if "reasoning" in values:
        try:
            values["reasoning"] = Reasoning(values["reasoning"])
        except ValueError:
            raise ConfigError(
                f"model {raw['id']!r}: reasoning must be one of {[r.value for r in Reasoning]}"
            ) from None
    try:
        return raw["flavour"], ModelSpec(**values)
    except TypeError as exc:
        raise ConfigError(f"model {raw['id']!r}: {exc}") from None


def config_from_mapping(data: Mapping[str, Any]) -> MockConfig:
    """Build a config from parsed YAML. `providers` entries override default instances of the same name
    and add new ones; `include_defaults: false` serves only the listed providers."""
    unknown = set(data) - _TOP_FIELDS
    if unknown:
        raise ConfigError(f"unknown config keys: {sorted(unknown)}")
    by_name: dict[str, ProviderInstance] = (
        {i.name: i for i in DEFAULT_INSTANCES} if data.get("include_defaults", True) else {}
    )
    custom: dict[str, list[ModelSpec]] = {}
    for raw_model in data.get("models") or []:
        flavour, spec = model_from_mapping(raw_model)
        custom.setdefault(flavour, []).append(spec)
    explicit_models: set[str] = set()
    for raw in data.get("providers") or []:
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise ConfigError(f"each provider needs a name: {raw!r}")
        bad = set(raw) - _INSTANCE_FIELDS
        if bad:
            raise ConfigError(f"provider {raw['name']!r}: unknown keys {sorted(bad)}")
        values = dict(raw)
        if "models" in values:
            values["models"] = tuple(values["models"])
            explicit_models.add(values["name"])
        base = by_name.get(values["name"])
        if base is not None:
            by_name[base.name] = replace(base, **values)
        else:
            values.setdefault("prefix", f"/{values['name']}")
            if "flavour" not in values:
                raise ConfigError(f"provider {values['name']!r}: flavour is required")
            by_name[values["name"]] = ProviderInstance(**values)
    for name, inst in list(by_name.items()):
        specs = tuple(custom.get(inst.flavour, ()))
        if specs:
            added = () if name in explicit_models else tuple(s.id for s in specs if s.id not in inst.models)
            by_name[name] = replace(inst, custom_models=specs, models=inst.models + added)
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
    "model_from_mapping",
]
