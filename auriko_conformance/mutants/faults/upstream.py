"""Upstream faults: the native request bodies and headers the gateway sends to the providers."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from auriko_conformance import contract
from auriko_conformance.mutants.faults.base import Fault, transform
from auriko_conformance.mutants.faults.paths import lookup, split_path, walk
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse
from auriko_conformance.reference_impl.extensions import removal_kind, strip_credentials

OPENAI_FAMILY = ("openai", "deepseek", "vllm")


def flavour_of(request: ProxyRequest) -> str | None:
    """The wire flavour of an upstream request, from its path (and instance for OpenAI-compatible ones)."""
    path = request.path
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    if path.rstrip("/").endswith("/messages"):
        return "anthropic"
    if path.rstrip("/").endswith("/chat/completions"):
        instance = request.instance
        if instance.startswith("vllm"):
            return "vllm"
        return "deepseek" if instance.startswith("deepseek") else "openai"
    return None


def is_stream_upstream(request: ProxyRequest, body: dict[str, Any]) -> bool:
    return ":streamGenerateContent" in request.path or body.get("stream") is True


class UpstreamEdit(Fault):
    """Rewrites native upstream bodies of the given `flavours` (a name, a list, or `openai-family`);
    with `when` only bodies that have that path (equal to `when_equals`, when given); with `client_when`
    (a side `both` fault) only for requests whose client sent that path."""

    def flavours(self) -> set[str]:
        value = self.args.get("flavour", "any")
        names = value if isinstance(value, list) else [value]
        out: set[str] = set()
        for name in names:
            out |= set(OPENAI_FAMILY) if name == "openai-family" else {name}
        return out

    def applies(self, request: ProxyRequest, body: dict[str, Any]) -> bool:
        flavour = flavour_of(request)
        wanted = self.flavours()
        if flavour is None or ("any" not in wanted and flavour not in wanted):
            return False
        model_prefix = self.args.get("model_prefix")
        if model_prefix:
            model = body.get("model") or request.path.split("/models/")[-1].split(":")[0]
            if not str(model).startswith(
                tuple(model_prefix if isinstance(model_prefix, list) else [model_prefix])
            ):
                return False
        if self.args.get("only_stream") and not is_stream_upstream(request, body):
            return False
        when = self.args.get("when")
        if not when:
            return True
        found = lookup(body, when)
        return bool(found) and ("when_equals" not in self.args or self.args["when_equals"] in found)

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        client_when = self.args.get("client_when")
        if client_when and not lookup(hop.ledger.client_request(request.tag), client_when):
            return request
        if isinstance(body, dict) and self.applies(request, body):
            edited = self.edit(body, request, hop)
            if edited is not None:
                request.set_json(edited)
        return request

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        return None


@transform("upstream_drop")
class UpstreamDrop(UpstreamEdit):
    """Remove the field at `path` (dotted, `*` wildcards) from the native body."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        matches = list(walk(body, split_path(self.args["path"])))
        for parent, key in matches:
            del parent[key]
        return body if matches else None


@transform("upstream_rename")
class UpstreamRename(UpstreamEdit):
    """Rename the field at `path` to `to` (same parent); with `keep`, an object value keeps only those
    keys (a converter that handles the top level only)."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        matches = list(walk(body, split_path(self.args["path"])))
        keep = self.args.get("keep")
        for parent, key in matches:
            value = parent.pop(key)
            if keep is not None and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in keep}
            parent[self.args["to"]] = value
        return body if matches else None


@transform("upstream_set")
class UpstreamSet(UpstreamEdit):
    """Set the field at `path` to `value` (or `map` its values, or `stringify` it as JSON text): only where
    it exists, or everywhere with `create: true`."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        parts = split_path(self.args["path"])
        matches = list(walk(body, parts))
        value = self.args.get("value")
        if not matches and self.args.get("create"):
            node = body
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = copy.deepcopy(value)
            return body
        for parent, key in matches:
            mapping = self.args.get("map")
            if self.args.get("stringify"):
                parent[key] = orjson.dumps(parent[key]).decode()
            elif mapping is not None:
                if parent[key] in mapping:
                    parent[key] = mapping[parent[key]]
            else:
                parent[key] = copy.deepcopy(value)
        return body if matches else None


@transform("upstream_header_drop")
class UpstreamHeaderDrop(UpstreamEdit):
    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json if isinstance(request.json, dict) else {}
        if self.applies(request, body):
            for name in self.args.get("headers", []):
                if name in request.headers:
                    del request.headers[name]
        return request


