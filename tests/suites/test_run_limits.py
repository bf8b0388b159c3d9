"""A target that stops answering mid-run: one finding per timed-out test, then the run stops early.

The target here passes the preflight (it answers the model listing and the preflight's probe) and then
accepts every other request without ever answering: what a gateway whose upstream pool is exhausted
looks like. Without a stop, a full run would take hours of per-request timeouts.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.suites.exit_codes import ExitCode

from auriko_conformance.servers import serving
from tests.fixed_answer import read_body

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
)


async def goes_silent(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    if scope["path"] == "/v1/models":
        answer = b'{"object": "list", "data": []}'
    elif b"conformance-id: preflight" in body:
        answer = COMPLETION
    else:
        await asyncio.sleep(3600)  # accepted, never answered
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": answer})


def _run(url: str, report: Path, *limits: str) -> tuple[int, float, dict]:
    argv = [
        sys.executable,
        "-m",
        "auriko_conformance.cli",
        "run",
        "--target-url",
        url,
        "--api-key",
        "k",
        "--report-dir",
        str(report),
        "-n",
        "0",
        "-k",
        "test_completions",
        *limits,
    ]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env={**os.environ})
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done.returncode, elapsed, orjson.loads((report / "results.json").read_bytes())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("limits", "reason", "timeouts"),
    [
        (
            ["--timeout", "1", "--stall-timeout", "1", "--max-timeouts", "2"],
            "timed out in 2 tests in a row",
            2,
        ),
        # no timeout limit: the clock (running since the session started) stops it, and the tests
        # after it read "not run"
        (["--timeout", "1", "--max-timeouts", "0", "--max-duration", "2"], "--max-duration reached", None),
    ],
    ids=["max-timeouts", "max-duration"],
)
def test_a_target_that_stops_answering_stops_the_run(tmp_path, limits, reason, timeouts):
    with serving(goes_silent, timeout_graceful_shutdown=1) as server:
        code, elapsed, results = _run(server.url, tmp_path, *limits)
    assert code == ExitCode.STOPPED
    assert reason in results["harness"]["stopped"]
    assert elapsed < 120
    timed_out = [t for t in results["tests"] if any(f["check"] == "timeout" for f in t["findings"])]
    # one finding per timed-out test, on the requirement it was judging, saying what was expected
    for test in timed_out:
        (finding,) = test["findings"]
        assert finding["requirement"] == test["requirements"][0]
        assert finding["message"].startswith("expected an answer within the timeout, got none")
    if timeouts is not None:
        assert len(timed_out) == timeouts
    else:
        assert any(t["reason"] == "not run: --max-duration reached" for t in results["tests"])
