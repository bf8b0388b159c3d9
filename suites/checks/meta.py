"""META: `routing_metadata` and `usage` on successful completions.

`routing_metadata` is how a caller learns who served the request and what it cost; the final stream
chunk carries it in streams (D-002, D-003). Cost is checked to the contract's formula (D-016), so a
gateway that double counts cached or reasoning tokens is caught.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from auriko_conformance.suites.checks import Applies, Blocked, Context, Located, check, register
from auriko_conformance.suites.checks._warning_names import WARNING_TYPES, unreadable_warnings, warning_names
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import answering_entries, upstream_model
from auriko_conformance.suites.scenario import RouteContext

SUCCESS = Applies.ANY
REQUIRED = ("provider", "provider_model_id", "model_canonical", "routing_strategy")


def _has_metadata(exchange: Exchange, context: Context) -> bool:
    """A routing_metadata object to judge (a missing one is META-001's and STREAM-005's finding)."""
    return exchange.metadata is not None


@check("META-001", Applies.COMPLETION, needs=("routing_metadata",))
def routing_metadata_present(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every non-stream successful completion carries a `routing_metadata` object."""
    if exchange.final is not None and exchange.metadata is None:
        yield "the completion has no routing_metadata object"


@check("META-003", Applies.COMPLETION, needs=("routing_metadata",), when=_has_metadata)
def routing_metadata_required_fields(exchange: Exchange, context: Context) -> Iterator[str]:
    """`provider`, `provider_model_id`, `model_canonical` and `routing_strategy` are non-empty strings
    (a stream's final chunk is held to the same four by STREAM-005: judged there once, not twice)."""
    metadata = exchange.metadata or {}
    for key in REQUIRED:
        value = metadata.get(key)
        if not isinstance(value, str) or not value:
            yield f"routing_metadata.{key} is {value!r}, not a non-empty string"


@check(
    "META-005",
    SUCCESS,
    needs=("routing_metadata",),
    given=("expected_strategy",),
    when=_has_metadata,
    defers={"$.routing_metadata": ("META-001", "META-003", "STREAM-005")},
)
def routing_strategy_echoes_request(exchange: Exchange, context: Context) -> Iterator[str]:
    """`routing_strategy` is the strategy the request asked for (`custom` for explicit weights)."""
    metadata = exchange.metadata or {}
    if metadata.get("routing_strategy") != context.expected_strategy:
        got = metadata.get("routing_strategy")
        message = f"routing_strategy is {got!r}, expected {context.expected_strategy!r}"
        # a report without the field is META-001/003's or STREAM-005's finding, not a wrong echo
        yield (
            message
            if isinstance(got, str) and got
            else Located(message, "$.routing_metadata.routing_strategy")
        )


def expected_cost(usage: dict[str, Any], prices: dict[str, float]) -> float:
    """USD cost of a usage object under per-1M prices (D-016): cached tokens at the cached price, once."""
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    cached_price = prices.get("cached_input", prices["input"])
    return ((prompt - cached) * prices["input"] + cached * cached_price + completion * prices["output"]) / 1e6


def _metadata_and_usage(exchange: Exchange, context: Context) -> bool:
    final = exchange.final
    return exchange.metadata is not None and final is not None and isinstance(final.get("usage"), dict)


@check("META-007", SUCCESS, needs=("cost",), given=("prices",), when=_metadata_and_usage)
def cost_matches_prices_and_usage(exchange: Exchange, context: Context) -> Iterator[str]:
    """`cost.usd` equals the catalog prices applied to the reported usage."""
    metadata, usage = exchange.metadata or {}, (exchange.final or {})["usage"]
    cost = metadata.get("cost")
    if not isinstance(cost, dict) or not isinstance(cost.get("usd"), int | float):
        yield "routing_metadata.cost.usd is missing"
        return
    want = expected_cost(usage, context.prices or {})
    if not math.isclose(cost["usd"], want, rel_tol=1e-6, abs_tol=1e-9):
        yield f"cost.usd is {cost['usd']!r}, prices x usage give {want:.10f}"


