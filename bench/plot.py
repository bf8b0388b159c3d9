"""The benchmark's PNG: latency distributions (c1, non-stream and stream first event) and throughput.

    .venv/bin/python -m bench.plot reports/bench/bench.json reports/bench/bench.png

Needs matplotlib (`make bench` installs it into .venv; it is not a dependency of the package).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLOURS = {"direct": "#7f7f7f", "reference": "#1f77b4", "litellm": "#d62728"}
LABELS = {"direct": "direct (mock)", "reference": "reference", "litellm": "LiteLLM"}


def _cdf(ax: Any, series: dict[str, list[float]], title: str) -> None:
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    for name, values in series.items():
        if not values:
            continue
        ordered = sorted(values)
        ys = [(i + 1) / len(ordered) for i in range(len(ordered))]
        ax.plot(ordered, ys, label=LABELS.get(name, name), color=COLOURS.get(name))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("ms (log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    latency = report.get("latency_c1", {})
    _cdf(
        axes[0],
        {n: latency[n].get("samples_ms", []) for n in COLOURS if n in latency},
        "Non-stream latency, concurrency 1 (CDF)",
    )
    streams = (report.get("streams") or {}).get("c1", {})
    _cdf(
        axes[1],
        {n: streams[n].get("first_token_samples_ms", []) for n in COLOURS if n in streams},
        "Stream time to first token, concurrency 1 (CDF)",
    )
    thr = report.get("throughput", {})
    concurrencies = [f"c{c}" for c in report.get("settings", {}).get("concurrencies", (16, 64))]
    names = [n for n in COLOURS if n in thr]
    width = 0.8 / max(1, len(names))
    ax = axes[2]
    for i, name in enumerate(names):
        values = [thr[name].get(c, {}).get("rps", 0) for c in concurrencies]
        xs = [j + i * width for j in range(len(concurrencies))]
        bars = ax.bar(xs, values, width, label=LABELS.get(name, name), color=COLOURS.get(name))
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8)
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(concurrencies))])
    ax.set_xticklabels([f"concurrency {c[1:]}" for c in concurrencies])
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log scale)")
    ax.set_title("Throughput, non-stream (wrk, median run)")
    ax.legend()
    m = report.get("machine", {})
    fig.suptitle(
        f"auriko bench {report.get('finished', '')} UTC - {m.get('nproc')} CPUs {m.get('cpu', '')}, "
        f"Python {m.get('python', '')}, commit {m.get('commit', '')}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else Path("reports/bench/bench.json")
    target = Path(args[1]) if len(args) > 1 else source.with_suffix(".png")
    plot(json.loads(source.read_text()), target)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
