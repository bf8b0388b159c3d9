"""XLATE checks of what reached Anthropic (Messages API) and of what the gateway made of its answer.

Claude's reasoning variants (adaptive effort on 4.6, budgets on 4.5, `xhigh` normalisation) are here too:
they exist only on this provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
from auriko_conformance.suites.checks.stream import (
    FINISH_OWNERS,
    JOINED_ARGUMENTS,
    USAGE_OWNERS,
    finish_finding,
)
from auriko_conformance.suites.checks.xlate import (
    Upstream,
    XlateContext,
    client_stops,
    client_tool_calls,
    expect_of,
    final_usage,
    in_order,
    messages_of,
    native_usage,
    owes_warning,
    parse_json,
    schema_violations,
    system_texts,
    text_of,
    upstream_of,
    upstream_request,
    usage_findings,
)
from auriko_conformance.suites.exchange import Exchange

ANTHROPIC_CHOICE = {"auto": "auto", "required": "any", "none": "none"}


def anthropic_thinking(up: Upstream) -> bool:
    thinking = up.json.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def budget_of(up: Upstream) -> int | None:
    thinking = up.json.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        value = thinking.get("budget_tokens")
        return value if isinstance(value, int) else None
    return None


def _forced_choice(request: Mapping[str, Any]) -> str | None:
    """'required', 'named' or None for the client's tool_choice."""
    choice = request.get("tool_choice")
    if choice == "required":
        return "required"
    if isinstance(choice, dict):
        return "named"
    return None