@check("META-006", SUCCESS, needs=("routing_metadata",), when=_has_metadata)
def cost_and_timing_formats(exchange: Exchange, context: Context) -> Iterator[str]:
    """cost.usd >= 0, savings fields only when > 0, throughput >= 0; `ttft_ms` only in streams."""
    metadata = exchange.metadata or {}
    cost = metadata.get("cost")
    if cost is not None:
        usd = cost.get("usd") if isinstance(cost, dict) else None
        if not isinstance(usd, int | float) or isinstance(usd, bool) or usd < 0:
            yield f"cost.usd is {usd!r}"
        if isinstance(cost, dict):
            for key in ("cache_savings_percent", "cache_savings_usd"):
                if key in cost and not (isinstance(cost[key], int | float) and cost[key] > 0):
                    yield f"cost.{key} is {cost[key]!r} (present only when there were savings)"
    throughput = metadata.get("throughput_tps")
    if throughput is not None and (not isinstance(throughput, int | float) or throughput < 0):
        yield f"throughput_tps is {throughput!r}"
    ttft = metadata.get("ttft_ms")
    if not exchange.is_stream and ttft is not None:
        yield f"non-stream response reports ttft_ms={ttft!r}"
    if exchange.is_stream and ttft is not None and (not isinstance(ttft, int | float) or ttft < 0):
        yield f"ttft_ms is {ttft!r}"


