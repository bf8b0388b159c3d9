"""Preflight: can the suite judge this target at all? Asked once, before any test.

The first thing a gateway team meets is a set-up mistake, not a broken rule: a wrong URL, a gateway
that is still starting, a key it does not accept, a model name it does not know, a hung process. Run
as tests, each of those turns into hundreds of failing rows that blame the gateway. The preflight asks
five cheap questions instead (are the mocks there, does the target answer, does it accept the key,
does it know the profile's default model, does it answer the simplest valid request) and, when one
fails, says in one paragraph what was tried, what came back and what to fix.

The last question is also a rule: a target that refuses a one-line request (most often because it wants
a header the run did not send) would fail every error scenario's status rule with its one refusal. That
refusal is then the run's one finding, REQ-027 with the exchange as evidence (D-148), and nothing else
is judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from auriko_conformance.mocks.control_api import TOKEN_HEADER
from auriko_conformance.mocks.server import CONTROL_TOKEN_ENV
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.profile import TargetProfile
from auriko_conformance.suites.requirements import ANSWERED, load_catalogue
from auriko_conformance.suites.target import CHAT_PATH, Target, TargetTimeout, unknown_model_answer

#: seconds the cheap first request (GET /v1/models) may take: a hung target shows here, quickly
REACH_TIMEOUT_S = 10.0
PROBE_TEXT = "Say OK. [[conformance-id: preflight]]"


@dataclass(slots=True)
class Preflight:
    """What the preflight tried, in order, and the problem that stops the run (None: go ahead)."""

    tried: list[str] = field(default_factory=list)
    problem: str | None = None
    #: the simplest valid chat request, when the target refused it: REQ-027's finding
    refused: Exchange | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, what: str, fix: str) -> bool:
        """Record the problem; False, so that a check can `return result.fail(...)`."""
        self.problem = f"{what} {fix}"
        return False

    def paragraph(self) -> str:
        tried = "; ".join(self.tried)
        judged = f"only {ANSWERED} was judged" if self.refused is not None else "nothing was judged"
        return f"Preflight failed, {judged}. {self.problem} (Tried: {tried}.)"

    def tests(self) -> list[dict[str, Any]]:
        """The refused probe as the report's one test record (REQ-027 failed, with the exchange)."""
        if self.refused is None:
            return []
        exchange = self.refused
        message = f"a valid request was answered HTTP {exchange.status}: {exchange.excerpt(200)}"
        return [
            {
                "nodeid": "preflight::simplest_valid_request",
                "outcome": "failed",
                "reason": self.problem or "",
                "duration_s": 0.0,
                "requirements": [ANSWERED],
                "findings": [
                    {
                        "requirement": ANSWERED,
                        "check": "preflight",
                        "message": message,
                        "level": load_catalogue().get(ANSWERED).level,
                    }
                ],
                "evidence": [{"test": "preflight", "requirements": [ANSWERED], **exchange.evidence()}],
                "checked": [ANSWERED],
                "unclaimed": [],
                "blocked": [],
                "observations": [],
            }
        ]


def _excerpt(exchange: Exchange) -> str:
    text = exchange.body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:200] + ("..." if len(text) > 200 else "")


def check_mocks(url: str, result: Preflight, control_token: str | None = None) -> bool:
    result.tried.append(f"GET {url}/__mock/health")
    headers = {TOKEN_HEADER: control_token} if control_token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/__mock/health", headers=headers, timeout=REACH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return result.fail(
            f"The mock providers at {url} did not answer ({type(exc).__name__}: {exc}).",
            "Start them (`auriko-conformance mocks`) and pass the URL they print as --mock-url, "
            "or leave --mock-url out to run only the suites that do not need them.",
        )
    json_401 = response.headers.get("content-type", "").startswith("application/json")
    if response.status_code == 401 and json_401:
        said = "the one sent was refused" if control_token else "none was sent"
        return result.fail(
            f"{url}/__mock/health answered HTTP 401: the mocks require a control token, and {said}.",
            f"Pass the token the mocks were started with as --mock-control-token (or ${CONTROL_TOKEN_ENV}).",
        )
    if response.status_code != 200:
        return result.fail(
            f"{url}/__mock/health answered HTTP {response.status_code}: this is not the mock server.",
            "Pass the URL `auriko-conformance mocks` prints as --mock-url.",
        )
    return True


