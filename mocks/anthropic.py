"""Anthropic Messages API wire format (`/v1/messages`, named SSE events, `{"type":"error"}` errors).

Strict like the real API: required `max_tokens` and `anthropic-version`, `temperature` in 0..1, unknown
top-level fields rejected, and the extended-thinking rules (budget >= 1024 and < max_tokens, no
`top_k`/`temperature` != 1/forced tool choice with thinking, `enabled` refused by Claude 4.7+,
`adaptive` only on 4.6+). Tool use/result pairing is checked, because a gateway that loses a
`tool_result` in translation gets exactly this 400 from the real API.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from auriko_conformance.mocks.behaviour import FINISH_STOP_SEQUENCE, Reply
from auriko_conformance.mocks.conversation import ToolDef, Turn, TurnBuilder
from auriko_conformance.mocks.errors import ANTHROPIC_ERRORS, MockError
from auriko_conformance.mocks.flavour import (
    BAD_KEY,
    Flavour,
    ProviderRequest,
    Route,
    bearer_token,
    is_number,
    random_token,
)
from auriko_conformance.mocks.models import ModelSpec, Reasoning
from auriko_conformance.mocks.sse import ANTHROPIC_PADS, PING_EVENT, Frame, named_event
from auriko_conformance.mocks.tokens import split_tokens

VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
FIELDS = frozenset(
    [
        "model",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "temperature",
        "top_p",
        "top_k",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "output_config",
        "output_format",
        "stream",
        "service_tier",
        "cache_control",
        "container",
        "inference_geo",
        "context_management",
        "mcp_servers",
    ]
)
STOP_REASON = {
    "stop": "end_turn",
    FINISH_STOP_SEQUENCE: "stop_sequence",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "container_upload",
        # server-side tool results and other blocks a client passes back in history (the real API takes
        # them; they need no `tool_result` pairing)
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "advisor_tool_result",
        "compaction",
    }
)
EFFORTS = ("low", "medium", "high", "xhigh", "max")
DIRECT = {"type": "direct"}  # `tool_use.caller` of a call the model made itself
DEFAULT_EFFORTS = ("low", "medium", "high", "max")  # `xhigh` only where the model lists it (real 400)
ARG_PIECE_TOKENS = 3


def signature_for(text: str) -> str:
    """A deterministic opaque thinking signature (base64), like the real API's."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b64encode(b"\x12mock" + digest * 2).decode()


def redacted_block(reasoning: str) -> dict[str, Any]:
    """A `redacted_thinking` block: the thinking encrypted into opaque `data` (directive
    `redacted_thinking`), which a client must pass back unchanged."""
    return {"type": "redacted_thinking", "data": "EmwK" + signature_for("redacted:" + reasoning)}


