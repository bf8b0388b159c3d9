"""Small assertions shared by the suites, each judged against a named requirement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from suites.checks import Context
from suites.exchange import Exchange
from suites.plugin import ANSWERED, Judge


def error(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    *,
    status: int,
    code: str | set[str],
    param: str | type[Any] | None = Any,
    param_prefix: str | None = None,
) -> None:
    """The exchange is an error with this status and code; `param` equal to, or under, the given one.

    Every applicable check runs on the exchange as well, so a right status with a malformed envelope
    still fails.
    """
    judge(exchange)
    got = exchange.error or {}
    codes = {code} if isinstance(code, str) else code
    judge.require(
        requirement,
        exchange.status == status and got.get("code") in codes,
        f"expected HTTP {status} {sorted(codes)}, got HTTP {exchange.status} code {got.get('code')!r}",
        exchange,
    )
    if param is not Any:
        judge.require(
            requirement,
            got.get("param") == param,
            f"expected param {param!r}, got {got.get('param')!r}",
            exchange,
        )
    if param_prefix is not None:
        judge.require(
            requirement,
            str(got.get("param") or "").startswith(param_prefix),
            f"expected param under {param_prefix!r}, got {got.get('param')!r}",
            exchange,
        )


def success(
    judge: Judge,
    exchange: Exchange,
    requirement: str,
    *,
    upstream: Context | None = None,
    journal: Sequence[Mapping[str, Any]] = (),
    **context: Any,
) -> bool:
    """The exchange is a 200: the precondition of `requirement`; every applicable check runs as well.

    A chat request that was not answered does not fail `requirement`: it is blocked by the root cause
    (`Judge.attribute`: the upstream-side checks on `upstream`, what the upstream received, or else the
    refusal itself against "a valid request is answered"). Other endpoints have no such root: their
    own requirement fails. Returns whether the answer came.
    """
    judge(exchange, Context(request=exchange.request_body or {}, **context))
    answered = exchange.status == 200
    chat = exchange.url.rstrip("/").endswith("/chat/completions")
    if not chat:
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
        judge.block(requirement, f"the request was answered HTTP {exchange.status}, not 200", roots)
    return answered