@check("XLATE-003", **upstream_request("anthropic"))
def anthropic_system_top_level(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """System and developer texts become the top-level `system`, in order; messages hold user/assistant."""
    up = context.upstream
    wanted = [t for t in system_texts(context.request) if t]
    system = up.json.get("system")
    if isinstance(system, list):
        bad = [b for b in system if not (isinstance(b, dict) and b.get("type") == "text")]
        if bad:
            yield f"top-level system holds non-text blocks: {bad!r}"
    got = text_of(system)
    if wanted and not in_order(got, wanted):
        yield f"top-level system is {system!r}; expected the system/developer texts {wanted!r} in order"
    for i, message in enumerate(up.json.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            yield f"upstream messages[{i}] has role {role!r}"


def _without_empty_defs(schema: Any) -> Any:
    """A JSON Schema without an empty top-level `$defs`/`definitions`, which defines nothing (Portkey adds
    `"$defs": {}` to every tool): the same schema, not a changed one."""
    if not isinstance(schema, dict):
        return schema
    return {k: v for k, v in schema.items() if not (k in ("$defs", "definitions") and v == {})}


@check("XLATE-005", **upstream_request("anthropic"))
def anthropic_tools_native(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Tools, tool_choice, parallel_tool_calls and tool history in Anthropic's native shapes."""
    up = context.upstream
    request = context.request
    body = up.json
    by_name = {
        t.get("name") or (t.get("function") or {}).get("name"): t
        for t in body.get("tools") or []
        if isinstance(t, dict)
    }
    for tool in request.get("tools") or []:
        fn = tool.get("function") or {}
        native = by_name.get(fn.get("name"))
        if native is None:
            yield f"tool {fn.get('name')!r} is missing from the upstream tools {list(by_name)!r}"
            continue
        if "function" in native or "parameters" in native:
            yield f"tool {fn.get('name')!r} was sent in OpenAI shape: {native!r}"
        schema = native.get("input_schema")
        if fn.get("parameters") is not None:
            if _without_empty_defs(schema) != _without_empty_defs(fn["parameters"]):
                yield f"tool {fn.get('name')!r} input_schema is {schema!r}, expected the client's parameters"
        elif not (
            isinstance(schema, dict) and schema.get("type") == "object" and not schema.get("properties")
        ):
            yield f"tool {fn.get('name')!r} has no parameters; input_schema {schema!r} is no empty object"
        if fn.get("description") and native.get("description") != fn["description"]:
            yield f"tool {fn.get('name')!r} description is {native.get('description')!r}"
    if request.get("tools"):
        choice = request.get("tool_choice")
        native_choice = body.get("tool_choice")
        kind = native_choice.get("type") if isinstance(native_choice, dict) else None
        if isinstance(choice, str) and choice in ANTHROPIC_CHOICE:
            if kind != ANTHROPIC_CHOICE[choice]:
                yield f"tool_choice {choice!r} reached Anthropic as {native_choice!r}"
        elif isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            if kind != "tool" or native_choice.get("name") != name:
                yield f"named tool_choice {name!r} reached Anthropic as {native_choice!r}"
        elif choice is None and native_choice is not None and kind != "auto":
            yield f"no tool_choice was sent, Anthropic got {native_choice!r}"
        serial = isinstance(native_choice, dict) and native_choice.get("disable_parallel_tool_use") is True
        if request.get("parallel_tool_calls") is False and choice != "none" and not serial:
            yield f"parallel_tool_calls false reached Anthropic as tool_choice {native_choice!r}"
    yield from _anthropic_history(request, body)


def _anthropic_history(request: Mapping[str, Any], body: Mapping[str, Any]) -> Iterator[str]:
    uses: dict[str, tuple[dict[str, Any], str]] = {}
    results: dict[str, str] = {}
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                uses[block.get("id")] = (block, message.get("role"))
            elif block.get("type") == "tool_result":
                results[block.get("tool_use_id")] = message.get("role")
    for call in client_tool_calls(request):
        fn = call.get("function") or {}
        found = uses.get(call.get("id"))
        if found is None:
            yield f"assistant tool call {call.get('id')!r} did not become a tool_use block with the same id"
            continue
        block, role = found
        if role != "assistant":
            yield f"tool_use {call.get('id')!r} is in a {role!r} turn"
        if block.get("name") != fn.get("name"):
            yield f"tool_use {call.get('id')!r} name is {block.get('name')!r}, expected {fn.get('name')!r}"
        ok, args = parse_json(fn.get("arguments"))
        if ok and isinstance(args, dict) and block.get("input") != args:
            yield f"tool_use {call.get('id')!r} input is {block.get('input')!r}, expected {args!r}"
        if not isinstance(block.get("input"), dict):
            yield f"tool_use {call.get('id')!r} input is {block.get('input')!r}, not an object"
    for message in request.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in results:
                yield f"tool message for {call_id!r} did not become a tool_result block"
            elif results[call_id] != "user":
                yield f"tool_result for {call_id!r} is in a {results[call_id]!r} turn, not user"


@check("XLATE-013", context=XlateContext, upstream_side=True, defers=REFUSED_OWNERS)
def anthropic_whitespace_stops_dropped(exchange: Exchange, context: Context) -> Iterator[str]:
    """Whitespace-only stop sequences are removed for Anthropic, with a warning naming `stop`."""
    stops = client_stops(context.request) or []
    if not any(not s.strip() for s in stops):
        raise NotApplicable
    up = upstream_of(context, "anthropic")
    if up is None:
        if expect_of(context).get("flavour") == "anthropic" and exchange.status != 200:
            yield request_failed(
                f"a whitespace-only stop sequence made the request fail with HTTP {exchange.status}"
            )
        return
    sent = up.json.get("stop_sequences") or []
    blank = [s for s in sent if isinstance(s, str) and not s.strip()]
    if blank:
        yield f"whitespace-only stop sequences {blank!r} reached Anthropic"
    if exchange.status != 200:
        yield request_failed(f"the request failed with HTTP {exchange.status}")
    elif owes_warning(exchange, context, "stop", "unsupported_parameter"):
        yield "no unsupported_parameter warning names `stop`"


@check("XLATE-016", **upstream_request("anthropic"))
def anthropic_temperature_clamped(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """A temperature in (1, 2] reaches Anthropic as 1, with a warning naming `temperature`."""
    up = context.upstream
    value = context.request.get("temperature")
    if not isinstance(value, int | float) or not 1 < value <= 2 or anthropic_thinking(up):
        raise NotApplicable
    if up.json.get("temperature") != 1:
        yield f"temperature {value} reached Anthropic as {up.json.get('temperature')!r}, not 1"
    if owes_warning(exchange, context, "temperature", "unsupported_parameter"):
        yield "no unsupported_parameter warning names `temperature`"


@check("XLATE-021", **upstream_request("anthropic"))
def claude_adaptive_effort(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Claude 4.6: `thinking: {type: adaptive}` and `output_config.effort` equal to the effort.

    expect: `claude_kind` == "adaptive".
    """
    up = context.upstream
    effort = context.request.get("reasoning_effort")
    if expect_of(context).get("claude_kind") != "adaptive" or effort not in ("low", "medium", "high"):
        raise NotApplicable
    thinking = up.json.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") == "adaptive"):
        yield f"reasoning_effort {effort!r} reached Claude 4.6 as thinking={thinking!r}, not adaptive"
    got = (up.json.get("output_config") or {}).get("effort")
    if got != effort:
        yield f"output_config.effort is {got!r}, expected {effort!r}"


@check("XLATE-022", **upstream_request("anthropic"), defers={"$.max_tokens": ("XLATE-001",)})
def claude_budget_from_effort(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Claude 4.5: thinking enabled with 1024 <= budget < max_tokens (Opus 4.5: plus output_config.effort).

    expect: `claude_kind` == "budget"; `effort_control` (bool) for Opus 4.5.
    """
    up = context.upstream
    expect = expect_of(context)
    effort = context.request.get("reasoning_effort")
    if expect.get("claude_kind") != "budget" or effort in (None, "off"):
        raise NotApplicable
    thinking = up.json.get("thinking")
    if budget_of(up) is None:
        yield f"reasoning_effort {effort!r} reached Claude 4.5 as thinking={thinking!r}, not a budget"
        return
    # the budget's range is `thinking_budget_in_range`'s, judged on every request that has one
    if expect.get("effort_control") and effort in ("low", "medium", "high"):
        got = (up.json.get("output_config") or {}).get("effort")
        if got != effort:
            yield f"Opus 4.5 output_config.effort is {got!r}, expected {effort!r}"


@check("XLATE-022", **upstream_request("anthropic"), defers={"$.max_tokens": ("XLATE-001",)})
def thinking_budget_in_range(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Any thinking budget sent to Anthropic is at least 1024 and below the sent max_tokens.

    Needs no test's knowledge of the model, so it also probes a refusal's cause: a gateway whose budget
    Anthropic refused fails here, not REQ-027 ("a valid request is answered")."""
    budget = budget_of(context.upstream)
    if budget is None:
        raise NotApplicable
    if budget < 1024:
        yield f"budget_tokens {budget} is below Anthropic's minimum 1024"
    max_tokens = context.upstream.json.get("max_tokens")
    if not isinstance(max_tokens, int):
        # no max_tokens to be below: XLATE-001's finding (it requires one on every Anthropic request)
        yield Located(f"budget_tokens {budget} has no max_tokens to be below", "$.max_tokens")
    elif budget >= max_tokens:
        yield f"budget_tokens {budget} is not below the sent max_tokens {max_tokens!r}"


@check("XLATE-023", **upstream_request("anthropic"))
def claude_xhigh_normalised(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """`xhigh` stays on Opus 4.7, becomes `high` on Opus 4.5 and `max` elsewhere, with a warning when changed.

    expect: `xhigh_to` ("xhigh" | "high" | "max"), `claude_kind`, and for budget models `high_budget`
    (the budget the same model got for `high`).
    """
    up = context.upstream
    expect = expect_of(context)
    target = expect.get("xhigh_to")
    if context.request.get("reasoning_effort") != "xhigh" or target is None:
        raise NotApplicable
    effort = (up.json.get("output_config") or {}).get("effort")
    if expect.get("claude_kind") == "adaptive" or target == "xhigh":
        if effort != target:
            yield f"xhigh reached the model as output_config.effort={effort!r}, expected {target!r}"
    else:
        budget, high = budget_of(up), expect.get("high_budget")
        if effort is not None and effort != target:
            yield f"xhigh reached the model as output_config.effort={effort!r}, expected {target!r}"
        if budget is None:
            yield f"xhigh reached a budget model as thinking={up.json.get('thinking')!r}"
        elif isinstance(high, int) and target == "high" and budget != high:
            yield f"xhigh got budget_tokens {budget}; as `high` it should equal high's budget {high}"
        elif isinstance(high, int) and target == "max" and budget < high:
            yield f"xhigh got budget_tokens {budget}; as `max` it should be at least high's budget {high}"
    if target != "xhigh" and owes_warning(exchange, context, "reasoning_effort", "unsupported_parameter"):
        yield f"xhigh became {target!r} without an unsupported_parameter warning naming reasoning_effort"


@check("XLATE-024", **upstream_request("anthropic"))
def claude_thinking_sampling_stripped(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """With thinking on, temperature, top_k and a top_p outside [0.95, 1] are dropped with warnings."""
    up = context.upstream
    request = context.request
    if not anthropic_thinking(up):
        raise NotApplicable
    for name in ("temperature", "top_k", "top_p"):
        value = request.get(name)
        if value is None or (name == "top_p" and 0.95 <= value <= 1):
            continue
        if name in up.json:
            yield f"{name}={up.json[name]!r} was sent to Claude alongside thinking"
        if owes_warning(exchange, context, name, "unsupported_parameter"):
            yield f"no unsupported_parameter warning names {name}"


@check("XLATE-025", Applies.ANY)
def claude_thinking_no_forced_tool(exchange: Exchange, context: Context) -> Iterator[str]:
    """Reasoning plus a forced tool choice never reaches Claude; another provider or a 400 instead."""
    request = context.request
    if request.get("reasoning_effort") in (None, "off") or _forced_choice(request) is None:
        raise NotApplicable
    if expect_of(context).get("flavour") != "anthropic":
        raise NotApplicable
    ups = getattr(context, "upstreams", None) or []
    for up in ups:
        if up.flavour != "anthropic":
            continue
        choice = up.json.get("tool_choice")
        forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
        if forced and anthropic_thinking(up):
            yield f"Claude was sent thinking together with a forced tool_choice {choice!r}"
        else:  # D-043: neither the thinking nor the forced choice may be dropped to make it fit
            yield f"Claude was sent thinking={up.json.get('thinking')!r} with tool_choice={choice!r}"
    if exchange.status == 200:
        served = [u for u in ups if u.status == 200]
        if served and served[-1].flavour == "anthropic":
            yield "the answer came from Claude, which cannot honour a forced tool choice with thinking"
    elif not any(up.flavour == "anthropic" for up in ups):  # Claude's own refusal: reaching it is the finding
        error = (exchange.json or {}).get("error") if isinstance(exchange.json, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if exchange.status != 400 or code != "tool_choice_required_not_supported":
            yield f"expected a 400 tool_choice_required_not_supported, got HTTP {exchange.status} {code!r}"


@check("XLATE-032", Applies.ANY, defers=REFUSED_OWNERS)
def anthropic_history_round_trips(exchange: Exchange, context: Context) -> Iterator[str]:
    """Client reasoning blocks reach Anthropic in order; empty assistant content gives no empty text block."""
    up = upstream_of(context, "anthropic")
    if up is None:
        raise NotApplicable
    client_turns = [
        m
        for m in context.request.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant"
    ]
    sent_turns = [
        m.get("content")
        for m in up.json.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant"
    ]
    for turn in sent_turns:
        for block in turn if isinstance(turn, list) else []:
            if (
                isinstance(block, dict)
                and block.get("type") == "text"
                and not str(block.get("text", "")).strip()
            ):
                yield f"an empty text block reached Anthropic in an assistant turn: {turn!r}"
        if isinstance(turn, str) and not turn.strip():
            yield "an assistant turn with empty string content reached Anthropic"
    sent_blocks = [b for t in sent_turns if isinstance(t, list) for b in t if isinstance(b, dict)]
    for message in client_turns:
        wanted = []
        for block in message.get("reasoning") or []:
            if block.get("type") == "thinking":
                wanted.append(
                    {
                        "type": "thinking",
                        "thinking": block.get("thinking"),
                        "signature": block.get("signature"),
                    }
                )
            elif block.get("type") == "redacted":
                wanted.append({"type": "redacted_thinking", "data": block.get("data")})
        if not wanted:
            continue
        got = [
            {k: b.get(k) for k in w}
            for w in wanted
            for b in sent_blocks
            if b.get("type") == w["type"]
            and b.get("thinking", b.get("data")) == w.get("thinking", w.get("data"))
        ]
        if got != wanted:
            yield f"assistant reasoning blocks {wanted!r} reached Anthropic as {got!r}"
            continue
        order = [b.get("type") for b in sent_blocks if b.get("type") in ("thinking", "redacted_thinking")]
        if order[: len(wanted)] != [w["type"] for w in wanted]:
            yield f"reasoning blocks reached Anthropic in order {order!r}"
    if exchange.status != 200:
        yield request_failed(f"the request failed with HTTP {exchange.status}")


@check("XLATE-040", **upstream_request("anthropic"))
def anthropic_cache_control_forwarded(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """A text part with cache_control reaches Anthropic as a block with the same cache_control."""
    up = context.upstream
    wanted = [
        (part.get("text"), part["cache_control"])
        for m in context.request.get("messages") or []
        if isinstance(m, dict) and isinstance(m.get("content"), list)
        for part in m["content"]
        if isinstance(part, dict) and part.get("type") == "text" and "cache_control" in part
    ]
    blocks = [
        b
        for m in [{"content": up.json.get("system")}, *(up.json.get("messages") or [])]
        for b in (m.get("content") if isinstance(m.get("content"), list) else [])
        if isinstance(b, dict)
    ]
    for text, control in wanted:
        if not any(b.get("text") == text and b.get("cache_control") == control for b in blocks):
            yield f"text part {text[:30]!r} did not reach Anthropic with cache_control {control!r}"


@check("XLATE-011", Applies.STREAM, defers={JOINED_ARGUMENTS: ("STREAM-012",)})
def anthropic_stream_tool_indices(exchange: Exchange, context: Context) -> Iterator[str]:
    """Anthropic stream: tool-call indices count tool calls from 0; each call gets its own arguments.

    expect: `tool_names` (optional) the tools called, in order.
    """
    if upstream_of(context, "anthropic") is None:
        raise NotApplicable
    for message in messages_of(exchange):
        indices = message.get("_indices") or []
        if not indices:
            continue
        if sorted(indices) != list(range(len(indices))):
            yield f"tool-call indices are {indices!r}; they must start at 0 and count only tool calls"
        wanted = expect_of(context).get("tool_names")
        calls = message.get("tool_calls") or []
        if wanted is not None and [c["function"]["name"] for c in calls] != list(wanted):
            yield f"tool calls by index are {[c['function']['name'] for c in calls]!r}, not {list(wanted)!r}"
        for call in calls:
            ok, value = parse_json(call["function"]["arguments"])
            if not ok or not isinstance(value, dict):
                # fragments that do not join to JSON are STREAM-012's rule; the indices are this one's
                message = (
                    f"call {call['function']['name']!r} arguments join to {call['function']['arguments']!r}"
                )
                yield Located(message, JOINED_ARGUMENTS)
        keys = expect_of(context).get("argument_keys")
        if keys is not None:
            for call, want in zip(calls, keys, strict=False):
                ok, value = parse_json(call["function"]["arguments"])
                if ok and isinstance(value, dict) and sorted(value) != sorted(want):
                    yield f"call {call['function']['name']!r} got arguments {value!r}; keys {want!r} expected"


@check("XLATE-020", Applies.ANY, defers={**FINISH_OWNERS, **REFUSED_OWNERS})
def anthropic_json_schema_as_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """json_schema answered by Claude comes back as JSON content matching the schema, no tool_calls,
    finish_reason stop."""
    rf = context.request.get("response_format")
    if upstream_of(context, "anthropic") is None or not isinstance(rf, dict):
        raise NotApplicable
    if rf.get("type") != "json_schema":
        raise NotApplicable
    if exchange.status != 200:
        yield request_failed(f"json_schema on Claude failed with HTTP {exchange.status}")
        return
    schema = (rf.get("json_schema") or {}).get("schema")
    for i, message in enumerate(messages_of(exchange)):
        ok, document = parse_json(message.get("content"))
        if not ok:
            yield f"choice {i} content {message.get('content')!r} is not the JSON document"
        else:
            for violation in schema_violations(document, schema):
                yield f"choice {i} content does not match the client's schema: {violation}"
        if message.get("tool_calls"):
            yield f"choice {i} returned the structured answer as tool_calls"
        if message.get("_finish") != "stop":
            said = f"choice {i} finish_reason is {message.get('_finish')!r}, not stop"
            yield finish_finding(message.get("_finish"), said)


@check("XLATE-033", Applies.ANY, defers=USAGE_OWNERS)
def anthropic_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """prompt = input + cache_creation + cache_read; cached = cache_read; completion = output_tokens."""
    native = native_usage(context, "anthropic")
    if native is None or exchange.status != 200:
        raise NotApplicable
    read = int(native.get("cache_read_input_tokens") or 0)
    write = int(native.get("cache_creation_input_tokens") or 0)
    want = {
        "prompt_tokens": int(native.get("input_tokens") or 0) + read + write,
        "completion_tokens": int(native.get("output_tokens") or 0),
        "cached_tokens": read,
    }
    yield from usage_findings(final_usage(exchange), want)
