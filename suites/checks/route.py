"""ROUTE: routing decisions judged from the mock journal and the answer.

Most rules here are the same observation bound to different requirements ("only these instances were
called" is the allowlist, the exclusion list, the price ceiling, the data policy ...), so the checks are
registered per requirement from a few families; each declares the scenario fields it needs
(`suites.scenario.RouteContext`), so it is selected only when a scenario sets them. The checks stay
pure: no network, so the project's tests feed them synthetic journals and responses
(tests/suites/test_route_checks.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auriko_conformance.suites.checks import (
    Applies,
    Blocked,
    Context,
    Located,
    NotApplicable,
    check,
    error_under_200,
    family,
    register,
)
from auriko_conformance.suites.checks.errors import (
    SCENARIO_ERROR_OWNERS,
    expected_error,
    never_500,
    under_200,
)
from auriko_conformance.suites.checks.meta import account_disputed
from auriko_conformance.suites.checks.readable import unreadable_answer
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import answering_entries, called, refusals
from auriko_conformance.suites.scenario import RouteContext

from auriko_conformance import contract

ROUTE = {"context": RouteContext}
#: what routing_metadata says is META's to judge (D-146): a routing rule that reads who served from it
#: leaves a missing, mistyped or wrong report to the META rule that failed on the same exchange
METADATA_OWNERS: dict[str, tuple[str, ...]] = {
    "$.routing_metadata.provider": ("META-001", "META-003", "META-011", "STREAM-005"),
    "$.routing_metadata.routing_strategy": ("META-001", "META-003", "META-005", "STREAM-005"),
    "$.routing_metadata.model_canonical": ("META-001", "META-003", "META-004", "STREAM-005"),
}


def reported(metadata: dict[str, Any], key: str, message: str) -> str:
    """`message` about `routing_metadata.<key>`: located where META owns it when the field is missing or
    no string (the report cannot be read, META-001/003 or STREAM-005's finding), else the rule's own."""
    value = metadata.get(key)
    return message if isinstance(value, str) and value else Located(message, f"$.routing_metadata.{key}")


#: the answer to a model nobody offers: REQ-026's rule ("404 model_not_found"), whichever test sends one
UNKNOWN_MODEL = "(the answer to an unknown model)"
#: where a routing rule's reading of the journal (who was called, in which order, who answered) sits when
#: the gateway's own account of who answered names another instance than the journal does: the rule cannot
#: tell a wrong choice from a misdirected call or a wrong report, so the finding is META-011's (D-146)
UPSTREAM_PROVIDER = "upstream:provider"
#: the places a routing rule leaves to META (the report) when META failed on the same exchange
ROUTING_OWNERS: dict[str, tuple[str, ...]] = {**METADATA_OWNERS, UPSTREAM_PROVIDER: ("META-011",)}


def upstream(message: str, exchange: Exchange, context: Context) -> str:
    """A finding read from the journal: located at `UPSTREAM_PROVIDER` when the gateway's account of who
    answered disagrees with the journal (left to META-011 when META-011 failed there), else firm."""
    return Located(message, UPSTREAM_PROVIDER) if account_disputed(exchange, context) else message


# --------------------------------------------------------------------------------------------------
# Family: which instances were called
# --------------------------------------------------------------------------------------------------


def _calls(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    seen = called(context.journal or [])
    if context.allowed is not None:
        outside = sorted({p for p in seen if p not in context.allowed})
        if outside:
            message = f"upstream requests went to {outside}; only {sorted(context.allowed)} may be called"
            yield upstream(message, exchange, context)
    hit = sorted({p for p in seen if p in context.forbidden})
    if hit:
        message = f"upstream requests went to {hit}, which the request ruled out (calls: {seen})"
        yield upstream(message, exchange, context)


family(
    {
        "ROUTE-001": ("providers_allowlist_respected", "Only providers on `providers` receive requests."),
        "ROUTE-003": (
            "excluded_providers_not_called",
            "Providers on `exclude_providers` receive no request.",
        ),
        "ROUTE-007": ("cost_ceiling_respected", "Providers above `max_cost_per_1m` receive no request."),
        "ROUTE-010": ("data_policy_respected", "Only providers meeting `data_policy` receive requests."),
        "ROUTE-011": ("required_parameters_respected", "require_parameters: only supporting providers."),
        "ROUTE-014": ("forced_tool_choice_respected", "tool_choice required: only honouring providers."),
        "ROUTE-015": ("output_mode_respected", "json_schema / json_object: only capable providers."),
        "ROUTE-018": (
            "native_n_respected",
            "n > 1: only providers with native multi-choice support (D-029).",
        ),
    },
    _calls,
    **ROUTE,
    given=("journal",),
    when=lambda exchange, context: context.allowed is not None or bool(context.forbidden),
    upstream_side=True,
    defers=ROUTING_OWNERS,
)


# --------------------------------------------------------------------------------------------------
# Family: who answered
# --------------------------------------------------------------------------------------------------


def _answered(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    want = sorted(context.answer_from or ())
    if exchange.status != 200:
        yield from _gave_up(exchange, context, want)
        return
    metadata = exchange.metadata or {}
    reported = context.instance(metadata.get("provider"))
    if context.journal is not None:
        answers = answering_entries(context.journal)
        if answers and answers[-1].get("provider") not in want:
            message = f"{answers[-1].get('provider')!r} answered upstream, expected one of {want}"
            yield upstream(message, exchange, context)
            return
        if not answers and reported not in want:
            message = f"no upstream answer in the journal and routing_metadata.provider is {reported!r}"
            yield Located(message, "$.routing_metadata.provider")
            return
    elif reported not in want:
        message = f"routing_metadata.provider is {metadata.get('provider')!r}, expected one of {want}"
        yield Located(message, "$.routing_metadata.provider")


def _gave_up(exchange: Exchange, context: RouteContext, want: list[str]) -> Iterator[str]:
    """On a refusal, the routing rule is to blame only when the journal shows it: the gateway tried other
    instances, none refused the request as invalid, and it stopped before any that had to answer. With no
    attempt at all (refused before routing) or an attempt the provider refused, the answer's absence has
    another root (the refusal, or the translation rule the journal names), and this rule has no subject."""
    journal = context.journal or []
    seen = called(journal)
    if not seen or set(seen) & set(want) or refusals(journal):
        raise NotApplicable
    yield f"the gateway answered HTTP {exchange.status} after trying {seen}, never {want}"


family(
    {
        "ROUTE-005": (
            "preferred_provider_answers",
            "A healthy `prefer`red provider serving the model answers.",
        ),
        "ROUTE-006": (
            "cheapest_provider_answers",
            "cost-focus: the cheapest provider (avg of in/out) answers.",
        ),
        "ROUTE-019": (
            "pool_cheapest_answers",
            "Pool + cost-focus: the cheapest provider of all models answers.",
        ),
        "ROUTE-021": (
            "next_candidate_answers",
            "After an upstream 429/5xx/reset the next candidate answers.",
        ),
        "ROUTE-022": ("next_candidate_after_overload", "After an Anthropic 529 the next candidate answers."),
        "ROUTE-023": ("next_candidate_after_timeout", "A provider slower than timeout_ms is abandoned."),
    },
    _answered,
    **ROUTE,
    given=("answer_from",),
    upstream_side=True,
    defers=ROUTING_OWNERS,
)


def _fallback_order(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    seen = called(context.journal or [])
    first = context.tried_first or frozenset()
    missing = sorted(first - set(seen))
    if missing:
        yield upstream(f"{missing} were never tried before falling back (calls: {seen})", exchange, context)
    others = [i for i, p in enumerate(seen) if p not in first]
    if others:
        last_first = max((i for i, p in enumerate(seen) if p in first), default=-1)
        if others[0] < last_first:
            message = f"a provider of a later model was tried before the first model was exhausted: {seen}"
            yield upstream(message, exchange, context)
    if context.answer_from is not None:
        yield from _answered(exchange, context)


register(
    "ROUTE-020",
    "fallback_mode_exhausts_models_in_order",
    "mode fallback: every provider of model 1 is tried before model 2, which then answers.",
    _fallback_order,
    **ROUTE,
    given=("journal", "tried_first"),
    upstream_side=True,
    defers=ROUTING_OWNERS,
)


# --------------------------------------------------------------------------------------------------
# Family: how many attempts
# --------------------------------------------------------------------------------------------------


def _attempts(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    seen = called(context.journal or [])
    if context.max_upstream is not None and len(seen) > context.max_upstream:
        yield f"{len(seen)} upstream requests {seen}, at most {context.max_upstream} allowed"
    if context.min_upstream is not None and len(seen) < context.min_upstream:
        yield f"{len(seen)} upstream requests {seen}, expected at least {context.min_upstream}"


family(
    {
        "ROUTE-024": (
            "one_attempt_without_fallbacks",
            "allow_fallbacks false: exactly one upstream request.",
        ),
        "ROUTE-025": (
            "fallback_attempts_capped",
            "At most 1 + max_fallback_attempts upstream requests (D-037).",
        ),
        "ROUTE-026": (
            "fallbacks_on_by_default",
            "Without options a failed first attempt is followed by another.",
        ),
    },
    _attempts,
    **ROUTE,
    given=("journal",),
    when=lambda exchange, context: context.max_upstream is not None or context.min_upstream is not None,
)


# --------------------------------------------------------------------------------------------------
# The error a routing rule must end in
# --------------------------------------------------------------------------------------------------

family(
    {
        "ROUTE-002": (
            "allowlist_miss_is_400",
            "providers none of which serves the model: 400 provider_not_in_allowlist.",
        ),
        "ROUTE-004": (
            "empty_filter_is_no_compatible_endpoint",
            "Filters leaving no candidate: 400 no_compatible_endpoint.",
        ),
        "ROUTE-007": (
            "cost_ceiling_below_all_is_400",
            "max_cost_per_1m below every provider: 400 cost_constraint_exceeded.",
        ),
        "ROUTE-008": (
            "unmeetable_latency_or_mode_is_400",
            "Unmeetable max_ttft_ms / output mode: 400 (D-011).",
        ),
        "ROUTE-009": (
            "unmeetable_throughput_is_400",
            "min_throughput_tps above all: 400 throughput_constraint_not_met.",
        ),
        "ROUTE-011": (
            "required_params_unsupported_is_400",
            "No provider supports a required parameter: 400.",
        ),
        "ROUTE-012": (
            "only_byok_without_keys_is_400",
            "only_byok without BYOK keys: 400 byok_keys_required.",
        ),
        "ROUTE-013": (
            "premium_tier_needs_opt_in",
            "A premium-only model without tier priority: 400 tier_opt_in_required.",
        ),
        "ROUTE-014": (
            "tool_choice_required_unsupported_is_400",
            "No honouring provider: 400 tool_choice_required_not_supported.",
        ),
        "ROUTE-016": (
            "capability_mismatch_is_400",
            "Tools or images the model cannot take: 400, never dropped.",
        ),
        "ROUTE-018": (
            "n_unsupported_is_no_compatible_endpoint",
            "n > 1 and no native-n provider: 400, param n (D-029).",
        ),
        "ROUTE-024": (
            "single_attempt_error_is_mapped",
            "allow_fallbacks false: the mapped error of the one attempt.",
        ),
        "ROUTE-030": (
            "unknown_suffix_is_model_not_found",
            "Unknown single-colon suffix: 404 model_not_found (D-039).",
        ),
    },
    expected_error,
    **ROUTE,
    given=("error",),
    defers=SCENARIO_ERROR_OWNERS,
)
register(
    "ROUTE-022",
    "anthropic_529_never_500",
    "An Anthropic 529 is never surfaced as a 500.",
    never_500,
    **ROUTE,
    given=("error",),
)


def _deadline(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    limit = context.within_ms or 0.0
    if exchange.elapsed_ms > limit:
        yield f"the request took {exchange.elapsed_ms:.0f} ms, beyond deadline_ms + 1 s = {limit:.0f} ms"
    error = exchange.error or {}
    if exchange.status != 504 or error.get("code") != "upstream_timeout":
        yield under_200(
            exchange, f"expected 504 upstream_timeout, got HTTP {exchange.status} {error.get('code')!r}"
        )


register(
    "ROUTE-027",
    "deadline_bounds_the_chain",
    "deadline_ms ends a slow chain with 504 upstream_timeout within deadline_ms + 1 s.",
    _deadline,
    **ROUTE,
    given=("within_ms",),
    defers=SCENARIO_ERROR_OWNERS,
)


# --------------------------------------------------------------------------------------------------
# Which strategy a model suffix selects
# --------------------------------------------------------------------------------------------------


def _strategy(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if exchange.status != 200:
        yield f"expected a 200 answer, got HTTP {exchange.status}: {exchange.excerpt(200)}"
        return
    metadata = exchange.metadata or {}
    want_strategy, want_canonical = context.expected_strategy, context.expected_canonical
    if want_strategy is not None and metadata.get("routing_strategy") != want_strategy:
        message = f"routing_strategy is {metadata.get('routing_strategy')!r}, expected {want_strategy!r}"
        routing = ((context.request or {}).get("gateway") or {}).get("routing") or {}
        # with `optimize` given, the echo is META-005's rule ("equals optimize when one is given"); a
        # suffix alone is this rule's
        yield (
            Located(message, "$.routing_metadata.routing_strategy")
            if isinstance(routing, dict) and routing.get("optimize") is not None
            else reported(metadata, "routing_strategy", message)
        )
    if want_canonical is not None and metadata.get("model_canonical") != want_canonical:
        # the ID without its suffix is META-004's rule as much as this one's: a wrong value is META-004's
        # finding when META-004 fails on the exchange (it is judged there when the test settles)
        message = f"model_canonical is {metadata.get('model_canonical')!r}, expected {want_canonical!r}"
        yield Located(message, "$.routing_metadata.model_canonical")


def _expects_strategy(exchange: Exchange, context: Context) -> bool:
    return context.expected_strategy is not None or context.expected_canonical is not None


register(
    "ROUTE-028",
    "suffix_sets_strategy",
    "`model:<suffix>` sets routing_strategy, strips model_canonical.",
    _strategy,
    **ROUTE,
    when=_expects_strategy,
    defers=METADATA_OWNERS,
)
register(
    "ROUTE-029",
    "extra_suffix_or_optimize_wins",
    ":tps/:balanced accepted; optimize beats a suffix (D-009).",
    _strategy,
    **ROUTE,
    when=_expects_strategy,
    defers=METADATA_OWNERS,
)


def _multi_colon(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    metadata = exchange.metadata
    if metadata is not None and metadata.get("routing_strategy") == context.not_strategy:
        yield f"the last segment of a multi-colon model ID set routing_strategy {context.not_strategy!r}"
    if exchange.status != 200:
        error = exchange.error or {}
        if exchange.status != 404 or error.get("code") != "model_not_found":
            got = f"HTTP {exchange.status} {error.get('code')!r}"
            # refused, but not as an unknown model: how unknown models are answered is REQ-026's rule (a
            # legacy code ERR-002's), judged on this exchange by the test
            yield Located(f"an unknown multi-colon ID gave {got}, not 404 model_not_found", UNKNOWN_MODEL)


register(
    "ROUTE-028",
    "multi_colon_id_looked_up_whole",
    "A model ID with several colons is looked up whole; its last segment never sets the strategy.",
    _multi_colon,
    **ROUTE,
    given=("not_strategy",),
    defers={UNKNOWN_MODEL: ("REQ-026", "ERR-002")},
)


# --------------------------------------------------------------------------------------------------
# Checks that need no scenario: they judge any response to a request of that shape
# --------------------------------------------------------------------------------------------------


def _asks_several_choices(exchange: Exchange, context: Context) -> bool:
    """A valid `n` of 2 or more: an `n` above the contract's maximum is a value to refuse (REQ-004's
    rule), so serving it with fewer choices is that rule's finding, not this one's."""
    n = context.request.get("n") if isinstance(context.request, dict) else None
    most = contract.request_schema_property("n").get("maximum", n)
    return isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= most


def _in_order(indices: set[object]) -> list[object]:
    return sorted(indices, key=lambda i: (not isinstance(i, int), i if isinstance(i, int) else 0))


@check("ROUTE-017", Applies.ANY, when=_asks_several_choices)
def n_choices_never_fewer(exchange: Exchange, context: Context) -> Iterator[str]:
    """`n: k` is answered with k choices (indices 0..k-1) or an error; never fewer choices."""
    n = context.request["n"]
    if exchange.status >= 400:
        return  # an error is a fair answer
    if exchange.status != 200:
        yield f"n={n} answered with HTTP {exchange.status}"
        return
    if roots := unreadable_answer(exchange):
        raise Blocked("the answer could not be read, so its choices cannot be counted", roots)
    if error_under_200(exchange):
        return  # no answer to count choices in: ERR-003's or STREAM-017's finding
    if exchange.is_stream:
        choices = [c for chunk in exchange.stream.chunks for c in chunk.get("choices") or []]
    else:
        body = exchange.json if isinstance(exchange.json, dict) else {}
        choices = list(body.get("choices") or [])
    indices = _in_order({c.get("index") for c in choices if isinstance(c, dict)})
    if indices != list(range(n)):
        yield f"n={n} answered with choice indices {indices}"
