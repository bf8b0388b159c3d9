"""Upstream requests: sent through the target, read back from the mock journal, normalised, snapshotted.

`send()` posts one tagged request to the target and returns the exchange with every provider request it
caused; `Client` does the same for the XLATE and EXT suites and decides whether a request reached the
provider flavour a test is about (otherwise the test is "not claimed").

`normalise()` turns one upstream request into a stable document (volatile values replaced by
placeholders, keys sorted) so that syrupy can keep it as a regression baseline of a gateway's
translation. Baselines live per target profile, `<snapshot root>/<profile name>/<test module>/`, one JSON
file per corpus case and provider: a team records its own gateway with `--snapshot-update` and sees every
later change as a diff. The root is `--snapshot-dir` (default `./conformance-snapshots`, in the user's
working tree, never inside the installed package); a profile with no baseline there reads the packaged
one when the package has it (the reference profile's):

    auriko-conformance run --target-url URL --mock-url MOCKS --target-profile my-gateway.yaml \
        --snapshot-dir baselines -k "test_upstream_snapshot or test_regression" -- --snapshot-update

records `baselines/<profile name>/test_translation/*.json`; later runs without the flag fail on every
difference. Without a baseline for the profile, the snapshot tests are skipped.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.expect import success
from auriko_conformance.suites.options import DEFAULT_SNAPSHOT_DIR
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile, load_profile
from auriko_conformance.suites.target import Mocks, Target, unknown_model_answer
from syrupy.extensions.json import JSONSnapshotExtension

from auriko_conformance.paths import FIXTURES_DIR

SNAPSHOT_DIR_ENV = "AURIKO_SNAPSHOT_DIR"
#: how long to wait for the mock to finish journal entries of a request the target already answered
SETTLE_S = 2.0

# ------------------------------------------------------------------------------------------------ journal


def fetch_upstreams(mocks: Mocks, tag: str, *, wait_usage: bool = False) -> list[Upstream]:
    """The provider requests carrying `tag`, oldest first, once the mock has completed them."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        entries = mocks.journal(tag)
        done = all(e.get("status") is not None for e in entries)
        if wait_usage:
            done = done and all(
                e.get("response_usage") is not None for e in entries if e.get("status") == 200
            )
        if done or time.monotonic() > deadline:
            return [Upstream.from_entry(e) for e in entries]
        time.sleep(0.01)


def send(
    target: Target, mocks: Mocks, body: dict[str, Any], tag: str, *, wait_usage: bool = False
) -> tuple[Exchange, list[Upstream]]:
    """Post `body` tagged with `tag`; return the exchange and the upstream requests it caused."""
    exchange = target.chat(body, tag=tag)
    return exchange, fetch_upstreams(mocks, tag, wait_usage=wait_usage)


# ------------------------------------------------------------------------------------------------ requests


def kind_model(profile: TargetProfile, kind: str) -> str:
    """The target's model of `kind`: the profile's `models.by_kind` entry, else the public model name."""
    named = profile.models_by_kind
    return named.get(kind) or KINDS[kind][1]


def flavour_models_of(mocks: Mocks, profile: TargetProfile) -> dict[str, str]:
    """Mock flavour -> the profile's model routed to a provider of that flavour."""
    out: dict[str, str] = {}
    for provider, model in profile.models_by_provider.items():
        try:
            response = mocks.client.get(f"/__mock/providers/{profile.mock_instance(provider)}")
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            out.setdefault(response.json().get("flavour"), model)
    return out


def model_for(flavour_models: dict[str, str], flavour: str) -> str:
    if flavour not in flavour_models:
        pytest.skip(NOT_CLAIMED + f"the profile routes no model to a {flavour} provider")
    return flavour_models[flavour]


@dataclass(slots=True)
class Sent:
    """One request through the target, with the upstream requests it caused."""

    exchange: Exchange
    upstreams: list[Upstream]
    flavour: str | None

    @property
    def upstream(self) -> Upstream | None:
        mine = [u for u in self.upstreams if self.flavour is None or u.flavour == self.flavour]
        return mine[-1] if mine else None

    def context(self, **expectations: Any) -> XlateContext:
        metadata = self.exchange.metadata or {}
        expected: dict[str, Any] = {"flavour": self.flavour, **expectations}
        if metadata.get("provider_model_id") and self.upstream is not None:
            expected.setdefault("provider_model_id", metadata["provider_model_id"])
        return XlateContext(
            request=self.exchange.request_body or {},
            upstream=self.upstream,
            upstreams=self.upstreams,
            expect=expected,
        )


