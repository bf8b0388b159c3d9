"""CLIENT: the official `openai` SDK against the target, judged from what the SDK did.

The suite drives the SDK (suites/test_client_sdk.py) and reduces each call to a `SdkOutcome`; these
checks judge only the SDK's side: that it parsed, iterated and raised as it should. What the target
answered is judged by the SCHEMA, STREAM and ERR checks on the same answer, so a missing usage chunk is
STREAM-003/007's finding, and an HTTP error where an answer was due blocks these checks instead of
failing them.
"""

from __future__ import annotations

from collections.abc import Iterator

from auriko_conformance.suites.checks import Blocked, Located, register
from auriko_conformance.suites.exchange import Exchange
from auriko_conformance.suites.scenario import RouteContext, SdkOutcome

#: what the answer's own rules judge on the exchange the SDK read (D-146): a missing or malformed report
#: is META's, a stream's final report STREAM-005's; the SDK row then reads blocked by them
NOT_A_CHUNK = "(a stream event that is no chunk)"
REQUEST_ID = "(the X-Request-ID header)"
SDK_OWNERS = {
    REQUEST_ID: ("HDR-001",),
    NOT_A_CHUNK: ("STREAM-018", "STREAM-001"),
    "$.routing_metadata": ("META-001", "META-003", "STREAM-005"),
    "$.routing_metadata.routing_strategy": ("META-001", "META-003", "META-005", "STREAM-005"),
}
SDK = {"context": RouteContext, "given": ("sdk",), "defers": SDK_OWNERS}


def _sdk_success(sdk: SdkOutcome) -> Iterator[str]:
    if sdk.raised and sdk.status is not None:
        # The target answered an HTTP error: the SDK did its job by raising; what the target should have
        # answered is another requirement's (the root cause the judge names).
        raise Blocked(f"the target answered HTTP {sdk.status} where an answer was due")
    if sdk.raised:
        yield f"the SDK raised {sdk.raised[0]}: {sdk.error_fields.get('message', '')}"[:300]
        return
    if sdk.kind == "completion":
        metadata = sdk.routing_metadata
        if sdk.metadata_claimed and (
            not isinstance(metadata, dict) or not isinstance(metadata.get("provider"), str)
        ):
            message = f"routing_metadata is not readable from the parsed completion: {metadata!r}"
            yield Located(message, "$.routing_metadata")
        if not sdk.text:
            yield "the parsed completion has no message content"
    elif sdk.kind == "stream" and sdk.chunks == 0:
        yield "the stream yielded no chunks"
    elif sdk.kind == "stream" and sdk.choiceless:
        # an event the stream rules forbid (a keep-alive as data is STREAM-018's, an unknown one STREAM-001's)
        message = f"{sdk.choiceless} events without choices reached the SDK as chunks (chunk.choices is None)"
        yield Located(message, NOT_A_CHUNK)


def _sdk_sync(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    yield from _sdk_success(context.sdk or SdkOutcome(kind="none"))


def _sdk_async(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk or SdkOutcome(kind="none")
    yield from _sdk_success(sdk)
    if context.reference_text is not None and sdk.text != context.reference_text:
        want = context.reference_text[:80]
        yield f"async text {str(sdk.text)[:80]!r} differs from the sync client's {want!r}"


def _sdk_strategy(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk or SdkOutcome(kind="none")
    yield from _sdk_success(sdk)
    metadata = sdk.routing_metadata if isinstance(sdk.routing_metadata, dict) else {}
    if context.expected_strategy and metadata.get("routing_strategy") != context.expected_strategy:
        got = metadata.get("routing_strategy")
        # the echo itself is META-005's rule, judged on the same exchange (the SDK only carried it)
        message = f"routing_strategy via extra_body is {got!r}, expected {context.expected_strategy!r}"
        yield Located(message, "$.routing_metadata.routing_strategy")


SDK_STATUS_CLASSES = {400: "BadRequestError", 401: "AuthenticationError", 404: "NotFoundError"}


def _sdk_error(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    """Judged on the status the SDK saw: which status the target should have chosen is another
    requirement's (AUTH-001, REQ-004, REQ-026)."""
    sdk = context.sdk or SdkOutcome(kind="none")
    if not sdk.raised:
        raise Blocked(
            f"the target answered HTTP {sdk.status or 200}, not an error, so no error class to judge"
        )
    want = SDK_STATUS_CLASSES.get(sdk.status or 0)
    if want and want not in sdk.raised:
        yield f"HTTP {sdk.status} raised {sdk.raised[0]}, expected openai.{want}"
    envelope = sdk.envelope or {}
    for key in ("code", "param", "type"):
        if sdk.error_fields.get(key) != envelope.get(key):
            got = sdk.error_fields.get(key)
            yield f"exception .{key} is {got!r}, the envelope says {envelope.get(key)!r}"
    if not sdk.request_id:
        # no X-Request-ID on the response: HDR-001's finding on the exchange the SDK read
        yield Located("the request ID is not available from the exception's response headers", REQUEST_ID)


def _sdk_mid_stream(exchange: Exchange, context: RouteContext) -> Iterator[str]:
    sdk = context.sdk or SdkOutcome(kind="none")
    if "APIError" not in sdk.raised:
        yield f"a stream whose upstream failed ended without openai.APIError (after {sdk.chunks} chunks)"


def _sdk_kind(kind: str) -> dict[str, object]:
    return {**SDK, "when": lambda exchange, context: context.sdk.kind == kind}


register(
    "CLIENT-001",
    "sdk_sync_client_works",
    "openai.OpenAI: create() parses, streams end cleanly.",
    _sdk_sync,
    **SDK,
)
register(
    "CLIENT-002",
    "sdk_async_client_works",
    "openai.AsyncOpenAI gives the sync client's results.",
    _sdk_async,
    **SDK,
)
register(
    "CLIENT-003", "sdk_extra_body_gateway", "extra_body gateway.routing is honoured.", _sdk_strategy, **SDK
)
register(
    "CLIENT-004",
    "sdk_error_classes",
    "401/404/400 raise the SDK's typed errors with code/param/type.",
    _sdk_error,
    **_sdk_kind("error"),
)
register(
    "CLIENT-005",
    "sdk_mid_stream_error_raises",
    "A mid-stream error event raises openai.APIError.",
    _sdk_mid_stream,
    **_sdk_kind("stream"),
)
