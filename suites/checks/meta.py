"""META: `routing_metadata` and `usage` on successful completions.

`routing_metadata` is how a caller learns who served the request and what it cost; the final stream
chunk carries it in streams (D-002, D-003). Cost is checked to the contract's formula (D-016), so a
gateway that double counts cached or reasoning tokens is caught.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from suites.checks import Applies, Context, check
from suites.exchange import Exchange

SUCCESS = Applies.ANY
REQUIRED = ("provider", "provider_model_id", "model_canonical", "routing_strategy")


def final_object(exchange: Exchange) -> dict[str, Any] | None:
    """The object that carries usage and routing_metadata: the body, or the stream's final chunk."""
    if exchange.status != 200:
        return None
    if exchange.is_stream:
        return exchange.stream.final_usage_chunk
    body = exchange.json
    return body if isinstance(body, dict) and "choices" in body else None


def _metadata(exchange: Exchange) -> dict[str, Any] | None:
    final = final_object(exchange)
    metadata = final.get("routing_metadata") if final else None
    return metadata if isinstance(metadata, dict) else None


@check("META-001", SUCCESS)
def routing_metadata_present(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every successful completion carries `routing_metadata` with its four required string fields."""
    final = final_object(exchange)
    if final is None:
        return
    metadata = final.get("routing_metadata")
    if not isinstance(metadata, dict):
        where = "the final stream chunk" if exchange.is_stream else "the completion"
        yield f"{where} has no routing_metadata object"
        return
    for key in REQUIRED:
        value = metadata.get(key)
        if not isinstance(value, str) or not value:
            yield f"routing_metadata.{key} is {value!r}, not a non-empty string"


@check("META-002", SUCCESS)
def routing_strategy_echoes_request(exchange: Exchange, context: Context) -> Iterator[str]:
    """`routing_strategy` is the strategy the request asked for (`custom` for explicit weights)."""
    metadata = _metadata(exchange)
    if metadata is None or context.expected_strategy is None:
        return
    if metadata.get("routing_strategy") != context.expected_strategy:
        got = metadata.get("routing_strategy")
        yield f"routing_strategy is {got!r}, expected {context.expected_strategy!r}"


def expected_cost(usage: dict[str, Any], prices: dict[str, float]) -> float:
    """USD cost of a usage object under per-1M prices (D-016): cached tokens at the cached price, once."""
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cached = int(((usage.get("prompt_tokens_details") or {}).get("cached_tokens")) or 0)
    cached_price = prices.get("cached_input", prices["input"])
    return ((prompt - cached) * prices["input"] + cached * cached_price + completion * prices["output"]) / 1e6


@check("META-003", SUCCESS)
def cost_matches_prices_and_usage(exchange: Exchange, context: Context) -> Iterator[str]:
    """`cost.usd` equals the catalog prices applied to the reported usage."""
    final = final_object(exchange)
    if final is None or context.prices is None:
        return
    metadata, usage = final.get("routing_metadata"), final.get("usage")
    if not isinstance(metadata, dict) or not isinstance(usage, dict):
        return
    cost = metadata.get("cost")
    if not isinstance(cost, dict) or not isinstance(cost.get("usd"), int | float):
        yield "routing_metadata.cost.usd is missing"
        return
    want = expected_cost(usage, context.prices)
    if not math.isclose(cost["usd"], want, rel_tol=1e-6, abs_tol=1e-9):
        yield f"cost.usd is {cost['usd']!r}, prices x usage give {want:.10f}"


@check("META-004", SUCCESS)
def ttft_only_in_streams(exchange: Exchange, context: Context) -> Iterator[str]:
    """`ttft_ms` is reported for streams (a non-negative number) and absent from non-stream answers."""
    metadata = _metadata(exchange)
    if metadata is None:
        return
    ttft = metadata.get("ttft_ms")
    if not exchange.is_stream and ttft is not None:
        yield f"non-stream response reports ttft_ms={ttft!r}"
    if exchange.is_stream and ttft is not None and (not isinstance(ttft, int | float) or ttft < 0):
        yield f"ttft_ms is {ttft!r}"


@check("META-005", SUCCESS)
def warning_for_each_dropped_parameter(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every request parameter the provider could not take is named in a warning."""
    metadata = _metadata(exchange)
    if metadata is None or not context.dropped_parameters:
        return
    warnings = metadata.get("warnings") or []
    text = " ".join(
        str(w.get("message", "")) + " " + str(w.get("code", "")) for w in warnings if isinstance(w, dict)
    )
    for parameter in context.dropped_parameters:
        if parameter not in text:
            yield f"{parameter!r} was not applied, but no warning names it (warnings: {warnings!r})"


@check("META-006", SUCCESS)
def usage_is_consistent(exchange: Exchange, context: Context) -> Iterator[str]:
    """`total_tokens` is prompt + completion; cached <= prompt; reasoning <= completion."""
    final = final_object(exchange)
    usage = final.get("usage") if final else None
    if not isinstance(usage, dict):
        return
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


@check("META-007", SUCCESS)
def warnings_are_structured(exchange: Exchange, context: Context) -> Iterator[str]:
    """Warnings are `{type, code, message}` objects, `type` from the documented set (D-005)."""
    metadata = _metadata(exchange)
    if metadata is None or "warnings" not in metadata:
        return
    warnings = metadata["warnings"]
    if not isinstance(warnings, list):
        yield f"warnings is a {type(warnings).__name__}"
        return
    for i, warning in enumerate(warnings):
        if not isinstance(warning, dict):
            yield f"warnings[{i}] is {warning!r}, not an object"
            continue
        for key in ("type", "code", "message"):
            if not isinstance(warning.get(key), str) or not warning.get(key):
                yield f"warnings[{i}].{key} is missing"
