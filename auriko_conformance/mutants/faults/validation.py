"""Request faults on the client side: the gateway lets invalid requests through, repairs them, or
ignores part of them (the proxy rewrites the client's request before the gateway sees it, or retries a
refused request relaxed)."""

from __future__ import annotations

import copy
import uuid
from typing import Any, ClassVar

import orjson

from auriko_conformance import contract
from auriko_conformance.mutants.faults.base import Fault, is_chat, transform
from auriko_conformance.mutants.faults.paths import lookup, split_path, walk
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.validation import validate_chat_request

RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "min_p": (0, 1),
    "top_a": (0, 1),
    "presence_penalty": (-2, 2),
    "frequency_penalty": (-2, 2),
    "max_tokens": (1, float("inf")),
    "max_completion_tokens": (1, float("inf")),
    "top_k": (1, float("inf")),
    "n": (1, 10),
    "top_logprobs": (0, 20),
}


class ClientBodyEdit(Fault):
    """Rewrites the client's chat request before the gateway sees it (the gateway 'ignores' something)."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        if is_chat(request) and isinstance(body, dict):
            edited = self.edit(copy.deepcopy(body))
            if edited is not None:
                request.set_json(edited)
        return request

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None


@transform("out_of_range_clamped")
class OutOfRangeClamped(ClientBodyEdit):
    """Out-of-range values are clamped into range: of the `fields` given, or of every field in RANGES."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        fields = self.args.get("fields") or list(RANGES)
        for name in fields:
            low, high = RANGES[name]
            value = body.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and not low <= value <= high:
                clamped = min(max(value, low), high)
                body[name] = int(clamped) if isinstance(value, int) else clamped
                changed = True
        return body if changed else None


@transform("header_required")
class HeaderRequired(Fault):
    """Chat requests without the `header` are refused with 400: the gateway picks the provider (or the
    config, the tenant) from a request header instead of from the model."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        name = str(self.args.get("header", "x-provider"))
        if not is_chat(request) or name in request.headers:
            return request
        return refusal(
            400, "invalid_parameter_value", f"The {name} header is required to choose a provider.", name
        )


def refusal(status: int, code: str, message: str, param: str | None) -> ProxyResponse:
    """The gateway's own client error, enveloped, with the type the contract gives `code` and the
    X-Error-* headers ERR-012 wants: the fault's one defect is that it refuses."""
    error_type = contract.error_codes()[code].type
    error = {
        "message": message,
        "type": error_type,
        "code": code,
        "param": param,
        "doc_url": f"https://docs.auriko.ai/errors/{code}",
    }
    headers = {
        "x-error-type": error_type,
        "x-error-retryable": "false",
        "x-request-id": f"req_{uuid.uuid4().hex}",
    }
    return ProxyResponse.of_json(status, {"error": error}, headers)


@transform("value_refused")
class ValueRefused(Fault):
    """Chat requests whose `field` holds one of `values` are refused (`status`, `code`, default a 400
    invalid_parameter_value naming the field): a range check off by one, a catalog that lacks a model."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = request.json
        field_name = str(self.args["field"])
        if not is_chat(request) or not isinstance(body, dict) or field_name not in body:
            return request
        value = body[field_name]
        if not any(value == v and type(value) is type(v) for v in self.args["values"]):
            return request
        code = str(self.args.get("code", "invalid_parameter_value"))
        message = f"{field_name}={value!r} is not allowed."
        return refusal(int(self.args.get("status", 400)), code, message, field_name)


@transform("invalid_enums_defaulted")
class InvalidEnumsDefaulted(ClientBodyEdit):
    ENUMS: ClassVar[dict[str, tuple[set[str], str]]] = {
        "reasoning_effort": ({"low", "medium", "high", "xhigh", "max", "off"}, "medium"),
        "verbosity": ({"low", "medium", "high"}, "medium"),
    }

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        for name, (allowed, default) in self.ENUMS.items():
            if name in body and body[name] not in allowed:
                body[name] = default
                changed = True
        return body if changed else None


@transform("wrong_types_coerced")
class WrongTypesCoerced(ClientBodyEdit):
    """Values of the wrong JSON type are coerced or dropped instead of rejected."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        changed = False
        for name in ("temperature", "top_p", "seed", "max_tokens", "n"):
            value = body.get(name)
            if isinstance(value, str) or (name in ("seed", "max_tokens", "n") and isinstance(value, float)):
                try:
                    number = float(value)
                    body[name] = int(number) if name in ("seed", "max_tokens", "n") else number
                except ValueError:
                    del body[name]
                changed = True
        for name in ("stream", "logprobs"):
            if isinstance(body.get(name), str):
                body[name] = body[name].lower() in ("true", "yes", "1")
                changed = True
        # `messages` as an object is left alone: wrapped in a list it is still refused (its role is
        # missing), with another param, so the coercion would show only as ERR-014's param, not as the
        # wrong type served (REQ-012)
        return body if changed else None


