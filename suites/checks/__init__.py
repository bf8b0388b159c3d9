"""Conformance checks: small named functions, each bound to one requirement ID.

A check looks at one observed exchange (plus what the test knows, in a `Context`) and yields a message
for every way the exchange breaks its requirement. It never raises and never talks to the network, so
the project's own tests can prove each check fails on a broken response. The plugin turns findings into
verdicts using the requirement's level from the catalogue (MUST fails, SHOULD/MAY inform).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from auriko_conformance.suites.exchange import Exchange, ItemKind


class Applies(Enum):
    ANY = "any"  # every response of the target
    COMPLETION = "completion"  # a 200 application/json chat completion
    STREAM = "stream"  # a 200 text/event-stream chat completion
    ERROR = "error"  # a 4xx/5xx response


@dataclass(slots=True)
class Context:
    """What a test knows beyond the exchange: the request it sent and what the target claims."""

    request: dict[str, Any] = field(default_factory=dict)
    #: USD per 1M tokens for the provider that served the request, when the target profile lists them
    prices: dict[str, float] | None = None
    #: the text of a non-stream answer to the same request, to compare with the joined stream
    reference_text: str | None = None
    #: the routing strategy the request asked for, as the response must echo it
    expected_strategy: str | None = None
    #: parameters the test knows the chosen provider cannot take (each needs a warning when dropped)
    dropped_parameters: tuple[str, ...] = ()
    #: the canonical model ID the request resolves to (alias and suffix removed)
    expected_canonical: str | None = None
    #: features the target's profile claims (None: all); checks needing others do not run
    claims: frozenset[str] | None = None

    def claimed(self, feature: str) -> bool:
        return self.claims is None or feature in self.claims


@dataclass(frozen=True, slots=True)
class Finding:
    requirement: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"[{self.requirement}] {self.check}: {self.message}"


CheckFunc = Callable[[Exchange, Context], Iterable[str]]
#: a declared precondition: does this exchange, under this context, give the check a subject?
Precondition = Callable[[Exchange, Context], bool]


class NotApplicable(Exception):
    """Raised by a check when the exchange gives it nothing to judge (e.g. a budget rule on a 200).

    The report counts a requirement as exercised only when one of its checks actually judged
    something, so "pass" never means "never looked".
    """


class Blocked(Exception):
    """Raised by a check whose subject never came because something it depends on did not hold (the
    target answered an HTTP error where an answer was due; the warnings it reads are not objects). Its
    requirement reads "blocked", linked to `roots` when the check knows the rule that failed (it must be
    a rule whose own check fails on the same observation), else to the root cause the judge finds
    (`suites.plugin.Judge`), never "fail": one defect, one finding.
    """

    def __init__(self, reason: str, roots: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.roots = roots


class Located(str):
    """A finding's message that knows where in the body its defect is (a JSON path with indexes as
    `[*]`): a catch-all rule (SCHEMA-002, ERR-001) names the place, and the judge leaves the defect to
    the specific rule that owns it when that rule failed on the same exchange (`check(defers=...)`)."""

    path: str

    def __new__(cls, message: str, path: str) -> Located:
        located = super().__new__(cls, message)
        located.path = re.sub(r"\[\d+\]", "[*]", path)
        return located


class Restated(Located):
    """A finding's message at a place a general rule states for every situation (the `param` an error
    names is ERR-014's): the judge records it under that rule (`owner`) when the run judges it, and the
    reading rule reads blocked by it. Unlike a deferred place, the owner needs no check of its own on the
    exchange: the reading rule's observation is the owner's subject, stated in the owner's words."""

    owner: str

    def __new__(cls, message: str, path: str, owner: str) -> Restated:
        restated = super().__new__(cls, message, path)
        restated.owner = owner
        return restated


#: a finding about the HTTP status alone: the status line is readable whatever the body is, so such a
#: finding is never left to the rule of an unreadable body (D-149), as findings about headers are not
STATUS = "(the HTTP status)"


def about_status(message: str) -> Located:
    return Located(message, STATUS)


