"""Faults in error responses and response headers: envelope, status, type, code, headers."""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from auriko_conformance.mutants.faults.base import JSON, Fault, is_chat, transform
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse

#: a request value this long is hostile input (REQ-028 sends 100,000 characters); no other test comes close
HOSTILE_LENGTH = 50_000
_LONG_STRING = re.compile(rb'"[^"]{%d,}"' % HOSTILE_LENGTH)


def is_hostile(request: ProxyRequest) -> bool:
    """REQ-028's hostile input: a body not labelled JSON, bytes that are not UTF-8, or a huge value."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return True
    try:
        request.body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return len(request.body) > HOSTILE_LENGTH and bool(_LONG_STRING.search(request.body))


class ErrorEdit(Fault):
    """Rewrites JSON error responses (4xx/5xx with an `error` object); of chat requests only with
    `only_chat`, of hostile input only with `only_hostile` (a gateway that crashes on such input and
    refuses everything else as it should: one defect, REQ-028's)."""

    statuses: ClassVar[frozenset[int] | None] = None

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status < 400 or response.events is not None:
            return response
        if self.statuses is not None and response.status not in self.statuses:
            return response
        if self.args.get("only_chat") and not is_chat(request):
            return response
        if self.args.get("only_hostile") and not is_hostile(request):
            return response
        body = response.json
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return response
        return self.edit(response, body) or response

    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        return None


@transform("error_envelope_flattened")
class ErrorEnvelopeFlattened(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        response.set_json(body["error"])
        return response


@transform("error_details_nested")
class ErrorDetailsNested(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        error = body["error"]
        error["details"] = [{"reason": error.get("code"), "message": error.get("message")}]
        response.set_json(body)
        return response


@transform("error_status_200")
class ErrorStatus200(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        response.status = 200
        return response


@transform("error_type_swapped")
class ErrorTypeSwapped(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        error = body["error"]
        error["type"] = "invalid_request_error" if error.get("type") == "api_error" else "api_error"
        agree_headers(response, error)
        response.set_json(body)
        return response


LEGACY_CODES = {
    "model_not_found": "not_found",
    "resource_not_found": "not_found",
    "upstream_error": "provider_error",
    "service_unavailable": "gateway_unavailable",
    "no_compatible_endpoint": "no_providers_available",
    "unknown_field": "unknown_parameter",
    "cost_constraint_exceeded": "routing_constraint_unsatisfiable",
    "latency_constraint_exceeded": "routing_constraint_unsatisfiable",
    "throughput_constraint_not_met": "routing_constraint_unsatisfiable",
    "vision_not_supported": "capability_mismatch",
    "tools_not_supported": "capability_mismatch",
    "budget_exhausted": "budget_exceeded",
}


@transform("legacy_error_codes")
class LegacyErrorCodes(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        error = body["error"]
        code = error.get("code")
        if code not in LEGACY_CODES:
            return None
        error["code"] = LEGACY_CODES[code]
        # A legacy gateway documents its own codes: the doc_url follows the code (one defect: the code).
        error["doc_url"] = f"https://docs.auriko.ai/errors/{error['code']}"
        response.set_json(body)
        return response


@transform("error_content_type")
class ErrorContentType(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        response.headers["content-type"] = str(self.args.get("content_type", "text/plain"))
        return response


@transform("error_status_mapped")
class ErrorStatusMapped(ErrorEdit):
    """Errors of status `from_status` (and code `when_code`, and a message matching the regex
    `when_message`) are sent as `to_status` with `code`, `type` (and the error fields in `set`)."""

    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        if response.status != int(self.args["from_status"]):
            return None
        error = body["error"]
        if self.args.get("when_code") is not None and error.get("code") != self.args["when_code"]:
            return None
        pattern = self.args.get("when_message")
        if pattern is not None and not re.search(str(pattern), str(error.get("message"))):
            return None
        response.status = int(self.args["to_status"])
        error["code"] = self.args.get("code", error.get("code"))
        error["type"] = self.args.get("type", error.get("type"))
        if error.get("code"):
            error["doc_url"] = f"https://docs.auriko.ai/errors/{error['code']}"
        _set_fields(body, self.args)
        agree_headers(response, error)
        response.set_json(body)
        return response


@transform("error_fields")
class ErrorFields(ErrorEdit):
    """`drop` keys of the error object, or `set` them, or add top-level keys beside `error`
    (`envelope`), on errors with code `when_code` (any when unset)."""

    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        error = body["error"]
        when = self.args.get("when_code")
        if when is not None and error.get("code") != when:
            return None
        for key in self.args.get("drop", []):
            error.pop(key, None)
        _set_fields(body, self.args)
        if "code" in (self.args.get("set") or {}) and "doc_url" in error:
            # the doc_url follows the code, as a gateway's own error table would give it: one defect
            error["doc_url"] = f"https://docs.auriko.ai/errors/{error['code']}"
        response.set_json(body)
        return response


def agree_headers(response: ProxyResponse, error: JSON) -> None:
    """X-Error-Type and X-Error-Retryable as ERR-012 wants them for the rewritten error, so that a fault
    that changes the status or the type is one defect, not that plus stale headers."""
    retryable = error.get("type") in ("rate_limit_error", "api_error") and (
        response.status == 429 or response.status >= 500
    )
    response.headers["x-error-type"] = str(error.get("type"))
    response.headers["x-error-retryable"] = "true" if retryable else "false"


def _set_fields(body: JSON, args: dict[str, Any]) -> None:
    """The error fields of `args["set"]` and the top-level keys of `args["envelope"]`."""
    body["error"].update(copy.deepcopy(args.get("set") or {}))
    body.update(copy.deepcopy(args.get("envelope") or {}))


@transform("upstream_error_shape_leaked")
class UpstreamErrorShapeLeaked(ErrorEdit):
    """A 502 carries the provider's own error body (Anthropic's shape) instead of the envelope."""

    statuses = frozenset({502})

    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        message = body["error"].get("message") or "upstream failed"
        response.set_json({"type": "error", "error": {"type": "api_error", "message": message}})
        return response


@transform("routing_metadata_on_errors")
class RoutingMetadataOnErrors(ErrorEdit):
    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        body["error"]["routing_metadata"] = {"provider": "openai", "routing_strategy": "cost-focus"}
        response.set_json(body)
        return response


@transform("header_edit")
class HeaderEdit(Fault):
    """Edit response headers: `drop` names, `set` values; only for `statuses` / non-stream chat answers
    (`only_completions`) when given."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        statuses = self.args.get("statuses")
        if statuses and response.status not in statuses:
            return response
        if self.args.get("only_completions") and (not is_chat(request) or response.events is not None):
            return response
        for name in self.args.get("drop", []):
            if name in response.headers:
                del response.headers[name]
        for name, value in (self.args.get("set") or {}).items():
            if self.args.get("only_present") and name not in response.headers:
                continue
            response.headers[name] = str(value)
        return response


@transform("ratelimit_remaining_above_limit")
class RatelimitRemainingAboveLimit(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        limit = response.headers.get("x-ratelimit-limit-requests")
        if limit and limit.isdigit():
            response.headers["x-ratelimit-remaining-requests"] = str(int(limit) + 1)
        return response


@transform("late_error")
class LateError(ErrorEdit):
    """Errors of `status` are held `seconds` before they are sent (a deadline overrun)."""

    def edit(self, response: ProxyResponse, body: JSON) -> ProxyResponse | None:
        if response.status != int(self.args.get("status", 504)):
            return None
        response.delay_s = float(self.args.get("seconds", 2.0))
        return response


@transform("unknown_path_html")
class UnknownPathHtml(Fault):
    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if response.status == 404 and not is_chat(request) and "/models/" not in request.path:
            response.headers["content-type"] = "text/html"
            response.body = b"<html><body><h1>404 Not Found</h1></body></html>"
        return response
