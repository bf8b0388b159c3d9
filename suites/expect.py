"""Small assertions shared by the suites, each judged against a named requirement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auriko_conformance.suites.checks import Context
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext
from auriko_conformance.suites.exchange import Exchange, ItemKind
from auriko_conformance.suites.journal import refusals
from auriko_conformance.suites.plugin import ANSWERED, Judge, unstaged

#: the requirement that holds an error's code, param and type to the situation's (auriko scope)
CODES = "ERR-014"


def error(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    *,
    status: int,
    code: str | set[str],
    param: str | type[Any] | None = Any,
    param_prefix: str | None = None,
    error_type: str | None = None,
) -> None:
    """The exchange is an error with this status (`requirement`), and the contract's code, `param` (equal
    to, or under, the given one) and `type` for the situation (`CODES`, Auriko's registry: OpenAI's own API
    answers the same situations with the same statuses but other codes, D-092).

    Every applicable check runs on the exchange as well, so a right status with a malformed envelope
    still fails.
    """
    judge(exchange)
    got = exchange.error or {}
    codes = {code} if isinstance(code, str) else code
    said = f"HTTP {exchange.status} code {got.get('code')!r}"
    judge.require(requirement, exchange.status == status, f"expected HTTP {status}, got {said}", exchange)
    if exchange.status != status:
        return  # the situation was not recognised: its code is not the finding
    judge.require(
        CODES, got.get("code") in codes, f"{requirement}: expected code {sorted(codes)}, got {said}", exchange
    )
    if param is not Any:
        judge.require(
            CODES,
            got.get("param") == param,
            f"{requirement}: expected param {param!r}, got {got.get('param')!r}",
            exchange,
        )
    if param_prefix is not None:
        judge.require(
            CODES,
            str(got.get("param") or "").startswith(param_prefix),
            f"{requirement}: expected param under {param_prefix!r}, got {got.get('param')!r}",
            exchange,
        )
    if error_type is not None:
        judge.require(
            CODES, got.get("type") == error_type, f"{requirement}: type {got.get('type')!r}", exchange
        )


def success(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    *,
    upstream: Context | None = None,
    journal: Sequence[Mapping[str, Any]] = (),
    subject: bool = False,
    **context: Any,
) -> bool:
    """The exchange is a 200: the precondition of `requirement`; every applicable check runs as well.

    A chat request that was not answered does not fail `requirement`: it is blocked by the root cause
    (`Judge.attribute`: the upstream-side checks on `upstream`, what the upstream received, or else the
    refusal itself against "a valid request is answered"). Other endpoints have no such root: their
    own requirement fails, as it does when the answer is the requirement's `subject` (an opt-in that
    must make a refused request work). Returns whether the answer came.
    """
    judge(exchange, Context(request=exchange.request_body or {}, **context))
    answered = exchange.status == 200
    chat = exchange.url.rstrip("/").endswith("/chat/completions")
    if subject or not chat:
        judge.require(
            requirement,
            answered,
            f"expected HTTP 200, got {exchange.status}: {exchange.excerpt(300)}",
            exchange,
        )
    elif answered:
        judge.checked.update({requirement, ANSWERED})
    else:
        roots = judge.attribute(exchange, upstream, journal)
        why = None if roots else unstaged(exchange)
        reason = f"the mock could not stage the test's scenario ({why})" if why else ""
        judge.block(requirement, reason or f"the request was answered HTTP {exchange.status}, not 200", roots)
    return answered


def staged(
    judge: Judge, exchange: Exchange, journal: Sequence[Mapping[str, Any]], *requirements: str
) -> bool:
    """Whether a fault scenario ran: the upstream got to answer with the injected fault, rather than
    refusing the gateway's request first (e.g. Anthropic without `max_tokens`).

    A refused request never met the fault, so what the client got says nothing about the fault's
    mapping: `requirements` are blocked by the rule the gateway broke, judged from what the upstream
    received (`Judge.attribute`), not failed with "expected 503, got 400".
    """
    if exchange.status == 200 or not refusals(journal):
        return True
    upstreams = [Upstream.from_entry(e) for e in journal]
    upstream = XlateContext(request=exchange.request_body or {}, upstream=upstreams[-1], upstreams=upstreams)
    roots = judge.attribute(exchange, upstream, journal)
    status = refusals(journal)[-1].get("status")
    for requirement in requirements:
        judge.block(
            requirement, f"the upstream refused the gateway's request ({status}) before the fault", roots
        )
    return False


def pre_stream_error(judge: Judge, exchange: Exchange, situation: str, rule: str) -> None:
    """An error known before the stream starts is a non-2xx JSON answer (STREAM-017).

    A target that answered with a complete, error-free stream did not take the situation for an error
    at all: that is `rule`'s finding (the one that makes it an error), and STREAM-017, which says how
    errors are sent, had nothing to judge.
    """
    if exchange.status == 200 and exchange.is_stream and not exchange.stream.of_kind(ItemKind.ERROR):
        not_an_error(judge, "STREAM-017", f"a {situation} error on a stream", rule, exchange)
        return
    kind = exchange.headers.get("content-type")
    judge.require(
        "STREAM-017",
        exchange.status >= 400 and not exchange.is_stream,
        f"HTTP {exchange.status} ({kind}) for a {situation} error on a stream",
        exchange,
    )


def not_an_error(
    judge: Judge, requirement: str, situation: str, rule: str, exchange: Exchange | None = None
) -> None:
    """The target answered `situation` as a success: `rule` (the one that makes it an error) fails, and
    `requirement`, which judges how the error is delivered, had nothing to judge (blocked by `rule`)."""
    judge.require(rule, False, f"{situation} was answered as a success", exchange)
    judge.block(requirement, f"{situation} was answered as a success, not an error", (rule,))
