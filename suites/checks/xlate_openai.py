"""XLATE checks of the OpenAI-compatible providers: OpenAI, DeepSeek and vLLM.

These take the client's own field names, so the checks are about what must pass unchanged and what
each provider spells its own way (reasoning effort, DeepSeek's thinking switch and cache counts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from auriko_conformance.suites.checks import (
    REFUSED_OWNERS,
    Applies,
    Blocked,
    Context,
    NotApplicable,
    check,
    request_failed,
)
from auriko_conformance.suites.checks.stream import USAGE_OWNERS
from auriko_conformance.suites.checks.xlate import (
    Upstream,
    XlateContext,
    expect_of,
    final_usage,
    lenient,
    native_usage,
    owes_warning,
    upstream_of,
    upstream_request,
    usage_detail,
    usage_findings,
    usage_requested,
)
from auriko_conformance.suites.exchange import Exchange


def _deepseek_thinking(request: Mapping[str, Any], up: Upstream) -> bool:
    thinking = up.json.get("thinking")
    if isinstance(thinking, dict):
        return thinking.get("type") == "enabled"
    return request.get("reasoning_effort") not in (None, "off")


@check("XLATE-008", **upstream_request("deepseek"))
def deepseek_reasoning_content_on_tool_turns(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """In thinking mode every assistant tool-call turn sent to DeepSeek carries `reasoning_content`."""
    up = context.upstream
    if not (_deepseek_thinking(context.request, up) or expect_of(context).get("thinking")):
        raise NotApplicable
    client = [
        m
        for m in context.request.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls")
    ]
    sent = [
        m
        for m in up.json.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls")
    ]
    if len(sent) < len(client):
        yield f"{len(client)} assistant tool-call turns reached DeepSeek as {len(sent)}"
    for i, message in enumerate(sent):
        value = message.get("reasoning_content")
        if not isinstance(value, str):
            yield f"assistant tool-call turn {i} reached DeepSeek without reasoning_content ({value!r})"
        elif i < len(client) and client[i].get("reasoning_content") not in (None, value):
            yield f"turn {i} reasoning_content is {value!r}, sent {client[i]['reasoning_content']!r}"


OPENAI_UNCHANGED = (
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
    "logit_bias",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
)


VLLM_UNCHANGED = ("top_k", "min_p", "repetition_penalty", "top_a")
#: Fields a provider takes only on some models, so dropping them with a warning naming them is fine:
#: OpenAI's verbosity (GPT-5) and web_search_options (search models); top_a, which "some vLLM providers"
#: support (D-112).
MODEL_DEPENDENT: dict[str, frozenset[str]] = {
    "openai": frozenset({"web_search_options", "verbosity"}),
    "vllm": frozenset({"top_a"}),
}


@check("XLATE-017", Applies.ANY)
def openai_compatible_fields_unchanged(exchange: Exchange, context: Context) -> Iterator[str]:
    """OpenAI gets its own extra fields unchanged; vLLM gets top_k, min_p, repetition_penalty (and top_a
    where the model takes it)."""
    up = upstream_of(context, "openai", "vllm")
    if up is None:
        raise NotApplicable
    fields_ = OPENAI_UNCHANGED if up.flavour == "openai" else VLLM_UNCHANGED
    for name in fields_:
        if name not in context.request or context.request[name] is None:
            continue
        value = context.request[name]
        if name in MODEL_DEPENDENT[up.flavour]:
            yield from lenient(exchange, context, name in up.json, up.json.get(name), value, name, name)
        elif up.json.get(name) != value:
            yield f"{name}={value!r} reached {up.flavour} as {up.json.get(name)!r}"


OPENAI_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")


@check("XLATE-027", Applies.ANY, defers=REFUSED_OWNERS)
def openai_native_effort(exchange: Exchange, context: Context) -> Iterator[str]:
    """o-series/GPT-5 get reasoning_effort natively; `max` becomes the ceiling with a warning.

    expect: `effort_dropped_with_tools` (bool) for GPT-5.4+ with tools; `ceiling` (optional).
    """
    up = upstream_of(context, "openai")
    expect = expect_of(context)
    effort = context.request.get("reasoning_effort")
    if up is None or effort in (None, "off") or not expect.get("openai_reasoning"):
        raise NotApplicable
    got = up.json.get("reasoning_effort")
    if expect.get("effort_dropped_with_tools"):
        if got is not None:
            yield f"GPT-5.4+ with tools was sent reasoning_effort={got!r}"
        if exchange.status != 200:
            yield request_failed(f"the request failed with HTTP {exchange.status}")
        return
    if effort == "max":
        ceiling = expect.get("ceiling")
        if got == "max" or got not in OPENAI_EFFORTS or (ceiling is not None and got != ceiling):
            yield f"`max` reached OpenAI as reasoning_effort={got!r}, not the model's highest accepted value"
        if owes_warning(exchange, context, "reasoning_effort", "unsupported_parameter"):
            yield "`max` was changed without an unsupported_parameter warning naming reasoning_effort"
    elif got != effort:
        yield f"reasoning_effort {effort!r} reached OpenAI as {got!r}"


DEEPSEEK_EFFORTS = ("high", "max")


@check("XLATE-028", **upstream_request("deepseek"))
def deepseek_thinking_from_effort(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """DeepSeek V4: an effort other than `off` turns thinking on, with a DeepSeek depth if one is sent."""
    up = context.upstream
    effort = context.request.get("reasoning_effort")
    if effort in (None, "off") or not expect_of(context).get("deepseek_v4"):
        raise NotApplicable
    thinking = up.json.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") == "enabled"):
        yield f"reasoning_effort {effort!r} reached DeepSeek V4 as thinking={thinking!r}, not enabled"
    depth = up.json.get("reasoning_effort")
    if depth is not None and depth not in DEEPSEEK_EFFORTS:
        yield f"DeepSeek got reasoning_effort={depth!r}; its depths are {DEEPSEEK_EFFORTS}"


@check("XLATE-035", Applies.ANY, defers=USAGE_OWNERS)
def deepseek_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """cached = prompt_cache_hit_tokens; reasoning passed through; completion unchanged (not re-added)."""
    native = native_usage(context, "deepseek")
    if native is None or exchange.status != 200:
        raise NotApplicable
    up = upstream_of(context, "deepseek")
    if up is not None and up.json.get("stream") is True and not usage_requested(up):
        # the journal knows the provider's counts, but a stream never asked for them carried none to the
        # gateway: XLATE-002's finding (it fails on this request), not a mapping of counts never received
        raise Blocked("the stream did not ask the provider for usage", ("XLATE-002",))
    want = {
        "prompt_tokens": int(native.get("prompt_tokens") or 0),
        "completion_tokens": int(native.get("completion_tokens") or 0),
        "cached_tokens": int(native.get("prompt_cache_hit_tokens") or 0),
        "reasoning_tokens": usage_detail(native, "completion_tokens_details", "reasoning_tokens"),
    }
    yield from usage_findings(final_usage(exchange), want)
