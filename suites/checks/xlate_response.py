"""XLATE checks of the translated answer, whichever provider produced it.

Finish reasons, tool-call arguments and reasoning text must come back in OpenAI's shape; these checks
read the response (and, where named, the native value the test knows the provider sent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auriko_conformance.suites.checks import Applies, Blocked, Context, Located, NotApplicable, check
from auriko_conformance.suites.checks.stream import FINISH_OWNERS, JOINED_ARGUMENTS, finish_finding
from auriko_conformance.suites.checks.xlate import (
    expect_of,
    messages_of,
    parse_json,
    upstream_of,
)
from auriko_conformance.suites.exchange import Exchange


@check("XLATE-007", Applies.ANY)
def tool_choice_none_honoured(exchange: Exchange, context: Context) -> Iterator[str]:
    """With `tool_choice: none` the answer has no tool calls and finish_reason is not tool_calls."""
    if context.request.get("tool_choice") != "none":
        raise NotApplicable
    for i, message in enumerate(messages_of(exchange)):
        if message.get("tool_calls"):
            yield f"choice {i} has tool_calls although tool_choice was none"
        if message.get("_finish") == "tool_calls":
            yield f"choice {i} finish_reason is tool_calls although tool_choice was none"


@check("XLATE-009", Applies.ANY, defers={JOINED_ARGUMENTS: ("STREAM-012",)})
def tool_call_arguments_are_json(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every returned `function.arguments` parses as JSON (`"{}"` for none, never `""`).

    expect: `no_argument_tools` names of tools the provider called without arguments.
    """
    empty = set(expect_of(context).get("no_argument_tools") or ())
    for i, message in enumerate(messages_of(exchange)):
        for call in message.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            arguments = fn.get("arguments")
            ok, value = parse_json(arguments)
            if arguments == "":
                yield f"choice {i} call {fn.get('name')!r} has arguments '' (a call without any is '{{}}')"
            elif not ok:
                message = f"choice {i} call {fn.get('name')!r} has arguments {arguments!r}, which is not JSON"
                yield Located(message, JOINED_ARGUMENTS) if exchange.is_stream else message
            elif fn.get("name") in empty and value != {}:
                yield f"choice {i} call {fn.get('name')!r} has no arguments but returned {arguments!r}"


#: Shorter reasoning could appear in content by chance; the check needs a distinctive text.
MIN_REASONING_CHARS = 24


@check("XLATE-031", Applies.ANY)
def reasoning_not_in_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """Returned reasoning text never appears inside `content`; an answer without reasoning text has
    nothing to observe (it is no evidence for the rule: Portkey's XLATE-031 passed on 254 of them)."""
    pairs = [
        (i, m.get("reasoning_content").strip(), m.get("content"))
        for i, m in enumerate(messages_of(exchange))
        if isinstance(m.get("reasoning_content"), str)
        and len(m["reasoning_content"].strip()) >= MIN_REASONING_CHARS
        and isinstance(m.get("content"), str)
    ]
    if not pairs:
        raise NotApplicable
    for i, reasoning, content in pairs:
        if reasoning in content:
            yield f"choice {i} content contains the reasoning text"


@check("XLATE-031", Applies.ANY)
def reasoning_returned_as_reasoning_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """Upstream reasoning comes back as `reasoning_content` (Anthropic: plus signed `reasoning` blocks).

    expect: `reasoning_text` the text the provider reasoned with.
    """
    up = upstream_of(context)
    want = expect_of(context).get("reasoning_text")
    if up is None or not want or exchange.status != 200:
        raise NotApplicable
    for i, message in enumerate(messages_of(exchange)):
        got = message.get("reasoning_content")
        if got != want:
            yield f"choice {i} reasoning_content is {got!r}, expected the provider's reasoning {want!r}"
        content = message.get("content")
        if isinstance(content, str) and want in content:
            yield f"choice {i} content contains the provider's reasoning"
        if up.flavour == "anthropic" and not exchange.is_stream:
            blocks = message.get("reasoning")
            signed = [
                b
                for b in blocks or []
                if isinstance(b, dict)
                and b.get("type") == "thinking"
                and isinstance(b.get("signature"), str)
                and b["signature"]
            ]
            if not signed:
                yield f"choice {i} has no `reasoning` thinking block with its signature: {blocks!r}"


