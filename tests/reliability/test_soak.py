"""Item 2: the soak, small (1,000 requests, half streaming, concurrency 64, the full fault mix).

`bench/soak.py` is the full run (10,000 requests; figures in docs/reliability.md). This test runs the
same code with fewer requests: nothing lost, truncated, garbled or unexpected; every upstream request
closed (those of clients that went away as `client_closed`); the gateway's file descriptors back to its
idle set plus at most its upstream keep-alive pool once the clients have gone, and its memory bounded.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from auriko_conformance.reference_impl.config import Timeouts

SOAK_PATH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_soak", SOAK_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_plan_is_seeded_and_mixed():
    soak = _soak_module()
    first = soak.plan(1000, 0.5, 7, "t")
    assert [(s.kind, s.stream) for s in first] == [(s.kind, s.stream) for s in soak.plan(1000, 0.5, 7, "t")]
    assert 400 < sum(s.stream for s in first) < 600
    assert {s.kind for s in first} == set(soak.KINDS)
    assert all(s.stream for s in first if s.kind in ("stall", "disconnect", "abort", "cumulative"))


@pytest.mark.slow
def test_soak_1000_requests():
    soak = _soak_module()
    report = soak.soak(requests=1000, concurrency=64, stream_ratio=0.5, seed=11)
    print(soak.render(report))
    outcomes = report["outcomes"]
    for bad in ("lost", "truncated", "garbled", "unexpected"):
        assert outcomes.get(bad, 0) == 0, (bad, report["problems"].get(bad))
    assert report["gateway"]["alive_at_end"]
    assert report["upstream_left_open"] == 0
    assert report["aborted_streams"] > 0
    assert report["aborted_upstream_outcomes"] == {"client_closed": report["aborted_streams"]}
    gateway = report["gateway"]
    idle_fds = gateway["before_load"]["fds"]
    assert gateway["after_load"]["fds"] <= idle_fds + Timeouts().keepalive_connections
    assert gateway["after_load"]["rss_kib"] - gateway["before_load"]["rss_kib"] < 64 * 1024
    assert report["ok"]
