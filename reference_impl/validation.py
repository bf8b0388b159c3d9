"""Request validation: the body against openapi.yaml, then the rules a schema cannot say.

The contract is the only source of shapes and ranges. A compiled validator (jsonschema_rs, ~1 us per
body) answers "is it valid?" on every request; only an invalid body pays for the pure-Python
`auriko_conformance.contract` validator, whose precise paths become the error's `param`. Every failure
carries its contract code: `missing_required_parameter`, `invalid_parameter_value`, `unknown_field`
(inside `gateway`, D-001), `invalid_request` (not JSON, too deep).

The result is a `ChatRequest`: the OpenAI-shaped body with deprecated fields converted (`functions` ->
`tools`, `function_call` -> `tool_choice`), unknown top-level fields dropped with `unsupported_field`
warnings, and the routing inputs (models, strategy, options) pulled out of `gateway`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from auriko_conformance import contract
from reference_impl.errors import GatewayError, clip

try:  # jsonschema_rs ships with schemathesis (a dependency); fall back to the Python validator
    import jsonschema_rs
except ImportError:  # pragma: no cover - exercised only without schemathesis
    jsonschema_rs = None

STRATEGIES = ("cost", "cost-focus", "ttft", "ttft-focus", "tps", "tps-focus", "balanced")
_STRATEGY_SET = frozenset(STRATEGIES)
DEFAULT_STRATEGY = "cost-focus"

# Message role -> its schema, to explain an invalid message precisely (the `oneOf` error alone does not).
_ROLE_SCHEMAS = {
    "system": "SystemMessage",
    "developer": "DeveloperMessage",
    "user": "UserMessage",
    "assistant": "AssistantMessage",
    "tool": "ToolMessage",
    "function": "FunctionMessage",
}
_PATH_INDEX = re.compile(r"^messages\[(\d+)\]")

# Strict objects under `gateway` and the schema that names their keys (unknown key -> unknown_field).
_STRICT_SCHEMAS = {
    "gateway": "Gateway",
    "gateway.routing": "RoutingOptions",
    "gateway.routing.weights": "RoutingWeights",
    "gateway.metadata": "RequestMetadata",
}


def _fast_validator() -> Any:
    spec = contract.load_spec()
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec["components"],
        "$ref": "#/components/schemas/ChatCompletionRequest",
    }
    if jsonschema_rs is not None:
        return jsonschema_rs.validator_for(root)
    return contract.validator("ChatCompletionRequest")


_IS_VALID = _fast_validator().is_valid
_KNOWN_FIELDS = contract.request_fields()


def _integer_fields(schema_name: str) -> frozenset[str]:
    properties = contract.load_spec()["components"]["schemas"][schema_name]["properties"]
    return frozenset(name for name, prop in properties.items() if prop.get("type") == "integer")


_INTEGER_FIELDS = _integer_fields("ChatCompletionRequest")
_ROUTING_INTEGER_FIELDS = _integer_fields("RoutingOptions")


_INT64_MAX = 2**63 - 1


def _integral_floats_to_int(body: dict[str, Any]) -> None:
    """JSON Schema counts `4.0` as an integer, provider APIs do not: integer fields become ints (D-052).

    Only after validation, so every such value is integral. Values beyond 64 bits (JSON parsing hands
    them over as floats) become the 64-bit maximum: no upstream takes more, and for the unbounded
    limits (`max_tokens`, `timeout_ms`, ...) that is the same as "no limit".
    """
    gateway = body.get("gateway")
    routing = gateway.get("routing") if isinstance(gateway, dict) else None
    for node, names in ((body, _INTEGER_FIELDS), (routing, _ROUTING_INTEGER_FIELDS)):
        if isinstance(node, dict):
            for name in names & node.keys():
                value = node[name]
                if isinstance(value, float) or (isinstance(value, int) and value > _INT64_MAX):
                    node[name] = min(int(value), _INT64_MAX)


_STRICT_KEYS = {
    path: frozenset(contract.load_spec()["components"]["schemas"][name]["properties"])
    for path, name in _STRICT_SCHEMAS.items()
}


@dataclass(slots=True)
class ChatRequest:
    """A validated request: the body to translate plus everything routing needs."""

    body: dict[str, Any]
    models: list[str]  # requested names, suffix removed (aliases resolved later)
    routing: dict[str, Any]
    strategy: str  # cost | cost-focus | ... | custom
    weights: dict[str, float] | None
    extensions: dict[str, Any]
    stream: bool
    warnings: list[dict[str, str]] = field(default_factory=list)
    has_images: bool = False
    multi: bool = False  # the models came from `gateway.models`
    exclude_reasoning: bool = False  # `reasoning.exclude` (D-014): reasoning left out of the answer


def warning(kind: str, message: str, code: str | None = None) -> dict[str, str]:
    """A StructuredWarning (D-005): `{type, code, message}` (the message clipped like error texts)."""
    return {"type": kind, "code": code or kind, "message": clip(message)}


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when JSON nesting is deeper than `limit` (iterative, stops early)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return False


def _param(path: str) -> str | None:
    """`$.gateway.routing.max_ttft_ms` -> `gateway.routing.max_ttft_ms`; `$` -> None."""
    return path[2:] if path.startswith("$.") else None


def _first_violation(body: dict[str, Any]) -> GatewayError:
    found = contract.validate_request_body(body)
    if not found:
        # The validators disagree only on numbers JSON parsing could not keep exact (an integer beyond
        # 64 bits arrives as a float): the value is out of range either way, never a 500.
        return GatewayError("invalid_parameter_value", "A number in the body is out of range.")
    violation = found[0]
    param = _param(violation.path)
    match = _PATH_INDEX.match(param or "")
    if match is not None:
        # re-validate the one message against its role's schema for a precise path and message
        index = int(match.group(1))
        message = body["messages"][index]
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in _ROLE_SCHEMAS:
            return GatewayError(
                "invalid_parameter_value",
                f"messages[{index}].role must be one of {', '.join(_ROLE_SCHEMAS)}",
                f"messages[{index}].role",
            )
        precise = contract.violations(_ROLE_SCHEMAS[role], message)
        if precise:
            violation = precise[0]
            inner = violation.path[1:]  # strip "$"
            param = f"messages[{index}]{inner}"
    if violation.keyword == "required":
        missing = violation.message.split("'")[1] if "'" in violation.message else ""
        full = f"{param}.{missing}" if param else missing
        return GatewayError(
            "missing_required_parameter", f"Missing required parameter '{full}'.", full or None
        )
    where = param or "body"
    return GatewayError("invalid_parameter_value", f"Invalid value for '{where}': {violation.message}", param)


def _check_model_choice(body: dict[str, Any]) -> None:
    gateway = body.get("gateway")
    has_models = isinstance(gateway, dict) and "models" in gateway
    if "model" in body and has_models:
        raise GatewayError(
            "invalid_parameter_value",
            "Give either 'model' or 'gateway.models', not both.",
            "gateway.models",
        )
    if "model" not in body and not has_models:
        raise GatewayError(
            "missing_required_parameter", "Missing required parameter 'model' (or 'gateway.models').", "model"
        )


def _check_strict_keys(body: dict[str, Any]) -> None:
    gateway = body.get("gateway")
    if not isinstance(gateway, dict):
        return
    nodes = {"gateway": gateway}
    routing = gateway.get("routing")
    if isinstance(routing, dict):
        nodes["gateway.routing"] = routing
        if isinstance(routing.get("weights"), dict):
            nodes["gateway.routing.weights"] = routing["weights"]
    if isinstance(gateway.get("metadata"), dict):
        nodes["gateway.metadata"] = gateway["metadata"]
    for path, node in nodes.items():
        for key in node:
            if key not in _STRICT_KEYS[path]:
                raise GatewayError("unknown_field", f"Unknown field '{path}.{key}'.", f"{path}.{key}")


def split_suffix(name: str) -> tuple[str, str | None]:
    """`gpt-4o:ttft` -> (`gpt-4o`, `ttft`); parsed only with exactly one colon and a known suffix."""
    if name.count(":") != 1:
        return name, None
    base, suffix = name.split(":")
    if suffix in _STRATEGY_SET and base:
        return base, suffix
    return name, None


def _convert_functions(body: dict[str, Any], warnings: list[dict[str, str]]) -> None:
    """Deprecated `functions` / `function_call` become `tools` / `tool_choice`."""
    functions = body.pop("functions", None)
    function_call = body.pop("function_call", None)
    if functions is not None:
        if "tools" in body:
            warnings.append(warning("unsupported_field", "'functions' was ignored because 'tools' is given."))
        else:
            body["tools"] = [{"type": "function", "function": f} for f in functions]
    if function_call is not None:
        if "tool_choice" in body:
            warnings.append(
                warning("unsupported_field", "'function_call' was ignored because 'tool_choice' is given.")
            )
        elif isinstance(function_call, str):
            body["tool_choice"] = function_call
        else:
            body["tool_choice"] = {"type": "function", "function": {"name": function_call["name"]}}


def _declares_tools(body: dict[str, Any]) -> bool:
    """A non-empty `tools`, or the deprecated `functions` when `tools` is absent."""
    if "tools" in body:
        return isinstance(body["tools"], list) and bool(body["tools"])
    return "functions" in body


def _check_dependent_fields(body: dict[str, Any]) -> None:
    """The contract's cross-field rules (`ChatCompletionRequest.allOf`), reported on the dependent field.

    Checked before the schema so that the error keeps its own message; tolerant of wrong types (the
    schema reports those).
    """
    if "stream_options" in body and body.get("stream") is not True:  # D-035
        raise GatewayError(
            "invalid_parameter_value", "stream_options is only allowed with stream: true.", "stream_options"
        )
    if "top_logprobs" in body and body.get("logprobs") is not True:
        raise GatewayError("invalid_parameter_value", "top_logprobs requires logprobs: true.", "top_logprobs")
    if "tool_choice" in body and body["tool_choice"] != "none" and not _declares_tools(body):
        raise GatewayError("invalid_parameter_value", "tool_choice requires tools.", "tool_choice")
    if (
        "function_call" in body
        and body["function_call"] != "none"
        and "tool_choice" not in body
        and not _declares_tools(body)
    ):
        raise GatewayError("invalid_parameter_value", "function_call requires functions.", "function_call")
    response_format = body.get("response_format")
    if (
        isinstance(response_format, dict)
        and response_format.get("type") == "json_object"
        and not _mentions_json(body.get("messages"))
    ):  # D-054
        raise GatewayError(
            "invalid_parameter_value",
            "response_format json_object needs the word 'JSON' in a message (ask for JSON in the prompt).",
            "messages",
        )


def _mentions_json(messages: Any) -> bool:
    """Some message's text (a string content or a text part) contains `json`, in any case (D-054)."""
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            text = part.get("text") if isinstance(part, dict) else part
            if isinstance(text, str) and "json" in text.lower():
                return True
    return False


