"""EXT: the `extensions` object, passed through to the selected provider and to no other.

Each check compares the client's `extensions` with the upstream request the mock journal recorded
(an `XlateContext`) or with the response's warnings and errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from auriko_conformance.mocks.journal import key_fingerprint
from auriko_conformance.suites.checks import (
    REFUSED_OWNERS,
    Applies,
    Context,
    Located,
    NotApplicable,
    check,
    request_failed,
)
from auriko_conformance.suites.checks.errors import SCENARIO_ERROR_OWNERS, expected_error
from auriko_conformance.suites.checks.xlate import (
    Upstream,
    XlateContext,
    camel,
    expect_of,
    owes_warning,
    upstream_request,
)
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.scenario import ExpectedError, RouteContext


def _top_level(up: Upstream, key: str) -> tuple[bool, Any]:
    body = up.json
    for spelling in (key, camel(key)) if up.flavour == "gemini" else (key,):
        if spelling in body:
            return True, body[spelling]
    return False, None


@check("EXT-001", **upstream_request())
def extensions_reach_provider(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Keys of `extensions.<selected>` appear top-level upstream with their values unchanged.

    expect: `extension` the extensions key of the provider that serves the request; `passthrough`
    the keys expected through (default: all of them).
    """
    up = context.upstream
    name = expect_of(context).get("extension")
    extensions = context.request.get("extensions") or {}
    if name is None or not isinstance(extensions.get(name), dict):
        raise NotApplicable
    keys = expect_of(context).get("passthrough") or list(extensions[name])
    for key in keys:
        present, value = _top_level(up, key)
        if not present:
            yield f"extensions.{name}.{key} did not reach {up.flavour} as a top-level field"
        elif value != extensions[name][key]:
            yield f"extensions.{name}.{key} reached {up.flavour} as {value!r}, sent {extensions[name][key]!r}"


