"""Schemathesis extensions for fuzzing a gateway from openapi.yaml.

Importing this module registers, with schemathesis's global registries:

- `before_call`: makes every generated chat request one the target can serve. Model names (`model`,
  `gateway.models`) and provider names are replaced with names from the target profile, message text is
  kept short, extension values for real providers are emptied, request features the profile does not
  claim (`gateway`, `extensions`) are left out (D-056), and positive cases are made to satisfy the few
  cross-field rules JSON Schema cannot state (D-053). Schemathesis re-validates an edited case,
  so a positive case stays positive and a negative one keeps its violation.
- `before_load_schema`: the contract is fitted to the profile's claims before schemathesis reads it
  (D-056): operations of an unclaimed endpoint (`GET /v1/me` without `me_endpoint`) are not fuzzed, and
  without a `routing_metadata` claim schemathesis's own schema check no longer requires it.
- `filter_failure`: a schema-valid request refused with a routing or capability code (the request is
  well formed, but no provider can serve it as asked) is not a `positive_data_acceptance` failure (D-053);
  one refused because of an unknown top-level field is a SHOULD finding (REQ-016), counted (D-056); a
  request accepted although it breaks only rules the contract marks `x-should` is a SHOULD finding of
  the requirement the marker names (D-113), counted.
- Three checks, built from the suite's own check functions (`suites.checks`) so that the fuzzer and the
  suites judge a response the same way: `auriko_error_envelope`, `auriko_routing_metadata` and
  `auriko_stream_framing`. A finding against a MUST requirement fails the case; SHOULD/MAY findings are
  counted in `INFORMATIONAL` and reported, as the suites report them.

`auriko-conformance fuzz` and `suites/test_fuzz.py` import this module; plain schemathesis loads it with
`SCHEMATHESIS_HOOKS=auriko_conformance.suites.fuzzing.checks st run openapi.yaml ...`
(the profile then comes from
`AURIKO_TARGET_PROFILE`, or the reference profile).
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import schemathesis
from auriko_conformance.suites.checks import REGISTRY, Context, Finding, all_checks, applicable
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.profile import TargetProfile, load_profile
from auriko_conformance.suites.requirements import load_catalogue
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, Severity

from auriko_conformance import contract

CHAT_PATH = "/v1/chat/completions"

#: Message text longer than this is cut: the fuzzer tests shapes, not long prompts (D-053).
MAX_TEXT = 200

# Routing suffixes a model name may carry (`gpt-4o:ttft`); kept when a generated name has one.
_SUFFIXES = frozenset({"cost", "cost-focus", "ttft", "ttft-focus", "tps", "tps-focus", "balanced"})

# 400 codes that say "well formed, but no provider can serve this as asked" (routing filters and
# capability mismatches, D-036/D-011/D-029). A schema-valid request may get one of these; it may never
# get a validation code (invalid_request, missing_required_parameter, invalid_parameter_value,
# unknown_field, ...), which would mean the target rejects what the contract accepts (D-053).
ROUTING_REFUSALS = frozenset(
    {
        "context_length_exceeded", "content_filtered", "tools_not_supported", "json_mode_not_supported",
        "structured_output_not_supported", "tools_with_structured_output_not_supported",
        "vision_not_supported", "reasoning_not_supported", "thinking_disable_not_supported",
        "streaming_not_supported", "non_streaming_not_supported", "batch_only", "tier_opt_in_required",
        "tool_choice_required_not_supported", "cost_constraint_exceeded", "latency_constraint_exceeded",
        "throughput_constraint_not_met", "provider_not_in_allowlist", "provider_blocked",
        "required_params_not_supported", "byok_keys_required", "platform_keys_unavailable",
        "unsupported_modalities", "no_compatible_endpoint",
    }
)  # fmt: skip

# The suite's check functions each schemathesis check runs (by name, from suites.checks).
ERROR_ENVELOPE_CHECKS = (
    "error_envelope_shape",  # SCHEMA-006
    "error_matches_status_schema",  # ERR-001 (D-092): code in the status's list, type of that status
    "error_code_is_current",  # ERR-002
    "error_code_matches_status",  # ERR-001
    "json_content_type_on_errors",  # ERR-004
    "no_error_with_status_200",  # ERR-003
)
ROUTING_METADATA_CHECKS = (
    "routing_metadata_present",  # META-001
    "routing_metadata_required_fields",  # META-003
    "final_chunk_has_routing_metadata",  # STREAM-005
)
STREAM_FRAMING_CHECKS = (
    "stream_content_type",  # SCHEMA-009: stream: true is answered as text/event-stream
    "sse_framing",  # STREAM-001
    "event_data_is_json_or_done",  # STREAM-001
    "stream_events_match_schema",  # SCHEMA-002
    "done_exactly_once_and_last",  # STREAM-002
    "final_usage_chunk_before_done",  # STREAM-003
    "exactly_one_usage_chunk",  # STREAM-004 (SHOULD)
    "routing_metadata_only_on_final_chunk",  # STREAM-006 (SHOULD)
    "constant_id_created",  # STREAM-009
    "role_in_first_delta_only",  # STREAM-010
    "one_finish_reason_per_choice",  # STREAM-011
    "tool_call_arguments_join_to_json",  # STREAM-012
    "tool_call_delta_shape",  # STREAM-013
    "mid_stream_error_is_detectable",  # STREAM-015
    "mid_stream_error_event_format",  # STREAM-016 (SHOULD)
)
CHECK_GROUPS: dict[str, tuple[str, ...]] = {
    "auriko_error_envelope": ERROR_ENVELOPE_CHECKS,
    "auriko_routing_metadata": ROUTING_METADATA_CHECKS,
    "auriko_stream_framing": STREAM_FRAMING_CHECKS,
}


# ---------------------------------------------------------------------------------------------------
# What the hooks know about the target
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    """Names the target accepts, from its profile; the hooks draw replacements from these."""

    models: tuple[str, ...]
    providers: tuple[str, ...]
    max_text: int = MAX_TEXT
    #: features the profile claims: a check needing another feature does not judge the target
    claims: frozenset[str] | None = None

    @classmethod
    def from_profile(cls, profile: TargetProfile, *, max_text: int = MAX_TEXT) -> FuzzTarget:
        names = [profile.default_model, profile.tools_model, profile.reasoning_model]
        names += list(profile.models_by_provider.values())
        models = tuple(dict.fromkeys(n for n in names if n))
        return cls(
            models=models,
            providers=tuple(profile.models_by_provider),
            max_text=max_text,
            claims=frozenset(profile.claims),
        )


_lock = threading.Lock()
_target: FuzzTarget | None = None


def configure(profile: TargetProfile | None = None, *, max_text: int = MAX_TEXT) -> FuzzTarget:
    """Point the hooks at a target profile (default: `AURIKO_TARGET_PROFILE`, else the reference)."""
    global _target
    if profile is None:
        path = os.environ.get("AURIKO_TARGET_PROFILE")
        profile = load_profile(Path(path) if path else None)
    with _lock:
        _target = FuzzTarget.from_profile(profile, max_text=max_text)
        return _target


def target() -> FuzzTarget:
    return _target or configure()


def _pick(choices: tuple[str, ...], key: str) -> str:
    """A stable choice (same generated value, same replacement: runs stay reproducible)."""
    return choices[zlib.crc32(key.encode("utf-8", "surrogatepass")) % len(choices)]


# ---------------------------------------------------------------------------------------------------
# Making generated requests fit the target
# ---------------------------------------------------------------------------------------------------


def _claims(fuzz: FuzzTarget, feature: str) -> bool:
    return fuzz.claims is None or feature in fuzz.claims


def _model_name(value: str, fuzz: FuzzTarget) -> str:
    base, colon, suffix = value.rpartition(":")
    if colon and base and suffix in _SUFFIXES and value.count(":") == 1:
        if _claims(fuzz, "model_suffix"):
            return f"{_pick(fuzz.models, base)}:{suffix}"
        return _pick(fuzz.models, base)
    return value if value in fuzz.models else _pick(fuzz.models, value)


def _short(text: Any, limit: int) -> Any:
    return text[:limit] if isinstance(text, str) and len(text) > limit else text


def _shorten_messages(messages: Any, limit: int) -> None:
    if not isinstance(messages, list):
        return
    for message in messages:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = _short(content, limit)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part["text"] = _short(part["text"], limit)


def _map_names(values: Any, choices: tuple[str, ...]) -> None:
    if isinstance(values, list) and choices:
        for i, value in enumerate(values):
            if isinstance(value, str) and value and value not in choices:
                values[i] = _pick(choices, value)


def fit_to_target(body: dict[str, Any], fuzz: FuzzTarget) -> None:
    """Edit a generated chat body in place so that the target can serve it (any generation mode).

    Only values that are already valid are replaced (a non-empty string by another non-empty string,
    an object by an empty object), so a negative case keeps its violation. The one exception is a
    feature the target does not claim: it is left out whatever its value (`leave_out_unclaimed`), and
    schemathesis relabels a case whose only violation was there as positive (D-056).
    """
    model = body.get("model")
    if isinstance(model, str) and model:
        body["model"] = _model_name(model, fuzz)
    gateway = body.get("gateway")
    if isinstance(gateway, dict):
        models = gateway.get("models")
        if isinstance(models, list):
            for i, entry in enumerate(models):
                if isinstance(entry, str) and entry:
                    models[i] = _model_name(entry, fuzz)
            valid = bool(models) and all(isinstance(m, str) and m for m in models)
            if valid and "model" not in body and not _claims(fuzz, "multi_model"):
                body["model"] = models[0]  # a target without gateway.models gets the first as `model`
                del gateway["models"]
        routing = gateway.get("routing")
        if isinstance(routing, dict):
            _map_names(routing.get("providers"), fuzz.providers)
            prefer = routing.get("prefer")
            if isinstance(prefer, str) and prefer and prefer not in fuzz.providers and fuzz.providers:
                routing["prefer"] = _pick(fuzz.providers, prefer)
    leave_out_unclaimed(body, fuzz)
    _shorten_messages(body.get("messages"), fuzz.max_text)
    extensions = body.get("extensions")
    if isinstance(extensions, dict):
        # Extension values are the provider's native fields, outside the contract: generated ones
        # would be rejected upstream (D-053). Real providers get `{}`; other names stay (D-046 warning).
        known = {*fuzz.providers, "google", "gemini", "openai", "anthropic", "deepseek", "vllm"}
        for name, value in extensions.items():
            if name in known and isinstance(value, dict) and value:
                extensions[name] = {}


def leave_out_unclaimed(body: dict[str, Any], fuzz: FuzzTarget) -> None:
    """Remove the request features the target does not claim, in every mode (D-056).

    The suites send them only to targets that claim them (`needs`): `extensions` (EXT), `gateway.routing`
    and `gateway.metadata` (`gateway_routing`; REQ-017 included), `gateway.models` (`multi_model`, after
    `fit_to_target` has folded a valid list into `model`). A target that claims neither gateway feature
    gets no `gateway` at all: for it, every generated `gateway` value, valid or not, tests an Auriko
    feature it does not offer.
    """
    if not _claims(fuzz, "extensions"):
        body.pop("extensions", None)
    routing, multi = _claims(fuzz, "gateway_routing"), _claims(fuzz, "multi_model")
    gateway = body.get("gateway")
    if not routing and not multi:
        body.pop("gateway", None)
    elif isinstance(gateway, dict):
        if not routing:
            gateway.pop("routing", None)
            gateway.pop("metadata", None)
        if not multi:
            gateway.pop("models", None)


def _function_names(body: Mapping[str, Any]) -> list[str]:
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        functions = [t.get("function") for t in tools if isinstance(t, dict)]
        return [f["name"] for f in functions if isinstance(f, dict) and isinstance(f.get("name"), str)]
    functions = body.get("functions")
    if isinstance(functions, list):
        return [f["name"] for f in functions if isinstance(f, dict) and isinstance(f.get("name"), str)]
    return []


def _rename_duplicates(items: Any, get: Any) -> None:
    seen: set[str] = set()
    for item in items if isinstance(items, list) else ():
        holder = get(item)
        if not isinstance(holder, dict) or not isinstance(holder.get("name"), str):
            continue
        name, n = holder["name"], 1
        while name in seen:
            n += 1
            name = f"{holder['name'][: 64 - len(str(n)) - 1]}_{n}"
        holder["name"] = name
        seen.add(name)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def satisfy_cross_field_rules(body: dict[str, Any]) -> None:
    """Positive cases only: meet the rules the contract states in prose, not in JSON Schema (D-053).

    - `deadline_ms` >= `timeout_ms` (RoutingOptions);
    - tool (and deprecated function) names are unique;
    - a named `tool_choice` / `function_call` names a declared tool;
    - `response_format` `json_object` comes with the word JSON in a message (D-054);
    - tool messages answer the calls of the assistant message right before them, all of them (D-055).
    """
    gateway = body.get("gateway")
    routing = gateway.get("routing") if isinstance(gateway, dict) else None
    if isinstance(routing, dict):
        timeout, deadline = routing.get("timeout_ms"), routing.get("deadline_ms")
        if _is_number(timeout) and _is_number(deadline) and deadline < timeout:
            routing["deadline_ms"] = timeout
    _rename_duplicates(body.get("tools"), lambda t: t.get("function") if isinstance(t, dict) else None)
    _rename_duplicates(body.get("functions"), lambda f: f)
    names = _function_names(body)
    choice = body.get("tool_choice")
    function = choice.get("function") if isinstance(choice, dict) else None
    if isinstance(function, dict) and names and function.get("name") not in names:
        function["name"] = names[0]
    call = body.get("function_call")
    if isinstance(call, dict) and names and call.get("name") not in names:
        call["name"] = names[0]
    _pair_tool_turns(body.get("messages"))
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_object":
        _ask_for_json(body.get("messages"))


def _answer(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "{}"}


def _pair_tool_turns(messages: Any) -> None:
    """Every tool call gets its tool message right after the call, and every tool message answers one.

    A tool message with no open call becomes a user message with the same content; call ids are made
    unique across the conversation.
    """
    if not isinstance(messages, list):
        return
    out: list[Any] = []
    open_calls: list[str] = []
    seen: set[str] = set()
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool" and not open_calls:
            message = {"role": "user", "content": message.get("content")}
            role = "user"
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                message["tool_call_id"] = open_calls[0]
            open_calls.remove(message["tool_call_id"])
            out.append(message)
            continue
        out.extend(_answer(call_id) for call_id in open_calls)
        open_calls = []
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    while call["id"] in seen:
                        call["id"] += "_"
                    seen.add(call["id"])
                    open_calls.append(call["id"])
        out.append(message)
    out.extend(_answer(call_id) for call_id in open_calls)
    messages[:] = out


def _ask_for_json(messages: Any) -> None:
    """Make some message's text mention JSON, unless one already does."""
    texts: list[tuple[dict[str, Any], str]] = []  # (holder, key) of every text
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append((message, "content"))
        elif isinstance(content, list):
            parts = [part for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)]
            texts += [(part, "text") for part in parts]
    if any("json" in str(holder.get(key)).lower() for holder, key in texts):
        return
    if not texts:  # no text anywhere (images, tool calls): say it in a message of its own
        if isinstance(messages, list):
            messages.append({"role": "user", "content": "Reply in JSON."})
        return
    holder, key = texts[-1]
    holder[key] = f"{holder[key]} Reply in JSON."


