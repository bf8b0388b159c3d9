"""Provider-shaped errors: one exception type for every failure, rendered per flavour from data tables.

Code anywhere in the mocks raises `MockError(status, message, param=...)`; the flavour's `ErrorStyle`
decides the JSON envelope, the `type`/`status` strings and which headers go with it. Keeping the
differences as tables means a new status or flavour is a data change, not new code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson


class MockError(Exception):
    """An error answer. `code`/`etype` override the table defaults; `details` is Gemini-only."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | int | None = None,
        etype: str | None = None,
        retry_after: float | None = None,
        details: list[dict[str, object]] | None = None,
        headers: Mapping[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.etype = etype
        self.retry_after = retry_after
        self.details = details
        self.headers = dict(headers or {})
        self.raw_body = raw_body  # a body that is not the flavour's envelope (vLLM's auth middleware)


# Google and OpenAI write their answers' JSON indented by two spaces, ending in a newline (recorded, D-166)
INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """How one flavour spells errors. `shape` picks the envelope: openai | vllm | anthropic | gemini."""

    shape: str
    types: Mapping[int, str]
    default_4xx: str
    default_5xx: str
    codes: Mapping[int, str | None] = field(default_factory=dict)
    retry_after_default: float | None = None  # sent on 429 when the scenario gives none
    json_options: int = 0  # orjson options of the body: compact unless the provider indents (D-166)

    def type_for(self, status: int) -> str:
        return self.types.get(status) or (self.default_5xx if status >= 500 else self.default_4xx)

    def body(self, err: MockError, request_id: str | None) -> bytes:
        if err.raw_body is not None:
            return err.raw_body
        etype = err.etype or self.type_for(err.status)
        if self.shape == "anthropic":
            return orjson.dumps(
                {"type": "error", "error": {"type": etype, "message": err.message}, "request_id": request_id},
                option=self.json_options,
            )
        if self.shape == "gemini":
            inner: dict[str, object] = {"code": err.status, "message": err.message, "status": etype}
            details = list(err.details or [])
            if err.status == 429 and err.retry_after is not None:
                details.append(
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{err.retry_after:g}s",
                    }
                )
            if details:
                inner["details"] = details
            return orjson.dumps({"error": inner}, option=self.json_options)
        code = (
            err.code
            if err.code is not None
            else (err.status if self.shape == "vllm" else self.codes.get(err.status))
        )
        return orjson.dumps(
            {"error": {"message": err.message, "type": etype, "param": err.param, "code": code}},
            option=self.json_options,
        )

    def headers(self, err: MockError) -> dict[str, str]:
        headers = dict(err.headers)
        retry_after = err.retry_after
        if retry_after is None and err.status == 429:
            retry_after = self.retry_after_default
        if retry_after is not None and self.shape != "gemini":
            headers["retry-after"] = f"{retry_after:g}"
        return headers


OPENAI_ERRORS = ErrorStyle(
    shape="openai",
    types={429: "requests", 500: "server_error", 502: "server_error", 503: "server_error"},
    default_4xx="invalid_request_error",
    default_5xx="server_error",
    codes={
        401: "invalid_api_key",
        404: "model_not_found",
        429: "rate_limit_exceeded",
        503: "server_overloaded",
    },
    retry_after_default=1,
)

DEEPSEEK_ERRORS = ErrorStyle(
    shape="openai",
    types={
        401: "authentication_error",
        402: "insufficient_balance_error",
        422: "invalid_request_error",
        429: "rate_limit_error",
        500: "server_error",
        503: "server_overloaded_error",
    },
    default_4xx="invalid_request_error",
    default_5xx="server_error",
    codes={401: "invalid_request_error", 404: "invalid_request_error"},
    retry_after_default=1,
)

VLLM_ERRORS = ErrorStyle(
    shape="vllm",
    types={
        400: "BadRequestError",
        404: "NotFoundError",
        405: "MethodNotAllowed",
        413: "BadRequestError",
        415: "BadRequestError",
        429: "TooManyRequestsError",
        500: "InternalServerError",
        503: "ServiceUnavailableError",
    },
    default_4xx="BadRequestError",
    default_5xx="InternalServerError",
    retry_after_default=1,
)

ANTHROPIC_ERRORS = ErrorStyle(
    shape="anthropic",
    types={
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        504: "timeout_error",
        529: "overloaded_error",
    },
    default_4xx="invalid_request_error",
    default_5xx="api_error",
    retry_after_default=1,
)

GEMINI_ERRORS = ErrorStyle(
    shape="gemini",
    types={
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        405: "UNIMPLEMENTED",
        409: "ABORTED",
        413: "INVALID_ARGUMENT",
        415: "INVALID_ARGUMENT",
        429: "RESOURCE_EXHAUSTED",
        499: "CANCELLED",
        500: "INTERNAL",
        501: "UNIMPLEMENTED",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    },
    default_4xx="FAILED_PRECONDITION",
    default_5xx="INTERNAL",
    json_options=INDENTED,  # recorded: Google's errors are indented like its answers
)

# What an `error=N` directive (or the control API's error_rate) answers, per status.
SCENARIO_MESSAGES: dict[int, str] = {
    400: "Bad request (mock scenario).",
    401: "Invalid authentication (mock scenario).",
    403: "Permission denied (mock scenario).",
    404: "Not found (mock scenario).",
    408: "Request timeout (mock scenario).",
    429: "Rate limit reached for requests (mock scenario).",
    500: "The server had an error while processing your request (mock scenario).",
    502: "Bad gateway (mock scenario).",
    503: "The engine is currently overloaded, please try again later (mock scenario).",
    504: "Deadline exceeded (mock scenario).",
    529: "Overloaded",
}


#: What `reject=REASON` answers: the provider's own 400 for a prompt beyond the context window or for
#: filtered content, per error shape, as (message, code). The texts are the providers' (numbers aside), so
#: a gateway that maps them is judged on what it will really get. Gemini and vLLM have no content-filter
#: 400 (Gemini blocks a prompt in a 200 with `promptFeedback`): they answer the generic scenario 400.
NATIVE_REJECTIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("openai", "context_length"): (
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 "
        "tokens. Please reduce the length of the messages.",
        "context_length_exceeded",
    ),
    ("openai", "content_filter"): (
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "content_filter",
    ),
    ("vllm", "context_length"): (
        "This model's maximum context length is 32768 tokens. However, you requested 33024 tokens "
        "(32768 in the messages, 256 in the completion). Please reduce the length of the messages or "
        "completion.",
        None,
    ),
    ("anthropic", "context_length"): ("prompt is too long: 210000 tokens > 200000 maximum", None),
    ("anthropic", "content_filter"): ("Output blocked by content filtering policy", None),
    ("gemini", "context_length"): (
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        None,
    ),
}


def rejection(reason: str, style: ErrorStyle) -> MockError:
    """The 400 a `reject=REASON` directive asks for, in the flavour's own words where it has them."""
    message, code = NATIVE_REJECTIONS.get((style.shape, reason)) or (SCENARIO_MESSAGES[400], None)
    return MockError(400, message, param="messages" if code else None, code=code)


def scenario_error(status: int, overload_status: int, retry_after: float | None = None) -> MockError:
    """The error a scenario asks for. 529 means "overloaded": flavours without a 529 use their own
    overload status (503); Anthropic keeps 529 `overloaded_error`."""
    if status == 529:
        status = overload_status
    message = SCENARIO_MESSAGES.get(status, f"Mock scenario error {status}.")
    if status == 529:
        message = "Overloaded"
    return MockError(status, message, retry_after=retry_after)
