"""Target profiles: what a gateway under test offers, so the suite judges it fairly.

The suite cannot guess which model names a gateway accepts, which provider each reaches, which optional
features it claims, which headers it needs or what it charges. A profile says so; a check that needs an
unclaimed feature, or a model the gateway does not offer, is reported as "not claimed" rather than
failed. Profiles are small YAML files (docs/profiles.md is the reference; `auriko-conformance profile
init` writes a commented starter); a missing key means the conservative default below.

The file is validated against `ProfileSchema` before anything runs: a typo must be one line naming the
key and the allowed values, never a run of hundreds of "failed" rows or a pytest INTERNALERROR.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import pydantic
import yaml

from auriko_conformance.paths import FIXTURES_DIR

DEFAULT_PROFILE = FIXTURES_DIR / "profiles" / "reference.yaml"

#: Features a target may claim. Core OpenAI compatibility is never optional.
Feature = Literal[
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
]
FEATURES: tuple[str, ...] = get_args(Feature)


# --------------------------------------------------------------------------------------------------
# The schema of the YAML file
# --------------------------------------------------------------------------------------------------


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


Headers = dict[str, str]


class ModelsSchema(_Strict):
    default: str = "gpt-4o-mini"
    tools: str | None = None
    reasoning: str | None = None
    unknown: str = "no-such-model-conformance"
    premium_only: str | None = None
    by_provider: dict[str, str] = {}
    by_kind: dict[str, str] = {}
    #: every model the gateway offers; absent: the suite tries its own model names and reads an
    #: unknown-model answer as "not claimed"
    offered: list[str] | None = None


class PriceSchema(_Strict):
    input: float = pydantic.Field(ge=0)
    output: float = pydantic.Field(ge=0)
    cached_input: float | None = pydantic.Field(default=None, ge=0)

    model_config = pydantic.ConfigDict(extra="forbid", strict=False)  # YAML `3` is a fine price


class RoutingSchema(_Strict):
    premium_only_model: str | None = None


class ProfileSchema(_Strict):
    name: str | None = None
    models: ModelsSchema = ModelsSchema()
    mock_instances: dict[str, str] = {}
    claims: list[Feature] = []
    headers: Headers = {}
    model_headers: dict[str, Headers] = {}
    prices_from_catalog: str | None = None
    prices: dict[str, PriceSchema] = {}
    upstream_keys: list[str] = []
    #: role (`budget`, `no_quota`, `low_limit`) -> an API key of the target with that property (D-121)
    keys: dict[str, str] = {}
    #: documented error code -> how to provoke it: {key, model, stream, body} (ERR-016, D-124)
    error_scenarios: dict[str, dict[str, Any]] = {}
    routing: RoutingSchema = RoutingSchema()

    @pydantic.field_validator("prices")
    @classmethod
    def _price_keys(cls, value: dict[str, PriceSchema]) -> dict[str, PriceSchema]:
        for key in value:
            provider, _, model_id = key.partition("/")
            if not provider or not model_id:
                raise ValueError(f"price key {key!r} must be 'provider/provider_model_id'")
        return value

    @pydantic.model_validator(mode="after")
    def _named_models_are_offered(self) -> ProfileSchema:
        offered = self.models.offered
        if offered is None:
            return self
        named = {"default": self.models.default, "tools": self.models.tools}
        named |= {"reasoning": self.models.reasoning, "premium_only": self.models.premium_only}
        named |= {f"by_provider.{k}": v for k, v in self.models.by_provider.items()}
        for key, model in named.items():
            if model is not None and model not in offered:
                raise ValueError(f"models.{key}: {model!r} is not in models.offered ({', '.join(offered)})")
        return self


class ProfileError(ValueError):
    """A profile the suite cannot use; `lines` holds one line per problem, each naming its key."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path, self.lines = path, lines
        super().__init__("\n".join(f"{path}: {line}" for line in lines))


def _schema_at(loc: tuple[int | str, ...]) -> type[pydantic.BaseModel] | None:
    """The schema class a validation error's location points into (for "allowed keys" lists)."""
    schema: type[pydantic.BaseModel] = ProfileSchema
    for part in loc[:-1]:
        info = schema.model_fields.get(str(part))
        annotation = info.annotation if info else None
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            schema = annotation
        else:
            return None
    return schema