@check(
    "META-012",
    SUCCESS,
    needs=("warnings",),
    when=lambda exchange, context: bool(context.dropped_parameters) and _has_metadata(exchange, context),
)
def warning_for_each_dropped_parameter(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every request parameter the provider could not take is named in a warning."""
    if hidden := unreadable_warnings(exchange.metadata):
        roots, why = hidden
        raise Blocked(why, roots)
    warnings = exchange.warnings
    for parameter in context.dropped_parameters:
        if not any(warning_names(w, parameter) for w in warnings):
            yield f"{parameter!r} was not applied, but no warning names it (warnings: {warnings!r})"


def _final_usage(exchange: Exchange, context: Context) -> bool:
    return isinstance((exchange.final or {}).get("usage"), dict)


@check("SCHEMA-005", SUCCESS, when=_final_usage)
def usage_is_consistent(exchange: Exchange, context: Context) -> Iterator[str]:
    """`total_tokens` is prompt + completion; cached <= prompt; reasoning <= completion."""
    usage = (exchange.final or {})["usage"]
    prompt, completion, total = (usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    if not all(isinstance(v, int) for v in (prompt, completion, total)):
        yield f"usage counts are not all integers: {usage!r}"
        return
    if total != prompt + completion:
        yield f"total_tokens {total} != prompt_tokens {prompt} + completion_tokens {completion}"
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if isinstance(cached, int) and cached > prompt:
        yield f"cached_tokens {cached} exceed prompt_tokens {prompt}"
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if isinstance(reasoning, int) and reasoning > completion:
        yield f"reasoning_tokens {reasoning} exceed completion_tokens {completion} (counted twice?)"


@check(
    "META-008",
    SUCCESS,
    needs=("routing_metadata",),
    when=lambda exchange, context: "warnings" in (exchange.metadata or {}),
)
def warnings_are_structured(exchange: Exchange, context: Context) -> Iterator[str]:
    """Warnings are objects with non-empty `code` and `message` strings (never plain strings)."""
    warnings = (exchange.metadata or {})["warnings"]
    if not isinstance(warnings, list):
        yield f"warnings is a {type(warnings).__name__}"
        return
    for i, warning in enumerate(warnings):
        if not isinstance(warning, dict):
            yield f"warnings[{i}] is {warning!r}, not an object"
            continue
        for key in ("code", "message"):
            if not isinstance(warning.get(key), str) or not warning.get(key):
                yield f"warnings[{i}].{key} is missing"


@check(
    "META-009",
    SUCCESS,
    needs=("routing_metadata",),
    when=lambda exchange, context: isinstance((exchange.metadata or {}).get("warnings"), list),
)
def warnings_have_known_type(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each warning has a `type` from the documented set (D-005)."""
    for i, warning in enumerate((exchange.metadata or {})["warnings"]):
        if isinstance(warning, dict) and warning.get("type") not in WARNING_TYPES:
            yield f"warnings[{i}].type is {warning.get('type')!r}"


@check("META-004", SUCCESS, needs=("routing_metadata",), given=("expected_canonical",), when=_has_metadata)
def model_canonical_is_requested_model(exchange: Exchange, context: Context) -> Iterator[str]:
    """`model_canonical` is the canonical ID of the requested model (alias resolved, suffix removed)."""
    metadata = exchange.metadata or {}
    if metadata.get("model_canonical") != context.expected_canonical:
        got = metadata.get("model_canonical")
        yield f"model_canonical is {got!r}, expected {context.expected_canonical!r}"


STABLE_KEYS = frozenset(
    {"provider", "provider_model_id", "model_canonical", "routing_strategy", "cost", "throughput_tps",
     "ttft_ms", "warnings"}
)  # fmt: skip
INTERNAL_KEYS = frozenset(
    {"candidates_total", "candidates_viable", "routing_decision_ms", "total_latency_ms", "api_key",
     "upstream_url", "base_url", "score", "scores"}
)  # fmt: skip


@check("META-010", SUCCESS, needs=("routing_metadata",), when=_has_metadata)
def routing_metadata_extra_keys(exchange: Exchange, context: Context) -> Iterator[str]:
    """Keys beyond the stable fields are reported; internal routing fields are reported as leaks (D-018)."""
    metadata = exchange.metadata or {}
    extra = sorted(set(metadata) - STABLE_KEYS)
    leaks = [key for key in extra if key in INTERNAL_KEYS]
    if leaks:
        yield f"internal routing fields leak into routing_metadata: {leaks}"
    elif extra:
        yield f"routing_metadata keys beyond the stable contract: {extra}"


def _metadata_values(request: dict[str, Any]) -> list[str]:
    gateway = request.get("gateway") if isinstance(request, dict) else None
    metadata = gateway.get("metadata") if isinstance(gateway, dict) else None
    if not isinstance(metadata, dict):
        return []
    values = [*metadata.get("tags", []), metadata.get("user_id"), metadata.get("trace_id")]
    values += list((metadata.get("custom_fields") or {}).values())
    return [v for v in values if isinstance(v, str) and len(v) >= 6]


@check(  # a validation error may quote the offending value: only answers are judged
    "META-013",
    Applies.ANY,
    when=lambda exchange, context: exchange.status == 200 and bool(_metadata_values(context.request)),
)
def gateway_metadata_not_echoed(exchange: Exchange, context: Context) -> Iterator[str]:
    """Values sent in `gateway.metadata` do not come back in the body, the stream or the headers (D-013)."""
    values = _metadata_values(context.request)
    text = exchange.body.decode("utf-8", errors="replace") + " " + " ".join(exchange.headers.values())
    for value in values:
        if value in text:
            yield f"gateway.metadata value {value!r} is echoed in the response"


def account_disputed(exchange: Exchange, context: Context) -> bool:
    """Whether the gateway's own account of who answered (`routing_metadata.provider`, as a mock instance)
    names another instance than the one answer the journal saw: the clause of META-011 that fails on it.
    A routing rule's reading of such an exchange (who was called, who answered) is then META-011's finding
    (D-146): the rules cannot tell a wrong choice from a wrong report. Reads the context's `journal` and
    `instance` (a `RouteContext`, or a strategy contest's `ChoiceContext`)."""
    journal = getattr(context, "journal", None)
    instance = getattr(context, "instance", None)
    if exchange.status != 200 or exchange.metadata is None or not journal or instance is None:
        return False
    answers = answering_entries(journal)
    provider = exchange.metadata.get("provider")
    if not isinstance(provider, str) or not provider:
        return False  # no account to dispute: a missing or mistyped field is META-001/003's (STREAM-005)
    return len(answers) == 1 and instance(provider) != answers[0].get("provider")


def _provider_matches_journal(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    metadata = exchange.metadata or {}
    journal = context.journal or []
    answers = answering_entries(journal)
    if len(answers) != 1:
        seen = [(e.get("provider"), e.get("status"), e.get("outcome")) for e in journal]
        yield f"expected exactly one complete upstream answer in the journal, found {len(answers)}: {seen}"
        return
    answer = answers[0]
    reported = context.instance(metadata.get("provider"))
    for key in ("provider", "provider_model_id"):
        if not isinstance(metadata.get(key), str) or not metadata.get(key):
            # a report that is missing or mistyped names nobody: the field's own rules judge it
            yield Located(f"routing_metadata.{key} is {metadata.get(key)!r}", f"$.routing_metadata.{key}")
            return
    if account_disputed(exchange, context):
        yield (
            f"routing_metadata.provider is {metadata.get('provider')!r} (instance {reported!r}), "
            f"but {answer.get('provider')!r} produced the answer"
        )
    received = upstream_model(answer)
    if metadata.get("provider_model_id") != received:
        got = metadata.get("provider_model_id")
        yield f"provider_model_id is {got!r}; the provider received {received!r}"


register(
    "META-011",
    "provider_names_answering_endpoint",
    "routing_metadata.provider/provider_model_id name the instance that answered and the model it got.",
    _provider_matches_journal,
    context=RouteContext,
    given=("journal",),
    defers={"$.routing_metadata": ("META-001", "META-003", "STREAM-005")},
    when=lambda exchange, context: exchange.status == 200 and _has_metadata(exchange, context),
)
