"""ROUTE and META-011: routing decisions, constraints, multi-model modes, suffixes and fallback.

Each scenario is built so the right answer is known whatever the target has measured: strategies and
filters are judged on one model that two mock instances serve at clearly different prices (found in the
target's GET /v1/models directory), so cost-focus has one answer, a `prefer` or a price ceiling changes
it visibly, and a failure injected with a `[[mock: provider=<instance> ...]]` directive hits exactly
the attempt the scenario expects. What happened upstream is read back from the mock journal by the
test's correlation tag; nothing here changes a mock instance globally, so tests run in parallel.

Where a scenario needs a provider that cannot do something (Anthropic has no `seed`, no `n` and no JSON
mode, and refuses forced tool use while thinking; DeepSeek has no structured output and no vision), it
uses the model the target profile maps to that provider: these are facts of the providers' own APIs,
which the mocks enforce, not choices of the reference gateway.

The helpers at the top are shared with test_upstream_faults.py and test_client_sdk.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.checks import all_checks
from auriko_conformance.suites.checks.meta import account_disputed
from auriko_conformance.suites.checks.strategy import ChoiceContext, Promise, selection
from auriko_conformance.suites.checks.xlate import refused_request
from auriko_conformance.suites.directory import Directory, Offer
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.plugin import NOT_CLAIMED, Judge
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.scenario import ExpectedError, RouteContext
from auriko_conformance.suites.target import Mocks, Target

PROMPT = "Name three rivers."
#: per-attempt allowance in fault scenarios: long enough for a healthy mock, short enough to keep runs fast
ATTEMPT_MS = 300
#: how long a fault scenario may take on the client side before the suite stops waiting (a target that
#: ignores `timeout_ms` would otherwise hold each test for the 600 s a mock `timeout` lasts)
PATIENCE_S = 5.0
DATA_POLICY_RANK = ("none", "no_training", "zdr")


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def directive(**values: Any) -> str:
    """`[[mock: k=v ...]]`; `True` values become bare flags (e.g. timeout)."""
    parts = [key if value is True else f"{key}={value}" for key, value in values.items()]
    return f"[[mock: {' '.join(parts)}]]"


def model_on(profile: TargetProfile, instance: str) -> str | None:
    """The profile's model for the provider whose mock instance is `instance` (provider names differ per
    target: `google` or `gemini`, `vllm` or `hosted_vllm`)."""
    for provider, model in profile.models_by_provider.items():
        if profile.mock_instance(provider) == instance:
            return model
    return None


def body(
    model: str | None = None,
    *,
    text: str = PROMPT,
    directives: Iterable[str] = (),
    routing: Mapping[str, Any] | None = None,
    models: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A chat request: `model` or `gateway.models`, routing options, directives after the text."""
    content = " ".join([text, *directives])
    request: dict[str, Any] = {"messages": [{"role": "user", "content": content}], **fields}
    if models is not None:
        request["gateway"] = {"models": models}
    elif model is not None:
        request["model"] = model
    if routing:
        request.setdefault("gateway", {})["routing"] = dict(routing)
    return request


def no_answer(
    judge: Judge,
    requirement: str,
    exchange: Exchange | None,
    seconds: float = PATIENCE_S,
    why: str = "although the request set timeout_ms",
    *,
    bounded_by: str | None = None,
) -> Exchange:
    """Fail (or inform) when a fault scenario got no response at all within `seconds`. With `bounded_by`,
    the rule that bounds the wait (ROUTE-023: a provider silent past `timeout_ms` is abandoned) is the
    finding, and `requirement`, whose situation (every attempt timed out) never came, reads blocked."""
    if exchange is None:
        message = f"no response within {seconds:g} s {why}"
        if bounded_by is not None:
            judge.require(bounded_by, False, message)
            judge.block(
                requirement, "the gateway never gave up on the silent provider", (bounded_by,), stops=False
            )
        else:
            judge.require(requirement, False, message)
        pytest.fail(f"no response within {seconds:g} s", pytrace=False)
    return exchange


def settled_journal(mocks: Mocks, tag: str, wait_s: float = 1.5) -> list[dict[str, Any]]:
    return mocks.settled_journal(tag, wait_s)


@dataclass(slots=True)
class Scene:
    """What routing scenarios are built from: the target's model directory mapped onto mock instances."""

    directory: Directory
    profile: TargetProfile
    instances: dict[str, str]  # target provider name -> mock instance

    def single(self, instance: str) -> Offer | None:
        """The profile's model on mock `instance`, when only that provider serves it."""
        model = model_on(self.profile, instance)
        offer = self.directory.single(model) if model else None
        return offer if offer is not None and offer.instance == instance else None

    def need_single(self, instance: str) -> Offer:
        offer = self.single(instance)
        if offer is None:
            pytest.skip(NOT_CLAIMED + f"no single-provider profile model on the {instance!r} mock")
        return offer

    def duo(self) -> tuple[Offer, Offer]:
        pair = self.directory.duo()
        if pair is None:
            pytest.skip(
                NOT_CLAIMED + "no model served by two mock-backed providers at clearly different prices"
            )
        return pair

    def default(self) -> Offer:
        offer = self.directory.single(self.profile.default_model)
        if offer is None:
            pytest.skip(
                NOT_CLAIMED + f"default model {self.profile.default_model!r} has not exactly one provider"
            )
        return offer

    def context(
        self, exchange: Exchange, journal: list[dict[str, Any]] | None, **fields: Any
    ) -> RouteContext:
        return RouteContext(
            request=exchange.request_body or {}, journal=journal, instances=self.instances, **fields
        )


_SCENES: dict[tuple[str, str], Scene] = {}


