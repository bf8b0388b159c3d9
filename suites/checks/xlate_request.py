"""XLATE checks of one client field judged on every provider's native side.

Each check here follows a single client field (endpoint and auth, `stop`, the token limit, sampling,
fields without a native counterpart, images, reasoning `off`) across the providers, so the mapping
table for that field stays in one place; the per-provider modules hold what only one provider has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auriko_conformance.suites.checks import (
    REFUSED_OWNERS,
    Applies,
    Context,
    Located,
    NotApplicable,
    check,
    request_failed,
)
from auriko_conformance.suites.checks.xlate import (
    OPENAI_COMPATIBLE,
    XlateContext,
    camel,
    client_stops,
    client_tool_calls,
    error_code,
    expect_of,
    lenient,
    upstream_of,
    upstream_request,
    usage_requested,
)
from auriko_conformance.suites.checks.xlate_anthropic import anthropic_thinking
from auriko_conformance.suites.exchange import Exchange

GEMINI_PATH_RE = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")


def reported_model(message: str) -> str:
    """The expected model comes from the answer's `provider_model_id`: a mismatch is either the placement
    (this rule) or the report (META-011, which compares it with the journal on the same exchange)."""
    return Located(message, "$.routing_metadata.provider_model_id")


@check(
    "XLATE-001",
    **upstream_request(),
    defers={"$.max_tokens": ("EXT-005",), "$.routing_metadata.provider_model_id": ("META-011",)},
)
def native_endpoint_and_auth(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Each provider gets its own endpoint, auth header and model placement; Anthropic always a max_tokens.

    expect: `provider_model_id` (optional) the model ID the provider must be asked for.
    """
    up = context.upstream
    stream = context.request.get("stream") is True
    model = expect_of(context).get("provider_model_id")
    if up.method != "POST":
        yield f"{up.flavour} was called with {up.method}, not POST"
    if up.flavour == "anthropic":
        if not up.path.endswith("/v1/messages"):
            yield f"Anthropic was called at {up.path}, not <base>/v1/messages"
        auth = up.header("authorization") or ""
        if not up.header("x-api-key") and not auth.lower().startswith("bearer "):
            yield "Anthropic request carries neither x-api-key nor a bearer token"
        if not up.header("anthropic-version"):
            yield "Anthropic request has no anthropic-version header"
        max_tokens = up.json.get("max_tokens")
        limit = context.request.get("max_completion_tokens") or context.request.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            yield f"Anthropic body max_tokens is {max_tokens!r}, not a positive integer"
        elif isinstance(limit, int) and not anthropic_thinking(up) and max_tokens != limit:
            # set from extensions.anthropic, this is EXT-005's defect (core fields there are stripped)
            yield Located(
                f"Anthropic body max_tokens is {max_tokens}, the client's limit is {limit}", "$.max_tokens"
            )
        if model is not None and up.json.get("model") != model:
            yield reported_model(f"Anthropic body model is {up.json.get('model')!r}, expected {model!r}")
    elif up.flavour == "gemini":
        match = GEMINI_PATH_RE.search(up.path)
        want = "streamGenerateContent" if stream else "generateContent"
        if match is None or match.group(2) != want:
            yield f"Gemini was called at {up.path}, expected .../models/{{model}}:{want}"
        elif model is not None and match.group(1) != model:
            yield reported_model(f"Gemini path names model {match.group(1)!r}, expected {model!r}")
        # Google documents both stream framings (alt=sse events, or one JSON array without it) and both
        # key placements (x-goog-api-key, or ?key=): either is the native call (D-138).
        if stream and up.query.get("alt", "json") not in ("sse", "json"):
            yield f"Gemini stream request has query {up.query!r}, expected alt=sse or none (a JSON array)"
        if not up.header("x-goog-api-key") and not up.query.get("key"):
            yield "Gemini request carries its key neither in x-goog-api-key nor in ?key="
        if "model" in up.json:
            yield "Gemini body carries `model`; the model belongs only in the path"
    elif up.flavour in OPENAI_COMPATIBLE:
        if not up.path.endswith("/chat/completions"):
            yield f"{up.flavour} was called at {up.path}, not .../chat/completions"
        if not (up.header("authorization") or "").lower().startswith("bearer "):
            yield f"{up.flavour} request has no bearer token"
        if model is not None and up.json.get("model") != model:
            yield reported_model(f"{up.flavour} body model is {up.json.get('model')!r}, expected {model!r}")