class Client:
    """Sends tagged requests (one sub-tag each) and judges what they caused."""

    def __init__(self, target: Target, mocks: Mocks, judge: Judge, tag: str) -> None:
        self.target, self.mocks, self.judge, self.tag = target, mocks, judge, tag
        self.count = 0

    def send(self, body: dict[str, Any], flavour: str | None, *, usage: bool = False) -> Sent:
        self.count += 1
        exchange, upstreams = send(
            self.target, self.mocks, body, f"{self.tag}-{self.count}", wait_usage=usage
        )
        return Sent(exchange, upstreams, flavour)

    def served(
        self,
        sent: Sent,
        requirement: str,
        *,
        optional_model: bool = False,
        expect: Mapping[str, Any] | None = None,
        **context: Any,
    ) -> bool:
        """The request succeeded at a provider of the expected flavour (else: blocked, or skipped).

        When it was refused, the upstream-side checks judge what reached the provider, with the test's
        expectations (`expect`, what `check` will be given), so the rule the translation broke fails
        even though the answer never came, and `requirement` reads blocked by it. `context` goes to the
        checks every exchange gets (e.g. `dropped_parameters` for META-012).
        """
        exchange = sent.exchange
        model = (exchange.request_body or {}).get("model")
        if optional_model and unknown_model_answer(exchange, model):
            pytest.skip(NOT_CLAIMED + f"the target does not know model {model!r}")
        journal = [u.raw for u in sent.upstreams]
        probe = sent.context(**(expect or {}))
        if not success(self.judge, exchange, requirement, upstream=probe, journal=journal, **context):
            return False
        if sent.upstream is None:
            got = sorted({u.flavour for u in sent.upstreams})
            pytest.skip(
                NOT_CLAIMED + f"the request was served by {got or 'no mock provider'}, not {sent.flavour}"
            )
        return True

    def check(self, sent: Sent, *checks: Any, **expectations: Any) -> None:
        self.judge(sent.exchange, sent.context(**expectations), only=[c.__name__ for c in checks])

    def translated(
        self, sent: Sent, requirement: str, *checks: Any, optional_model: bool = False, **expectations: Any
    ) -> bool:
        """`served`, then the named checks, both under the same expectations: the test states them once,
        and a refused request is judged by them too. Returns whether the request was served."""
        if not self.served(sent, requirement, optional_model=optional_model, expect=expectations):
            return False
        self.check(sent, *checks, **expectations)
        return True

    def kind(
        self, profile: TargetProfile, kind: str, body: dict[str, Any], requirement: str, **kw: Any
    ) -> Sent:
        """Send `body` to a model of `kind`; skip as not claimed when the target lacks that model.

        A model the profile maps (`models.by_kind`) or offers (`models.offered`) is claimed: a 404 for it
        fails `requirement`.
        """
        flavour, _ = KINDS[kind]
        model = kind_model(profile, kind)
        if not profile.offers(model):
            pytest.skip(NOT_CLAIMED + f"the profile's models.offered does not list {model!r} ({kind})")
        mapped = claimed_by_profile(profile, kind, model)
        listed = listed_models(self.target) if profile.claims_feature("models_endpoint") else None
        if listed is not None and model not in listed and not mapped:
            pytest.skip(NOT_CLAIMED + f"GET /v1/models does not list {model!r} ({kind})")
        sent = self.send({**body, "model": model}, flavour, **kw)
        if unknown_model_answer(sent.exchange, model) or (mapped and sent.exchange.status == 404):
            if mapped:
                status = sent.exchange.status
                message = f"the profile maps {kind} to {model!r}, but the target answered HTTP {status}"
                self.judge.require(requirement, False, message, sent.exchange)
                return sent
            pytest.skip(NOT_CLAIMED + f"the target does not know model {model!r}")
        if sent.upstreams and sent.upstream is None:
            got = sorted({u.flavour for u in sent.upstreams})
            pytest.skip(NOT_CLAIMED + f"{kind_model(profile, kind)!r} was served by {got}, not {flavour}")
        return sent


def claimed_by_profile(profile: TargetProfile, kind: str, model: str) -> bool:
    """The profile maps `kind` to a model, or lists `model` in `models.offered`: GET /v1/models cannot
    overrule it (Portkey's listing is its OpenAI upstream's, without the Anthropic or Gemini models it
    serves), and an unknown-model answer for it is a finding."""
    explicit = profile.offered_models is not None and model in profile.offered_models
    return kind in profile.models_by_kind or explicit


