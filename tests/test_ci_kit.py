"""The CI kit, end to end: a built wheel in a fresh virtual environment runs the shell recipe
against the reference gateway, exactly as a gateway team's CI would (only GATEWAY_CMD differs)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("auriko_conformance-*.whl"))


@pytest.mark.slow
def test_recipe_runs_from_a_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    gateway_port, mock_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "SUITE_SPEC": str(wheel),
        "VENV": str(venv),
        "MOCK_PORT": str(mock_port),
        "GATEWAY_CMD": f'"{venv}/bin/auriko-conformance" serve --port {gateway_port} --mock-base-url "$MOCK_URL"',
        "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "API_KEY": "ak_test_conformance",
        "REPORT_DIR": str(tmp_path / "report"),
        "LEVEL": "full",
        "FUZZ_MAX_EXAMPLES": "3",
    }
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["bash", str(REPO / "ci" / "conformance.sh")],
        cwd=tmp_path,  # outside the repository: only the installed wheel is used
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = orjson.loads((tmp_path / "report" / "results.json").read_bytes())
    assert results["summary"]["fail"] == 0, done.stdout[-3000:]
    assert results["summary"]["pass"] > 100
    assert (tmp_path / "report" / "junit.xml").read_text().count("<testcase") > 100
    page = (tmp_path / "report" / "report.html").read_text()
    assert "AUTH-001" in page
    # the fuzz run joined the same report: it judged the same gateway under the same profile
    assert results["fuzz"]["failures"] == []
    assert results["fuzz"]["requests"]["total"] > 100
    assert f"<h2>Fuzzing: http://127.0.0.1:{gateway_port}</h2>" in page
    assert "fuzz: schemathesis" in (tmp_path / "report" / "junit.xml").read_text()


def test_recipe_refuses_to_run_without_a_gateway(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(REPO / "ci" / "conformance.sh")],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in {"GATEWAY_CMD", "GATEWAY_URL", "API_KEY"}},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "GATEWAY_CMD" in done.stderr