def _check_tool_turns(messages: list[dict[str, Any]]) -> None:
    """Tool messages answer the calls of the assistant message right before them, all of them (D-055)."""
    open_calls: list[str] = []
    for i, message in enumerate(messages):
        if message["role"] == "tool":
            call_id = message["tool_call_id"]
            if call_id not in open_calls:
                raise GatewayError(
                    "invalid_parameter_value",
                    f"messages[{i}] answers tool call '{call_id}', which is not an open call of the "
                    "assistant message before it.",
                    f"messages[{i}].tool_call_id",
                )
            open_calls.remove(call_id)
            continue
        if open_calls:
            raise GatewayError(
                "invalid_parameter_value",
                f"Tool calls {', '.join(open_calls)} have no tool message before messages[{i}].",
                f"messages[{i}]",
            )
        if message["role"] == "assistant":
            open_calls = [call["id"] for call in message.get("tool_calls") or ()]
    if open_calls:
        last = len(messages) - 1
        raise GatewayError(
            "invalid_parameter_value",
            f"Tool calls {', '.join(open_calls)} of messages[{last}] have no tool message.",
            f"messages[{last}]",
        )


def _semantic_checks(body: dict[str, Any], routing: dict[str, Any]) -> None:
    """What no schema can say: comparisons between values, references between fields."""
    timeout, deadline = routing.get("timeout_ms"), routing.get("deadline_ms")
    if timeout is not None and deadline is not None and deadline < timeout:
        raise GatewayError(
            "invalid_parameter_value",
            "deadline_ms must be greater than or equal to timeout_ms.",
            "gateway.routing.deadline_ms",
        )
    _check_tool_turns(body["messages"])
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        if not any(t["function"]["name"] == name for t in tools or ()):
            raise GatewayError(
                "invalid_parameter_value",
                f"tool_choice names '{name}', which is not in tools.",
                "tool_choice",
            )
    if tools:
        names = [t["function"]["name"] for t in tools]
        if len(set(names)) != len(names):
            raise GatewayError("invalid_parameter_value", "Tool names must be unique.", "tools")