def scene(target: Target, profile: TargetProfile, mocks: Mocks) -> Scene:
    """The session's Scene (built once per target, from GET /v1/models and the mock's instance list)."""
    key = (target.base_url, mocks.base_url)
    if key not in _SCENES:
        if not profile.claims_feature("models_endpoint"):
            pytest.skip(NOT_CLAIMED + "models_endpoint (routing scenarios are found in GET /v1/models)")
        listing = target.request("GET", "/v1/models")
        if listing.status != 200 or not isinstance(listing.json, dict):
            pytest.skip(NOT_CLAIMED + f"GET /v1/models answered HTTP {listing.status}")
        known = mocks.providers()
        names: set[str] = set()
        for model in listing.json.get("data") or []:
            for p in (model.get("providers") or []) if isinstance(model, dict) else []:
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    names.add(p["name"])
        instances = {name: profile.mock_instance(name) for name in names}
        directory = Directory.from_listing(listing.json, profile.mock_instance, known)
        _SCENES[key] = Scene(directory, profile, instances)
    return _SCENES[key]


def answered(judge: Judge, exchange: Exchange, requirement: str, context: RouteContext, *checks: str) -> None:
    """A 200 the applicable checks accept, then the named route checks, META-011 included.

    No answer: the named route checks judge the journal first (a gateway that stopped before the
    instance that had to answer fails the routing rule), else the refusal is the root; the test's
    requirements read blocked by it, never "expected 200".
    """
    journal = context.journal or ()
    refused = refused_request(context.request, journal)
    probe, probes = (refused, None) if refused is not None else (context, checks)
    if expect.success(judge, exchange, requirement, upstream=probe, journal=journal, probes=probes):
        judge(exchange, context, only=[*checks, "provider_names_answering_endpoint"])


def failed(judge: Judge, exchange: Exchange, context: RouteContext, *checks: str) -> None:
    """An error the applicable checks accept, then the named route checks, and on a stream how the error
    is sent (STREAM-017: an error sent under 200 is its finding, and the route checks leave it to it)."""
    judge(exchange)
    judge(exchange, context, only=[*checks, "pre_stream_error_is_non_2xx"])


