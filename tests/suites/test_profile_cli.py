"""`auriko-conformance profile init/check`, and the profiles the docs show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from auriko_conformance.suites.exit_codes import ExitCode
from auriko_conformance.suites.profile import ProfileError, load_profile, read_profile, validate

from auriko_conformance.cli import main as cli

REPO = Path(__file__).resolve().parents[2]


def test_init_writes_a_starter_that_checks_clean(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    assert cli(["profile", "init", str(path)]) == ExitCode.OK
    assert path.read_text().startswith("# Target profile of YOUR gateway")
    assert cli(["profile", "check", str(path)]) == ExitCode.OK
    assert "valid profile 'my-gateway'" in capsys.readouterr().out


def test_init_does_not_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("name: mine\n")
    assert cli(["profile", "init", str(path)]) == ExitCode.CONFIG
    assert path.read_text() == "name: mine\n"
    assert cli(["profile", "init", str(path), "--force"]) == ExitCode.OK


def test_check_names_each_problem_on_one_line(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text("claims: [tools, teleport]\nmodels: {defualt: a}\n")
    assert cli(["profile", "check", str(path)]) == ExitCode.CONFIG
    lines = sorted(capsys.readouterr().err.strip().splitlines())
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: claims[1]: 'teleport' is not allowed; allowed: 'routing_metadata'")
    assert lines[1] == (
        f"{path}: models.defualt: unknown key; allowed here: "
        "default, tools, reasoning, unknown, premium_only, by_provider, by_kind, offered"
    )


def test_every_named_model_must_be_offered_when_the_list_is_given(tmp_path):
    with pytest.raises(ProfileError, match=r"models\.tools: 'gpt-4o' is not in models\.offered"):
        validate({"models": {"default": "a", "tools": "gpt-4o", "offered": ["a"]}}, tmp_path / "p.yaml")


def test_offered_models_decide_what_is_claimed(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("models: {default: a, offered: [a, b]}\n")
    profile = load_profile(path)
    assert profile.offers("b")
    assert not profile.offers("claude-opus-4-7")
    assert load_profile().offers("anything")  # no list: the target is asked


def test_headers_global_and_per_model(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("headers: {X-Tenant: t}\nmodel_headers: {m1: {X-Provider: anthropic}}\n")
    profile = load_profile(path)
    assert profile.headers == {"X-Tenant": "t"}
    assert profile.model_headers == {"m1": {"X-Provider": "anthropic"}}


@pytest.mark.parametrize("doc", ["docs/profiles.md", "docs/ci.md"])
def test_the_documented_example_profiles_are_valid(doc, tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", (REPO / doc).read_text(), flags=re.DOTALL)
    complete = [b for b in blocks if b.startswith("name:")]
    assert complete, f"{doc} shows no complete profile"
    for block in complete:
        path = tmp_path / "example.yaml"
        path.write_text(block)
        assert read_profile(path).name


def test_every_shipped_profile_is_valid():
    for path in sorted((REPO / "fixtures" / "profiles").glob("*.yaml")):
        load_profile(path)
