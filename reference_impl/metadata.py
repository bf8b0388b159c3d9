"""`routing_metadata` and the exact cost of a request (D-016).

cost.usd = ((prompt - cached) * input + cached * cached_input + completion * output) / 1e6, with prices
in USD per 1M tokens from the catalog; completion includes reasoning tokens (they are billed as output).
Cache savings appear only when positive. No rounding is applied (D-016).
"""

from __future__ import annotations

from typing import Any

from auriko_conformance.reference_impl.adapters.base import Usage
from auriko_conformance.reference_impl.budgets import charge
from auriko_conformance.reference_impl.catalog import Offering


def cost_of(usage: Usage, offering: Offering) -> dict[str, Any]:
    prices = offering.prices
    cached = min(usage.cached, usage.prompt)
    usd = (
        (usage.prompt - cached) * prices.input
        + cached * prices.cached_input
        + usage.completion * prices.output
    ) / 1e6
    cost: dict[str, Any] = {"usd": usd}
    savings = cached * (prices.input - prices.cached_input) / 1e6
    if savings > 0:
        cost["cache_savings_usd"] = savings
        cost["cache_savings_percent"] = min(100, max(0, round(100 * savings / (usd + savings))))
    return cost


def routing_metadata(
    offering: Offering,
    strategy: str,
    usage: Usage | None,
    warnings: list[dict[str, str]],
    throughput_tps: float | None = None,
    ttft_ms: float | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "provider": offering.provider,
        "provider_model_id": offering.provider_model_id,
        "model_canonical": offering.model,
        "routing_strategy": strategy,
    }
    if usage is not None:
        metadata["cost"] = cost = cost_of(usage, offering)
        charge(cost["usd"])  # the key's budget, when it has one (budgets.py)
    if throughput_tps is not None:
        metadata["throughput_tps"] = round(throughput_tps, 3)
    if ttft_ms is not None:
        metadata["ttft_ms"] = round(ttft_ms, 3)
    if warnings:
        metadata["warnings"] = warnings
    return metadata
