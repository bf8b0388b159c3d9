"""Small assertions shared by the suites, each judged against a named requirement."""

from __future__ import annotations

from typing import Any

from suites.exchange import Exchange
from suites.plugin import Judge


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
    body = exchange.json if isinstance(exchange.json, dict) else {}
    got = body.get("error") if isinstance(body.get("error"), dict) else {}
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


def success(judge: Judge, exchange: Exchange, requirement: str, **context: Any) -> None:
    """The exchange is a 200 (the requirement's verdict); every applicable check runs as well."""
    from suites.checks import Context

    judge.require(
        requirement,
        exchange.status == 200,
        f"expected HTTP 200, got {exchange.status}: {exchange.excerpt(300)}",
        exchange,
    )
    judge(exchange, Context(request=exchange.request_body or {}, **context))