#: a rule's "and the request works" clause, when the answer failed: where a translation rule explains the
#: provider's refusal on the same exchange, the failure is that rule's finding (D-153). The owners are every
#: upstream-side rule but the clause's own, resolved when the judge settles (`upstream_rules`)
REFUSED = "(the request failed)"
ANY_UPSTREAM_RULE: tuple[str, ...] = ("(any upstream-side rule)",)
REFUSED_OWNERS: dict[str, tuple[str, ...]] = {REFUSED: ANY_UPSTREAM_RULE}


def request_failed(message: str) -> Located:
    return Located(message, REFUSED)


def upstream_rules() -> frozenset[str]:
    """The requirements whose checks judge what a provider received (`upstream_side`)."""
    _load_all()
    return frozenset(c.requirement for c in REGISTRY.values() if c.upstream_side)


def owners_of(defers: Mapping[str, tuple[str, ...]], path: str) -> tuple[str, ...]:
    """The requirements owning `path`: those of the longest declared prefix (a prefix ends at `.` or
    `[`), none when no prefix covers it."""
    best = ""
    for prefix in defers:
        if len(prefix) > len(best) and (
            path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".[")
        ):
            best = prefix
    return defers.get(best, ())


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    requirement: str
    applies: Applies
    func: CheckFunc
    doc: str
    #: target-profile features this check judges; unclaimed ones are not held against the target
    needs: tuple[str, ...] = ()
    #: the kind of context the check judges (a routing check needs what its scenario makes known)
    context: type[Context] = Context
    #: context fields the scenario must have set (not None, not False) for the check to apply
    given: tuple[str, ...] = ()
    #: what else must hold of the exchange and the request for the check to have a subject
    when: Precondition | None = None
    #: upstream flavours (`context.upstream.flavour`) the check judges; empty: any
    flavours: frozenset[str] = frozenset()
    #: the check judges only what the gateway sent upstream, so it can name the cause of an upstream
    #: refusal even when the client got an error (see `suites.verdict`)
    upstream_side: bool = False
    #: a catch-all's places owned by specific rules (path prefix -> requirements): a `Located` finding
    #: at such a place is left to its owner when the owner failed on the same exchange
    defers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def selects(self, exchange: Exchange, context: Context) -> bool:
        """Whether the exchange and the context give this check a subject (its declared applicability)."""
        if not isinstance(context, self.context):
            return False
        for name in self.given:
            value = getattr(context, name, None)
            if value is None or value is False:
                return False
        if self.flavours:
            upstream = getattr(context, "upstream", None)
            if getattr(upstream, "flavour", None) not in self.flavours:
                return False
        return self.when is None or self.when(exchange, context)

    def run(self, exchange: Exchange, context: Context) -> list[Finding]:
        return self.judge(exchange, context)[0]

    def judge(self, exchange: Exchange, context: Context) -> tuple[list[Finding], bool]:
        """(findings, applied): `applied` is False when the check found no subject (NotApplicable).
        `Blocked` propagates: only the judge can name what blocked it."""
        if not self.selects(exchange, context):
            return [], False
        findings: list[Finding] = []
        try:
            for message in self.func(exchange, context):
                findings.append(Finding(self.requirement, self.name, message))
        except NotApplicable:
            return findings, bool(findings)
        return findings, True


REGISTRY: dict[str, Check] = {}


