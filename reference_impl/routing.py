"""Routing: candidates -> filters -> score -> prefer -> an ordered fallback plan.

Each filter is a named predicate with the error it raises when it removes every remaining candidate, so
"each constraint that excludes every candidate returns its own 400 code" is one table, read in order.
Scores combine three normalised dimensions (cost, TTFT, throughput) with per-strategy weights
(`STRATEGY_WEIGHTS`); TTFT and throughput come from live stats seeded with the catalog priors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auriko_conformance.reference_impl.catalog import DATA_POLICIES, Catalog, Offering
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.stats import LiveStats
from auriko_conformance.reference_impl.validation import ChatRequest, warning

# strategy -> (cost, ttft, throughput) weights. Base strategies favour one dimension but stay
# well-rounded; `-focus` is almost only that dimension; `balanced` weighs all three evenly.
STRATEGY_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "cost": (0.7, 0.15, 0.15),
    "cost-focus": (0.9, 0.05, 0.05),
    "ttft": (0.15, 0.7, 0.15),
    "ttft-focus": (0.05, 0.9, 0.05),
    "tps": (0.15, 0.15, 0.7),
    "tps-focus": (0.05, 0.05, 0.9),
    "balanced": (1 / 3, 1 / 3, 1 / 3),
}

# The 15 parameters `require_parameters` checks (contract section 8).
REQUIRE_PARAMETERS = (
    "temperature",
    "top_p",
    "seed",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "n",
    "presence_penalty",
    "frequency_penalty",
    "user",
    "parallel_tool_calls",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
)


@dataclass(slots=True)
class Plan:
    """The offerings to try, best first, and what the response reports as the strategy."""

    attempts: list[Offering]
    strategy: str
    warnings: list[dict[str, str]]


@dataclass(slots=True)
class Needs:
    """What the request asks of an offering, computed once per request."""

    tools: bool
    forced_tool_choice: bool
    response_format: str | None
    vision: bool
    effort: str | None
    n: int
    required_params: tuple[str, ...]
    stream: bool = False

    @classmethod
    def of(cls, request: ChatRequest) -> Needs:
        body = request.body
        choice = body.get("tool_choice")
        tools = bool(body.get("tools")) and choice != "none"
        rf = body.get("response_format")
        required: tuple[str, ...] = ()
        if request.routing.get("require_parameters"):
            required = tuple(p for p in REQUIRE_PARAMETERS if p in body and not (p == "n" and body[p] == 1))
        return cls(
            tools=tools,
            forced_tool_choice=tools and (choice == "required" or isinstance(choice, dict)),
            response_format=rf["type"] if rf and rf["type"] != "text" else None,
            vision=request.has_images,
            effort=body.get("reasoning_effort"),
            n=body.get("n") or 1,
            required_params=required,
            stream=request.stream,
        )


def honours_forced_tool_choice(offering: Offering, effort: str | None) -> bool:
    """Claude cannot force tool use while thinking, so a forced choice plus reasoning rules it out."""
    caps = offering.capabilities
    if not caps.tool_choice_required:
        return False
    thinking = effort is not None and effort != "off"
    return not (thinking and caps.reasoning in ("adaptive", "budget") and offering.provider == "anthropic")


Filter = tuple[str, Callable[[Offering], bool], Callable[[], GatewayError]]


def _filters(request: ChatRequest, needs: Needs, stats: LiveStats, model_label: str) -> list[Filter]:
    routing = request.routing
    filters: list[Filter] = [
        (
            "available",
            lambda o: o.available,
            lambda: GatewayError(
                "no_provider_available", f"No provider of '{model_label}' is available right now.", None
            ),
        ),
        (
            "platform_key",
            lambda o: o.platform_key,
            lambda: GatewayError(
                "platform_keys_unavailable",
                f"The platform holds no provider key for '{model_label}'; use your own provider key (BYOK).",
                "model",
            ),
        ),
    ]
    if request.blocked_providers:
        blocked = request.blocked_providers
        filters.append(
            (
                "provider_blocked",
                lambda o: o.provider not in blocked,
                lambda: GatewayError(
                    "provider_blocked",
                    f"Every provider of '{model_label}' is blocked for this API key's workspace.",
                    "model",
                ),
            )
        )
    tier = routing.get("tier")
    if tier == "priority":
        pass  # handled in candidates(): priority offerings first, standard as the fallback
    else:
        filters.append(
            (
                "tier",
                lambda o: o.tier == "standard",
                lambda: GatewayError(
                    "tier_opt_in_required",
                    f"'{model_label}' is only offered at the priority tier.",
                    "gateway.routing.tier",
                    suggestion='Set gateway.routing.tier to "priority".',
                ),
            )
        )
    if routing.get("providers"):
        allowed = frozenset(routing["providers"])
        filters.append(
            (
                "providers",
                lambda o: o.provider in allowed,
                lambda: GatewayError(
                    "provider_not_in_allowlist",
                    f"None of the allowed providers serves '{model_label}'.",
                    "gateway.routing.providers",
                ),
            )
        )
    if routing.get("exclude_providers"):
        excluded = frozenset(routing["exclude_providers"])
        filters.append(
            (
                "exclude_providers",
                lambda o: o.provider not in excluded,
                lambda: GatewayError(
                    "no_compatible_endpoint",
                    f"Every provider of '{model_label}' is excluded.",
                    "gateway.routing.exclude_providers",
                ),
            )
        )
    policy = routing.get("data_policy")
    if policy and policy != "none":
        rank = DATA_POLICIES.index(policy)
        filters.append(
            (
                "data_policy",
                lambda o: o.data_policy_rank >= rank,
                lambda: GatewayError(
                    "no_compatible_endpoint",
                    f"No provider of '{model_label}' meets data_policy '{policy}'.",
                    "gateway.routing.data_policy",
                ),
            )
        )
    if routing.get("only_byok"):
        filters.append(
            (
                "only_byok",
                lambda o: False,  # the reference gateway holds no customer keys
                lambda: GatewayError(
                    "byok_keys_required",
                    "only_byok is set but no BYOK provider key is configured.",
                    "gateway.routing.only_byok",
                ),
            )
        )
    filters.extend(_capability_filters(needs, model_label))
    if needs.required_params:
        params = needs.required_params
        filters.append(
            (
                "require_parameters",
                lambda o: all(p in o.supported_parameters for p in params),
                lambda: GatewayError(
                    "required_params_not_supported",
                    f"No provider of '{model_label}' supports all of: {', '.join(params)}.",
                    "gateway.routing.require_parameters",
                ),
            )
        )
    if "max_cost_per_1m" in routing:
        ceiling = routing["max_cost_per_1m"]
        filters.append(
            (
                "max_cost_per_1m",
                lambda o: o.prices.blended <= ceiling,
                lambda: GatewayError(
                    "cost_constraint_exceeded",
                    f"No provider of '{model_label}' costs at most {ceiling} USD per 1M tokens.",
                    "gateway.routing.max_cost_per_1m",
                    suggestion="Raise max_cost_per_1m or choose a cheaper model.",
                ),
            )
        )
    ttft_pct = routing.get("ttft_percentile", "p50")
    if "max_ttft_ms" in routing:
        max_ttft = routing["max_ttft_ms"]
        filters.append(
            (
                "max_ttft_ms",
                lambda o: stats.ttft(o.key, ttft_pct) <= max_ttft,
                lambda: GatewayError(
                    "latency_constraint_exceeded",
                    f"No provider of '{model_label}' has a {ttft_pct} time to first token of at most "
                    f"{max_ttft} ms.",
                    "gateway.routing.max_ttft_ms",
                    suggestion="Raise max_ttft_ms or remove it.",
                ),
            )
        )
    tps_pct = routing.get("throughput_percentile", "p50")
    if "min_throughput_tps" in routing:
        floor = routing["min_throughput_tps"]
        filters.append(
            (
                "min_throughput_tps",
                lambda o: stats.tps(o.key, tps_pct) >= floor,
                lambda: GatewayError(
                    "throughput_constraint_not_met",
                    f"No provider of '{model_label}' reaches {floor} tokens/s at {tps_pct}.",
                    "gateway.routing.min_throughput_tps",
                    suggestion="Lower min_throughput_tps or remove it.",
                ),
            )
        )
    return filters


def _capability_filters(needs: Needs, label: str) -> list[Filter]:
    filters: list[Filter] = []

    def add(name: str, keep: Callable[[Offering], bool], code: str, message: str, param: str) -> None:
        filters.append((name, keep, lambda: GatewayError(code, message, param)))

    if needs.tools:
        add(
            "tools",
            lambda o: o.capabilities.tools,
            "tools_not_supported",
            f"'{label}' cannot call tools.",
            "tools",
        )
    if needs.forced_tool_choice:
        effort = needs.effort
        add(
            "tool_choice",
            lambda o: honours_forced_tool_choice(o, effort),
            "tool_choice_required_not_supported",
            f"No provider of '{label}' can guarantee a tool call"
            + (" while reasoning is on." if effort and effort != "off" else "."),
            "tool_choice",
        )
    if needs.response_format == "json_object":
        add(
            "json_object",
            lambda o: o.capabilities.json_object,
            "json_mode_not_supported",
            f"'{label}' has no JSON mode; use response_format json_schema.",
            "response_format",
        )
    elif needs.response_format == "json_schema":
        add(
            "json_schema",
            lambda o: o.capabilities.json_schema,
            "structured_output_not_supported",
            f"'{label}' cannot produce schema-constrained output.",
            "response_format",
        )
    if needs.tools and needs.response_format == "json_schema":
        add(
            "tools_with_json_schema",
            lambda o: o.capabilities.tools_with_json_schema,
            "tools_with_structured_output_not_supported",
            f"'{label}' cannot call tools and follow a response schema in one request.",
            "response_format",
        )
    if needs.vision:
        add(
            "vision",
            lambda o: o.capabilities.vision,
            "vision_not_supported",
            f"'{label}' cannot read images.",
            "messages",
        )
    if needs.effort is not None and needs.effort != "off":
        add(
            "reasoning",
            lambda o: o.capabilities.reasoning != "none",
            "reasoning_not_supported",
            f"'{label}' does not reason; remove reasoning_effort.",
            "reasoning_effort",
        )
    if needs.effort == "off":  # D-042: fine on models without reasoning; an error where it cannot stop
        add(
            "reasoning_off",
            lambda o: o.capabilities.reasoning == "none" or o.capabilities.can_disable_reasoning,
            "thinking_disable_not_supported",
            f"'{label}' cannot turn reasoning off.",
            "reasoning_effort",
        )
    # Delivery modes (D-124): a model only some offerings can deliver the way the client asked for.
    add(
        "batch",
        lambda o: not o.capabilities.batch_only,
        "batch_only",
        f"'{label}' is offered only in batches.",
        "model",
    )
    if needs.stream:
        add(
            "streaming",
            lambda o: o.capabilities.streaming,
            "streaming_not_supported",
            f"'{label}' cannot stream; send stream: false.",
            "stream",
        )
    else:
        add(
            "non_streaming",
            lambda o: o.capabilities.non_streaming,
            "non_streaming_not_supported",
            f"'{label}' only streams; send stream: true.",
            "stream",
        )
    if needs.n > 1:
        add(
            "n",
            lambda o: o.capabilities.n and needs.n <= (o.capabilities.max_n or needs.n),
            "no_compatible_endpoint",
            f"No provider of '{label}' supports n = {needs.n}.",
            "n",
        )
    return filters


def _scores(
    candidates: list[Offering], weights: tuple[float, float, float], stats: LiveStats, routing: dict[str, Any]
) -> list[float]:
    """Weighted sum of ratio-normalised dimensions, each in (0, 1], 1 = best among the candidates."""
    ttft_pct = routing.get("ttft_percentile", "p50")
    tps_pct = routing.get("throughput_percentile", "p50")
    costs = [o.prices.blended for o in candidates]
    ttfts = [max(stats.ttft(o.key, ttft_pct), 1e-3) for o in candidates]
    tpss = [stats.tps(o.key, tps_pct) for o in candidates]
    min_cost, min_ttft, max_tps = min(costs), min(ttfts), max(tpss)
    wc, wt, wp = weights
    scores = []
    for cost, ttft, tps in zip(costs, ttfts, tpss, strict=True):
        s_cost = min_cost / cost if cost > 0 else 1.0
        s_tps = tps / max_tps if max_tps > 0 else 1.0
        scores.append(wc * s_cost + wt * (min_ttft / ttft) + wp * s_tps)
    return scores


def _rank(
    candidates: list[Offering], weights: tuple[float, float, float], stats: LiveStats, routing: dict[str, Any]
) -> list[Offering]:
    if len(candidates) < 2:
        return list(candidates)
    scores = _scores(candidates, weights, stats, routing)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))  # ties: catalog order
    return [candidates[i] for i in order]


def weights_for(request: ChatRequest) -> tuple[float, float, float]:
    if request.weights is not None:
        w = request.weights
        raw = (float(w.get("cost", 0)), float(w.get("ttft", 0)), float(w.get("throughput", 0)))
        total = sum(raw)
        return (raw[0] / total, raw[1] / total, raw[2] / total)
    return STRATEGY_WEIGHTS[request.strategy]


class Router:
    """Turns a validated request into a plan, using the catalog and live stats."""

    def __init__(self, catalog: Catalog, stats: LiveStats) -> None:
        self.catalog = catalog
        self.stats = stats

    def resolve_models(self, request: ChatRequest) -> list[tuple[str, list[Offering]]]:
        """The requested models that are in service; 503 model_unavailable when none is (D-125)."""
        resolved = []
        withdrawn = []
        for index, name in enumerate(request.models):
            model = self.catalog.resolve(name)
            if model is None:
                raise GatewayError(
                    "model_not_found",
                    f"Model '{name}' is not in the catalog.",
                    f"gateway.models[{index}]" if request.multi else "model",
                )
            if model.available:
                resolved.append((model.id, list(model.offerings)))
            else:
                withdrawn.append(model.id)
        if not resolved:
            names = ", ".join(f"'{m}'" for m in withdrawn)
            param = "gateway.models" if request.multi else "model"
            raise GatewayError("model_unavailable", f"{names} is temporarily unavailable.", param)
        return resolved

    def plan(self, request: ChatRequest) -> Plan:
        models = self.resolve_models(request)
        routing = request.routing
        needs = Needs.of(request)
        label = models[0][0] if len(models) == 1 else ", ".join(m for m, _ in models)
        warnings: list[dict[str, str]] = []
        candidates = [o for _, offerings in models for o in offerings]
        if routing.get("tier") == "priority":
            priority = [o for o in candidates if o.tier == "priority"]
            if priority:
                candidates = priority
            else:
                warnings.append(
                    warning(
                        "unsupported_feature", f"'{label}' has no priority tier; the standard tier was used."
                    )
                )
        for _name, keep, error in _filters(request, needs, self.stats, label):
            kept = [o for o in candidates if keep(o)]
            if not kept:
                raise error()
            candidates = kept

        weights = weights_for(request)
        if routing.get("mode") == "fallback" and len(models) > 1:
            ordered: list[Offering] = []
            for model_id, _ in models:
                ordered.extend(
                    _rank([o for o in candidates if o.model == model_id], weights, self.stats, routing)
                )
        else:
            ordered = _rank(candidates, weights, self.stats, routing)

        prefer = routing.get("prefer")
        if prefer:
            preferred = [o for o in ordered if o.provider == prefer]
            if preferred:
                ordered = preferred + [o for o in ordered if o.provider != prefer]

        if routing.get("allow_fallbacks", True) is False:
            ordered = ordered[:1]
        else:
            ordered = ordered[: 1 + routing.get("max_fallback_attempts", 3)]
        return Plan(attempts=ordered, strategy=request.strategy, warnings=warnings)
