"""The target profile reaches `suites/test_fuzz.py`, which fits the contract at import (D-056)."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from auriko_conformance.suites import plugin


def _config(**options: Any) -> Any:
    values = {
        "--level": "full",
        "--conformance-report": None,
        "--target-profile": None,
        "--max-timeouts": 3,
        "--max-duration": 0.0,
        "--snapshot-dir": None,
        **options,
    }
    return SimpleNamespace(
        getoption=lambda name, default=None: values.get(name, default),
        addinivalue_line=lambda *args: None,
        stash=pytest.Stash(),
        pluginmanager=SimpleNamespace(register=lambda *args: None),
        getini=lambda name: "function",
    )


def test_the_profile_option_is_in_the_environment_during_the_session(monkeypatch):
    monkeypatch.setenv(plugin.PROFILE_ENV, "earlier.yaml")
    config = _config(**{"--target-profile": "fixtures/profiles/litellm.yaml"})
    plugin.pytest_configure(config)
    assert os.environ[plugin.PROFILE_ENV] == "fixtures/profiles/litellm.yaml"
    plugin.pytest_unconfigure(config)
    assert os.environ[plugin.PROFILE_ENV] == "earlier.yaml"


def test_no_profile_option_leaves_the_environment_alone(monkeypatch):
    monkeypatch.delenv(plugin.PROFILE_ENV, raising=False)
    config = _config()
    plugin.pytest_configure(config)
    plugin.pytest_unconfigure(config)
    assert plugin.PROFILE_ENV not in os.environ


def test_an_unset_variable_is_unset_again(monkeypatch):
    monkeypatch.delenv(plugin.PROFILE_ENV, raising=False)
    config = _config(**{"--target-profile": "fixtures/profiles/litellm.yaml"})
    plugin.pytest_configure(config)
    assert os.environ[plugin.PROFILE_ENV] == "fixtures/profiles/litellm.yaml"
    plugin.pytest_unconfigure(config)
    assert plugin.PROFILE_ENV not in os.environ


def test_a_test_needing_a_missing_package_is_skipped_with_the_reason():
    added: list[Any] = []
    item = SimpleNamespace(
        iter_markers=lambda name: (
            [pytest.mark.needs_package("orjson", "no_such_package_xyz").mark]
            if name == "needs_package"
            else []
        ),
        add_marker=added.append,
    )
    plugin._skip_without_packages(item)
    (marker,) = added
    assert marker.kwargs["reason"] == (
        "not judged: missing Python package no_such_package_xyz (pip install no_such_package_xyz)"
    )
    installed = SimpleNamespace(
        iter_markers=lambda name: [pytest.mark.needs_package("orjson").mark], add_marker=added.append
    )
    plugin._skip_without_packages(installed)
    assert len(added) == 1
