"""Live per-offering latency and throughput, so routing follows what providers actually do.

Each offering keeps a bounded ring of recent samples; percentiles are recomputed only when a sample
arrives (not per routing decision). Until `min_samples` live samples exist the catalog priors are used,
so a fresh gateway routes sensibly and tests with a fresh app see exactly the priors.

Percentile conventions: `ttft p95` is the slow tail (95th percentile of TTFT); `tps p95` is the slow tail
of throughput too, i.e. the 5th percentile of tokens/second -- "what 95% of requests at least get".
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from auriko_conformance.reference_impl.catalog import Offering


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in [0, 1])."""
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass(slots=True)
class _Series:
    prior_p50: float
    prior_p95: float
    slow_is_high: bool  # ttft: high values are slow; tps: low values are slow
    window: int
    min_samples: int
    samples: deque[float] = field(default_factory=deque)
    p50: float = 0.0
    p95: float = 0.0

    def __post_init__(self) -> None:
        self.samples = deque(maxlen=self.window)
        self.p50, self.p95 = self.prior_p50, self.prior_p95

    def add(self, value: float) -> None:
        self.samples.append(value)
        if len(self.samples) >= self.min_samples:
            ordered = sorted(self.samples)
            self.p50 = _percentile(ordered, 0.5)
            self.p95 = _percentile(ordered, 0.95 if self.slow_is_high else 0.05)


class LiveStats:
    """TTFT (ms) and throughput (tokens/s) per offering key, seeded from the catalog priors."""

    def __init__(self, offerings: list[Offering], window: int = 64, min_samples: int = 5) -> None:
        self._ttft = {o.key: _Series(o.ttft_p50, o.ttft_p95, True, window, min_samples) for o in offerings}
        self._tps = {o.key: _Series(o.tps_p50, o.tps_p95, False, window, min_samples) for o in offerings}

    def ttft(self, key: str, percentile: str = "p50") -> float:
        series = self._ttft[key]
        return series.p95 if percentile == "p95" else series.p50

    def tps(self, key: str, percentile: str = "p50") -> float:
        series = self._tps[key]
        return series.p95 if percentile == "p95" else series.p50

    def record_ttft(self, key: str, ms: float) -> None:
        series = self._ttft.get(key)
        if series is not None and ms >= 0:
            series.add(ms)

    def record_tps(self, key: str, tps: float) -> None:
        series = self._tps.get(key)
        if series is not None and tps > 0:
            series.add(tps)