def valid_request(body: dict[str, Any]) -> bool:
    """Whether the reference gateway's validation accepts `body` (schema, cross-field and semantic rules)."""
    try:
        validate_chat_request(copy.deepcopy(body))
    except GatewayError:
        return False
    return True


@transform("ignore_routing_option")
class IgnoreRoutingOption(ClientBodyEdit):
    """The gateway ignores `gateway.routing.<option>`: it routes as if the option were absent. It still
    validates the request first, as a gateway that ignores an option it parses does: an invalid value is
    refused as before (one defect: the option has no effect)."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        routing = (body.get("gateway") or {}).get("routing")
        option = self.args["option"]
        if not isinstance(routing, dict) or option not in routing or not valid_request(body):
            return None
        del routing[option]
        if not routing:
            del body["gateway"]["routing"]
        if not body["gateway"]:
            del body["gateway"]
        return body


@transform("set_routing_option")
class SetRoutingOption(ClientBodyEdit):
    """The gateway acts as if `gateway.routing.<option>` were `value` (`only_multi`: with gateway.models)."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        gateway = body.get("gateway")
        if self.args.get("only_multi") and not (isinstance(gateway, dict) and gateway.get("models")):
            return None
        routing = body.setdefault("gateway", {}).setdefault("routing", {})
        if not isinstance(routing, dict) or routing.get(self.args["option"]) == self.args["value"]:
            return None
        routing[self.args["option"]] = self.args["value"]
        return body


