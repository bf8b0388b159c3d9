"""Request validation: the body against openapi.yaml, then the rules a schema cannot say.

The contract is the only source of shapes and ranges. A compiled validator (jsonschema_rs, ~1 us per
body) answers "is it valid?" on every request; an invalid body is narrowed to the few nodes that show
its first error, which the same validator then explains (path -> the error's `param`). Nothing here
walks a body in Python or lists every error, so no body up to the size limit costs much CPU (D-060).
Every failure carries its contract code: `missing_required_parameter`, `invalid_parameter_value`,
`unknown_field` (inside `gateway`, D-001), `invalid_request` (not JSON, too deep, too many containers).

The result is a `ChatRequest`: the OpenAI-shaped body with deprecated fields converted (`functions` ->
`tools`, `function_call` -> `tool_choice`), unknown top-level fields dropped with `unsupported_field`
warnings, and the routing inputs (models, strategy, options) pulled out of `gateway`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import orjson
from auriko_conformance.reference_impl.errors import GatewayError, clip

from auriko_conformance import contract

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

# Strict objects under `gateway` and the schema that names their keys (unknown key -> unknown_field).
_STRICT_SCHEMAS = {
    "gateway": "Gateway",
    "gateway.routing": "RoutingOptions",
    "gateway.routing.weights": "RoutingWeights",
    "gateway.metadata": "RequestMetadata",
}


def _compiled(schema_name: str) -> Any:
    """A jsonschema_rs validator for one named schema of the contract (references resolved in place)."""
    return jsonschema_rs.validator_for(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": contract.load_spec()["components"],
            "$ref": f"#/components/schemas/{schema_name}",
        }
    )


_REQUEST = _compiled("ChatCompletionRequest")
_IS_VALID = _REQUEST.is_valid
_ROLE_VALIDATORS = {role: _compiled(name) for role, name in _ROLE_SCHEMAS.items()}
_MESSAGE = _compiled("Message")
_MAX_MESSAGES = contract.load_spec()["components"]["schemas"]["ChatCompletionRequest"]["properties"][
    "messages"
]["maxItems"]
_KNOWN_FIELDS = contract.request_fields()
MAX_FIELD_WARNINGS = 16  # unknown fields named one by one; the rest are counted in one warning (D-060)


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
    blocked_providers: frozenset[str] = frozenset()  # the key's workspace blocked them (D-143)


def warning(kind: str, message: str, code: str | None = None) -> dict[str, str]:
    """A StructuredWarning (D-005): `{type, code, message}` (the message clipped like error texts)."""
    return {"type": kind, "code": code or kind, "message": clip(message)}


@functools.cache
def _depth_validator(limit: int) -> Any:
    """A compiled schema that holds when JSON nesting is at most `limit` levels (the root is level 1).

    `level<k>` admits a value under which containers nest at most k levels: a scalar, or an object or
    array whose every member is `level<k-1>`. Walking a body in Rust costs ~7 ms for 4 MiB where the
    Python walk took ~0.5 s (issue 19).
    """
    levels: dict[str, Any] = {"level0": {"not": {"type": ["object", "array"]}}}
    for k in range(1, limit + 1):
        inner = {"$ref": f"#/$defs/level{k - 1}"}
        levels[f"level{k}"] = {"items": inner, "additionalProperties": inner}
    return jsonschema_rs.validator_for({"$defs": levels, "$ref": f"#/$defs/level{limit}"})


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when JSON nesting is deeper than `limit`."""
    return not _depth_validator(limit).is_valid(value)


