"""HTTP clients the suites use: the target gateway, and the mock providers behind it.

Every request a test sends is tagged with a unique `[[conformance-id: ...]]` marker in its last user
message. Gateways forward message text unchanged, so the mock journal can return exactly the upstream
requests caused by one test, even when tests run in parallel (pytest-xdist) against one mock server.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from suites.exchange import Exchange

CHAT_PATH = "/v1/chat/completions"


def new_tag(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


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


@dataclass(slots=True)
class Target:
    """The gateway under test."""

    base_url: str
    api_key: str | None
    timeout: float = 30.0
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout, connect=5.0),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self.client.close()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

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
        send_headers: dict[str, str] = {}
        if auth:
            send_headers.update(self.auth_headers())
        content = raw
        if body is not None and raw is None:
            content = orjson.dumps(body)
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        started = time.perf_counter()
        response: httpx.Response | None = None
        try:
            with self.client.stream(method, path, content=content, headers=send_headers) as response:
                data = response.read()
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # A kept-alive connection the target closed after its previous answer fails on reuse before
            # any response: blaming this test for the last one's connection would be wrong, so retry once
            # on a fresh connection. Once the target has answered, a broken body is this request's own.
            if response is not None:
                raise
            started = time.perf_counter()
            with self.client.stream(method, path, content=content, headers=send_headers) as response:
                data = response.read()
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
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def chat(self, body: dict[str, Any], *, tag: str | None = None, **kwargs: Any) -> Exchange:
        return self.request("POST", CHAT_PATH, body=tag_body(body, tag) if tag else body, **kwargs)

    def chat_timed(self, body: dict[str, Any], *, tag: str | None = None) -> tuple[Exchange, list[float]]:
        """`chat`, also returning when each piece of the body arrived (ms after the request was sent)."""
        sent = tag_body(body, tag) if tag else body
        headers = {**self.auth_headers(), "Content-Type": "application/json"}
        started = time.perf_counter()
        parts: list[bytes] = []
        arrivals: list[float] = []
        with self.client.stream("POST", CHAT_PATH, content=orjson.dumps(sent), headers=headers) as response:
            for part in response.iter_raw():
                parts.append(part)
                arrivals.append((time.perf_counter() - started) * 1000)
        return self._chat_exchange(sent, response, parts, started), arrivals

    def chat_within(self, body: dict[str, Any], seconds: float, *, tag: str | None = None) -> Exchange | None:
        """`chat`, but the client gives up after `seconds` in total, as a patient caller would.

        None when no response started in time; otherwise the exchange with whatever had arrived
        (`elapsed_ms` tells whether it was cut), so a target that hangs past its deadline is a finding,
        never a hung suite.
        """
        sent = tag_body(body, tag) if tag else body
        headers = {**self.auth_headers(), "Content-Type": "application/json"}
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
        return self._chat_exchange(sent, response, parts, started)

    def _chat_exchange(
        self, sent: dict[str, Any], response: httpx.Response, parts: list[bytes], started: float
    ) -> Exchange:
        """The exchange of a chat request whose body was read piece by piece (timed or cut short)."""
        return Exchange(
            method="POST",
            url=f"{self.base_url}{CHAT_PATH}",
            request_body=sent,
            status=response.status_code,
            headers=response.headers,
            body=b"".join(parts),
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )


@dataclass(slots=True)
class Mocks:
    """The mock provider server the target uses upstream: its journal and control API."""

    base_url: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.client = httpx.Client(base_url=self.base_url, timeout=10.0)

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
