"""The LiteLLM target (docs/litellm.md): its profile, proxy config and start script agree.

Fast and offline: nothing here installs or starts LiteLLM. It proves that every model the profile
names is a model the config routes, to the mock instance the profile says, with an upstream model id
the mocks serve, at the api_base LiteLLM needs for that provider (sdk-observations.md), and that the
key, the upstream keys and the claims are consistent.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from auriko_conformance.mocks.config import DEFAULT_INSTANCES
from auriko_conformance.suites.profile import FEATURES, load_profile

ROOT = Path(__file__).resolve().parent.parent
PROFILE_PATH = ROOT / "fixtures" / "profiles" / "litellm.yaml"
CONFIG_PATH = ROOT / "bench" / "litellm" / "config.yaml"
RUN_SCRIPT = ROOT / "bench" / "litellm" / "run.sh"
PLACEHOLDER = "__MOCK_URL__"

INSTANCES = {i.name: i for i in DEFAULT_INSTANCES}
#: LiteLLM provider prefix -> (mock flavour, the path api_base must have under the mock URL)
LITELLM_PROVIDERS = {
    "openai": ("openai", "/openai/v1"),
    "anthropic": ("anthropic", "/anthropic"),
    "gemini": ("gemini", "/gemini/v1beta"),  # the API version must be in api_base
    "deepseek": ("deepseek", "/deepseek"),
    "hosted_vllm": ("vllm", "/vllm/v1"),
}
#: Auriko features LiteLLM does not have (no routing_metadata, no `gateway` object, ...)
NOT_LITELLM = {
    "routing_metadata",
    "cost",
    "gateway_routing",
    "multi_model",
    "model_suffix",
    "extensions",
    "warnings",
    "error_headers",
    "me_endpoint",
}


@pytest.fixture(scope="module")
def profile():
    load_profile.cache_clear()
    return load_profile(PROFILE_PATH)


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


@pytest.fixture(scope="module")
def deployments(config: dict) -> dict[str, dict]:
    """model_name -> litellm_params."""
    entries = config["model_list"]
    names = [e["model_name"] for e in entries]
    assert len(names) == len(set(names)), "one deployment per model name (no load balancing to judge)"
    return {e["model_name"]: e["litellm_params"] for e in entries}


def _split(params: dict) -> tuple[str, str]:
    provider, _, upstream_model = params["model"].partition("/")
    return provider, upstream_model


def test_profile_loads_with_honest_claims(profile) -> None:
    assert profile.name == "litellm"
    assert profile.claims <= set(FEATURES)
    assert not profile.claims & NOT_LITELLM, f"LiteLLM does not offer {sorted(profile.claims & NOT_LITELLM)}"
    assert {"tools", "models_endpoint"} <= profile.claims
    assert not profile.prices, "no prices: LiteLLM reports no routing_metadata.cost to check them against"


def test_every_deployment_reaches_a_mock_model(deployments: dict[str, dict]) -> None:
    for name, params in deployments.items():
        provider, upstream_model = _split(params)
        assert provider in LITELLM_PROVIDERS, f"{name}: provider {provider!r}"
        flavour, path = LITELLM_PROVIDERS[provider]
        assert params["api_base"] == PLACEHOLDER + path, f"{name}: api_base {params['api_base']!r}"
        instance = INSTANCES[path.split("/")[1]]
        assert instance.flavour == flavour
        assert upstream_model in instance.models, f"{name}: the {instance.name} mock does not serve it"
        assert params.get("api_key"), f"{name}: the mocks need a non-empty key"


def test_every_mock_model_has_a_deployment(deployments: dict[str, dict]) -> None:
    """The suites' model kinds (public catalog names) all resolve, as they do on the reference."""
    from auriko_conformance.mocks.models import MODELS_BY_FLAVOUR

    served = {(LITELLM_PROVIDERS[_split(p)[0]][0], _split(p)[1]) for p in deployments.values()}
    for flavour, models in MODELS_BY_FLAVOUR.items():
        for spec in models:
            assert (flavour, spec.id) in served, f"no deployment reaches {spec.id} on the {flavour} mock"


def test_profile_models_are_routed_where_the_profile_says(profile, deployments: dict[str, dict]) -> None:
    for role in (profile.default_model, profile.tools_model, profile.reasoning_model):
        assert role in deployments
    assert profile.unknown_model not in deployments
    assert set(profile.models_by_provider) == set(LITELLM_PROVIDERS), "one model per configured provider"
    for provider, model in profile.models_by_provider.items():
        got_provider, _ = _split(deployments[model])
        assert got_provider == provider, f"{model} goes to {got_provider}, the profile says {provider}"
        flavour, path = LITELLM_PROVIDERS[provider]
        mock = profile.mock_instance(provider)
        assert mock in INSTANCES
        assert INSTANCES[mock].prefix == "/" + path.split("/")[1]
        assert INSTANCES[mock].flavour == flavour


def test_reasoning_model_thinks_on_its_mock(profile, deployments: dict[str, dict]) -> None:
    from auriko_conformance.mocks.models import Reasoning, model_spec

    _, upstream_model = _split(deployments[profile.reasoning_model])
    assert model_spec(upstream_model).reasoning is not Reasoning.NONE


def test_upstream_keys_are_the_configured_ones(profile, deployments: dict[str, dict]) -> None:
    assert set(profile.upstream_keys) == {p["api_key"] for p in deployments.values()}


def test_master_key_is_an_auriko_key_and_the_script_uses_it(config: dict) -> None:
    key = config["general_settings"]["master_key"]
    assert re.fullmatch(r"ak_(test|live)_\w+", key)
    assert f'API_KEY="{key}"' in RUN_SCRIPT.read_text()


def test_only_cooldowns_deviate_from_litellm_defaults(config: dict) -> None:
    assert set(config) == {"model_list", "router_settings", "general_settings"}
    assert config["router_settings"] == {"disable_cooldowns": True}
    assert set(config["general_settings"]) == {"master_key"}


def test_run_script_is_valid_bash_and_pins_litellm() -> None:
    subprocess.run(["bash", "-n", str(RUN_SCRIPT)], check=True)
    text = RUN_SCRIPT.read_text()
    pinned = re.search(r'LITELLM_VERSION="\$\{LITELLM_VERSION:-(\d+\.\d+\.\d+)\}"', text)
    assert pinned, "run.sh pins an exact litellm version"
    assert pinned.group(1) in PROFILE_PATH.read_text(), "the profile names the version it was written for"
    assert '--target-profile "$PROFILE"' in text
    assert 'PROFILE="fixtures/profiles/litellm.yaml"' in text


def test_makefile_target_runs_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^conformance-litellm:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert target
    assert "bench/litellm/run.sh" in target.group(1)
