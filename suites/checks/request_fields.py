"""REQ rules judged on what reached the provider: the gateway's handling of the client's fields.

These run where a test read the upstream request from the mocks' journal (`upstream_request`), and as
root-cause probes when the provider refused it: a forwarded unknown field that the provider refused is
this rule's finding, not "a valid request was refused" (REQ-027).
"""

from __future__ import annotations

from collections.abc import Iterator

from auriko_conformance.suites.checks import Context, check
from auriko_conformance.suites.checks.xlate import XlateContext, upstream_request
from auriko_conformance.suites.exchange import Exchange

from auriko_conformance import contract


def _unknown_fields(exchange: Exchange, context: Context) -> bool:
    return any(key not in contract.request_fields() for key in context.request)


@check("REQ-016", when=_unknown_fields, **upstream_request())
def unknown_fields_not_forwarded(exchange: Exchange, context: XlateContext) -> Iterator[str]:
    """An unknown top-level field of the request is absent from the upstream request (D-001): judged on
    what the provider received, so a provider's refusal of the forwarded field is this rule's finding."""
    unknown = sorted(key for key in context.request if key not in contract.request_fields())
    body = context.upstream.json
    for key in unknown:
        if key in body:
            yield f"the unknown field {key!r} reached {context.upstream.flavour} as {body[key]!r}"