_LISTINGS: dict[str, frozenset[str] | None] = {}


def listed_models(target: Target) -> frozenset[str] | None:
    """The model IDs the target lists (None when it lists none), read once per target."""
    if target.base_url not in _LISTINGS:
        exchange = target.request("GET", "/v1/models")
        data = (
            exchange.json.get("data") if exchange.status == 200 and isinstance(exchange.json, dict) else None
        )
        ids = {m.get("id") for m in data if isinstance(m, dict)} if isinstance(data, list) else set()
        _LISTINGS[target.base_url] = frozenset(i for i in ids if isinstance(i, str)) or None
    return _LISTINGS[target.base_url]


def user(text: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **extra}


FLAVOURS = ("openai", "anthropic", "gemini", "deepseek", "vllm")

#: model kind -> (flavour it must reach, public model name); a profile may rename them (`models.by_kind`)
KINDS: dict[str, tuple[str, str]] = {
    "claude_sonnet_4_6": ("anthropic", "claude-sonnet-4-6"),
    "claude_opus_4_7": ("anthropic", "claude-opus-4-7"),
    "claude_opus_4_5": ("anthropic", "claude-opus-4-5"),
    "claude_sonnet_4_5": ("anthropic", "claude-sonnet-4-5"),
    "claude_haiku_4_5": ("anthropic", "claude-haiku-4-5"),
    "gemini_2_5_flash": ("gemini", "gemini-2.5-flash"),
    "gemini_2_5_pro": ("gemini", "gemini-2.5-pro"),
    "gemini_3": ("gemini", "gemini-3-pro"),
    "o3": ("openai", "o3"),
    "o4_mini": ("openai", "o4-mini"),
    "gpt_5": ("openai", "gpt-5"),
    "gpt_5_4": ("openai", "gpt-5.4"),
    "gpt_4o": ("openai", "gpt-4o"),
    "llama": ("vllm", "llama-3.3-70b-instruct"),
    "deepseek_v4": ("deepseek", "deepseek-chat"),
    "qwen3": ("vllm", "qwen3-32b"),
}


# ------------------------------------------------------------------------------------------------ normaliser

TAG_RE = re.compile(r"\[\[\s*conformance-id\s*:\s*[^\]\s]+\s*\]\]")
REDACTED_RE = re.compile(r"\[redacted:[0-9a-f]+\]")
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
LONG_HEX_RE = re.compile(r"\b[0-9a-f]{24,}\b", re.IGNORECASE)
SECRET_PREFIX_RE = re.compile(r"\b(?:sk|ak|pk|rk)[-_][A-Za-z0-9_-]{6,}")

TAG_PLACEHOLDER = "[[conformance-id: <tag>]]"
SECRET_PLACEHOLDER = "<secret>"
#: keys whose values are identifiers a gateway may mint per request; replaced by <id-N> in order of appearance
ID_KEYS = frozenset({"id", "tool_call_id", "tool_use_id", "request_id", "responseId"})
TIME_KEYS = frozenset({"created", "timestamp", "created_at"})
SECRET_KEYS = frozenset({"api_key", "apikey", "authorization", "token", "secret", "password", "x-api-key"})
#: request headers that describe the translation (the rest - host, length, user agent - vary by run)
KEPT_HEADERS = frozenset({"anthropic-version", "anthropic-beta", "content-type"})
AUTH_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization"})


def scrub_text(text: str) -> str:
    """A string with the correlation marker, redacted keys, UUIDs and long hex ids replaced."""
    if "[[" in text:
        text = TAG_RE.sub(TAG_PLACEHOLDER, text)
    text = REDACTED_RE.sub(SECRET_PLACEHOLDER, text)
    text = SECRET_PREFIX_RE.sub(SECRET_PLACEHOLDER, text)
    text = UUID_RE.sub("<uuid>", text)
    return LONG_HEX_RE.sub("<hex>", text)


def _scrub(value: Any, ids: dict[str, str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(value[k], ids, k) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_scrub(item, ids, key) for item in value]
    if key is not None and key.lower() in SECRET_KEYS and value is not None:
        return SECRET_PLACEHOLDER
    if key in TIME_KEYS and isinstance(value, int | float) and not isinstance(value, bool):
        return "<timestamp>"
    if isinstance(value, str):
        if key in ID_KEYS:
            return ids.setdefault(value, f"<id-{len(ids) + 1}>")
        return scrub_text(value)
    return value


def _auth(value: str) -> str:
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} {SECRET_PLACEHOLDER}" if sep else SECRET_PLACEHOLDER