def check_target(target: Target, profile: TargetProfile, result: Preflight) -> bool:
    """Reach the target, then send one small chat request for the profile's default model."""
    url = target.base_url
    reach = Target(url, target.api_key, min(target.timeout, REACH_TIMEOUT_S), headers=target.headers)
    result.tried.append(f"GET {url}/v1/models")
    try:
        reach.request("GET", "/v1/models")
    except httpx.ConnectError as exc:
        return result.fail(
            f"Could not connect to the target at {url} ({exc}).",
            "Is the gateway running, and is --target-url its base URL (scheme, host and port)?",
        )
    except TargetTimeout as exc:
        return result.fail(
            f"The target at {url} accepted the connection but sent no answer to GET /v1/models "
            f"within {exc.seconds:g} s.",
            "The gateway is hung or still starting, or that port is not an HTTP server; check its logs.",
        )
    except httpx.HTTPError as exc:
        return result.fail(
            f"The target at {url} broke the connection ({type(exc).__name__}: {exc}).",
            "Is --target-url an HTTP (not HTTPS, or the other way round) address of the gateway?",
        )
    finally:
        reach.close()
    model = profile.default_model
    body = {"model": model, "messages": [{"role": "user", "content": PROBE_TEXT}], "max_tokens": 16}
    result.tried.append(f"POST {url}{CHAT_PATH} with model {model!r}")
    try:
        exchange = target.request("POST", CHAT_PATH, body=body)
    except TargetTimeout as exc:
        return result.fail(
            f"The target sent no answer to a one-line chat request for {model!r} within {exc.seconds:g} s.",
            "Check that the gateway reaches its upstreams (with --mock-url: that it uses the mocks), "
            "or raise --timeout.",
        )
    except httpx.HTTPError as exc:
        return result.fail(
            f"The chat request for {model!r} failed ({type(exc).__name__}: {exc}).",
            "Check the gateway's logs.",
        )
    if exchange.status in (401, 403):
        key = "no key was sent" if not target.api_key else f"the key ending ...{target.api_key[-4:]}"
        return result.fail(
            f"The target refused the API key: HTTP {exchange.status}, {_excerpt(exchange)} ({key}).",
            "Pass a key the gateway accepts with --api-key (or AURIKO_API_KEY), and any headers it "
            "needs with --header or the profile's headers.",
        )
    if unknown_model_answer(exchange, model):
        return result.fail(
            f"The target does not know the profile's default model {model!r}: HTTP {exchange.status}, "
            f"{_excerpt(exchange)}.",
            "Set models.default in the target profile to a model the gateway offers (docs/profiles.md).",
        )
    if exchange.status in (404, 405):
        return result.fail(
            f"POST {url}{CHAT_PATH} answered HTTP {exchange.status}: no chat-completions endpoint there.",
            "--target-url is the gateway's base URL: scheme, host and port, without /v1.",
        )
    if 400 <= exchange.status < 500:
        result.refused = exchange
        return result.fail(
            f"The target refused the simplest valid chat request (one user line for {model!r}, max_tokens "
            f"16): HTTP {exchange.status}, {_excerpt(exchange)}. Every error scenario would read this same "
            f"refusal, so the run stops with this one finding ({ANSWERED}, a valid request is answered).",
            "If the gateway picks the provider, config or tenant by a request header, pass it with --header "
            "'Name: value' or the profile's headers (docs/ci.md, 'Gateways that route by header'); "
            "otherwise the gateway should serve this request.",
        )
    return True


def run_preflight(
    target: Target, mock_url: str | None, profile: TargetProfile, mock_control_token: str | None = None
) -> Preflight:
    """The preflight's verdict; any answer from the target other than the problems above goes ahead
    (a 5xx on the probe is the suites' finding to report: the gateway failed, it did not refuse)."""
    result = Preflight()
    if mock_url and not check_mocks(mock_url, result, mock_control_token):
        return result
    check_target(target, profile, result)
    return result
