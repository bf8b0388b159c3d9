"""XLATE checks of what reached Gemini (generateContent) and of what the gateway made of its answer.

Request bodies are read through `Upstream.gemini`, which renames the structural keys to camelCase, so a
gateway that writes snake_case (as Google's proto-JSON parser allows) is judged the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auriko_conformance.suites.checks import Applies, Context, Located, NotApplicable, check
from auriko_conformance.suites.checks.stream import USAGE_OWNERS
from auriko_conformance.suites.checks.xlate import (
    XlateContext,
    camel_keys,
    client_tool_calls,
    expect_of,
    final_usage,
    in_order,
    native_usage,
    owes_warning,
    parse_json,
    system_texts,
    upstream_request,
    usage_findings,
)
from auriko_conformance.suites.exchange import Exchange

GEMINI_MODE = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


@check("XLATE-004", **upstream_request("gemini"), defers={"$.systemInstruction": ("EXT-005",)})
def gemini_system_instruction(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """System/developer texts become `systemInstruction.parts[].text`; assistant turns have role `model`."""
    up = context.upstream
    body = up.gemini
    wanted = [t for t in system_texts(context.request) if t]
    parts = (body.get("systemInstruction") or {}).get("parts") or []
    got = "\n".join(
        p.get("text", "") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    )
    if wanted and not in_order(got, wanted):
        # set from extensions.google, this is EXT-005's defect (core fields there are stripped)
        yield Located(
            f"systemInstruction text is {got!r}; expected {wanted!r} in order", "$.systemInstruction"
        )
    roles = [c.get("role") for c in body.get("contents") or [] if isinstance(c, dict)]
    for i, role in enumerate(roles):
        if role not in ("user", "model", None):
            yield f"contents[{i}] has role {role!r} (only user and model exist)"
    client_assistant = any(
        isinstance(m, dict) and m.get("role") == "assistant" for m in context.request.get("messages") or []
    )
    if client_assistant and "model" not in roles:
        yield f"the client's assistant turns did not become role `model` contents (roles {roles!r})"
    for i, content in enumerate(body.get("contents") or []):
        for part in (content or {}).get("parts") or []:
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(text, str) and wanted and any(w and w == text for w in wanted):
                yield f"a system text was sent as contents[{i}] instead of systemInstruction"


@check("XLATE-006", **upstream_request("gemini"))
def gemini_tools_native(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Tools as functionDeclarations, tool_choice as functionCallingConfig, history as function parts."""
    up = context.upstream
    request = context.request
    body = up.gemini
    declared = {
        d.get("name"): d
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for d in tool.get("functionDeclarations") or []
        if isinstance(d, dict)
    }
    for tool in request.get("tools") or []:
        fn = tool.get("function") or {}
        name = fn.get("name")
        if name not in declared:
            yield f"tool {name!r} is not among tools[].functionDeclarations[] ({sorted(map(str, declared))})"
        elif fn.get("parameters"):
            yield from translated_schema(
                f"tool {name!r} parameters",
                fn["parameters"],
                declared[name],
                "parametersJsonSchema",
                "parameters",
            )
    if request.get("tools"):
        choice = request.get("tool_choice")
        calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        mode = calling.get("mode")
        if isinstance(choice, str) and choice in GEMINI_MODE:
            if mode != GEMINI_MODE[choice] and not (choice == "auto" and mode is None):
                yield f"tool_choice {choice!r} reached Gemini as functionCallingConfig {calling!r}"
        elif isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            if mode != "ANY" or calling.get("allowedFunctionNames") != [name]:
                yield f"named tool_choice {name!r} reached Gemini as functionCallingConfig {calling!r}"
    calls: dict[str, list[tuple[dict[str, Any], dict[str, Any], str | None]]] = {}
    responses: list[tuple[dict[str, Any], str | None]] = []
    for content in body.get("contents") or []:
        for part in (content or {}).get("parts") or []:
            if isinstance(part.get("functionCall"), dict):
                fc = part["functionCall"]
                calls.setdefault(fc.get("name"), []).append((fc, part, content.get("role")))
            if isinstance(part.get("functionResponse"), dict):
                responses.append((part["functionResponse"], content.get("role")))
    names_by_id: dict[str, str] = {}
    for call in client_tool_calls(request):
        fn = call.get("function") or {}
        names_by_id[call.get("id")] = fn.get("name")
        found = calls.get(fn.get("name")) or []
        if not found:
            yield f"assistant tool call {fn.get('name')!r} did not become a functionCall part"
            continue
        fc, part, role = found.pop(0)
        if role != "model":
            yield f"functionCall {fn.get('name')!r} is in a {role!r} turn, not model"
        ok, args = parse_json(fn.get("arguments"))
        got = fc.get("args")
        if not isinstance(got, dict) and got is not None:
            yield f"functionCall {fn.get('name')!r} args is {got!r}, not an object"
        elif ok and isinstance(args, dict) and (got or {}) != args:
            yield f"functionCall {fn.get('name')!r} args is {got!r}, expected {args!r}"
        signature = call.get("provider_signature")
        if signature and part.get("thoughtSignature") != signature:
            yield (
                f"functionCall {fn.get('name')!r} carries thoughtSignature {part.get('thoughtSignature')!r}, "
                f"expected the call's provider_signature {signature!r}"
            )
    tool_messages = [
        m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "tool"
    ]
    if len(responses) < len(tool_messages):
        yield f"{len(tool_messages)} tool messages became {len(responses)} functionResponse parts"
    for message, (response, role) in zip(tool_messages, responses, strict=False):
        want = names_by_id.get(message.get("tool_call_id"))
        if want is not None and response.get("name") != want:
            yield f"functionResponse name is {response.get('name')!r}, expected {want!r}"
        if not isinstance(response.get("response"), dict):
            yield f"functionResponse response is {response.get('response')!r}, not an object"
        if role not in ("user", None):
            yield f"functionResponse is in a {role!r} turn, not user"