def _error_line(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    given = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        schema = _schema_at(loc)
        allowed = ", ".join(schema.model_fields) if schema else "?"
        return f"{key}: unknown key; allowed here: {allowed}"
    if kind == "literal_error":
        return f"{key}: {given!r} is not allowed; allowed: {error['ctx']['expected']}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind in ("missing",) or "type" in kind:
        return f"{key}: {message} (got {given!r})" if kind != "missing" else f"{key}: {message}"
    return f"{key}: {message}" if key else message


def validate(raw: Any, path: Path) -> ProfileSchema:
    """The parsed profile, or `ProfileError` with one line per problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ProfileError(path, [f"expected a mapping of keys (name, models, claims, ...), got {raw!r}"])
    try:
        return ProfileSchema.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ProfileError(path, [_error_line(e) for e in exc.errors()]) from None


# --------------------------------------------------------------------------------------------------
# The profile the suites use
# --------------------------------------------------------------------------------------------------


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
    #: every model the target offers (None: not listed, the suite asks the target)
    offered_models: frozenset[str] | None = None
    #: a model the target offers only at a premium tier (ROUTE-013), when it has one
    premium_only_model: str | None = None
    #: target provider name -> mock instance name (when they differ, e.g. google -> gemini)
    mock_instances: dict[str, str] = field(default_factory=dict)
    claims: frozenset[str] = frozenset()
    #: headers on every request to the target
    headers: dict[str, str] = field(default_factory=dict)
    #: model name -> headers on requests for that model (e.g. one that selects the provider)
    model_headers: dict[str, dict[str, str]] = field(default_factory=dict)
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

    def offers(self, model: str) -> bool:
        """False only when the profile lists the offered models and `model` is not among them."""
        return self.offered_models is None or model in self.offered_models

    def prices_for(self, provider: str | None, provider_model_id: str | None) -> Prices | None:
        if not isinstance(provider, str) or not isinstance(provider_model_id, str):
            return None  # a missing or mistyped field is META-003's finding, not a crash here
        return self.prices.get((provider, provider_model_id))

    def mock_instance(self, provider: str) -> str:
        return self.mock_instances.get(provider, provider)


def resolve_data_path(value: str, profile_path: Path) -> Path:
    """A path named in a profile: relative to the profile's folder, else to the packaged fixtures.

    A profile copied out of the package (`cp .../profiles/reference.yaml my.yaml`) keeps working:
    `../catalog.yaml` no longer resolves beside the copy, but `catalog.yaml` in the packaged data does.
    """
    candidate = (profile_path.parent / value).resolve()
    if candidate.is_file():
        return candidate
    packaged = (FIXTURES_DIR / Path(value).name).resolve()
    return packaged if packaged.is_file() else candidate


def _prices_from_catalog(path: Path, profile_path: Path) -> dict[tuple[str, str], Prices]:
    try:
        with path.open() as fh:
            catalog = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise ProfileError(
            profile_path, [f"prices_from_catalog: cannot read {path} ({exc.strerror})"]
        ) from None
    table: dict[tuple[str, str], Prices] = {}
    for model in catalog.get("models", {}).values():
        for offering in model.get("offerings", []):
            if offering.get("tier", "standard") != "standard":
                continue
            p = offering["prices"]
            key = (offering["provider"], offering["provider_model_id"])
            table.setdefault(key, Prices(p["input"], p["output"], p.get("cached_input")))
    return table


def read_profile(path: Path) -> ProfileSchema:
    """Parse and validate one profile file; `ProfileError` names the problem in one line each."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, [f"cannot read the profile ({exc.strerror})"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ProfileError(path, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    return validate(raw, path)


@functools.cache
def load_profile(path: Path | None = None) -> TargetProfile:
    path = Path(path) if path else DEFAULT_PROFILE
    schema = read_profile(path)
    models = schema.models
    prices: dict[tuple[str, str], Prices] = {}
    if schema.prices_from_catalog:
        catalog = resolve_data_path(schema.prices_from_catalog, path)
        prices.update(_prices_from_catalog(catalog, path))
    for key, value in schema.prices.items():
        provider, _, model_id = key.partition("/")
        prices[(provider, model_id)] = Prices(value.input, value.output, value.cached_input)
    return TargetProfile(
        name=schema.name or path.stem,
        default_model=models.default,
        reasoning_model=models.reasoning,
        tools_model=models.tools,
        unknown_model=models.unknown,
        models_by_provider=dict(models.by_provider),
        models_by_kind=dict(models.by_kind),
        offered_models=frozenset(models.offered) if models.offered is not None else None,
        premium_only_model=models.premium_only or schema.routing.premium_only_model,
        mock_instances=dict(schema.mock_instances),
        claims=frozenset(schema.claims),
        headers=dict(schema.headers),
        model_headers={model: dict(h) for model, h in schema.model_headers.items()},
        prices=prices,
        upstream_keys=tuple(schema.upstream_keys),
        keys=dict(schema.keys),
        error_scenarios=dict(schema.error_scenarios),
        source=path,
    )
