"""Upstream faults in routing decisions and fallback: wrong provider, no fallback, extra retries."""

from __future__ import annotations

import asyncio

import httpx

from auriko_conformance.mutants.faults.base import Fault, transform
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse


@transform("instances_swapped")
class InstancesSwapped(Fault):
    """Upstream calls to one instance go to its `pairs` partner (the other provider of the same model);
    with `when_extension`, only the calls of client requests that set that key in an `extensions.<provider>`
    object (a gateway that honours a client's `base_url`, and routes every other request right)."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        key = self.args.get("when_extension")
        if key is not None and not _client_sets_extension(hop.ledger.get("client", request.tag), key):
            return request
        pairs: dict[str, str] = {}
        for a, b in self.args.get("pairs", [["vllm", "vllm-b"]]):
            pairs[a], pairs[b] = b, a
        instance = request.instance
        if instance in pairs:
            request.path = "/" + pairs[instance] + request.path[len(instance) + 1 :]
        return request


def _client_sets_extension(client: object, key: str) -> bool:
    extensions = client.get("extensions") if isinstance(client, dict) else None
    return isinstance(extensions, dict) and any(isinstance(v, dict) and key in v for v in extensions.values())


@transform("no_fallback")
class NoFallback(Fault):
    """After a failed attempt, every later attempt for the same request fails the same way: an error
    status is answered again by the proxy (never reaching another provider), a hang hangs again."""

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        tag = request.tag
        failure = hop.ledger.get("failure", tag)
        if failure == "hang" and self.args.get("hang", True):
            await asyncio.Event().wait()
        if isinstance(failure, tuple):
            status, headers, body = failure
            return ProxyResponse(status, httpx.Headers(headers), body=body)
        if tag is not None and self.args.get("hang", True):
            hop.ledger.put("failure", tag, "hang")  # cleared below once an answer starts
        return request

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        tag = request.tag
        if tag is None:
            return response
        statuses = self.args.get("statuses")
        failed = response.status >= 429 and (statuses is None or response.status in statuses)
        if failed and response.events is None:
            hop.ledger.put(
                "failure", tag, (response.status, list(response.headers.multi_items()), response.body)
            )
        elif hop.ledger.get("failure", tag) == "hang":
            hop.ledger.pop("failure", tag)
        return response


@transform("retry_same_provider")
class RetrySameProvider(Fault):
    """A failed upstream attempt is repeated once on the same provider before the gateway sees it."""

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status >= 429 and response.events is None:
            return await hop.forward(request)
        return response
