"""AUTH-006, STREAM-022, REQ-028: security rules judged on the target (D-123, after D-048, D-050, D-051).

Each scenario plants what an attacker would send and reads back what happened: the mock journal says
where the upstream request went and what it carried, the client clock how long a stalled stream stayed
open, the error what it quoted.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from auriko_conformance.suites.checks.security import SecurityContext
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.target import CHAT_PATH, Mocks, Target
from auriko_conformance.suites.test_routing import (
    PATIENCE_S,
    body,
    directive,
    model_on,
    no_answer,
    settled_journal,
)

#: where a hijacked `base_url` would send the request: another OpenAI-compatible mock instance
DECOY_INSTANCE = "vllm-b"


@pytest.mark.requirement("AUTH-006")
@pytest.mark.needs("extensions")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_extensions_cannot_redirect_upstream(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    model = model_on(profile, "openai")
    provider = next((p for p, m in profile.models_by_provider.items() if m == model), None)
    if model is None or provider is None:
        pytest.skip(NOT_CLAIMED + "the profile names no model on the 'openai' mock")
    marker = f"conformance-{uuid.uuid4().hex[:12]}"
    decoy = f"{mocks.base_url}/{DECOY_INSTANCE}/v1"
    extension = {
        "base_url": decoy,
        "api_base": decoy,
        "api_url": decoy,
        "endpoint": decoy,
        "headers": {"X-Conformance-Marker": marker},
        "extra_headers": {"X-Conformance-Marker": marker},
        "default_headers": {"X-Conformance-Marker": marker},
        "extra_query": {"marker": marker},
        "default_query": {"marker": marker},
        "proxy": decoy,
    }
    exchange = target.chat(body(model, extensions={provider: extension}, stream=stream), tag=tag)
    context = SecurityContext(
        request=exchange.request_body or {},
        journal=settled_journal(mocks, tag),
        expected_instance="openai",
        marker=marker,
    )
    judge(exchange)
    judge(exchange, context, only=["extensions_never_redirect_upstream"])


@pytest.mark.requirement("STREAM-022")
@pytest.mark.needs("gateway_routing")
def test_deadline_bounds_a_stalled_stream(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    timeout_ms, deadline_ms, margin_ms = 1000, 1500, 1000
    request = body(
        profile.default_model,
        directives=[directive(stall_after=2)],
        routing={"timeout_ms": timeout_ms, "deadline_ms": deadline_ms, "allow_fallbacks": False},
        stream=True,
    )
    exchange = no_answer(judge, "STREAM-022", target.chat_within(request, PATIENCE_S, tag=tag))
    context = SecurityContext(request=exchange.request_body or {}, within_ms=deadline_ms + margin_ms)
    judge(exchange, context, only=["stream_deadline_bounds_a_stall"])


HOSTILE = {
    "json-as-text-plain": ("text/plain", None),
    "not-json": ("application/json", b"\xff\xfe{not json at all"),
    "huge-model-name": ("application/json", None),
}


@pytest.mark.requirement("REQ-028")
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input_gets_an_answer_or_the_envelope(
    target: Target, profile: TargetProfile, judge: Judge, case: str
) -> None:
    content_type, raw = HOSTILE[case]
    model = "m" * 100_000 if case == "huge-model-name" else profile.default_model
    request = body(model)
    data = raw if raw is not None else orjson.dumps(request)
    exchange = target.request("POST", CHAT_PATH, raw=data, headers={"Content-Type": content_type})
    exchange.request_body = request if raw is None else None
    judge(exchange, SecurityContext(request=request, hostile=True), only=["hostile_input_gets_an_envelope"])