@transform("client_drop")
class ClientDrop(ClientBodyEdit):
    """The gateway ignores the client's `path` (`*` wildcards): only when it `equals` a value, or when
    another path (`when`) is present; with `validated`, only in a request it validated first (an invalid
    value is still refused)."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        when = self.args.get("when")
        if when and not lookup(body, when):
            return None
        if self.args.get("validated") and not valid_request(body):
            return None
        changed = False
        for parent, key in list(walk(body, split_path(self.args["path"]))):
            if "equals" in self.args and parent[key] != self.args["equals"]:
                continue
            del parent[key]
            changed = True
        return body if changed else None


GATEWAY_KEYS = {
    "": {"models", "routing", "metadata"},
    "routing": {
        "optimize", "mode", "weights", "providers", "exclude_providers", "prefer", "allow_fallbacks",
        "max_fallback_attempts", "timeout_ms", "deadline_ms", "data_policy", "max_cost_per_1m",
        "max_ttft_ms", "ttft_percentile", "min_throughput_tps", "throughput_percentile",
        "require_parameters", "only_byok", "only_platform", "tier",
    },
    "metadata": {"tags", "user_id", "trace_id", "custom_fields"},
}  # fmt: skip
ROUTING_VALUES = {
    "optimize": {"cost", "cost-focus", "ttft", "ttft-focus", "tps", "tps-focus", "balanced"},
    "mode": {"pool", "fallback"},
    "data_policy": {"none", "no_training", "zdr"},
    "ttft_percentile": {"p50", "p95"},
    "throughput_percentile": {"p50", "p95"},
}
POSITIVE = ("max_cost_per_1m", "max_ttft_ms", "min_throughput_tps", "timeout_ms", "deadline_ms")


@transform("lenient_validation")
class LenientValidation(ClientBodyEdit):
    """The gateway repairs an invalid request instead of refusing it; `rule` says which part:
    tool_choice, response_format, roles, both_models, gateway_keys, routing_values, extensions."""

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        rule = self.args["rule"]
        # a valid request needs no repair: the defect is the leniency, nothing else (extension values are
        # checked after the request's own validation, so that rule repairs what it finds)
        if rule != "extensions" and valid_request(body):
            return None
        before = orjson.dumps(body)
        getattr(self, f"_{rule}")(body)
        return body if orjson.dumps(body) != before else None

    def _tool_choice(self, body: dict[str, Any]) -> None:
        if isinstance(body.get("tool_choice"), str) and body["tool_choice"] not in (
            "auto",
            "none",
            "required",
        ):
            body["tool_choice"] = "auto"
        tools = body.get("tools")
        if isinstance(tools, list):
            kept = [t for t in tools if isinstance(t, dict) and t.get("type") == "function"]
            kept = [t for t in kept if (t.get("function") or {}).get("name")]
            if kept:
                body["tools"] = kept
            else:
                del body["tools"]
                body.pop("tool_choice", None)

    def _response_format(self, body: dict[str, Any]) -> None:
        rf = body.get("response_format")
        if not isinstance(rf, dict):
            return
        schema = rf.get("json_schema") if isinstance(rf.get("json_schema"), dict) else {}
        if rf.get("type") not in ("text", "json_object", "json_schema") or (
            rf.get("type") == "json_schema" and not (schema.get("name") and "schema" in schema)
        ):
            del body["response_format"]

    def _roles(self, body: dict[str, Any]) -> None:
        for message in body.get("messages") or []:
            if not isinstance(message, dict):
                continue
            if message.get("role") not in ("system", "developer", "user", "assistant", "tool", "function"):
                message["role"] = "user"
            if message.get("role") == "tool" and "tool_call_id" not in message:
                message["role"] = "user"
            if isinstance(message.get("content"), list):
                message["content"] = [
                    p
                    for p in message["content"]
                    if isinstance(p, dict) and p.get("type") in ("text", "image_url")
                ]
                for part in message["content"]:
                    part.pop("cache_control", None)
                    if isinstance(part.get("image_url"), dict):
                        part["image_url"].pop("detail", None)

    def _both_models(self, body: dict[str, Any]) -> None:
        gateway = body.get("gateway")
        if "model" in body and isinstance(gateway, dict) and "models" in gateway:
            del gateway["models"]

    def _gateway_keys(self, body: dict[str, Any]) -> None:
        gateway = body.get("gateway")
        if not isinstance(gateway, dict):
            return
        for key in [k for k in gateway if k not in GATEWAY_KEYS[""]]:
            del gateway[key]
        for section in ("routing", "metadata"):
            part = gateway.get(section)
            if isinstance(part, dict):
                for key in [k for k in part if k not in GATEWAY_KEYS[section]]:
                    del part[key]

    def _routing_values(self, body: dict[str, Any]) -> None:
        routing = (body.get("gateway") or {}).get("routing")
        if not isinstance(routing, dict):
            return
        for key, allowed in ROUTING_VALUES.items():
            if key in routing and routing[key] not in allowed:
                del routing[key]
        for key in POSITIVE:
            value = routing.get(key)
            if isinstance(value, int | float) and value <= 0:
                del routing[key]
        if routing.get("only_byok") and routing.get("only_platform"):
            del routing["only_platform"]

    def _extensions(self, body: dict[str, Any]) -> None:
        extensions = body.get("extensions")
        if not isinstance(extensions, dict):
            return
        for name in [k for k, v in extensions.items() if not isinstance(v, dict)]:
            del extensions[name]
        for value in extensions.values():
            value.pop("service_tier", None)


@transform("ignore_model_suffix")
class IgnoreModelSuffix(ClientBodyEdit):
    SUFFIXES: ClassVar[frozenset[str]] = frozenset(
        {"cost-focus", "cost", "ttft-focus", "ttft", "tps-focus", "tps", "balanced"}
    )

    def edit(self, body: dict[str, Any]) -> dict[str, Any] | None:
        model = body.get("model")
        if isinstance(model, str) and model.count(":") == 1 and model.split(":")[1] in self.SUFFIXES:
            body["model"] = model.split(":")[0]
            return body
        return None


class ResendOnError(Fault):
    """When the gateway refuses with one of `codes`, send a relaxed request instead and return that."""

    codes: ClassVar[frozenset[str]] = frozenset()

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        body = request.json
        error = response.json.get("error") if isinstance(response.json, dict) else None
        if not is_chat(request) or not isinstance(body, dict) or not isinstance(error, dict):
            return response
        if error.get("code") not in self.codes:
            return response
        relaxed = self.relax(copy.deepcopy(body), error)
        retry = ProxyRequest("front", request.method, request.path, request.query, request.headers, b"")
        retry.set_json(relaxed)
        return await hop.forward(retry)

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        return body


@transform("constraints_not_enforced")
class ConstraintsNotEnforced(ResendOnError):
    """A request whose routing constraints cannot be met is served anyway (the constraint is dropped)."""

    codes = frozenset(
        {
            "provider_not_in_allowlist",
            "no_compatible_endpoint",
            "cost_constraint_exceeded",
            "latency_constraint_exceeded",
            "throughput_constraint_not_met",
            "byok_keys_required",
            "tier_opt_in_required",
            "required_params_not_supported",
            "tool_choice_required_not_supported",
            "structured_output_not_supported",
            "json_mode_not_supported",
        }
    )

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        code = error.get("code")
        gateway = body.setdefault("gateway", {})
        gateway.pop("routing", None)
        if code == "tier_opt_in_required":
            gateway["routing"] = {"tier": "priority"}
        if not gateway:
            body.pop("gateway")
        if code == "tool_choice_required_not_supported":
            body["tool_choice"] = "auto"
        if code in ("structured_output_not_supported", "json_mode_not_supported"):
            body.pop("response_format", None)
        if code == "no_compatible_endpoint" and error.get("param") == "n":
            body.pop("n", None)
        return body


@transform("capabilities_silently_dropped")
class CapabilitiesSilentlyDropped(ResendOnError):
    """Images, tools or reasoning a model cannot take are silently dropped instead of refused."""

    codes = frozenset({"vision_not_supported", "tools_not_supported", "reasoning_not_supported"})

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        body.pop("tools", None)
        body.pop("tool_choice", None)
        body.pop("reasoning_effort", None)
        for message in body.get("messages") or []:
            if isinstance(message, dict) and isinstance(message.get("content"), list):
                message["content"] = [p for p in message["content"] if p.get("type") != "image_url"]
        return body


@transform("upstream_rejection_retried")
class UpstreamRejectionRetried(ResendOnError):
    """A provider's context-length or content-filter 400 is treated as transient: the request is sent
    again (and reaches a provider again) instead of being mapped and returned."""

    codes = frozenset({"context_length_exceeded", "content_filtered"})


@transform("unknown_model_defaulted")
class UnknownModelDefaulted(ResendOnError):
    """An unknown model is served by a default model instead of a 404."""

    codes = frozenset({"model_not_found"})

    def relax(self, body: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
        body["model"] = self.settings.get("default_model", "gpt-4o-mini")
        body.pop("gateway", None)
        return body