#: Native finish reasons with an OpenAI counterpart (wire formats, section 7).
FINISH_MAP: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **{
        reason: "content_filter"
        for reason in ("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII")
    },
}


#: D-044: native reasons without a counterpart.
UNMAPPED_FINISH: dict[str, str] = {
    "pause_turn": "stop",
    "model_context_window_exceeded": "length",
    "insufficient_system_resource": "length",
}


def _unstaged(context: Context, native: Any) -> tuple[str, ...]:
    """The translation rule that kept the provider from ending with `native`, the way the test staged it
    (a token limit, a forced tool call), or (): a provider never asked to stop on its limit ends otherwise,
    and what the gateway made of that other ending is no finding about this one (D-146)."""
    up = upstream_of(context)
    if up is None:
        return ()
    request = context.request
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if native in ("max_tokens", "MAX_TOKENS") and isinstance(limit, int):
        if up.flavour == "gemini":
            got = (up.gemini.get("generationConfig") or {}).get("maxOutputTokens")
            return () if got == limit else ("XLATE-014",)
        return () if up.json.get("max_tokens") == limit else ("XLATE-001",)
    if request.get("tool_choice") == "required" and native in ("tool_use", "STOP"):
        if up.flavour == "anthropic":
            return () if (up.json.get("tool_choice") or {}).get("type") == "any" else ("XLATE-005",)
        if up.flavour == "gemini":
            config = (up.gemini.get("toolConfig") or {}).get("functionCallingConfig") or {}
            return () if config.get("mode") == "ANY" else ("XLATE-006",)
    return ()


def _finishes(exchange: Exchange) -> list[tuple[Any, Any]]:
    return [(m.get("_finish"), m.get("_native")) for m in messages_of(exchange)]


@check("XLATE-036", Applies.ANY, defers=FINISH_OWNERS)
def finish_reason_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """Native finish reasons map to OpenAI's (Gemini STOP with function calls -> tool_calls).

    expect: `native_finish` the reason the provider answered with.
    """
    native = expect_of(context).get("native_finish")
    if native not in FINISH_MAP or exchange.status != 200:
        raise NotApplicable
    if roots := _unstaged(context, native):
        raise Blocked(f"the provider was never asked to end with {native!r}", roots)
    for i, message in enumerate(messages_of(exchange)):
        want = FINISH_MAP[native]
        if native == "STOP" and message.get("tool_calls"):
            want = "tool_calls"
        if message.get("_finish") != want:
            said = f"choice {i}: native {native!r} became {message.get('_finish')!r}, expected {want!r}"
            yield finish_finding(message.get("_finish"), said, native_too=False)


@check("XLATE-037", Applies.ANY, defers=FINISH_OWNERS)
def native_finish_reason_kept(exchange: Exchange, context: Context) -> Iterator[str]:
    """Unmapped native reasons follow D-044; `native_finish_reason` carries the provider's value.

    expect: `native_finish` the reason the provider answered with.
    """
    native = expect_of(context).get("native_finish")
    if native is None or exchange.status != 200:
        raise NotApplicable
    if roots := _unstaged(context, native):
        raise Blocked(f"the provider was never asked to end with {native!r}", roots)
    for i, (finish, kept) in enumerate(_finishes(exchange)):
        if native not in FINISH_MAP:
            want = UNMAPPED_FINISH.get(native, "stop")
            if finish != want:
                said = f"choice {i}: native {native!r} became {finish!r}, expected {want!r} (D-044)"
                yield finish_finding(finish, said, native_too=False)
        if finish != native and kept != native:
            yield f"choice {i}: native_finish_reason is {kept!r}, expected the provider's {native!r}"


@check("XLATE-038", Applies.ANY, defers=FINISH_OWNERS)
def truncation_wins_over_tool_calls(exchange: Exchange, context: Context) -> Iterator[str]:
    """The provider stopped on its token limit mid tool call: finish_reason is `length`.

    expect: `truncated` (bool).
    """
    if not expect_of(context).get("truncated") or exchange.status != 200:
        raise NotApplicable
    for i, (finish, _) in enumerate(_finishes(exchange)):
        if finish != "length":
            yield finish_finding(
                finish, f"choice {i} finish_reason is {finish!r} after a truncated tool call, not length"
            )
