"""The regression baselines: the normalisers see every real change, and the update flow re-baselines.

A snapshot suite is only useful if a changed stream shape, a changed metadata field or a changed
translation makes it fail with a readable diff, and if `--snapshot-update` then records the new
behaviour as the baseline. Both are shown here: the normalisers directly, and syrupy end to end on a
throwaway test that uses our per-profile snapshot extension.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from auriko_conformance.suites import transcript
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s


def _stream(payloads: list) -> Exchange:
    return s.stream_exchange(payloads)


def test_transcript_is_stable_across_volatile_values() -> None:
    one = s.stream_payloads(tool_calls=True)
    two = copy.deepcopy(one)
    for chunk in two[:-1]:
        chunk["id"], chunk["created"] = "chatcmpl-OTHER", 1800000000
        for choice in chunk.get("choices") or []:
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                if "id" in call:
                    call["id"] = call["id"] + "-x"
    two[-2]["routing_metadata"]["ttft_ms"] = 999.0
    assert transcript.stream(_stream(one)) == transcript.stream(_stream(two))


def test_transcript_sees_a_changed_stream_shape() -> None:
    good = s.stream_payloads()
    moved = [*good[:3], good[-2], good[3], good[-1]]  # usage chunk before the finish chunk
    split = copy.deepcopy(good)
    split[0]["choices"][0]["delta"]["content"] = "Hel"
    split.insert(1, {**copy.deepcopy(good[1]), "choices": [{"index": 0, "delta": {"content": "lo"}}]})
    base = transcript.stream(_stream(good))
    assert transcript.stream(_stream(moved)) != base
    assert transcript.stream(_stream(good[:-1])) != base  # [DONE] missing
    folded = transcript.stream(_stream(split))
    assert folded != base  # same text, one more content chunk: the chunking changed
    runs = [(e["text"], e["chunks"]) for e in folded["events"] if e["event"] == "content"]
    assert runs == [("lo there friend", 3)]  # the role chunk keeps "Hel"; the plain deltas fold


def test_completion_sees_a_changed_metadata_field() -> None:
    body = s.completion()
    base = transcript.completion(s.completion_exchange(body))
    changed = copy.deepcopy(body)
    changed["routing_metadata"]["routing_strategy"] = "cost"
    assert transcript.completion(s.completion_exchange(changed)) != base
    warned = copy.deepcopy(body)
    warned["routing_metadata"]["warnings"] = [
        {"type": "unsupported_parameter", "code": "seed", "message": "x"}
    ]
    assert transcript.completion(s.completion_exchange(warned))["routing_metadata"]["warnings"] == [
        {"type": "unsupported_parameter", "code": "seed"}
    ]
    faster = copy.deepcopy(body)
    faster["routing_metadata"]["throughput_tps"] = 12345.0
    assert transcript.completion(s.completion_exchange(faster)) == base


SNAPSHOT_TEST = textwrap.dedent(
    """
    import os
    from auriko_conformance.suites.snapshot import extension_for

    def test_case(snapshot):
        snap = snapshot.use_extension(extension_for(os.environ["SNAP_DIR"]))
        assert {"provider": "anthropic", "body": {"stop_sequences": [os.environ["STOP"]]}} == snap
    """
)


def _pytest(tmp_path: Path, stop: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null", *extra,
         str(tmp_path / "test_snap.py")],
        cwd=tmp_path,
        env={**__import__("os").environ, "SNAP_DIR": str(tmp_path / "snaps" / "my-gateway"), "STOP": stop},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_update_flow_records_catches_and_rebaselines(tmp_path: Path) -> None:
    (tmp_path / "test_snap.py").write_text(SNAPSHOT_TEST)
    missing = _pytest(tmp_path, "END")
    assert missing.returncode != 0, "a missing baseline must fail (or skip), never pass silently"
    recorded = _pytest(tmp_path, "END", "--snapshot-update")
    assert recorded.returncode == 0, recorded.stdout
    baseline = tmp_path / "snaps" / "my-gateway" / "test_snap" / "test_case.json"
    assert baseline.exists(), recorded.stdout
    assert _pytest(tmp_path, "END").returncode == 0
    changed = _pytest(tmp_path, "STOP")
    assert changed.returncode == 1
    assert "STOP" in changed.stdout, "the failure shows a readable diff"
    assert "END" in changed.stdout
    assert _pytest(tmp_path, "STOP", "--snapshot-update").returncode == 0
    assert _pytest(tmp_path, "STOP").returncode == 0
    assert "STOP" in baseline.read_text()
