"""ERR-007..011 and STREAM-015..020: what the client gets when the providers behind the target fail.

Failures are injected per request with `[[mock: ...]]` directives (no `provider=`: every instance the
target tries fails the same way, so "every attempt" holds whatever the target's fallback chain is), and
what reached the providers is read back from the mock journal. The rules come from real gateway bugs
(field-survey section 4): a 429 that loses `Retry-After`, an Anthropic 529 turned into a 500, an upstream
error sent as HTTP 200, a stream cut short that ends as if complete, cumulative usage summed.
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import Context, all_checks
from auriko_conformance.suites.checks.xlate import journal_context
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import answering_entries, native_usage
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.scenario import ExpectedError, RouteContext
from auriko_conformance.suites.target import Mocks, Target
from auriko_conformance.suites.test_routing import (
    ATTEMPT_MS,
    PATIENCE_S,
    body,
    directive,
    failed,
    model_on,
    no_answer,
    scene,
    settled_journal,
)


def _model(profile: TargetProfile, instance: str) -> str:
    """The profile's model for the provider behind mock `instance`."""
    model = model_on(profile, instance)
    if model is None:
        pytest.skip(NOT_CLAIMED + f"the profile names no model on the {instance!r} mock")
    return model


#: the rule that bounds a wait on a silent provider: it is abandoned after `timeout_ms`
ABANDONED = "ROUTE-023"


def _calls(journal: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(e.get("provider"), e.get("status")) for e in journal]


def _context(exchange: Exchange, journal: list[dict[str, Any]] | None = None, **fields: Any) -> RouteContext:
    return RouteContext(request=exchange.request_body or {}, journal=journal, **fields)


# --------------------------------------------------------------------------------------------------
# ERR: the mapping of upstream failures
# --------------------------------------------------------------------------------------------------


RATE_LIMITED = ExpectedError(429, frozenset({"rate_limit_exceeded"}), error_type="rate_limit_error")
#: How long a client waits for the 429: far less than the upstream's `Retry-After: 30`, so a gateway
#: that sleeps the Retry-After itself (and retries) instead of passing the 429 on is a finding, not a
#: client read timeout.
RATE_LIMIT_PATIENCE_S = 15.0


@pytest.mark.requirement("ERR-007", "HDR-003")
@pytest.mark.parametrize(
    ("provider", "chain", "stream"),
    [
        ("openai", "exhausted", False),
        ("openai", "no-fallback", False),
        ("openai", "exhausted", True),
        ("anthropic", "exhausted", False),
        ("deepseek", "exhausted", False),
    ],
)
def test_upstream_429_stays_429_with_retry_after(
    target: Target,
    profile: TargetProfile,
    mocks: Mocks,
    judge: Judge,
    tag: str,
    provider: str,
    chain: str,
    stream: bool,
) -> None:
    """Every instance answers 429 with `Retry-After: 30` (a header in these providers' APIs)."""
    routing = None
    if chain == "no-fallback":
        if not profile.claims_feature("gateway_routing"):
            pytest.skip(NOT_CLAIMED + "gateway_routing")
        routing = {"allow_fallbacks": False}
    model = _model(profile, provider)
    request = body(model, directives=[directive(error=429, retry_after=30)], routing=routing, stream=stream)
    exchange = no_answer(
        judge,
        "ERR-007",
        target.chat_within(request, RATE_LIMIT_PATIENCE_S, tag=tag),
        RATE_LIMIT_PATIENCE_S,
        "to upstream 429s with Retry-After: 30: the gateway holds the client instead of passing the 429 on",
    )
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "ERR-007", "HDR-003"):
        return
    checks = ["upstream_429_stays_429", "upstream_retry_after_preserved"]
    if stream:
        checks.append("pre_stream_error_is_non_2xx")
    failed(judge, exchange, _context(exchange, error=RATE_LIMITED), *checks)


@pytest.mark.requirement("ERR-011", "HDR-003")
def test_gemini_retry_delay_becomes_retry_after(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """Gemini says how long to wait in the body (`google.rpc.RetryInfo` `retryDelay: "30s"`), not in a
    header; D-038 asks for a client `Retry-After` no shorter than the upstream's, whatever its spelling."""
    request = body(_model(profile, "gemini"), directives=[directive(error=429, retry_after=30)])
    exchange = target.chat(request, tag=tag)
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "ERR-011", "HDR-003"):
        return
    judge(exchange)
    context = _context(exchange, error=RATE_LIMITED)
    judge(exchange, context, only=["upstream_error_mapping", "upstream_retry_delay_kept"])