def normalise(upstream: Upstream) -> dict[str, Any]:
    """One upstream request as a stable, sorted document for a snapshot."""
    ids: dict[str, str] = {}
    headers = {
        name: (_auth(value) if name in AUTH_HEADERS else value)
        for name, value in sorted(upstream.headers.items())
        if name in KEPT_HEADERS or name in AUTH_HEADERS
    }
    return {
        "provider": upstream.flavour,
        "method": upstream.method,
        "path": scrub_text(upstream.path),
        "query": {
            k: (SECRET_PLACEHOLDER if k == "key" else scrub_text(v))
            for k, v in sorted(upstream.query.items())
        },
        "headers": headers,
        "body": _scrub(upstream.body, ids),
    }


def normalise_exchange(exchange: Exchange, upstreams: list[Upstream]) -> dict[str, Any]:
    """What a snapshot keeps of one corpus request: the gateway's status and every upstream request."""
    return {"gateway_status": exchange.status, "upstream": [normalise(u) for u in upstreams]}


# ------------------------------------------------------------------------------------------------ syrupy


PACKAGED_SNAPSHOTS = FIXTURES_DIR / "snapshots"


def snapshot_root() -> Path:
    """`--snapshot-dir` (the plugin puts it in the environment for xdist's workers too)."""
    return Path(os.environ.get(SNAPSHOT_DIR_ENV) or DEFAULT_SNAPSHOT_DIR)


def _safe(profile_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", profile_name).strip("-") or "unnamed"


def snapshot_dir(profile_name: str, *, updating: bool = False) -> Path:
    """`<root>/<profile>`, or the packaged baselines of that profile when the root has none.

    Updates always go to the root: `--snapshot-update` never writes into the installed package.
    """
    own = snapshot_root() / _safe(profile_name)
    packaged = PACKAGED_SNAPSHOTS / _safe(profile_name)
    if updating or own.is_dir() or not packaged.is_dir():
        return own
    return packaged


def profile_snapshot(snapshot: Any, profile: TargetProfile) -> Any:
    """The syrupy fixture bound to the profile's baselines; skips when there is no baseline to compare."""
    updating = bool(snapshot.update_snapshots)
    snap = snapshot.use_extension(extension_for(str(snapshot_dir(profile.name, updating=updating))))
    if not updating and not baseline_path(snap).exists():
        pytest.skip(
            f"no baseline for profile {profile.name!r} in {snapshot_root()}: "
            "record one with --snapshot-update"
        )
    return snap


@functools.cache
def extension_for(directory: str) -> type[JSONSnapshotExtension]:
    """A syrupy JSON extension that keeps its files in `<directory>/<test module>/`, one per assertion.

    The test module's name as the last directory is syrupy's own single-file layout, so it relates
    every file to its test (and reports baselines no test uses any more). One class per directory.
    """

    class ProfileSnapshotExtension(JSONSnapshotExtension):
        @classmethod
        def dirname(cls, *, test_location: Any) -> str:
            return str(Path(directory) / test_location.basename)

    return ProfileSnapshotExtension


def baseline_path(snapshot: Any) -> Path:
    """Where the current assertion of a syrupy `snapshot` (with our extension) reads its baseline."""
    return Path(snapshot.extension.get_location(test_location=snapshot.test_location, index=snapshot.index))


# ------------------------------------------------------------------------------------------------ corpus

CORPUS_PATH = FIXTURES_DIR / "corpus" / "translation.yaml"


@functools.cache
def load_corpus() -> dict[str, dict[str, Any]]:
    """The request corpus: named cases, each an OpenAI-shaped body and the providers it is sent to."""
    return dict(yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))["cases"])


def corpus_model(profile: TargetProfile, provider: str, case: dict[str, Any]) -> str | None:
    """The target's model for one corpus case on one provider (`@reasoning`/`@tools` use the profile's)."""
    chosen = (case.get("models") or {}).get(provider)
    if chosen == "@reasoning":
        return profile.reasoning_model
    if chosen == "@tools":
        return profile.tools_model
    return chosen or profile.models_by_provider.get(provider)


def corpus_params(config: pytest.Config) -> list[Any]:
    """(provider, case) parameters for every corpus case and every provider the target profile names."""

    path = config.getoption("--target-profile")
    providers = sorted(load_profile(Path(path) if path else None).models_by_provider)
    return [
        pytest.param(provider, name, id=f"{provider}-{name}")
        for name, case in load_corpus().items()
        for provider in providers
        if provider in (case.get("providers") or providers)
    ]