# --------------------------------------------------------------------------------------------------
# Provider filters: providers, exclude_providers, prefer
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("ROUTE-001", "META-011")
@pytest.mark.needs("gateway_routing")
def test_providers_is_a_hard_allowlist(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    routing = {"providers": [dear.provider], "optimize": "cost-focus"}
    exchange = target.chat(body(cheap.model, routing=routing), tag=tag)
    context = s.context(
        exchange,
        settled_journal(mocks, tag),
        allowed=frozenset({dear.instance}),
        answer_from=frozenset({dear.instance}),
    )
    answered(judge, exchange, "ROUTE-001", context, "providers_allowlist_respected")


@pytest.mark.requirement("ROUTE-002")
@pytest.mark.needs("gateway_routing")
def test_allowlist_that_cannot_serve_the_model(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    offer = s.default()
    others = sorted(name for name in s.instances if name != offer.provider)
    if not others:
        pytest.skip(NOT_CLAIMED + "the directory lists only one provider")
    exchange = target.chat(body(offer.model, routing={"providers": [others[0]]}), tag=tag)
    context = s.context(exchange, None, error=ExpectedError(400, frozenset({"provider_not_in_allowlist"})))
    failed(judge, exchange, context, "allowlist_miss_is_400")


@pytest.mark.requirement("ROUTE-003", "META-011")
@pytest.mark.needs("gateway_routing")
def test_exclude_providers_is_honoured(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()  # cost-focus would choose `cheap`: excluding it must move the request
    routing = {"exclude_providers": [cheap.provider], "optimize": "cost-focus"}
    exchange = target.chat(body(cheap.model, routing=routing), tag=tag)
    context = s.context(
        exchange,
        settled_journal(mocks, tag),
        forbidden=frozenset({cheap.instance}),
        answer_from=frozenset({dear.instance}),
    )
    answered(judge, exchange, "ROUTE-003", context, "excluded_providers_not_called")


@pytest.mark.requirement("ROUTE-004")
@pytest.mark.needs("gateway_routing")
def test_filters_that_leave_no_candidate(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    want = ExpectedError(400, frozenset({"no_compatible_endpoint"}))
    excluded = target.chat(
        body(cheap.model, routing={"exclude_providers": [cheap.provider, dear.provider]}), tag=tag
    )
    failed(judge, excluded, s.context(excluded, None, error=want), "empty_filter_is_no_compatible_endpoint")
    candidates = [profile.default_model, *profile.models_by_provider.values()]
    model = s.directory.without_policy("zdr", candidates)
    if model is None:
        pytest.skip(NOT_CLAIMED + "no profile model whose providers all lack data_policy zdr")
    policy = target.chat(body(model, routing={"data_policy": "zdr"}), tag=tag)
    failed(judge, policy, s.context(policy, None, error=want), "empty_filter_is_no_compatible_endpoint")


@pytest.mark.requirement("ROUTE-005", "META-011")
@pytest.mark.needs("gateway_routing")
def test_prefer_is_a_soft_hint(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()  # prefer the dearer one, which cost-focus alone would not pick
    hit = target.chat(body(cheap.model, routing={"prefer": dear.provider, "optimize": "cost-focus"}), tag=tag)
    context = s.context(hit, settled_journal(mocks, tag), answer_from=frozenset({dear.instance}))
    answered(judge, hit, "ROUTE-005", context, "preferred_provider_answers")
    not_serving = sorted(name for name in s.instances if name not in (cheap.provider, dear.provider))
    for prefer in [*not_serving[:1], "no-such-provider-conformance"]:
        miss = target.chat(body(cheap.model, routing={"prefer": prefer}))
        expect.success(judge, miss, "ROUTE-005")


# --------------------------------------------------------------------------------------------------
# Strategy and constraints
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("ROUTE-006", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_cost_focus_picks_the_cheapest(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    exchange = target.chat(body(cheap.model, routing={"optimize": "cost-focus"}, stream=stream), tag=tag)
    context = s.context(exchange, settled_journal(mocks, tag), answer_from=frozenset({cheap.instance}))
    answered(judge, exchange, "ROUTE-006", context, "cheapest_provider_answers")


@pytest.mark.requirement("ROUTE-007", "META-011")
@pytest.mark.needs("gateway_routing")
def test_max_cost_per_1m_filters(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    ceiling = round((cheap.blended + dear.blended) / 2, 6)
    # prefer the dearer provider: only the ceiling can keep the request away from it
    routing = {"max_cost_per_1m": ceiling, "prefer": dear.provider}
    exchange = target.chat(body(cheap.model, routing=routing), tag=f"{tag}-a")
    context = s.context(
        exchange,
        settled_journal(mocks, f"{tag}-a"),
        forbidden=frozenset({dear.instance}),
        answer_from=frozenset({cheap.instance}),
    )
    answered(judge, exchange, "ROUTE-007", context, "cost_ceiling_respected")
    below = target.chat(body(cheap.model, routing={"max_cost_per_1m": round(cheap.blended / 2, 6)}), tag=tag)
    want = ExpectedError(400, frozenset({"cost_constraint_exceeded"}))
    failed(judge, below, s.context(below, None, error=want), "cost_ceiling_below_all_is_400")


@pytest.mark.requirement("ROUTE-008")
@pytest.mark.needs("gateway_routing")
def test_unmeetable_latency_or_output_mode_is_400(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    check = "unmeetable_latency_or_mode_is_400"
    # 1 ms (the smallest value the contract allows) on the provider the mocks keep slow (vllm-b waits
    # 50 ms before its first token): unmeetable by measurement and by any sane prior. On the default
    # model a loopback mock can really answer within 1 ms, so that case proves nothing.
    slow = next((offer for offer in s.duo() if offer.instance == "vllm-b"), None)
    if slow is None:
        pytest.skip(NOT_CLAIMED + "no model routed to the slow vllm-b mock")
    latency = target.chat(body(slow.model, routing={"max_ttft_ms": 1, "providers": [slow.provider]}), tag=tag)
    failed(
        judge,
        latency,
        s.context(latency, None, error=ExpectedError(400, frozenset({"latency_constraint_exceeded"}))),
        check,
    )
    schema = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    cases = [
        ("deepseek", schema, "structured_output_not_supported"),  # DeepSeek has JSON mode only
        ("anthropic", {"type": "json_object"}, "json_mode_not_supported"),  # Claude has no JSON mode
    ]
    for instance, response_format, code in cases:
        offer = s.single(instance)
        if offer is None:
            continue
        exchange = target.chat(
            body(offer.model, text="Reply in JSON.", response_format=response_format), tag=tag
        )
        failed(judge, exchange, s.context(exchange, None, error=ExpectedError(400, frozenset({code}))), check)


@pytest.mark.requirement("ROUTE-009")
@pytest.mark.needs("gateway_routing")
def test_unmeetable_throughput_floor(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    exchange = target.chat(body(profile.default_model, routing={"min_throughput_tps": 1_000_000}), tag=tag)
    want = ExpectedError(400, frozenset({"throughput_constraint_not_met"}))
    failed(judge, exchange, s.context(exchange, None, error=want), "unmeetable_throughput_is_400")


@pytest.mark.requirement("ROUTE-010", "META-011")
@pytest.mark.needs("gateway_routing")
def test_data_policy_filters_providers(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    pair = s.duo()
    ranks = [DATA_POLICY_RANK.index(o.data_policy) if o.data_policy in DATA_POLICY_RANK else -1 for o in pair]
    if ranks[0] == ranks[1] or max(ranks) <= 0:
        pytest.skip(NOT_CLAIMED + "the two providers of the duo model declare no distinct data policies")
    strict, lax = (pair[0], pair[1]) if ranks[0] > ranks[1] else (pair[1], pair[0])
    routing = {"data_policy": strict.data_policy, "prefer": lax.provider}  # only the policy can refuse `lax`
    exchange = target.chat(body(strict.model, routing=routing), tag=tag)
    context = s.context(
        exchange,
        settled_journal(mocks, tag),
        allowed=frozenset({strict.instance}),
        answer_from=frozenset({strict.instance}),
    )
    answered(judge, exchange, "ROUTE-010", context, "data_policy_respected")


@pytest.mark.requirement("ROUTE-011", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model")
def test_require_parameters_filters_providers(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    lacking = s.need_single("anthropic")  # the Anthropic Messages API has no `seed`
    capable = s.default()
    routing = {"require_parameters": True, "prefer": lacking.provider}
    pooled = target.chat(body(models=[lacking.model, capable.model], routing=routing, seed=7), tag=f"{tag}-a")
    context = s.context(pooled, settled_journal(mocks, f"{tag}-a"), forbidden=frozenset({lacking.instance}))
    answered(judge, pooled, "ROUTE-011", context, "required_parameters_respected")
    alone = target.chat(body(lacking.model, routing={"require_parameters": True}, seed=7), tag=tag)
    want = ExpectedError(400, frozenset({"required_params_not_supported"}))
    failed(judge, alone, s.context(alone, None, error=want), "required_params_unsupported_is_400")


@pytest.mark.requirement("ROUTE-012")
@pytest.mark.needs("gateway_routing")
def test_only_byok_without_keys(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """The conformance key's workspace is assumed to hold no BYOK provider keys."""
    s = scene(target, profile, mocks)
    exchange = target.chat(body(profile.default_model, routing={"only_byok": True}), tag=tag)
    want = ExpectedError(400, frozenset({"byok_keys_required"}))
    failed(judge, exchange, s.context(exchange, None, error=want), "only_byok_without_keys_is_400")


@pytest.mark.requirement("ROUTE-013")
@pytest.mark.needs("gateway_routing")
def test_premium_tier_needs_opt_in(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """The premium-only model is the profile's `routing.premium_only_model`, else a directory entry that
    lists no (standard-tier) provider at all."""
    s = scene(target, profile, mocks)
    model = s.profile.premium_only_model or s.directory.premium_only()
    if not model:
        pytest.skip(NOT_CLAIMED + "no model offered only at a premium tier")
    plain = target.chat(body(model), tag=tag)
    want = ExpectedError(400, frozenset({"tier_opt_in_required"}))
    failed(judge, plain, s.context(plain, None, error=want), "premium_tier_needs_opt_in")
    opted = target.chat(body(model, routing={"tier": "priority"}), tag=tag)
    expect.success(judge, opted, "ROUTE-013", subject=True)


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.mark.requirement("ROUTE-014", "META-011")
@pytest.mark.needs("gateway_routing", "tools", "reasoning")
def test_tool_choice_required_routes_to_honouring_providers(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """Anthropic refuses forced tool use while thinking is on (and so does the mock), so Claude with
    `reasoning_effort` set cannot honour `tool_choice: required` (D-043 names the same rule)."""
    s = scene(target, profile, mocks)
    claude = s.need_single("anthropic")
    fields = {"tools": TOOLS, "tool_choice": "required", "reasoning_effort": "low"}
    alone = target.chat(body(claude.model, text="Weather in Paris?", **fields), tag=tag)
    want = ExpectedError(400, frozenset({"tool_choice_required_not_supported"}))
    failed(judge, alone, s.context(alone, None, error=want), "tool_choice_required_unsupported_is_400")
    reasoner = profile.reasoning_model and s.directory.single(profile.reasoning_model)
    if not reasoner or reasoner.instance == claude.instance or not profile.claims_feature("multi_model"):
        return  # the routing half needs a pool of Claude and another reasoning model
    pooled = target.chat(
        body(
            models=[claude.model, reasoner.model],
            text="Weather in Paris?",
            routing={"prefer": claude.provider},
            **fields,
        ),
        tag=f"{tag}-a",
    )
    context = s.context(pooled, settled_journal(mocks, f"{tag}-a"), forbidden=frozenset({claude.instance}))
    answered(judge, pooled, "ROUTE-014", context, "forced_tool_choice_respected")


@pytest.mark.requirement("ROUTE-015", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model", "json_schema")
@pytest.mark.parametrize("mode", ["json_schema", "json_object"])
def test_output_mode_routes_to_capable_providers(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, mode: str
) -> None:
    s = scene(target, profile, mocks)
    if mode == "json_schema":
        lacking = s.need_single("deepseek")  # DeepSeek has JSON mode but no structured output
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}},
        }
    else:
        lacking = s.need_single("anthropic")  # Claude has no JSON mode
        response_format = {"type": "json_object"}
    capable = s.default()
    request = body(
        models=[lacking.model, capable.model],
        text="Reply in JSON.",
        routing={"prefer": lacking.provider},
        response_format=response_format,
    )
    exchange = target.chat(request, tag=tag)
    context = s.context(exchange, settled_journal(mocks, tag), forbidden=frozenset({lacking.instance}))
    answered(judge, exchange, "ROUTE-015", context, "output_mode_respected")


@pytest.mark.requirement("ROUTE-016")
@pytest.mark.needs("gateway_routing")
def test_capability_mismatch_is_a_hard_error(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    """An image to a model without vision (DeepSeek's chat API is text-only). The tools half of the
    requirement needs a model without tool support, which the directory cannot reveal."""
    s = scene(target, profile, mocks)
    blind = s.need_single("deepseek")
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    request = {
        "model": blind.model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}, image]}],
    }
    exchange = target.chat(request, tag=tag)
    want = ExpectedError(400, frozenset({"vision_not_supported"}))
    failed(judge, exchange, s.context(exchange, None, error=want), "capability_mismatch_is_400")


@pytest.mark.requirement("ROUTE-017")
def test_n_two_never_returns_one_choice(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    models = dict.fromkeys([profile.default_model, *profile.models_by_provider.values()])
    for model in models:
        for stream in (False, True):
            exchange = target.chat(body(model, n=2, stream=stream), tag=tag)
            judge(exchange, only=["n_choices_never_fewer"])
            judge.require(
                "ROUTE-017",
                exchange.status == 200 or exchange.status >= 400,
                f"HTTP {exchange.status}",
                exchange,
            )


@pytest.mark.requirement("ROUTE-018", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model", "n")
def test_n_routes_to_native_n_providers(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    lacking = s.need_single("anthropic")  # the Anthropic Messages API has no `n`
    alone = target.chat(body(lacking.model, n=2), tag=tag)
    want = ExpectedError(400, frozenset({"no_compatible_endpoint"}), param="n")
    failed(judge, alone, s.context(alone, None, error=want), "n_unsupported_is_no_compatible_endpoint")
    capable = s.default()
    pooled = target.chat(
        body(models=[lacking.model, capable.model], routing={"prefer": lacking.provider}, n=2), tag=f"{tag}-a"
    )
    context = s.context(pooled, settled_journal(mocks, f"{tag}-a"), forbidden=frozenset({lacking.instance}))
    expect.success(judge, pooled, "ROUTE-018")
    judge(
        pooled,
        context,
        only=["native_n_respected", "n_choices_never_fewer", "provider_names_answering_endpoint"],
    )


# --------------------------------------------------------------------------------------------------
# Multi-model: pool and fallback modes
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("ROUTE-019", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model")
def test_pool_mode_scores_across_models(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    pair = s.directory.pool_pair([profile.default_model, *profile.models_by_provider.values()])
    if pair is None:
        pytest.skip(NOT_CLAIMED + "no two single-provider profile models far apart in price")
    dear, cheap = pair  # the cheap one is listed second
    routing = {"mode": "pool", "optimize": "cost-focus"}
    exchange = target.chat(body(models=[dear.model, cheap.model], routing=routing), tag=tag)
    context = s.context(exchange, settled_journal(mocks, tag), answer_from=frozenset({cheap.instance}))
    answered(judge, exchange, "ROUTE-019", context, "pool_cheapest_answers")
    canonical = (exchange.json or {}).get("routing_metadata", {}).get("model_canonical")
    unreadable = {f.requirement for f in judge.findings} & {"META-001", "META-003", "META-004"}
    if not isinstance(canonical, str) and unreadable:  # no model_canonical to read: the report's rule
        judge.block(
            "ROUTE-019", "routing_metadata has no model_canonical", tuple(sorted(unreadable)), stops=False
        )
        return
    judge.require(
        "ROUTE-019", canonical in (dear.model, cheap.model), f"model_canonical is {canonical!r}", exchange
    )


@pytest.mark.requirement("ROUTE-020", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model")
def test_fallback_mode_exhausts_models_in_order(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    second = s.default()
    if second.instance in (cheap.instance, dear.instance):
        pytest.skip(NOT_CLAIMED + "the default model shares an instance with the duo model")
    failing = [directive(provider=o.instance, error=500) for o in (cheap, dear)]
    routing = {"mode": "fallback", "max_fallback_attempts": 3}
    exchange = target.chat(
        body(models=[cheap.model, second.model], directives=failing, routing=routing), tag=tag
    )
    context = s.context(
        exchange,
        settled_journal(mocks, tag),
        tried_first=frozenset({cheap.instance, dear.instance}),
        answer_from=frozenset({second.instance}),
    )
    answered(judge, exchange, "ROUTE-020", context, "fallback_mode_exhausts_models_in_order")


# --------------------------------------------------------------------------------------------------
# Fallback on upstream failures
# --------------------------------------------------------------------------------------------------


def _cheapest_tried_first(judge: Judge, exchange: Exchange, context: RouteContext, cheap: Offer) -> None:
    """The fallback scenarios fail the cheapest provider, which cost-focus must try first (ROUTE-006).
    With no upstream request at all the gateway refused before routing: nothing to judge here. When the
    gateway's account of who answered disagrees with the journal, which one it tried first cannot be told
    from where its calls went: META-011's finding, judged here on the same exchange (D-146)."""
    journal = context.journal or []
    if not journal:
        return
    first = journal[0].get("provider")
    message = (
        f"cost-focus tried {first!r} first, not the cheapest {cheap.instance!r}: no fallback was exercised"
    )
    if first != cheap.instance and account_disputed(exchange, context):
        judge(exchange, context, only=["provider_names_answering_endpoint"])
        judge.block("ROUTE-006", message, ("META-011",), stops=False)
        return
    judge.require("ROUTE-006", first == cheap.instance, message, exchange)


def _calls(journal: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(e.get("provider"), e.get("status")) for e in journal]


FAILURES = {
    "429": ({"error": 429, "retry_after": 1}, False),
    "500": ({"error": 500}, False),
    "502": ({"error": 502}, False),
    "503": ({"error": 503}, False),
    "reset": ({"disconnect_after": 0}, True),  # the connection drops before the first event
}


@pytest.mark.requirement("ROUTE-021", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("failure", list(FAILURES))
def test_fallback_on_upstream_429_and_5xx(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, failure: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    values, stream = FAILURES[failure]
    request = body(
        cheap.model,
        directives=[directive(provider=cheap.instance, **values)],
        routing={"optimize": "cost-focus", "allow_fallbacks": True},
        stream=stream,
    )
    exchange = target.chat(request, tag=tag)
    journal = settled_journal(mocks, tag)
    _cheapest_tried_first(judge, exchange, s.context(exchange, journal), cheap)
    context = s.context(exchange, journal, answer_from=frozenset({dear.instance}))
    answered(judge, exchange, "ROUTE-021", context, "next_candidate_answers")


@pytest.mark.requirement("ROUTE-022", "META-011")
@pytest.mark.needs("gateway_routing", "multi_model")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_529_is_retryable(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    s = scene(target, profile, mocks)
    claude = s.need_single("anthropic")
    other = s.default()
    request = body(
        models=[claude.model, other.model],
        directives=[directive(provider=claude.instance, error=529)],
        routing={"mode": "fallback"},
        stream=stream,
    )
    exchange = target.chat(request, tag=tag)
    journal = settled_journal(mocks, tag)
    if not expect.staged(judge, exchange, journal):
        return
    context = s.context(exchange, journal, answer_from=frozenset({other.instance}), error=ExpectedError(503))
    judge(exchange, context, only=["anthropic_529_never_500"])
    context.error = None
    answered(judge, exchange, "ROUTE-022", context, "next_candidate_after_overload")
    first = bool(journal) and journal[0].get("provider") == claude.instance
    if not first:
        # the 529 never came first because the listed order was not kept: mode fallback's rule (ROUTE-020,
        # judged on this journal) is the finding; an overload that never happened says nothing of ROUTE-022
        order = s.context(exchange, journal, tried_first=frozenset({claude.instance}))
        if judge(exchange, order, only=["fallback_mode_exhausts_models_in_order"]):
            reason = f"the overloaded Anthropic attempt was not made first: {_calls(journal)}"
            judge.block("ROUTE-022", reason, ("ROUTE-020",), stops=False)
            return
    judge.require(
        "ROUTE-022",
        first and journal[0].get("status") == 529,
        f"the first attempt was not the overloaded Anthropic one: {_calls(journal)}",
        exchange,
    )


@pytest.mark.requirement("ROUTE-023", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize(
    ("slowness", "stream"),
    [("hang", False), ("hang", True), ("slow", False), ("slow", True)],
    ids=["hang-json", "hang-stream", "slow-json", "slow-stream"],
)
def test_fallback_on_attempt_timeout(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, slowness: str, stream: bool
) -> None:
    """`hang`: the provider never answers; `slow`: its first byte would come 10x after `timeout_ms`."""
    s = scene(target, profile, mocks)
    cheap, dear = s.duo()
    slow = {"timeout": True} if slowness == "hang" else {"ttft_ms": ATTEMPT_MS * 10}
    request = body(
        cheap.model,
        directives=[directive(provider=cheap.instance, **slow)],
        routing={"optimize": "cost-focus", "timeout_ms": ATTEMPT_MS},
        stream=stream,
    )
    exchange = no_answer(judge, "ROUTE-023", target.chat_within(request, PATIENCE_S, tag=tag))
    journal = settled_journal(mocks, tag)
    _cheapest_tried_first(judge, exchange, s.context(exchange, journal), cheap)
    context = s.context(exchange, journal, answer_from=frozenset({dear.instance}))
    answered(judge, exchange, "ROUTE-023", context, "next_candidate_after_timeout")


@pytest.mark.requirement("ROUTE-024")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_allow_fallbacks_false_makes_one_attempt(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    request = body(
        cheap.model,
        directives=[directive(error=500)],  # every instance fails: a second attempt would be visible
        routing={"optimize": "cost-focus", "allow_fallbacks": False},
        stream=stream,
    )
    exchange = target.chat(request, tag=tag)
    # an upstream 500 maps to 502 (ERR-010's rule: a wrong mapping is its finding, not ROUTE-024's)
    want = ExpectedError(502, frozenset({"upstream_error"}), mapped_by="ERR-010")
    context = s.context(exchange, settled_journal(mocks, tag), max_upstream=1, min_upstream=1, error=want)
    failed(judge, exchange, context, "one_attempt_without_fallbacks", "single_attempt_error_is_mapped")


@pytest.mark.requirement("ROUTE-025")
@pytest.mark.needs("gateway_routing", "multi_model")
@pytest.mark.parametrize("attempts", [1, 2])
def test_max_fallback_attempts_caps_the_chain(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, attempts: int
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    models = list(dict.fromkeys([cheap.model, profile.default_model, *profile.models_by_provider.values()]))
    request = body(
        models=models[:10],
        directives=[directive(error=500)],
        routing={"max_fallback_attempts": attempts},
    )
    exchange = target.chat(request, tag=tag)
    context = s.context(exchange, settled_journal(mocks, tag), max_upstream=1 + attempts)
    failed(judge, exchange, context, "fallback_attempts_capped")


@pytest.mark.requirement("ROUTE-026")
@pytest.mark.needs("gateway_routing")
def test_fallbacks_are_on_by_default(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    exchange = target.chat(body(cheap.model, directives=[directive(error=503)]), tag=tag)
    context = s.context(exchange, settled_journal(mocks, tag), min_upstream=2)
    failed(judge, exchange, context, "fallbacks_on_by_default")


@pytest.mark.requirement("ROUTE-027")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_deadline_bounds_the_whole_chain(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, stream: bool
) -> None:
    s = scene(target, profile, mocks)
    cheap, _ = s.duo()
    # Attempts long enough that a gateway ignoring the deadline (two 1.5 s attempts, 3 s and more) lands
    # well past deadline + margin (2.4 s), while one honouring it ends near 1.7 s.
    attempt_ms, deadline_ms, margin_ms = 1500, 1700, 700
    routing = {"timeout_ms": attempt_ms, "deadline_ms": deadline_ms, "max_fallback_attempts": 3}
    request = body(cheap.model, directives=[directive(timeout=True)], routing=routing, stream=stream)
    exchange = no_answer(judge, "ROUTE-027", target.chat_within(request, PATIENCE_S, tag=tag))
    want = ExpectedError(504, frozenset({"upstream_timeout"}))  # STREAM-017 judges how it is sent
    context = s.context(exchange, None, within_ms=deadline_ms + margin_ms, error=want)
    failed(judge, exchange, context, "deadline_bounds_the_chain")


# --------------------------------------------------------------------------------------------------
# Model suffix shortcuts
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("ROUTE-028")
@pytest.mark.needs("model_suffix")
@pytest.mark.parametrize("suffix", ["cost-focus", "cost", "ttft-focus", "ttft", "tps-focus"])
def test_model_suffix_sets_the_strategy(
    target: Target, profile: TargetProfile, judge: Judge, tag: str, suffix: str
) -> None:
    exchange = target.chat(body(f"{profile.default_model}:{suffix}"), tag=tag)
    context = RouteContext(
        request=exchange.request_body, expected_strategy=suffix, expected_canonical=profile.default_model
    )
    judge(exchange, context, only=["suffix_sets_strategy"])


@pytest.mark.requirement("ROUTE-028")
@pytest.mark.needs("model_suffix")
def test_multi_colon_model_id_is_looked_up_whole(
    target: Target, profile: TargetProfile, judge: Judge, tag: str
) -> None:
    exchange = target.chat(body(f"ft:{profile.default_model}:org:ttft"), tag=tag)
    judge(exchange)  # the envelope and its code (a legacy one is ERR-002's)
    expect.unknown_model_refused_otherwise(judge, exchange)  # refused, but not as REQ-026 says
    context = RouteContext(request=exchange.request_body, not_strategy="ttft")
    judge(exchange, context, only=["multi_colon_id_looked_up_whole"])


@pytest.mark.requirement("ROUTE-029")
@pytest.mark.needs("model_suffix", "gateway_routing")
@pytest.mark.parametrize(
    ("suffix", "optimize", "strategy"),
    [
        ("tps", None, "tps"),
        ("balanced", None, "balanced"),
        ("ttft", "tps", "tps"),
        ("cost", "ttft-focus", "ttft-focus"),
    ],
)
def test_extra_suffixes_and_optimize_precedence(
    target: Target,
    profile: TargetProfile,
    judge: Judge,
    tag: str,
    suffix: str,
    optimize: str | None,
    strategy: str,
) -> None:
    routing = {"optimize": optimize} if optimize else None
    exchange = target.chat(body(f"{profile.default_model}:{suffix}", routing=routing), tag=tag)
    context = RouteContext(
        request=exchange.request_body, expected_strategy=strategy, expected_canonical=profile.default_model
    )
    judge(exchange, context, only=["extra_suffix_or_optimize_wins"])


@pytest.mark.requirement("ROUTE-030")
@pytest.mark.needs("model_suffix")
def test_unknown_single_colon_suffix(target: Target, profile: TargetProfile, judge: Judge, tag: str) -> None:
    exchange = target.chat(body(f"{profile.default_model}:warp"), tag=tag)
    context = RouteContext(
        request=exchange.request_body, error=ExpectedError(404, frozenset({"model_not_found"}), "model")
    )
    judge(exchange)
    judge(exchange, context, only=["unknown_suffix_is_model_not_found"])


# --------------------------------------------------------------------------------------------------
# routing_metadata names the endpoint that answered
# --------------------------------------------------------------------------------------------------


@pytest.mark.requirement("META-011")
@pytest.mark.needs("routing_metadata")
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("instance", ["openai", "anthropic", "gemini", "deepseek", "vllm"])
def test_provider_fields_name_the_answering_endpoint(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, instance: str, stream: bool
) -> None:
    """Every provider's model, plain: the provider name maps to the instance the journal saw answer, and
    `provider_model_id` is the model that instance received (Gemini's is in the URL path)."""
    model = model_on(profile, instance)
    if model is None:
        pytest.skip(NOT_CLAIMED + f"the profile names no model on the {instance!r} mock")
    exchange = target.chat(body(model, stream=stream), tag=tag)
    instances = {p: profile.mock_instance(p) for p in profile.models_by_provider}
    context = RouteContext(
        request=exchange.request_body or {}, journal=settled_journal(mocks, tag), instances=instances
    )
    expect.success(judge, exchange, "META-011")
    judge(exchange, context, only=["provider_names_answering_endpoint"])


# --------------------------------------------------------------------------------------------------
# Strategies, weights and performance filters decide the provider (ROUTE-031..038, D-120, D-122)
# --------------------------------------------------------------------------------------------------

#: the price gap a contest needs: at a tenth of the price "favour cost" has one answer whatever the weights
CONTEST_PRICE_RATIO = 4.0
#: streamed requests pinned to each contestant before judging, so a gateway that measures has samples
WARMUP_REQUESTS = 5


@dataclass(frozen=True, slots=True)
class Speed:
    """A mock instance's latency settings: `tps` 0 means unpaced (as fast as the socket)."""

    ttft_ms: float
    tps: float

    @property
    def throughput(self) -> float:
        return float("inf") if self.tps <= 0 else self.tps


@dataclass(frozen=True, slots=True)
class Contest:
    """One model on two providers where price and speed disagree: `cheap` is slower on TTFT and
    throughput, `fast` costs at least CONTEST_PRICE_RATIO times as much."""

    cheap: Offer
    fast: Offer
    cheap_speed: Speed
    fast_speed: Speed

    def promise(self, winner: Offer, why: str, **fields: Any) -> Promise:
        loser = self.fast if winner is self.cheap else self.cheap
        return Promise(winner.instance, loser.instance, why, **fields)


_CONTESTS: dict[tuple[str, str], Contest | None] = {}


def _speed(mocks: Mocks, instance: str) -> Speed | None:
    knobs = mocks.provider(instance) or {}
    ttft, tps = knobs.get("ttft_ms"), knobs.get("tps")
    if not isinstance(ttft, int | float) or not isinstance(tps, int | float):
        return None
    return Speed(float(ttft), float(tps))


def _find_contest(s: Scene, mocks: Mocks) -> Contest | None:
    best: Contest | None = None
    for entries in s.directory.offers.values():
        if len(entries) != 2 or entries[0].instance == entries[1].instance:
            continue
        cheap, fast = sorted(entries, key=lambda o: o.blended)
        cheap_speed, fast_speed = _speed(mocks, cheap.instance), _speed(mocks, fast.instance)
        if cheap_speed is None or fast_speed is None or cheap.blended <= 0:
            continue
        slower = cheap_speed.ttft_ms > fast_speed.ttft_ms and cheap_speed.throughput < fast_speed.throughput
        ratio = fast.blended / cheap.blended
        best_ratio = best.fast.blended / best.cheap.blended if best else 0.0
        if slower and ratio >= CONTEST_PRICE_RATIO and ratio > best_ratio:
            best = Contest(cheap, fast, cheap_speed, fast_speed)
    return best


def contest(target: Target, profile: TargetProfile, mocks: Mocks) -> tuple[Scene, Contest]:
    """The session's contest, its contestants warmed up once (found in the directory and the mocks)."""
    s = scene(target, profile, mocks)
    key = (target.base_url, mocks.base_url)
    if key not in _CONTESTS:
        found = _find_contest(s, mocks)
        if found is not None:
            for offer in (found.cheap, found.fast):
                for _ in range(WARMUP_REQUESTS):
                    target.chat(body(offer.model, routing={"providers": [offer.provider]}, stream=True))
        _CONTESTS[key] = found
    found = _CONTESTS[key]
    if found is None:
        pytest.skip(
            NOT_CLAIMED + "no model on two mock-backed providers where the cheaper one is slower "
            f"and the faster one costs {CONTEST_PRICE_RATIO:g}x as much"
        )
    return s, found


def judge_choice(
    judge: Judge, mocks: Mocks, s: Scene, exchange: Exchange, tag: str, check: str, promise: Promise
) -> None:
    """The applicable checks, the contest's check, and META-011 on the same journal: when the gateway's
    account of who answered disagrees with the journal, the contest's reading of it is META-011's (D-146)."""
    journal = settled_journal(mocks, tag)
    context = ChoiceContext(
        request=exchange.request_body or {}, promise=promise, journal=journal, instances=s.instances
    )
    judge(exchange)
    judge(exchange, context, only=[check])
    judge(exchange, s.context(exchange, journal), only=["provider_names_answering_endpoint"])
    if promise.strategy is not None:  # the echo is META-005's: a contest's reading of it defers to it
        echo = RouteContext(request=exchange.request_body or {}, expected_strategy=promise.strategy)
        judge(exchange, echo, only=["routing_strategy_echoes_request"])
    judge.observe(all_checks()[check].requirement, f"{promise.why}: {selection(exchange, context)}")


STRATEGIES = {
    # strategy: (requirement's check, the contestant it must pick, why)
    "cost-focus": ("cost_focus_wins_the_contest", "cheap", "the lowest price"),
    "cost": ("base_strategy_favours_its_dimension", "cheap", "a tenth of the price"),
    "ttft-focus": ("ttft_focus_picks_fastest_first_token", "fast", "the lowest TTFT"),
    "ttft": ("base_strategy_favours_its_dimension", "fast", "a far lower TTFT"),
    "tps-focus": ("tps_focus_picks_highest_throughput", "fast", "the highest throughput"),
    "tps": ("base_strategy_favours_its_dimension", "fast", "a far higher throughput"),
    "balanced": ("balanced_picks_the_all_rounder", "fast", "ahead on TTFT and throughput"),
}


@pytest.mark.requirement("ROUTE-006", "ROUTE-031", "ROUTE-032", "ROUTE-033", "ROUTE-034", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_strategy_picks_what_it_promises(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, strategy: str
) -> None:
    s, c = contest(target, profile, mocks)
    check, side, why = STRATEGIES[strategy]
    winner = c.cheap if side == "cheap" else c.fast
    exchange = target.chat(body(c.cheap.model, routing={"optimize": strategy}), tag=tag)
    promise = c.promise(winner, f"{strategy}: {why}", strategy=strategy)
    judge_choice(judge, mocks, s, exchange, tag, check, promise)


WEIGHTS = {"cost": "cheap", "ttft": "fast", "throughput": "fast"}


@pytest.mark.requirement("ROUTE-035", "META-011")
@pytest.mark.needs("gateway_routing")
def test_weights_move_the_choice(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str
) -> None:
    s, c = contest(target, profile, mocks)
    for dimension, side in WEIGHTS.items():
        winner = c.cheap if side == "cheap" else c.fast
        sub = f"{tag}-{dimension}"
        routing = {"weights": {dimension: 1}}
        exchange = target.chat(body(c.cheap.model, routing=routing), tag=sub)
        promise = c.promise(winner, f"all weight on {dimension}", strategy="custom")
        judge_choice(judge, mocks, s, exchange, sub, "weights_decide_the_choice", promise)


def _filters(c: Contest) -> dict[str, tuple[str, dict[str, Any]] | None]:
    """The ceiling/floor between the contestants' speeds, or None when they are too close to split."""
    slow_ttft, fast_ttft = c.cheap_speed.ttft_ms, c.fast_speed.ttft_ms
    ttft_ceiling = max(fast_ttft + 30, round(slow_ttft * 0.8))  # 30 ms of room for loopback and load
    slow_tps = c.cheap_speed.throughput
    tps_floor = slow_tps * 2
    return {
        "ttft": (
            ("ttft_ceiling_excludes_the_slow", {"max_ttft_ms": ttft_ceiling})
            if ttft_ceiling < slow_ttft
            else None
        ),
        "tps": (
            ("throughput_floor_excludes_the_slow", {"min_throughput_tps": tps_floor})
            if tps_floor * 2 <= c.fast_speed.throughput
            else None
        ),
    }


PERCENTILE_CODES = {
    "ttft": frozenset({"latency_constraint_exceeded"}),
    "tps": frozenset({"throughput_constraint_not_met"}),
}
PERCENTILE_OPTION = {"ttft": "ttft_percentile", "tps": "throughput_percentile"}


def _judge_filter(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, dimension: str, p95: bool
) -> None:
    """A ceiling or floor between the contestants: only it can keep the request from the cheap, slow one
    (cost-focus and `prefer` both pull towards it). With `p95` the percentile option is set too (D-122)."""
    s, c = contest(target, profile, mocks)
    chosen = _filters(c)[dimension]
    if chosen is None:
        pytest.skip(NOT_CLAIMED + f"the contestants' {dimension} settings are too close to split")
    check, limit = chosen
    percentile = {PERCENTILE_OPTION[dimension]: "p95"} if p95 else {}
    routing = {**limit, **percentile, "optimize": "cost-focus", "prefer": c.cheap.provider}
    exchange = target.chat(body(c.cheap.model, routing=routing), tag=tag)
    promise = c.promise(
        c.fast,
        f"{limit}{' at p95' if p95 else ''} rules out {c.cheap.instance!r}",
        excludes_loser=True,
        tolerated_codes=PERCENTILE_CODES[dimension] if p95 else frozenset(),
    )
    judge_choice(judge, mocks, s, exchange, tag, "percentile_options_respected" if p95 else check, promise)


@pytest.mark.requirement("ROUTE-036", "ROUTE-037", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("dimension", ["ttft", "tps"])
def test_speed_filters_exclude_exactly_the_slow(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, dimension: str
) -> None:
    _judge_filter(target, profile, mocks, judge, tag, dimension, p95=False)


@pytest.mark.requirement("ROUTE-038", "META-011")
@pytest.mark.needs("gateway_routing")
@pytest.mark.parametrize("dimension", ["ttft", "tps"])
def test_percentile_options(
    target: Target, profile: TargetProfile, mocks: Mocks, judge: Judge, tag: str, dimension: str
) -> None:
    _judge_filter(target, profile, mocks, judge, tag, dimension, p95=True)
