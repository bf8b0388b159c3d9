"""EXT: `extensions.<provider>` passthrough and its sanitising, judged through the mock journal.

Extensions for the provider that serves a request become top-level fields of its native body; the
others stay behind. Credential keys are removed at any depth and core request fields at the top level,
each with a warning that names the key but never echoes its value. The values used here are unique per
test, so the journal (every byte each provider received) proves that nothing leaked.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from auriko_conformance.suites.checks import ext
from auriko_conformance.suites.plugin import Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.snapshot import Client, Sent, flavour_models_of, model_for, user
from auriko_conformance.suites.target import Mocks, Target


@pytest.fixture(scope="module")
def flavour_models(mocks: Mocks, profile: TargetProfile) -> dict[str, str]:
    return flavour_models_of(mocks, profile)


@pytest.fixture
def client(target: Target, mocks: Mocks, judge: Judge, tag: str) -> Client:
    return Client(target, mocks, judge, tag)


#: One harmless native field per provider, accepted by its real API (and mock) at the top level.
PASSTHROUGH: dict[str, dict[str, Any]] = {
    "openai": {"store": False, "metadata": {"suite": "conformance"}},
    "anthropic": {"metadata": {"user_id": "conformance-user"}},
    "google": {
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    },
    "deepseek": {"user": "conformance-user"},
    "vllm": {"skip_special_tokens": False, "include_stop_str_in_output": False},
}
#: Which extensions key addresses a mock flavour (Auriko names Google's key `google`).
EXTENSION_KEY = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "deepseek": "deepseek",
    "vllm": "vllm",
}


def _secret() -> str:
    return f"sk-conformance-{uuid.uuid4().hex[:16]}"


@pytest.mark.requirement("EXT-001", "EXT-002")
@pytest.mark.needs("extensions")
@pytest.mark.parametrize("flavour", list(EXTENSION_KEY))
def test_extensions_reach_only_the_selected_provider(
    client: Client, flavour_models: dict[str, str], flavour: str
) -> None:
    key = EXTENSION_KEY[flavour]
    if flavour == "deepseek":
        # `user` is a core field (stripped, EXT-005): DeepSeek gets a field of its own instead.
        extensions = {**PASSTHROUGH, "deepseek": {"x_conformance_deepseek": "d-1"}}
    else:
        extensions = {k: v for k, v in PASSTHROUGH.items() if k != "deepseek"} | {
            "deepseek": {"x_conformance_deepseek": "d-1"}
        }
    sent = client.send(
        user("Name a colour.", model=model_for(flavour_models, flavour), extensions=extensions), flavour
    )
    client.translated(
        sent, "EXT-001", ext.extensions_reach_provider, ext.other_extensions_stay_behind, extension=key
    )


@pytest.mark.requirement("EXT-003")
@pytest.mark.needs("extensions")
def test_ignored_and_unknown_extensions_reported(client: Client, flavour_models: dict[str, str]) -> None:
    extensions = {"google": PASSTHROUGH["google"], "acme": {"turbo": True}}
    sent = client.send(
        user("Name a colour.", model=model_for(flavour_models, "anthropic"), extensions=extensions),
        "anthropic",
    )
    client.check(sent, ext.extension_provider_warnings, ignored=["google"], unknown=["acme"])
    client.check(sent, ext.other_extensions_stay_behind, extension="anthropic")


@pytest.mark.requirement("EXT-004", "EXT-006")
@pytest.mark.needs("extensions")
def test_credentials_stripped_at_any_depth_anthropic(client: Client, flavour_models: dict[str, str]) -> None:
    secrets = [_secret() for _ in range(4)]
    extension = {
        "metadata": {"user_id": "conformance-user", "API_KEY": secrets[0], "inner": {"Password": secrets[1]}},
        "X-Api-Key": secrets[2],
        "Authorization": f"Bearer {secrets[3]}",
    }
    body = user(
        "Name a colour.", model=model_for(flavour_models, "anthropic"), extensions={"anthropic": extension}
    )
    sent = client.send(body, "anthropic")
    if _credentials_stripped(client, sent, secrets, ["API_KEY", "Password", "X-Api-Key", "Authorization"]):
        if "metadata" not in sent.upstream.json:  # the extension never arrived: EXT-001's, not over-stripping
            client.judge.require(
                "EXT-001", False, "extensions.anthropic.metadata never reached Anthropic", sent.exchange
            )
            return
        kept = (sent.upstream.json.get("metadata") or {}).get("user_id")
        client.judge.require(
            "EXT-004",
            kept == "conformance-user",
            f"metadata.user_id: expected 'conformance-user', got {kept!r}",
            sent.exchange,
        )


def _credentials_stripped(client: Client, sent: Sent, secrets: list[str], names: list[str]) -> bool:
    """EXT-004 and EXT-006 on a request whose extensions hid `secrets` under the keys `names`."""
    return client.translated(
        sent,
        "EXT-004",
        ext.credentials_stripped,
        ext.strips_reported_without_value,
        secrets=secrets,
        stripped=names,
        stripped_values=secrets,
    )


@pytest.mark.requirement("EXT-004", "EXT-006")
@pytest.mark.needs("extensions")
def test_credentials_stripped_in_nested_lists(client: Client, flavour_models: dict[str, str]) -> None:
    secrets = [_secret() for _ in range(4)]
    extension = {
        "x_conformance": {
            "level1": {"level2": {"Secret_Key": secrets[0], "kept": 1}},
            "items": [{"token": secrets[1], "kept": 2}, {"CREDENTIALS": {"user": secrets[2]}}],
        },
        "access_token": secrets[3],
    }
    body = user(
        "Name a colour.", model=model_for(flavour_models, "deepseek"), extensions={"deepseek": extension}
    )
    sent = client.send(body, "deepseek")
    if _credentials_stripped(client, sent, secrets, ["Secret_Key", "token", "CREDENTIALS", "access_token"]):
        if "x_conformance" not in sent.upstream.json:
            # the extension never reached the provider: EXT-001's rule (judged here), not a stripping defect
            client.check(
                sent, ext.extensions_reach_provider, extension="deepseek", passthrough=["x_conformance"]
            )
            if client.judge.failed_on(sent.exchange) & {"EXT-001"}:
                client.judge.block(
                    "EXT-004", "the extension never reached the provider", ("EXT-001",), stops=False
                )
                return
        nested = sent.upstream.json.get("x_conformance") or {}
        kept = (
            ((nested.get("level1") or {}).get("level2") or {}).get("kept"),
            [i.get("kept") for i in nested.get("items") or [] if isinstance(i, dict)],
        )
        client.judge.require(
            "EXT-004",
            kept == (1, [2, None]),
            f"non-credential siblings were not kept: {nested!r}",
            sent.exchange,
        )


CORE_CASES: dict[str, dict[str, Any]] = {
    # flavour: extension, the client's own values that must survive, nested values that must pass
    "deepseek": {
        "extension": {
            "MODEL": "evil-model-{u}",
            "Max_Tokens": 3,
            "temperature": 1.9,
            "Messages": [{"role": "user", "content": "evil-{u}"}],
            "x_conformance": {"model": "nested-{u}", "messages": ["nested-{u}"], "stream": True},
        },
        "client": {"temperature": 0.3, "max_completion_tokens": 40},
        "preserved": {"temperature": 0.3, "max_tokens": 40},
        "nested": {"x_conformance.model": "nested-{u}", "x_conformance.stream": True},
        "stripped": ["MODEL", "Max_Tokens", "temperature", "Messages"],
        "values": ["evil-model-{u}", "evil-{u}"],
    },
    "gemini": {
        "extension": {
            "systemInstruction": {"parts": [{"text": "evil-system-{u}"}]},
            "Contents": [{"role": "user", "parts": [{"text": "evil-contents-{u}"}]}],
            "STREAM": True,
            "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        },
        "client": {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour."},
            ]
        },
        "preserved": {},
        "nested": {},
        "stripped": ["systemInstruction", "Contents", "STREAM"],
        "values": ["evil-system-{u}", "evil-contents-{u}"],
    },
    "anthropic": {
        "extension": {
            "System": "evil-system-{u}",
            "max_tokens": 7,
            "Stop": ["evil-stop-{u}"],
            "metadata": {"user_id": "conformance-user", "system": "nested-{u}"},
        },
        "client": {"max_completion_tokens": 40},
        "preserved": {"max_tokens": 40},
        "nested": {"metadata.system": "nested-{u}"},
        "stripped": ["System", "max_tokens", "Stop"],
        "values": ["evil-system-{u}", "evil-stop-{u}"],
    },
}


def _fill(value: Any, u: str) -> Any:
    if isinstance(value, str):
        return value.replace("{u}", u)
    if isinstance(value, list):
        return [_fill(v, u) for v in value]
    if isinstance(value, dict):
        return {_fill(k, u): _fill(v, u) for k, v in value.items()}
    return value


@pytest.mark.requirement("EXT-005", "EXT-006")
@pytest.mark.needs("extensions")
@pytest.mark.parametrize("flavour", list(CORE_CASES))
def test_core_fields_stripped_at_top_level_only(
    client: Client, flavour_models: dict[str, str], flavour: str
) -> None:
    case = _fill(CORE_CASES[flavour], uuid.uuid4().hex[:10])
    body = {**user("Name a colour."), **case["client"], "model": model_for(flavour_models, flavour)}
    body["extensions"] = {EXTENSION_KEY[flavour]: case["extension"]}
    sent = client.send(body, flavour)
    # for EXT-001, judged where a nested field's parent never arrived (the extension was not merged): the
    # parents of the nested fields only, never the core fields the gateway must strip
    parents = sorted({path.split(".")[0] for path in case["nested"]})
    merged = {"extension": EXTENSION_KEY[flavour], "passthrough": parents} if parents else {}
    client.translated(
        sent,
        "EXT-005",
        ext.core_fields_top_level_only,
        ext.strips_reported_without_value,
        preserved=case["preserved"],
        nested=case["nested"],
        blocked_values=case["values"],
        stripped=case["stripped"],
        stripped_values=case["values"],
        **merged,
    )


@pytest.mark.requirement("EXT-007")
@pytest.mark.needs("extensions")
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_service_tier_extension_rejected(
    client: Client, profile: TargetProfile, flavour_models: dict[str, str], provider: str
) -> None:
    body = user(
        "Name a colour.",
        model=model_for(flavour_models, provider),
        extensions={provider: {"service_tier": "priority"}},
    )
    sent = client.send(body, provider)
    client.check(
        sent, ext.service_tier_extension_rejected, platform_governed=f"extensions.{provider}.service_tier"
    )
    client.judge.require("EXT-007", not sent.upstreams, "the request reached a provider", sent.exchange)


@pytest.mark.requirement("EXT-008")
@pytest.mark.needs("extensions")
@pytest.mark.parametrize("value", ["fast", 5, [{"metadata": {}}]], ids=["string", "number", "list"])
def test_extension_value_must_be_object(client: Client, flavour_models: dict[str, str], value: Any) -> None:
    body = user(
        "Name a colour.", model=model_for(flavour_models, "anthropic"), extensions={"anthropic": value}
    )
    sent = client.send(body, "anthropic")
    client.check(sent, ext.extension_not_object_rejected, bad_extension="extensions.anthropic")
    client.judge.require("EXT-008", not sent.upstreams, "the request reached a provider", sent.exchange)
