"""Item 5: per-key rate limits (contract sections 6 and 13, D-030, D-049).

A token bucket per configured key: 429 `rate_limit_exceeded` with `Retry-After` and
`X-Rate-Limit-Source: auriko` when empty; `X-RateLimit-{Limit,Remaining,Reset}-Requests` on every chat
completion response. Buckets are exercised with a fake clock (exact arithmetic) and through the app
in-process (the limit needs no real sockets).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from auriko_conformance.mocks.app import create_app as create_mock_app
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import (
    DEFAULT_REQUESTS_PER_MINUTE,
    ConfigError,
    RateLimits,
    config_from_mapping,
    default_config,
)
from auriko_conformance.reference_impl.ratelimit import RateLimiter

from auriko_conformance import contract
from tests.reliability.helpers import chat_body, classify_stream


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_800_000_000.0

    def mono(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


def _limiter(rpm: int, clock: Clock, **keys: int) -> RateLimiter:
    return RateLimiter(RateLimits(rpm, keys), ["ak_a", *keys], clock=clock.mono, wall=clock.time)


def _headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in headers}


def test_bucket_allows_the_limit_then_refuses_until_a_token_is_back():
    clock = Clock()
    limiter = _limiter(60, clock)  # one token per second
    for expected_remaining in range(59, -1, -1):
        headers, retry_after = limiter.take("ak_a")
        assert retry_after is None
        h = _headers(headers)
        assert h["x-ratelimit-limit-requests"] == "60"
        assert h["x-ratelimit-remaining-requests"] == str(expected_remaining)
    headers, retry_after = limiter.take("ak_a")
    assert retry_after == "1"
    assert _headers(headers)["x-ratelimit-remaining-requests"] == "0"
    clock.advance(0.5)
    assert limiter.take("ak_a")[1] == "1"  # half a token: still refused, one more second at most
    clock.advance(0.6)
    assert limiter.take("ak_a")[1] is None
    clock.advance(3600)
    headers, _ = limiter.take("ak_a")
    assert _headers(headers)["x-ratelimit-remaining-requests"] == "59"  # refilled, capped at the limit


def test_retry_after_is_the_time_until_one_token():
    clock = Clock()
    limiter = _limiter(6, clock)  # one token per 10 s
    for _ in range(6):
        assert limiter.take("ak_a")[1] is None
    assert limiter.take("ak_a")[1] == "10"
    clock.advance(4)
    assert limiter.take("ak_a")[1] == "6"


def test_reset_is_iso_8601_when_the_bucket_is_full_again():
    clock = Clock()
    limiter = _limiter(60, clock)
    for _ in range(30):
        headers, _ = limiter.take("ak_a")
    reset = _headers(headers)["x-ratelimit-reset-requests"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reset)
    when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
    assert clock.wall + 30 <= when <= clock.wall + 31  # 30 tokens spent at one per second


def test_keys_have_their_own_buckets_and_limits():
    clock = Clock()
    limiter = _limiter(100, clock, ak_small=2)
    assert limiter.requests_per_minute("ak_small") == 2
    assert limiter.requests_per_minute("ak_a") == 100
    assert limiter.take("ak_small")[1] is None
    assert limiter.take("ak_small")[1] is None
    assert limiter.take("ak_small")[1] is not None
    assert limiter.take("ak_a")[1] is None


def test_config_rate_limits():
    config = config_from_mapping(
        {"api_keys": ["ak_one", "ak_two"], "rate_limits": {"requests_per_minute": 120, "keys": {"ak_two": 5}}}
    )
    assert config.rate_limits.for_key("ak_one") == 120
    assert config.rate_limits.for_key("ak_two") == 5
    assert default_config().rate_limits.for_key("ak_test_conformance") == DEFAULT_REQUESTS_PER_MINUTE


@pytest.mark.parametrize(
    "raw",
    [
        {"requests_per_minute": 0},
        {"requests_per_minute": "many"},
        {"requests_per_minute": True},
        {"keys": {"ak_test_conformance": -1}},
        {"per_hour": 5},
    ],
)
def test_config_rejects_bad_rate_limits(raw):
    with pytest.raises(ConfigError):
        config_from_mapping({"rate_limits": raw})


def test_config_error_for_an_unknown_key_does_not_print_it():
    secret = "ak_not_configured_secret_value"
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"rate_limits": {"keys": {secret: 5}}})
    assert secret not in str(info.value)


# ------------------------------------------------------------------------------------------------------
# Through the app
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def limited():
    config = config_from_mapping(
        {
            "api_keys": ["ak_small", "ak_big"],
            "rate_limits": {"requests_per_minute": 1000, "keys": {"ak_small": 3}},
        }
    )
    gateway = create_app(config, transport=httpx.ASGITransport(app=create_mock_app()))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test", timeout=30
    ) as client:

        async def post(key: str, body: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
            headers = {"authorization": f"Bearer {key}"}
            if body is None and "content" not in kw:
                body = chat_body("hello")
            return await client.post("/v1/chat/completions", json=body, headers=headers, **kw)

        yield post, client
    await gateway.upstream.aclose()


def _check_limit_headers(response: httpx.Response, limit: int) -> int:
    h = response.headers
    assert h["x-ratelimit-limit-requests"] == str(limit)
    remaining = int(h["x-ratelimit-remaining-requests"])
    assert 0 <= remaining <= limit
    dt.datetime.fromisoformat(h["x-ratelimit-reset-requests"].replace("Z", "+00:00"))
    return remaining


async def test_over_the_limit_is_429_from_auriko(limited):
    post, _ = limited
    remaining = [_check_limit_headers(await post("ak_small"), 3) for _ in range(3)]
    assert remaining == [2, 1, 0]
    refused = await post("ak_small")
    assert refused.status_code == 429
    body = refused.json()
    assert not contract.violations(contract.error_schema_for_status(429), body)
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert body["error"]["type"] == "rate_limit_error"
    assert "provider" not in body["error"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-rate-limit-source"] == "auriko"
    assert refused.headers["x-error-retryable"] == "true"
    assert refused.headers["x-request-id"]
    assert _check_limit_headers(refused, 3) == 0
    # another key is unaffected
    assert (await post("ak_big")).status_code == 200


async def test_limit_headers_on_streams_and_errors(limited):
    post, _ = limited
    streamed = await post("ak_big", chat_body("hello", stream=True))
    assert streamed.status_code == 200
    assert classify_stream(streamed.text).kind == "complete"
    _check_limit_headers(streamed, 1000)
    invalid = await post("ak_big", {"model": "gpt-4o"})  # validation error after the limit was taken
    assert invalid.status_code == 400
    _check_limit_headers(invalid, 1000)


async def test_rate_limit_comes_after_auth_and_before_the_body(limited):
    post, _ = limited
    unauthenticated = await post("ak_nope")
    assert unauthenticated.status_code == 401
    assert "x-ratelimit-limit-requests" not in unauthenticated.headers
    for _ in range(3):
        await post("ak_small")
    # an over-limit key gets 429 even for a body that would be 413 or 400 (D-031 order, D-049)
    assert (await post("ak_small", content=b"{not json")).status_code == 429
    assert (await post("ak_small", content=b"x" * (5 * 1024 * 1024))).status_code == 429


async def test_models_and_me_are_not_limited_and_me_reports_the_key_limit(limited):
    _, client = limited
    for _ in range(5):
        response = await client.get("/v1/models", headers={"authorization": "Bearer ak_small"})
        assert response.status_code == 200
    me = await client.get("/v1/me", headers={"authorization": "Bearer ak_small"})
    assert me.json()["rate_limit_rpm"] == 3
    assert me.json()["rate_limits"]["inference_rpm"] == 3
    big = await client.get("/v1/me", headers={"authorization": "Bearer ak_big"})
    assert big.json()["rate_limit_rpm"] == 1000