def _param(path: Sequence[str | int]) -> str | None:
    """`["messages", 0, "content"]` -> `messages[0].content`; the root -> None."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.removeprefix(".") or None


def _leaf(error: jsonschema_rs.ValidationError) -> jsonschema_rs.ValidationError:
    """The most specific error: a `oneOf`/`anyOf` failure alone says little, the branch that got
    furthest (deepest path, first such branch) says why -- the reading `contract.violations` gives."""
    while True:
        branches = [branch for branch in getattr(error.kind, "context", None) or () if branch]
        if not branches:
            return error
        best = max(branches, key=lambda errors: max(len(e.instance_path) for e in errors))
        if max(len(e.instance_path) for e in best) <= len(error.instance_path):
            return error
        error = best[0]


def _first_error(validator: Any, instance: Any) -> jsonschema_rs.ValidationError | None:
    return next(iter(validator.iter_errors(instance)), None)


def _required_names() -> frozenset[str]:
    """Every property name some schema of the contract requires: a narrowed object always keeps these,
    so that leaving keys out never creates a `required` error of its own."""
    names: set[str] = set()
    stack: list[Any] = [contract.load_spec()["components"]["schemas"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                names.update(node["required"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


# Kept in every narrowed object: required names, and the request's own fields (its `if`/`then` rules
# tie some of them together); other keys can only add errors, never remove one by leaving.
_KEEP_KEYS = _required_names() | _KNOWN_FIELDS
_MAX_CHECKS = 400  # is_valid calls one explanation may make (~2 log2 n per narrowed container)

Path = tuple[str | int, ...]


def _at(root: Any, path: Path) -> Any:
    for step in path:
        root = root[step]
    return root


def _replaced(root: Any, path: Path, value: Any) -> Any:
    """`root` with the node at `path` replaced: shallow copies along the path, the rest shared."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    copy = list(root) if isinstance(root, list) else dict(root)
    copy[step] = _replaced(root[step], rest, value)
    return copy


class _Narrowing:
    """Shrinks an invalid instance to a small one that is still invalid, with `is_valid` calls only.

    Why: a jsonschema_rs error object carries its instance converted back to Python, a failed `oneOf`
    carries the errors of all its branches, and `iter_errors` builds every error before yielding the
    first: explaining 100,000 invalid tools took 3.7 s, 1,000,000 wrong `gateway.models` entries 28 s
    and a gigabyte, 300,000 bad `logit_bias` keys more than a minute (issue 19). Narrowing first keeps
    the explained instance to a handful of nodes along the error's path.

    Each container is cut to the half that is still invalid, down to one item (an array) or one
    optional key (an object), then only what is left is entered. Item-local schema keywords make this
    sound: a smaller window cannot break `maxItems`, `uniqueItems` or `additionalProperties`, windows
    keep at least one item (`minItems: 1`, `minProperties: 1`), and objects keep `_KEEP_KEYS`. When
    both halves are valid the error belongs to the array itself (`maxItems`): it is kept whole and not
    entered. `offsets` maps a narrowed array's path (in the small instance) to its first index.
    """

    def __init__(self, validator: Any, root: Any) -> None:
        self.validator = validator
        self.root = root
        self.offsets: dict[Path, int] = {}
        self.checks = 0

    def _invalid(self, path: Path, value: Any) -> bool:
        self.checks += 1
        return not self.validator.is_valid(_replaced(self.root, path, value))

    def run(self) -> bool:
        """Narrow; False when the check budget ran out (the instance is still large)."""
        stack: list[Path] = [()]
        while stack:
            if self.checks > _MAX_CHECKS:
                return False
            path = stack.pop()
            node = _at(self.root, path)
            if isinstance(node, list):
                if len(node) > 1 and not self._narrow_list(path, node):
                    continue  # an error of the array itself: nothing inside needs explaining
                children = enumerate(_at(self.root, path))
            elif isinstance(node, dict):
                self._narrow_dict(path, node)
                children = iter(_at(self.root, path).items())
            else:
                continue
            stack.extend((*path, key) for key, child in children if isinstance(child, dict | list))
        return True

    def _window(self, path: Path, window: Callable[[int, int], Any], size: int) -> tuple[int, int]:
        """The smallest `window(low, high)` found that is still invalid, by halving. The first item is
        tried alone first: with many bad items (the costly case for `iter_errors`) it usually is one."""
        if size > 1 and self._invalid(path, window(0, 1)):
            return 0, 1
        low, high = 0, size
        while high - low > 1:
            middle = (low + high) // 2
            if self._invalid(path, window(low, middle)):
                high = middle
            elif self._invalid(path, window(middle, high)):
                low = middle
            else:
                break
        return low, high

    def _narrow_list(self, path: Path, items: list[Any]) -> bool:
        low, high = self._window(path, lambda low, high: items[low:high], len(items))
        if high - low < len(items):
            self.root = _replaced(self.root, path, items[low:high])
            self.offsets[path] = low
        return high - low == 1

    def _narrow_dict(self, path: Path, node: dict[str, Any]) -> None:
        if _KEEP_KEYS.isdisjoint(node):  # the usual large object (logit_bias, extensions): no copying
            kept: dict[str, Any] = {}
            others = list(node.items())
        else:
            kept = {key: value for key, value in node.items() if key in _KEEP_KEYS}
            others = [item for item in node.items() if item[0] not in _KEEP_KEYS]

        def window(low: int, high: int) -> dict[str, Any]:
            found = dict(kept)
            found.update(others[low:high])
            return found

        if not others:
            return
        if self._invalid(path, kept):  # the error is among the kept keys: the others can all go
            low, high = 0, 0
        else:
            low, high = self._window(path, window, len(others))
        if high - low < len(others):
            self.root = _replaced(self.root, path, window(low, high))

    def original(self, path: Sequence[str | int]) -> list[str | int]:
        """A path in the narrowed instance -> the same path in the original one."""
        result: list[str | int] = []
        for i, step in enumerate(path):
            offset = self.offsets.get(tuple(path[:i]))
            result.append(step + offset if offset is not None and isinstance(step, int) else step)
        return result


