"""XLATE and EXT: what the gateway sent upstream, and what it made of the provider's answer.

The mock journal records the exact body, path, query and (redacted) headers every provider received.
A test reads the entries caused by its own request (correlation tag), wraps the relevant one in an
`Upstream`, and hands it to these checks in an `XlateContext` together with what it knows the answer
must look like (`expect`). Checks are semantic: they read the native field a requirement names and
accept every spelling the real API accepts (Gemini takes camelCase and snake_case), so any gateway can
be judged by them, not just the reference.

Checks that look only at the response (tool-call arguments are JSON, reasoning is not content,
`tool_choice: none` is honoured) apply to every exchange of every suite. Checks that need an upstream
request or an expectation stay silent without one, so they never fire on other suites' exchanges.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from suites.checks import Applies, Context, NotApplicable, check
from suites.checks.meta import final_object
from suites.exchange import Exchange

OPENAI_COMPATIBLE = frozenset({"openai", "deepseek", "vllm"})
FINISH_VALUES = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})

# -------------------------------------------------------------------------------------------------
# What the journal recorded
# -------------------------------------------------------------------------------------------------

_SNAKE_RE = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    """`max_output_tokens` -> `maxOutputTokens` (Google's proto-JSON parser accepts both spellings)."""
    return _SNAKE_RE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def _camel_keys(value: Any) -> Any:
    """One level of keys in camelCase (values untouched: schemas and arguments keep their names)."""
    return {camel(k): v for k, v in value.items()} if isinstance(value, dict) else value


def gemini_view(body: Any) -> dict[str, Any]:
    """A Gemini request body with every structural key in camelCase, whatever spelling the gateway used.

    Only the levels the API defines are renamed: tool parameter schemas, function arguments and
    response schemas keep their own keys.
    """
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = _camel_keys(body)
    config = _camel_keys(out.get("generationConfig") or {})
    if isinstance(config.get("thinkingConfig"), dict):
        config["thinkingConfig"] = _camel_keys(config["thinkingConfig"])
    out["generationConfig"] = config
    system = out.get("systemInstruction")
    if isinstance(system, dict):
        system = _camel_keys(system)
        system["parts"] = [_camel_keys(p) for p in system.get("parts") or [] if isinstance(p, dict)]
        out["systemInstruction"] = system
    contents = []
    for content in out.get("contents") or []:
        content = _camel_keys(content)
        if isinstance(content, dict):
            parts = []
            for part in content.get("parts") or []:
                part = _camel_keys(part)
                for key in ("functionCall", "functionResponse", "inlineData", "fileData"):
                    if isinstance(part, dict) and isinstance(part.get(key), dict):
                        part[key] = _camel_keys(part[key])
                parts.append(part)
            content["parts"] = parts
        contents.append(content)
    out["contents"] = contents
    tools = []
    for tool in out.get("tools") or []:
        tool = _camel_keys(tool)
        if isinstance(tool, dict):
            tool["functionDeclarations"] = [_camel_keys(d) for d in tool.get("functionDeclarations") or []]
        tools.append(tool)
    out["tools"] = tools
    tool_config = _camel_keys(out.get("toolConfig") or {})
    if isinstance(tool_config.get("functionCallingConfig"), dict):
        tool_config["functionCallingConfig"] = _camel_keys(tool_config["functionCallingConfig"])
    out["toolConfig"] = tool_config
    return out


@dataclass(slots=True)
class Upstream:
    """One provider request as the mock journal recorded it (secrets already redacted by the mock)."""

    provider: str
    flavour: str
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int | None = None
    usage: Any = None  # the native usage object the mock answered with
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Upstream:
        return cls(
            provider=str(entry.get("provider")),
            flavour=str(entry.get("flavour")),
            method=str(entry.get("method")),
            path=str(entry.get("path")),
            query=dict(entry.get("query") or {}),
            headers={str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()},
            body=entry.get("body"),
            status=entry.get("status"),
            usage=entry.get("response_usage"),
            raw=dict(entry),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def gemini(self) -> dict[str, Any]:
        return gemini_view(self.body)


@dataclass(slots=True)
class XlateContext(Context):
    """A `Context` plus the upstream request(s) the exchange caused and the test's expectations."""

    upstream: Upstream | None = None
    #: every upstream request of this exchange, in order (fallback attempts included)
    upstreams: list[Upstream] = field(default_factory=list)
    #: what the test knows about the right answer (keys documented on the checks that read them)
    expect: dict[str, Any] = field(default_factory=dict)


def _upstream(context: Context, *flavours: str) -> Upstream | None:
    upstream = getattr(context, "upstream", None)
    if upstream is None or (flavours and upstream.flavour not in flavours):
        return None
    return upstream


def _expect(context: Context) -> dict[str, Any]:
    return getattr(context, "expect", None) or {}


# -------------------------------------------------------------------------------------------------
# Helpers over the client request and the response
# -------------------------------------------------------------------------------------------------


def text_of(content: Any) -> str:
    """The text of an OpenAI or Anthropic content value (string, or text parts/blocks joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def parse_json(text: Any) -> tuple[bool, Any]:
    if not isinstance(text, str):
        return False, None
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, None


def warnings_of(exchange: Exchange | None) -> list[dict[str, Any]]:
    final = final_object(exchange) if exchange is not None else None
    metadata = final.get("routing_metadata") if final else None
    warnings = metadata.get("warnings") if isinstance(metadata, dict) else None
    return [w for w in warnings or [] if isinstance(w, dict)]


def names(text: str, name: str) -> bool:
    """`name` appears in `text` as a word of its own (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text, re.IGNORECASE) is not None


def warned(exchange: Exchange | None, name: str, kind: str | None = None) -> bool:
    """A warning names `name` in its code or message (D-047), of type `kind` when given."""
    for w in warnings_of(exchange):
        if kind is not None and kind not in (w.get("type"), w.get("code")):
            continue
        if names(f"{w.get('code', '')} {w.get('message', '')}", name):
            return True
    return False


def owes_warning(exchange: Exchange | None, context: Context, name: str, kind: str | None = None) -> bool:
    """A warning naming `name` is due and missing. Never due when the target does not claim warnings:
    its silence says nothing then, and the rest of the check still judges what reached the provider."""
    return context.claimed("warnings") and not warned(exchange, name, kind)


def messages_of(exchange: Exchange) -> list[dict[str, Any]]:
    """Each choice's final message: the body's, or one assembled from the stream's deltas."""
    if exchange.status != 200:
        return []
    if not exchange.is_stream:
        body = exchange.json
        choices = body.get("choices") if isinstance(body, dict) else None
        return [
            {
                **(c.get("message") or {}),
                "_finish": c.get("finish_reason"),
                "_native": c.get("native_finish_reason"),
            }
            for c in choices or []
            if isinstance(c, dict)
        ]
    assembled: dict[int, dict[str, Any]] = {}
    for chunk in exchange.stream.chunks:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            msg = assembled.setdefault(
                choice.get("index", 0),
                {"content": "", "reasoning_content": "", "_tools": {}, "_finish": None, "_native": None},
            )
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                msg["content"] += delta["content"]
            if isinstance(delta.get("reasoning_content"), str):
                msg["reasoning_content"] += delta["reasoning_content"]
            for call in delta.get("tool_calls") or []:
                if not isinstance(call, dict):
                    continue
                slot = msg["_tools"].setdefault(
                    call.get("index"), {"name": None, "arguments": "", "id": None}
                )
                fn = call.get("function") or {}
                if fn.get("name"):
                    slot["name"] = fn["name"]
                if call.get("id"):
                    slot["id"] = call["id"]
                if isinstance(fn.get("arguments"), str):
                    slot["arguments"] += fn["arguments"]
            if choice.get("finish_reason") is not None:
                msg["_finish"] = choice["finish_reason"]
            if choice.get("native_finish_reason") is not None:
                msg["_native"] = choice["native_finish_reason"]
    out = []
    for index in sorted(assembled):
        msg = assembled[index]
        tools = msg.pop("_tools")
        if tools:
            msg["tool_calls"] = [
                {
                    "id": t["id"],
                    "type": "function",
                    "function": {"name": t["name"], "arguments": t["arguments"]},
                }
                for _, t in sorted(tools.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            ]
            msg["_indices"] = list(tools)
        out.append(msg)
    return out


def final_usage(exchange: Exchange) -> dict[str, Any] | None:
    if exchange.status == 200 and exchange.is_stream:
        return exchange.stream.last_usage
    final = final_object(exchange)
    usage = final.get("usage") if final else None
    return usage if isinstance(usage, dict) else None


def _detail(usage: Mapping[str, Any], group: str, key: str) -> int:
    value = (usage.get(group) or {}).get(key)
    return int(value) if isinstance(value, int) else 0


def _client_stops(request: Mapping[str, Any]) -> list[str] | None:
    stop = request.get("stop")
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else list(stop)


def _system_texts(request: Mapping[str, Any]) -> list[str]:
    return [
        text_of(m.get("content"))
        for m in request.get("messages") or []
        if isinstance(m, dict) and m.get("role") in ("system", "developer")
    ]


def _in_order(haystack: str, needles: Iterable[str]) -> bool:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def _client_tool_calls(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        call
        for m in request.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
        if isinstance(call, dict)
    ]


def _forced_choice(request: Mapping[str, Any]) -> str | None:
    """'required', 'named' or None for the client's tool_choice."""
    choice = request.get("tool_choice")
    if choice == "required":
        return "required"
    if isinstance(choice, dict):
        return "named"
    return None


def _lenient(
    exchange: Exchange | None,
    context: Context,
    present: bool,
    got: Any,
    want: Any,
    name: str,
    where: str,
) -> Iterator[str]:
    """A model-dependent parameter: forwarded unchanged, or dropped with a warning naming it (SP rule)."""
    if present:
        if got != want:
            yield f"{name} reached the provider as {where}={got!r}, the client sent {want!r}"
    elif owes_warning(exchange, context, name):
        yield f"{name} was neither forwarded (as {where}) nor named in a warning"


# -------------------------------------------------------------------------------------------------
# XLATE: request side (need the upstream request)
# -------------------------------------------------------------------------------------------------

GEMINI_PATH_RE = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent)$")


@check("XLATE-001", Applies.ANY)
def native_endpoint_and_auth(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each provider gets its own endpoint, auth header and model placement; Anthropic always a max_tokens.

    expect: `provider_model_id` (optional) the model ID the provider must be asked for.
    """
    up = _upstream(context)
    if up is None:
        raise NotApplicable
    stream = context.request.get("stream") is True
    model = _expect(context).get("provider_model_id")
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
            yield f"Anthropic body max_tokens is {max_tokens}, the client's limit is {limit}"
        if model is not None and up.json.get("model") != model:
            yield f"Anthropic body model is {up.json.get('model')!r}, expected {model!r}"
    elif up.flavour == "gemini":
        match = GEMINI_PATH_RE.search(up.path)
        want = "streamGenerateContent" if stream else "generateContent"
        if match is None or match.group(2) != want:
            yield f"Gemini was called at {up.path}, expected .../models/{{model}}:{want}"
        elif model is not None and match.group(1) != model:
            yield f"Gemini path names model {match.group(1)!r}, expected {model!r}"
        if stream and up.query.get("alt") != "sse":
            yield f"Gemini stream request has query {up.query!r}, expected alt=sse"
        if not up.header("x-goog-api-key"):
            yield "Gemini request has no x-goog-api-key header"
        if "model" in up.json:
            yield "Gemini body carries `model`; the model belongs only in the path"
    elif up.flavour in OPENAI_COMPATIBLE:
        if not up.path.endswith("/chat/completions"):
            yield f"{up.flavour} was called at {up.path}, not .../chat/completions"
        if not (up.header("authorization") or "").lower().startswith("bearer "):
            yield f"{up.flavour} request has no bearer token"
        if model is not None and up.json.get("model") != model:
            yield f"{up.flavour} body model is {up.json.get('model')!r}, expected {model!r}"


@check("XLATE-002", Applies.ANY)
def stream_options_where_accepted(exchange: Exchange, context: Context) -> Iterator[str]:
    """OpenAI-compatible streams ask for usage; Anthropic and Gemini never get `stream_options`."""
    up = _upstream(context)
    if up is None:
        raise NotApplicable
    if up.flavour in ("anthropic", "gemini"):
        for key in ("stream_options", "streamOptions"):
            if key in up.json:
                yield f"{up.flavour} request carries {key}={up.json[key]!r}"
    elif up.flavour in OPENAI_COMPATIBLE and context.request.get("stream") is True:
        options = up.json.get("stream_options")
        if not isinstance(options, dict) or options.get("include_usage") is not True:
            yield f"{up.flavour} stream request has stream_options={options!r}, not include_usage: true"


@check("XLATE-003", Applies.ANY)
def anthropic_system_top_level(exchange: Exchange, context: Context) -> Iterator[str]:
    """System and developer texts become the top-level `system`, in order; messages hold user/assistant."""
    up = _upstream(context, "anthropic")
    if up is None:
        raise NotApplicable
    wanted = [t for t in _system_texts(context.request) if t]
    system = up.json.get("system")
    if isinstance(system, list):
        bad = [b for b in system if not (isinstance(b, dict) and b.get("type") == "text")]
        if bad:
            yield f"top-level system holds non-text blocks: {bad!r}"
    got = text_of(system)
    if wanted and not _in_order(got, wanted):
        yield f"top-level system is {system!r}; expected the system/developer texts {wanted!r} in order"
    for i, message in enumerate(up.json.get("messages") or []):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            yield f"upstream messages[{i}] has role {role!r}"


@check("XLATE-004", Applies.ANY)
def gemini_system_instruction(exchange: Exchange, context: Context) -> Iterator[str]:
    """System/developer texts become `systemInstruction.parts[].text`; assistant turns have role `model`."""
    up = _upstream(context, "gemini")
    if up is None:
        raise NotApplicable
    body = up.gemini
    wanted = [t for t in _system_texts(context.request) if t]
    parts = (body.get("systemInstruction") or {}).get("parts") or []
    got = "\n".join(
        p.get("text", "") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    )
    if wanted and not _in_order(got, wanted):
        yield f"systemInstruction text is {got!r}; expected {wanted!r} in order"
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


ANTHROPIC_CHOICE = {"auto": "auto", "required": "any", "none": "none"}
GEMINI_MODE = {"auto": "AUTO", "required": "ANY", "none": "NONE"}


@check("XLATE-005", Applies.ANY)
def anthropic_tools_native(exchange: Exchange, context: Context) -> Iterator[str]:
    """Tools, tool_choice, parallel_tool_calls and tool history in Anthropic's native shapes."""
    up = _upstream(context, "anthropic")
    if up is None:
        raise NotApplicable
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
            if schema != fn["parameters"]:
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
    for call in _client_tool_calls(request):
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


@check("XLATE-006", Applies.ANY)
def gemini_tools_native(exchange: Exchange, context: Context) -> Iterator[str]:
    """Tools as functionDeclarations, tool_choice as functionCallingConfig, history as function parts."""
    up = _upstream(context, "gemini")
    if up is None:
        raise NotApplicable
    request = context.request
    body = up.gemini
    declared = {
        d.get("name")
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for d in tool.get("functionDeclarations") or []
        if isinstance(d, dict)
    }
    for tool in request.get("tools") or []:
        name = (tool.get("function") or {}).get("name")
        if name not in declared:
            yield f"tool {name!r} is not among tools[].functionDeclarations[] ({sorted(map(str, declared))})"
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
    for call in _client_tool_calls(request):
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


def _deepseek_thinking(request: Mapping[str, Any], up: Upstream) -> bool:
    thinking = up.json.get("thinking")
    if isinstance(thinking, dict):
        return thinking.get("type") == "enabled"
    return request.get("reasoning_effort") not in (None, "off")


@check("XLATE-008", Applies.ANY)
def deepseek_reasoning_content_on_tool_turns(exchange: Exchange, context: Context) -> Iterator[str]:
    """In thinking mode every assistant tool-call turn sent to DeepSeek carries `reasoning_content`."""
    up = _upstream(context, "deepseek")
    if up is None or not (_deepseek_thinking(context.request, up) or _expect(context).get("thinking")):
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


@check("XLATE-010", Applies.ANY)
def empty_arguments_become_empty_object(exchange: Exchange, context: Context) -> Iterator[str]:
    """A client tool call with `arguments: ""` reaches Anthropic as `input: {}`, Gemini as `args: {}`."""
    up = _upstream(context, "anthropic", "gemini")
    if up is None:
        raise NotApplicable
    empty = [
        c
        for c in _client_tool_calls(context.request)
        if isinstance((c.get("function") or {}).get("arguments"), str)
        and not c["function"]["arguments"].strip()
    ]
    if not empty:
        raise NotApplicable
    if exchange.status != 200:
        yield f"the request with empty arguments failed with HTTP {exchange.status}"
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
                yield f"empty arguments of {name!r} reached Gemini as {parts[:1]!r}, not args: {{}}"


@check("XLATE-012", Applies.ANY)
def stop_native_field(exchange: Exchange, context: Context) -> Iterator[str]:
    """`stop` becomes Anthropic `stop_sequences`, Gemini `stopSequences`, and stays `stop` elsewhere."""
    up = _upstream(context)
    stops = _client_stops(context.request)
    if up is None or stops is None:
        raise NotApplicable
    if up.flavour == "anthropic":
        want = [s for s in stops if s.strip()]  # whitespace-only ones are XLATE-013's business
        got = up.json.get("stop_sequences")
        if want and got != want:
            yield f"stop {stops!r} reached Anthropic as stop_sequences={got!r}, expected {want!r}"
        if "stop" in up.json:
            yield "Anthropic request carries an OpenAI `stop` field"
    elif up.flavour == "gemini":
        got = up.gemini["generationConfig"].get("stopSequences")
        if got != stops:
            yield f"stop {stops!r} reached Gemini as stopSequences={got!r}"
    elif up.flavour in OPENAI_COMPATIBLE and up.json.get("stop") != context.request["stop"]:
        yield f"stop {context.request['stop']!r} reached {up.flavour} as {up.json.get('stop')!r}"


@check("XLATE-013", Applies.ANY)
def anthropic_whitespace_stops_dropped(exchange: Exchange, context: Context) -> Iterator[str]:
    """Whitespace-only stop sequences are removed for Anthropic, with a warning naming `stop`."""
    stops = _client_stops(context.request) or []
    if not any(not s.strip() for s in stops):
        raise NotApplicable
    up = _upstream(context, "anthropic")
    if up is None:
        if _expect(context).get("flavour") == "anthropic" and exchange.status != 200:
            yield f"a whitespace-only stop sequence made the request fail with HTTP {exchange.status}"
        return
    sent = up.json.get("stop_sequences") or []
    blank = [s for s in sent if isinstance(s, str) and not s.strip()]
    if blank:
        yield f"whitespace-only stop sequences {blank!r} reached Anthropic"
    if exchange.status != 200:
        yield f"the request failed with HTTP {exchange.status}"
    elif owes_warning(exchange, context, "stop", "unsupported_parameter"):
        yield "no unsupported_parameter warning names `stop`"


@check("XLATE-014", Applies.ANY)
def output_limit_native_field(exchange: Exchange, context: Context) -> Iterator[str]:
    """The client's token limit reaches Gemini, OpenAI reasoning models and DeepSeek in the native field.

    expect: `reasoning_model` (bool) whether the OpenAI model is a reasoning model.
    """
    up = _upstream(context)
    request = context.request
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if up is None or not isinstance(limit, int):
        raise NotApplicable
    if up.flavour == "gemini":
        got = up.gemini["generationConfig"].get("maxOutputTokens")
        if not isinstance(got, int) or isinstance(got, bool) or got < 1:
            yield f"max tokens {limit} reached Gemini as maxOutputTokens={got!r}"
        elif limit <= 8192 and got != limit:
            yield f"max tokens {limit} reached Gemini as maxOutputTokens={got}"
        elif got > limit:
            yield f"maxOutputTokens {got} exceeds the client's limit {limit}"
    elif up.flavour == "openai" and _expect(context).get("reasoning_model"):
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


def anthropic_thinking(up: Upstream) -> bool:
    thinking = up.json.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


@check("XLATE-015", Applies.ANY)
def sampling_native_anthropic_gemini(exchange: Exchange, context: Context) -> Iterator[str]:
    """temperature/top_p/top_k reach Anthropic unchanged; the sampling set reaches generationConfig."""
    up = _upstream(context, "anthropic", "gemini")
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
            yield from _lenient(exchange, context, native in config, config.get(native), value, name, native)
        elif config.get(native) != value:
            yield f"{name}={value!r} reached Gemini as generationConfig.{native}={config.get(native)!r}"


@check("XLATE-016", Applies.ANY)
def anthropic_temperature_clamped(exchange: Exchange, context: Context) -> Iterator[str]:
    """A temperature in (1, 2] reaches Anthropic as 1, with a warning naming `temperature`."""
    up = _upstream(context, "anthropic")
    value = context.request.get("temperature")
    if up is None or not isinstance(value, int | float) or not 1 < value <= 2 or anthropic_thinking(up):
        raise NotApplicable
    if up.json.get("temperature") != 1:
        yield f"temperature {value} reached Anthropic as {up.json.get('temperature')!r}, not 1"
    if owes_warning(exchange, context, "temperature", "unsupported_parameter"):
        yield "no unsupported_parameter warning names `temperature`"


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
#: OpenAI takes these only on some models (verbosity: GPT-5; web_search_options: search models).
OPENAI_MODEL_DEPENDENT = frozenset({"web_search_options", "verbosity"})
VLLM_UNCHANGED = ("top_k", "min_p", "repetition_penalty")


@check("XLATE-017", Applies.ANY)
def openai_compatible_fields_unchanged(exchange: Exchange, context: Context) -> Iterator[str]:
    """OpenAI gets its own extra fields unchanged; vLLM gets top_k, min_p and repetition_penalty."""
    up = _upstream(context, "openai", "vllm")
    if up is None:
        raise NotApplicable
    fields_ = OPENAI_UNCHANGED if up.flavour == "openai" else VLLM_UNCHANGED
    for name in fields_:
        if name not in context.request or context.request[name] is None:
            continue
        value = context.request[name]
        if up.flavour == "openai" and name in OPENAI_MODEL_DEPENDENT:
            yield from _lenient(exchange, context, name in up.json, up.json.get(name), value, name, name)
        elif up.json.get(name) != value:
            yield f"{name}={value!r} reached {up.flavour} as {up.json.get(name)!r}"


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
    "vllm": ("top_a",),
}


@check("XLATE-018", Applies.ANY)
def no_native_field_not_forwarded(exchange: Exchange, context: Context) -> Iterator[str]:
    """Parameters without a native field on the provider never reach it (any spelling, any level)."""
    up = _upstream(context)
    if up is None:
        raise NotApplicable
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


def _schema_has(schema: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(schema, dict):
        return any(k in schema for k in keys) or any(_schema_has(v, keys) for v in schema.values())
    if isinstance(schema, list):
        return any(_schema_has(v, keys) for v in schema)
    return False


@check("XLATE-019", Applies.ANY)
def gemini_response_format(exchange: Exchange, context: Context) -> Iterator[str]:
    """json_object/json_schema set responseMimeType; the schema travels; strict schemas cause no 400."""
    up = _upstream(context, "gemini")
    rf = context.request.get("response_format")
    if up is None or not isinstance(rf, dict) or rf.get("type") not in ("json_object", "json_schema"):
        raise NotApplicable
    config = up.gemini["generationConfig"]
    if config.get("responseMimeType") != "application/json":
        yield f"{rf['type']} reached Gemini with responseMimeType={config.get('responseMimeType')!r}"
    if rf["type"] == "json_schema":
        schema = (rf.get("json_schema") or {}).get("schema")
        if "responseJsonSchema" in config:
            if config["responseJsonSchema"] != schema:
                yield f"responseJsonSchema is {config['responseJsonSchema']!r}, expected the client's schema"
        elif "responseSchema" in config:
            if _schema_has(config["responseSchema"], ("additionalProperties", "$schema")):
                yield "responseSchema (OpenAPI subset) still holds additionalProperties/$schema"
        else:
            yield "json_schema reached Gemini without responseJsonSchema or responseSchema"
    if exchange.status != 200 or (up.status is not None and up.status != 200):
        yield f"the structured-output request failed (gateway HTTP {exchange.status}, upstream {up.status})"


@check("XLATE-021", Applies.ANY)
def claude_adaptive_effort(exchange: Exchange, context: Context) -> Iterator[str]:
    """Claude 4.6: `thinking: {type: adaptive}` and `output_config.effort` equal to the effort.

    expect: `claude_kind` == "adaptive".
    """
    up = _upstream(context, "anthropic")
    effort = context.request.get("reasoning_effort")
    if (
        up is None
        or _expect(context).get("claude_kind") != "adaptive"
        or effort not in ("low", "medium", "high")
    ):
        raise NotApplicable
    thinking = up.json.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") == "adaptive"):
        yield f"reasoning_effort {effort!r} reached Claude 4.6 as thinking={thinking!r}, not adaptive"
    got = (up.json.get("output_config") or {}).get("effort")
    if got != effort:
        yield f"output_config.effort is {got!r}, expected {effort!r}"


def budget_of(up: Upstream) -> int | None:
    thinking = up.json.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        value = thinking.get("budget_tokens")
        return value if isinstance(value, int) else None
    return None


@check("XLATE-022", Applies.ANY)
def claude_budget_from_effort(exchange: Exchange, context: Context) -> Iterator[str]:
    """Claude 4.5: thinking enabled with 1024 <= budget < max_tokens (Opus 4.5: plus output_config.effort).

    expect: `claude_kind` == "budget"; `effort_control` (bool) for Opus 4.5.
    """
    up = _upstream(context, "anthropic")
    expect = _expect(context)
    effort = context.request.get("reasoning_effort")
    if up is None or expect.get("claude_kind") != "budget" or effort in (None, "off"):
        raise NotApplicable
    thinking = up.json.get("thinking")
    budget = budget_of(up)
    if budget is None:
        yield f"reasoning_effort {effort!r} reached Claude 4.5 as thinking={thinking!r}, not a budget"
        return
    if budget < 1024:
        yield f"budget_tokens {budget} is below Anthropic's minimum 1024"
    max_tokens = up.json.get("max_tokens")
    if not isinstance(max_tokens, int) or budget >= max_tokens:
        yield f"budget_tokens {budget} is not below the sent max_tokens {max_tokens!r}"
    if expect.get("effort_control") and effort in ("low", "medium", "high"):
        got = (up.json.get("output_config") or {}).get("effort")
        if got != effort:
            yield f"Opus 4.5 output_config.effort is {got!r}, expected {effort!r}"


@check("XLATE-023", Applies.ANY)
def claude_xhigh_normalised(exchange: Exchange, context: Context) -> Iterator[str]:
    """`xhigh` stays on Opus 4.7, becomes `high` on Opus 4.5 and `max` elsewhere, with a warning when changed.

    expect: `xhigh_to` ("xhigh" | "high" | "max"), `claude_kind`, and for budget models `high_budget`
    (the budget the same model got for `high`).
    """
    up = _upstream(context, "anthropic")
    expect = _expect(context)
    target = expect.get("xhigh_to")
    if up is None or context.request.get("reasoning_effort") != "xhigh" or target is None:
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


@check("XLATE-024", Applies.ANY)
def claude_thinking_sampling_stripped(exchange: Exchange, context: Context) -> Iterator[str]:
    """With thinking on, temperature, top_k and a top_p outside [0.95, 1] are dropped with warnings."""
    up = _upstream(context, "anthropic")
    request = context.request
    if up is None or not anthropic_thinking(up):
        raise NotApplicable
    if exchange.status != 200:
        yield f"the request failed with HTTP {exchange.status}"
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
    if _expect(context).get("flavour") != "anthropic":
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
    else:
        error = (exchange.json or {}).get("error") if isinstance(exchange.json, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if exchange.status != 400 or code != "tool_choice_required_not_supported":
            yield f"expected a 400 tool_choice_required_not_supported, got HTTP {exchange.status} {code!r}"


GEMINI_LEVELS = ("low", "medium", "high")


@check("XLATE-026", Applies.ANY)
def gemini_thinking_by_generation(exchange: Exchange, context: Context) -> Iterator[str]:
    """Gemini 3 gets thinkingLevel, Gemini 2.5 a positive thinkingBudget; never both.

    expect: `gemini_kind` ("level" | "budget").
    """
    up = _upstream(context, "gemini")
    kind = _expect(context).get("gemini_kind")
    effort = context.request.get("reasoning_effort")
    if up is None or kind is None or effort in (None, "off"):
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


OPENAI_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")


@check("XLATE-027", Applies.ANY)
def openai_native_effort(exchange: Exchange, context: Context) -> Iterator[str]:
    """o-series/GPT-5 get reasoning_effort natively; `max` becomes the ceiling with a warning.

    expect: `effort_dropped_with_tools` (bool) for GPT-5.4+ with tools; `ceiling` (optional).
    """
    up = _upstream(context, "openai")
    expect = _expect(context)
    effort = context.request.get("reasoning_effort")
    if up is None or effort in (None, "off") or not expect.get("openai_reasoning"):
        raise NotApplicable
    got = up.json.get("reasoning_effort")
    if expect.get("effort_dropped_with_tools"):
        if got is not None:
            yield f"GPT-5.4+ with tools was sent reasoning_effort={got!r}"
        if exchange.status != 200:
            yield f"the request failed with HTTP {exchange.status}"
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


@check("XLATE-028", Applies.ANY)
def deepseek_thinking_from_effort(exchange: Exchange, context: Context) -> Iterator[str]:
    """DeepSeek V4: an effort other than `off` turns thinking on, with a DeepSeek depth if one is sent."""
    up = _upstream(context, "deepseek")
    effort = context.request.get("reasoning_effort")
    if up is None or effort in (None, "off") or not _expect(context).get("deepseek_v4"):
        raise NotApplicable
    thinking = up.json.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") == "enabled"):
        yield f"reasoning_effort {effort!r} reached DeepSeek V4 as thinking={thinking!r}, not enabled"
    depth = up.json.get("reasoning_effort")
    if depth is not None and depth not in DEEPSEEK_EFFORTS:
        yield f"DeepSeek got reasoning_effort={depth!r}; its depths are {DEEPSEEK_EFFORTS}"


def error_code(exchange: Exchange) -> str | None:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    error = body.get("error")
    return error.get("code") if isinstance(error, dict) else None


def error_param(exchange: Exchange) -> Any:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    error = body.get("error")
    return error.get("param") if isinstance(error, dict) else None


@check("XLATE-029", Applies.ANY)
def reasoning_rejected_without_reasoning(exchange: Exchange, context: Context) -> Iterator[str]:
    """reasoning_effort (not off) on a model without reasoning is 400 reasoning_not_supported.

    expect: `non_reasoning_model` (bool).
    """
    effort = context.request.get("reasoning_effort")
    if not _expect(context).get("non_reasoning_model") or effort in (None, "off"):
        raise NotApplicable
    if exchange.status != 400 or error_code(exchange) != "reasoning_not_supported":
        yield f"expected 400 reasoning_not_supported, got HTTP {exchange.status} {error_code(exchange)!r}"


@check("XLATE-030", Applies.ANY)
def reasoning_off_native(exchange: Exchange, context: Context) -> Iterator[str]:
    """`off` uses the native switch (Claude, Gemini 2.5 Flash, DeepSeek) or is 400 where it cannot.

    expect: `off` ("claude" | "gemini_budget" | "deepseek" | "reject").
    """
    how = _expect(context).get("off")
    if context.request.get("reasoning_effort") != "off" or how is None:
        raise NotApplicable
    up = getattr(context, "upstream", None)
    if how == "reject":
        if exchange.status != 400 or error_code(exchange) != "thinking_disable_not_supported":
            yield f"expected 400 thinking_disable_not_supported, got {exchange.status} {error_code(exchange)}"
        return
    if exchange.status != 200 or up is None:
        yield f"reasoning_effort off failed with HTTP {exchange.status}"
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


@check("XLATE-032", Applies.ANY)
def anthropic_history_round_trips(exchange: Exchange, context: Context) -> Iterator[str]:
    """Client reasoning blocks reach Anthropic in order; empty assistant content gives no empty text block."""
    up = _upstream(context, "anthropic")
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
        yield f"the request failed with HTTP {exchange.status}"


@check("XLATE-039", Applies.ANY)
def image_parts_native(exchange: Exchange, context: Context) -> Iterator[str]:
    """image_url parts become Anthropic image blocks and Gemini inlineData parts (data URLs)."""
    up = _upstream(context, "anthropic", "gemini")
    if up is None:
        raise NotApplicable
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


@check("XLATE-040", Applies.ANY)
def anthropic_cache_control_forwarded(exchange: Exchange, context: Context) -> Iterator[str]:
    """A text part with cache_control reaches Anthropic as a block with the same cache_control."""
    up = _upstream(context, "anthropic")
    if up is None:
        raise NotApplicable
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


# -------------------------------------------------------------------------------------------------
# XLATE: response side
# -------------------------------------------------------------------------------------------------


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


@check("XLATE-009", Applies.ANY)
def tool_call_arguments_are_json(exchange: Exchange, context: Context) -> Iterator[str]:
    """Every returned `function.arguments` parses as JSON (`"{}"` for none, never `""`).

    expect: `no_argument_tools` names of tools the provider called without arguments.
    """
    empty = set(_expect(context).get("no_argument_tools") or ())
    for i, message in enumerate(messages_of(exchange)):
        for call in message.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            arguments = fn.get("arguments")
            ok, value = parse_json(arguments)
            if not ok:
                yield f"choice {i} call {fn.get('name')!r} has arguments {arguments!r}, which is not JSON"
            elif fn.get("name") in empty and value != {}:
                yield f"choice {i} call {fn.get('name')!r} has no arguments but returned {arguments!r}"


@check("XLATE-011", Applies.STREAM)
def anthropic_stream_tool_indices(exchange: Exchange, context: Context) -> Iterator[str]:
    """Anthropic stream: tool-call indices count tool calls from 0; each call gets its own arguments.

    expect: `tool_names` (optional) the tools called, in order.
    """
    if _upstream(context, "anthropic") is None:
        raise NotApplicable
    for message in messages_of(exchange):
        indices = message.get("_indices") or []
        if not indices:
            continue
        if sorted(indices) != list(range(len(indices))):
            yield f"tool-call indices are {indices!r}; they must start at 0 and count only tool calls"
        wanted = _expect(context).get("tool_names")
        calls = message.get("tool_calls") or []
        if wanted is not None and [c["function"]["name"] for c in calls] != list(wanted):
            yield f"tool calls by index are {[c['function']['name'] for c in calls]!r}, not {list(wanted)!r}"
        for call in calls:
            ok, value = parse_json(call["function"]["arguments"])
            if not ok or not isinstance(value, dict):
                yield f"call {call['function']['name']!r} arguments join to {call['function']['arguments']!r}"
        keys = _expect(context).get("argument_keys")
        if keys is not None:
            for call, want in zip(calls, keys, strict=False):
                ok, value = parse_json(call["function"]["arguments"])
                if ok and isinstance(value, dict) and sorted(value) != sorted(want):
                    yield f"call {call['function']['name']!r} got arguments {value!r}; keys {want!r} expected"


@check("XLATE-020", Applies.ANY)
def anthropic_json_schema_as_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """json_schema answered by Claude comes back as JSON content, no tool_calls, finish_reason stop."""
    rf = context.request.get("response_format")
    if _upstream(context, "anthropic") is None or not isinstance(rf, dict) or rf.get("type") != "json_schema":
        raise NotApplicable
    if exchange.status != 200:
        yield f"json_schema on Claude failed with HTTP {exchange.status}"
        return
    for i, message in enumerate(messages_of(exchange)):
        ok, _ = parse_json(message.get("content"))
        if not ok:
            yield f"choice {i} content {message.get('content')!r} is not the JSON document"
        if message.get("tool_calls"):
            yield f"choice {i} returned the structured answer as tool_calls"
        if message.get("_finish") != "stop":
            yield f"choice {i} finish_reason is {message.get('_finish')!r}, not stop"


#: Shorter reasoning could appear in content by chance; the check needs a distinctive text.
MIN_REASONING_CHARS = 24


@check("XLATE-031", Applies.ANY)
def reasoning_not_in_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """Returned reasoning text never appears inside `content`."""
    for i, message in enumerate(messages_of(exchange)):
        reasoning, content = message.get("reasoning_content"), message.get("content")
        if not isinstance(reasoning, str) or not isinstance(content, str):
            continue
        if len(reasoning.strip()) >= MIN_REASONING_CHARS and reasoning.strip() in content:
            yield f"choice {i} content contains the reasoning text"


@check("XLATE-031", Applies.ANY)
def reasoning_returned_as_reasoning_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """Upstream reasoning comes back as `reasoning_content` (Anthropic: plus signed `reasoning` blocks).

    expect: `reasoning_text` the text the provider reasoned with.
    """
    up = _upstream(context)
    want = _expect(context).get("reasoning_text")
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


def _usage_findings(got: Mapping[str, Any] | None, want: Mapping[str, int]) -> Iterator[str]:
    if got is None:
        yield "the response has no usage"
        return
    actual = {
        "prompt_tokens": got.get("prompt_tokens"),
        "completion_tokens": got.get("completion_tokens"),
        "cached_tokens": _detail(got, "prompt_tokens_details", "cached_tokens"),
        "reasoning_tokens": _detail(got, "completion_tokens_details", "reasoning_tokens"),
    }
    for key, value in want.items():
        if actual[key] != value:
            yield f"usage {key} is {actual[key]!r}, the provider's usage gives {value}"


def _native_usage(context: Context, flavour: str) -> dict[str, Any] | None:
    up = _upstream(context, flavour)
    return up.usage if up is not None and isinstance(up.usage, dict) else None


@check("XLATE-033", Applies.ANY)
def anthropic_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """prompt = input + cache_creation + cache_read; cached = cache_read; completion = output_tokens."""
    native = _native_usage(context, "anthropic")
    if native is None or exchange.status != 200:
        raise NotApplicable
    read = int(native.get("cache_read_input_tokens") or 0)
    write = int(native.get("cache_creation_input_tokens") or 0)
    want = {
        "prompt_tokens": int(native.get("input_tokens") or 0) + read + write,
        "completion_tokens": int(native.get("output_tokens") or 0),
        "cached_tokens": read,
    }
    yield from _usage_findings(final_usage(exchange), want)


@check("XLATE-034", Applies.ANY)
def gemini_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """prompt = promptTokenCount; completion = candidates + thoughts; reasoning = thoughts; cached."""
    native = _native_usage(context, "gemini")
    if native is None or exchange.status != 200:
        raise NotApplicable
    native = _camel_keys(native)
    thoughts = int(native.get("thoughtsTokenCount") or 0)
    want = {
        "prompt_tokens": int(native.get("promptTokenCount") or 0),
        "completion_tokens": int(native.get("candidatesTokenCount") or 0) + thoughts,
        "reasoning_tokens": thoughts,
        "cached_tokens": int(native.get("cachedContentTokenCount") or 0),
    }
    yield from _usage_findings(final_usage(exchange), want)


@check("XLATE-035", Applies.ANY)
def deepseek_usage_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """cached = prompt_cache_hit_tokens; reasoning passed through; completion unchanged (not re-added)."""
    native = _native_usage(context, "deepseek")
    if native is None or exchange.status != 200:
        raise NotApplicable
    want = {
        "prompt_tokens": int(native.get("prompt_tokens") or 0),
        "completion_tokens": int(native.get("completion_tokens") or 0),
        "cached_tokens": int(native.get("prompt_cache_hit_tokens") or 0),
        "reasoning_tokens": _detail(native, "completion_tokens_details", "reasoning_tokens"),
    }
    yield from _usage_findings(final_usage(exchange), want)


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


def _finishes(exchange: Exchange) -> list[tuple[Any, Any]]:
    return [(m.get("_finish"), m.get("_native")) for m in messages_of(exchange)]


@check("XLATE-036", Applies.ANY)
def finish_reason_mapped(exchange: Exchange, context: Context) -> Iterator[str]:
    """Native finish reasons map to OpenAI's (Gemini STOP with function calls -> tool_calls).

    expect: `native_finish` the reason the provider answered with.
    """
    native = _expect(context).get("native_finish")
    if native not in FINISH_MAP or exchange.status != 200:
        raise NotApplicable
    for i, message in enumerate(messages_of(exchange)):
        want = FINISH_MAP[native]
        if native == "STOP" and message.get("tool_calls"):
            want = "tool_calls"
        if message.get("_finish") != want:
            yield f"choice {i}: native {native!r} became {message.get('_finish')!r}, expected {want!r}"


@check("XLATE-037", Applies.ANY)
def native_finish_reason_kept(exchange: Exchange, context: Context) -> Iterator[str]:
    """Unmapped native reasons follow D-044; `native_finish_reason` carries the provider's value.

    expect: `native_finish` the reason the provider answered with.
    """
    native = _expect(context).get("native_finish")
    if native is None or exchange.status != 200:
        raise NotApplicable
    for i, (finish, kept) in enumerate(_finishes(exchange)):
        if native not in FINISH_MAP:
            want = UNMAPPED_FINISH.get(native, "stop")
            if finish != want:
                yield f"choice {i}: native {native!r} became {finish!r}, expected {want!r} (D-044)"
        if finish != native and kept != native:
            yield f"choice {i}: native_finish_reason is {kept!r}, expected the provider's {native!r}"


@check("XLATE-038", Applies.ANY)
def truncation_wins_over_tool_calls(exchange: Exchange, context: Context) -> Iterator[str]:
    """The provider stopped on its token limit mid tool call: finish_reason is `length`.

    expect: `truncated` (bool).
    """
    if not _expect(context).get("truncated") or exchange.status != 200:
        raise NotApplicable
    for i, (finish, _) in enumerate(_finishes(exchange)):
        if finish != "length":
            yield f"choice {i} finish_reason is {finish!r} after a truncated tool call, not length"


# -------------------------------------------------------------------------------------------------
# EXT
# -------------------------------------------------------------------------------------------------


def _top_level(up: Upstream, key: str) -> tuple[bool, Any]:
    body = up.json
    for spelling in (key, camel(key)) if up.flavour == "gemini" else (key,):
        if spelling in body:
            return True, body[spelling]
    return False, None


@check("EXT-001", Applies.ANY)
def extensions_reach_provider(exchange: Exchange, context: Context) -> Iterator[str]:
    """Keys of `extensions.<selected>` appear top-level upstream with their values unchanged.

    expect: `extension` the extensions key of the provider that serves the request; `passthrough`
    the keys expected through (default: all of them).
    """
    up = getattr(context, "upstream", None)
    name = _expect(context).get("extension")
    extensions = context.request.get("extensions") or {}
    if up is None or name is None or not isinstance(extensions.get(name), dict):
        raise NotApplicable
    keys = _expect(context).get("passthrough") or list(extensions[name])
    for key in keys:
        present, value = _top_level(up, key)
        if not present:
            yield f"extensions.{name}.{key} did not reach {up.flavour} as a top-level field"
        elif value != extensions[name][key]:
            yield f"extensions.{name}.{key} reached {up.flavour} as {value!r}, sent {extensions[name][key]!r}"


@check("EXT-002", Applies.ANY)
def other_extensions_stay_behind(exchange: Exchange, context: Context) -> Iterator[str]:
    """Keys under other providers' extensions never appear in the upstream body.

    expect: `extension` the selected provider's extensions key.
    """
    up = getattr(context, "upstream", None)
    name = _expect(context).get("extension")
    extensions = context.request.get("extensions") or {}
    if up is None or name is None:
        raise NotApplicable
    own = set(extensions.get(name) or {}) if isinstance(extensions.get(name), dict) else set()
    for other, value in extensions.items():
        if other == name or not isinstance(value, dict):
            continue
        for key in value:
            if key in own:
                continue
            present, _ = _top_level(up, key)
            if present:
                yield f"extensions.{other}.{key} reached {up.flavour}, which is not {other}"


@check("EXT-003", Applies.ANY)
def extension_provider_warnings(exchange: Exchange, context: Context) -> Iterator[str]:
    """Unused known providers give `ignored_extension`, unknown names `unknown_provider`; no failure.

    expect: `ignored` and `unknown` the extension names of each kind.
    """
    expect = _expect(context)
    if "ignored" not in expect and "unknown" not in expect:
        raise NotApplicable
    if exchange.status != 200:
        yield f"extensions for other providers made the request fail with HTTP {exchange.status}"
        return
    for kind, key in (("ignored_extension", "ignored"), ("unknown_provider", "unknown")):
        for name in expect.get(key) or ():
            if owes_warning(exchange, context, name, kind):
                yield f"no {kind} warning names extensions.{name}"


@check("EXT-004", Applies.ANY)
def credentials_stripped(exchange: Exchange, context: Context) -> Iterator[str]:
    """Credential values from extensions reach no provider (body, headers or query), and the request works.

    expect: `secrets` the credential values the client hid in extensions.
    """
    secrets = _expect(context).get("secrets")
    if not secrets:
        raise NotApplicable
    if exchange.status != 200:
        yield f"the request with credential keys failed with HTTP {exchange.status}"
    for up in getattr(context, "upstreams", None) or []:
        raw = orjson.dumps(up.raw).decode()
        for secret in secrets:
            if secret in raw:
                yield f"a credential value from extensions reached {up.flavour}"


def _path_value(body: Any, path: str) -> tuple[bool, Any]:
    node = body
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


@check("EXT-005", Applies.ANY)
def core_fields_top_level_only(exchange: Exchange, context: Context) -> Iterator[str]:
    """Core fields directly under extensions.<provider> are dropped; nested ones pass untouched.

    expect: `preserved` {upstream path: the client's own value}, `nested` {upstream path: value},
    `blocked_values` values that must not appear upstream.
    """
    up = getattr(context, "upstream", None)
    expect = _expect(context)
    if up is None or not ("preserved" in expect or "nested" in expect):
        raise NotApplicable
    body = up.gemini if up.flavour == "gemini" else up.json
    for path, want in (expect.get("preserved") or {}).items():
        present, got = _path_value(body, path)
        if present and got != want:
            yield f"upstream {path} is {got!r}: an extension overrode the client's {want!r}"
    for path, want in (expect.get("nested") or {}).items():
        present, got = _path_value(up.json, path)
        if not present or got != want:
            yield f"nested extension field {path} reached {up.flavour} as {got!r}, not {want!r} untouched"
    raw = orjson.dumps(up.body).decode()
    for value in expect.get("blocked_values") or ():
        if value in raw:
            yield f"the value of a core field set in extensions ({value!r}) reached {up.flavour}"


@check("EXT-006", Applies.ANY)
def strips_reported_without_value(exchange: Exchange, context: Context) -> Iterator[str]:
    """Each stripped key is named by a warning; no stripped value appears anywhere in the response.

    expect: `stripped` the keys the gateway must strip; `stripped_values` their string values.
    """
    expect = _expect(context)
    if not expect.get("stripped") or exchange.status != 200:
        raise NotApplicable
    for key in expect["stripped"]:
        if owes_warning(exchange, context, key):
            yield f"no warning names the stripped key {key!r}"
    text = exchange.body.decode("utf-8", "replace")
    for value in expect.get("stripped_values") or ():
        if value in text:
            yield "a stripped value is echoed in the response"


@check("EXT-007", Applies.ANY)
def service_tier_extension_rejected(exchange: Exchange, context: Context) -> Iterator[str]:
    """extensions.<provider>.service_tier is 400 invalid_request_error / invalid_request (D-023).

    expect: `platform_governed` the param path.
    """
    param = _expect(context).get("platform_governed")
    if param is None:
        raise NotApplicable
    body = exchange.json if isinstance(exchange.json, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    got = (exchange.status, error.get("type"), error.get("code"), error.get("param"))
    want = (400, "invalid_request_error", "invalid_request", param)
    if got != want:
        yield f"expected (status, type, code, param) {want!r}, got {got!r}"


@check("EXT-008", Applies.ANY)
def extension_not_object_rejected(exchange: Exchange, context: Context) -> Iterator[str]:
    """A non-object extensions.<provider> is 400 invalid_parameter_value naming it.

    expect: `bad_extension` the param path.
    """
    param = _expect(context).get("bad_extension")
    if param is None:
        raise NotApplicable
    got = (exchange.status, error_code(exchange), error_param(exchange))
    want = (400, "invalid_parameter_value", param)
    if got != want:
        yield f"expected (status, code, param) {want!r}, got {got!r}"


# -------------------------------------------------------------------------------------------------
# Across several exchanges (used by tests with judge.require)
# -------------------------------------------------------------------------------------------------


def non_decreasing(label: str, values: list[tuple[str, Any]]) -> list[str]:
    """Messages when numeric values fall as effort rises (e.g. thinking budgets low -> medium -> high)."""
    out = []
    for (a_name, a), (b_name, b) in itertools.pairwise(values):
        if isinstance(a, int | float) and isinstance(b, int | float) and b < a:
            out.append(f"{label} falls from {a} ({a_name}) to {b} ({b_name})")
    return out
