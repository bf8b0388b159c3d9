"""Run-time behaviour of each provider instance, changed through `/__mock/providers/{name}`.

A suite steers routing by latency, throughput and failure by changing these values between requests.
All randomness (jitter, error_rate) comes from one `random.Random` per instance seeded from the config
seed and the instance name, so a run is reproducible; `reset` restores config values and re-seeds.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import asdict, dataclass, fields
from typing import Any

from auriko_conformance.mocks.config import MockConfig, ProviderInstance
from auriko_conformance.mocks.errors import MockError


@dataclass(slots=True)
class Behaviour:
    """The knobs the control API exposes (see `ProviderInstance` for their meaning)."""

    ttft_ms: float = 0.0
    tps: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    down: bool = False

    @classmethod
    def of(cls, inst: ProviderInstance) -> Behaviour:
        return cls(inst.ttft_ms, inst.tps, inst.jitter_ms, inst.error_rate, inst.error_status, inst.down)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


BEHAVIOUR_FIELDS = {f.name for f in fields(Behaviour)}


def _validated(name: str, value: Any) -> Any:
    """Type and range checks for one knob; raises a 400 naming it."""
    if name == "down":
        if not isinstance(value, bool):
            raise MockError(400, "down must be a boolean", param=name)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MockError(400, f"{name} must be a number", param=name)
    if name == "error_status":
        if not isinstance(value, int) or not 400 <= value <= 599:
            raise MockError(400, "error_status must be an integer between 400 and 599", param=name)
        return value
    if name == "error_rate" and not 0 <= value <= 1:
        raise MockError(400, "error_rate must be between 0 and 1", param=name)
    if value < 0:
        raise MockError(400, f"{name} must be >= 0", param=name)
    return float(value)


class ProviderState:
    """Live behaviour and seeded RNG of one instance."""

    __slots__ = ("behaviour", "instance", "rng", "seed")

    def __init__(self, instance: ProviderInstance, seed: int) -> None:
        self.instance = instance
        self.seed = seed ^ zlib.crc32(instance.name.encode())
        self.behaviour = Behaviour.of(instance)
        self.rng = random.Random(self.seed)

    def reset(self) -> None:
        self.behaviour = Behaviour.of(self.instance)
        self.rng.seed(self.seed)

    def update(self, changes: dict[str, Any], *, replace: bool) -> None:
        """PATCH (replace=False) changes the given knobs; PUT (replace=True) sets unspecified knobs back to
        the config defaults."""
        unknown = set(changes) - BEHAVIOUR_FIELDS
        if unknown:
            raise MockError(400, f"unknown behaviour fields: {sorted(unknown)}", param=sorted(unknown)[0])
        checked = {k: _validated(k, v) for k, v in changes.items()}
        base = Behaviour.of(self.instance) if replace else self.behaviour
        for key, value in checked.items():
            setattr(base, key, value)
        self.behaviour = base

    def roll_error(self) -> bool:
        """Whether this request gets the configured random error (seeded)."""
        rate = self.behaviour.error_rate
        return rate > 0 and self.rng.random() < rate

    def jitter(self, jitter_ms: float) -> float:
        """Seeded noise in seconds, uniform in [-jitter, +jitter]."""
        return self.rng.uniform(-jitter_ms, jitter_ms) / 1000.0 if jitter_ms > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        inst = self.instance
        return {
            "name": inst.name,
            "flavour": inst.flavour,
            "prefix": inst.prefix,
            "models": list(inst.models),
            **self.behaviour.to_json(),
        }


class Control:
    """All instances' states, by name."""

    def __init__(self, config: MockConfig) -> None:
        self.providers = {inst.name: ProviderState(inst, config.seed) for inst in config.instances}

    def get(self, name: str) -> ProviderState:
        try:
            return self.providers[name]
        except KeyError:
            raise MockError(404, f"no provider instance named {name!r}") from None

    def reset(self) -> None:
        for state in self.providers.values():
            state.reset()
