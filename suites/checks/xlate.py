"""What the translation checks share: the journal's view of one provider request, and readings of
the client request and of the answer.

The mock journal records the exact body, path, query and (redacted) headers every provider received.
A test reads the entries caused by its own request (correlation tag), wraps the relevant one in an
`Upstream`, and hands it to the checks in an `XlateContext` together with what it knows the answer
must look like (`expect`). Checks are semantic: they read the native field a requirement names and
accept every spelling the real API accepts (Gemini takes camelCase and snake_case), so any gateway can
be judged by them, not just the reference.

The checks themselves live by provider, as `mocks/` and `reference_impl/adapters/` do:
`xlate_anthropic`, `xlate_gemini`, `xlate_openai` (OpenAI, DeepSeek, vLLM), `xlate_request` (one client
field judged on every provider's native side), `xlate_response` (the answer, whichever provider gave it)
and `ext` (the `extensions` object). Checks that look only at the response apply to every exchange of
every suite; checks that need an upstream request or an expectation stay silent without one, so they
never fire on other suites' exchanges.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from auriko_conformance.suites.checks import Blocked, Context, Located
from auriko_conformance.suites.checks._warning_names import unreadable_warnings, warning_names
from auriko_conformance.suites.checks.stream import USAGE_MISSING
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.journal import refusals
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

OPENAI_COMPATIBLE = frozenset({"openai", "deepseek", "vllm"})


_SNAKE_RE = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    """`max_output_tokens` -> `maxOutputTokens` (Google's proto-JSON parser accepts both spellings)."""
    return _SNAKE_RE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def camel_keys(value: Any) -> Any:
    """One level of keys in camelCase (values untouched: schemas and arguments keep their names)."""
    return {camel(k): v for k, v in value.items()} if isinstance(value, dict) else value


def gemini_view(body: Any) -> dict[str, Any]:
    """A Gemini request body with every structural key in camelCase, whatever spelling the gateway used.

    Only the levels the API defines are renamed: tool parameter schemas, function arguments and
    response schemas keep their own keys.
    """
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = camel_keys(body)
    config = camel_keys(out.get("generationConfig") or {})
    if isinstance(config.get("thinkingConfig"), dict):
        config["thinkingConfig"] = camel_keys(config["thinkingConfig"])
    out["generationConfig"] = config
    system = out.get("systemInstruction")
    if isinstance(system, dict):
        system = camel_keys(system)
        system["parts"] = [camel_keys(p) for p in system.get("parts") or [] if isinstance(p, dict)]
        out["systemInstruction"] = system
    contents = []
    for content in out.get("contents") or []:
        content = camel_keys(content)
        if isinstance(content, dict):
            parts = []
            for part in content.get("parts") or []:
                part = camel_keys(part)
                for key in ("functionCall", "functionResponse", "inlineData", "fileData"):
                    if isinstance(part, dict) and isinstance(part.get(key), dict):
                        part[key] = camel_keys(part[key])
                parts.append(part)
            content["parts"] = parts
        contents.append(content)
    out["contents"] = contents
    tools = []
    for tool in out.get("tools") or []:
        tool = camel_keys(tool)
        if isinstance(tool, dict):
            tool["functionDeclarations"] = [camel_keys(d) for d in tool.get("functionDeclarations") or []]
        tools.append(tool)
    out["tools"] = tools
    tool_config = camel_keys(out.get("toolConfig") or {})
    if isinstance(tool_config.get("functionCallingConfig"), dict):
        tool_config["functionCallingConfig"] = camel_keys(tool_config["functionCallingConfig"])
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


def upstream_request(*flavours: str) -> dict[str, Any]:
    """The declaration (`@check(..., **upstream_request(...))`) of a check that judges the request a
    provider of `flavours` (any, when none) received: the registry selects it only where the test read
    that request from the journal, and it runs as a root-cause probe when the provider refused
    (`Judge.attribute`), so the rule a translation broke fails even though the answer never came."""
    return {"context": XlateContext, "given": ("upstream",), "flavours": flavours, "upstream_side": True}


def journal_context(
    request: Mapping[str, Any], journal: Sequence[Mapping[str, Any]], entry: Mapping[str, Any] | None = None
) -> XlateContext | None:
    """What a provider received (`entry`, else the journal's last request), as a context the
    upstream-side checks can judge; None without a journal (no mocks)."""
    if not journal:
        return None
    upstreams = [Upstream.from_entry(e) for e in journal]
    upstream = Upstream.from_entry(entry) if entry is not None else upstreams[-1]
    return XlateContext(request=dict(request), upstream=upstream, upstreams=upstreams)


def refused_request(request: Mapping[str, Any], journal: Sequence[Mapping[str, Any]]) -> XlateContext | None:
    """The last provider request of `journal` that the provider refused as invalid, as a context the
    upstream-side checks can judge (None when no provider refused): where a scenario directed some other
    failure, or an answer, the refusal is what happened instead, and the translation rule it breaks is
    the root cause (`Judge.attribute`)."""
    refused = refusals(journal)
    return journal_context(request, journal, refused[-1]) if refused else None


def upstream_of(context: Context, *flavours: str) -> Upstream | None:
    upstream = getattr(context, "upstream", None)
    if upstream is None or (flavours and upstream.flavour not in flavours):
        return None
    return upstream


def expect_of(context: Context) -> dict[str, Any]:
    return getattr(context, "expect", None) or {}


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


def schema_violations(document: Any, schema: Any) -> Iterator[str]:
    """Where `document` breaks the client's JSON Schema (none when there is no usable schema: a schema
    the suite cannot read, or one pointing elsewhere, is not the answer's fault)."""
    if not isinstance(schema, dict):
        return
    try:
        validator_class = validator_for(schema, default=Draft202012Validator)
        validator_class.check_schema(schema)
        errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors[:3]:
            where = "/".join(map(str, error.absolute_path)) or "the root"
            yield f"at {where}: {error.message}"
    except (SchemaError, Unresolvable):
        return


def warned(exchange: Exchange | None, name: str, kind: str | None = None) -> bool:
    """A warning names `name` in its code or message (D-047), of type `kind` when given."""
    for w in exchange.warnings if exchange is not None else []:
        if kind is not None and kind not in (w.get("type"), w.get("code")):
            continue
        if warning_names(w, name):
            return True
    return False


def owes_warning(exchange: Exchange | None, context: Context, name: str, kind: str | None = None) -> bool:
    """A warning naming `name` is due and missing. Never due when the target does not claim warnings (its
    silence says nothing then), nor on a request that was not answered: warnings ride on an answer's
    routing_metadata, and a refusal is judged by what reached the provider (the root-cause probe,
    `Judge.attribute`), not by the warnings it could not carry. Warnings that are not objects cannot be
    read: the rule is blocked by META-008 (`Blocked`), not failed."""
    answered = exchange is not None and exchange.status == 200
    due = answered and context.claimed("warnings") and not warned(exchange, name, kind)
    claimed = context.claimed("routing_metadata")
    if due and exchange is not None and (unreadable := warnings_unreadable(exchange, claimed=claimed)):
        roots, reason = unreadable
        raise Blocked(reason, roots)
    return due


def warnings_unreadable(
    exchange: Exchange, typed: bool = False, *, claimed: bool = True
) -> tuple[tuple[str, ...], str] | None:
    """Why an answer's warnings cannot be read, with the failing rules that explain it: no routing_metadata
    to carry them (META-001 on a completion, STREAM-005 on a stream's final chunk, each failing on exactly
    that when the target `claimed` routing_metadata), or warnings that are not objects / have no documented
    type (`unreadable_warnings`)."""
    if exchange.status == 200 and exchange.metadata is None:
        if not claimed:
            return None
        if not exchange.is_stream and exchange.final is not None:
            return ("META-001",), "the answer has no routing_metadata to carry a warning"
        if exchange.stream.final_usage_chunk is not None:
            return ("STREAM-005",), "the final chunk has no routing_metadata to carry a warning"
        return None
    return unreadable_warnings(exchange.metadata, typed)


def messages_of(exchange: Exchange) -> list[dict[str, Any]]:
    """Each choice's final message (the shared view, copied: checks may annotate what they read)."""
    return [dict(message) for message in exchange.messages]


def final_usage(exchange: Exchange) -> dict[str, Any] | None:
    return exchange.usage


def usage_detail(usage: Mapping[str, Any], group: str, key: str) -> int:
    value = (usage.get(group) or {}).get(key)
    return int(value) if isinstance(value, int) else 0


def client_stops(request: Mapping[str, Any]) -> list[str] | None:
    stop = request.get("stop")
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else list(stop)


def system_texts(request: Mapping[str, Any]) -> list[str]:
    return [
        text_of(m.get("content"))
        for m in request.get("messages") or []
        if isinstance(m, dict) and m.get("role") in ("system", "developer")
    ]


def in_order(haystack: str, needles: Iterable[str]) -> bool:
    position = 0
    for needle in needles:
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def client_tool_calls(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        call
        for m in request.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
        if isinstance(call, dict)
    ]


def lenient(
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


def error_code(exchange: Exchange) -> str | None:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    error = body.get("error")
    return error.get("code") if isinstance(error, dict) else None


def error_param(exchange: Exchange) -> Any:
    body = exchange.json if isinstance(exchange.json, dict) else {}
    error = body.get("error")
    return error.get("param") if isinstance(error, dict) else None


def usage_findings(got: Mapping[str, Any] | None, want: Mapping[str, int]) -> Iterator[str]:
    if got is None:
        yield Located("the response has no usage", USAGE_MISSING)
        return
    actual = {
        "prompt_tokens": got.get("prompt_tokens"),
        "completion_tokens": got.get("completion_tokens"),
        "cached_tokens": usage_detail(got, "prompt_tokens_details", "cached_tokens"),
        "reasoning_tokens": usage_detail(got, "completion_tokens_details", "reasoning_tokens"),
    }
    for key, value in want.items():
        if actual[key] != value:
            yield f"usage {key} is {actual[key]!r}, the provider's usage gives {value}"


def usage_requested(up: Upstream) -> bool:
    """Whether an OpenAI-compatible stream request asked the provider for usage (XLATE-002's clause):
    without it the provider sends none, whatever counts it journals."""
    options = up.json.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def native_usage(context: Context, flavour: str) -> dict[str, Any] | None:
    up = upstream_of(context, flavour)
    return up.usage if up is not None and isinstance(up.usage, dict) else None


def non_decreasing(label: str, values: list[tuple[str, Any]]) -> list[str]:
    """Messages when numeric values fall as effort rises (e.g. thinking budgets low -> medium -> high)."""
    out = []
    for (a_name, a), (b_name, b) in itertools.pairwise(values):
        if isinstance(a, int | float) and isinstance(b, int | float) and b < a:
            out.append(f"{label} falls from {a} ({a_name}) to {b} ({b_name})")
    return out
