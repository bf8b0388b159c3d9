"""HTTP clients the suites use: the target gateway, and the mock providers behind it.

Every request a test sends is tagged with a unique `[[conformance-id: ...]]` marker in its last user
message. Gateways forward message text unchanged, so the mock journal can return exactly the upstream
requests caused by one test, even when tests run in parallel (pytest-xdist) against one mock server.
"""

from __future__ import annotations

import copy
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from auriko_conformance.mocks.control_api import TOKEN_HEADER
from auriko_conformance.mocks.server import CONTROL_TOKEN_ENV
from auriko_conformance.suites.exchange import Exchange

CHAT_PATH = "/v1/chat/completions"


def new_tag(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_TAG = re.compile(r'\[\[conformance-id: ([^\]"\\\s]+)\]\]')


def tag_of(body: Any) -> str | None:
    """The correlation tag `tag_body` put in a request body, or None."""
    match = _TAG.search(orjson.dumps(body).decode()) if body is not None else None
    return match.group(1) if match else None


def tag_body(body: dict[str, Any], tag: str) -> dict[str, Any]:
    """A copy of `body` whose last user message carries the correlation marker."""
    tagged = copy.deepcopy(body)
    marker = f"[[conformance-id: {tag}]]"
    for message in reversed(tagged.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = f"{content} {marker}"
            elif isinstance(content, list):
                content.append({"type": "text", "text": marker})
            return tagged
    return tagged


class TargetTimeout(Exception):
    """The target did not answer (or stopped streaming) within the run's `--timeout`/`--stall-timeout`.

    A distinct exception, not an exchange: a request with no answer has nothing for the checks to read,
    so the plugin turns it into one finding on the test's requirement instead of a cascade of them.
    """

    def __init__(self, method: str, url: str, what: str, seconds: float) -> None:
        self.method, self.url, self.what, self.seconds = method, url, what, seconds
        super().__init__(f"{method} {url}: {what} within {seconds:g} s")


def is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


#: how gateways say "no such model" when they do not use the `model_not_found` code
_UNKNOWN_WORDS = re.compile(
    r"unknown|not found|does not exist|doesn't exist|invalid model|no such|not available|not configured|"
    r"unsupported model|not a valid model|not in the catalog",
    re.IGNORECASE,
)


def unknown_model_answer(exchange: Exchange, model: str | None) -> bool:
    """The target refused `model` as unknown (D-080): "not offered here", which reads "not claimed".

    Gateways word this differently (404 `model_not_found`, LiteLLM's 400 "Invalid model name passed in
    model=...", a 422 "model '...' is not configured"). What they share is a client-error status whose
    message names the model as unknown. A 4xx about another parameter of a request for that model
    (`param: reasoning_effort`, "'gpt-4o' does not reason") is that test's subject, never this.
    """
    if not 400 <= exchange.status < 500 or exchange.status in (401, 403, 429) or not model:
        return False
    data = exchange.json if isinstance(exchange.json, dict) else {}
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    if error.get("code") == "model_not_found":
        return True
    if error.get("param") not in (None, "", "model"):
        return False
    text = exchange.body.decode("utf-8", "replace")
    return model in text and (exchange.status == 404 or bool(_UNKNOWN_WORDS.search(text)))


@dataclass(slots=True)
class Target:
    """The gateway under test."""

    base_url: str
    api_key: str | None
    #: seconds a non-streaming answer (or a stream's first byte) may take
    timeout: float = 30.0
    #: seconds a started stream may go without a byte
    stall_timeout: float = 15.0
    #: headers on every request (`--header`, the profile's `headers:`)
    headers: dict[str, str] = field(default_factory=dict)
    #: model name -> headers on requests for that model (the profile's per-model `headers:`)
    model_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self.client.close()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def default_headers(self, body: Any = None) -> dict[str, str]:
        """The configured headers for a request with `body` (its model's headers override the global)."""
        model = body.get("model") if isinstance(body, dict) else None
        per_model = self.model_headers.get(model, {}) if isinstance(model, str) else {}
        return {**self.headers, **per_model}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Exchange:
        """Send one request and read the whole response (streams included) into an Exchange."""
        send_headers = self.default_headers(body)
        if auth:
            send_headers.update(self.auth_headers())
        content = raw
        if body is not None and raw is None:
            content = orjson.dumps(body)
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        try:
            response, data, _, elapsed = self._read(method, path, content, send_headers)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # A kept-alive connection the target closed after its previous answer fails on reuse before
            # any response: blaming this test for the last one's connection would be wrong, so retry once
            # on a fresh connection. Once the target has answered, a broken body is this request's own.
            if getattr(exc, "answered", False):
                raise
            response, data, _, elapsed = self._read(method, path, content, send_headers)
        return Exchange(
            method=method,
            url=f"{self.base_url}{path}",
            request_body=body,
            status=response.status_code,
            headers=response.headers,
            body=data,
            request_headers={
                k: ("Bearer ***" if k.lower() == "authorization" else v) for k, v in send_headers.items()
            },
            elapsed_ms=elapsed,
        )

    def _read(
        self, method: str, path: str, content: bytes | None, headers: dict[str, str]
    ) -> tuple[httpx.Response, bytes, list[float], float]:
        """Send and read one response within the run's timeouts: (response, body, arrivals, elapsed ms).

        A non-streaming answer must be complete within `timeout`; a stream must start within `timeout`
        and then never go `stall_timeout` without a byte. Past either, `TargetTimeout`.
        """
        url = f"{self.base_url}{path}"
        started = time.perf_counter()
        parts: list[bytes] = []
        arrivals: list[float] = []
        answered = False
        try:
            with self.client.stream(method, path, content=content, headers=headers) as response:
                answered = True
                streaming = is_event_stream(response)
                deadline = None if streaming else started + self.timeout
                if streaming:
                    # httpcore reads the read timeout from the request when the body starts; from here
                    # on a stream is judged by its gaps, not by its total length.
                    response.request.extensions.get("timeout", {})["read"] = self.stall_timeout
                for part in response.iter_raw():
                    parts.append(part)
                    arrivals.append((time.perf_counter() - started) * 1000)
                    if deadline is not None and time.perf_counter() > deadline:
                        raise TargetTimeout(method, url, "no complete answer", self.timeout)
        except httpx.TimeoutException as exc:
            if not answered:
                raise TargetTimeout(method, url, "no answer", self.timeout) from exc
            what = "stream stalled (no byte)" if streaming else "no complete answer"
            raise TargetTimeout(method, url, what, self.stall_timeout if streaming else self.timeout) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            exc.answered = answered  # type: ignore[attr-defined]
            raise
        return response, b"".join(parts), arrivals, (time.perf_counter() - started) * 1000

    def chat(self, body: dict[str, Any], *, tag: str | None = None, **kwargs: Any) -> Exchange:
        return self.request("POST", CHAT_PATH, body=tag_body(body, tag) if tag else body, **kwargs)

    def chat_timed(self, body: dict[str, Any], *, tag: str | None = None) -> tuple[Exchange, list[float]]:
        """`chat`, also returning when each piece of the body arrived (ms after the request was sent)."""
        sent = tag_body(body, tag) if tag else body
        headers = {**self.default_headers(sent), **self.auth_headers(), "Content-Type": "application/json"}
        response, data, arrivals, elapsed = self._read("POST", CHAT_PATH, orjson.dumps(sent), headers)
        return self._chat_exchange(sent, response, data, elapsed), arrivals

    def chat_within(self, body: dict[str, Any], seconds: float, *, tag: str | None = None) -> Exchange | None:
        """`chat`, but the client gives up after `seconds` in total, as a patient caller would.

        None when no response started in time; otherwise the exchange with whatever had arrived
        (`elapsed_ms` tells whether it was cut), so a target that hangs past its deadline is a finding,
        never a hung suite.
        """
        sent = tag_body(body, tag) if tag else body
        headers = {**self.default_headers(sent), **self.auth_headers(), "Content-Type": "application/json"}
        started = time.perf_counter()
        parts: list[bytes] = []
        response: httpx.Response | None = None
        try:
            with self.client.stream(
                "POST", CHAT_PATH, content=orjson.dumps(sent), headers=headers, timeout=httpx.Timeout(seconds)
            ) as response:
                for part in response.iter_raw():
                    parts.append(part)
                    if time.perf_counter() - started > seconds:
                        break
        except httpx.TimeoutException:
            if response is None:
                return None
        if response is None:
            return None
        return self._chat_exchange(sent, response, b"".join(parts), (time.perf_counter() - started) * 1000)

    def _chat_exchange(
        self, sent: dict[str, Any], response: httpx.Response, data: bytes, elapsed_ms: float
    ) -> Exchange:
        """The exchange of a chat request whose body was read piece by piece (timed or cut short)."""
        return Exchange(
            method="POST",
            url=f"{self.base_url}{CHAT_PATH}",
            request_body=sent,
            status=response.status_code,
            headers=response.headers,
            body=data,
            elapsed_ms=elapsed_ms,
        )


@dataclass(slots=True)
class Mocks:
    """The mock provider server the target uses upstream: its journal and control API.

    Mocks started with a control token (`--control-token`, `AURIKO_MOCK_CONTROL_TOKEN`; mocks/README.md)
    answer every `/__mock/*` request without it 401: the token given here, else that environment
    variable, goes in `X-Mock-Control-Token` on each of them.
    """

    base_url: str
    control_token: str | None = None
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        token = self.control_token or os.environ.get(CONTROL_TOKEN_ENV) or None
        headers = {TOKEN_HEADER: token} if token else {}
        self.client = httpx.Client(base_url=self.base_url, timeout=10.0, headers=headers)

    def close(self) -> None:
        self.client.close()

    def journal(self, tag: str, provider: str | None = None) -> list[dict[str, Any]]:
        params = {"tag": tag}
        if provider:
            params["provider"] = provider
        response = self.client.get("/__mock/journal", params=params)
        response.raise_for_status()
        return list(response.json()["entries"])

    def settled_journal(self, tag: str, wait_s: float = 1.5) -> list[dict[str, Any]]:
        """This tag's upstream requests once every one has finished (or `wait_s` has passed): the mock
        completes an entry when its response ends, which can be just after the gateway answered."""
        deadline = time.monotonic() + wait_s
        while True:
            entries = self.journal(tag)
            if all(e.get("status") is not None for e in entries) or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def providers(self) -> list[dict[str, Any]]:
        """Every mock instance with its flavour, prefix and current behaviour."""
        response = self.client.get("/__mock/providers")
        response.raise_for_status()
        return list(response.json()["providers"])

    def provider(self, name: str) -> dict[str, Any] | None:
        response = self.client.get(f"/__mock/providers/{name}")
        return response.json() if response.status_code == 200 else None

    def set_provider(self, name: str, **behaviour: Any) -> None:
        self.client.patch(f"/__mock/providers/{name}", json=behaviour).raise_for_status()

    def reset(self) -> None:
        self.client.post("/__mock/reset").raise_for_status()
