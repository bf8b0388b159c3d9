"""ERR-012 and HDR-004 judge under their own conditions (issue 16).

ERR-012 wanted `X-Error-Retryable: true` for every rate_limit_error/api_error, ignoring its "status 429
or 5xx" condition; HDR-004 counted as judged on a response carrying only undocumented `x-ratelimit-*`
headers (a provider's token limits passed on), so it passed without a documented header in sight.
"""

from __future__ import annotations

from auriko_conformance.suites.checks import Context, all_checks

from tests.suites import samples as s

API_ERROR = {"message": "m", "type": "api_error", "code": "upstream_error", "param": None}


def _error_headers(retryable: str) -> dict[str, str]:
    return {**s.HEADERS, "x-error-type": "api_error", "x-error-retryable": retryable}


def _err_012(status: int, retryable: str) -> list[str]:
    exchange = s.error_exchange(status, API_ERROR, _error_headers(retryable))
    return [f.requirement for f in all_checks()["error_headers_agree_with_body"].run(exchange, Context())]


def test_err_012_retryable_only_for_429_and_5xx() -> None:
    assert _err_012(502, "true") == []
    assert _err_012(502, "false") == ["ERR-012"]
    assert _err_012(400, "true") == ["ERR-012"]  # an api_error outside 429/5xx is not retryable
    assert _err_012(400, "false") == []


def _hdr_004(headers: dict[str, str]) -> tuple[list[str], bool]:
    exchange = s.completion_exchange(headers={**s.HEADERS, **headers})
    findings, applied = all_checks()["rate_limit_and_budget_header_formats"].judge(exchange, Context())
    return [f.requirement for f in findings], applied


def test_hdr_004_does_not_count_undocumented_headers_as_judged() -> None:
    assert _hdr_004({"x-ratelimit-limit-tokens": "n/a", "x-budget-note": "x"}) == ([], False)
    assert _hdr_004({}) == ([], False)


def test_hdr_004_judges_each_documented_header() -> None:
    assert _hdr_004({"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "9"}) == ([], True)
    assert _hdr_004({"x-credits-balance-microdollars": "1.5"}) == (["HDR-004"], True)
    assert _hdr_004({"x-budget-weekly-spend": "$1.25"}) == ([], True)
    assert _hdr_004({"x-budget-monthly-limit": "lots"}) == (["HDR-004"], True)
