"""Scenario discovery: the models a routing test needs, read from the target's model directory.

`Directory` turns a GET /v1/models listing (contract 14: each model's providers with input/output prices
per 1M tokens and data policy) into the models a routing test needs: one model served by two mock
instances at clearly different prices, and single-provider models to pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Offer:
    """One provider of one model as GET /v1/models lists it."""

    model: str
    provider: str  # the target's provider name (what gateway.routing.providers takes)
    instance: str  # the mock instance behind it
    blended: float  # average of input and output price per 1M tokens
    data_policy: str | None


@dataclass(slots=True)
class Directory:
    """The target's models and their providers, reduced to what routing scenarios need."""

    offers: dict[str, list[Offer]]
    #: models listed with an explicit empty `providers` array (no standard-tier offering)
    empty: frozenset[str] = frozenset()

    @classmethod
    def from_listing(
        cls, listing: Any, instances: Callable[[str], str], known_instances: Iterable[str]
    ) -> Directory:
        """Parse a GET /v1/models body; offerings whose instance is not a mock are dropped."""
        known = frozenset(known_instances)
        offers: dict[str, list[Offer]] = {}
        empty: set[str] = set()
        data = listing.get("data") if isinstance(listing, dict) else None
        for model in data if isinstance(data, list) else []:
            if not isinstance(model, dict) or not isinstance(model.get("id"), str):
                continue
            if model.get("providers") == []:
                empty.add(model["id"])
            entries = []
            for p in model.get("providers") or []:
                if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                    continue
                prices = (p.get("input_price"), p.get("output_price"))
                if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in prices):
                    continue
                instance = instances(p["name"])
                if instance not in known:
                    continue
                blended = (float(prices[0]) + float(prices[1])) / 2
                entries.append(Offer(model["id"], p["name"], instance, blended, p.get("data_policy")))
            offers[model["id"]] = entries
        return cls(offers, frozenset(empty))

    def single(self, model: str) -> Offer | None:
        """The offer of a model served by exactly one (mock-backed) provider."""
        entries = self.offers.get(model) or []
        return entries[0] if len(entries) == 1 else None

    def duo(self, max_ratio: float = 0.8) -> tuple[Offer, Offer] | None:
        """A model with exactly two providers on distinct instances, the cheaper at most `max_ratio` of the
        dearer (so cost-focus has a clear answer): (cheap, dear)."""
        for entries in self.offers.values():
            if len(entries) != 2 or entries[0].instance == entries[1].instance:
                continue
            cheap, dear = sorted(entries, key=lambda o: o.blended)
            if dear.blended > 0 and cheap.blended <= max_ratio * dear.blended:
                return cheap, dear
        return None

    def pool_pair(self, models: Iterable[str], max_ratio: float = 0.5) -> tuple[Offer, Offer] | None:
        """Two single-provider models on distinct instances, (dearest, cheapest), far apart in price."""
        singles = [o for o in (self.single(m) for m in models) if o is not None]
        if len(singles) < 2:
            return None
        cheap = min(singles, key=lambda o: o.blended)
        dear = max(singles, key=lambda o: o.blended)
        if cheap.instance == dear.instance or cheap.blended > max_ratio * dear.blended:
            return None
        return dear, cheap

    def without_policy(self, policy: str, models: Iterable[str]) -> str | None:
        """A model (from `models`) none of whose providers declares `policy`."""
        for model in models:
            entries = self.offers.get(model) or []
            if entries and all(o.data_policy is not None and o.data_policy != policy for o in entries):
                return model
        return None

    def premium_only(self) -> str | None:
        """A listed model with no standard-tier provider (the directory lists an empty `providers`)."""
        return min(self.empty) if self.empty else None