@transform("upstream_copy_client")
class UpstreamCopyClient(UpstreamEdit):
    """Copy the client's own `fields` verbatim into the native body (untranslated, unfiltered); a field
    `a.b:c.d` copies the client's `a.b` to the body's `c.d` (`fields` may map each flavour to its own
    list); `as_list` wraps a single value in a list (the native field is a list, only the filtering is
    missing)."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        client = hop.ledger.client_request(request.tag)
        changed = False
        fields = self.args.get("fields", [])
        if isinstance(fields, dict):
            fields = fields.get(flavour_of(request), [])
        for field_spec in fields:
            source, _, target = str(field_spec).partition(":")
            values = lookup(client, source)
            if not values:
                continue
            node = body
            parts = split_path(target or source)
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            value = copy.deepcopy(values[0])
            node[parts[-1]] = [value] if self.args.get("as_list") and not isinstance(value, list) else value
            changed = True
        return body if changed else None


EXTENSION_KEY = {"openai": "openai", "anthropic": "anthropic", "gemini": "google", "deepseek": "deepseek"}


def _extension_key(request: ProxyRequest) -> str | None:
    flavour = flavour_of(request)
    if flavour == "vllm":
        return request.instance
    return EXTENSION_KEY.get(flavour or "")


def _unsanitised(extension: dict[str, Any], only: list[str] | None) -> dict[str, Any]:
    """`extension` with what the gateway removes left in: all of it, or the `only` kinds (the rest removed
    as the reference gateway removes it, credentials at every depth included)."""
    if only is None:
        return copy.deepcopy(extension)
    kept: dict[str, Any] = {}
    for key, value in extension.items():
        kind = removal_kind(key)
        if kind is not None and kind not in only:
            continue
        kept[key] = copy.deepcopy(value) if "credential" in only else strip_credentials(value)
    return kept


@transform("extensions_unsanitised")
class ExtensionsUnsanitised(UpstreamEdit):
    """The client's extensions go upstream as given: `mode` own (this provider's, credentials and core
    fields included; with `only`, just the listed kinds of what the gateway removes: `credential`,
    `transport`, `core`), others (every other provider's too), or dropped (none of them)."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        extensions = hop.ledger.client_request(request.tag).get("extensions")
        key = _extension_key(request)
        if not isinstance(extensions, dict) or key is None:
            return None
        mode = self.args.get("mode", "own")
        own = extensions.get(key) if isinstance(extensions.get(key), dict) else {}
        if mode == "own":
            body.update(_unsanitised(own, self.args.get("only")))
        elif mode == "others":
            # merged under the selected provider's own keys: those still arrive unchanged (EXT-001 holds)
            for name, value in extensions.items():
                if name != key and isinstance(value, dict):
                    for field, item in value.items():
                        body.setdefault(field, copy.deepcopy(item))
        elif mode == "dropped":
            # what the gateway would have merged from the extension never arrives; core fields an extension
            # names are the client's own upstream (stripped from extensions, D-047), so they stay
            core = contract.request_fields()
            for name in own:
                if name not in core:
                    body.pop(name, None)
        return body


@transform("anthropic_tool_results_as_text")
class AnthropicToolResultsAsText(UpstreamEdit):
    """Tool results reach Anthropic as plain text in the user turn, not as `tool_result` blocks."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        changed = False
        for message in body.get("messages") or []:
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for i, block in enumerate(content):
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    result = block.get("content")
                    text = result if isinstance(result, str) else orjson.dumps(result).decode()
                    content[i] = {"type": "text", "text": text or "(empty)"}
                    changed = True
        return body if changed else None


@transform("gemini_function_response_in_model_turn")
class GeminiFunctionResponseInModelTurn(UpstreamEdit):
    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        changed = False
        for content in body.get("contents") or []:
            parts = content.get("parts") or []
            if any(
                isinstance(p, dict) and ("functionResponse" in p or "function_response" in p) for p in parts
            ):
                content["role"] = "model"
                changed = True
        return body if changed else None


@transform("gemini_system_in_contents")
class GeminiSystemInContents(UpstreamEdit):
    """The system instruction is sent as a `system` turn inside `contents`."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        for name in ("systemInstruction", "system_instruction"):
            if name in body:
                system = body.pop(name)
                parts = system.get("parts") if isinstance(system, dict) else [{"text": str(system)}]
                body.setdefault("contents", []).insert(0, {"role": "system", "parts": parts})
                return body
        return None


@transform("anthropic_blocks_dropped")
class AnthropicBlocksDropped(UpstreamEdit):
    """Content blocks of the given `types` are removed from the messages sent to Anthropic."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        types = set(self.args.get("types", []))
        changed = False
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                kept = [b for b in content if not (isinstance(b, dict) and b.get("type") in types)]
                if len(kept) != len(content):
                    message["content"] = kept or [{"type": "text", "text": "(removed)"}]
                    changed = True
        return body if changed else None


@transform("gemini_parts_dropped")
class GeminiPartsDropped(UpstreamEdit):
    """Parts carrying any of the `keys` are removed from Gemini contents."""

    def edit(self, body: dict[str, Any], request: ProxyRequest, hop: Hop) -> dict[str, Any] | None:
        keys = set(self.args.get("keys", []))
        changed = False
        for content in body.get("contents") or []:
            parts = content.get("parts")
            if isinstance(parts, list):
                kept = [p for p in parts if not (isinstance(p, dict) and keys & set(p))]
                if len(kept) != len(parts):
                    content["parts"] = kept or [{"text": "(removed)"}]
                    changed = True
        return body if changed else None