@pytest.mark.requirement("ERR-008", "ERR-011", "STREAM-017")
@pytest.mark.parametrize(
    ("provider", "status", "stream"),
    [("anthropic", 529, False), ("anthropic", 529, True), ("openai", 503, False), ("gemini", 503, False)],
)
def test_upstream_overload_is_a_retryable_503(
    target: Target,
    profile: TargetProfile,
    mocks: Mocks,
    judge: Judge,
    tag: str,
    provider: str,
    status: int,
    stream: bool,
) -> None:
    request = body(_model(profile, provider), directives=[directive(error=status)], stream=stream)
    exchange = target.chat(request, tag=tag)
    journal = settled_journal(mocks, tag)
    if not expect.staged(judge, exchange, journal, "ERR-008", "ERR-011", "STREAM-017"):
        return
    judge.require(
        "ERR-008",
        bool(journal) and all(e.get("status") == status for e in journal),
        f"the scenario expected every attempt to answer {status}: {_calls(journal)}",
        exchange,
    )
    overload = _context(exchange, error=ExpectedError(503, error_type="api_error"))
    checks = ["upstream_overload_is_503", "upstream_overload_never_500"]
    failed(judge, exchange, overload, *checks, *(["pre_stream_error_is_non_2xx"] if stream else []))
    mapped = _context(exchange, error=ExpectedError(503, frozenset({"service_unavailable"})))
    judge(exchange, mapped, only=["upstream_error_mapping"])


@pytest.mark.requirement("ERR-009", "STREAM-017")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_upstream_timeout_is_504(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    request = body(
        profile.default_model,
        directives=[directive(timeout=True)],
        routing={"timeout_ms": ATTEMPT_MS},
        stream=stream,
    )
    exchange = no_answer(
        judge, "ERR-009", target.chat_within(request, PATIENCE_S, tag=tag), bounded_by=ABANDONED
    )
    want = ExpectedError(504, frozenset({"upstream_timeout"}), error_type="api_error")
    failed(
        judge,
        exchange,
        _context(exchange, error=want),
        "upstream_timeout_is_504",
        "pre_stream_error_is_non_2xx",
    )


ERR_010_CASES = {
    "500": ("anthropic", {"error": 500}, False),  # Anthropic's own error shape must not leak through
    "500-gemini": ("gemini", {"error": 500}, False),
    "garbage-anthropic": ("anthropic", {"malformed": True}, False),
    "garbage": ("openai", {"malformed": True}, False),  # an unparseable 200 body
    "reset": ("openai", {"disconnect_after": 0}, True),  # headers, then the connection drops
}


@pytest.mark.requirement("ERR-010", "STREAM-017")
@pytest.mark.parametrize("case", list(ERR_010_CASES))
def test_other_upstream_failures_are_502(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, case: str
) -> None:
    provider, values, stream = ERR_010_CASES[case]
    request = body(_model(profile, provider), directives=[directive(**values)], stream=stream)
    exchange = target.chat(request, tag=tag)
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "ERR-010", "STREAM-017"):
        return
    want = ExpectedError(502, frozenset({"upstream_error"}))
    failed(
        judge,
        exchange,
        _context(exchange, error=want),
        "upstream_failure_is_502",
        "pre_stream_error_is_non_2xx",
    )


