"""A set-up mistake is a harness problem (exit 2+), said once, with a report saying why: never a red gateway.

Each case runs `auriko-conformance run` as a user would and checks the exit code, that it ended well
within 30 s, that the message names what to fix, and that the report says "not judged" instead of
hundreds of rows.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from auriko_conformance.suites import runner
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.preflight import Preflight, check_target
from auriko_conformance.suites.profile import TargetProfile, load_profile
from auriko_conformance.suites.target import Target

from auriko_conformance.embedded import embedded_target
from auriko_conformance.servers import listening_socket, serving, url_of
from tests.fixed_answer import fixed_answer

REFERENCE_PROFILE = Path(__file__).resolve().parents[2] / "fixtures" / "profiles" / "reference.yaml"


def _run(argv: list[str], report: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict]:
    started = time.monotonic()
    code = runner.main([*argv, "--report-dir", str(report), "-n", "0"])
    assert time.monotonic() - started < 30, "a harness problem must end the run quickly"
    out = capsys.readouterr()
    return code, out.out + out.err, orjson.loads((report / "results.json").read_bytes())


def _not_judged(results: dict, stage: str) -> None:
    assert results["harness"]["not_judged"] == stage
    assert results["requirements"] == []  # a reason, not hundreds of rows


@contextlib.contextmanager
def refusing_port() -> Iterator[str]:
    """A URL nothing listens on (the port was ours a moment ago; closed, it refuses)."""
    sock = listening_socket()
    url = url_of(sock)
    sock.close()
    yield url


@contextlib.contextmanager
def hung_target() -> Iterator[str]:
    """A socket that accepts connections (the kernel's backlog does) and never answers a byte."""
    sock = listening_socket()
    try:
        yield url_of(sock)
    finally:
        sock.close()


def test_refused_connection_is_a_preflight_failure(tmp_path, capsys):
    with refusing_port() as url:
        code, out, results = _run(["--target-url", url, "--api-key", "k"], tmp_path, capsys)
    assert code == ExitCode.PREFLIGHT
    assert "Could not connect to the target" in out
    assert "--target-url" in out
    assert out.count("Preflight failed") == 1
    _not_judged(results, "preflight failed")
    page = (tmp_path / "report.html").read_text()
    assert "not judged: preflight failed" in page
    assert 'name="preflight"' in (tmp_path / "junit.xml").read_text()


def test_wrong_key_is_a_preflight_failure(tmp_path, capsys):
    with embedded_target() as target:
        code, out, results = _run(
            ["--target-url", target.url, "--api-key", "ak_wrong_key_1234"], tmp_path, capsys
        )
    assert code == ExitCode.PREFLIGHT
    assert "refused the API key: HTTP 401" in out
    assert "...1234" in out
    assert "--api-key" in out
    _not_judged(results, "preflight failed")


@pytest.mark.slow  # waits out the preflight's 10 s
def test_hung_target_is_a_preflight_failure_within_seconds(tmp_path, capsys):
    with hung_target() as url:
        code, out, results = _run(["--target-url", url, "--api-key", "k"], tmp_path, capsys)
    assert code == ExitCode.PREFLIGHT
    assert "accepted the connection but sent no answer" in out
    _not_judged(results, "preflight failed")


def test_unreachable_mocks_are_a_preflight_failure(tmp_path, capsys):
    with embedded_target() as target, refusing_port() as mocks:
        argv = ["--target-url", target.url, "--api-key", target.api_key, "--mock-url", mocks]
        code, out, _ = _run(argv, tmp_path, capsys)
    assert code == ExitCode.PREFLIGHT
    assert f"The mock providers at {mocks} did not answer" in out


def test_a_default_model_the_target_does_not_know_is_named(tmp_path, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text("models: {default: no-such-model-at-all}\n")
    with embedded_target() as target:
        argv = ["--target-url", target.url, "--api-key", target.api_key, "--target-profile", str(profile)]
        code, out, _ = _run(argv, tmp_path / "r", capsys)
    assert code == ExitCode.PREFLIGHT
    assert "does not know the profile's default model 'no-such-model-at-all'" in out
    assert "models.default" in out


def test_a_missing_chat_endpoint_points_at_the_base_url(tmp_path, capsys):
    with serving(fixed_answer(404, b"application/json", b'{"detail": "Not Found"}')) as server:
        code, out, _ = _run(["--target-url", server.url + "/v1", "--api-key", "k"], tmp_path, capsys)
    assert code == ExitCode.PREFLIGHT
    assert "without /v1" in out


HEADER_REFUSAL = (
    b'{"error": {"message": "The x-provider header is required to choose a provider.", '
    b'"type": "invalid_request_error", "code": "invalid_parameter_value", "param": "x-provider"}}'
)


def test_a_refused_plain_request_stops_the_run_with_one_finding(tmp_path, capsys):
    """A gateway that wants a header the run did not send refuses everything: every error scenario would
    fail its status rule with that one refusal. The preflight stops instead, with REQ-027 as the one row
    and the refusal itself as its evidence (D-148)."""
    with serving(fixed_answer(400, b"application/json", HEADER_REFUSAL)) as server:
        code, out, results = _run(["--target-url", server.url, "--api-key", "k"], tmp_path, capsys)
    assert code == ExitCode.PREFLIGHT
    assert "only REQ-027 was judged" in out
    assert "--header" in out
    assert "x-provider header is required" in out
    assert results["harness"]["not_judged"] == "preflight failed"
    [row] = results["requirements"]
    assert (row["id"], row["verdict"]) == ("REQ-027", "fail")
    assert results["summary"]["fail"] == 1
    [evidence] = row["evidence"]
    assert evidence["response"]["status"] == 400
    assert "x-provider" in evidence["response"]["body_excerpt"]
    assert evidence["request"]["body"]["messages"][0]["role"] == "user"


def test_a_failing_plain_request_goes_ahead():
    """A 5xx on the probe is no set-up mistake (the gateway failed, it did not refuse): the suites judge it."""
    with serving(fixed_answer(500, b"application/json", b'{"error": {"message": "boom"}}')) as server:
        target = Target(server.url, "k", 5.0)
        result = Preflight()
        try:
            assert check_target(target, TargetProfile(), result)
        finally:
            target.close()
    assert result.ok
    assert result.refused is None
    assert result.tests() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("claims: [tools, teleport]\n", "claims[1]: 'teleport' is not allowed; allowed: 'routing_metadata'"),
        ("modles: {}\n", "modles: unknown key; allowed here: name, models,"),
        ("models: {default: 3}\n", "models.default: Input should be a valid string"),
        ("claims: [tools\n", "not valid YAML"),
        ("prices: {gpt-4o: {input: 1, output: 2}}\n", "must be 'provider/provider_model_id'"),
    ],
)
def test_bad_profile_is_one_line_naming_the_key(tmp_path, capsys, text, expected):
    profile = tmp_path / "p.yaml"
    profile.write_text(text)
    code, out, results = _run(
        ["--target-url", "http://127.0.0.1:9", "--target-profile", str(profile)], tmp_path / "r", capsys
    )
    assert code == ExitCode.CONFIG
    assert expected in out
    assert "INTERNALERROR" not in out
    assert "Traceback" not in out
    assert len([line for line in out.splitlines() if str(profile) in line]) == 1
    _not_judged(results, "configuration invalid")


