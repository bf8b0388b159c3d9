"""ROUTE, upstream failures (ERR, STREAM) and CLIENT: routing decisions judged from the mock journal.

A routing rule is only observable upstream: which provider instances received a request, in which
order, which one produced the answer, and what the client got back. The suites tag every request, read
this test's entries back from the mock journal and hand them to these checks in a `RouteContext`,
together with what the scenario makes known (the instances that may or must not be called, the one
that must answer, the error that must come back). The checks stay pure: no network, so the project's
tests feed them synthetic journals and responses (tests/suites/test_route_checks.py).

Most rules here are the same observation bound to different requirements ("only these instances were
called" is the allowlist, the exclusion list, the price ceiling, the data policy ...), so the checks are
registered per requirement from a few families below; each is a no-op unless its context field is set.

Scenario discovery (`Directory`) turns a GET /v1/models listing (contract 14: each model's providers
with input/output prices per 1M tokens and data policy) into the models a routing test needs: one model
served by two mock instances at clearly different prices, and single-provider models to pool.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from suites.checks import Applies, Context, NotApplicable, check
from suites.exchange import Exchange, ItemKind

#: the six envelope types of the contract (section 9.1)
ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "api_error",
    }
)

# --------------------------------------------------------------------------------------------------
# What a routing test knows
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedError:
    """The error a scenario must end in. `codes` empty = any code; `param` None = not asserted."""

    status: int
    codes: frozenset[str] = frozenset()
    param: str | None = None
    error_type: str | None = None


@dataclass(slots=True)
class SdkOutcome:
    """What the official `openai` SDK did with one call (CLIENT checks read this, not raw HTTP)."""

    kind: str  # "completion" | "stream" | "error"
    routing_metadata: Any = None
    text: str | None = None
    last_chunk: dict[str, Any] | None = None
    chunks: int = 0
    raised: tuple[str, ...] = ()  # class names of the exception raised and its bases
    error_fields: dict[str, Any] = field(default_factory=dict)  # code, param, type from the exception
    status: int | None = None
    request_id: str | None = None
    envelope: dict[str, Any] | None = None  # the `error` object the target sent, for comparison
    metadata_claimed: bool = True  # whether routing_metadata must be readable (the target claims it)


@dataclass(slots=True)
class RouteContext(Context):
    """`Context` plus what a routing or fault scenario makes known. Unset fields disable their checks."""

    #: this exchange's upstream requests (mock journal entries for its tag), oldest first
    journal: list[dict[str, Any]] | None = None
    #: target provider name -> mock instance name (identity when absent)
    instances: Mapping[str, str] = field(default_factory=dict)
    #: only these instances may receive requests
    allowed: frozenset[str] | None = None
    #: these instances must receive no request
    forbidden: frozenset[str] = frozenset()
    #: the answer must come from one of these instances
    answer_from: frozenset[str] | None = None
    #: every one of these instances is tried before any other instance (fallback mode)
    tried_first: frozenset[str] | None = None
    #: bounds on the number of upstream requests
    max_upstream: int | None = None
    min_upstream: int | None = None
    #: the error the exchange must be
    error: ExpectedError | None = None
    #: the request must have ended within this many milliseconds (client-side elapsed)
    within_ms: float | None = None
    #: a strategy `routing_strategy` must not report (the last segment of a multi-colon model ID)
    not_strategy: str | None = None
    #: the upstream was told to fail after its first bytes (cut, stall, garbage)
    upstream_failed: bool = False
    #: (prompt_tokens, completion_tokens) the upstream finally reported
    upstream_usage: tuple[int, int] | None = None
    #: what the openai SDK did
    sdk: SdkOutcome | None = None


def _route(context: Context) -> RouteContext | None:
    return context if isinstance(context, RouteContext) else None


# --------------------------------------------------------------------------------------------------
# Reading journal entries and responses
# --------------------------------------------------------------------------------------------------


def upstream_model(entry: Mapping[str, Any]) -> str | None:
    """The model an upstream request asked for: the body's `model`, or Gemini's `models/{id}:` path."""
    body = entry.get("body")
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    path = str(entry.get("path") or "")
    marker = "/models/"
    if marker in path:
        return path.split(marker, 1)[1].split(":", 1)[0] or None
    return None


def answering_entries(journal: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Upstream requests that completed with a 200 and a whole answer."""
    return [e for e in journal if e.get("status") == 200 and e.get("outcome") == "ok"]


