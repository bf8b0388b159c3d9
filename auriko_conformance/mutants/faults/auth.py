"""Authentication faults: client keys not checked, client keys or provider keys crossing the gateway."""

from __future__ import annotations

from typing import ClassVar

from auriko_conformance.mutants.faults.base import Fault, transform
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse


@transform("auth_not_enforced")
class AuthNotEnforced(Fault):
    """Requests without a valid key are served: the proxy sends the valid key on the client's behalf.
    `accept`: any (default), missing (only requests with no Authorization header), unknown (only requests
    whose Authorization is present but wrong)."""

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        key = self.settings.get("api_key")
        sent = request.headers.get("authorization")
        if not key or sent == f"Bearer {key}":
            return request
        accept = self.args.get("accept", "any")
        if accept == "any" or (accept == "missing") == (sent is None):
            request.headers["authorization"] = f"Bearer {key}"
        return request


@transform("client_key_forwarded")
class ClientKeyForwarded(Fault):
    """A credential of the client's goes upstream in place of the provider key: its own Authorization,
    or (`extension_key`) the value it put under `extensions.<provider>.<extension_key>`, which the
    gateway strips from the body but moves into the upstream auth header (a BYOK path gone wrong)."""

    def token(self, request: ProxyRequest, hop: Hop) -> str | None:
        name = self.args.get("extension_key")
        if name is None:
            auth = hop.ledger.get("client-auth", request.tag)
            return auth.removeprefix("Bearer ").strip() if isinstance(auth, str) and auth else None
        extensions = hop.ledger.client_request(request.tag).get("extensions")
        for extension in extensions.values() if isinstance(extensions, dict) else ():
            value = extension.get(name) if isinstance(extension, dict) else None
            if isinstance(value, str) and value:
                return value
        return None

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        token = self.token(request, hop)
        if token:
            for name in ("x-api-key", "x-goog-api-key"):
                if name in request.headers:
                    request.headers[name] = token
            if "authorization" in request.headers or not any(
                n in request.headers for n in ("x-api-key", "x-goog-api-key")
            ):
                request.headers["authorization"] = f"Bearer {token}"
        return request


@transform("provider_key_leaked")
class ProviderKeyLeaked(Fault):
    """The provider key the gateway used upstream comes back to the client: in a debug header, or
    (`where: message`) quoted in error messages."""

    NAMES: ClassVar[tuple[str, ...]] = ("authorization", "x-api-key", "x-goog-api-key")

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        for name in self.NAMES:
            if request.headers.get(name):
                hop.ledger.put("upstream-key", request.tag, request.headers[name].removeprefix("Bearer "))
                break
        return request

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        key = hop.ledger.get("upstream-key", request.tag)
        if not key:
            return response
        if self.args.get("where") != "message":
            response.headers["x-debug-upstream-key"] = key
            return response
        error = response.json.get("error") if isinstance(response.json, dict) else None
        if isinstance(error, dict):
            error["message"] = f"{error.get('message')} (upstream key {key})"
            response.set_json({**response.json, "error": error})
        return response
