"""The snapshot normaliser keeps what describes a translation and hides what changes from run to run.

A baseline is only useful if a second run of a correct gateway matches it (volatile values replaced)
and a translation change does not (a mistranslated parameter, a dropped system prompt, a credential
forwarded all show up as a diff).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from auriko_conformance.suites import snapshot as snap
from auriko_conformance.suites.checks.xlate import Upstream
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.profile import TargetProfile

BODY: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 40,
    "system": [{"type": "text", "text": "Be terse."}],
    "stop_sequences": ["zebra"],
    "messages": [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Weather? [[conformance-id: test_x-0a1b2c3d4e5f-3]]"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_01abc", "name": "w", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "18"}]},
    ],
}


def upstream(body: dict[str, Any], **headers: str) -> Upstream:
    return Upstream(
        provider="anthropic",
        flavour="anthropic",
        method="POST",
        path="/anthropic/v1/messages",
        headers={
            "x-api-key": "[redacted:1a2b3c4d]",
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
            "host": "127.0.0.1:41234",
            "content-length": "812",
            "user-agent": "python-httpx/0.28.1",
            **headers,
        },
        body=body,
        status=200,
    )


def test_volatile_values_become_placeholders() -> None:
    doc = snap.normalise(upstream(BODY))
    text = str(doc)
    assert "test_x-0a1b2c3d4e5f-3" not in text
    assert snap.TAG_PLACEHOLDER in text
    assert doc["headers"] == {
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "x-api-key": "<secret>",
    }
    blocks = [b for m in doc["body"]["messages"] for b in m["content"]]
    # generated ids are numbered in order of appearance, so links between them stay visible
    assert blocks[1]["id"] == "<id-1>"
    assert blocks[2]["tool_use_id"] == "<id-1>"


def test_two_runs_of_a_correct_gateway_normalise_equal() -> None:
    other = copy.deepcopy(BODY)
    other["messages"][0]["content"][0]["text"] = "Weather? [[conformance-id: test_x-ffffffffffff-9]]"
    other["messages"][1]["content"][0]["id"] = "toolu_01zzz"
    other["messages"][2]["content"][0]["tool_use_id"] = "toolu_01zzz"
    second = upstream(other, authorization="Bearer [redacted:99999999]", host="127.0.0.1:50000")
    first = upstream(BODY, authorization="Bearer [redacted:1a2b3c4d]")
    assert snap.normalise(first) == snap.normalise(second)


def test_keys_are_sorted_at_every_level() -> None:
    shuffled = dict(reversed(list(BODY.items())))
    doc = snap.normalise(upstream(shuffled))
    assert list(doc["body"]) == sorted(doc["body"])
    assert doc == snap.normalise(upstream(BODY))


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("stop mistranslated", lambda b: b.update(stop=b.pop("stop_sequences"))),
        ("system prompt dropped", lambda b: b.pop("system")),
        ("max_tokens changed", lambda b: b.update(max_tokens=4096)),
        ("tool result unlinked", lambda b: b["messages"][2]["content"][0].update(tool_use_id="toolu_other")),
        ("top_k added", lambda b: b.update(top_k=20)),
    ],
)
def test_translation_changes_show_up(label: str, change: Any) -> None:
    changed = copy.deepcopy(BODY)
    change(changed)
    assert snap.normalise(upstream(changed)) != snap.normalise(upstream(BODY)), label


def test_a_forwarded_credential_is_hidden_but_visible_as_a_change() -> None:
    leaked = {
        **BODY,
        "metadata": {"user_id": "u", "api_key": "sk-live-abcdef123456"},
        "note": "sk-ant-zzzzzz999",
    }
    doc = snap.normalise(upstream(leaked))
    assert "sk-live-abcdef123456" not in str(doc)
    assert "sk-ant-zzzzzz999" not in str(doc)
    assert doc["body"]["metadata"]["api_key"] == "<secret>"
    assert doc != snap.normalise(upstream(BODY))


def test_scrub_text_replaces_uuids_and_long_hex() -> None:
    text = "req 123e4567-e89b-12d3-a456-426614174000 sig 0123456789abcdef0123456789abcdef end"
    assert snap.scrub_text(text) == "req <uuid> sig <hex> end"


def test_normalise_exchange_keeps_status_and_every_attempt() -> None:
    exchange = Exchange.build(status=200, body={"choices": []})
    doc = snap.normalise_exchange(exchange, [upstream(BODY), upstream(BODY)])
    assert doc["gateway_status"] == 200
    assert len(doc["upstream"]) == 2


def test_snapshot_dir_is_per_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(snap.SNAPSHOT_DIR_ENV, str(tmp_path))
    assert snap.snapshot_dir("my gateway/v2") == tmp_path / "my-gateway-v2"
    # a profile with no baseline of its own reads the packaged one, but updates never write there
    assert snap.snapshot_dir("reference") == snap.PACKAGED_SNAPSHOTS / "reference"
    assert snap.snapshot_dir("reference", updating=True) == tmp_path / "reference"
    (tmp_path / "reference").mkdir()
    assert snap.snapshot_dir("reference") == tmp_path / "reference"
    monkeypatch.delenv(snap.SNAPSHOT_DIR_ENV)
    assert snap.snapshot_root() == Path("conformance-snapshots")


def test_extension_stores_under_the_profile_in_syrupys_layout(tmp_path: Path) -> None:
    class Location:
        basename = "test_translation"
        snapshot_name = "test_upstream_snapshot[anthropic-plain]"

        def __init__(self) -> None:
            self.filepath = "/somewhere/else/suites/test_translation.py"

    ext = snap.extension_for(str(tmp_path / "reference"))
    assert ext is snap.extension_for(str(tmp_path / "reference"))  # one class per directory
    assert ext is not snap.extension_for(str(tmp_path / "other"))
    assert ext.dirname(test_location=Location()) == str(tmp_path / "reference" / "test_translation")


def test_reference_baseline_is_committed() -> None:
    directory = snap.PACKAGED_SNAPSHOTS / "reference" / "test_translation"
    files = sorted(directory.glob("*.json"))
    assert len(files) >= 50
    documents = [orjson.loads(f.read_bytes()) for f in files]
    # every recorded upstream request had its correlation marker replaced (runs stay comparable)
    assert all(snap.TAG_PLACEHOLDER in str(d["upstream"]) for d in documents if d["upstream"])
    assert all("conformance-id: test_" not in str(d) for d in documents)


class _Judge:
    """Records `require` calls as a Judge would (the findings a test would report)."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, str]] = []

    def require(self, requirement: str, ok: bool, message: str, exchange: Exchange | None = None) -> None:
        if not ok:
            self.failed.append((requirement, message))


