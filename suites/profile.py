"""Target profiles: what a gateway under test offers, so the suite judges it fairly.

The suite cannot guess which model names a gateway accepts, which provider each reaches, which optional
features it claims or what it charges. A profile says so; a check that needs an unclaimed feature is
reported as "not claimed" rather than failed. Profiles are small YAML files (see
`fixtures/profiles/reference.yaml`); a missing key means the conservative default below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auriko_conformance.paths import FIXTURES_DIR

DEFAULT_PROFILE = FIXTURES_DIR / "profiles" / "reference.yaml"

#: Features a target may claim. Core OpenAI compatibility is never optional.
FEATURES = (
    "routing_metadata",  # routing_metadata on successes
    "cost",  # routing_metadata.cost.usd, checked against `prices`
    "gateway_routing",  # gateway.routing options and their error codes
    "multi_model",  # gateway.models
    "model_suffix",  # model:strategy shortcuts
    "extensions",  # extensions.<provider> passthrough and sanitising
    "warnings",  # routing_metadata.warnings for dropped parameters
    "error_headers",  # X-Error-Type / X-Error-Retryable
    "tools",
    "parallel_tool_calls",
    "reasoning",
    "n",
    "logprobs",
    "json_schema",
    "models_endpoint",  # GET /v1/models, /v1/models/{id}
    "me_endpoint",  # GET /v1/me
)


@dataclass(frozen=True, slots=True)
class Prices:
    input: float
    output: float
    cached_input: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {"input": self.input, "output": self.output}
        if self.cached_input is not None:
            out["cached_input"] = self.cached_input
        return out


@dataclass(slots=True)
class TargetProfile:
    name: str = "unnamed"
    default_model: str = "gpt-4o-mini"
    reasoning_model: str | None = None
    tools_model: str | None = None
    unknown_model: str = "no-such-model-conformance"
    #: target provider name -> a model name that the target routes only to that provider
    models_by_provider: dict[str, str] = field(default_factory=dict)
    #: model kind (e.g. `claude_adaptive`, `gemini_budget`) -> the target's model name of that kind
    models_by_kind: dict[str, str] = field(default_factory=dict)
    #: a model the target offers only at a premium tier (ROUTE-013), when it has one
    premium_only_model: str | None = None
    #: target provider name -> mock instance name (when they differ, e.g. google -> gemini)
    mock_instances: dict[str, str] = field(default_factory=dict)
    claims: frozenset[str] = frozenset()
    #: (provider, provider_model_id) -> prices per 1M tokens
    prices: dict[tuple[str, str], Prices] = field(default_factory=dict)
    #: the provider keys the target uses upstream, when known, so the suite can prove none leaks
    upstream_keys: tuple[str, ...] = ()
    #: role -> an API key of the target with that property (`budget`, `no_quota`, `low_limit`; D-121)
    keys: dict[str, str] = field(default_factory=dict)
    #: documented error code -> how to provoke it here: {key, model, stream, body} (ERR-016, D-124)
    error_scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: Path | None = None

    def claims_feature(self, feature: str) -> bool:
        if feature not in FEATURES:
            raise KeyError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
        return feature in self.claims

    def prices_for(self, provider: str | None, provider_model_id: str | None) -> Prices | None:
        if not isinstance(provider, str) or not isinstance(provider_model_id, str):
            return None  # a missing or mistyped field is META-003's finding, not a crash here
        return self.prices.get((provider, provider_model_id))

    def mock_instance(self, provider: str) -> str:
        return self.mock_instances.get(provider, provider)


def _prices_from_catalog(path: Path) -> dict[tuple[str, str], Prices]:
    with path.open() as fh:
        catalog = yaml.safe_load(fh)
    table: dict[tuple[str, str], Prices] = {}
    for model in catalog.get("models", {}).values():
        for offering in model.get("offerings", []):
            if offering.get("tier", "standard") != "standard":
                continue
            p = offering["prices"]
            key = (offering["provider"], offering["provider_model_id"])
            table.setdefault(key, Prices(p["input"], p["output"], p.get("cached_input")))
    return table


@functools.cache
def load_profile(path: Path | None = None) -> TargetProfile:
    path = Path(path) if path else DEFAULT_PROFILE
    with path.open() as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}
    unknown = set(raw.get("claims", [])) - set(FEATURES)
    if unknown:
        raise ValueError(f"{path}: unknown claims {sorted(unknown)}; known: {', '.join(FEATURES)}")
    models = raw.get("models", {})
    prices: dict[tuple[str, str], Prices] = {}
    if raw.get("prices_from_catalog"):
        prices.update(_prices_from_catalog((path.parent / raw["prices_from_catalog"]).resolve()))
    for key, value in (raw.get("prices") or {}).items():
        provider, _, model_id = key.partition("/")
        prices[(provider, model_id)] = Prices(value["input"], value["output"], value.get("cached_input"))
    return TargetProfile(
        name=raw.get("name", path.stem),
        default_model=models.get("default", "gpt-4o-mini"),
        reasoning_model=models.get("reasoning"),
        tools_model=models.get("tools"),
        unknown_model=models.get("unknown", "no-such-model-conformance"),
        models_by_provider=dict(models.get("by_provider", {})),
        models_by_kind=dict(models.get("by_kind", {})),
        premium_only_model=models.get("premium_only") or (raw.get("routing") or {}).get("premium_only_model"),
        mock_instances=dict(raw.get("mock_instances", {})),
        claims=frozenset(raw.get("claims", [])),
        prices=prices,
        upstream_keys=tuple(raw.get("upstream_keys", [])),
        keys=dict(raw.get("keys") or {}),
        error_scenarios=dict(raw.get("error_scenarios") or {}),
        source=path,
    )
