"""Issue 19, item 7: a provider that counts reasoning in `completion_tokens` without saying how much
(vLLM serving `qwen3-32b`) still gets `reasoning_tokens` (estimated from the reasoning text, D-061), so
`completion_tokens - reasoning_tokens` is the visible answer. Before: `reasoning_tokens` 0 for 16."""

from __future__ import annotations

from auriko_conformance.mocks.tokens import count_tokens
from auriko_conformance.reference_impl.adapters.base import Usage, with_reasoning_estimate

from tests.reference.conftest import check_completion, check_stream, user


async def test_qwen3_reasoning_tokens_non_stream(chat):
    response = await chat({"model": "qwen3-32b", "messages": user("hello there")})
    body = response.json()
    check_completion(body)
    message = body["choices"][0]["message"]
    usage = body["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning == count_tokens(message["reasoning_content"]) > 0
    assert usage["completion_tokens"] - reasoning == count_tokens(message["content"])


async def test_qwen3_reasoning_tokens_stream(chat):
    body = {"model": "qwen3-32b", "messages": user("hello there"), "stream": True}
    body["stream_options"] = {"include_usage": True}
    response = await chat(body)
    payloads = check_stream(response.text)
    text = "".join(c["delta"].get("content") or "" for p in payloads for c in p["choices"])
    thought = "".join(c["delta"].get("reasoning_content") or "" for p in payloads for c in p["choices"])
    usage = payloads[-1]["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning == count_tokens(thought) > 0
    assert usage["completion_tokens"] - reasoning == count_tokens(text)


def test_estimate_never_replaces_a_reported_count_nor_exceeds_the_total():
    reported = Usage(prompt=1, completion=30, reasoning=7)
    assert with_reasoning_estimate(reported, ["one two three"]) is reported
    assert with_reasoning_estimate(Usage(completion=2), ["one two three"]) == Usage(completion=2, reasoning=2)
    assert with_reasoning_estimate(Usage(completion=9), []) == Usage(completion=9)
    assert with_reasoning_estimate(None, ["x"]) is None