def _client_answering(monkeypatch: pytest.MonkeyPatch, status: int) -> tuple[snap.Client, _Judge]:
    body = {"error": {"message": "m", "type": "not_found_error", "code": "model_not_found", "param": "model"}}
    exchange = Exchange.build(status=status, body=body, headers={"content-type": "application/json"})
    monkeypatch.setattr(snap, "send", lambda *args, **kwargs: (exchange, []))
    judge = _Judge()
    return snap.Client(None, None, judge, "tag"), judge  # type: ignore[arg-type]


def test_unknown_model_of_an_unmapped_kind_is_not_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    client, judge = _client_answering(monkeypatch, 404)
    with pytest.raises(pytest.skip.Exception, match="not claimed"):
        client.kind(TargetProfile(), "gemini_3", {"messages": []}, "XLATE-026")
    assert judge.failed == []


def test_unknown_model_the_profile_maps_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 16: a 404 for a model the profile explicitly maps was "not claimed" instead of failed."""
    client, judge = _client_answering(monkeypatch, 404)
    profile = TargetProfile(models_by_kind={"gemini_3": "acme-gemini-3"})
    sent = client.kind(profile, "gemini_3", {"messages": []}, "XLATE-026")
    assert sent.exchange.status == 404
    assert [requirement for requirement, _ in judge.failed] == ["XLATE-026"]
    assert "acme-gemini-3" in judge.failed[0][1]