def _is_chat(case: Any) -> bool:
    return case.method.upper() == "POST" and case.operation.path == CHAT_PATH


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Fit every chat request to the target, in every phase, just before it is sent."""
    if not _is_chat(case) or not isinstance(case.body, dict):
        return
    fit_to_target(case.body, target())
    if _is_positive(case):
        satisfy_cross_field_rules(case.body)


# ---------------------------------------------------------------------------------------------------
# The contract as it applies to the target (D-056)
# ---------------------------------------------------------------------------------------------------

#: Operations of a claimable feature: a target that does not claim it is not fuzzed there (the suites
#: report their tests as "not claimed").
FEATURE_PATHS: dict[str, tuple[str, ...]] = {
    "me_endpoint": ("/v1/me",),
    "models_endpoint": ("/v1/models", "/v1/models/{model_id}"),
}


def fit_contract_to_claims(raw_schema: dict[str, Any], claims: frozenset[str] | None) -> list[str]:
    """Edit the raw contract in place to what a target with these claims must meet; return the edits.

    - The paths of an unclaimed endpoint feature are removed (`FEATURE_PATHS`).
    - Without a `routing_metadata` claim, `routing_metadata` is no longer *required* in any schema
      (`ChatCompletion`, `ChatCompletionUsageChunk`): schemathesis's `response_schema_conformance` then
      judges the rest of every answer, as the suite's SCHEMA-002 checks do (`suites/checks/schema.py`).
      Its shape, when a target sends it anyway, is still checked.

    `claims` None (no profile) changes nothing.
    """
    if claims is None:
        return []
    edits: list[str] = []
    paths = raw_schema.get("paths")
    for feature, feature_paths in FEATURE_PATHS.items():
        if feature in claims or not isinstance(paths, dict):
            continue
        edits += [f"paths {path}" for path in feature_paths if paths.pop(path, None) is not None]
    if "routing_metadata" not in claims:
        schemas = (raw_schema.get("components") or {}).get("schemas") or {}
        for name, schema in schemas.items():
            required = schema.get("required") if isinstance(schema, dict) else None
            if isinstance(required, list) and "routing_metadata" in required:
                schema["required"] = [field for field in required if field != "routing_metadata"]
                edits.append(f"{name}.required routing_metadata")
    return edits


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """Judge the target against the contract as it applies to its profile's claims (D-056)."""
    if isinstance(raw_schema, dict) and raw_schema.get("openapi"):
        fit_contract_to_claims(raw_schema, target().claims)


