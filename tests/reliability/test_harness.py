"""Item 6: the harness itself. No fixed ports anywhere in tests/ or suites/, every server it starts is
stopped even when the test using it fails, and a conformance run gives the same verdicts run after run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app

from auriko_conformance.embedded import embedded_target
from auriko_conformance.servers import serving

REPO = Path(__file__).resolve().parents[2]

# A port literal matters only where a socket is opened: a URL, a port= argument, an address tuple, a CLI
# flag. (Host header values in recorded fixtures, timeouts of 5000 ms and the like are not ports.)
PORT_PATTERNS = [
    re.compile(r"\b(?:https?|wss?)://[^\s\"'/:{}]+:(?P<port>\d{2,5})\b"),
    re.compile(r"\bport\s*=\s*(?P<port>\d{2,5})\b"),
    re.compile(r"\(\s*[\"'](?:127\.0\.0\.1|localhost|0\.0\.0\.0|::1?)[\"']\s*,\s*(?P<port>\d{2,5})\s*\)"),
    re.compile(r"--port[=\s\"',]+(?P<port>\d{2,5})\b"),
]


# Port literals that are data, never a socket, reviewed one by one: (file, part of the line) -> why.
NOT_SOCKETS = {
    ("tests/reference/test_http1.py", "split_url("): "unit test of the URL parser on literal URLs",
    ("tests/test_bench_harness.py", "Running 5s test @"): "recorded wrk output being parsed",
}


def _port_literals(text: str, path: str = "") -> list[tuple[int, str]]:
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        if any(path == where and part in line for where, part in NOT_SOCKETS):
            continue
        for pattern in PORT_PATTERNS:
            for match in pattern.finditer(line):
                if int(match.group("port")) != 0:
                    hits.append((number, line.strip()))
    return hits


def test_the_port_patterns_catch_fixed_ports():
    port = "89" + "00"  # spelled apart so this file passes its own scan
    for bad in [
        f'url = "http://127.0.0.1:{port}/v1"',
        f"start(app, port={port})",
        f'sock.bind(("127.0.0.1", {port}))',
        f'["serve", "--port", "{port}"]',
        f"requests.get('http://localhost:{port}')",
    ]:
        assert _port_literals(bad), bad
    for fine in ['bind(("127.0.0.1", 0))', "port=0", '"host": "127.0.0.1:41234"', "timeout_ms=5000"]:
        assert not _port_literals(fine), fine


def test_no_hard_coded_ports_in_tests_or_suites():
    found = {
        str(path.relative_to(REPO)): hits
        for root in ("tests", "suites")
        for path in sorted((REPO / root).rglob("*.py"))
        if (hits := _port_literals(path.read_text(encoding="utf-8"), str(path.relative_to(REPO))))
    }
    assert found == {}, "use port 0 (auriko_conformance.servers) instead of fixed ports"


def _refuses(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except OSError:
        return True


def _server_threads() -> set[threading.Thread]:
    return {
        t for t in threading.enumerate() if t.name.startswith(("uvicorn:", "mock-server")) and t.is_alive()
    }


def test_serving_stops_the_server_when_the_block_raises():
    seen: list[tuple[str, threading.Thread]] = []

    def fail_inside() -> None:
        with serving(create_mock_app()) as server:
            seen.append((server.url, server.thread))
            assert not _refuses(server.url)
            raise RuntimeError("a failure inside the block")

    with pytest.raises(RuntimeError, match="inside"):
        fail_inside()
    ((url, thread),) = seen
    assert not thread.is_alive()
    assert _refuses(url)


def test_embedded_target_stops_both_servers_when_the_run_raises():
    seen: list[str] = []

    def interrupted_run() -> None:
        with embedded_target() as target:
            seen.extend([target.url, target.mock_url])
            assert not _refuses(target.url)
            raise KeyboardInterrupt  # what a user's Ctrl-C does to a run

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    assert len(seen) == 2
    assert all(_refuses(url) for url in seen)


def test_many_servers_get_distinct_free_ports_and_all_stop():
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(serving(create_mock_app())) for _ in range(12)]
        urls = [s.url for s in servers]
        assert len(set(urls)) == len(urls)
    assert all(_refuses(url) for url in urls)


FAILING_TESTS = """
import pathlib

import pytest

from auriko_conformance.servers import serving
from auriko_conformance.mocks.app import create_app

OUT = pathlib.Path({out!r})


@pytest.fixture(scope="module")
def served():
    with serving(create_app()) as server:
        yield server


@pytest.fixture
def broken(served):
    with OUT.open("a") as fh:
        fh.write(served.url + "\\n")
    raise RuntimeError("fixture setup fails after its server started")


def test_fails(served, mock_server):
    with OUT.open("a") as fh:
        fh.write(served.url + "\\n" + mock_server.url + "\\n")
    assert False, "a deliberate failure"


def test_setup_error(broken):
    pass


def test_interrupted_body(mock_server):
    with serving(create_app()) as inner:
        with OUT.open("a") as fh:
            fh.write(inner.url + "\\n")
        raise SystemExit(3)
"""


def test_servers_of_failing_tests_are_stopped(tmp_path):
    out = tmp_path / "urls.txt"
    test_file = tmp_path / "test_inner_failures.py"
    test_file.write_text(FAILING_TESTS.format(out=str(out)), encoding="utf-8")
    before = _server_threads()
    code = pytest.main(
        [
            *(
                str(test_file),
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "auriko_conformance.mocks.pytest_plugin",
                "-c",
                os.devnull,
            ),
            *("--rootdir", str(tmp_path), "-W", "ignore::pytest.PytestAssertRewriteWarning"),
            *("-o", "asyncio_default_fixture_loop_scope=function"),
        ]
    )
    assert code == pytest.ExitCode.TESTS_FAILED
    urls = set(out.read_text().split())
    assert len(urls) == 3, urls  # the module server, the session mock server, the one inside the body
    assert all(_refuses(url) for url in urls), [u for u in urls if not _refuses(u)]
    deadline = time.monotonic() + 5
    while _server_threads() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (_server_threads() - before)


@pytest.mark.slow
def test_conformance_runs_give_identical_verdicts(tmp_path):
    """The whole suite against the embedded reference, N times in a row (N=3 by default, ~20 s each;
    AURIKO_REPEAT_RUNS=5 for the issue's five): per-requirement verdicts and per-test outcomes identical."""
    runs = int(os.environ.get("AURIKO_REPEAT_RUNS", "3"))
    seen: list[tuple[dict[str, str], dict[str, str]]] = []
    for i in range(runs):
        report = tmp_path / f"run{i}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "auriko_conformance.cli",
                "run",
                "--report-dir",
                str(report),
                "--fail-on",
                "never",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=REPO,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        results = json.loads((report / "results.json").read_text())
        requirements = {r["id"]: r["verdict"] for r in results["requirements"]}
        tests = {t["nodeid"]: t["outcome"] for t in results["tests"]}
        seen.append((requirements, tests))
    first_requirements, first_tests = seen[0]
    for i, (requirements, tests) in enumerate(seen[1:], 2):
        changed = {
            k: (v, requirements.get(k)) for k, v in first_requirements.items() if requirements.get(k) != v
        }
        assert not changed, f"run {i} changed requirement verdicts: {changed}"
        flipped = {k: (v, tests.get(k)) for k, v in first_tests.items() if tests.get(k) != v}
        assert not flipped, f"run {i} changed test outcomes: {flipped}"
