"""`--level core` holds a target only to what OpenAI's own documented API does (D-092).

The target is OpenAI's API as the mocks reproduce it (tests/openai_api.py): no routing_metadata, no
Auriko error codes, no docs.auriko.ai links, OpenAI's rate-limit header format, no usage in a stream
that did not ask for it. A core run against it must find nothing.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml
from auriko_conformance.mocks.app import create_app as create_mocks

from auriko_conformance.servers import serving
from tests.openai_api import KEY, openai_api
from tests.suites.nested import run_suites

SUITES = Path(__file__).resolve().parents[2] / "suites"

PROFILE = {
    "name": "openai-api",
    "models": {
        "default": "gpt-4o-mini-2024-07-18",
        "tools": "gpt-4o-mini-2024-07-18",
        "reasoning": "o4-mini-2025-04-16",
        "unknown": "no-such-model-conformance",
    },
    "claims": [
        "tools",
        "parallel_tool_calls",
        "reasoning",
        "n",
        "logprobs",
        "json_schema",
        "models_endpoint",
    ],
}


@pytest.mark.slow
def test_openai_api_passes_core_with_no_findings(tmp_path: Path) -> None:
    profile = tmp_path / "openai.yaml"
    profile.write_text(yaml.safe_dump(PROFILE), encoding="utf-8")
    with serving(openai_api(create_mocks())) as target:
        run_suites(
            [
                str(SUITES),
                *("-q", "-p", "no:cacheprovider", "--level", "core"),
                *("--target-url", target.url, "--api-key", KEY, "--target-profile", str(profile)),
                *("--conformance-report", str(tmp_path / "report")),
            ]
        )
    results = orjson.loads((tmp_path / "report" / "results.json").read_bytes())
    judged = [row for row in results["requirements"] if row["scope"] == "core"]
    findings = {
        row["id"]: [g["example"]["message"] for g in row["groups"]] for row in judged if row["groups"]
    }
    assert findings == {}
    assert {row["verdict"] for row in judged} <= {"pass", "not_claimed", "skipped", "not_run"}
    assert sum(row["verdict"] == "pass" for row in judged) >= 30  # core was judged, not skipped
    assert results["other_failures"] == []
