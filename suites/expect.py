"""Small assertions shared by the suites, each judged against a named requirement."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from auriko_conformance.suites.checks import Context, about_status, all_checks, error_under_200
from auriko_conformance.suites.checks._warning_names import names
from auriko_conformance.suites.checks.errors import CODES
from auriko_conformance.suites.checks.xlate import refused_request
from auriko_conformance.suites.exchange import Exchange, ItemKind
from auriko_conformance.suites.plugin import ANSWERED, Judge, in_scope, unstaged
from auriko_conformance.suites.target import Target

from auriko_conformance.contract import error_codes

#: the requirement that states the error envelope's shape
ENVELOPE = "SCHEMA-006"
#: the requirement that says a failure is never answered with HTTP 200
NEVER_200 = "ERR-003"
#: the requirement that holds codes to the current registry
LEGACY = "ERR-002"
#: the requirement that says how a model nobody offers is answered (404 model_not_found)
UNKNOWN_MODEL = "REQ-026"
#: the requirement that says an error known before a stream begins is a non-2xx JSON answer
PRE_STREAM = "STREAM-017"


def under_200(judge: Judge, exchange: Exchange, situation: str) -> tuple[str, ...]:
    """The rule that owns an error sent under HTTP 200 (ERR-003 for a JSON body, which `judge(exchange)`
    judges; STREAM-017 for a stream of error events, judged here), or () when `exchange` is no such error.
    Every error of such a gateway comes under 200: one defect, not a wrong status in each error rule."""
    if not error_under_200(exchange):
        return ()
    if not exchange.is_stream:
        return (NEVER_200,)
    message = f"{situation}: an error known before the stream began came as HTTP 200 with an error event"
    judge.require(PRE_STREAM, False, message, exchange)
    return (PRE_STREAM,)


def unknown_model_refused_otherwise(judge: Judge, exchange: Exchange) -> bool:
    """A request for a model nobody offers was refused, but not with REQ-026's 404: that rule's finding
    (judged here), whichever test sent the model; the test's own rule about the situation reads blocked."""
    if exchange.status < 400 or exchange.status == 404:
        return False
    code = (exchange.error or {}).get("code")
    judge.require(
        UNKNOWN_MODEL,
        False,
        f"an unknown model was refused with HTTP {exchange.status} {code!r}, not 404",
        exchange,
    )
    return True


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
    if (
        requirement != UNKNOWN_MODEL
        and codes == {"model_not_found"}
        and unknown_model_refused_otherwise(judge, exchange)
    ):
        reason = "the unknown model was refused with another status than REQ-026's 404"
        judge.block(requirement, reason, (UNKNOWN_MODEL,), stops=False)
        return
    said = f"HTTP {exchange.status} code {got.get('code')!r}"
    if roots := under_200(judge, exchange, requirement):
        judge.block(requirement, f"the error came as HTTP 200: {exchange.excerpt(120)}", roots, stops=False)
        return
    judge.require(
        requirement, exchange.status == status, about_status(f"expected HTTP {status}, got {said}"), exchange
    )
    if exchange.status != status:
        return  # the situation was not recognised: its code is not the finding
    if exchange.error is None:
        # No envelope to read a code from: SCHEMA-006's finding (its check fails on such a body).
        if in_scope(CODES, judge.level):
            reason = f"{requirement}: the error body is no envelope, so no code to judge"
            judge.block(CODES, reason, (ENVELOPE,), stops=False)
        return
    if in_scope(CODES, judge.level) and got.get("code") not in codes and got.get("code") in error_codes():
        # The right status by coincidence: the registry's code names another situation, so the gateway
        # did not recognise this one (the requirement's finding) rather than misname it (ERR-014's). The
        # registry is Auriko's: at `core` a code says nothing (OpenAI's API uses its own).
        message = f"expected code {sorted(codes)}, got {said}, the code of another situation"
        judge.require(requirement, False, message, exchange)
        return
    if isinstance(got.get("code"), str) and got["code"] not in error_codes():
        # a code outside the registry (a legacy or invented one) is ERR-002's finding (its check fails on
        # exactly this), not a misnamed situation as well (D-146)
        reason = f"{requirement}: code {got['code']!r} is not in the registry"
        judge.block(CODES, reason, (LEGACY,), stops=False)
    else:
        judge.require(
            CODES,
            got.get("code") in codes,
            f"{requirement}: expected code {sorted(codes)}, got {said}",
            exchange,
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


def param(
    judge: Judge, exchange: Exchange, requirement: str, allowed: set[str], *, status: int = 400
) -> None:
    """The error of `requirement`'s situation names one of `allowed` as its `param`: ERR-014's rule (the
    param of every situation's error), `requirement` reading blocked by it when it fails. Judged only on
    the situation's status: another status is the requirement's finding, and says nothing of a param."""
    if exchange.status != status or exchange.error is None or not in_scope(CODES, judge.level):
        return
    got = exchange.error.get("param")
    message = f"{requirement}: param {got!r}, expected {' or '.join(sorted(allowed))}"
    judge.require(CODES, got in allowed, message, exchange)
    if got not in allowed:
        judge.block(requirement, "the param its error names is ERR-014's finding", (CODES,), stops=False)


#: the rule a key-scoped rule rests on: the gateway tells keys apart (an unknown key is refused)
KEYS_TOLD_APART = "AUTH-002"


def keys_told_apart(judge: Judge, target: Target, model: str, *requirements: str) -> bool:
    """The precondition of every rule about what one key may do (its budget, its rate limit, an expired or
    unscoped key): the gateway refuses an unknown key. A gateway that serves it does not know which key
    is asking, so those rules read blocked by AUTH-002, which fails on that exchange (one finding)."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}
    unknown = f"Bearer ak_live_{secrets.token_hex(12)}"
    exchange = target.chat(body, auth=False, headers={"Authorization": unknown})
    if 400 <= exchange.status < 500:
        return True
    judge(exchange)
    judge.require(KEYS_TOLD_APART, False, f"an unknown key was answered HTTP {exchange.status}", exchange)
    for requirement in requirements:
        reason = "the gateway served an unknown key, so what one key may do cannot be told"
        judge.block(requirement, reason, (KEYS_TOLD_APART,), stops=False)
    return False


def success(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    *,
    upstream: Context | None = None,
    journal: Sequence[Mapping[str, Any]] = (),
    probes: Sequence[str] | None = None,
    subject: bool = False,
    **context: Any,
) -> bool:
    """The exchange is a 200: the precondition of `requirement`; every applicable check runs as well.

    A chat request that was not answered does not fail `requirement`: it is blocked by the root cause
    (`Judge.attribute`: the upstream-side checks, or those of the named `probes`, on `upstream`, what
    the upstream received, or else the refusal itself against "a valid request is answered"). Other
    endpoints have no such root: their own requirement fails, as it does when the answer is the
    requirement's `subject` (an opt-in that must make a refused request work). Returns whether the
    answer came.
    """
    judge(exchange, Context(request=exchange.request_body or {}, **context))
    answered = exchange.status == 200
    chat = exchange.url.rstrip("/").endswith("/chat/completions")
    if subject or not chat:
        judge.require(
            requirement,
            answered,
            about_status(f"expected HTTP 200, got {exchange.status}: {exchange.excerpt(300)}"),
            exchange,
        )
    elif answered:
        judge.checked.update({requirement, ANSWERED})
    else:
        roots = judge.attribute(exchange, upstream, journal, probes)
        why = None if roots else unstaged(exchange)
        reason = f"the mock could not stage the test's scenario ({why})" if why else ""
        judge.block(requirement, reason or f"the request was answered HTTP {exchange.status}, not 200", roots)
    return answered


def accepted(judge: Judge, exchange: Exchange, requirement: str, *fields: str) -> bool:
    """The request carries values of `fields` that `requirement` says are accepted (a boundary, a documented
    parameter): a client error (4xx) refusing one of them (its `param` or its message names it) is the
    requirement's own finding; any other failure, such as a refusal of every request, is attributed as
    for every valid request (`success`, D-145)."""
    error = exchange.error or {}
    param = error.get("param")
    said = f"{param if isinstance(param, str) else ''} {error.get('message') or ''}"
    refused = 400 <= exchange.status < 500 and any(
        names(said.replace(".", " ").replace("[", " "), f) for f in fields
    )
    return success(judge, exchange, requirement, subject=refused)


def staged(
    judge: Judge, exchange: Exchange, journal: Sequence[Mapping[str, Any]], *requirements: str
) -> bool:
    """Whether a fault scenario ran: no provider refused what the gateway sent as invalid before it could
    play the directed failure (a 429, a 5xx, a timeout, a cut stream; e.g. Anthropic without `max_tokens`).

    A refused request never met the fault, so what the client got says nothing about the fault's
    mapping: the translation rule the refused request breaks (or else REQ-027) is the root cause
    (`Judge.attribute`), and `requirements`, with the test's others (`Judge.blocked_rest`), read blocked
    by it, not failed with "expected 503, got 400".
    """
    refused = refused_request(exchange.request_body or {}, journal)
    if refused is None:
        return True
    roots = judge.attribute(exchange, refused, journal)
    status = refused.upstream.status if refused.upstream is not None else None
    for requirement in requirements:
        judge.block(
            requirement, f"the upstream refused the gateway's request ({status}) before the fault", roots
        )
    return False


#: the rules that make a client's usage counts the provider's: asked for upstream (XLATE-002), and
#: translated from each native shape (XLATE-033 Anthropic, XLATE-034 Gemini, XLATE-035 DeepSeek)
USAGE_TRANSLATION = ("XLATE-002", "XLATE-033", "XLATE-034", "XLATE-035")


def usage_counts(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    got: tuple[Any, Any],
    counts: tuple[int, int],
    upstream: Context | None,
) -> None:
    """The client's (prompt, completion) are the provider's `counts` (`requirement`'s clause). When they
    differ and a usage translation rule fails on what the provider received and answered (`upstream`),
    that rule is the finding and `requirement` reads blocked by it: counts never asked for, or mapped
    wrongly, are not a second defect of the stream."""
    if got == counts:
        return
    roots = judge.failed_on(exchange) & set(USAGE_TRANSLATION)
    if not roots and upstream is not None:
        names = [n for n, c in all_checks().items() if c.requirement in USAGE_TRANSLATION]
        roots = {f.requirement for f in judge(exchange, upstream, only=names)}
    if roots:
        reason = f"usage {got} differs from the provider's {counts}: a usage translation rule failed"
        judge.block(requirement, reason, tuple(sorted(roots)), stops=False)
    else:
        judge.require(requirement, False, f"usage {got} differs from the upstream's {counts}", exchange)


def rejection_staged(
    judge: Judge, exchange: Exchange, journal: Sequence[Mapping[str, Any]], *requirements: str
) -> bool:
    """Whether a scenario that stages a provider's refusal (a context-length 400) ran as staged: the
    provider refused for the staged reason, not because what the gateway sent was invalid (Anthropic
    without `max_tokens` refuses before the directive plays). When a translation rule explains the
    refusal, `requirements` read blocked by it: the mapping they judge never met the staged error."""
    refused = refused_request(exchange.request_body or {}, journal)
    roots = judge.explained(exchange, refused) if refused is not None else ()
    for requirement in requirements if roots else ():
        judge.block(requirement, "the provider refused the gateway's request for another reason", roots)
    return not roots


def pre_stream_error(judge: Judge, exchange: Exchange, situation: str, rule: str) -> None:
    """An error known before the stream starts is a non-2xx JSON answer (STREAM-017).

    A target that answered with a complete, error-free stream did not take the situation for an error
    at all: that is `rule`'s finding (the one that makes it an error), and STREAM-017, which says how
    errors are sent, had nothing to judge.
    """
    if not exchange.is_stream and error_under_200(exchange):
        # a JSON error under 200: ERR-003's finding (`judge(exchange)` judged it), as for any request
        judge.block("STREAM-017", f"the {situation} error came as HTTP 200", (NEVER_200,), stops=False)
        return
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
