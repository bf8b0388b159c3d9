"""The model catalog as immutable, precomputed data: canonical models, aliases and their offerings.

Loaded once at start-up from `fixtures/catalog.yaml` (or a file a config names). Everything routing needs
per request -- an offering's blended price, its supported-parameter set, the alias table -- is computed
here once, so the hot path only does dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auriko_conformance.paths import FIXTURES_DIR

DEFAULT_CATALOG_PATH: Path = FIXTURES_DIR / "catalog.yaml"

REASONING_KINDS = frozenset({"none", "effort", "budget", "adaptive", "level"})
DATA_POLICIES = ("none", "no_training", "zdr")  # weakest to strongest
TIERS = frozenset({"standard", "priority"})


class CatalogError(ValueError):
    """The catalog file cannot describe a set of models."""


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per 1M tokens."""

    input: float
    output: float
    cached_input: float

    @property
    def blended(self) -> float:
        """The mean of input and output price: what `max_cost_per_1m` and cost scoring compare."""
        return (self.input + self.output) / 2


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an offering can do; a request needing more is routed elsewhere or gets a capability error."""

    tools: bool = False
    tool_choice_required: bool = False
    json_object: bool = False
    json_schema: bool = False
    vision: bool = False
    n: bool = False
    max_n: int | None = None  # the native ceiling of n (Gemini candidateCount: 8), None = no ceiling
    logprobs: bool = False
    reasoning: str = "none"  # effort | budget | adaptive | level | none
    can_disable_reasoning: bool = False
    effort_values: tuple[str, ...] = ()  # native effort values the model takes (effort/adaptive/level)
    effort_ceiling: str | None = None  # what `max` (and unknown higher values) become
    xhigh_to: str | None = None  # Claude: where `xhigh` goes when the model lacks it
    effort_with_budget: bool = False  # Claude Opus 4.5: output_config.effort alongside the thinking budget
    streaming: bool = True  # False: `stream: true` is 400 streaming_not_supported
    non_streaming: bool = True  # False: only streams (400 non_streaming_not_supported otherwise)
    batch_only: bool = False  # True: only through a batch API (400 batch_only)
    # False: tools and a json_schema response_format cannot be combined in one request (Gemini 2.x
    # refuses function calling with a JSON response type): 400 tools_with_structured_output_not_supported
    tools_with_json_schema: bool = True


@dataclass(frozen=True, slots=True)
class Offering:
    """One provider serving one canonical model at one tier."""

    model: str
    provider: str
    provider_model_id: str
    prices: Prices
    ttft_p50: float
    ttft_p95: float
    tps_p50: float
    tps_p95: float
    capabilities: Capabilities
    supported_parameters: frozenset[str]
    data_policy: str
    tier: str
    key: str = ""  # unique id used by stats: "<provider>/<model>[@tier]"
    max_output_tokens: int | None = None  # the native output ceiling, where the provider enforces one
    available: bool = True  # False: out of service; never routed to (503 no_provider_available, D-125)
    # False: the platform holds no key for it, only a customer's own (BYOK) key could use it, and the
    # reference holds none: never routed to (400 platform_keys_unavailable, D-143)
    platform_key: bool = True

    @property
    def data_policy_rank(self) -> int:
        return DATA_POLICIES.index(self.data_policy)


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    created: int
    context_window: int | None
    offerings: tuple[Offering, ...]
    aliases: tuple[str, ...] = ()
    available: bool = True  # False: temporarily withdrawn (503 model_unavailable, D-125)


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A provider as the catalog describes it (config may override base_url and api_key)."""

    name: str
    flavour: str
    base_url: str
    api_key: str


@dataclass(frozen=True)
class Catalog:
    version: str
    models: dict[str, CatalogModel]
    aliases: dict[str, str]
    providers: dict[str, ProviderEntry]
    by_key: dict[str, Offering] = field(default_factory=dict)

    def resolve(self, name: str) -> CatalogModel | None:
        """The model a canonical id or alias names (None when unknown)."""
        model = self.models.get(name)
        if model is not None:
            return model
        canonical = self.aliases.get(name)
        return self.models[canonical] if canonical is not None else None

    def all_offerings(self) -> list[Offering]:
        return [o for m in self.models.values() for o in m.offerings]


