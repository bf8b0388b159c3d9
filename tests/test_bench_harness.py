"""The benchmark harness's logic (bench/load.py, bench/run.py): statistics, wrk parsing, the raw-socket
client's timings, the table, the goals and the docs block. No timed assertions: nothing here says how
fast anything must be."""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import threading

import pytest

from auriko_conformance.servers import listening_socket
from bench import load, run
from bench.load import LoadTarget

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:41813/v1/chat/completions
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.98ms    4.41ms  50.75ms   83.60%
    Req/Sec     2.09k     0.97k    4.60k    74.63%
  Latency Distribution
     50%  850.00us
     75%    9.61ms
     90%   14.04ms
     99%    1.20s
  10433 requests in 5.01s, 10.39MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2083.47
Transfer/sec:      2.07MB
"""


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert load.percentile(values, 0.5) == 50
    assert load.percentile(values, 0.9) == 90
    assert load.percentile(values, 0.99) == 99
    assert load.percentile(list(reversed(values)), 1.0) == 100
    assert load.percentile([3.0], 0.99) == 3.0
    assert math.isnan(load.percentile([], 0.5))
    summary = load.summarise([4.0, 1.0, 3.0, 2.0])
    assert summary == {"n": 4, "p50": 2.0, "p90": 4.0, "p99": 4.0, "mean": 2.5, "min": 1.0, "max": 4.0}
    assert load.summarise([]) == {"n": 0}
    assert load.median([1.0, 3.0, 2.0, 10.0]) == 2.5
    assert load.median([5.0, 1.0, 3.0]) == 3.0


def test_wrk_output_is_parsed_with_units_and_errors():
    result = load.parse_wrk(WRK_OUTPUT)
    assert result["requests"] == 10433
    assert result["seconds"] == 5.01
    assert result["rps"] == 2083.47
    assert result["latency_ms"] == {"p50": 0.85, "p75": 9.61, "p90": 14.04, "p99": 1200.0}
    assert result["non_2xx"] == 7
    assert result["socket_errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 3}
    assert result["errors"] == 12
    clean = load.parse_wrk(
        WRK_OUTPUT.replace("  Non-2xx or 3xx responses: 7\n", "").replace(
            "  Socket errors: connect 0, read 2, write 0, timeout 3\n", ""
        )
    )
    assert clean["errors"] == 0
    with pytest.raises(ValueError, match="no request count"):
        load.parse_wrk("wrk: connection refused")


SSE = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n',
    b"data: [DONE]\n\n",
)


def _chunked(parts: tuple[bytes, ...]) -> bytes:
    out = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    for part in parts:
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


@pytest.fixture
def sse_server():
    """A loopback server that answers every request on a connection with the SSE stream above, the
    first event alone and the rest a little later (so first byte and first token differ)."""
    listener = listening_socket(backlog=8)
    stop = threading.Event()
    requests: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while not stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, _, rest = buffer.partition(b"\r\n\r\n")
                    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    requests.append(rest[:length])
                    buffer = rest[length:]
                    whole = _chunked(SSE)
                    cut = whole.index(SSE[0]) + len(SSE[0]) + 2
                    conn.sendall(whole[:cut])
                    stop.wait(0.02)
                    conn.sendall(whole[cut:])

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield LoadTarget("direct", f"http://127.0.0.1:{port}", "/x", "sk", "m"), requests
    stop.set()
    listener.close()


def test_the_blocking_client_times_first_byte_first_token_and_end(sse_server):
    target, requests = sse_server
    conn = load.Conn(target)
    data = load.request_bytes(target, run.body(target, stream=True, directive="[[mock: words=3]]"))
    timings = [conn.send(data) for _ in range(3)]  # one keep-alive connection
    conn.close()
    for timing in timings:
        assert timing.status == 200
        assert 0 < timing.first_byte_s <= timing.first_token_s <= timing.total_s
        assert timing.first_token_s > timing.first_byte_s  # the token came in the later write
        assert timing.body_bytes == sum(map(len, SSE))
    sent = json.loads(requests[0])
    assert sent["stream"] is True
    assert sent["model"] == "m"
    assert sent["messages"][-1]["content"].endswith("[[mock: words=3]]")


def test_the_async_client_gives_the_same_timings(sse_server):
    target, _ = sse_server

    async def main() -> list[load.Timing]:
        conn = load.AsyncConn(target)
        data = load.request_bytes(target, run.body(target, stream=True))
        out = [await conn.send(data), await conn.send(data)]
        conn.close()
        return out

    for timing in asyncio.run(main()):
        assert timing.status == 200
        assert timing.first_byte_s <= timing.first_token_s <= timing.total_s


def test_token_pattern_skips_the_empty_role_chunk():
    assert not load.TOKEN.search(SSE[0])
    assert load.TOKEN.search(SSE[1])
    assert load.TOKEN.search(b'{"delta": {"content": "Hi"}}')  # spaces, as Python's json writes
    assert not load.TOKEN.search(b'{"delta":{"reasoning_content":""}}')


def test_process_accounting_reads_proc():
    memory = load.memory_kib(os.getpid())
    assert memory["rss_kib"] > 0
    assert memory["peak_rss_kib"] >= memory["rss_kib"]
    assert os.getpid() in load.process_tree(os.getpid())
    assert load.cpu_seconds(os.getpid()) >= 0
    meter = load.CpuMeter({"me": os.getpid()}).start()
    sum(range(100_000))
    shares = meter.read()
    assert "me" in shares
    assert shares["me"] >= 0


def _report() -> dict:
    return {
        "command": "auriko-conformance bench",
        "finished": "2026-11-25 20:00:00",
        "load_before": [0.5, 0.4, 0.3],
        "load_after": [1.0, 0.8, 0.5],
        "litellm_version": "1.108.7",
        "machine": {
            "nproc": 2,
            "cpu": "Test CPU",
            "kernel": "6.0",
            "python": "3.11.7",
            "memory_gib": 24.0,
            "wrk": "wrk 4.1.0",
            "commit": "abc1234",
        },
        "settings": {"concurrencies": [16, 64]},
        "latency_c1": {
            "direct": {"n": 10, "p50": 0.3, "p90": 0.5, "p99": 1.0},
            "reference": {"n": 10, "p50": 0.9, "p90": 1.2, "p99": 2.0, "added_ms": {"p50": 0.6}},
            "litellm": {"n": 10, "p50": 15.0, "p90": 20.0, "p99": 30.0, "added_ms": {"p50": 14.7}},
        },
        "throughput": {
            "direct": {"c16": {"rps": 8000.0, "errors": 0}, "c64": {"rps": 7000.0, "errors": 0}},
            "reference": {"c16": {"rps": 2000.0, "errors": 0}, "c64": {"rps": 2100.0, "errors": 1}},
            "litellm": {"c16": {"rps": 50.0, "errors": 0}, "c64": {"rps": 55.0, "errors": 0}},
        },
        "streams": {
            "c1": {
                "direct": {"first_token_ms": {"p50": 22.0}},
                "reference": {"first_token_ms": {"p50": 23.0}, "added_first_token_ms": {"p50": 1.0}},
            }
        },
        "mock_capacity": {"c16": 8000.0, "c64": 7000.0},
        "peak_rss_mib": {"mocks": 120.0, "reference": 60.0, "litellm": 400.0},
        "memory": {"reference": {"requests": 100000, "end_rss_mib": 61.0, "growth_second_half_mib": 0.2}},
    }


def test_goals_and_the_table_with_ratios():
    report = _report()
    report["goals"] = run.goals(report)
    goals = report["goals"]
    assert goals["added_p50"]["met"] is True
    assert goals["added_ttfb"]["met"] is True
    assert goals["vs_litellm"]["met"] is True
    assert goals["vs_litellm"]["measured"].startswith("40.0x")
    assert goals["mock_capacity"]["met"] is True
    report["latency_c1"]["reference"]["added_ms"]["p50"] = 1.2
    assert run.goals(report)["added_p50"]["met"] is False
    table = run.render_markdown(report)
    assert "| throughput c16 (req/s) | 8,000.00 | 2,000.00 | 50.00 | 40.00x | 0.25x |" in table
    assert "| non-stream latency c1 p50 (ms) | 0.30 | 0.90 | 15.00 | 0.06x | 3.00x |" in table
    assert "| errors c64 | 0 | 1 | 0 |" in table
    assert "Mock capacity (one process, non-stream, wrk): c16 8,000 req/s" in table
    assert "| reference adds to non-stream p50, c1 | <= 1 ms |" in table
    assert run.render_markdown({})  # an empty report still renders (every cell "-")


def test_docs_block_is_replaced_in_place(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\n## Mocks\n\nkept\n")
    report = _report()
    run.write_docs("| table one |\n", report, docs)
    first = docs.read_text()
    assert first.startswith("# Performance\n\n## Mocks\n\nkept\n")
    assert "| table one |" in first
    assert "2 CPUs (Test CPU)" in first
    assert "LiteLLM 1.108.7" in first
    run.write_docs("| table two |\n", report, docs)
    second = docs.read_text()
    assert "| table one |" not in second
    assert second.count(run.DOCS_START) == 1
    assert second.startswith("# Performance\n\n## Mocks\n\nkept\n")


def test_bodies_and_requests_are_the_same_conversation_for_every_target():
    direct = LoadTarget("direct", "http://127.0.0.1:1", "/openai/v1/chat/completions", "sk", run.MOCK_MODEL)
    gateway = LoadTarget("reference", "http://127.0.0.1:2", "/v1/chat/completions", "ak", run.GATEWAY_MODEL)
    a, b = json.loads(run.body(direct)), json.loads(run.body(gateway))
    assert a["messages"] == b["messages"]
    assert (a["model"], b["model"]) == (run.MOCK_MODEL, run.GATEWAY_MODEL)
    raw = load.request_bytes(gateway, b"{}")
    assert raw.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:2\r\n")
    assert b"authorization: Bearer ak\r\n" in raw
    assert raw.endswith(b"content-length: 2\r\n\r\n{}")


def test_quick_settings_and_the_cli_entry():
    quick = run.Settings.quick()
    assert quick.suites is False
    assert quick.latency_rounds < run.Settings().latency_rounds
    from auriko_conformance.cli import SUBCOMMANDS

    assert SUBCOMMANDS["bench"][:2] == ("bench.run", "main")


def test_generator_saturation_is_reported():
    report = _report()
    assert run.generator_load(report) is None
    report["throughput"]["reference"]["c16"]["generator_cpu"] = 0.12
    report["latency_c1"]["cpu_cores"] = {"client": 0.3}
    assert run.generator_load(report) == {"wrk": 0.12, "client": 0.3, "saturated": False}
    assert "neither saturates a core" in run.render_markdown(report)
    report["throughput"]["litellm"]["c64"]["generator_cpu"] = 0.97
    assert run.generator_load(report)["saturated"] is True
    assert "SATURATED" in run.render_markdown(report)