def translated_schema(
    label: str, client: Any, holder: dict[str, Any], json_key: str, subset_key: str
) -> Iterator[str]:
    """A client JSON Schema on Gemini: under `json_key` (plain JSON Schema) it travels unchanged; under
    `subset_key` (the OpenAPI 3.0 subset) it may lose keywords the subset lacks, but must keep the
    structure the model is asked to follow (`schema_differences`)."""
    if json_key in holder:
        if holder[json_key] != client:
            yield f"{label} reached Gemini as {json_key}={holder[json_key]!r}, not the client's schema"
    elif subset_key in holder:
        for difference in schema_differences(client, holder[subset_key]):
            yield f"{label} reached Gemini as {subset_key} with {difference}"
    else:
        yield f"{label} reached Gemini without {json_key} or {subset_key}"


#: Keywords whose translation into the OpenAPI subset is not judged: `$ref` may be inlined and the
#: combinators rewritten, so the structure below them is the gateway's choice.
_UNJUDGED = ("$ref", "anyOf", "oneOf", "allOf")


def _types(schema: dict[str, Any]) -> set[str]:
    """A schema's types, lower-case, without `null` (the subset spells that `nullable: true`)."""
    value = schema.get("type")
    values = value if isinstance(value, list) else [value] if value is not None else []
    return {str(v).lower() for v in values} - {"null"}


def schema_differences(client: Any, native: Any, where: str = "the root") -> Iterator[str]:
    """How a schema in Gemini's OpenAPI subset departs from the client's JSON Schema: a type (compared
    case-insensitively, as the proto form writes `OBJECT`), the property names, `required`, `items` or
    an `enum` that changed. Keywords the subset lacks (additionalProperties, $schema, formats) may go."""
    if not isinstance(client, dict) or any(k in client for k in _UNJUDGED):
        return
    if not isinstance(native, dict):
        yield f"{native!r} at {where}, not a schema"
        return
    want, got = _types(client), _types(native)
    if want and not want & got:
        yield f"type {native.get('type')!r} at {where}, the client's is {client.get('type')!r}"
    properties = client.get("properties")
    if isinstance(properties, dict):
        native_properties = native.get("properties") if isinstance(native.get("properties"), dict) else {}
        if set(native_properties) != set(properties):
            yield f"properties {sorted(native_properties)} at {where}, the client's are {sorted(properties)}"
        for key in properties.keys() & native_properties.keys():
            yield from schema_differences(properties[key], native_properties[key], f"{where}.{key}")
    if isinstance(client.get("required"), list) and set(native.get("required") or ()) != set(
        client["required"]
    ):
        yield f"required {native.get('required')!r} at {where}, the client's is {client['required']!r}"
    if "items" in client:
        yield from schema_differences(client["items"], native.get("items"), f"{where}[]")
    if isinstance(client.get("enum"), list) and [str(v) for v in native.get("enum") or ()] != [
        str(v) for v in client["enum"]
    ]:
        yield f"enum {native.get('enum')!r} at {where}, the client's is {client['enum']!r}"