@check("XLATE-002", **upstream_request())
def stream_options_where_accepted(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """OpenAI-compatible streams ask for usage; Anthropic and Gemini never get `stream_options`."""
    up = context.upstream
    if up.flavour in ("anthropic", "gemini"):
        for key in ("stream_options", "streamOptions"):
            if key in up.json:
                yield f"{up.flavour} request carries {key}={up.json[key]!r}"
    elif (
        up.flavour in OPENAI_COMPATIBLE and context.request.get("stream") is True and not usage_requested(up)
    ):
        options = up.json.get("stream_options")
        yield f"{up.flavour} stream request has stream_options={options!r}, not include_usage: true"


#: Gemini `functionCall.args` sent as JSON text rather than an object: XLATE-006's rule for every call
ARGS_AS_TEXT = "(gemini functionCall.args as text)"


@check("XLATE-010", Applies.ANY, defers={**REFUSED_OWNERS, ARGS_AS_TEXT: ("XLATE-006",)})
def empty_arguments_become_empty_object(exchange: Exchange, context: Context) -> Iterator[str]:
    """A client tool call with `arguments: ""` reaches Anthropic as `input: {}`, Gemini as `args: {}`."""
    up = upstream_of(context, "anthropic", "gemini")
    if up is None:
        raise NotApplicable
    empty = [
        c
        for c in client_tool_calls(context.request)
        if isinstance((c.get("function") or {}).get("arguments"), str)
        and not c["function"]["arguments"].strip()
    ]
    if not empty:
        raise NotApplicable
    if exchange.status != 200:
        yield request_failed(f"the request with empty arguments failed with HTTP {exchange.status}")
    for call in empty:
        name = call["function"].get("name")
        if up.flavour == "anthropic":
            blocks = [
                b
                for m in up.json.get("messages") or []
                for b in (m.get("content") if isinstance(m.get("content"), list) else [])
                if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("id") == call.get("id")
            ]
            if not blocks or blocks[0].get("input") != {}:
                yield f"empty arguments of {name!r} reached Anthropic as {blocks[:1]!r}, not input: {{}}"
        else:
            parts = [
                p["functionCall"]
                for c in up.gemini.get("contents") or []
                for p in (c or {}).get("parts") or []
                if isinstance(p.get("functionCall"), dict) and p["functionCall"].get("name") == name
            ]
            if not parts or parts[0].get("args", {}) != {}:
                message = f"empty arguments of {name!r} reached Gemini as {parts[:1]!r}, not args: {{}}"
                # empty args encoded as the JSON text "{}": the emptiness was handled, the args are no
                # object, as in every call (XLATE-006's finding, judged on the same request)
                yield Located(message, ARGS_AS_TEXT) if parts and parts[0].get("args") == "{}" else message


@check("XLATE-012", **upstream_request())
def stop_native_field(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """`stop` becomes Anthropic `stop_sequences`, Gemini `stopSequences`, and stays `stop` elsewhere."""
    up = context.upstream
    stops = client_stops(context.request)
    if stops is None:
        raise NotApplicable
    if up.flavour == "anthropic":
        want = [s for s in stops if s.strip()]  # whitespace-only ones are XLATE-013's business
        got = up.json.get("stop_sequences")
        kept = [s for s in got if not isinstance(s, str) or s.strip()] if isinstance(got, list) else got
        if want and kept != want:
            yield f"stop {stops!r} reached Anthropic as stop_sequences={got!r}, expected {want!r}"
        if "stop" in up.json:
            yield "Anthropic request carries an OpenAI `stop` field"
    elif up.flavour == "gemini":
        got = up.gemini["generationConfig"].get("stopSequences")
        if got != stops:
            yield f"stop {stops!r} reached Gemini as stopSequences={got!r}"
    elif up.flavour in OPENAI_COMPATIBLE and up.json.get("stop") != context.request["stop"]:
        yield f"stop {context.request['stop']!r} reached {up.flavour} as {up.json.get('stop')!r}"


@check("XLATE-014", **upstream_request())
def output_limit_native_field(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """The client's token limit reaches Gemini, OpenAI reasoning models and DeepSeek in the native field.

    expect: `reasoning_model` (bool) whether the OpenAI model is a reasoning model.
    """
    up = context.upstream
    request = context.request
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if not isinstance(limit, int):
        raise NotApplicable
    if up.flavour == "gemini":
        got = up.gemini["generationConfig"].get("maxOutputTokens")
        if not isinstance(got, int) or isinstance(got, bool) or got < 1:
            yield f"max tokens {limit} reached Gemini as maxOutputTokens={got!r}"
        elif limit <= 8192 and got != limit:
            yield f"max tokens {limit} reached Gemini as maxOutputTokens={got}"
        elif got > limit:
            yield f"maxOutputTokens {got} exceeds the client's limit {limit}"
    elif up.flavour == "openai" and expect_of(context).get("reasoning_model"):
        if up.json.get("max_completion_tokens") != limit:
            yield f"limit {limit} reached the reasoning model as {up.json.get('max_completion_tokens')!r}"
        if up.json.get("max_tokens") is not None:
            yield "an OpenAI reasoning model was sent `max_tokens` (it accepts only max_completion_tokens)"
    elif up.flavour == "deepseek" and up.json.get("max_tokens") != limit:
        yield f"max tokens {limit} reached DeepSeek as max_tokens={up.json.get('max_tokens')!r}"


GEMINI_SAMPLING = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "seed": "seed",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "n": "candidateCount",
}


#: Gemini accepts penalties only on some models (wire formats, section 7): dropped with a warning is fine.
GEMINI_MODEL_DEPENDENT = frozenset({"presence_penalty", "frequency_penalty"})


@check("XLATE-015", Applies.ANY)
def sampling_native_anthropic_gemini(exchange: Exchange, context: Context) -> Iterator[str]:
    """temperature/top_p/top_k reach Anthropic unchanged; the sampling set reaches generationConfig."""
    up = upstream_of(context, "anthropic", "gemini")
    if up is None:
        raise NotApplicable
    request = context.request
    if up.flavour == "anthropic":
        if anthropic_thinking(up):
            raise NotApplicable
        for name in ("temperature", "top_p", "top_k"):
            value = request.get(name)
            if value is None or (name == "temperature" and value > 1):
                continue
            if up.json.get(name) != value:
                yield f"{name}={value!r} reached Anthropic as {up.json.get(name)!r}"
        return
    config = up.gemini["generationConfig"]
    for name, native in GEMINI_SAMPLING.items():
        value = request.get(name)
        if value is None or (name == "n" and value == 1):
            continue
        if name in GEMINI_MODEL_DEPENDENT:
            yield from lenient(exchange, context, native in config, config.get(native), value, name, native)
        elif config.get(native) != value:
            yield f"{name}={value!r} reached Gemini as generationConfig.{native}={config.get(native)!r}"


NOT_FORWARDED: dict[str, tuple[str, ...]] = {
    "anthropic": (
        "presence_penalty",
        "frequency_penalty",
        "seed",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "min_p",
        "repetition_penalty",
        "web_search_options",
        "verbosity",
        "prompt_cache_key",
        "top_a",
    ),
    "gemini": (
        "logit_bias",
        "min_p",
        "repetition_penalty",
        "web_search_options",
        "verbosity",
        "prompt_cache_key",
        "top_a",
    ),
    "deepseek": ("top_k", "seed", "logit_bias", "min_p", "repetition_penalty", "top_a"),
    "openai": ("top_k", "min_p", "repetition_penalty", "top_a"),
    # vLLM: nothing; top_a is forwarded or dropped with a warning, as the model allows (D-112, XLATE-017)
}


@check("XLATE-018", **upstream_request())
def no_native_field_not_forwarded(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Parameters without a native field on the provider never reach it (any spelling, any level)."""
    up = context.upstream
    places = [up.json]
    if up.flavour == "gemini":
        places.append(up.gemini["generationConfig"])
        places.append(up.gemini)
    for name in NOT_FORWARDED.get(up.flavour, ()):
        if name not in context.request:
            continue
        for place in places:
            for spelling in {name, camel(name)}:
                if spelling in place:
                    yield f"{name} has no native field on {up.flavour} but was forwarded as {spelling}"


@check("XLATE-029", Applies.ANY)
def reasoning_rejected_without_reasoning(exchange: Exchange, context: Context) -> Iterator[str]:
    """reasoning_effort (not off) on a model without reasoning is 400 reasoning_not_supported.

    expect: `non_reasoning_model` (bool).
    """
    effort = context.request.get("reasoning_effort")
    if not expect_of(context).get("non_reasoning_model") or effort in (None, "off"):
        raise NotApplicable
    if exchange.status != 400 or error_code(exchange) != "reasoning_not_supported":
        yield f"expected 400 reasoning_not_supported, got HTTP {exchange.status} {error_code(exchange)!r}"


@check("XLATE-030", Applies.ANY, defers=REFUSED_OWNERS)
def reasoning_off_native(exchange: Exchange, context: Context) -> Iterator[str]:
    """`off` uses the native switch (Claude, Gemini 2.5 Flash, DeepSeek) or is 400 where it cannot.

    expect: `off` ("claude" | "gemini_budget" | "deepseek" | "reject").
    """
    how = expect_of(context).get("off")
    if context.request.get("reasoning_effort") != "off" or how is None:
        raise NotApplicable
    up = getattr(context, "upstream", None)
    if how == "reject":
        if exchange.status != 400 or error_code(exchange) != "thinking_disable_not_supported":
            yield f"expected 400 thinking_disable_not_supported, got {exchange.status} {error_code(exchange)}"
        return
    if exchange.status != 200 or up is None:
        if up is not None and up.status is not None and 400 <= up.status < 500:
            raise NotApplicable  # the provider refused another flaw of the request: the test names its root
        yield request_failed(f"reasoning_effort off failed with HTTP {exchange.status}")
        return
    if how == "claude":
        thinking = up.json.get("thinking")
        if thinking is not None and not (isinstance(thinking, dict) and thinking.get("type") == "disabled"):
            yield f"off reached Claude as thinking={thinking!r}"
    elif how == "gemini_budget":
        thinking = up.gemini["generationConfig"].get("thinkingConfig") or {}
        if thinking.get("thinkingBudget") != 0:
            yield f"off reached Gemini 2.5 Flash as thinkingConfig {thinking!r}, not thinkingBudget 0"
    elif how == "deepseek" and up.json.get("thinking") != {"type": "disabled"}:
        yield f"off reached DeepSeek as thinking={up.json.get('thinking')!r}, not disabled"


@check("XLATE-039", **upstream_request("anthropic", "gemini"))
def image_parts_native(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """image_url parts become Anthropic image blocks and Gemini inlineData parts (data URLs)."""
    up = context.upstream
    urls = [
        part["image_url"]["url"]
        for m in context.request.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(m.get("content"), list)
        for part in m["content"]
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]
    if up.flavour == "anthropic":
        sources = [
            b.get("source") or {}
            for m in up.json.get("messages") or []
            for b in (m.get("content") if isinstance(m.get("content"), list) else [])
            if isinstance(b, dict) and b.get("type") == "image"
        ]
        for url in urls:
            if url.startswith("data:"):
                header, _, data = url.partition(",")
                media = header[5:].split(";")[0]
                want = {"type": "base64", "media_type": media, "data": data}
            else:
                want = {"type": "url", "url": url}
            if not any(all(s.get(k) == v for k, v in want.items()) for s in sources):
                yield f"image {url[:40]!r} did not become an Anthropic image block with source {_short(want)}"
    else:
        inline = [
            p["inlineData"]
            for c in up.gemini.get("contents") or []
            for p in (c or {}).get("parts") or []
            if isinstance(p.get("inlineData"), dict)
        ]
        for url in urls:
            if not url.startswith("data:"):
                continue
            header, _, data = url.partition(",")
            media = header[5:].split(";")[0]
            if not any(i.get("mimeType") == media and i.get("data") == data for i in inline):
                yield f"data URL image did not become a Gemini inlineData part ({media})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."