def _explain(validator: Any, instance: Any) -> tuple[Any, list[str | int]] | None:
    """The first error of `instance` (most specific branch) and its path, explained on a narrowed copy.

    None when the instance is valid, or when it could not be narrowed within the check budget (the
    caller then answers without the validator's wording rather than build every error).
    """
    narrowing = _Narrowing(validator, instance)
    if not narrowing.run():
        return None
    found = _first_error(validator, narrowing.root)
    if found is None:
        return None
    error = _leaf(found)
    return error, narrowing.original(error.instance_path)


def _message_violation(index: int, message: Any) -> GatewayError | tuple[Any, list[str | int]] | None:
    """Message `index` against its role's schema: a precise path even where `oneOf` over roles says
    only "no role matched"."""
    role = message.get("role") if isinstance(message, dict) else None
    if not isinstance(role, str) or role not in _ROLE_SCHEMAS:
        return GatewayError(
            "invalid_parameter_value",
            f"messages[{index}].role must be one of {', '.join(_ROLE_SCHEMAS)}",
            f"messages[{index}].role",
        )
    explained = _explain(_ROLE_VALIDATORS[role], message)
    if explained is None:
        return None
    error, inner = explained
    return error, ["messages", index, *inner]


def _first_violation(body: dict[str, Any]) -> GatewayError:
    """The first contract violation as an error with its `param`, found and explained in Rust.

    Only one error is explained, on a narrowed copy of the body (`_Narrowing`), so the cost stays
    bounded whatever the body holds: listing every error with the pure-Python validator took 7-56 s of
    CPU for 0.6-3 MB bodies while the event loop waited (issue 19, D-060).
    """
    explained = _explain(_REQUEST, body)
    if explained is None:
        if _IS_VALID(body):
            # The validators disagree only on numbers JSON parsing could not keep exact (an integer
            # beyond 64 bits arrives as a float): out of range either way, never a 500.
            return GatewayError("invalid_parameter_value", "A number in the body is out of range.")
        return GatewayError("invalid_parameter_value", "The request body does not match the contract.")
    error, path = explained
    if len(path) >= 2 and path[0] == "messages" and isinstance(path[1], int):
        precise = _message_violation(path[1], body["messages"][path[1]])
        if isinstance(precise, GatewayError):
            return precise
        if precise is not None:
            error, path = precise
    param = _param(path)
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
        missing = error.kind.property
        full = f"{param}.{missing}" if param else missing
        return GatewayError("missing_required_parameter", f"Missing required parameter '{full}'.", full)
    where = param or "body"
    return GatewayError(
        "invalid_parameter_value", f"Invalid value for '{where}': {clip(error.message)}", param
    )


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


# Every byte but quotes, brackets, colons and commas, deleted before counting the tokens outside strings.
_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}:,')


