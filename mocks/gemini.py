"""Google Gemini (Generative Language API) wire format: `generateContent`, `streamGenerateContent`.

Serves `v1` and `v1beta` (google-genai uses `v1`, LiteLLM `v1beta`), accepts camelCase and snake_case
field names like Google's proto-JSON parser (LiteLLM sends `system_instruction`, `max_output_tokens`),
and rejects what the real API rejects: unknown fields (e.g. OpenAI's `stream_options`) with
`Unknown name "...": Cannot find field`, roles other than `user`/`model`, `additionalProperties` or
`$schema` in the OpenAPI-subset schemas (allowed in `responseJsonSchema`), and per-model thinking
settings. Streams are `alt=sse` data events without `[DONE]`, or one JSON array without `alt=sse`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from auriko_conformance.mocks.anthropic import signature_for
from auriko_conformance.mocks.behaviour import FINISH_STOP_SEQUENCE, Reply
from auriko_conformance.mocks.conversation import ToolDef, Turn, TurnBuilder
from auriko_conformance.mocks.errors import GEMINI_ERRORS, INDENTED, MockError
from auriko_conformance.mocks.flavour import (
    BAD_KEY,
    BASE64URL,
    Flavour,
    ProviderRequest,
    Route,
    is_number,
    random_token,
)
from auriko_conformance.mocks.models import ModelSpec, Reasoning
from auriko_conformance.mocks.sse import ARRAY_CLOSE, Frame, array_element, data_event

PATH_RE = re.compile(r"^/(v1|v1beta|v1alpha)/models(?:/([^:/]+)(?::([A-Za-z]+))?)?$")
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$")
_SNAKE_RE = re.compile(r"_([a-z0-9])")

TOP_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "safetySettings",
        "generationConfig",
        "cachedContent",
        "serviceTier",
        "model",
    }
)
GENERATION_FIELDS = frozenset(
    [
        "temperature",
        "topP",
        "topK",
        "candidateCount",
        "maxOutputTokens",
        "stopSequences",
        "presencePenalty",
        "frequencyPenalty",
        "seed",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseLogprobs",
        "logprobs",
        "responseModalities",
        "thinkingConfig",
        "mediaResolution",
        "speechConfig",
        "imageConfig",
        "enableEnhancedCivicAnswers",
        "routingConfig",
        "modelSelectionConfig",
        "audioTimestamp",
        "enableAffectiveDialog",
    ]
)
THINKING_FIELDS = frozenset({"thinkingBudget", "includeThoughts", "thinkingLevel"})
CONTENT_FIELDS = frozenset({"role", "parts"})
PART_FIELDS = frozenset(
    {
        "text",
        "inlineData",
        "fileData",
        "functionCall",
        "functionResponse",
        "thought",
        "thoughtSignature",
        "executableCode",
        "codeExecutionResult",
        "videoMetadata",
        "partMetadata",
        "mediaResolution",
    }
)
TOOL_FIELDS = frozenset(
    {
        "functionDeclarations",
        "googleSearch",
        "googleSearchRetrieval",
        "codeExecution",
        "urlContext",
        "retrieval",
        "computerUse",
        "fileSearch",
        "googleMaps",
        "enterpriseWebSearch",
        "mcpServers",
    }
)
DECLARATION_FIELDS = frozenset(
    {
        "name",
        "description",
        "parameters",
        "parametersJsonSchema",
        "response",
        "responseJsonSchema",
        "behavior",
    }
)
TOOL_CONFIG_FIELDS = frozenset(
    {"functionCallingConfig", "retrievalConfig", "includeServerSideToolInvocations"}
)
CALLING_FIELDS = frozenset({"mode", "allowedFunctionNames"})
LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")
OPENAPI_ONLY_FORBIDDEN = ("additionalProperties", "additional_properties", "$schema")
FINISH = {
    "stop": "STOP",
    FINISH_STOP_SEQUENCE: "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
}
SSE_END = b"\r\n\r\n"  # Google ends each `alt=sse` event with CRLF CRLF
# A blocked answer as Google sends it: no content parts, four ratings, the blocking one at LOW.
SAFETY_BLOCKED = [
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW", "blocked": True},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
]


def camel(key: str) -> str:
    """`system_instruction` -> `systemInstruction` (proto JSON accepts both spellings)."""
    return _SNAKE_RE.sub(lambda m: m.group(1).upper(), key) if "_" in key else key


def _normalise(obj: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    """Keys to camelCase; an unknown key is the real API's `Unknown name` 400."""
    if not isinstance(obj, dict):
        raise MockError(400, f"Invalid JSON payload received. Expected an object at '{where or 'request'}'.")
    out = {}
    for key, value in obj.items():
        name = camel(key)
        if name not in allowed:
            at = f" at '{where}'" if where else ""
            raise MockError(
                400, f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'
            )
        out[name] = value
    return out