@check("EXT-002", **upstream_request())
def other_extensions_stay_behind(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Keys under other providers' extensions never appear in the upstream body.

    expect: `extension` the selected provider's extensions key.
    """
    up = context.upstream
    name = expect_of(context).get("extension")
    extensions = context.request.get("extensions") or {}
    if name is None:
        raise NotApplicable
    own = set(extensions.get(name) or {}) if isinstance(extensions.get(name), dict) else set()
    for other, value in extensions.items():
        if other == name or not isinstance(value, dict):
            continue
        for key in value:
            if key in own:
                continue
            present, _ = _top_level(up, key)
            if present:
                yield f"extensions.{other}.{key} reached {up.flavour}, which is not {other}"


@check("EXT-003", Applies.ANY, defers=REFUSED_OWNERS)
def extension_provider_warnings(exchange: Exchange, context: Context) -> Iterator[str]:
    """Unused known providers give `ignored_extension`, unknown names `unknown_provider`; no failure.

    expect: `ignored` and `unknown` the extension names of each kind.
    """
    expect = expect_of(context)
    if "ignored" not in expect and "unknown" not in expect:
        raise NotApplicable
    if exchange.status != 200:
        # a provider's refusal of what the gateway sent is the translation rule's that explains it
        yield request_failed(
            f"extensions for other providers made the request fail with HTTP {exchange.status}"
        )
        return
    for kind, key in (("ignored_extension", "ignored"), ("unknown_provider", "unknown")):
        for name in expect.get(key) or ():
            if owes_warning(exchange, context, name, kind):
                yield f"no {kind} warning names extensions.{name}"


@check("EXT-004", context=XlateContext, upstream_side=True, defers=REFUSED_OWNERS)
def credentials_stripped(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Credential values from extensions reach no provider (body, headers or query), and the request works.
    A root-cause probe (`upstream_side`), also without a journal entry: a provider's refusal of a forwarded
    credential key, or the gateway's own refusal of the request, is this rule's finding, not "a valid
    request was refused" (REQ-027).

    expect: `secrets` the credential values the client hid in extensions.
    """
    secrets = expect_of(context).get("secrets")
    if not secrets:
        raise NotApplicable
    if exchange.status != 200:
        yield request_failed(f"the request with credential keys failed with HTTP {exchange.status}")
    for up in context.upstreams:
        raw = orjson.dumps(up.raw).decode()
        for secret in secrets:
            if any(trace in raw for trace in secret_traces(secret)):
                yield f"a credential value from extensions reached {up.flavour}"


def secret_traces(secret: str) -> tuple[str, str]:
    """How a secret shows in a journal entry: as itself in a body, or as the fingerprint the journal
    writes in place of an auth header or key query value (as AUTH-004 compares), so a credential the
    gateway moved into the upstream auth header is found too."""
    return secret, f"[redacted:{key_fingerprint(secret)}]"


def _path_value(body: Any, path: str) -> tuple[bool, Any]:
    node = body
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


#: a preserved field a provider always requires: when it is missing, the rule that requires it (XLATE-001
#: for Anthropic, which fails on every request then; XLATE-014 for the providers whose limit field it
#: names) is the finding, not the extension that happened to name it too
REQUIRED_UPSTREAM: dict[str, tuple[str, ...]] = {"$.max_tokens": ("XLATE-001", "XLATE-014")}
#: an extension's top-level key that never reached the provider: EXT-001's rule ("keys of the selected
#: provider's extension appear top-level upstream"), so what should have been nested under it is not
#: a stripping defect as well
NOT_FORWARDED = "(extension key not forwarded)"


@check("EXT-005", **upstream_request(), defers={**REQUIRED_UPSTREAM, NOT_FORWARDED: ("EXT-001",)})
def core_fields_top_level_only(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Core fields directly under extensions.<provider> are dropped; nested ones pass untouched.

    expect: `preserved` {upstream path: the client's own value}, `nested` {upstream path: value},
    `blocked_values` values that must not appear upstream.
    """
    up = context.upstream
    expect = expect_of(context)
    if not ("preserved" in expect or "nested" in expect):
        raise NotApplicable
    body = up.gemini if up.flavour == "gemini" else up.json
    for path, want in (expect.get("preserved") or {}).items():
        present, got = _path_value(body, path)
        if not present:
            message = f"upstream {path} is missing: the client's {want!r} vanished alongside the extension"
            yield Located(message, f"$.{path}")
        elif got != want:
            yield f"upstream {path} is {got!r}: an extension overrode the client's {want!r}"
    for path, want in (expect.get("nested") or {}).items():
        present, got = _path_value(up.json, path)
        if not present or got != want:
            message = f"nested extension field {path} reached {up.flavour} as {got!r}, not {want!r} untouched"
            parent, _ = _path_value(up.json, path.split(".")[0])
            yield message if parent else Located(message, NOT_FORWARDED)
    raw = orjson.dumps(up.body).decode()
    for value in expect.get("blocked_values") or ():
        if value in raw:
            yield f"the value of a core field set in extensions ({value!r}) reached {up.flavour}"


@check("EXT-006", Applies.ANY)
def strips_reported_without_value(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each stripped key is named by a warning; no stripped value appears anywhere in the response.

    expect: `stripped` the keys the gateway must strip; `stripped_values` their string values.
    """
    expect = expect_of(context)
    if not expect.get("stripped") or exchange.status != 200:
        raise NotApplicable
    for key in expect["stripped"]:
        if owes_warning(exchange, context, key):
            yield f"no warning names the stripped key {key!r}"
    text = exchange.body.decode("utf-8", "replace")
    for value in expect.get("stripped_values") or ():
        if value in text:
            yield "a stripped value is echoed in the response"


def _refused_as(exchange: Exchange, want: ExpectedError) -> Iterator[str]:
    """The situation's error, each part at its place: under 200, the envelope, a legacy code or a type its
    code does not have are the rules of those places' (SCENARIO_ERROR_OWNERS), the rest this rule's."""
    yield from expected_error(exchange, RouteContext(request={}, error=want))


@check("EXT-007", Applies.ANY, defers=SCENARIO_ERROR_OWNERS)
def service_tier_extension_rejected(exchange: Exchange, context: Context) -> Iterator[str]:
    """extensions.<provider>.service_tier is 400 invalid_request_error / invalid_request (D-023).

    expect: `platform_governed` the param path.
    """
    param = expect_of(context).get("platform_governed")
    if param is None:
        raise NotApplicable
    yield from _refused_as(
        exchange, ExpectedError(400, frozenset({"invalid_request"}), param, "invalid_request_error")
    )


@check("EXT-008", Applies.ANY, defers=SCENARIO_ERROR_OWNERS)
def extension_not_object_rejected(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-object extensions.<provider> is 400 invalid_parameter_value naming it.

    expect: `bad_extension` the param path.
    """
    param = expect_of(context).get("bad_extension")
    if param is None:
        raise NotApplicable
    yield from _refused_as(exchange, ExpectedError(400, frozenset({"invalid_parameter_value"}), param))