def _caps(raw: Mapping[str, Any], where: str) -> Capabilities:
    values = dict(raw)
    for key in ("effort_values",):
        if key in values:
            values[key] = tuple(values[key])
    try:
        caps = Capabilities(**values)
    except TypeError as exc:
        raise CatalogError(f"{where}: bad capabilities ({exc})") from None
    if caps.reasoning not in REASONING_KINDS:
        raise CatalogError(f"{where}: reasoning must be one of {sorted(REASONING_KINDS)}")
    return caps


def _offering(model_id: str, raw: Mapping[str, Any], index: int) -> Offering:
    where = f"models.{model_id}.offerings[{index}]"
    try:
        prices = Prices(**raw["prices"])
        tier = raw.get("tier", "standard")
        offering = Offering(
            model=model_id,
            provider=raw["provider"],
            provider_model_id=raw["provider_model_id"],
            prices=prices,
            ttft_p50=float(raw["ttft_ms"]["p50"]),
            ttft_p95=float(raw["ttft_ms"]["p95"]),
            tps_p50=float(raw["throughput_tps"]["p50"]),
            tps_p95=float(raw["throughput_tps"]["p95"]),
            capabilities=_caps(raw.get("capabilities", {}), where),
            supported_parameters=frozenset(raw.get("supported_parameters", ())),
            data_policy=raw.get("data_policy", "none"),
            tier=tier,
            key=f"{raw['provider']}/{model_id}" + ("" if tier == "standard" else f"@{tier}"),
            max_output_tokens=raw.get("max_output_tokens"),
            available=bool(raw.get("available", True)),
            platform_key=bool(raw.get("platform_key", True)),
        )
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"{where}: missing or bad field ({exc})") from None
    if offering.data_policy not in DATA_POLICIES:
        raise CatalogError(f"{where}: data_policy must be one of {DATA_POLICIES}")
    if offering.tier not in TIERS:
        raise CatalogError(f"{where}: tier must be one of {sorted(TIERS)}")
    return offering


def catalog_from_mapping(data: Mapping[str, Any]) -> Catalog:
    providers = {
        name: ProviderEntry(
            name=name, flavour=p["flavour"], base_url=p["base_url"], api_key=p.get("api_key", "")
        )
        for name, p in (data.get("providers") or {}).items()
    }
    models: dict[str, CatalogModel] = {}
    aliases: dict[str, str] = {}
    by_key: dict[str, Offering] = {}
    for model_id, raw in (data.get("models") or {}).items():
        offerings = tuple(_offering(model_id, o, i) for i, o in enumerate(raw.get("offerings") or ()))
        if not offerings:
            raise CatalogError(f"models.{model_id}: no offerings")
        for o in offerings:
            if o.provider not in providers:
                raise CatalogError(f"models.{model_id}: unknown provider {o.provider!r}")
            if o.key in by_key:
                raise CatalogError(f"duplicate offering {o.key}")
            by_key[o.key] = o
        models[model_id] = CatalogModel(
            id=model_id,
            created=int(raw.get("created", 0)),
            context_window=raw.get("context_window"),
            offerings=offerings,
            aliases=tuple(raw.get("aliases") or ()),
            available=bool(raw.get("available", True)),
        )
        for alias in raw.get("aliases") or ():
            aliases[alias] = model_id
    for alias in aliases:
        if alias in models:
            raise CatalogError(f"alias {alias!r} shadows a canonical model")
    return Catalog(
        version=str(data.get("version", "unversioned")),
        models=models,
        aliases=aliases,
        providers=providers,
        by_key=by_key,
    )


def load_catalog(path: str | Path = DEFAULT_CATALOG_PATH) -> Catalog:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, Mapping):
        raise CatalogError(f"{path}: expected a mapping")
    return catalog_from_mapping(data)