def called(journal: Iterable[Mapping[str, Any]]) -> list[str]:
    """Instance names in the order they received requests."""
    return [str(e.get("provider")) for e in journal]


def final_object(exchange: Exchange) -> dict[str, Any] | None:
    """The body of a 200 completion, or a 200 stream's final usage chunk."""
    if exchange.status != 200:
        return None
    if exchange.is_stream:
        return exchange.stream.final_usage_chunk
    body = exchange.json
    return body if isinstance(body, dict) and "choices" in body else None


def metadata_of(exchange: Exchange) -> dict[str, Any] | None:
    final = final_object(exchange)
    metadata = final.get("routing_metadata") if final else None
    return metadata if isinstance(metadata, dict) else None


def error_object(exchange: Exchange) -> dict[str, Any] | None:
    body = exchange.json
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return None


def _instance(context: RouteContext, provider: Any) -> str | None:
    if not isinstance(provider, str):
        return None
    return context.instances.get(provider, provider)


Body = Callable[[Exchange, "RouteContext"], Iterator[str]]


def _register(requirement: str, name: str, doc: str, body: Body) -> None:
    """Register `body` as check `name` bound to `requirement` (it runs only with a RouteContext)."""

    def func(exchange: Exchange, context: Context) -> Iterator[str]:
        route = _route(context)
        if route is None:
            raise NotApplicable
        yield from body(exchange, route)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    check(requirement, Applies.ANY)(func)


# --------------------------------------------------------------------------------------------------
# Family: which instances were called
# --------------------------------------------------------------------------------------------------