def _schema_has(schema: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(schema, dict):
        return any(k in schema for k in keys) or any(_schema_has(v, keys) for v in schema.values())
    if isinstance(schema, list):
        return any(_schema_has(v, keys) for v in schema)
    return False


@check("XLATE-019", **upstream_request("gemini"))
def gemini_response_format(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """json_object/json_schema set responseMimeType; the schema travels; strict schemas cause no 400."""
    up = context.upstream
    rf = context.request.get("response_format")
    if not isinstance(rf, dict) or rf.get("type") not in ("json_object", "json_schema"):
        raise NotApplicable
    config = up.gemini["generationConfig"]
    if config.get("responseMimeType") != "application/json":
        yield f"{rf['type']} reached Gemini with responseMimeType={config.get('responseMimeType')!r}"
    if rf["type"] == "json_schema":
        schema = (rf.get("json_schema") or {}).get("schema")
        yield from translated_schema(
            "the json_schema", schema, config, "responseJsonSchema", "responseSchema"
        )
        if "responseJsonSchema" not in config and _schema_has(
            config.get("responseSchema"), ("additionalProperties", "$schema")
        ):
            yield "responseSchema (OpenAPI subset) still holds additionalProperties/$schema"
    if up.status == 400:
        yield f"Gemini refused the structured-output request with 400 (gateway HTTP {exchange.status})"


GEMINI_LEVELS = ("low", "medium", "high")


@check("XLATE-026", **upstream_request("gemini"))
def gemini_thinking_by_generation(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """Gemini 3 gets thinkingLevel, Gemini 2.5 a positive thinkingBudget; never both.

    expect: `gemini_kind` ("level" | "budget").
    """
    up = context.upstream
    kind = expect_of(context).get("gemini_kind")
    effort = context.request.get("reasoning_effort")
    if kind is None or effort in (None, "off"):
        raise NotApplicable
    thinking = up.gemini["generationConfig"].get("thinkingConfig") or {}
    level, budget = thinking.get("thinkingLevel"), thinking.get("thinkingBudget")
    if level is not None and budget is not None:
        yield f"thinkingConfig carries both thinkingLevel and thinkingBudget: {thinking!r}"
    if kind == "level":
        want = effort if effort in GEMINI_LEVELS else "high"
        if not isinstance(level, str) or level.lower() != want:
            yield f"reasoning_effort {effort!r} reached Gemini 3 as {thinking!r}, expected level {want!r}"
        changed = effort not in GEMINI_LEVELS
        if changed and owes_warning(exchange, context, "reasoning_effort", "unsupported_parameter"):
            yield f"{effort!r} became {want!r} without a warning naming reasoning_effort"
    elif not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        yield f"reasoning_effort {effort!r} reached Gemini 2.5 as {thinking!r}, not a positive budget"


@check("XLATE-034", Applies.ANY, defers=USAGE_OWNERS)
def gemini_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """prompt = promptTokenCount; completion = candidates + thoughts; reasoning = thoughts; cached."""
    native = native_usage(context, "gemini")
    if native is None or exchange.status != 200:
        raise NotApplicable
    native = camel_keys(native)
    thoughts = int(native.get("thoughtsTokenCount") or 0)
    want = {
        "prompt_tokens": int(native.get("promptTokenCount") or 0),
        "completion_tokens": int(native.get("candidatesTokenCount") or 0) + thoughts,
        "reasoning_tokens": thoughts,
        "cached_tokens": int(native.get("cachedContentTokenCount") or 0),
    }
    yield from usage_findings(final_usage(exchange), want)