# ---------------------------------------------------------------------------------------------------
# Failures the contract accepts (D-053)
# ---------------------------------------------------------------------------------------------------

ACCEPTED_REFUSALS: dict[str, int] = {}


def _error_code(content: bytes) -> str | None:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def is_routing_refusal(status: int, content: bytes) -> str | None:
    """The code of a 400 that refuses a well-formed request for routing or capability reasons."""
    if status != 400:
        return None
    code = _error_code(content)
    return code if code in ROUTING_REFUSALS else None


def is_own_deadline(status: int, content: bytes, body: Any) -> str | None:
    """`upstream_timeout` when a 504 answers a request that set its own `timeout_ms` / `deadline_ms`."""
    if status != 504 or _error_code(content) != "upstream_timeout":
        return None
    gateway = body.get("gateway") if isinstance(body, dict) else None
    routing = gateway.get("routing") if isinstance(gateway, dict) else None
    if isinstance(routing, dict) and ("timeout_ms" in routing or "deadline_ms" in routing):
        return "upstream_timeout"
    return None


def _error_message(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else ""


def refused_unknown_fields(status: int, content: bytes, body: Any) -> list[str]:
    """The unknown top-level fields of `body` that a 4xx answer names as the reason it refused them.

    The contract keeps the request object open: an unknown top-level field is accepted and dropped, a
    SHOULD (REQ-016, D-001). A name counts only as a whole word of the error's `message` (so a generated
    field `e` is not "named" by `temperature`).
    """
    if not 400 <= status < 500 or not isinstance(body, dict):
        return []
    message = _error_message(content)
    unknown = [
        name for name in body if isinstance(name, str) and name and name not in contract.request_fields()
    ]
    return [name for name in unknown if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", message)]


def should_only_violations(body: Any) -> list[str]:
    """The requirements named by `x-should` when every way `body` breaks the request schema is such a
    rule (empty when it breaks none, or breaks a rule that is not a SHOULD)."""
    errors = list(contract.validator("ChatCompletionRequest").iter_errors(body))
    named = [e.schema.get("x-should") if isinstance(e.schema, dict) else None for e in errors]
    return [str(n) for n in named] if errors and all(named) else []


@schemathesis.hook
def filter_failure(context: Any, failure: Failure, case: Any, response: Any) -> bool:
    """Keep every failure but the outcomes the contract accepts, which are counted instead (D-053, D-056).

    - `positive_data_acceptance`: a 400 routing or capability refusal of a well-formed request (counted
      in `ACCEPTED_REFUSALS`); a refusal that names an unknown top-level field of the request (a SHOULD
      deviation, REQ-016: counted in `INFORMATIONAL`, as the suites report SHOULD findings);
    - `not_a_server_error`: a 504 `upstream_timeout` for a request that set its own timeout or deadline;
    - `negative_data_rejection`: a request accepted although it breaks only SHOULD rules (`x-should` in
      the contract, D-113: counted in `INFORMATIONAL` under the requirement the marker names).
    """
    kind = type(failure).__name__
    content = response.content or b""
    if kind == "AcceptedNegativeData":
        advisory = should_only_violations(case.body)
        if not advisory:
            return True
        INFORMATIONAL.add(
            Finding(
                advisory[0],
                "negative_data_rejection",
                f"accepted; it breaks only the SHOULD rules of {advisory}",
            )
        )
        return False
    if kind == "RejectedPositiveData":
        code = is_routing_refusal(response.status_code, content)
        fields = [] if code else refused_unknown_fields(response.status_code, content, case.body)
        if fields:
            message = _error_message(content)[:200]
            INFORMATIONAL.add(
                Finding(
                    "REQ-016", "positive_data_acceptance", f"unknown field {fields[0]!r} refused: {message}"
                )
            )
            return False
    elif kind == "ServerError":
        code = is_own_deadline(response.status_code, content, case.body)
    else:
        return True
    if code is None:
        return True
    with _lock:
        ACCEPTED_REFUSALS[code] = ACCEPTED_REFUSALS.get(code, 0) + 1
    return False


# ---------------------------------------------------------------------------------------------------
# The suite's checks as schemathesis checks
# ---------------------------------------------------------------------------------------------------


class ConformanceFailure(Failure):
    """A MUST finding of one of the suite's checks, named by requirement ID."""

    code = "ST901"
    kind_title = "Auriko conformance check failed"

    __slots__ = ("requirement",)

    def __init__(self, *, operation: str | None, requirement: str, check: str, message: str) -> None:
        title = f"[{requirement}] {load_catalogue().get(requirement).title} ({check})"
        super().__init__(operation=operation, title=title, message=message, severity=Severity.HIGH)
        self.requirement = requirement

    @property
    def _unique_key(self) -> str:
        return self.title


@dataclass(slots=True)
class Informational:
    """SHOULD/MAY findings: counted and shown, never failing (as in the suite's verdicts)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        key = (finding.requirement, finding.check)
        with _lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.examples.setdefault(key, finding.message)

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"requirement": r, "check": c, "count": n, "example": self.examples[(r, c)]}
            for (r, c), n in sorted(self.counts.items())
        ]


INFORMATIONAL = Informational()


def reset_counters() -> None:
    with _lock:
        ACCEPTED_REFUSALS.clear()
        INFORMATIONAL.counts.clear()
        INFORMATIONAL.examples.clear()


def exchange_from(response: Any, case: Any) -> Exchange:
    """The suite's view of one schemathesis interaction."""
    headers = httpx.Headers([(k, v) for k, values in response.headers.items() for v in values])
    url = str(response.request.url or "").split("?", 1)[0]
    body = case.body if isinstance(case.body, dict) else None
    return Exchange(
        method=str(case.method).upper(),
        url=url,
        request_body=body,
        status=response.status_code,
        headers=headers,
        body=response.content or b"",
    )


def judge(exchange: Exchange, names: Iterable[str]) -> list[Finding]:
    """Run the named suite checks that apply to the exchange; return the MUST findings.

    SHOULD and MAY findings go to `INFORMATIONAL`.
    """
    all_checks()  # import the check modules
    kinds = applicable(exchange)
    context = Context(request=exchange.request_body or {})
    catalogue = load_catalogue()
    claims = target().claims
    must: list[Finding] = []
    for name in names:
        chk = REGISTRY[name]
        if chk.applies not in kinds:
            continue
        if claims is not None and not set(getattr(chk, "needs", ())) <= claims:
            continue  # the profile does not claim what this check judges (e.g. routing_metadata)
        for finding in chk.run(exchange, context):
            if catalogue.get(finding.requirement).level == "MUST":
                must.append(finding)
            else:
                INFORMATIONAL.add(finding)
    return must


def _raise(findings: list[Finding], case: Any) -> None:
    if not findings:
        return
    by_check: dict[tuple[str, str], list[str]] = {}
    for finding in findings:
        by_check.setdefault((finding.requirement, finding.check), []).append(finding.message)
    failures = [
        ConformanceFailure(
            operation=case.operation.label, requirement=req, check=check, message="\n".join(messages[:8])
        )
        for (req, check), messages in by_check.items()
    ]
    if len(failures) == 1:
        raise failures[0]
    from schemathesis.core.failures import FailureGroup

    raise FailureGroup(failures)


def _run_group(group: str, response: Any, case: Any) -> bool | None:
    if getattr(response, "stream_cut_short", False):
        return True  # a stream read in part cannot be judged on its framing; nothing to say
    _raise(judge(exchange_from(response, case), CHECK_GROUPS[group]), case)
    return None


@schemathesis.check
def auriko_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """4xx/5xx bodies are the flat envelope with a code of the catalogue listed for that status."""
    return _run_group("auriko_error_envelope", response, case)


@schemathesis.check
def auriko_routing_metadata(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 200 chat completion (body or final stream chunk) has routing_metadata and its 4 fields."""
    return _run_group("auriko_routing_metadata", response, case)


@schemathesis.check
def auriko_stream_framing(ctx: Any, response: Any, case: Any) -> bool | None:
    """SSE framing, [DONE] once and last, usage chunk last, id/created constant, role/finish rules."""
    return _run_group("auriko_stream_framing", response, case)


CUSTOM_CHECKS = tuple(CHECK_GROUPS)
