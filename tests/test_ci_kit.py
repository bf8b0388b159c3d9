"""The CI kit, end to end: a built wheel in a fresh virtual environment runs the shell recipe
against the reference gateway, exactly as a gateway team's CI would (only GATEWAY_CMD differs), and
lives next to a user's repository without breaking its pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from auriko_conformance.servers import unused_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("auriko_conformance-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the wheel (and its declared dependencies) installed."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return venv


@pytest.mark.slow
def test_recipe_runs_from_a_wheel_in_a_fresh_venv(wheel: Path, venv: Path, tmp_path: Path) -> None:
    gateway_port, mock_port = unused_port(), unused_port()  # the recipe's servers take a number
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
    # everything a requirement needs to be judged came with the wheel: no silent "not run" (the CLIENT
    # requirements need the openai SDK), and only the rows the reference itself leaves unjudged
    rows = {row["id"]: row for row in results["requirements"]}
    assert all(rows[f"CLIENT-00{i}"]["verdict"] == "pass" for i in range(1, 6))
    assert results["summary"]["not_run"] <= 2, [r["id"] for r in rows.values() if r["verdict"] == "not_run"]
    assert results["summary"]["skipped"] == 0


@pytest.mark.slow
def test_a_user_repository_with_its_own_suites_package_keeps_its_pytest(venv: Path, tmp_path: Path) -> None:
    """No global pytest plugin: a repository with its own `suites/` and `mocks/` runs its own tests."""
    for package in ("suites", "mocks"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(f"NAME = {package!r}\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mine.py").write_text(
        "import mocks\nimport suites\n\n\ndef test_mine():\n    assert (suites.NAME, mocks.NAME) == ('suites', 'mocks')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert "Error while loading plugin" not in done.stderr
    # one import name (D-130): the suite's own packages live inside auriko_conformance, so both load
    both = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import auriko_conformance.suites.plugin, auriko_conformance.mocks.app, suites, mocks\n"
            "print(suites.NAME, mocks.NAME, auriko_conformance.suites.plugin.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert both.returncode == 0, both.stderr[-3000:]
    names, plugin_file = both.stdout.split()[:2], both.stdout.split()[2]
    assert names == ["suites", "mocks"]
    assert "site-packages/auriko_conformance/suites/plugin.py" in plugin_file


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
