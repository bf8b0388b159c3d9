"""AUTH and the gateway's own errors: keys, wrong methods, unknown paths, errors before a stream starts."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import orjson
import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import Mocks, Target

USER = [{"role": "user", "content": "Hello"}]
INVALID_KEY = {"status": 401, "code": "invalid_api_key", "error_type": "authentication_error"}


def _body(profile: TargetProfile, **extra: Any) -> dict[str, Any]:
    return {"model": profile.default_model, "messages": USER, **extra}


ENDPOINTS = [
    ("POST", "/v1/chat/completions"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{model}"),
    ("GET", "/v1/me"),
]


@pytest.mark.requirement("AUTH-001", "HDR-002", "ERR-014")
@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[p for _, p in ENDPOINTS])
def test_missing_key(target: Target, profile: TargetProfile, judge: Judge, method: str, path: str) -> None:
    feature = {"/v1/me": "me_endpoint"}.get(
        path, "models_endpoint" if path.startswith("/v1/models") else None
    )
    if feature and not profile.claims_feature(feature):
        pytest.skip(NOT_CLAIMED + feature)
    body = _body(profile) if method == "POST" else None
    exchange = target.request(method, path.format(model=profile.default_model), body=body, auth=False)
    expect.error(judge, exchange, "AUTH-001", **INVALID_KEY)


BAD_KEYS = {
    "unknown_ak_key": f"Bearer ak_live_{secrets.token_hex(12)}",
    "basic_scheme": "Basic YWtfdGVzdDp4",
    "empty_bearer": "Bearer",
    "sk_key": "Bearer sk-proj-0123456789abcdef",
}


@pytest.mark.requirement("AUTH-002", "ERR-014")
@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_wrong_keys(target: Target, profile: TargetProfile, judge: Judge, case: str) -> None:
    exchange = target.chat(_body(profile), auth=False, headers={"Authorization": BAD_KEYS[case]})
    expect.error(judge, exchange, "AUTH-002", **INVALID_KEY)


#: the error types of a refused key: an answer of either type was an authentication decision
AUTH_ERROR_TYPES = frozenset({"authentication_error", "permission_error"})


@pytest.mark.requirement("AUTH-003")
@pytest.mark.parametrize("body_case", ["empty_messages", "unknown_model"])
def test_auth_before_validation(target: Target, profile: TargetProfile, judge: Judge, body_case: str) -> None:
    body = (
        _body(profile, messages=[])
        if body_case == "empty_messages"
        else _body(profile, model=profile.unknown_model)
    )
    for auth in (None, f"Bearer ak_live_{secrets.token_hex(8)}"):
        exchange = target.chat(body, auth=False, headers={"Authorization": auth} if auth else None)
        judge(exchange)  # the envelope and its code are AUTH-001/002's business; AUTH-003 is the order
        error_type = (exchange.error or {}).get("type")
        if exchange.status == 403 and error_type in AUTH_ERROR_TYPES:
            # the key was refused first (the order holds), with the status AUTH-001/002 hold to 401
            owner = "AUTH-001" if auth is None else "AUTH-002"
            message = (
                f"a {'missing' if auth is None else 'unknown'} key was refused with 403 {error_type}, not 401"
            )
            judge.require(owner, False, message, exchange)
            judge.block("AUTH-003", "the key was refused first, with the wrong status", (owner,), stops=False)
            continue
        judge.require(
            "AUTH-003",
            exchange.status == 401,
            f"expected HTTP 401 before anything else is checked, got {exchange.status}",
            exchange,
        )


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


@pytest.mark.requirement("AUTH-004")
def test_client_key_never_forwarded(
    target: Target, mocks: Mocks, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    """Judged on the journal alone: what the target answered the client is other requirements' business."""
    key = target.api_key or ""
    for model in {profile.default_model, *profile.models_by_provider.values()}:
        target.chat({"model": model, "messages": USER}, tag=tag)
    entries = mocks.journal(tag)
    if not entries:
        judge.block("AUTH-004", "the mocks recorded no upstream request: no key could be looked for")
        return
    judge.checked.add("AUTH-004")
    for entry in entries:
        text = orjson.dumps({k: entry.get(k) for k in ("path", "query", "headers", "body")}).decode()
        leaked = key in text or f"[redacted:{_fingerprint(key)}]" in text
        judge.require("AUTH-004", not leaked, f"the client key reached {entry.get('provider')}: {text[:300]}")


