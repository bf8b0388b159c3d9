"""The shipped catalog: enough models, every flavour, consistent priors, aliases that resolve."""

from __future__ import annotations

from auriko_conformance.reference_impl.catalog import load_catalog

CATALOG = load_catalog()


def test_at_least_ten_models_across_five_flavours():
    assert len(CATALOG.models) >= 10
    flavours = {CATALOG.providers[o.provider].flavour for o in CATALOG.all_offerings()}
    assert flavours == {"openai", "anthropic", "gemini", "deepseek", "vllm"}


def test_some_models_have_several_providers_with_different_prices():
    multi = [m for m in CATALOG.models.values() if len({o.provider for o in m.offerings}) >= 2]
    assert len(multi) >= 2
    for model in multi:
        assert len({o.prices for o in model.offerings}) == len(model.offerings)


def test_priors_are_ordered():
    for o in CATALOG.all_offerings():
        assert o.ttft_p95 >= o.ttft_p50 > 0
        assert 0 < o.tps_p95 <= o.tps_p50
        assert o.prices.cached_input <= o.prices.input


def test_aliases_resolve_to_canonical():
    assert CATALOG.resolve("llama-3.3-70b").id == "llama-3.3-70b-instruct"
    assert CATALOG.resolve("gpt-4o").id == "gpt-4o"
    assert CATALOG.resolve("nope") is None


def test_every_reasoning_kind_is_present():
    kinds = {o.capabilities.reasoning for o in CATALOG.all_offerings()}
    assert kinds == {"none", "effort", "budget", "adaptive", "level"}