@pytest.mark.requirement("ERR-011")
@pytest.mark.needs("gateway_routing")
def test_chain_error_reflects_the_last_attempt(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    failing = [
        directive(provider=cheap.instance, error=429, retry_after=1),
        directive(provider=dear.instance, error=500),
    ]
    exchange = target.chat(body(cheap.model, directives=failing, routing={"optimize": "cost-focus"}), tag=tag)
    journal = settled_journal(mocks, tag)
    if not expect.staged(judge, exchange, journal):
        return
    last = journal[-1].get("status") if journal else None
    if last == 429:
        want = ExpectedError(429, frozenset({"rate_limit_exceeded"}))
    else:  # the last attempt's 500: ERR-010 states its mapping
        want = ExpectedError(502, frozenset({"upstream_error"}), mapped_by="ERR-010")
    tried = _calls(journal)
    if not {cheap.instance, dear.instance} <= {p for p, _ in tried}:
        # no chain: the gateway did not fall back after the 429 (ROUTE-026's rule, judged on this journal)
        chain = _context(exchange, journal, min_upstream=2)
        if judge(exchange, chain, only=["fallbacks_on_by_default"]):
            judge.block("ERR-011", f"no chain to reflect: {tried}", ("ROUTE-026",), stops=False)
            return
        judge.require("ERR-011", False, f"expected both providers to be tried: {tried}", exchange)
    failed(judge, exchange, _context(exchange, journal, error=want), "upstream_error_mapping")


@pytest.mark.requirement("ERR-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("status", [401, 403])
def test_upstream_credential_failure_is_502_after_fallback(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, status: int
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    exchange = target.chat(body(cheap.model, directives=[directive(error=status)]), tag=tag)
    journal = settled_journal(mocks, tag)
    judge.require(
        "ERR-011",
        len(journal) >= 2,
        f"an upstream {status} did not fail over: {_calls(journal)}",
        exchange,
    )
    want = ExpectedError(502, frozenset({"upstream_error"}))
    failed(judge, exchange, _context(exchange, journal, error=want), "upstream_error_mapping")


#: `reject=REASON` -> what the client gets (D-038): the provider's context-length or content-filter 400
#: is about the client's request, so it is mapped, not retried elsewhere.
REJECTED = {
    "context_length": ExpectedError(
        400, frozenset({"context_length_exceeded"}), error_type="invalid_request_error"
    ),
    "content_filter": ExpectedError(400, frozenset({"content_filtered"}), error_type="invalid_request_error"),
}
#: (mock instance, reason) where the provider has a 400 of its own for it (`mocks/errors.py`)
REJECTIONS = [
    ("openai", "context_length"),
    ("openai", "content_filter"),
    ("anthropic", "context_length"),
    ("anthropic", "content_filter"),
    ("gemini", "context_length"),
    ("deepseek", "context_length"),
    ("vllm", "context_length"),
]


@pytest.mark.requirement("ERR-011")
@pytest.mark.parametrize(("instance", "reason"), REJECTIONS, ids=[f"{i}-{r}" for i, r in REJECTIONS])
def test_upstream_rejection_is_mapped_without_fallback(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, instance: str, reason: str
) -> None:
    model = _model(profile, instance)
    exchange = target.chat(body(model, directives=[directive(reject=reason)]), tag=tag)
    journal = settled_journal(mocks, tag)
    if not expect.rejection_staged(judge, exchange, journal, "ERR-011"):
        return
    judge.require(
        "ERR-011", len(journal) == 1, f"an upstream {reason} 400 was retried: {_calls(journal)}", exchange
    )
    failed(judge, exchange, _context(exchange, journal, error=REJECTED[reason]), "upstream_error_mapping")


# --------------------------------------------------------------------------------------------------
# STREAM: failures around streams
# --------------------------------------------------------------------------------------------------


MID_STREAM_CASES = {
    "cut-openai": ("openai", {"disconnect_after": 3}),
    "cut-anthropic": ("anthropic", {"disconnect_after": 8}),  # past message_start and the first deltas
    "garbage": ("openai", {"malformed": True}),  # an unparseable frame after the first event
    "stall": ("openai", {"stall_after": 3}),
}


@pytest.mark.requirement("STREAM-015", "STREAM-016")
@pytest.mark.parametrize("case", list(MID_STREAM_CASES))
def test_mid_stream_failure_is_never_a_clean_end(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, case: str
) -> None:
    provider, values = MID_STREAM_CASES[case]
    routing = None
    if case == "stall":  # only a per-attempt allowance ends a stalled upstream in reasonable time
        if not profile.claims_feature("gateway_routing"):
            pytest.skip(NOT_CLAIMED + "gateway_routing (timeout_ms ends the stalled stream)")
        routing = {"timeout_ms": ATTEMPT_MS}
    request = body(_model(profile, provider), directives=[directive(**values)], routing=routing, stream=True)
    exchange = no_answer(
        judge, "STREAM-015", target.chat_within(request, PATIENCE_S, tag=tag), bounded_by=ABANDONED
    )
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "STREAM-015", "STREAM-016"):
        return
    if case == "stall" and exchange.elapsed_ms >= PATIENCE_S * 1000:
        # still open when the client gave up: the stalled provider was never abandoned (ROUTE-023); how
        # a failure is reported in the stream is not reached
        message = f"the stalled stream was still open after {PATIENCE_S:g} s; timeout_ms was {ATTEMPT_MS}"
        judge.require(ABANDONED, False, message, exchange)
        for requirement in ("STREAM-015", "STREAM-016"):
            judge.block(requirement, "the stall never ended the stream", (ABANDONED,), stops=False)
        return
    judge(exchange)
    context = _context(exchange, upstream_failed=True)
    judge(exchange, context, only=["upstream_failure_reported_in_stream"])
    if exchange.status == 200 and exchange.is_stream:
        judge(exchange, context, only=["mid_stream_error_event_format"])


STREAM_017_CASES = ["validation", "authentication", "unknown-model", "upstream"]
#: the rule that makes each client-side case an error: a target that serves it as a success breaks that
#: rule, and STREAM-017 (how the error is sent) has nothing to judge
STREAM_017_RULES = {"validation": "REQ-004", "authentication": "AUTH-001", "unknown-model": "REQ-026"}


@pytest.mark.requirement("STREAM-017")
@pytest.mark.parametrize("case", STREAM_017_CASES)
def test_errors_before_the_first_byte_are_non_2xx(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, case: str
) -> None:
    request = body(profile.default_model, stream=True)
    auth = True
    if case == "validation":
        request["temperature"] = 5
    elif case == "authentication":
        if not target.api_key:
            pytest.skip(NOT_CLAIMED + "the target runs without an API key")
        auth = False
    elif case == "unknown-model":
        request["model"] = profile.unknown_model
    else:
        request = body(profile.default_model, directives=[directive(error=500)], stream=True)
    exchange = target.chat(request, tag=tag, auth=auth)
    judge(exchange)
    if case in STREAM_017_RULES:
        expect.pre_stream_error(judge, exchange, case, STREAM_017_RULES[case])
        return
    context = _context(exchange, error=ExpectedError(400))  # any error status: the check asks for non-2xx
    judge(exchange, context, only=["pre_stream_error_is_non_2xx"])


@pytest.mark.requirement("STREAM-018")
@pytest.mark.parametrize("provider", ["anthropic", "deepseek"])
def test_upstream_keepalives_never_become_data(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, provider: str
) -> None:
    """Anthropic streams a `ping` event; DeepSeek may send `: keep-alive` comments."""
    exchange = target.chat(body(_model(profile, provider), stream=True), tag=tag)
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "STREAM-018"):
        return
    if not expect.success(judge, exchange, "STREAM-018"):
        return  # no answer: nothing more to judge (the judge named why)
    judge(exchange, only=["upstream_keepalives_not_data"])


@pytest.mark.requirement("STREAM-019")
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "deepseek", "vllm"])
def test_cumulative_upstream_usage_is_not_summed(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, provider: str
) -> None:
    request = body(_model(profile, provider), directives=[directive(usage="cumulative")], stream=True)
    # Ask for usage explicitly: a missing usage chunk is STREAM-007's finding, not this one's.
    request["stream_options"] = {"include_usage": True}
    exchange = target.chat(request, tag=tag)
    if not expect.staged(judge, exchange, settled_journal(mocks, tag), "STREAM-019"):
        return
    if not expect.success(judge, exchange, "STREAM-019"):
        return  # no answer: nothing more to judge (the judge named why)
    answers = answering_entries(settled_journal(mocks, tag))
    counts = native_usage(answers[-1]) if answers else None
    judge.require(
        "STREAM-019", counts is not None, "the journal holds no upstream usage for this stream", exchange
    )
    # the usage translation rules on what the provider answered: counts mapped wrongly are theirs
    upstream = journal_context(request, settled_journal(mocks, tag))
    if upstream is not None:
        names = [n for n, c in all_checks().items() if c.requirement in expect.USAGE_TRANSLATION]
        judge(exchange, upstream, only=names)
    judge(exchange, _context(exchange, upstream_usage=counts), only=["cumulative_usage_not_summed"])


@pytest.mark.requirement("STREAM-020")
@pytest.mark.needs("logprobs")
@pytest.mark.parametrize("provider", ["openai", "deepseek", "vllm"])  # providers whose APIs return logprobs
def test_logprobs_survive_streaming(
    target: Target, profile: TargetProfile, judge: Judge, tag: str, provider: str
) -> None:
    exchange = target.chat(body(_model(profile, provider), logprobs=True, stream=True), tag=tag)
    if not expect.success(judge, exchange, "STREAM-020"):
        return  # no answer: nothing more to judge (the judge named why)
    judge(exchange, Context(request=exchange.request_body), only=["stream_logprobs_join_to_content"])