def test_missing_profile_file_is_a_configuration_error(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    code, out, _ = _run(
        ["--target-url", "http://127.0.0.1:9", "--target-profile", str(missing)], tmp_path, capsys
    )
    assert code == ExitCode.CONFIG
    assert f"{missing}: cannot read the profile" in out


def test_bad_header_is_a_configuration_error(tmp_path, capsys):
    code, out, _ = _run(["--target-url", "http://127.0.0.1:9", "--header", "no colon"], tmp_path, capsys)
    assert code == ExitCode.CONFIG
    assert "--header 'no colon': expected 'Name: value'" in out


def test_a_copied_profile_finds_the_packaged_catalog(tmp_path):
    """`prices_from_catalog: ../catalog.yaml` no longer resolves beside a copy: the packaged one does."""
    copy = tmp_path / "mine.yaml"
    copy.write_text(REFERENCE_PROFILE.read_text())
    assert load_profile(copy).prices == load_profile(REFERENCE_PROFILE).prices != {}


def test_bad_option_value_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        runner.main(["--level", "everything", "--report-dir", str(tmp_path)])
    assert exc.value.code == ExitCode.CONFIG
    assert "invalid choice: 'everything'" in capsys.readouterr().err


def test_help_names_every_exit_code_and_default(capsys):
    with pytest.raises(SystemExit):
        runner.main(["--help"])
    text = capsys.readouterr().out
    for code in ExitCode:
        assert f"  {int(code)}  {code.name}" in text
    for default in (
        "default: full",
        "default: reports",
        "default: 30.0",
        "default: 15.0",
        "default: conformance-snapshots",
        "default: must",
    ):
        assert default in " ".join(text.split()), default


def test_the_probe_socket_helper_really_hangs():
    """The hung-target double must accept and stay silent, or the test above proves nothing."""
    with hung_target() as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.settimeout(0.5)
            with pytest.raises(TimeoutError):
                conn.recv(1)
