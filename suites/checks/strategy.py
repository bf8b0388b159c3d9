"""ROUTE-031..038: strategies, weights and performance filters change which provider answers.

`routing_metadata.routing_strategy` echoing `ttft-focus` proves nothing about the choice. These checks
judge the choice itself on a *contest*: one model served by two mock instances whose price and speed
disagree (one cheap and slow, one dear and fast, by the mocks' own latency and throughput settings), so
each strategy, weight vector and ceiling has one known winner. The test says which instance must win
and why (a `Promise`); the check reads the mock journal to see who was asked first, who answered, and
whether an excluded provider was called at all. Pure functions: no network (tests/suites/
test_strategy_checks.py feeds them broken journals).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auriko_conformance.suites.checks import Applies, Context, Located, NotApplicable, check
from auriko_conformance.suites.checks.route import ROUTING_OWNERS, upstream
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import answering_entries, called


@dataclass(frozen=True, slots=True)
class Promise:
    """What a routing option promises in one contest."""

    winner: str  # the mock instance that must answer
    loser: str  # the other instance
    why: str  # the dimension that decides, in words, for the finding
    #: the `routing_strategy` the response must report (None: not asserted)
    strategy: str | None = None
    #: a filter: the loser must receive no request at all (a strategy only orders the attempts)
    excludes_loser: bool = False
    #: error codes that are an acceptable outcome instead of an answer (a reading the docs allow, D-122)
    tolerated_codes: frozenset[str] = frozenset()


@dataclass(slots=True)
class ChoiceContext(Context):
    """`Context` plus the contest: this exchange's upstream requests and the promise they must keep."""

    promise: Promise | None = None
    journal: list[dict[str, Any]] | None = None
    #: target provider name -> mock instance name (identity when absent)
    instances: Mapping[str, str] = field(default_factory=dict)

    def instance(self, provider: Any) -> str | None:
        return self.instances.get(provider, provider) if isinstance(provider, str) else None


def selection(exchange: Exchange, context: ChoiceContext) -> str:
    """What the target chose, in words: the instances asked (in order) and the provider it reported."""
    seen = called(context.journal or [])
    reported = (exchange.metadata or {}).get("provider")
    return f"asked {seen or 'nobody'}, reported provider {reported!r}"


def _choice(exchange: Exchange, context: Context) -> Iterator[str]:
    if not isinstance(context, ChoiceContext) or context.promise is None or context.journal is None:
        raise NotApplicable
    promise = context.promise
    if exchange.status != 200:
        code = (exchange.error or {}).get("code")
        if code not in promise.tolerated_codes:
            got = f"HTTP {exchange.status} {code!r}"
            yield f"expected {promise.winner!r} to answer ({promise.why}), got {got}"
        return
    seen = called(context.journal)
    metadata = exchange.metadata or {}
    applied = metadata.get("routing_strategy")
    if promise.strategy is not None and isinstance(applied, str) and applied and applied != promise.strategy:
        # the gateway says it routed by another strategy: the choice follows from that, and the request's
        # strategy not being the one applied is META-005's finding (one defect), judged on this exchange
        def choice(message: str, exchange: Exchange, context: Context) -> str:
            return Located(f"{message} (routed as {applied!r})", "$.routing_metadata.routing_strategy")
    else:
        choice = upstream
    if promise.excludes_loser and promise.loser in seen:
        message = f"{promise.loser!r} was called although the filter rules it out ({promise.why}): {seen}"
        yield choice(message, exchange, context)
    elif seen and seen[0] != promise.winner:
        message = f"{seen[0]!r} was tried first; {promise.why} makes it {promise.winner!r}: {seen}"
        yield choice(message, exchange, context)
    answers = answering_entries(context.journal)
    if answers and answers[-1].get("provider") != promise.winner:
        message = f"{answers[-1].get('provider')!r} answered; {promise.why} makes it {promise.winner!r}"
        yield choice(message, exchange, context)
    reported = context.instance(metadata.get("provider"))
    if reported != promise.winner:
        message = f"routing_metadata.provider is {metadata.get('provider')!r}, expected {promise.winner!r}"
        yield (
            Located(message, "$.routing_metadata.provider")
            if choice is upstream
            else choice(message, exchange, context)
        )
    if promise.strategy is not None and metadata.get("routing_strategy") != promise.strategy:
        got = metadata.get("routing_strategy")
        yield Located(
            f"routing_strategy is {got!r}, expected {promise.strategy!r}",
            "$.routing_metadata.routing_strategy",
        )


CHOICE_CHECKS = {
    "ROUTE-006": ("cost_focus_wins_the_contest", "cost-focus: the cheap, slow provider answers."),
    "ROUTE-031": ("ttft_focus_picks_fastest_first_token", "ttft-focus: the lowest-TTFT provider answers."),
    "ROUTE-032": ("tps_focus_picks_highest_throughput", "tps-focus: the highest-throughput one answers."),
    "ROUTE-033": (
        "base_strategy_favours_its_dimension",
        "cost / ttft / tps: the provider far ahead on that dimension answers (D-120).",
    ),
    "ROUTE-034": (
        "balanced_picks_the_all_rounder",
        "balanced: the provider ahead on two of cost, TTFT and throughput answers (D-120).",
    ),
    "ROUTE-035": (
        "weights_decide_the_choice",
        "Explicit weights decide the provider and report routing_strategy custom.",
    ),
    "ROUTE-036": ("ttft_ceiling_excludes_the_slow", "max_ttft_ms rules out exactly the slower provider."),
    "ROUTE-037": (
        "throughput_floor_excludes_the_slow",
        "min_throughput_tps rules out exactly the lower-throughput provider.",
    ),
    "ROUTE-038": (
        "percentile_options_respected",
        "ttft_percentile / throughput_percentile p95: accepted; the slow provider never answers (D-122).",
    ),
}


def _bind(requirement: str, name: str, doc: str) -> None:
    def func(exchange: Exchange, context: Context) -> Iterator[str]:
        yield from _choice(exchange, context)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    check(requirement, Applies.ANY, needs=("gateway_routing",), defers=ROUTING_OWNERS)(func)


for _req, (_name, _doc) in CHOICE_CHECKS.items():
    _bind(_req, _name, _doc)
