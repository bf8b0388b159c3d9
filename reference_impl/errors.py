"""Gateway errors: one exception type that knows its envelope, status and headers.

Status and `type` come from the contract's error-code table (`auriko_conformance.contract.error_codes()`),
never from this module, so a code can only be raised with the status the contract gives it.
"""

from __future__ import annotations

from typing import Any

import orjson

from auriko_conformance.contract import ErrorCode, error_codes

DOC_URL = "https://docs.auriko.ai/errors/"
# Longest message and param a client gets back: texts quote request values, and an error must never
# echo a multi-megabyte field (D-051).
MAX_TEXT = 1024


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CODES: dict[str, ErrorCode] = error_codes()


def doc_url(code: str) -> str:
    return DOC_URL + code


class GatewayError(Exception):
    """An error the gateway answers with the flat envelope `{"error": {...}}` (contract section 9).

    `retry_after` becomes a `Retry-After` header; `provider` fills `error.provider` and `X-Error-Provider`.
    """

    __slots__ = ("code", "message", "param", "provider", "retry_after", "suggestion")

    def __init__(
        self,
        code: str,
        message: str,
        param: str | None = None,
        *,
        provider: str | None = None,
        retry_after: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        if code not in _CODES:
            raise ValueError(f"{code!r} is not an error code of the contract")
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.provider = provider
        self.retry_after = retry_after
        self.suggestion = suggestion

    @property
    def status(self) -> int:
        return _CODES[self.code].status

    @property
    def type(self) -> str:
        return _CODES[self.code].type

    @property
    def retryable(self) -> bool:
        return _CODES[self.code].retryable

    def error_object(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": clip(self.message),
            "type": self.type,
            "code": self.code,
            "param": self.param if self.param is None else clip(self.param),
            "doc_url": DOC_URL + self.code,
        }
        if self.provider is not None:
            body["provider"] = self.provider
        if self.suggestion:
            body["suggestion"] = self.suggestion
        return body

    def body(self) -> bytes:
        return orjson.dumps({"error": self.error_object()})

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`X-Error-*` (D-006) and `Retry-After` (content-type and X-Request-ID are added by the app)."""
        headers = [
            (b"x-error-type", self.type.encode()),
            (b"x-error-retryable", b"true" if self.retryable else b"false"),
        ]
        if self.provider is not None:
            headers.append((b"x-error-provider", self.provider.encode()))
        if self.retry_after is not None:
            headers.append((b"retry-after", self.retry_after.encode()))
        if self.code == "rate_limit_exceeded":
            headers.append((b"x-rate-limit-source", b"provider" if self.provider else b"auriko"))
        return headers
