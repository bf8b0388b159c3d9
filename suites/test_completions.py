"""Plain chat completions, non-stream and stream: shape, framing, usage, routing metadata."""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import Context
from auriko_conformance.suites.checks.stream import framing_broken, usage_chunk_blocker
from auriko_conformance.suites.checks.xlate import journal_context
from auriko_conformance.suites.exchange import Exchange, ItemKind
from auriko_conformance.suites.journal import answering_entries, native_usage
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.scenario import RouteContext
from auriko_conformance.suites.target import Mocks, Target


def _body(profile: TargetProfile, text: str = "Say something short.", **extra: Any) -> dict[str, Any]:
    return {"model": profile.default_model, "messages": [{"role": "user", "content": text}], **extra}


def _prices(profile: TargetProfile, final: dict[str, Any] | None) -> dict[str, float] | None:
    metadata = (final or {}).get("routing_metadata") or {}
    prices = profile.prices_for(metadata.get("provider"), metadata.get("provider_model_id"))
    return prices.as_dict() if prices and profile.claims_feature("cost") else None


@pytest.mark.requirement(
    "SCHEMA-001", "SCHEMA-002", "SCHEMA-003", "SCHEMA-005", "SCHEMA-009", "META-001", "META-003", "META-006",
    "META-008", "HDR-001", "ERR-003", "REQ-027",
)  # fmt: skip
def test_non_stream_completion(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    exchange = target.chat(_body(profile), tag=tag)
    expect.success(judge, exchange, "SCHEMA-001", prices=_prices(profile, exchange.json))


@pytest.mark.requirement("META-007")
@pytest.mark.needs("cost")
def test_cost_follows_prices(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    exchange = target.chat(_body(profile, "Tell me about cost accounting in two sentences."), tag=tag)
    prices = _prices(profile, exchange.json)
    if prices is None and exchange.status == 200:
        # No price for the provider and model the answer names: the report is wrong (META-001/003, or
        # META-011 against the journal), or the profile lacks that price (no finding against the gateway).
        judge(exchange)
        if judge.journal_of is not None:
            journal = judge.journal_of(tag)
            judge(exchange, RouteContext(request=exchange.request_body or {}, journal=journal),
                  only=["provider_names_answering_endpoint"])  # fmt: skip
        roots = tuple(sorted({f.requirement for f in judge.findings} & {"META-001", "META-003", "META-011"}))
        if not roots:
            metadata = (exchange.json or {}).get("routing_metadata") or {}
            named = f"{metadata.get('provider')!r} / {metadata.get('provider_model_id')!r}"
            pytest.skip(NOT_CLAIMED + f"the profile lists no prices for {named}")
        judge.block(
            "META-007", "the answer names no provider and model the profile prices", roots, stops=False
        )
        return
    judge(
        exchange,
        Context(request=exchange.request_body, prices=prices),
        only=["cost_matches_prices_and_usage"],
    )


@pytest.mark.requirement(
    "STREAM-001", "STREAM-002", "STREAM-003", "STREAM-004", "STREAM-005", "STREAM-006", "STREAM-007",
    "STREAM-009", "STREAM-010", "STREAM-011", "SCHEMA-002", "SCHEMA-009", "META-006",
)  # fmt: skip
def test_stream_without_stream_options(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    exchange = target.chat(_body(profile, stream=True), tag=tag)
    _expect_usage_chunk(judge, exchange, "STREAM-007", "no final usage chunk without stream_options", profile)


@pytest.mark.requirement("STREAM-008")
def test_include_usage_false_still_sends_usage(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    exchange = target.chat(_body(profile, stream=True, stream_options={"include_usage": False}), tag=tag)
    _expect_usage_chunk(
        judge, exchange, "STREAM-008", "include_usage: false suppressed the usage chunk", profile
    )


def _expect_usage_chunk(
    judge: Judge, exchange: Exchange, requirement: str, message: str, profile: TargetProfile
) -> None:
    final = exchange.stream.final_usage_chunk
    if not expect.success(judge, exchange, requirement, prices=_prices(profile, final)):
        return  # no answer: nothing more to judge (the judge named why)
    blocker = usage_chunk_blocker(exchange) if final is None else None
    if blocker and requirement not in blocker[0]:
        judge.block(requirement, blocker[1], blocker[0], stops=False)
        return
    judge.require(requirement, final is not None, message, exchange)


@pytest.mark.requirement("STREAM-003", "STREAM-004", "STREAM-005")
def test_stream_with_include_usage(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    """The client asks for usage the OpenAI way; the usage chunk must still have empty choices."""
    exchange = target.chat(_body(profile, stream=True, stream_options={"include_usage": True}), tag=tag)
    _expect_usage_chunk(
        judge, exchange, "STREAM-003", "no usage chunk although include_usage was true", profile
    )


@pytest.mark.requirement("STREAM-014")
def test_stream_text_equals_non_stream_text(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    body = _body(profile, "Describe a lighthouse at night.")
    plain = target.chat(body, tag=tag)
    if not expect.success(judge, plain, "STREAM-014"):
        return  # no answer: nothing more to judge (the judge named why)
    text = plain.json["choices"][0]["message"]["content"]
    streamed = target.chat({**body, "stream": True}, tag=tag)
    if not expect.success(judge, streamed, "STREAM-014"):
        return  # no answer: nothing more to judge (the judge named why)
    judge(
        streamed,
        Context(request=streamed.request_body, reference_text=text),
        only=["stream_text_matches_non_stream"],
    )


@pytest.mark.requirement("HDR-001")
def test_request_ids_are_unique(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    first = target.chat(_body(profile), tag=tag)
    second = target.chat(_body(profile), tag=tag)
    ids = [first.headers.get("x-request-id"), second.headers.get("x-request-id")]
    judge.require("HDR-001", ids[0] is not None and ids[0] != ids[1], f"X-Request-ID values {ids}", second)


@pytest.mark.requirement("STREAM-001", "STREAM-002")
def test_stream_ends_after_done(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    exchange = target.chat(_body(profile, stream=True), tag=tag)
    if not expect.success(judge, exchange, "STREAM-002"):
        return  # no answer: nothing more to judge (the judge named why)
    kinds = [item.kind for item in exchange.stream.items]
    if kinds[-1:] != [ItemKind.DONE] and framing_broken(exchange):
        judge.block("STREAM-002", "the stream's events could not be read apart", ("STREAM-001",), stops=False)
        return
    judge.require("STREAM-002", kinds[-1:] == [ItemKind.DONE], f"last event kinds {kinds[-3:]}", exchange)


STRATEGIES = ["cost", "cost-focus", "ttft", "ttft-focus", "tps", "tps-focus", "balanced"]


@pytest.mark.requirement("META-005")
@pytest.mark.needs("routing_metadata", "gateway_routing")
@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        (None, "cost-focus"),
        *(({"optimize": s}, s) for s in STRATEGIES),
        ({"weights": {"cost": 1, "ttft": 2}}, "custom"),
    ],
    ids=["default", *STRATEGIES, "weights"],
)
def test_routing_strategy_reports_the_strategy(
    target: Target,
    profile: TargetProfile,
    judge: Judge,
    tag: str,
    routing: dict[str, Any] | None,
    expected: str,
) -> None:
    body = _body(profile, **({"gateway": {"routing": routing}} if routing else {}))
    for stream in (False, True):
        exchange = target.chat({**body, "stream": stream}, tag=tag)
        expect.success(judge, exchange, "META-005", expected_strategy=expected)


@pytest.mark.requirement("STREAM-008", "STREAM-019", "XLATE-002")
def test_include_usage_false_reports_the_upstream_usage(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """With `include_usage: false` the usage chunk still comes, and it is the upstream's real usage
    (a gateway that forwards the client's false upstream and invents zeros is caught here)."""
    body = _body(profile, "Describe a quiet harbour.", stream=True, stream_options={"include_usage": False})
    exchange = target.chat(body, tag=tag)
    _expect_usage_chunk(
        judge, exchange, "STREAM-008", "include_usage: false suppressed the usage chunk", profile
    )
    journal = mocks.settled_journal(tag)
    # the client's false is the client's: the upstream is still asked for usage (XLATE-002)
    upstream = journal_context(body, journal)
    if upstream is not None:
        judge(exchange, upstream, only=["stream_options_where_accepted"])
    answers = answering_entries(journal)
    counts = native_usage(answers[-1]) if answers else None
    judge.require("STREAM-008", counts is not None, "the mocks recorded no upstream usage for this stream")
    usage = (exchange.stream.final_usage_chunk or {}).get("usage")
    if counts is not None and isinstance(usage, dict):  # no usage chunk: judged above, no counts to read
        got = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
        expect.usage_counts(judge, exchange, "STREAM-008", got, counts, upstream)


@pytest.mark.requirement("STREAM-021")
def test_stream_is_relayed_as_it_arrives(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """30 tokens paced at 20 tokens/s upstream: the client must see them spread over time, not at once."""
    generation_ms = 30 / 20 * 1000
    body = _body(profile, "Tell a short story. [[mock: words=30 tps=20]]", stream=True)
    exchange, arrivals = target.chat_timed(body, tag=tag)
    if not expect.success(judge, exchange, "STREAM-021"):
        return  # no answer: nothing more to judge (the judge named why)
    spread = arrivals[-1] - arrivals[0] if arrivals else 0.0
    judge.require(
        "STREAM-021",
        spread >= generation_ms / 2,
        f"the stream arrived within {spread:.0f} ms of its first byte; the upstream took about "
        f"{generation_ms:.0f} ms to generate it (buffered, not relayed)",
        exchange,
    )