def _calls(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.journal is None or (context.allowed is None and not context.forbidden):
        raise NotApplicable
    seen = called(context.journal)
    if context.allowed is not None:
        outside = sorted({p for p in seen if p not in context.allowed})
        if outside:
            yield f"upstream requests went to {outside}; only {sorted(context.allowed)} may be called"
    hit = sorted({p for p in seen if p in context.forbidden})
    if hit:
        yield f"upstream requests went to {hit}, which the request ruled out (calls: {seen})"


CALL_CHECKS = {
    "ROUTE-001": ("providers_allowlist_respected", "Only providers on `providers` receive requests."),
    "ROUTE-003": ("excluded_providers_not_called", "Providers on `exclude_providers` receive no request."),
    "ROUTE-007": ("cost_ceiling_respected", "Providers above `max_cost_per_1m` receive no request."),
    "ROUTE-010": ("data_policy_respected", "Only providers meeting `data_policy` receive requests."),
    "ROUTE-011": ("required_parameters_respected", "require_parameters: only supporting providers."),
    "ROUTE-014": ("forced_tool_choice_respected", "tool_choice required: only honouring providers."),
    "ROUTE-015": ("output_mode_respected", "json_schema / json_object: only capable providers."),
    "ROUTE-018": ("native_n_respected", "n > 1: only providers with native multi-choice support (D-029)."),
}
for _req, (_name, _doc) in CALL_CHECKS.items():
    _register(_req, _name, _doc, _calls)


# --------------------------------------------------------------------------------------------------
# Family: who answered
# --------------------------------------------------------------------------------------------------


def _answered(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.answer_from is None:
        raise NotApplicable
    want = sorted(context.answer_from)
    if exchange.status != 200:
        yield f"expected an answer from {want}, got HTTP {exchange.status}: {exchange.excerpt(200)}"
        return
    metadata = metadata_of(exchange) or {}
    reported = _instance(context, metadata.get("provider"))
    if context.journal is not None:
        answers = answering_entries(context.journal)
        if answers and answers[-1].get("provider") not in context.answer_from:
            yield f"{answers[-1].get('provider')!r} answered upstream, expected one of {want}"
            return
        if not answers and reported not in context.answer_from:
            yield f"no upstream answer in the journal and routing_metadata.provider is {reported!r}"
            return
    elif reported not in context.answer_from:
        yield f"routing_metadata.provider is {metadata.get('provider')!r}, expected one of {want}"


ANSWER_CHECKS = {
    "ROUTE-005": ("preferred_provider_answers", "A healthy `prefer`red provider serving the model answers."),
    "ROUTE-006": ("cheapest_provider_answers", "cost-focus: the cheapest provider (avg of in/out) answers."),
    "ROUTE-019": ("pool_cheapest_answers", "Pool + cost-focus: the cheapest provider of all models answers."),
    "ROUTE-021": ("next_candidate_answers", "After an upstream 429/5xx/reset the next candidate answers."),
    "ROUTE-022": ("next_candidate_after_overload", "After an Anthropic 529 the next candidate answers."),
    "ROUTE-023": ("next_candidate_after_timeout", "A provider slower than timeout_ms is abandoned."),
}
for _req, (_name, _doc) in ANSWER_CHECKS.items():
    _register(_req, _name, _doc, _answered)


def _fallback_order(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.journal is None or context.tried_first is None:
        raise NotApplicable
    seen = called(context.journal)
    first = context.tried_first
    missing = sorted(first - set(seen))
    if missing:
        yield f"{missing} were never tried before falling back (calls: {seen})"
    others = [i for i, p in enumerate(seen) if p not in first]
    if others:
        last_first = max((i for i, p in enumerate(seen) if p in first), default=-1)
        if others[0] < last_first:
            yield f"a provider of a later model was tried before the first model was exhausted: {seen}"
    yield from _answered(exchange, context)


_register(
    "ROUTE-020",
    "fallback_mode_exhausts_models_in_order",
    "mode fallback: every provider of model 1 is tried before model 2, which then answers.",
    _fallback_order,
)


# --------------------------------------------------------------------------------------------------
# Family: how many attempts
# --------------------------------------------------------------------------------------------------


def _attempts(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.journal is None or (context.max_upstream is None and context.min_upstream is None):
        raise NotApplicable
    seen = called(context.journal)
    if context.max_upstream is not None and len(seen) > context.max_upstream:
        yield f"{len(seen)} upstream requests {seen}, at most {context.max_upstream} allowed"
    if context.min_upstream is not None and len(seen) < context.min_upstream:
        yield f"{len(seen)} upstream requests {seen}, expected at least {context.min_upstream}"


ATTEMPT_CHECKS = {
    "ROUTE-024": ("one_attempt_without_fallbacks", "allow_fallbacks false: exactly one upstream request."),
    "ROUTE-025": ("fallback_attempts_capped", "At most 1 + max_fallback_attempts upstream requests (D-037)."),
    "ROUTE-026": (
        "fallbacks_on_by_default",
        "Without options a failed first attempt is followed by another.",
    ),
}
for _req, (_name, _doc) in ATTEMPT_CHECKS.items():
    _register(_req, _name, _doc, _attempts)


# --------------------------------------------------------------------------------------------------
# Family: the error that must come back
# --------------------------------------------------------------------------------------------------


def _error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    want = context.error
    if want is None:
        raise NotApplicable
    if exchange.status == 200:
        yield f"expected HTTP {want.status} {sorted(want.codes)}, got 200: {exchange.excerpt(200)}"
        return
    body = exchange.json
    error = error_object(exchange)
    if error is None:
        yield f"HTTP {exchange.status} without an error envelope: {exchange.excerpt(200)}"
        return
    extra = sorted(set(body) - {"error"})
    if extra or not {"message", "type", "code", "param"} <= set(error):
        yield f"not the gateway's envelope (top-level {sorted(body)}, error keys {sorted(error)})"
    if exchange.status != want.status:
        yield f"HTTP {exchange.status}, expected {want.status} (code {error.get('code')!r})"
    if want.codes and error.get("code") not in want.codes:
        yield f"code {error.get('code')!r}, expected {' or '.join(sorted(want.codes))}"
    if want.param is not None and error.get("param") != want.param:
        yield f"param {error.get('param')!r}, expected {want.param!r}"
    if want.error_type is not None and error.get("type") != want.error_type:
        yield f"type {error.get('type')!r}, expected {want.error_type!r}"


ERROR_CHECKS = {
    "ROUTE-002": (
        "allowlist_miss_is_400",
        "providers none of which serves the model: 400 provider_not_in_allowlist.",
    ),
    "ROUTE-004": (
        "empty_filter_is_no_compatible_endpoint",
        "Filters leaving no candidate: 400 no_compatible_endpoint.",
    ),
    "ROUTE-007": (
        "cost_ceiling_below_all_is_400",
        "max_cost_per_1m below every provider: 400 cost_constraint_exceeded.",
    ),
    "ROUTE-008": ("unmeetable_latency_or_mode_is_400", "Unmeetable max_ttft_ms / output mode: 400 (D-011)."),
    "ROUTE-009": (
        "unmeetable_throughput_is_400",
        "min_throughput_tps above all: 400 throughput_constraint_not_met.",
    ),
    "ROUTE-011": ("required_params_unsupported_is_400", "No provider supports a required parameter: 400."),
    "ROUTE-012": ("only_byok_without_keys_is_400", "only_byok without BYOK keys: 400 byok_keys_required."),
    "ROUTE-013": (
        "premium_tier_needs_opt_in",
        "A premium-only model without tier priority: 400 tier_opt_in_required.",
    ),
    "ROUTE-014": (
        "tool_choice_required_unsupported_is_400",
        "No honouring provider: 400 tool_choice_required_not_supported.",
    ),
    "ROUTE-016": ("capability_mismatch_is_400", "Tools or images the model cannot take: 400, never dropped."),
    "ROUTE-018": (
        "n_unsupported_is_no_compatible_endpoint",
        "n > 1 and no native-n provider: 400, param n (D-029).",
    ),
    "ROUTE-024": (
        "single_attempt_error_is_mapped",
        "allow_fallbacks false: the mapped error of the one attempt.",
    ),
    "ROUTE-030": (
        "unknown_suffix_is_model_not_found",
        "Unknown single-colon suffix: 404 model_not_found (D-039).",
    ),
    "ERR-007": ("upstream_429_stays_429", "Every attempt 429: 429 rate_limit_error rate_limit_exceeded."),
    "ERR-008": ("upstream_overload_is_503", "Every attempt 529/503: 503 api_error, never 500."),
    "ERR-009": ("upstream_timeout_is_504", "Every attempt timed out: 504 api_error upstream_timeout."),
    "ERR-010": (
        "upstream_failure_is_502",
        "Upstream 500 / garbage / reset: 502 upstream_error, gateway envelope.",
    ),
    "ERR-011": ("upstream_error_mapping", "The chain's error follows the last attempt's mapping (D-038)."),
}
for _req, (_name, _doc) in ERROR_CHECKS.items():
    _register(_req, _name, _doc, _error)


def _retry_after(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.error is None or context.error.status != 429:
        raise NotApplicable
    value = exchange.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is None:
        yield f"Retry-After is {value!r}; the upstream sent 30"
    elif seconds < 30:
        yield f"Retry-After is {value!r}, shorter than the upstream's 30"


_register(
    "ERR-007",
    "upstream_retry_after_preserved",
    "A passed-through upstream 429 keeps a Retry-After no shorter than the upstream's (30 s).",
    _retry_after,
)
_register(
    "ERR-011",
    "upstream_retry_delay_kept",
    "An upstream 429's retry delay in any spelling (Gemini RetryInfo too) is kept as Retry-After (D-038).",
    _retry_after,
)


def _never_500(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.error is None:
        raise NotApplicable
    error = error_object(exchange) or {}
    if exchange.status == 500 or error.get("code") == "internal_error":
        yield f"an upstream failure surfaced as HTTP {exchange.status} {error.get('code')!r}"


_register(
    "ERR-008",
    "upstream_overload_never_500",
    "An upstream overload is never a 500/internal_error.",
    _never_500,
)
_register("ROUTE-022", "anthropic_529_never_500", "An Anthropic 529 is never surfaced as a 500.", _never_500)


def _deadline(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.within_ms is None:
        raise NotApplicable
    if exchange.elapsed_ms > context.within_ms:
        took, limit = exchange.elapsed_ms, context.within_ms
        yield f"the request took {took:.0f} ms, beyond deadline_ms + 1 s = {limit:.0f} ms"
    error = error_object(exchange) or {}
    if exchange.status != 504 or error.get("code") != "upstream_timeout":
        yield f"expected 504 upstream_timeout, got HTTP {exchange.status} {error.get('code')!r}"


_register(
    "ROUTE-027",
    "deadline_bounds_the_chain",
    "deadline_ms ends a slow chain with 504 upstream_timeout within deadline_ms + 1 s.",
    _deadline,
)


# --------------------------------------------------------------------------------------------------
# Routing metadata: who answered, which strategy
# --------------------------------------------------------------------------------------------------


def _provider_matches_journal(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.journal is None or exchange.status != 200:
        raise NotApplicable
    metadata = metadata_of(exchange)
    if metadata is None:
        raise NotApplicable  # META-001/META-003 report a missing object
    answers = answering_entries(context.journal)
    if len(answers) != 1:
        seen = [(e.get("provider"), e.get("status"), e.get("outcome")) for e in context.journal]
        yield f"expected exactly one complete upstream answer in the journal, found {len(answers)}: {seen}"
        return
    answer = answers[0]
    reported = _instance(context, metadata.get("provider"))
    if reported != answer.get("provider"):
        yield (
            f"routing_metadata.provider is {metadata.get('provider')!r} (instance {reported!r}), "
            f"but {answer.get('provider')!r} produced the answer"
        )
    received = upstream_model(answer)
    if metadata.get("provider_model_id") != received:
        got = metadata.get("provider_model_id")
        yield f"provider_model_id is {got!r}; the provider received {received!r}"


_register(
    "META-011",
    "provider_names_answering_endpoint",
    "routing_metadata.provider/provider_model_id name the instance that answered and the model it got.",
    _provider_matches_journal,
)


def _strategy(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.expected_strategy is None and context.expected_canonical is None:
        raise NotApplicable
    if exchange.status != 200:
        yield f"expected a 200 answer, got HTTP {exchange.status}: {exchange.excerpt(200)}"
        return
    metadata = metadata_of(exchange) or {}
    if (
        context.expected_strategy is not None
        and metadata.get("routing_strategy") != context.expected_strategy
    ):
        got = metadata.get("routing_strategy")
        yield f"routing_strategy is {got!r}, expected {context.expected_strategy!r}"
    if (
        context.expected_canonical is not None
        and metadata.get("model_canonical") != context.expected_canonical
    ):
        got = metadata.get("model_canonical")
        yield f"model_canonical is {got!r}, expected {context.expected_canonical!r}"


_register(
    "ROUTE-028",
    "suffix_sets_strategy",
    "`model:<suffix>` sets routing_strategy, strips model_canonical.",
    _strategy,
)
_register(
    "ROUTE-029",
    "extra_suffix_or_optimize_wins",
    ":tps/:balanced accepted; optimize beats a suffix (D-009).",
    _strategy,
)


def _multi_colon(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.not_strategy is None:
        raise NotApplicable
    metadata = metadata_of(exchange)
    if metadata is not None and metadata.get("routing_strategy") == context.not_strategy:
        yield f"the last segment of a multi-colon model ID set routing_strategy {context.not_strategy!r}"
    if exchange.status != 200:
        error = error_object(exchange) or {}
        if exchange.status != 404 or error.get("code") != "model_not_found":
            got = f"HTTP {exchange.status} {error.get('code')!r}"
            yield f"an unknown multi-colon ID gave {got}, not 404 model_not_found"


_register(
    "ROUTE-028",
    "multi_colon_id_looked_up_whole",
    "A model ID with several colons is looked up whole; its last segment never sets the strategy.",
    _multi_colon,
)


# --------------------------------------------------------------------------------------------------
# Checks that need no scenario: they judge any response to a request of that shape
# --------------------------------------------------------------------------------------------------


@check("ROUTE-017", Applies.ANY)
def n_choices_never_fewer(exchange: Exchange, context: Context) -> Iterator[str]:
    """`n: k` is answered with k choices (indices 0..k-1) or an error; never fewer choices."""
    n = context.request.get("n") if isinstance(context.request, dict) else None
    if not isinstance(n, int) or n < 2:
        raise NotApplicable
    if exchange.status >= 400:
        return  # an error is a fair answer
    if exchange.status != 200:
        yield f"n={n} answered with HTTP {exchange.status}"
        return
    if exchange.is_stream:
        indices = sorted(
            {
                c.get("index")
                for chunk in exchange.stream.chunks
                for c in chunk.get("choices") or []
                if isinstance(c, dict)
            },
            key=lambda i: (not isinstance(i, int), i if isinstance(i, int) else 0),
        )
    else:
        body = exchange.json if isinstance(exchange.json, dict) else {}
        indices = sorted(
            (c.get("index") for c in body.get("choices") or [] if isinstance(c, dict)),
            key=lambda i: (not isinstance(i, int), i if isinstance(i, int) else 0),
        )
    if indices != list(range(n)):
        yield f"n={n} answered with choice indices {indices}"


KEEPALIVE_TYPES = frozenset({"ping", "keep-alive", "keepalive", "heartbeat"})


@check("STREAM-018", Applies.STREAM)
def upstream_keepalives_not_data(exchange: Exchange, context: Context) -> Iterator[str]:
    """Keep-alives are SSE comments; an upstream `ping` or keep-alive never becomes a data event (D-022)."""
    for item in exchange.stream.items:
        payload = item.payload
        kind = payload.get("type") if isinstance(payload, dict) else None
        if (isinstance(kind, str) and kind.lower() in KEEPALIVE_TYPES) or (
            item.kind is ItemKind.INVALID and item.data.strip().lower().lstrip(":").strip() in KEEPALIVE_TYPES
        ):
            yield f"event #{item.index} is an upstream keep-alive sent as data: {item.data[:80]!r}"


@check("STREAM-020", Applies.STREAM)
def stream_logprobs_join_to_content(exchange: Exchange, context: Context) -> Iterator[str]:
    """With `logprobs: true`, content chunks carry logprobs.content whose tokens join to the text."""
    if not (isinstance(context.request, dict) and context.request.get("logprobs") is True):
        raise NotApplicable
    tokens: list[str] = []
    missing = 0
    for chunk in exchange.stream.chunks:
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index") != 0:
                continue
            content = (choice.get("delta") or {}).get("content")
            logprobs = choice.get("logprobs")
            entries = logprobs.get("content") if isinstance(logprobs, dict) else None
            if isinstance(content, str) and content and not isinstance(entries, list):
                missing += 1
            for entry in entries or []:
                if isinstance(entry, dict) and isinstance(entry.get("token"), str):
                    tokens.append(entry["token"])
    text = exchange.stream.text()
    if missing:
        yield f"{missing} content chunks carry no choices[].logprobs.content"
    elif text and "".join(tokens) != text:
        yield f"logprob tokens join to {''.join(tokens)[:80]!r}, the content is {text[:80]!r}"


# --------------------------------------------------------------------------------------------------
# Upstream failures in streams
# --------------------------------------------------------------------------------------------------


def _stream_failure(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if not context.upstream_failed:
        raise NotApplicable
    if exchange.status != 200 or not exchange.is_stream:
        if exchange.status < 400 or error_object(exchange) is None:
            yield f"the failed stream ended as HTTP {exchange.status} with no error: {exchange.excerpt(160)}"
        return  # the gateway had sent nothing yet: a non-2xx error is a detectable end
    items = exchange.stream.items
    errors = [i for i in items if i.kind is ItemKind.ERROR]
    if not errors:
        kinds = [i.kind.value for i in items[-3:]]
        yield f"the upstream failed mid-stream but the client saw no error event (last events: {kinds})"
    elif not isinstance(errors[-1].payload.get("error"), dict):
        yield f"the error event's `error` is {errors[-1].payload.get('error')!r}, not an object"


_register(
    "STREAM-015",
    "upstream_failure_reported_in_stream",
    "A stream whose upstream failed after its first bytes carries an error event, never a clean end.",
    _stream_failure,
)


def _pre_stream_error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.error is None or context.request.get("stream") is not True:
        raise NotApplicable
    if 200 <= exchange.status < 300:
        kind = exchange.content_type
        yield f"an error known before the first byte was sent as HTTP {exchange.status} ({kind})"
    elif error_object(exchange) is None:
        yield f"HTTP {exchange.status} without a JSON error envelope ({exchange.content_type})"


_register(
    "STREAM-017",
    "pre_stream_error_is_non_2xx",
    "With stream: true, an error known before the first byte is a non-2xx JSON error envelope.",
    _pre_stream_error,
)


def _usage_not_summed(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.upstream_usage is None or exchange.status != 200 or not exchange.is_stream:
        raise NotApplicable
    with_usage = [p for p in exchange.stream.json_payloads if isinstance(p.get("usage"), dict)]
    if len(with_usage) != 1:
        yield f"{len(with_usage)} events carry a usage object (expected one, the final chunk)"
    final = exchange.stream.last_usage  # where it sits is STREAM-003's finding; the counts are this one's
    if not isinstance(final, dict):
        yield "no final usage chunk"
        return
    prompt, completion = context.upstream_usage
    got = (final.get("prompt_tokens"), final.get("completion_tokens"))
    if got != (prompt, completion):
        yield f"usage (prompt, completion) is {got}, the upstream's final counts are {(prompt, completion)}"


_register(
    "STREAM-019",
    "cumulative_usage_not_summed",
    "Cumulative upstream usage gives one usage chunk equal to the upstream's final counts.",
    _usage_not_summed,
)


# --------------------------------------------------------------------------------------------------
# CLIENT: the official openai SDK
# --------------------------------------------------------------------------------------------------


def _sdk_success(sdk: SdkOutcome) -> Iterator[str]:
    if sdk.raised:
        yield f"the SDK raised {sdk.raised[0]}: {sdk.error_fields.get('message', '')}"[:300]
        return
    if sdk.kind == "completion":
        metadata = sdk.routing_metadata
        if sdk.metadata_claimed and (
            not isinstance(metadata, dict) or not isinstance(metadata.get("provider"), str)
        ):
            yield f"routing_metadata is not readable from the parsed completion: {metadata!r}"
        if not sdk.text:
            yield "the parsed completion has no message content"
    elif sdk.kind == "stream":
        last = sdk.last_chunk or {}
        if sdk.chunks == 0:
            yield "the stream yielded no chunks"
        if last.get("choices") != [] or not isinstance(last.get("usage"), dict):
            yield f"the last chunk has choices {last.get('choices')!r} and usage {last.get('usage')!r}"


def _sdk_sync(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    if context.sdk is None:
        raise NotApplicable
    yield from _sdk_success(context.sdk)


def _sdk_async(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk
    if sdk is None:
        raise NotApplicable
    yield from _sdk_success(sdk)
    if context.reference_text is not None and not sdk.raised and sdk.text != context.reference_text:
        want = context.reference_text[:80]
        yield f"async text {str(sdk.text)[:80]!r} differs from the sync client's {want!r}"


def _sdk_strategy(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk
    if sdk is None:
        raise NotApplicable
    yield from _sdk_success(sdk)
    metadata = sdk.routing_metadata if isinstance(sdk.routing_metadata, dict) else {}
    if context.expected_strategy and metadata.get("routing_strategy") != context.expected_strategy:
        got = metadata.get("routing_strategy")
        yield f"routing_strategy via extra_body is {got!r}, expected {context.expected_strategy!r}"


SDK_STATUS_CLASSES = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError"}


def _sdk_error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk
    if sdk is None or sdk.kind != "error":
        raise NotApplicable
    want = SDK_STATUS_CLASSES.get(sdk.status or 0)
    if not sdk.raised:
        yield f"the SDK raised nothing for HTTP {sdk.status}"
        return
    if want and want not in sdk.raised:
        yield f"HTTP {sdk.status} raised {sdk.raised[0]}, expected openai.{want}"
    envelope = sdk.envelope or {}
    for key in ("code", "param", "type"):
        if sdk.error_fields.get(key) != envelope.get(key):
            got = sdk.error_fields.get(key)
            yield f"exception .{key} is {got!r}, the envelope says {envelope.get(key)!r}"
    if not sdk.request_id:
        yield "the request ID is not available from the exception's response headers"


def _sdk_mid_stream(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk
    if sdk is None or sdk.kind != "stream":
        raise NotApplicable
    if "APIError" not in sdk.raised:
        yield f"a stream whose upstream failed ended without openai.APIError (after {sdk.chunks} chunks)"


_register(
    "CLIENT-001", "sdk_sync_client_works", "openai.OpenAI: create() parses, streams end cleanly.", _sdk_sync
)
_register(
    "CLIENT-002", "sdk_async_client_works", "openai.AsyncOpenAI gives the sync client's results.", _sdk_async
)
_register("CLIENT-003", "sdk_extra_body_gateway", "extra_body gateway.routing is honoured.", _sdk_strategy)
_register(
    "CLIENT-004",
    "sdk_error_classes",
    "401/404/400 raise the SDK's typed errors with code/param/type.",
    _sdk_error,
)
_register(
    "CLIENT-005",
    "sdk_mid_stream_error_raises",
    "A mid-stream error event raises openai.APIError.",
    _sdk_mid_stream,
)


# --------------------------------------------------------------------------------------------------
# Scenario discovery from the model directory
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """One provider of one model as GET /v1/models lists it."""

    model: str
    provider: str  # the target's provider name (what gateway.routing.providers takes)
    instance: str  # the mock instance behind it
    blended: float  # average of input and output price per 1M tokens
    data_policy: str | None


@dataclass(slots=True)
class Directory:
    """The target's models and their providers, reduced to what routing scenarios need."""

    offers: dict[str, list[Offer]]
    #: models listed with an explicit empty `providers` array (no standard-tier offering)
    empty: frozenset[str] = frozenset()

    @classmethod
    def from_listing(
        cls, listing: Any, instances: Callable[[str], str], known_instances: Iterable[str]
    ) -> Directory:
        """Parse a GET /v1/models body; offerings whose instance is not a mock are dropped."""
        known = frozenset(known_instances)
        offers: dict[str, list[Offer]] = {}
        empty: set[str] = set()
        data = listing.get("data") if isinstance(listing, dict) else None
        for model in data if isinstance(data, list) else []:
            if not isinstance(model, dict) or not isinstance(model.get("id"), str):
                continue
            if model.get("providers") == []:
                empty.add(model["id"])
            entries = []
            for p in model.get("providers") or []:
                if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                    continue
                prices = (p.get("input_price"), p.get("output_price"))
                if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in prices):
                    continue
                instance = instances(p["name"])
                if instance not in known:
                    continue
                blended = (float(prices[0]) + float(prices[1])) / 2
                entries.append(Offer(model["id"], p["name"], instance, blended, p.get("data_policy")))
            offers[model["id"]] = entries
        return cls(offers, frozenset(empty))

    def single(self, model: str) -> Offer | None:
        """The offer of a model served by exactly one (mock-backed) provider."""
        entries = self.offers.get(model) or []
        return entries[0] if len(entries) == 1 else None

    def duo(self, max_ratio: float = 0.8) -> tuple[Offer, Offer] | None:
        """A model with exactly two providers on distinct instances, the cheaper at most `max_ratio` of the
        dearer (so cost-focus has a clear answer): (cheap, dear)."""
        for entries in self.offers.values():
            if len(entries) != 2 or entries[0].instance == entries[1].instance:
                continue
            cheap, dear = sorted(entries, key=lambda o: o.blended)
            if dear.blended > 0 and cheap.blended <= max_ratio * dear.blended:
                return cheap, dear
        return None

    def pool_pair(self, models: Iterable[str], max_ratio: float = 0.5) -> tuple[Offer, Offer] | None:
        """Two single-provider models on distinct instances, (dearest, cheapest), far apart in price."""
        singles = [o for o in (self.single(m) for m in models) if o is not None]
        if len(singles) < 2:
            return None
        cheap = min(singles, key=lambda o: o.blended)
        dear = max(singles, key=lambda o: o.blended)
        if cheap.instance == dear.instance or cheap.blended > max_ratio * dear.blended:
            return None
        return dear, cheap

    def without_policy(self, policy: str, models: Iterable[str]) -> str | None:
        """A model (from `models`) none of whose providers declares `policy`."""
        for model in models:
            entries = self.offers.get(model) or []
            if entries and all(o.data_policy is not None and o.data_policy != policy for o in entries):
                return model
        return None

    def premium_only(self) -> str | None:
        """A listed model with no standard-tier provider (the directory lists an empty `providers`)."""
        return min(self.empty) if self.empty else None


def native_usage(entry: Mapping[str, Any]) -> tuple[int, int] | None:
    """(prompt, completion) tokens from the usage object an upstream returned, in any provider's shape:
    OpenAI-style `prompt_tokens`/`completion_tokens`, Anthropic `input_tokens` (+ cache reads and writes)
    and `output_tokens`, Gemini `promptTokenCount` and `candidatesTokenCount` (+ `thoughtsTokenCount`)."""
    usage = entry.get("response_usage")
    if not isinstance(usage, dict):
        return None

    def count(*keys: str) -> int:
        return sum(int(usage.get(k) or 0) for k in keys)

    if "prompt_tokens" in usage:
        return count("prompt_tokens"), count("completion_tokens")
    if "input_tokens" in usage:
        prompt = count("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        return prompt, count("output_tokens")
    if "promptTokenCount" in usage:
        return count("promptTokenCount"), count("candidatesTokenCount", "thoughtsTokenCount")
    return None