def _tokens(structure: bytes) -> tuple[int, int]:
    """(containers, values) in a structure string: `[`/`{` count containers; every key and every value
    inside a container follows exactly one `[`, `{`, `:` or `,`, so those four bytes count keys + values
    (an empty container counts one too many: the bound errs towards admitting work, never hiding it)."""
    containers = structure.count(b"[") + structure.count(b"{")
    return containers, containers + structure.count(b":") + structure.count(b",")


def check_structure(
    raw: bytes, max_containers: int = 100_000, max_values: int = 100_000, where: str | None = None
) -> None:
    """400 `invalid_request` when the JSON `raw` holds more than `max_containers` objects and arrays or
    more than `max_values` keys and values inside them (D-060, D-141); `where` names the field `raw` is
    (its `param`), None for the whole body.

    Parsing costs CPU by the objects it builds: a 300,000-key object took 70 ms in orjson alone, 800,000
    short strings about as much, while the event loop waited (issue 19). The counts use bytes operations
    only (a few milliseconds for 4 MiB): the structure bytes of the whole body give an upper bound, and only
    when that is over a limit are the bytes inside strings left out (escaped backslashes and quotes
    removed first, and what lies between every other quote is string text). Every string is a key or a
    value, so a body with more strings than the limit is refused before its strings are split apart. A
    body that is not JSON may be miscounted, and is refused either way.
    """
    structure = raw.translate(None, _NOT_STRUCTURE)
    containers, values = _tokens(structure)
    if containers <= max_containers and values <= max_values:
        return
    subject = "The request body" if where is None else where
    too_many_values = GatewayError(
        "invalid_request", f"{subject} holds more than {max_values} keys and values.", where
    )
    if b"\\" in raw:
        structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    if structure.count(b'"') // 2 > max_values + 1:  # the root alone may be a string
        raise too_many_values
    containers, values = _tokens(b"".join(structure.split(b'"')[::2]))
    if containers > max_containers:
        raise GatewayError(
            "invalid_request", f"{subject} holds more than {max_containers} objects and arrays.", where
        )
    if values > max_values:
        raise too_many_values


def parse_body(raw: bytes, max_depth: int = 64) -> dict[str, Any]:
    """Bytes -> JSON object, or 400 `invalid_request` (not JSON, too deep, not an object). Run
    `check_structure` first: this step's CPU is bounded by what that admits."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GatewayError("invalid_request", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GatewayError("invalid_request", "The request body must be a JSON object.")
    if _depth_exceeds(body, max_depth):
        raise GatewayError("invalid_request", f"The request body nests deeper than {max_depth} levels.")
    return body


def _drop_unknown_fields(body: dict[str, Any]) -> list[dict[str, str]]:
    """Unknown top-level fields are removed, each with an `unsupported_field` warning (D-001), up to
    `MAX_FIELD_WARNINGS`; the rest share one warning that counts them (D-060: 300,000 unknown fields
    made 300,000 warnings, a 20 MB `routing_metadata`)."""
    unknown = [key for key in body if key not in _KNOWN_FIELDS]
    for key in unknown:
        del body[key]
    return named_warnings(
        "unsupported_field",
        [f"Unknown field '{key}' was ignored." for key in unknown[:MAX_FIELD_WARNINGS]],
        len(unknown),
        "unknown fields were ignored",
    )


def named_warnings(kind: str, messages: list[str], count: int, rest: str) -> list[dict[str, str]]:
    """One warning per name up to `MAX_FIELD_WARNINGS` (`messages`, of `count` in all), then one that
    counts the rest ("N more <rest>."): a client choosing thousands of names must not choose the size of
    the answer (D-060)."""
    warnings = [warning(kind, message) for message in messages[:MAX_FIELD_WARNINGS]]
    if count > MAX_FIELD_WARNINGS:
        warnings.append(warning(kind, f"{count - MAX_FIELD_WARNINGS} more {rest}."))
    return warnings


def validate_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a parsed body and normalise it into a `ChatRequest` (raises GatewayError)."""
    _check_model_choice(body)
    _check_strict_keys(body)
    _check_dependent_fields(body)
    if not _IS_VALID(body):
        raise _first_violation(body)
    _integral_floats_to_int(body)

    warnings = _drop_unknown_fields(body)

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