def _forbidden_schema_key(schema: Any) -> str | None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in OPENAPI_ONLY_FORBIDDEN:
                return key
            found = _forbidden_schema_key(value)
            if found:
                return found
    elif isinstance(schema, list):
        for item in schema:
            found = _forbidden_schema_key(item)
            if found:
                return found
    return None


def _check_openapi_schema(schema: Any, where: str) -> None:
    key = _forbidden_schema_key(schema)
    if key is not None:
        raise MockError(
            400, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
        )


class GeminiFlavour(Flavour):
    name = "gemini"
    errors = GEMINI_ERRORS
    overload_status = 503
    json_content_type = b"application/json; charset=UTF-8"  # recorded on every JSON answer, errors too
    json_options = INDENTED  # Google's front end indents every JSON answer: recorded on answers and errors

    def static_headers(self) -> dict[str, str]:
        return {
            "vary": "Origin, X-Origin, Referer",
            "server": "scaffolding on HTTPServer2",
            "x-content-type-options": "nosniff",
        }

    def new_request_id(self) -> str:
        return random_token(23, BASE64URL)  # doubles as `responseId`, which is 23 base64url characters

    def response_headers(self, ex: ProviderRequest) -> list[tuple[bytes, bytes]]:
        headers = [*self._static_headers, (b"x-goog-request-id", ex.request_id.encode())]
        if ex.extra.get("stream"):
            headers.append((b"content-disposition", b"attachment"))  # what Google sends on both stream kinds
        return headers

    def stream_media_type(self, ex: ProviderRequest) -> bytes:
        return b"text/event-stream" if ex.extra.get("sse", True) else self.json_content_type

    def error_content_type(self, ex: ProviderRequest) -> bytes:
        """`alt=sse` sets the media type before anything is checked: a refused key on a stream is
        recorded as `text/event-stream` around a JSON error body (D-163)."""
        return b"text/event-stream" if ex.query.get("alt") == "sse" else self.json_content_type

    # --- routing, auth, bad input -----------------------------------------------------------------
    def route(self, method: str, subpath: str, query: Mapping[str, str]) -> Route:
        match = PATH_RE.match(subpath)
        if match is None:
            raise self.not_found_path(subpath)
        _version, model, action = match.groups()
        if model is None or action is None:
            if method != "GET":
                raise self.method_not_allowed(method, "GET")
            return Route("models") if model is None else Route("model", model=model)
        if method != "POST":
            raise self.method_not_allowed(method, "POST")
        if action == "generateContent":
            return Route("chat", model=model, stream=False)
        if action == "streamGenerateContent":
            return Route("chat", model=model, stream=True, sse=query.get("alt") == "sse")
        if action == "countTokens":
            return Route("count_tokens", model=model)
        raise self.not_found_path(subpath)

    def not_found_path(self, path: str) -> MockError:
        return MockError(404, f"Requested entity was not found: {path}")

    def method_not_allowed(self, method: str, allow: str) -> MockError:
        return MockError(405, f"Method {method} is not allowed; use {allow}.", headers={"allow": allow})

    def authenticate(self, ex: ProviderRequest) -> None:
        key = ex.headers.get("x-goog-api-key") or ex.query.get("key")
        if not key:
            raise MockError(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if key == BAD_KEY:
            raise MockError(
                400,
                "API key not valid. Please pass a valid API key.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )

    def invalid_json(self, detail: str) -> MockError:
        return MockError(400, f"Invalid JSON payload received. Unexpected token. ({detail})")

    def body_not_object(self) -> MockError:
        return MockError(400, "Invalid JSON payload received. Expected an object.")

    def too_large(self, limit: int) -> MockError:
        return MockError(413, f"Request payload size exceeds the limit: {limit} bytes.")

    def model_not_found(self, model: str) -> MockError:
        return MockError(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods.",
        )

    def directive_error(self, err: Any) -> MockError:
        return MockError(400, str(err))

    def malformed_body(self, ex: ProviderRequest) -> bytes:
        return b'{"candidates": [{"content": {"parts": [{"text": "brok'

    def malformed_frame(self) -> bytes:
        return b'data: {"candidates": [{"content": {"parts": [{"text": "brok\n\n'

    # --- request ------------------------------------------------------------------------------------
    def parse(self, ex: ProviderRequest, route: Route) -> Turn:
        spec = self.model_spec(route.model or "")
        ex.model = spec.served_as
        raw = ex.body
        if route.kind == "count_tokens" and isinstance(raw.get("generateContentRequest"), dict):
            raw = raw["generateContentRequest"]
        body = _normalise(
            raw, TOP_FIELDS | ({"generateContentRequest"} if route.kind == "count_tokens" else set()), ""
        )
        config = _normalise(body.get("generationConfig") or {}, GENERATION_FIELDS, "generation_config")
        contents = body.get("contents")
        if not contents:
            raise MockError(400, "* GenerateContentRequest.contents: contents is not specified\n")
        if not isinstance(contents, list):
            raise MockError(400, "Invalid JSON payload received. Invalid value at 'contents'.")
        self._check_config(config, spec)
        thinking, show = self._thinking(config, spec)
        tools, tool_choice, forced = self._tools(body)
        json_schema, json_mode = self._response_format(config)

        b = TurnBuilder()
        system = body.get("systemInstruction")
        if system is not None:
            for part in self._parts(system, "system_instruction", allow_empty=True):
                if isinstance(part.get("text"), str):
                    b.system_text(part["text"])
        self._walk(contents, b)
        ex.extra["sse"] = route.sse
        ex.extra["stream"] = bool(route.stream)
        ex.extra["thinking_model"] = spec.reasoning is not Reasoning.NONE
        stops = config.get("stopSequences") or []
        return b.build(
            spec,
            stream=bool(route.stream),
            include_usage=True,
            max_tokens=config.get("maxOutputTokens"),
            stop=tuple(stops),
            n=config.get("candidateCount") or 1,
            tools=tools,
            tool_choice=tool_choice,
            forced_tool=forced,
            thinking=thinking,
            show_reasoning=show,
            json_schema=json_schema,
            json_mode=json_mode,
        )

    def _check_config(self, config: dict[str, Any], spec: ModelSpec) -> None:
        for key, low, high in (
            ("temperature", 0, 2),
            ("topP", 0, 1),
            ("presencePenalty", -2, 2),
            ("frequencyPenalty", -2, 2),
        ):
            value = config.get(key)
            if value is not None and (not is_number(value) or not low <= value <= high):
                raise MockError(
                    400, f"* GenerateContentRequest.generation_config.{key}: must be in [{low}, {high}]\n"
                )
        count = config.get("candidateCount")
        if count is not None and (not isinstance(count, int) or not 1 <= count <= 8):
            raise MockError(
                400, "* GenerateContentRequest.generation_config.candidate_count: must be in [1, 8]\n"
            )
        max_out = config.get("maxOutputTokens")
        if max_out is not None and (not isinstance(max_out, int) or max_out < 1 or max_out > spec.max_output):
            raise MockError(
                400,
                f"The specified max_output_tokens {max_out} is out of range: supported range is "
                f"1 to {spec.max_output + 1} (exclusive).",
            )
        stops = config.get("stopSequences")
        if stops is not None:
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise MockError(
                    400, "Invalid JSON payload received. Invalid value at 'generation_config.stop_sequences'."
                )
            if len(stops) > 5:
                raise MockError(
                    400,
                    "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop "
                    "sequences are supported\n",
                )
        top_logprobs = config.get("logprobs")
        if top_logprobs is not None and (not isinstance(top_logprobs, int) or not 0 <= top_logprobs <= 20):
            raise MockError(400, "logprobs must be between 0 and 20")
        if top_logprobs is not None and not config.get("responseLogprobs"):
            raise MockError(400, "logprobs requires response_logprobs to be true")

    def _thinking(self, config: dict[str, Any], spec: ModelSpec) -> tuple[bool, bool]:
        raw = config.get("thinkingConfig")
        if raw is None:
            return spec.thinking_by_default, False
        cfg = _normalise(raw, THINKING_FIELDS, "generation_config.thinking_config")
        show = cfg.get("includeThoughts") is True
        if spec.reasoning is Reasoning.NONE:
            raise MockError(400, "Thinking is not supported for this model.")
        budget = cfg.get("thinkingBudget")
        level = cfg.get("thinkingLevel")
        if budget is not None and level is not None:
            raise MockError(400, "You can only set only one of thinking budget and thinking level.")
        if spec.reasoning is Reasoning.THINKING_LEVEL:
            if level is not None and (not isinstance(level, str) or level.upper() not in LEVELS):
                raise MockError(
                    400, f"Invalid value at 'generation_config.thinking_config.thinking_level' ({level!r})"
                )
            if budget == 0:
                raise MockError(400, "Budget 0 is invalid. This model only works in thinking mode.")
            return True, show
        if level is not None:
            raise MockError(400, "Thinking level is not supported for this model.")
        if budget is None:
            return True, show
        if not isinstance(budget, int) or isinstance(budget, bool):
            raise MockError(400, "Invalid value at 'generation_config.thinking_config.thinking_budget'")
        if budget == 0:
            if not spec.can_disable_thinking:
                raise MockError(400, "Budget 0 is invalid. This model only works in thinking mode.")
            return False, False
        if budget != -1 and not max(spec.budget_min, 1) <= budget <= spec.budget_max:
            raise MockError(
                400,
                f"The thinking budget {budget} is invalid. Please choose a value between "
                f"{spec.budget_min} and {spec.budget_max}.",
            )
        return True, show

    def _tools(self, body: dict[str, Any]) -> tuple[tuple[ToolDef, ...], str, str | None]:
        tools: list[ToolDef] = []
        raw_tools = body.get("tools") or []
        if isinstance(raw_tools, dict):  # proto JSON reads one object where a repeated field is expected
            raw_tools = [raw_tools]
        for i, raw in enumerate(raw_tools):
            tool = _normalise(raw, TOOL_FIELDS, f"tools[{i}]")
            for j, raw_decl in enumerate(tool.get("functionDeclarations") or []):
                where = f"tools[{i}].function_declarations[{j}]"
                decl = _normalise(raw_decl, DECLARATION_FIELDS, where)
                name = decl.get("name")
                if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
                    raise MockError(
                        400,
                        f"* GenerateContentRequest.{where}.name: Invalid function name. Must start "
                        "with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain "
                        "underscores, dots, colons and dashes, with a maximum length of 128.\n",
                    )
                if "parameters" in decl and "parametersJsonSchema" in decl:
                    raise MockError(
                        400,
                        f"* GenerateContentRequest.{where}: parameters and parameters_json_schema "
                        "cannot both be set\n",
                    )
                if "parameters" in decl:
                    _check_openapi_schema(decl["parameters"], f"{where}.parameters")
                tools.append(ToolDef(name, decl.get("parametersJsonSchema") or decl.get("parameters")))
        raw_config = body.get("toolConfig")
        if raw_config is None:
            return tuple(tools), "auto", None
        config = _normalise(raw_config, TOOL_CONFIG_FIELDS, "tool_config")
        calling = _normalise(
            config.get("functionCallingConfig") or {}, CALLING_FIELDS, "tool_config.function_calling_config"
        )
        mode = calling.get("mode", "AUTO")
        if mode not in ("AUTO", "ANY", "NONE", "VALIDATED"):
            raise MockError(400, f"Invalid value at 'tool_config.function_calling_config.mode' ({mode!r})")
        allowed = calling.get("allowedFunctionNames")
        if allowed and mode != "ANY":
            raise MockError(
                400,
                "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names:"
                " allowed_function_names can only be set when mode is ANY.\n",
            )
        names = {t.name for t in tools}
        for name in allowed or []:
            if name not in names:
                raise MockError(400, f"Function {name} in allowed_function_names is not declared in tools.")
        if mode == "NONE":
            return tuple(tools), "none", None
        if mode == "ANY":
            return tuple(tools), "required", allowed[0] if allowed and len(allowed) == 1 else None
        return tuple(tools), "auto", None

    def _response_format(self, config: dict[str, Any]) -> tuple[Any, bool]:
        schema = config.get("responseSchema")
        json_schema = config.get("responseJsonSchema")
        if schema is not None and json_schema is not None:
            raise MockError(400, "response_schema and response_json_schema cannot both be set.")
        if schema is not None:
            _check_openapi_schema(schema, "generation_config.response_schema")
        mime = config.get("responseMimeType")
        if (schema is not None or json_schema is not None) and mime != "application/json":
            raise MockError(
                400,
                "* GenerateContentRequest.generation_config.response_mime_type: must be "
                "application/json when a response schema is set\n",
            )
        if mime == "application/json":
            chosen = json_schema if json_schema is not None else schema
            return (chosen, False) if chosen is not None else (None, True)
        return None, False

    def _parts(self, content: Any, where: str, allow_empty: bool = False) -> list[dict[str, Any]]:
        content = _normalise(content, CONTENT_FIELDS, where)
        parts = content.get("parts")
        if not isinstance(parts, list) or (not parts and not allow_empty):
            raise MockError(
                400, f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n"
            )
        return [_normalise(p, PART_FIELDS, f"{where}.parts[{k}]") for k, p in enumerate(parts)]

    def _walk(self, contents: list[Any], b: TurnBuilder) -> None:
        for i, raw in enumerate(contents):
            where = f"contents[{i}]"
            role = raw.get("role", "user") if isinstance(raw, dict) else None
            if role not in ("user", "model", ""):
                raise MockError(400, "Please use a valid role: user, model.")
            parts = self._parts(raw, where)
            if role == "model":
                b.assistant_turn()
            texts: list[str] = []
            for part in parts:
                if isinstance(part.get("text"), str) and not part.get("thought"):
                    if role == "model":
                        b.assistant_text(part["text"])
                    else:
                        texts.append(part["text"])
                call = part.get("functionCall") or part.get("function_call")
                if isinstance(call, dict):
                    b.tool_call(str(call.get("name", "")), call.get("args") or {})
                result = part.get("functionResponse")
                if isinstance(result, dict):
                    response = result.get("response")
                    if isinstance(response, dict) and len(response) == 1:
                        ((only_key, only_value),) = response.items()
                        if only_key in ("output", "content", "result") and isinstance(only_value, str):
                            b.tool_result_text(only_value)
                            continue
                    b.tool_result_json(response if response is not None else {})
            if texts:
                b.user_text("\n".join(texts))

    # --- response ---------------------------------------------------------------------------------------
    def usage(
        self,
        reply: Reply,
        n: int = 1,
        visible: int | None = None,
        thoughts: int | None = None,
        spec: ModelSpec | None = None,
    ) -> dict[str, Any]:
        u = reply.usage
        if reply.finish == "content_filter":  # a blocked answer counts the prompt only
            return {
                "promptTokenCount": u.prompt,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.prompt}],
                "totalTokenCount": u.prompt,
            }
        shown = (u.completion - u.reasoning) * n if visible is None else visible
        thought_tokens = u.reasoning * n if thoughts is None else thoughts
        meta: dict[str, Any] = {"promptTokenCount": u.prompt}
        if shown:  # proto3 JSON leaves zero counts out: a thought chunk or an answer spent thinking has none
            meta["candidatesTokenCount"] = shown
        meta["totalTokenCount"] = u.prompt + shown + thought_tokens
        meta["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.prompt}]
        if shown and spec is not None and spec.avg_logprobs:
            meta["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": shown}]
        if u.reasoning:
            meta["thoughtsTokenCount"] = thought_tokens
        meta["serviceTier"] = "standard"  # late-2026 recordings carry it (D-073: the newest shape wins)
        if u.cached:
            meta["cachedContentTokenCount"] = u.cached
            meta["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.cached}]
        return meta

    def _call_parts(self, reply: Reply, thinking: bool) -> list[dict[str, Any]]:
        parts = []
        for k, call in enumerate(reply.tool_calls):
            part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
            if k == 0 and thinking:
                part["thoughtSignature"] = signature_for(reply.reasoning or call.name)
            parts.append(part)
        return parts

    @staticmethod
    def _text_signature(turn: Turn, reply: Reply) -> dict[str, str]:
        """The signature of an answer that thought and has no call to sign: Gemini 3 signs its text
        always, Gemini 2.5 only when the request declared functions (D-162)."""
        if not reply.usage.reasoning or reply.tool_calls:
            return {}
        reasoning = turn.model.reasoning
        if reasoning is Reasoning.THINKING_LEVEL or (reasoning is Reasoning.THINKING_BUDGET and turn.tools):
            return {"thoughtSignature": signature_for(reply.reasoning)}
        return {}

    def _candidate(
        self,
        index: int,
        parts: list[dict[str, Any]],
        reply: Reply | None,
        spec: ModelSpec,
        calls_done: bool = True,
        streamed: bool = False,
    ) -> dict[str, Any]:
        """One candidate; `reply` is None on a non-final stream chunk. A blocked answer has `content: {}`
        and no index; Gemini <= 2.0 candidates have no index, and carry `avgLogprobs` only when not
        streamed (recorded: `structured_output_gemini_2_0`, `stream_gemini_2_0_flash_exp`)."""
        if reply is not None and reply.finish == "content_filter":
            return {"content": {}, "finishReason": "SAFETY", "safetyRatings": SAFETY_BLOCKED}
        # a candidate with nothing to say (every token spent thinking) has no `parts` at all
        content: dict[str, Any] = {"parts": parts, "role": "model"} if parts else {"role": "model"}
        candidate: dict[str, Any] = {"content": content}
        if reply is not None:
            candidate["finishReason"] = reply.native_finish(FINISH)
            if reply.tool_calls and calls_done:
                candidate["finishMessage"] = "Model generated function call(s)."
        if not spec.avg_logprobs:
            candidate["index"] = index
        elif not streamed:
            candidate["avgLogprobs"] = -0.05
        return candidate

    def render(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> tuple[bytes, Any]:
        parts: list[dict[str, Any]] = []
        if reply.usage.reasoning and turn.show_reasoning:
            parts.append({"text": reply.reasoning, "thought": True})
        signature = self._text_signature(turn, reply)
        if reply.text or signature:
            parts.append({"text": reply.text, **signature})
        parts += self._call_parts(reply, turn.thinking)
        usage = self.usage(reply, turn.n, spec=turn.model)
        body = {
            "candidates": [self._candidate(i, parts, reply, turn.model) for i in range(turn.n)],
            "usageMetadata": usage,
            "modelVersion": ex.model,
            "responseId": ex.request_id,
        }
        return self.json_body(body), usage

    def stream_usage(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Any:
        return self.usage(reply, turn.n, spec=turn.model)

    def stream(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Iterator[Frame]:
        sse = ex.extra.get("sse", True)
        n = turn.n
        # Gemini 3 streams a function call without a finish, then a final chunk with an empty text part
        gemini3 = turn.model.reasoning is Reasoning.THINKING_LEVEL
        visible = 0
        thoughts = 0
        first = True

        def chunk(parts: list[dict[str, Any]], final: bool, tokens: int) -> Frame:
            nonlocal first
            candidates = [
                self._candidate(
                    i, parts, reply if final else None, turn.model, calls_done=not gemini3, streamed=True
                )
                for i in range(n)
            ]
            # Gemini <= 2.0 counts no candidate tokens before the last chunk (recorded)
            counted = 0 if turn.model.avg_logprobs and not final else visible * n
            payload = {
                "candidates": candidates,
                "usageMetadata": self.usage(reply, n, counted, thoughts * n, spec=turn.model),
                "modelVersion": ex.model,
                "responseId": ex.request_id,
            }
            # without alt=sse the stream is one pretty-printed JSON array, written element by element
            data = data_event(payload, SSE_END) if sse else array_element(payload, first)
            first = False
            return Frame(data, tokens=tokens)

        if reply.usage.reasoning:
            if turn.show_reasoning:
                for piece in reply.reasoning_chunks:
                    thoughts += 1
                    yield chunk([{"text": piece, "thought": True}], False, 1)
            else:
                thoughts = reply.usage.reasoning
                yield Frame(b"", tokens=reply.usage.reasoning)
        pieces = reply.text_chunks
        if reply.tool_calls:
            for piece in pieces:
                visible += 1
                yield chunk([{"text": piece}], False, 1)
            visible += sum(c.tokens for c in reply.tool_calls)
            call_tokens = sum(c.tokens for c in reply.tool_calls)
            yield chunk(self._call_parts(reply, turn.thinking), not gemini3, call_tokens)
            if gemini3:
                yield chunk([{"text": ""}], True, 0)
        elif pieces and gemini3:
            # Gemini 3: the text unfinished, then an empty text part with the finish (and the signature)
            for piece in pieces:
                visible += 1
                yield chunk([{"text": piece}], False, 1)
            yield chunk([{"text": "", **self._text_signature(turn, reply)}], True, 0)
        elif pieces:
            # Gemini 2.5 signs the first text chunk (when it signs at all: functions declared)
            signature = self._text_signature(turn, reply)
            for k, piece in enumerate(pieces):
                visible += 1
                yield chunk([{"text": piece, **(signature if k == 0 else {})}], k == len(pieces) - 1, 1)
        elif gemini3:
            yield chunk([{"text": "", **self._text_signature(turn, reply)}], True, 0)
        else:
            yield chunk([], True, 0)  # nothing visible: the finish alone, `content` without parts
        if not sse:
            yield Frame(ARRAY_CLOSE, counts=False)

    def count_tokens_body(self, ex: ProviderRequest, turn: Turn) -> bytes:
        return self.json_body(
            {
                "totalTokens": turn.prompt_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": turn.prompt_tokens}],
            }
        )

    def models_body(self, ex: ProviderRequest, route: Route) -> bytes:
        def card(model_id: str) -> dict[str, Any]:
            spec = self.models[model_id]
            return {
                "name": f"models/{model_id}",
                "version": "001",
                "displayName": spec.display_name or model_id,
                "description": f"Mock of {spec.display_name or model_id}",
                "inputTokenLimit": spec.context_window,
                "outputTokenLimit": spec.max_output,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
                "temperature": 1,
                "topP": 0.95,
                "topK": 64,
                "maxTemperature": 2,
                "thinking": spec.reasoning is not Reasoning.NONE,
            }

        if route.kind == "model":
            if route.model not in self.models:
                raise self.model_not_found(route.model or "")
            return self.json_body(card(route.model))
        return self.json_body({"models": [card(m) for m in self.models]})  # every name, aliases included
