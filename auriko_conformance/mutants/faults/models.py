"""Faults in the models endpoints (`GET /v1/models`, `/v1/models/{id}`, `/v1/me`)."""

from __future__ import annotations

from auriko_conformance.mutants.faults.base import Fault, transform
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse


@transform("models_edit")
class ModelsEdit(Fault):
    """`owned_by` in the listing, a `phantom` model listed, listing keys dropped (`drop_keys`),
    `unknown_200` (unknown IDs found), `alias_kept` (an alias is not resolved)."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        path = request.path.rstrip("/")
        if request.method != "GET" or not path.startswith("/v1/models"):
            return response
        body = response.json
        if path == "/v1/models":
            owned_by = self.args.get("owned_by")
            phantom = self.args.get("phantom")
            if response.status == 200 and isinstance(body, dict):
                for key in self.args.get("drop_keys", []):
                    body.pop(key, None)
                for item in body.get("data") or []:
                    item["owned_by"] = owned_by or item.get("owned_by")
                if phantom:
                    entry = {"id": phantom, "object": "model", "created": 1700000000, "owned_by": "auriko"}
                    body.setdefault("data", []).append(entry)
                response.set_json(body)
            return response
        requested = path.removeprefix("/v1/models/")
        if self.args.get("unknown_200") and response.status == 404:
            item = {"id": requested, "object": "model", "created": 0, "owned_by": "auriko"}
            return ProxyResponse.of_json(
                200, item, {"x-request-id": response.headers.get("x-request-id", "")}
            )
        if self.args.get("alias_kept") and response.status == 200 and isinstance(body, dict):
            body["id"] = requested
            response.set_json(body)
        return response


@transform("me_shape_broken")
class MeShapeBroken(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if request.path.rstrip("/") == "/v1/me" and response.status == 200:
            response.set_json({"key": "ak_***", "ok": True})
        return response
