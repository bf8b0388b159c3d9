"""MODELS: the model list, one model, aliases, and the key's identity."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import Context, error_under_200
from auriko_conformance.suites.plugin import Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Target

from auriko_conformance import contract

pytestmark = pytest.mark.needs("models_endpoint")


def _listed(target: Target) -> list[dict[str, Any]]:
    exchange = target.request("GET", "/v1/models")
    body = exchange.json if isinstance(exchange.json, dict) else {}
    return [m for m in body.get("data") or [] if isinstance(m, dict)]


@pytest.mark.requirement("MODELS-001", "HDR-002")
def test_list_models(target: Target, judge: Judge) -> None:
    exchange = target.request("GET", "/v1/models")
    if not expect.success(judge, exchange, "MODELS-001"):
        return  # no answer: nothing more to judge (the judge named why)
    body = exchange.json if isinstance(exchange.json, dict) else {}
    for violation in contract.violations("ModelList", body)[:5]:
        judge.require("MODELS-001", False, str(violation), exchange)
    for key in ("catalog_version", "catalog_age_seconds"):
        judge.require("MODELS-001", key in body, f"the list has no {key}", exchange)
    models = body.get("data") or []
    judge.require("MODELS-001", bool(models), "the model list is empty", exchange)
    for model in models:
        judge.require(
            "MODELS-001",
            model.get("owned_by") == "auriko",
            f"{model.get('id')}: owned_by: expected 'auriko', got {model.get('owned_by')!r}",
            exchange,
        )


@pytest.mark.requirement("MODELS-002")
def test_retrieve_each_listed_model(target: Target, profile: TargetProfile, judge: Judge) -> None:
    models = _listed(target)
    judge.require("MODELS-002", bool(models), "GET /v1/models listed nothing to retrieve")
    for model in models:
        exchange = target.request("GET", f"/v1/models/{model['id']}")
        judge.require(
            "MODELS-002",
            exchange.status == 200,
            f"{model['id']}: expected HTTP 200, got {exchange.status}",
            exchange,
        )
        got = exchange.json if isinstance(exchange.json, dict) else {}
        judge.require(
            "MODELS-002",
            got.get("id") == model["id"],
            f"{model['id']}: expected id {model['id']!r}, got {got.get('id')!r}",
            exchange,
        )
        for violation in contract.violations("Model", got)[:3]:
            judge.require("MODELS-002", False, f"{model['id']}: {violation}", exchange)
    unknown = target.request("GET", f"/v1/models/{profile.unknown_model}")
    expect.error(judge, unknown, "MODELS-002", status=404, code="model_not_found")


@pytest.mark.requirement("MODELS-003", "META-004")
@pytest.mark.needs("routing_metadata")
def test_alias_resolves_to_canonical(target: Target, judge: Judge, tag: str) -> None:
    canonical = {m["id"] for m in _listed(target)}
    aliases, unresolved = _aliases(target, canonical)
    # a gateway that answers 200 for any id cannot tell an alias it did not resolve from an unknown id:
    # that is MODELS-002's finding (an unknown id is a 404), and the echoes say nothing about aliases
    unknown = target.request("GET", "/v1/models/no-such-model-conformance-alias-probe")
    if unresolved and unknown.status == 200:
        expect.error(judge, unknown, "MODELS-002", status=404, code="model_not_found")
    for alias, got in unresolved:
        message = f"GET /v1/models/{alias} answered id {got!r}, which is not listed"
        if unknown.status == 200:
            judge.block("MODELS-003", message, ("MODELS-002",), stops=False)
        else:
            judge.require("MODELS-003", False, message)
    if not aliases:
        pytest.skip("the target documents no alias (GET /v1/models/{alias} never redirects)")
    alias, model_id = aliases[0]
    exchange = target.request("GET", f"/v1/models/{alias}")
    got = exchange.json.get("id") if isinstance(exchange.json, dict) else None
    judge.require("MODELS-003", got == model_id, f"/v1/models/{alias} gave id {got!r}, expected {model_id!r}")
    chat = target.chat({"model": alias, "messages": [{"role": "user", "content": "Hello"}]}, tag=tag)
    expect.success(judge, chat, "META-004", expected_canonical=model_id)


def _aliases(target: Target, canonical: set[str]) -> tuple[list[tuple[str, str]], list[tuple[str, Any]]]:
    """Probing the common dated/dotted spellings: (alias, canonical) pairs the target resolves, and
    aliases it answers 200 for without resolving them to a listed model (an echo of the alias)."""
    found: list[tuple[str, str]] = []
    unresolved: list[tuple[str, Any]] = []
    for model_id in sorted(canonical):
        for alias in _alias_candidates(model_id):
            if alias in canonical:
                continue
            exchange = target.request("GET", f"/v1/models/{alias}")
            if exchange.status != 200 or not isinstance(exchange.json, dict) or error_under_200(exchange):
                continue  # not an alias (an error under 200 is ERR-003's, judged on every endpoint)
            got = exchange.json.get("id")
            if got == model_id:
                found.append((alias, model_id))
            elif got not in canonical:
                unresolved.append((alias, got))
    return found[:1], unresolved


_KNOWN_ALIASES = {
    "gpt-4o": ["gpt-4o-2024-08-06"],
    "gpt-4o-mini": ["gpt-4o-mini-2024-07-18"],
    "claude-sonnet-4-6": ["claude-sonnet-4.6"],
    "llama-3.3-70b-instruct": ["llama-3.3-70b"],
}


def _alias_candidates(model_id: str) -> list[str]:
    return _KNOWN_ALIASES.get(model_id, [model_id.replace("-4-", "-4.")])


@pytest.mark.requirement("META-004")
@pytest.mark.needs("routing_metadata", "model_suffix")
def test_suffix_is_not_part_of_model_canonical(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    exchange = target.chat(
        {"model": f"{profile.default_model}:ttft", "messages": [{"role": "user", "content": "Hi"}]}
    )
    expect.success(judge, exchange, "META-004", expected_canonical=profile.default_model)


@pytest.mark.requirement("MODELS-004")
def test_every_listed_model_is_callable(target: Target, judge: Judge, tag: str) -> None:
    for model in _listed(target):
        exchange = target.chat(
            {"model": model["id"], "messages": [{"role": "user", "content": "Hello"}]}, tag=tag
        )
        error = exchange.json.get("error") if isinstance(exchange.json, dict) else None
        not_found = (
            exchange.status == 404 and isinstance(error, dict) and error.get("code") == "model_not_found"
        )
        judge.require("MODELS-004", not not_found, f"{model['id']} is listed but not callable", exchange)
        if exchange.status == 200:
            judge(exchange, Context(request=exchange.request_body))


@pytest.mark.requirement("MODELS-005")
@pytest.mark.needs("me_endpoint")
def test_identity(target: Target, judge: Judge) -> None:
    exchange = target.request("GET", "/v1/me")
    if not expect.success(judge, exchange, "MODELS-005"):
        return  # no answer: nothing more to judge (the judge named why)
    for violation in contract.violations("ApiKeyIdentity", exchange.json)[:5]:
        judge.require("MODELS-005", False, str(violation), exchange)