def _has_images(messages: list[dict[str, Any]]) -> bool:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(part.get("type") == "image_url" for part in content):
            return True
    return False


def parse_body(raw: bytes, max_depth: int = 64) -> dict[str, Any]:
    """Bytes -> JSON object, or 400 `invalid_request`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GatewayError("invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GatewayError("invalid_request", "The request body must be a JSON object.")
    if _depth_exceeds(body, max_depth):
        raise GatewayError("invalid_request", f"The request body nests deeper than {max_depth} levels.")
    return body


def validate_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a parsed body and normalise it into a `ChatRequest` (raises GatewayError)."""
    _check_model_choice(body)
    _check_strict_keys(body)
    _check_dependent_fields(body)
    if not _IS_VALID(body):
        raise _first_violation(body)
    _integral_floats_to_int(body)

    warnings: list[dict[str, str]] = []
    for key in [k for k in body if k not in _KNOWN_FIELDS]:
        del body[key]
        warnings.append(warning("unsupported_field", f"Unknown field '{key}' was ignored."))

    gateway = body.pop("gateway", None) or {}
    extensions = body.pop("extensions", None) or {}
    routing = gateway.get("routing") or {}
    _convert_functions(body, warnings)
    _semantic_checks(body, routing)

    suffix: str | None = None
    multi = "model" not in body
    if not multi:
        name, suffix = split_suffix(body.pop("model"))
        models = [name]
    else:
        models = []
        for entry in gateway["models"]:
            name, entry_suffix = split_suffix(entry)
            if name not in models:  # D-033: duplicates count once
                models.append(name)
            suffix = suffix or entry_suffix

    weights = routing.get("weights")
    # D-009: explicit `optimize` beats a model suffix; explicit weights make the strategy `custom`
    strategy = "custom" if weights is not None else (routing.get("optimize") or suffix or DEFAULT_STRATEGY)
    reasoning = body.pop("reasoning", None) or {}
    return ChatRequest(
        body=body,
        models=models,
        routing=routing,
        strategy=strategy,
        weights=weights,
        extensions=extensions,
        stream=bool(body.get("stream")),
        warnings=warnings,
        has_images=_has_images(body["messages"]),
        multi=multi,
        exclude_reasoning=bool(reasoning.get("exclude")),
    )