def check(
    requirement: str,
    applies: Applies = Applies.ANY,
    *,
    needs: tuple[str, ...] = (),
    context: type[Context] = Context,
    given: tuple[str, ...] = (),
    when: Precondition | None = None,
    flavours: Iterable[str] = (),
    upstream_side: bool = False,
    defers: Mapping[str, tuple[str, ...]] | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under its requirement ID with its applicability (names are unique).

    The registry selects a check only when its declaration holds (`Check.selects`), so the check's body
    judges instead of probing whether it applies; `NotApplicable` stays for subjects known only while
    reading the exchange (a stream that carried no tool call).
    """

    def register(func: CheckFunc) -> CheckFunc:
        name = func.__name__
        if name in REGISTRY:
            raise ValueError(f"two checks named {name!r}")
        declared: dict[str, Any] = {
            "needs": needs,
            "context": context,
            "given": given,
            "when": when,
            "flavours": frozenset(flavours),
            "upstream_side": upstream_side,
            "defers": dict(defers or {}),
        }
        REGISTRY[name] = Check(name, requirement, applies, func, (func.__doc__ or "").strip(), **declared)
        return func

    return register


def register(
    requirement: str, name: str, doc: str, body: CheckFunc, applies: Applies = Applies.ANY, **declared: Any
) -> None:
    """Register `body` as check `name` of `requirement`: one observation bound to several requirements
    (the allowlist, the exclusion list and the price ceiling all say "only these were called")."""

    def func(exchange: Exchange, context: Context) -> Iterable[str]:
        return body(exchange, context)

    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    func.__module__ = body.__module__  # where the requirement's checks live, for readers and tests
    check(requirement, applies, **declared)(func)


def family(rows: Mapping[str, tuple[str, str]], body: CheckFunc, **declared: Any) -> None:
    """Register `body` once per row: requirement -> (check name, docstring)."""
    for requirement, (name, doc) in rows.items():
        register(requirement, name, doc, body, **declared)


def applicable(exchange: Exchange) -> set[Applies]:
    kinds = {Applies.ANY}
    chat = exchange.url.rstrip("/").endswith("/chat/completions")
    if exchange.status >= 400:
        kinds.add(Applies.ERROR)
    elif exchange.status == 200 and chat and exchange.is_stream:
        kinds.add(Applies.STREAM)
    elif exchange.status == 200 and chat and not error_under_200(exchange):
        kinds.add(Applies.COMPLETION)
    return kinds


def error_under_200(exchange: Exchange) -> bool:
    """A 200 whose body is an error and no completion: a JSON error envelope (the status is ERR-003's
    finding), or a stream of error events without one chunk (an error known before the stream began,
    STREAM-017's). The rules of completions have no completion to judge: they would restate it as a dozen
    missing fields."""
    if exchange.status != 200:
        return False
    if exchange.is_stream:
        kinds = {item.kind for item in exchange.stream.items}
        return ItemKind.ERROR in kinds and not kinds & {ItemKind.CHUNK, ItemKind.USAGE}
    body = exchange.json
    return exchange.error is not None and isinstance(body, dict) and "choices" not in body


def select_checks(
    exchange: Exchange,
    only: Iterable[str] | None = None,
    claims: frozenset[str] | None = None,
    context: Context | None = None,
) -> list[Check]:
    """The registered checks that apply to this exchange (or just the named ones) and whose features
    the target claims (all, when `claims` is None). With a context, only the checks it gives a subject."""
    _load_all()
    if only is not None:
        chosen = [REGISTRY[name] for name in only]
    else:
        kinds = applicable(exchange)
        chosen = [c for c in REGISTRY.values() if c.applies in kinds]
    if context is not None:
        chosen = [c for c in chosen if c.selects(exchange, context)]
    return [c for c in chosen if is_claimed(c, claims)]


def is_claimed(chk: Check, claims: frozenset[str] | None) -> bool:
    """Whether the target claims every feature the check needs (all of them, when `claims` is None)."""
    return claims is None or all(feature in claims for feature in chk.needs)


def unclaimed_checks(
    exchange: Exchange,
    only: Iterable[str] | None,
    claims: frozenset[str] | None,
    context: Context | None = None,
) -> list[Check]:
    """The checks that would apply to this exchange but need a feature the target does not claim:
    their requirements read "not claimed" rather than "not run" when nothing else judged them."""
    if claims is None:
        return []
    return [c for c in select_checks(exchange, only, context=context) if not is_claimed(c, claims)]


def run_checks(
    exchange: Exchange,
    context: Context | None = None,
    *,
    only: Iterable[str] | None = None,
) -> list[Finding]:
    """Run every registered check that applies to this exchange (or just the named ones)."""
    context = context or Context()
    findings: list[Finding] = []
    for chk in select_checks(exchange, only, context.claims, context):
        try:
            findings.extend(chk.run(exchange, context))
        except Blocked:
            continue  # no subject: nothing to find (the judge records it as blocked)
    return findings


def _load_all() -> None:
    """Import every module of this package so their decorators register the checks."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def all_checks() -> dict[str, Check]:
    _load_all()
    return dict(REGISTRY)