class AnthropicFlavour(Flavour):
    name = "anthropic"
    errors = ANTHROPIC_ERRORS
    overload_status = 529
    stream_content_type = b"text/event-stream; charset=utf-8"

    def static_headers(self) -> dict[str, str]:
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        headers = {
            "server": "cloudflare",  # recorded (fidelity `plain_all_headers`)
            "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
        }
        for kind, limit in (
            ("requests", 4000),
            ("tokens", 2_000_000),
            ("input-tokens", 1_600_000),
            ("output-tokens", 400_000),
        ):
            headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{kind}-remaining"] = str(limit - 1)
            headers[f"anthropic-ratelimit-{kind}-reset"] = reset
        return headers

    def new_request_id(self) -> str:
        return "req_011" + random_token(21)

    def response_headers(self, ex: ProviderRequest) -> list[tuple[bytes, bytes]]:
        return [*self._static_headers, (b"request-id", ex.request_id.encode())]

    # --- routing, auth, bad input -----------------------------------------------------------------
    def route(self, method: str, subpath: str, query: Mapping[str, str]) -> Route:
        if subpath in ("/v1/messages", "/v1/messages/count_tokens"):
            if method != "POST":
                raise self.method_not_allowed(method, "POST")
            return Route("chat" if subpath == "/v1/messages" else "count_tokens")
        if subpath == "/v1/models" or subpath.startswith("/v1/models/"):
            if method != "GET":
                raise self.method_not_allowed(method, "GET")
            return (
                Route("models")
                if subpath == "/v1/models"
                else Route("model", model=subpath[len("/v1/models/") :])
            )
        raise self.not_found_path(subpath)

    def not_found_path(self, path: str) -> MockError:
        return MockError(404, "Not Found")

    def authenticate(self, ex: ProviderRequest) -> None:
        key = ex.headers.get("x-api-key") or bearer_token(ex.headers)
        if not key:
            raise MockError(401, "x-api-key header is required")
        if key == BAD_KEY:
            raise MockError(401, "invalid x-api-key")
        version = ex.headers.get("anthropic-version")
        if version is None:
            raise MockError(400, "anthropic-version: header is required")
        if not VERSION_RE.match(version.strip()):
            raise MockError(
                400, f"anthropic-version: invalid version {version!r}; expected a date like 2023-06-01"
            )

    def invalid_json(self, detail: str) -> MockError:
        return MockError(400, f"There was an error parsing the body of your request: {detail}")

    def body_not_object(self) -> MockError:
        return MockError(400, "Input should be a valid dictionary or object")

    def model_not_found(self, model: str) -> MockError:
        return MockError(404, f"model: {model}")

    def directive_error(self, err: Any) -> MockError:
        return MockError(400, str(err))

    def malformed_body(self, ex: ProviderRequest) -> bytes:
        return b'{"id": "msg_011mock", "type": "message", "role": "assistant", "content": [{"type": "te'

    def malformed_frame(self) -> bytes:
        return (
            b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"ty\n\n'
        )

    # --- request ------------------------------------------------------------------------------------
    def parse(self, ex: ProviderRequest, route: Route) -> Turn:
        body: dict[str, Any] = ex.body
        bad = self.bad_request
        for key in body:
            if key not in FIELDS:
                raise bad(f"{key}: Extra inputs are not permitted")
        model_id = body.get("model")
        if not isinstance(model_id, str):
            raise bad("model: Field required")
        max_tokens = body.get("max_tokens")
        if route.kind == "chat":
            if max_tokens is None:
                raise bad("max_tokens: Field required")
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
                raise bad("max_tokens: Input should be a valid integer greater than or equal to 0")
        spec = self.model_spec(model_id)
        ex.model = spec.served_as  # the real APIs answer with the snapshot an alias resolves to
        if route.kind == "chat" and max_tokens > spec.max_output:
            raise bad(
                f"max_tokens: {max_tokens} > {spec.max_output}, which is the maximum allowed number of "
                f"output tokens for {model_id}"
            )
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise bad("messages: Field required")
        if not messages:
            raise bad("messages: at least one message is required")
        for key, low, high in (("temperature", 0, 1), ("top_p", 0, 1)):
            value = body.get(key)
            if value is not None and (not is_number(value) or not low <= value <= high):
                raise bad(f"{key}: range: {low}..{high}")
        top_k = body.get("top_k")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 0):
            raise bad("top_k: Input should be a valid integer greater than or equal to 0")
        stops = body.get("stop_sequences") or []
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise bad("stop_sequences: Input should be a valid list of strings")
        for s in stops:
            if not s.strip():
                raise bad("stop_sequences: each stop sequence must contain non-whitespace characters")
        tools, tool_choice, forced, parallel = self._tools(body)
        thinking, show = self._thinking(body, spec, max_tokens, tool_choice, messages)
        json_schema = self._output_format(body)

        b = TurnBuilder()
        self._system(body.get("system"), b)
        self._walk(messages, b)
        return b.build(
            spec,
            stream=body.get("stream") is True,
            include_usage=True,
            max_tokens=max_tokens,
            stop=tuple(stops),
            tools=tools,
            tool_choice=tool_choice,
            forced_tool=forced,
            parallel_tools=parallel,
            thinking=thinking,
            thinking_requested=isinstance(body.get("thinking"), dict)
            and body["thinking"].get("type") in ("enabled", "adaptive"),
            show_reasoning=show,
            json_schema=json_schema,
        )

    def _tools(self, body: dict[str, Any]) -> tuple[tuple[ToolDef, ...], str, str | None, bool]:
        bad = self.bad_request
        raw = body.get("tools") or []
        if not isinstance(raw, list):
            raise bad("tools: Input should be a valid list")
        tools = []
        for i, tool in enumerate(raw):
            if not isinstance(tool, dict):
                raise bad(f"tools.{i}: Input should be a valid dictionary")
            kind = tool.get("type")
            if kind not in (None, "custom"):
                continue  # server tools (web_search_..., bash_..., ...) are versioned types
            name = tool.get("name")
            if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
                raise bad(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict):
                raise bad(f"tools.{i}.custom.input_schema: Field required")
            if schema.get("type") != "object":
                raise bad(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
            tools.append(ToolDef(name, schema))
        choice = body.get("tool_choice")
        if choice is None:
            return tuple(tools), "auto", None, True
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            raise bad(
                f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
                "expected tags: 'auto', 'any', 'tool', 'none'"
            )
        parallel = not choice.get("disable_parallel_tool_use", False)
        if kind == "tool":
            name = choice.get("name")
            if name not in {t.name for t in tools}:
                raise bad(f"tool_choice: tool '{name}' not found in 'tools'")
            return tuple(tools), "required", name, parallel
        if kind in ("any", "tool") and not tools:
            raise bad("tool_choice: may only be specified when tools are provided")
        return tuple(tools), {"auto": "auto", "any": "required", "none": "none"}[kind], None, parallel

    def _thinking(
        self,
        body: dict[str, Any],
        spec: ModelSpec,
        max_tokens: int | None,
        tool_choice: str,
        messages: list[Any],
    ) -> tuple[bool, bool]:
        bad = self.bad_request
        thinking = body.get("thinking")
        effort = (
            (body.get("output_config") or {}).get("effort")
            if isinstance(body.get("output_config"), dict)
            else None
        )
        if effort is not None and effort not in EFFORTS:
            raise bad("output_config.effort: Input should be " + ", ".join(f"'{e}'" for e in EFFORTS))
        if effort is not None and effort not in (spec.efforts or DEFAULT_EFFORTS):
            raise bad(f"output_config.effort: '{effort}' is not supported by {spec.id}")
        if thinking is None:
            return False, True
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind not in ("enabled", "adaptive", "disabled"):
            raise bad(
                "thinking: Input tag found using 'type' does not match any of the expected tags: "
                "'enabled', 'adaptive', 'disabled'"
            )
        if kind == "disabled":
            return False, True
        if spec.reasoning is Reasoning.NONE:
            raise bad(f"thinking: extended thinking is not supported by {spec.id}")
        if kind == "enabled":
            if spec.rejects_enabled_thinking:
                raise bad(
                    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
                    'and "output_config.effort" to control thinking behavior.'
                )
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or isinstance(budget, bool):
                raise bad("thinking.enabled.budget_tokens: Field required")
            if budget < 1024:
                raise bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
            if max_tokens is not None and budget >= max_tokens:
                raise bad(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                    "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                    "#max-tokens-and-context-window-size"
                )
        elif spec.reasoning is not Reasoning.ADAPTIVE:
            raise bad(
                f"thinking.type.adaptive is not supported for {spec.id}; use thinking.type.enabled with "
                "budget_tokens"
            )
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            raise bad(
                "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode. Please "
                "consult our documentation at https://docs.claude.com/en/docs/build-with-claude/"
                "extended-thinking#feature-compatibility"
            )
        if body.get("top_k") is not None:
            raise bad(
                "`top_k` must be unset when thinking is enabled. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
            )
        top_p = body.get("top_p")
        if top_p is not None and not 0.95 <= top_p <= 1:
            raise bad("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled.")
        if tool_choice == "required":
            if kind == "adaptive":  # accepted; the model answers with the forced call and no thinking
                return False, True
            raise bad("Thinking may not be enabled when tool_choice forces tool use.")
        last = messages[-1] if messages else None
        if isinstance(last, dict) and last.get("role") == "assistant":
            content = last.get("content")
            first = content[0] if isinstance(content, list) and content else None
            if not (isinstance(first, dict) and first.get("type") in ("thinking", "redacted_thinking")):
                raise bad(
                    "messages: When thinking is enabled, a final `assistant` message must start with a "
                    "thinking block (assistant prefill is not supported with thinking)."
                )
        return True, thinking.get("display") != "omitted"

    def _output_format(self, body: dict[str, Any]) -> Any:
        fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
        if fmt is None:
            return None
        if (
            not isinstance(fmt, dict)
            or fmt.get("type") != "json_schema"
            or not isinstance(fmt.get("schema"), dict)
        ):
            raise self.bad_request('output_config.format: expected {"type": "json_schema", "schema": {...}}')
        return fmt["schema"]

    def _system(self, system: Any, b: TurnBuilder) -> None:
        if system is None:
            return
        if isinstance(system, str):
            b.system_text(system)
            return
        if not isinstance(system, list):
            raise self.bad_request("system: Input should be a valid string or list of text blocks")
        for j, block in enumerate(system):
            if (
                not isinstance(block, dict)
                or block.get("type") != "text"
                or not isinstance(block.get("text"), str)
            ):
                raise self.bad_request(f"system.{j}: Input should be a text block")
            b.system_text(block["text"])

    def _walk(self, messages: list[Any], b: TurnBuilder) -> None:
        bad = self.bad_request
        pending: list[str] = []  # tool_use ids of the previous assistant turn
        previous = None
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise bad(f"messages.{i}: Input should be a valid dictionary")
            role = m.get("role")
            if role == "system":  # the real API takes a system message in `messages` as system text
                self._system(m.get("content"), b)
                continue
            if role not in ("user", "assistant"):
                raise bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = m.get("content")
            merged = role == previous == "assistant"  # consecutive assistant messages are one turn
            previous = role
            if role == "assistant" and not merged:
                if pending:
                    raise self._missing_results(i - 1, pending)
                b.assistant_turn()
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list):
                raise bad(f"messages.{i}.content: Input should be a valid string or list of content blocks")
            user_texts: list[str] = []
            results: list[str] = []
            uses: list[str] = []
            for j, block in enumerate(blocks):
                where = f"messages.{i}.content.{j}"
                kind = block.get("type") if isinstance(block, dict) else None
                if kind not in BLOCK_TYPES:
                    raise bad(
                        f"{where}: Input tag '{kind}' found using 'type' does not match "
                        "any of the expected tags"
                    )
                if kind == "text":
                    text = block.get("text")
                    if not isinstance(text, str):
                        raise bad(f"{where}.text: Field required")
                    if not text.strip() and not (role == "assistant" and i == len(messages) - 1):
                        raise bad("messages: text content blocks must contain non-whitespace text")
                    if role == "user":
                        user_texts.append(text)
                    else:
                        b.assistant_text(text)
                elif kind == "tool_use":
                    if role != "assistant":
                        raise bad(f"{where}: tool_use blocks are only allowed in assistant messages")
                    if not isinstance(block.get("name"), str) or not isinstance(block.get("id"), str):
                        raise bad(f"{where}: tool_use blocks need an id and a name")
                    if not isinstance(block.get("input"), dict):
                        raise bad(f"{where}.input: Input should be a valid dictionary")
                    uses.append(block["id"])
                    b.tool_call(block["name"], block["input"])
                elif kind == "tool_result":
                    if role != "user":
                        raise bad(f"{where}: tool_result blocks are only allowed in user messages")
                    tool_use_id = block.get("tool_use_id")
                    if tool_use_id not in pending:
                        raise bad(
                            f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: "
                            f"{tool_use_id}. "
                            "Each `tool_result` block must have a corresponding `tool_use` block in the "
                            "previous message."
                        )
                    results.append(tool_use_id)
                    self._tool_result(block.get("content"), b, where)
            if role == "user":
                missing = [p for p in pending if p not in results]
                if missing:
                    raise self._missing_results(i - 1, missing)
                if user_texts:
                    b.user_text("\n".join(user_texts))
                pending = []
            else:
                pending = pending + uses if merged else uses
        if pending:
            raise self._missing_results(len(messages) - 1, pending)

    def _missing_results(self, index: int, ids: list[str]) -> MockError:
        return self.bad_request(
            f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(ids)}. Each `tool_use` block must have a "
            "corresponding `tool_result` block in the next message."
        )

    def _tool_result(self, content: Any, b: TurnBuilder, where: str) -> None:
        if content is None:
            return
        if isinstance(content, str):
            b.tool_result_text(content)
            return
        if not isinstance(content, list):
            raise self.bad_request(f"{where}.content: Input should be a valid string or list")
        texts = [c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text"]
        b.tool_result_text("\n".join(texts))

    # --- response ---------------------------------------------------------------------------------------
    def usage(
        self, turn: Turn, reply: Reply, output_tokens: int | None = None, start: bool = False
    ) -> dict[str, Any]:
        """The usage object: complete in a body and in `message_start`, counts only in `message_delta`."""
        u = reply.usage
        usage: dict[str, Any] = {
            "input_tokens": u.prompt - u.cached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": u.cached,
        }
        full = start or output_tokens is None
        if full:
            usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
            usage["inference_geo"] = turn.model.inference_geo
        usage["output_tokens"] = u.completion if output_tokens is None else output_tokens
        if turn.thinking_requested and not start:  # in the body and the final message_delta
            usage["output_tokens_details"] = {"thinking_tokens": u.reasoning}
        if full:
            usage["service_tier"] = "standard"
        return usage

    def _tool_ids(self, ex: ProviderRequest, reply: Reply) -> list[str]:
        ids: list[str] = ex.extra.setdefault(
            "tool_ids", ["toolu_01" + random_token(22) for _ in reply.tool_calls]
        )
        return ids

    def render(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> tuple[bytes, Any]:
        content: list[dict[str, Any]] = []
        if reply.usage.reasoning and reply.directives.redacted_thinking:
            content.append(redacted_block(reply.reasoning))
        elif reply.usage.reasoning:
            content.append(
                {
                    "type": "thinking",
                    "thinking": reply.reasoning if turn.show_reasoning else "",
                    "signature": signature_for(reply.reasoning),
                }
            )
        if reply.text or (not reply.tool_calls and not reply.usage.reasoning and reply.finish != "length"):
            content.append({"type": "text", "text": reply.text})
        for call, call_id in zip(reply.tool_calls, self._tool_ids(ex, reply), strict=True):
            content.append(
                {
                    "type": "tool_use",
                    "id": call_id,
                    "name": call.name,
                    "input": call.arguments,
                    "caller": DIRECT,
                }
            )
        usage = self.usage(turn, reply)
        body = {
            "id": "msg_01" + random_token(22),
            "type": "message",
            "role": "assistant",
            "model": ex.model,
            "content": content,
            "stop_reason": reply.native_finish(STOP_REASON),
            "stop_sequence": reply.stop_sequence,
            "usage": usage,
        }
        body["stop_details"] = None
        if isinstance(ex.body, dict) and ex.body.get("context_management") is not None:
            # context editing reports what it applied and the usage of each model iteration
            body["context_management"] = {"applied_edits": []}
            iteration = {k: v for k, v in usage.items() if k not in ("inference_geo", "service_tier")}
            usage["iterations"] = [{**iteration, "type": "message"}]
        return self.json_body(body), usage

    def stream_usage(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Any:
        return self.usage(turn, reply)

    def stream(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Iterator[Frame]:
        cumulative = reply.directives.usage == "cumulative"
        pads = itertools.cycle(ANTHROPIC_PADS)

        def event(name: str, payload: object) -> bytes:
            return named_event(name, payload, next(pads))

        produced = 0
        message = {
            "id": "msg_01" + random_token(22),
            "type": "message",
            "role": "assistant",
            "model": ex.model,
            "content": [],
            "container": None,
            "stop_reason": None,
            "stop_sequence": None,
            "stop_details": None,
            "usage": self.usage(turn, reply, output_tokens=1, start=True),
            "diagnostics": None,
        }
        yield Frame(event("message_start", {"type": "message_start", "message": message}))
        index = 0
        pinged = False

        def block_events(block: dict[str, Any]) -> Iterator[Frame]:
            nonlocal pinged
            yield Frame(
                event(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block},
                )
            )
            if not pinged:
                pinged = True
                yield Frame(PING_EVENT)

        def delta(payload: dict[str, Any], tokens: int) -> Frame:
            return Frame(
                event(
                    "content_block_delta", {"type": "content_block_delta", "index": index, "delta": payload}
                ),
                tokens=tokens,
            )

        def stop() -> Iterator[Frame]:
            yield Frame(event("content_block_stop", {"type": "content_block_stop", "index": index}))
            if cumulative:
                yield Frame(
                    event(
                        "message_delta",
                        {
                            "type": "message_delta",
                            "delta": {"stop_reason": None, "stop_sequence": None},
                            "usage": self.usage(turn, reply, output_tokens=produced),
                        },
                    )
                )

        if reply.usage.reasoning and reply.directives.redacted_thinking:
            # a redacted block arrives whole in its start event, without deltas
            yield from block_events(redacted_block(reply.reasoning))
            produced += reply.usage.reasoning
            yield Frame(b"", tokens=reply.usage.reasoning)
            yield from stop()
            index += 1
        elif reply.usage.reasoning:
            yield from block_events({"type": "thinking", "thinking": "", "signature": ""})
            if turn.show_reasoning:
                for piece in reply.reasoning_chunks:
                    produced += 1
                    yield delta({"type": "thinking_delta", "thinking": piece}, 1)
            else:
                produced += reply.usage.reasoning
                yield Frame(b"", tokens=reply.usage.reasoning)
            yield delta({"type": "signature_delta", "signature": signature_for(reply.reasoning)}, 0)
            yield from stop()
            index += 1
        if reply.text or (not reply.tool_calls and not reply.usage.reasoning and reply.finish != "length"):
            yield from block_events({"type": "text", "text": ""})
            for piece in reply.text_chunks:
                produced += 1
                yield delta({"type": "text_delta", "text": piece}, 1)
            yield from stop()
            index += 1
        for call, call_id in zip(reply.tool_calls, self._tool_ids(ex, reply), strict=True):
            pieces = split_tokens(call.arguments_json)
            produced += call.tokens - len(pieces)
            yield from block_events(
                {"type": "tool_use", "id": call_id, "name": call.name, "input": {}, "caller": DIRECT}
            )
            yield delta({"type": "input_json_delta", "partial_json": ""}, call.tokens - len(pieces))
            for start in range(0, len(pieces), ARG_PIECE_TOKENS):
                group = pieces[start : start + ARG_PIECE_TOKENS]
                produced += len(group)
                yield delta({"type": "input_json_delta", "partial_json": "".join(group)}, len(group))
            yield from stop()
            index += 1
        yield Frame(
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": reply.native_finish(STOP_REASON),
                        "stop_sequence": reply.stop_sequence,
                        "stop_details": None,
                        "container": None,
                    },
                    "usage": self.usage(turn, reply, output_tokens=reply.usage.completion),
                },
            )
        )
        yield Frame(event("message_stop", {"type": "message_stop"}))

    def count_tokens_body(self, ex: ProviderRequest, turn: Turn) -> bytes:
        return orjson.dumps({"input_tokens": turn.prompt_tokens})

    def models_body(self, ex: ProviderRequest, route: Route) -> bytes:
        """Dated ids (an alias is accepted by `/v1/models/{id}` and answered with its snapshot), newest
        first, with the real list's display names ("Claude Sonnet 4.5") and release dates."""

        def card(spec: ModelSpec) -> dict[str, Any]:
            return {
                "type": "model",
                "id": spec.served_as,
                "display_name": spec.display_name or spec.id.replace("-", " ").title(),
                "created_at": f"{spec.released}T00:00:00Z",
            }

        if route.kind == "model":
            spec = self.models.get(route.model or "")
            if spec is None:
                raise self.model_not_found(route.model or "")
            return orjson.dumps(card(spec))
        specs = sorted(self.specs, key=lambda s: s.released, reverse=True)
        cards = [card(s) for s in specs]
        return orjson.dumps(
            {"data": cards, "has_more": False, "first_id": cards[0]["id"], "last_id": cards[-1]["id"]}
        )