@pytest.mark.requirement("AUTH-005")
def test_provider_keys_never_reach_the_client(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    if not profile.upstream_keys:
        pytest.skip(NOT_CLAIMED + "the profile lists no upstream_keys")
    exchanges = []
    for model in {profile.default_model, *profile.models_by_provider.values()}:
        exchanges.append(target.chat({"model": model, "messages": USER}, tag=tag))
        exchanges.append(target.chat({"model": model, "messages": USER, "stream": True}, tag=tag))
        faulty = [{"role": "user", "content": "Fail please [[mock: error=401]]"}]
        exchanges.append(target.chat({"model": model, "messages": faulty}, tag=tag))
    for exchange in exchanges:
        text = exchange.body.decode("utf-8", errors="replace") + " ".join(
            f"{k}: {v}" for k, v in exchange.headers.items()
        )
        for key in profile.upstream_keys:
            judge.require(
                "AUTH-005", key not in text, f"provider key {key[:6]}... appears in a response", exchange
            )


@pytest.mark.requirement("ERR-005", "HDR-002")
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method(target: Target, judge: Judge, method: str) -> None:
    exchange = target.request(method, "/v1/chat/completions")
    expect.error(judge, exchange, "ERR-005", status=405, code="method_not_allowed")
    allow = exchange.headers.get("allow", "")
    judge.require("ERR-005", "POST" in allow.upper(), f"Allow header is {allow!r}", exchange)


@pytest.mark.requirement("ERR-006", "HDR-002")
@pytest.mark.parametrize("path", ["/v1/chat/complete", "/v1/nothing/here", "/v1/chat/completions/x"])
def test_unknown_path(target: Target, judge: Judge, path: str) -> None:
    exchange = target.request("GET", path)
    expect.error(judge, exchange, "ERR-006", status=404, code="resource_not_found")
    # ERR-006 names the envelope itself ("404 with a JSON error envelope"): a body that is no JSON object
    # is its finding; a JSON object of another shape is the envelope's rule's (SCHEMA-006 fails on it)
    if exchange.error is None and isinstance(exchange.json, dict):
        reason = f"the 404 is JSON without the envelope: {exchange.excerpt(80)!r}"
        judge.block("ERR-006", reason, (expect.ENVELOPE,), stops=False)
    else:
        judge.require(
            "ERR-006", exchange.error is not None, f"the 404 is no error envelope: {exchange.excerpt(80)!r}"
        )


#: the requirement that makes each situation an error (a target that accepts it breaks that rule)
PRE_STREAM_RULES = {"validation": "REQ-004", "unknown_model": "REQ-026", "auth": "AUTH-001"}


@pytest.mark.requirement("STREAM-017", "META-002")
@pytest.mark.parametrize("case", ["validation", "unknown_model", "auth"])
def test_errors_before_the_stream_are_not_200(
    target: Target, profile: TargetProfile, judge: Judge, case: str
) -> None:
    if case == "validation":
        exchange = target.chat(_body(profile, stream=True, temperature=9))
    elif case == "unknown_model":
        exchange = target.chat(_body(profile, stream=True, model=profile.unknown_model))
    else:
        exchange = target.chat(_body(profile, stream=True), auth=False)
    expect.pre_stream_error(judge, exchange, case, PRE_STREAM_RULES[case])
    judge(exchange)
