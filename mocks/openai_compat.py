"""OpenAI Chat Completions wire format, shared by the OpenAI, DeepSeek and vLLM flavours.

The three APIs speak the same protocol with differences that are data here (`Dialect`): which unknown
fields are rejected, how many stop sequences, where reasoning text goes (`reasoning_content` on
DeepSeek, `reasoning` on vLLM, hidden on OpenAI), the usage object's extras, ids, headers and the
error envelope. Model-specific rules (o-series, DeepSeek thinking mode) are checked in one place each.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from auriko_conformance.mocks.behaviour import FINISH_STOP_SEQUENCE, Reply
from auriko_conformance.mocks.conversation import ToolDef, Turn, TurnBuilder
from auriko_conformance.mocks.errors import (
    DEEPSEEK_ERRORS,
    INDENTED,
    OPENAI_ERRORS,
    VLLM_ERRORS,
    ErrorStyle,
    MockError,
)
from auriko_conformance.mocks.flavour import (
    BAD_KEY,
    Flavour,
    ProviderRequest,
    Route,
    bearer_token,
    is_number,
    random_hex,
    random_token,
)
from auriko_conformance.mocks.models import ModelSpec, Reasoning
from auriko_conformance.mocks.sse import DONE, Frame, data_event
from auriko_conformance.mocks.tokens import split_tokens

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
FUNCTION_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
FINISH = {
    "stop": "stop",
    FINISH_STOP_SEQUENCE: "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}
ARG_PIECE_TOKENS = 3  # tool-call argument fragments carry about this many tokens each

OPENAI_FIELDS = frozenset(
    [
        "model",
        "messages",
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_completion_tokens",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "stream",
        "stream_options",
        "reasoning_effort",
        "verbosity",
        "service_tier",
        "metadata",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",
        "store",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "moderation",
        "functions",
        "function_call",
    ]
)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: (field, predicate, what the error says is expected)
_SCALAR_TYPES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("seed", _is_int, "an integer"),
    ("top_logprobs", _is_int, "an integer"),
    ("logprobs", lambda v: isinstance(v, bool), "a boolean"),
    ("stream", lambda v: isinstance(v, bool), "a boolean"),
    ("parallel_tool_calls", lambda v: isinstance(v, bool), "a boolean"),
    ("user", lambda v: isinstance(v, str), "a string"),
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """The differences between the three OpenAI-compatible APIs, as data."""

    name: str
    errors: ErrorStyle
    strict_fields: bool  # unknown top-level fields -> 400 (OpenAI) or ignored (DeepSeek, vLLM)
    max_stop: int
    chat_paths: tuple[str, ...]
    models_paths: tuple[str, ...]
    reasoning_field: str | None  # where reasoning text goes; None = hidden (tokens only)
    owned_by: str
    fingerprint: str | None
    uuid_ids: bool = False
    obfuscation: bool = False
    model_required: bool = True
    model_not_found_status: int = 404
    model_not_found_message: str = "The model `{model}` does not exist or you do not have access to it."
    json_schema_supported: bool = True
    json_needs_word: bool = False  # json_object requires the word "json" in the messages
    message_extras: Mapping[str, Any] = None  # type: ignore[assignment]
    choice_stop_reason: bool = False  # vLLM adds choice.stop_reason
    usage_on_finish_chunk: bool = False  # DeepSeek: stream usage rides on the finish chunk, no `choices: []`
    indented_json: bool = (
        False  # OpenAI indents its answers' JSON (recorded; DeepSeek's and vLLM's unrecorded)
    )


OPENAI = Dialect(
    name="openai",
    errors=OPENAI_ERRORS,
    indented_json=True,
    strict_fields=True,
    max_stop=4,
    chat_paths=("/v1/chat/completions",),
    models_paths=("/v1/models",),
    reasoning_field=None,
    owned_by="openai",
    fingerprint="fp_mock0a1b2c",
    obfuscation=True,
    json_needs_word=True,
    message_extras={"refusal": None, "annotations": []},
)

DEEPSEEK = Dialect(
    name="deepseek",
    errors=DEEPSEEK_ERRORS,
    strict_fields=False,
    max_stop=16,
    chat_paths=("/chat/completions", "/v1/chat/completions"),
    models_paths=("/models", "/v1/models"),
    reasoning_field="reasoning_content",
    owned_by="deepseek",
    fingerprint="fp_mock_prod0820",
    uuid_ids=True,
    model_not_found_status=400,
    model_not_found_message="Model Not Exist",
    json_schema_supported=False,
    json_needs_word=True,
    message_extras={},
    usage_on_finish_chunk=True,
)

VLLM = Dialect(
    name="vllm",
    errors=VLLM_ERRORS,
    strict_fields=False,
    max_stop=1_000_000,
    chat_paths=("/v1/chat/completions",),
    models_paths=("/v1/models",),
    reasoning_field="reasoning",
    owned_by="vllm",
    fingerprint=None,
    model_required=False,
    model_not_found_message="The model `{model}` does not exist.",
    message_extras={"refusal": None, "annotations": None, "audio": None, "function_call": None},
    choice_stop_reason=True,
)


def _text_of(content: Any, where: str, bad: Callable[[str, str], MockError]) -> str:
    """The text of a message `content`: a string or a list of parts (text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or "type" not in part:
                raise bad(f"Invalid '{where}[{j}]': expected an object with a 'type'.", f"{where}[{j}]")
            if part["type"] in ("text", "refusal"):
                text = part.get("text", part.get("refusal"))
                if not isinstance(text, str):
                    raise bad(f"Missing required parameter: '{where}[{j}].text'.", f"{where}[{j}].text")
                texts.append(text)
        return "\n".join(texts)
    raise bad(f"Invalid type for '{where}': expected a string or an array of content parts.", where)


class OpenAICompatFlavour(Flavour):
    """One instance of an OpenAI-compatible API; `dialect` says which one."""

    dialect: Dialect = OPENAI
    stream_content_type = b"text/event-stream; charset=utf-8"  # all three send the charset

    def __init__(self, instance: Any) -> None:
        self.name = self.dialect.name
        self.errors = self.dialect.errors
        self.json_options = INDENTED if self.dialect.indented_json else 0
        super().__init__(instance)
        d = self.dialect
        self._routes = {p: "chat" for p in d.chat_paths} | {p: "models" for p in d.models_paths}

    # --- identity ---------------------------------------------------------------------------------
    def static_headers(self) -> dict[str, str]:
        if self.dialect.name == "openai":
            return {
                "server": "cloudflare",  # recorded (fidelity `stream_usage_all_headers`)
                "openai-organization": "auriko-mock",
                "openai-version": "2020-10-01",
                "openai-processing-ms": "1",
                "x-ratelimit-limit-requests": "10000",
                "x-ratelimit-limit-tokens": "30000000",
                "x-ratelimit-remaining-requests": "9999",
                "x-ratelimit-remaining-tokens": "29999000",
                "x-ratelimit-reset-requests": "6ms",
                "x-ratelimit-reset-tokens": "0s",
                # sent when the project has limits of its own (fidelity `plain_all_headers`)
                "x-ratelimit-limit-project-requests": "10000",
                "x-ratelimit-remaining-project-requests": "9999",
                "x-ratelimit-reset-project-requests": "6ms",
            }
        return {}

    def new_request_id(self) -> str:
        return random_hex(16) if self.dialect.name != "openai" else "req_" + random_hex(16)

    def response_headers(self, ex: ProviderRequest) -> list[tuple[bytes, bytes]]:
        return [*self._static_headers, (b"x-request-id", ex.request_id.encode())]

    def _completion_id(self) -> str:
        return str(uuid.uuid4()) if self.dialect.uuid_ids else "chatcmpl-" + random_token(29)

    # --- routing and auth -------------------------------------------------------------------------
    def route(self, method: str, subpath: str, query: Mapping[str, str]) -> Route:
        kind = self._routes.get(subpath)
        if kind is None:
            for models_path in self.dialect.models_paths:
                if subpath.startswith(models_path + "/") and method == "GET":
                    return Route("model", model=subpath[len(models_path) + 1 :])
            if self.dialect.name == "vllm" and subpath in ("/health", "/version"):
                return Route("health")
            raise self.not_found_path(subpath)
        allow = "POST" if kind == "chat" else "GET"
        if method != allow:
            raise self.method_not_allowed(method, allow)
        return Route(kind)

    def not_found_path(self, path: str) -> MockError:
        if self.dialect.name == "vllm":
            return MockError(404, "Not Found", raw_body=b'{"detail":"Not Found"}')
        return MockError(404, f"Invalid URL ({path})")

    def method_not_allowed(self, method: str, allow: str) -> MockError:
        if self.dialect.name == "vllm":
            return MockError(
                405,
                "Method Not Allowed",
                headers={"allow": allow},
                raw_body=b'{"detail":"Method Not Allowed"}',
            )
        return MockError(405, f"Invalid method for URL: {method}; use {allow}.", headers={"allow": allow})

    def authenticate(self, ex: ProviderRequest) -> None:
        token = bearer_token(ex.headers)
        name = self.dialect.name
        if name == "vllm":
            if token == BAD_KEY or (self.instance.auth_required and not token):
                raise MockError(401, "Unauthorized", raw_body=b'{"error":"Unauthorized"}')
            return
        if not token:
            message = (
                "Authentication Fails (no such user)"
                if name == "deepseek"
                else "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            raise MockError(401, message, code=None if name == "openai" else "invalid_request_error")
        if token == BAD_KEY:
            message = (
                f"Authentication Fails, Your api key: ****{token[-4:]} is invalid"
                if name == "deepseek"
                else f"Incorrect API key provided: {token}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            raise MockError(401, message)

    def model_not_found(self, model: str) -> MockError:
        d = self.dialect
        return MockError(
            d.model_not_found_status,
            d.model_not_found_message.format(model=model),
            param=None if d.name == "openai" else "model",  # the real OpenAI error has `param: null`
            code="model_not_found" if d.name == "openai" else None,
        )

    # --- request --------------------------------------------------------------------------------------
    def parse(self, ex: ProviderRequest, route: Route) -> Turn:
        body: dict[str, Any] = ex.body
        d = self.dialect
        bad = self.bad_request
        if d.strict_fields:
            for key in body:
                if key not in OPENAI_FIELDS:
                    raise bad(f"Unrecognized request argument supplied: {key}", key)
        model_id = body.get("model")
        if model_id is None and not d.model_required:
            model_id = next(iter(self.models))
        if not isinstance(model_id, str) or not model_id:
            raise bad("you must provide a model parameter", "model")
        messages = body.get("messages")
        if messages is None:
            raise bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        if not isinstance(messages, list) or not messages:
            raise bad(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                "empty array instead.",
                "messages",
                "empty_array",
            )
        spec = self.model_spec(model_id)
        ex.model = spec.served_as  # the real APIs answer with the snapshot an alias resolves to
        ex.extra["spec"] = spec
        if d.name == "openai":
            self._model_features(body, spec)

        self._check_numbers(body)
        stream = body.get("stream") is True
        stream_options = body.get("stream_options")
        if stream_options is not None and not stream:
            message = (
                "Stream options can only be defined when `stream=True`."
                if d.name == "vllm"
                else "The 'stream_options' parameter is only allowed when 'stream' is enabled."
            )
            raise bad(message, "stream_options")
        if stream_options is not None and not isinstance(stream_options, dict):
            raise bad("Invalid type for 'stream_options': expected an object.", "stream_options")
        stop = self._stop(body, spec)
        tools, tool_choice, forced = self._tools(body)
        thinking, show = self._thinking(body, spec)
        self._logprobs(body, spec, thinking)
        json_schema, json_mode = self._response_format(body, messages)
        max_tokens = self._max_tokens(body, spec)

        builder = TurnBuilder()
        self._walk(messages, builder, thinking)
        n = body.get("n") or 1
        include_usage = bool(stream_options and stream_options.get("include_usage"))
        ex.extra["continuous_usage"] = bool(stream_options and stream_options.get("continuous_usage_stats"))
        ex.extra["logprobs"] = body.get("logprobs") is True
        ex.extra["top_logprobs"] = body.get("top_logprobs") or 0
        ex.extra["obfuscation"] = (
            d.obfuscation and (stream_options or {}).get("include_obfuscation") is not False
        )
        return builder.build(
            spec,
            stream=stream,
            include_usage=include_usage,
            max_tokens=max_tokens,
            stop=stop,
            n=n if d.name != "deepseek" else 1,
            tools=tools,
            tool_choice=tool_choice,
            forced_tool=forced,
            parallel_tools=body.get("parallel_tool_calls") is not False,
            thinking=thinking,
            show_reasoning=show,
            json_schema=json_schema,
            json_mode=json_mode,
        )

    def _model_features(self, body: dict[str, Any], spec: ModelSpec) -> None:
        """Features only some OpenAI models have: the real API answers 400 on the others."""
        if body.get("web_search_options") is not None and not spec.web_search:
            raise MockError(
                400, "Web search options not supported with this model.", param="web_search_options"
            )
        if spec.audio_input:
            return
        for i, m in enumerate(body.get("messages") or []):
            content = m.get("content") if isinstance(m, dict) else None
            for j, part in enumerate(content if isinstance(content, list) else []):
                if isinstance(part, dict) and part.get("type") == "input_audio":
                    raise MockError(
                        400,
                        "This model does not support audio inputs.",
                        param=f"messages[{i}].content[{j}].type",
                        code="invalid_value",
                    )

    def _check_numbers(self, body: dict[str, Any]) -> None:
        ranges = (
            ("temperature", 0, 2),
            ("top_p", 0, 1),
            ("presence_penalty", -2, 2),
            ("frequency_penalty", -2, 2),
            ("n", 1, 128),
        )
        for key, low, high in ranges:
            value = body.get(key)
            if value is None:
                continue
            if not is_number(value) or (key == "n" and not isinstance(value, int)):
                raise self.bad_request(f"Invalid type for '{key}': expected a number.", key, "invalid_type")
            if not low <= value <= high:
                above = value > high
                raise self.bad_request(
                    f"Invalid '{key}': {'decimal above maximum value' if above else 'below minimum value'}. "
                    f"Expected a value {'<=' if above else '>='} {high if above else low}, but got {value} "
                    "instead.",
                    key,
                    "integer_above_max_value" if above else "decimal_below_min_value",
                )
        for key in ("max_tokens", "max_completion_tokens"):
            value = body.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise self.bad_request(f"Invalid '{key}': expected an integer >= 1, but got {value!r}.", key)
        # Type rules the real API enforces on the other scalar fields (it answers "Invalid type").
        for key, kind, label in _SCALAR_TYPES:
            value = body.get(key)
            if value is not None and not kind(value):
                raise self.bad_request(
                    f"Invalid type for '{key}': expected {label}, but got {type(value).__name__} instead.",
                    key,
                    "invalid_type",
                )

    def _max_tokens(self, body: dict[str, Any], spec: ModelSpec) -> int | None:
        if (
            self.dialect.name == "openai"
            and spec.reasoning is Reasoning.EFFORT
            and "max_tokens" in body
            and body["max_tokens"] is not None
        ):
            raise MockError(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        value = body.get("max_completion_tokens")
        return value if value is not None else body.get("max_tokens")

    def _stop(self, body: dict[str, Any], spec: ModelSpec) -> tuple[str, ...]:
        stop = body.get("stop")
        if stop is None:
            return ()
        if self.dialect.name == "openai" and spec.rejects_stop:
            raise MockError(
                400,
                "Unsupported parameter: 'stop' is not supported with this model.",
                param="stop",
                code="unsupported_parameter",
            )
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise self.bad_request(
                "Invalid type for 'stop': expected a string or an array of strings.", "stop"
            )
        if len(stops) > self.dialect.max_stop:
            raise self.bad_request(
                f"Invalid 'stop': array too long. Expected an array with maximum length "
                f"{self.dialect.max_stop}, "
                f"but got an array with length {len(stops)} instead.",
                "stop",
                "array_above_max_length",
            )
        return tuple(stops)

    def _tools(self, body: dict[str, Any]) -> tuple[tuple[ToolDef, ...], str, str | None]:
        bad = self.bad_request
        tools_raw = body.get("tools")
        tools: list[ToolDef] = []
        if tools_raw is not None:
            if not isinstance(tools_raw, list) or (not tools_raw and self.dialect.name != "openai"):
                raise bad("Invalid 'tools': expected a non-empty array of tools.", "tools")
            for i, tool in enumerate(tools_raw):
                where = f"tools[{i}]"
                if not isinstance(tool, dict) or tool.get("type") != "function":
                    kind = tool.get("type") if isinstance(tool, dict) else None
                    if self.dialect.name == "openai" and kind == "custom":
                        continue
                    raise bad(f"Invalid value: '{kind}'. Supported values are: 'function'.", f"{where}.type")
                fn = tool.get("function")
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                    raise bad(
                        f"Missing required parameter: '{where}.function.name'.", f"{where}.function.name"
                    )
                if not FUNCTION_NAME_RE.match(fn["name"]):
                    raise bad(
                        f"Invalid '{where}.function.name': string does not match pattern. Expected a "
                        "string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
                        f"{where}.function.name",
                        "invalid_value",
                    )
                params = fn.get("parameters")
                if params is not None and (
                    not isinstance(params, dict) or params.get("type", "object") != "object"
                ):
                    got = params.get("type") if isinstance(params, dict) else type(params).__name__
                    raise bad(
                        f"Invalid schema for function '{fn['name']}': schema must be a JSON Schema of "
                        f"'type: \"object\"', got 'type: \"{got}\"'.",
                        f"{where}.function.parameters",
                        "invalid_function_parameters",
                    )
                tools.append(ToolDef(fn["name"], params))
        choice = body.get("tool_choice")
        names = {t.name for t in tools}
        if choice is None:
            return tuple(tools), "auto", None
        if isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                raise bad(
                    f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                    "tool_choice",
                )
            if choice != "none" and not tools:
                raise bad(
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
                    "specified.",
                    "tool_choice",
                )
            return tuple(tools), choice, None
        if isinstance(choice, dict) and choice.get("type") == "function":
            name = (choice.get("function") or {}).get("name")
            if name not in names:
                raise bad(
                    f"Invalid value for 'tool_choice': no function named '{name}' was specified in the "
                    "'tools' parameter.",
                    "tool_choice",
                )
            return tuple(tools), "required", name
        if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
            return tuple(tools), "auto", None
        raise bad("Invalid value for 'tool_choice'.", "tool_choice")

    def _thinking(self, body: dict[str, Any], spec: ModelSpec) -> tuple[bool, bool]:
        """(thinking on, reasoning text returned) for this request on this model."""
        effort = body.get("reasoning_effort")
        name = self.dialect.name
        if effort is not None and effort not in EFFORTS:
            raise self.bad_request(
                f"Invalid value: '{effort}'. Supported values are: "
                + ", ".join(f"'{e}'" for e in EFFORTS)
                + ".",
                "reasoning_effort",
                "invalid_value",
            )
        if name == "openai":
            if spec.reasoning is Reasoning.EFFORT:
                self._reasoning_model_rules(body)
                return effort != "none" and (effort is not None or spec.thinking_by_default), False
            if effort is not None:
                raise MockError(
                    400,
                    "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                    param="reasoning_effort",
                    code="unsupported_parameter",
                )
            return False, False
        if name == "deepseek":
            thinking = body.get("thinking")
            if thinking is not None:
                kind = thinking.get("type") if isinstance(thinking, dict) else None
                if kind not in ("enabled", "disabled"):
                    raise self.bad_request("thinking.type must be 'enabled' or 'disabled'", "thinking")
            if spec.reasoning is Reasoning.ALWAYS:
                return True, True
            if spec.reasoning is Reasoning.TOGGLE:
                return bool(isinstance(thinking, dict) and thinking.get("type") == "enabled"), True
            return False, False
        # vLLM: Qwen3's chat template thinks unless told not to
        if spec.reasoning is not Reasoning.TEMPLATE:
            return False, False
        kwargs = body.get("chat_template_kwargs") or {}
        on = effort != "none" and (not isinstance(kwargs, dict) or kwargs.get("enable_thinking") is not False)
        return on, body.get("include_reasoning") is not False

    def _reasoning_model_rules(self, body: dict[str, Any]) -> None:
        for key, default in (("temperature", 1), ("top_p", 1)):
            value = body.get(key)
            if value is not None and value != default:
                raise MockError(
                    400,
                    f"Unsupported value: '{key}' does not support {value} with this model. Only "
                    f"the default ({default}) value is supported.",
                    param=key,
                    code="unsupported_value",
                )
        for key in ("logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias"):
            if body.get(key) not in (None, False):
                raise MockError(
                    400,
                    f"Unsupported parameter: '{key}' is not supported with this model.",
                    param=key,
                    code="unsupported_parameter",
                )

    def _logprobs(self, body: dict[str, Any], spec: ModelSpec, thinking: bool) -> None:
        top = body.get("top_logprobs")
        logprobs = body.get("logprobs")
        if self.dialect.name == "deepseek" and thinking and (logprobs or top is not None):
            key = "logprobs" if logprobs else "top_logprobs"
            raise self.bad_request(f"{key} is not supported in thinking mode (deepseek-reasoner).", key)
        if top is None:
            return
        if self.dialect.name == "vllm" and top == -1:
            return
        if not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= 20:
            raise self.bad_request(
                f"Invalid 'top_logprobs': expected an integer between 0 and 20, got {top!r}.", "top_logprobs"
            )
        if logprobs is not True:
            raise self.bad_request(
                "Invalid value for 'logprobs': must be true when 'top_logprobs' is set.", "logprobs"
            )

    def _response_format(self, body: dict[str, Any], messages: list[Any]) -> tuple[Any, bool]:
        fmt = body.get("response_format")
        if fmt is None:
            return None, False
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "text":
            return None, False
        if kind == "json_object":
            if self.dialect.json_needs_word and "json" not in orjson.dumps(messages).decode().lower():
                raise self.bad_request(
                    "'messages' must contain the word 'json' in some form, to use "
                    "'response_format' of type 'json_object'.",
                    "messages",
                )
            return None, True
        if kind == "json_schema" and self.dialect.json_schema_supported:
            spec = fmt.get("json_schema")
            if (
                not isinstance(spec, dict)
                or not isinstance(spec.get("name"), str)
                or not FUNCTION_NAME_RE.match(spec["name"])
            ):
                raise self.bad_request(
                    "Invalid 'response_format.json_schema.name': expected a string matching "
                    "'^[a-zA-Z0-9_-]+$'.",
                    "response_format.json_schema.name",
                )
            return spec.get("schema") or {}, False
        raise self.bad_request(f"This response_format type is unavailable now: {kind!r}.", "response_format")

    def _walk(self, messages: list[Any], b: TurnBuilder, thinking: bool) -> None:
        bad = self.bad_request
        for i, m in enumerate(messages):
            where = f"messages[{i}]"
            if not isinstance(m, dict):
                raise bad(f"Invalid type for '{where}': expected an object.", where)
            role = m.get("role")
            if role not in ROLES:
                raise bad(
                    f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                    "'function', 'tool', and 'developer'.",
                    f"{where}.role",
                    "invalid_value",
                )
            content = m.get("content")
            if role in ("system", "developer"):
                b.system_text(_text_of(content, f"{where}.content", bad))
            elif role == "user":
                if content is None:
                    raise bad(f"Missing required parameter: '{where}.content'.", f"{where}.content")
                b.user_text(_text_of(content, f"{where}.content", bad))
            elif role == "assistant":
                b.assistant_turn()
                calls = m.get("tool_calls") or []
                if content is None and not calls and m.get("function_call") is None:
                    raise bad(f"Missing required parameter: '{where}.content'.", f"{where}.content")
                if content:
                    b.assistant_text(_text_of(content, f"{where}.content", bad))
                if (
                    calls
                    and thinking
                    and self.dialect.name == "deepseek"
                    and m.get("reasoning_content") is None
                ):
                    raise bad(
                        "The reasoning_content in the thinking mode must be passed back to the API.",
                        f"{where}.reasoning_content",
                    )
                for j, call in enumerate(calls):
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                        raise bad(
                            f"Missing required parameter: '{where}.tool_calls[{j}].function'.",
                            f"{where}.tool_calls[{j}].function",
                        )
                    b.tool_call(fn["name"], fn.get("arguments") or "")
            else:
                if role == "tool" and not m.get("tool_call_id"):
                    raise bad(f"Missing required parameter: '{where}.tool_call_id'.", f"{where}.tool_call_id")
                b.tool_result_text(_text_of(content, f"{where}.content", bad))

    # --- response ---------------------------------------------------------------------------------------
    def usage(self, turn: Turn, reply: Reply, completion: int | None = None, n: int = 1) -> dict[str, Any]:
        """The dialect's usage object; `completion` overrides the count (cumulative stream usage)."""
        u = reply.usage
        done = u.completion * n if completion is None else completion
        name = self.dialect.name
        if name == "vllm":
            return {
                "prompt_tokens": u.prompt,
                "total_tokens": u.prompt + done,
                "completion_tokens": done,
                "prompt_tokens_details": {"cached_tokens": u.cached} if u.cached else None,
            }
        usage: dict[str, Any] = {
            "prompt_tokens": u.prompt,
            "completion_tokens": done,
            "total_tokens": u.prompt + done,
        }
        if name == "deepseek":
            usage["prompt_tokens_details"] = {"cached_tokens": u.cached}
            if turn.thinking:
                usage["completion_tokens_details"] = {"reasoning_tokens": u.reasoning * n}
            usage["prompt_cache_hit_tokens"] = u.cached
            usage["prompt_cache_miss_tokens"] = u.prompt - u.cached
            return usage
        usage["prompt_tokens_details"] = {"cached_tokens": u.cached, "audio_tokens": 0}
        if turn.model.cache_write_tokens:
            usage["prompt_tokens_details"] = {
                "cached_tokens": u.cached,
                "cache_write_tokens": 0,
                "audio_tokens": 0,
            }
        usage["completion_tokens_details"] = {
            "reasoning_tokens": u.reasoning * n,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
        return usage

    def _tool_call_objs(self, reply: Reply, ex: ProviderRequest) -> list[dict[str, Any]]:
        ids = ex.extra.setdefault("tool_ids", [self._tool_id() for _ in reply.tool_calls])
        return [
            {"id": ids[i], "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
            for i, c in enumerate(reply.tool_calls)
        ]

    @staticmethod
    def _call_head(index: int, obj: dict[str, Any]) -> dict[str, Any]:
        """A tool call's first stream delta: index, id, type, name and empty arguments."""
        return {
            "index": index,
            "id": obj["id"],
            "type": "function",
            "function": {"name": obj["function"]["name"], "arguments": ""},
        }

    def _tool_id(self) -> str:
        return (
            "call_" + random_token(24) if self.dialect.name != "vllm" else "chatcmpl-tool-" + random_hex(16)
        )

    def _logprobs_obj(self, chunks: list[str], top: int) -> dict[str, Any]:
        content = []
        for k, chunk in enumerate(chunks):
            token = chunk
            alts = [{"token": token, "logprob": -0.01 * (k % 7), "bytes": list(token.encode())}]
            alts += [
                {"token": f" alt{j}", "logprob": -2.0 - j, "bytes": list(f" alt{j}".encode())}
                for j in range(1, top)
            ]
            content.append(
                {
                    "token": token,
                    "logprob": -0.01 * (k % 7),
                    "bytes": list(token.encode()),
                    "top_logprobs": alts[:top],
                }
            )
        return {"content": content, "refusal": None}

    def render(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> tuple[bytes, Any]:
        d = self.dialect
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text or (None if reply.tool_calls else ""),
        }
        if d.reasoning_field and turn.thinking and turn.show_reasoning:
            message[d.reasoning_field] = reply.reasoning
        message.update(d.message_extras)
        if reply.tool_calls:
            message["tool_calls"] = self._tool_call_objs(reply, ex)
        elif d.name == "vllm":
            message["tool_calls"] = []
        logprobs = (
            self._logprobs_obj(reply.text_chunks, ex.extra["top_logprobs"]) if ex.extra["logprobs"] else None
        )
        choices = []
        # OpenAI reasoning models leave `logprobs` out of the choice (they refuse the parameter)
        omit_logprobs = d.name == "openai" and turn.model.reasoning is Reasoning.EFFORT
        for index in range(turn.n):
            choice: dict[str, Any] = {"index": index, "message": message}
            if not omit_logprobs:
                choice["logprobs"] = logprobs
            choice["finish_reason"] = reply.native_finish(FINISH)
            if d.choice_stop_reason:
                choice["stop_reason"] = reply.stop_sequence
            choices.append(choice)
        usage = self.usage(turn, reply, n=turn.n)
        body: dict[str, Any] = {
            "id": self._completion_id(),
            "object": "chat.completion",
            "created": ex.created,
            "model": ex.model,
            "choices": choices,
            "usage": usage,
        }
        if d.name == "openai":
            body["service_tier"] = "default"
        if d.fingerprint:
            body["system_fingerprint"] = d.fingerprint if turn.model.fingerprint else None
        if d.name == "vllm":
            body["prompt_logprobs"] = None
            body["kv_transfer_params"] = None
        return self.json_body(body), usage

    def stream_usage(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Any:
        return self.usage(turn, reply, n=turn.n)

    def stream(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Iterator[Frame]:
        d = self.dialect
        base: dict[str, Any] = {
            "id": self._completion_id(),
            "object": "chat.completion.chunk",
            "created": ex.created,
            "model": ex.model,
        }
        if d.name == "openai":
            base["service_tier"] = "default"
        if d.fingerprint:
            base["system_fingerprint"] = d.fingerprint if turn.model.fingerprint else None
        cumulative = reply.directives.usage == "cumulative" or ex.extra.get("continuous_usage", False)
        null_usage = turn.include_usage and not cumulative
        obfuscate = ex.extra.get("obfuscation", False)
        want_logprobs = ex.extra.get("logprobs", False)
        top = ex.extra.get("top_logprobs", 0)
        shown = d.reasoning_field is not None and turn.thinking and turn.show_reasoning
        produced = 0
        count = 0

        def chunk(
            delta: dict[str, Any], finish: str | None = None, logprobs: Any = None, usage: Any = None
        ) -> bytes:
            nonlocal count
            choices = []
            for index in range(turn.n):
                choice: dict[str, Any] = {
                    "index": index,
                    "delta": delta,
                    "logprobs": logprobs,
                    "finish_reason": finish,
                }
                if d.choice_stop_reason and finish is not None:
                    choice["stop_reason"] = reply.stop_sequence
                choices.append(choice)
            payload = {**base, "choices": choices}
            if usage is not None:
                payload["usage"] = usage
            elif cumulative:
                payload["usage"] = self.usage(turn, reply, completion=produced * turn.n)
            elif null_usage:
                payload["usage"] = None
            if obfuscate:
                count += 1
                payload["obfuscation"] = "xQ9mZ"[: count % 5]
            return data_event(payload)

        first: dict[str, Any] = {
            "role": "assistant",
            "content": None if reply.tool_calls and not reply.text else "",
        }
        if shown:
            first[d.reasoning_field] = ""  # type: ignore[index]
            if d.name == "deepseek":
                first["content"] = None  # DeepSeek's thinking stream opens with `content: null`
        calls = list(zip(reply.tool_calls, self._tool_call_objs(reply, ex), strict=True))
        # OpenAI puts the first call's head in the role chunk when the answer starts with a tool call
        head_in_first = (
            d.name == "openai" and bool(calls) and not reply.text_chunks and not reply.usage.reasoning
        )
        head_tokens = 0
        if head_in_first:
            first["tool_calls"] = [self._call_head(0, calls[0][1])]
            head_tokens = calls[0][0].tokens - len(split_tokens(calls[0][0].arguments_json))
        if d.name == "openai":
            first["refusal"] = None
        yield Frame(chunk(first), tokens=head_tokens)
        if reply.usage.reasoning:
            if shown:
                for piece in reply.reasoning_chunks:
                    produced += 1
                    delta = {d.reasoning_field: piece}
                    if d.name == "deepseek":
                        delta["content"] = None
                    yield Frame(chunk(delta), tokens=1)  # type: ignore[dict-item]
            else:
                produced += reply.usage.reasoning
                yield Frame(b"", tokens=reply.usage.reasoning)
        for k, piece in enumerate(reply.text_chunks):
            produced += 1
            delta = {"content": piece}
            if d.name == "deepseek" and shown:
                delta["reasoning_content"] = None  # type: ignore[assignment]
            logprobs = self._logprobs_obj([piece], top) if want_logprobs else None
            if logprobs:
                logprobs["content"][0]["logprob"] = -0.01 * (k % 7)
            yield Frame(chunk(delta, logprobs=logprobs), tokens=1)
        for i, (call, obj) in enumerate(calls):
            pieces = split_tokens(call.arguments_json)
            name_tokens = call.tokens - len(pieces)
            produced += name_tokens
            if not (i == 0 and head_in_first):
                yield Frame(chunk({"tool_calls": [self._call_head(i, obj)]}), tokens=name_tokens)
            for start in range(0, len(pieces), ARG_PIECE_TOKENS):
                group = pieces[start : start + ARG_PIECE_TOKENS]
                produced += len(group)
                part = {"index": i, "function": {"arguments": "".join(group)}}
                yield Frame(chunk({"tool_calls": [part]}), tokens=len(group))
        last: dict[str, Any] = {}
        if d.name == "deepseek":
            last = {"content": "", "reasoning_content": None} if shown else {"content": ""}
        on_finish = d.usage_on_finish_chunk and turn.include_usage and not cumulative
        yield Frame(
            chunk(
                last,
                reply.native_finish(FINISH),
                usage=self.usage(turn, reply, n=turn.n) if on_finish else None,
            )
        )
        if turn.include_usage and not on_finish:
            payload = {**base, "choices": [], "usage": self.usage(turn, reply, n=turn.n)}
            if obfuscate:
                payload["obfuscation"] = "Mv9"
            yield Frame(data_event(payload))
        yield Frame(DONE)

    def models_body(self, ex: ProviderRequest, route: Route) -> bytes:
        """Aliases and dated snapshots side by side, as the real `/v1/models` lists them."""

        def card(name: str) -> dict[str, Any]:
            spec = self.models[name]
            obj: dict[str, Any] = {
                "id": name,
                "object": "model",
                "created": _epoch(spec.released),
                "owned_by": self.dialect.owned_by,
            }
            if self.dialect.name == "vllm":
                obj |= {"root": name, "parent": None, "max_model_len": spec.context_window}
            return obj

        if route.kind == "model":
            if route.model not in self.models:
                raise self.model_not_found(route.model or "")
            return orjson.dumps(card(route.model))
        return orjson.dumps({"object": "list", "data": [card(m) for m in self.models]})


def _epoch(day: str) -> int:
    """Unix time of an ISO date at midnight UTC (a model card's `created`)."""
    return int(datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC).timestamp())


class OpenAIFlavour(OpenAICompatFlavour):
    dialect = OPENAI


class DeepSeekFlavour(OpenAICompatFlavour):
    dialect = DEEPSEEK


class VLLMFlavour(OpenAICompatFlavour):
    dialect = VLLM
