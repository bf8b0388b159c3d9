"""Regression baselines of a target's own behaviour: stream transcripts, completions, routing_metadata.

Not contract checks (those are in the other suites): these snapshots, one folder per target profile
(`fixtures/snapshots/<profile>/test_regression/`), record how THIS gateway answers the request corpus
so that every change between its releases shows as a diff. Record a baseline with
`auriko-conformance run ... -k test_regression -- --snapshot-update`; a profile without a baseline
skips these tests.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from auriko_conformance.suites import transcript
from auriko_conformance.suites.plugin import NOT_CLAIMED
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.snapshot import (
    corpus_model,
    corpus_params,
    load_corpus,
    profile_snapshot,
)
from auriko_conformance.suites.target import Target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_case" in metafunc.fixturenames:
        metafunc.parametrize(("corpus_provider", "corpus_case"), corpus_params(metafunc.config))


def _body(profile: TargetProfile, provider: str, name: str) -> dict[str, Any]:
    case = load_corpus()[name]
    model = corpus_model(profile, provider, case)
    if model is None:
        pytest.skip(NOT_CLAIMED + f"the profile names no model for {provider} in case {name}")
    return {**copy.deepcopy(case["body"]), "model": model}


def _snap(snapshot: Any, profile: TargetProfile) -> Any:
    return profile_snapshot(snapshot, profile)


def test_stream_transcript(
    target: Target, profile: TargetProfile, snapshot: Any, tag: str, corpus_provider: str, corpus_case: str
) -> None:
    """The normalised event sequence of the streamed answer equals the profile's baseline."""
    body = {**_body(profile, corpus_provider, corpus_case), "stream": True}
    snap = _snap(snapshot, profile)
    assert transcript.stream(target.chat(body, tag=tag)) == snap


def test_completion_and_metadata(
    target: Target, profile: TargetProfile, snapshot: Any, tag: str, corpus_provider: str, corpus_case: str
) -> None:
    """The normalised non-stream answer (choices, usage, routing_metadata) equals the profile's baseline."""
    body = {**_body(profile, corpus_provider, corpus_case), "stream": False}
    snap = _snap(snapshot, profile)
    assert transcript.completion(target.chat(body, tag=tag)) == snap
