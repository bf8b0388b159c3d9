"""`auriko-conformance fuzz`: configuration, curl lines, the summary, and runs over real sockets.

The runs are small (a few hundred requests): one against the embedded reference, which must pass, and
one against a deliberately broken gateway, which must fail with a replayable curl line per failure.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import schemathesis
from auriko_conformance.suites.fuzzing import results as fuzz_results
from auriko_conformance.suites.fuzzing import settings as fuzz_settings

from auriko_conformance import fuzz
from auriko_conformance.cli import SUBCOMMANDS
from auriko_conformance.servers import serving
from tests.fixed_answer import fixed_answer


def test_registered_as_a_subcommand():
    assert SUBCOMMANDS["fuzz"][:2] == ("auriko_conformance.fuzz", "main")


def test_schemathesis_config_is_valid_and_complete():
    options = fuzz_settings.FuzzOptions(
        max_examples=7, seed=3, mode="negative", phases=("coverage", "fuzzing")
    )
    text = fuzz_settings.schemathesis_config(options)
    config = schemathesis.Config.from_str(text)  # schemathesis accepts it
    project = config.projects.get_default()
    assert project.generation.max_examples == 7
    assert project.generation.deterministic is True
    assert config.seed == 3
    assert project.phases.coverage.enabled
    assert not project.phases.examples.enabled
    assert not project.phases.stateful.enabled
    assert "enabled = false" in text.split("[cache]")[1].split("[")[0]  # no learning across runs
    assert project.max_stream_events == fuzz_settings.MAX_STREAM_EVENTS


def test_no_built_in_check_is_switched_off():
    text = fuzz_settings.schemathesis_config(fuzz_settings.FuzzOptions())
    project = schemathesis.Config.from_str(text).projects.get_default()
    for name in (
        "not_a_server_error", "status_code_conformance", "content_type_conformance",
        "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
        "positive_data_acceptance", "missing_required_header", "ignored_auth", "unsupported_method",
    ):  # fmt: skip
        assert project.checks.get_by_name(name=name).enabled, name


def _request(**overrides: Any) -> Any:
    values = {
        "method": "POST",
        "uri": "http://127.0.0.1:9/v1/chat/completions",
        "headers": {
            "User-Agent": ["schemathesis/4"],
            "Authorization": ["Bearer ak_secret_value"],
            "Idempotency-Key": ["it's"],
            "Content-Type": ["application/json"],
            "X-Schemathesis-TestCaseId": ["abc"],
        },
        "body": b'{"model": "gpt-4o", "messages": []}',
    }
    return SimpleNamespace(**{**values, **overrides})


def test_curl_line_replays_the_request_without_the_key():
    line = fuzz_results.curl_command(_request())
    assert "ak_secret_value" not in line
    assert "$AURIKO_API_KEY" in line
    words = shlex.split(line.replace('"Authorization: Bearer $AURIKO_API_KEY"', "AUTH"))
    assert words[:4] == ["curl", "-sS", "-X", "POST"]
    assert "Idempotency-Key: it's" in words
    assert "User-Agent: schemathesis/4" not in words
    assert not any("Schemathesis" in w for w in words)
    assert words[words.index("--data-binary") + 1] == '{"model": "gpt-4o", "messages": []}'
    assert words[-1] == "http://127.0.0.1:9/v1/chat/completions"


def test_curl_line_without_body():
    line = fuzz_results.curl_command(_request(method="GET", body=None, uri="http://h/v1/models?endpoint=x"))
    assert "--data-binary" not in line
    assert line.endswith("'http://h/v1/models?endpoint=x'")


@pytest.mark.parametrize("value", ["examples,nope", "", ","])
def test_bad_phases_are_refused(value):
    with pytest.raises(SystemExit):
        fuzz._parser().parse_args(["--phases", value])


def test_console_summary():
    summary = {
        "target": {"url": "embedded reference"},
        "duration_s": 1.5,
        "settings": {"seed": 1, "mode": "all", "max_examples": 5},
        "requests": {
            "total": 3,
            "by_phase": {"coverage": {"negative": 2, "positive": 1}},
            "by_status": {"2xx": 1, "4xx": 2},
        },
        "accepted_refusals": {"provider_not_in_allowlist": 1},
        "informational": [{"requirement": "STREAM-006", "check": "c", "count": 2, "example": "e"}],
        "failures": [
            {"operation": "POST /x", "check": "not_a_server_error", "code": "ST101", "title": "Server error",
             "curl": "curl -X POST http://x"},
        ],
    }  # fmt: skip
    text = fuzz_results.console_summary(summary)
    assert "ERROR" not in text
    summary["errors"] = [
        {"operation": "POST /x", "phase": "fuzzing", "title": "Schema Error", "message": "m"}
    ]
    assert "ERROR POST /x (fuzzing): Schema Error: not tested" in fuzz_results.console_summary(summary)
    assert "3 requests" in text
    assert "coverage  negative 2  positive 1" in text
    assert "provider_not_in_allowlist 1" in text
    assert "FAIL POST /x not_a_server_error" in text
    assert "replay: curl -X POST http://x" in text


# ---------------------------------------------------------------------------------------------- real runs


def _summary(report_dir: Path) -> dict[str, Any]:
    return orjson.loads((report_dir / "fuzz.json").read_bytes())


@pytest.mark.slow
def test_short_run_against_the_embedded_reference_passes(tmp_path, capsys):
    code = fuzz.main(
        [
            "--max-examples",
            "5",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--report-dir",
            str(tmp_path),
        ]
    )
    summary = _summary(tmp_path)
    assert summary["failures"] == [], capsys.readouterr().out[-4000:]
    assert summary["errors"] == []  # every operation could be generated in every phase
    assert code == 0
    requests = summary["requests"]
    assert requests["total"] > 100
    assert set(requests["by_phase"]) == {"examples", "coverage", "fuzzing", "stateful"}
    assert {"positive", "negative"} <= set(requests["by_mode"])
    assert requests["by_status"].get("5xx", 0) == 0
    assert (tmp_path / "fuzz-junit.xml").read_text().startswith("<?xml")
    assert "fuzz:" in capsys.readouterr().out


#: Answers every request with a 500 that is not the contract's envelope.
_broken_gateway = fixed_answer(500, b"text/plain", b"oops")


@pytest.mark.slow
def test_a_broken_gateway_fails_with_curl_lines(tmp_path):
    with serving(_broken_gateway) as server:
        code = fuzz.main(
            [
                "--target-url", server.url, "--api-key", "ak_test_key", "--phases", "examples",
                "--mode", "positive", "--report-dir", str(tmp_path),
            ]
        )  # fmt: skip
    assert code == 1
    summary = _summary(tmp_path)
    checks = {f["check"] for f in summary["failures"]}
    assert {"not_a_server_error", "auriko_error_envelope"} <= checks
    envelope = [f for f in summary["failures"] if f["check"] == "auriko_error_envelope"]
    assert {"SCHEMA-006", "ERR-004"} <= {f["requirement"] for f in envelope}
    assert {f["response"] for f in envelope} == {"oops"}
    for failure in summary["failures"]:
        assert failure["curl"].startswith("curl -sS -X ")
        assert server.url in failure["curl"]
        assert "ak_test_key" not in failure["curl"]
    assert summary["target"]["url"] == server.url
    assert not summary["passed"]


def test_headers_from_the_command_line_and_the_profile_reach_schemathesis(tmp_path):
    argv = fuzz.schemathesis_argv(
        fuzz_settings.FuzzOptions(headers={"X-Tenant": "t1"}, report_dir=tmp_path),
        "http://x",
        "k",
        tmp_path / "c.toml",
    )
    assert argv[argv.index("X-Tenant: t1") - 1] == "-H"
    assert "Authorization: Bearer k" in argv


def test_a_bad_profile_stops_fuzz_with_exit_2(tmp_path, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text("claims: [teleport]\n")
    assert fuzz.main(["--target-profile", str(profile), "--report-dir", str(tmp_path)]) == 2
    assert "claims[0]: 'teleport' is not allowed" in capsys.readouterr().err
