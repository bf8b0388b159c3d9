"""What every provider flavour implements, and the request/route types the app hands it.

The app (`mocks.app`) owns the mechanism: reading bodies, journal, control behaviour, directives,
pacing and faults. A flavour owns only its wire format: which paths exist, how auth is checked, how a
request becomes a neutral `Turn` (with the provider's strictness rules), and how a neutral `Reply` is
written back as a body or a stream of frames.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from auriko_conformance.mocks.behaviour import Reply
from auriko_conformance.mocks.config import ProviderInstance
from auriko_conformance.mocks.conversation import Turn
from auriko_conformance.mocks.directives import DirectiveError
from auriko_conformance.mocks.errors import ErrorStyle, MockError
from auriko_conformance.mocks.models import ModelSpec, index_by_name
from auriko_conformance.mocks.sse import Frame

BAD_KEY = "bad-key"  # the one key every mock refuses, so a suite can test upstream auth failures


@dataclass(slots=True)
class Route:
    """A matched endpoint. kind: chat | models | model | count_tokens | health."""

    kind: str
    model: str | None = None
    stream: bool | None = None  # Gemini: decided by the method name, not the body
    sse: bool = True  # Gemini streamGenerateContent: `alt=sse` or a JSON array


@dataclass(slots=True)
class ProviderRequest:
    """One request as the flavour sees it (headers lower-cased; body parsed JSON)."""

    instance: ProviderInstance
    method: str
    subpath: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    request_id: str
    created: int
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def random_hex(nbytes: int) -> str:
    return os.urandom(nbytes).hex()


BASE62 = string.ascii_letters + string.digits
BASE64URL = BASE62 + "-_"


def random_token(length: int, alphabet: str = BASE62) -> str:
    """A random id body in the provider's alphabet: real ids are base62 (`chatcmpl-` + 29, `call_` + 24,
    `msg_01`/`toolu_01` + 22) or base64url (Gemini `responseId`), never hex."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an `Authorization: Bearer` header ('' when the header is there but empty)."""
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Flavour:
    """Base class: shared helpers; subclasses fill in the wire format."""

    name = "base"
    errors: ErrorStyle
    overload_status = 503
    stream_content_type = b"text/event-stream"
    json_content_type = b"application/json"  # of every JSON answer, errors included
    json_options = 0  # orjson options of an answer's JSON body: compact unless the provider indents (D-166)

    def __init__(self, instance: ProviderInstance) -> None:
        self.instance = instance
        self.specs: tuple[ModelSpec, ...] = instance.specs()
        self.models: dict[str, ModelSpec] = index_by_name(self.specs)  # every accepted name -> its spec
        self._static_headers: list[tuple[bytes, bytes]] = [
            (k.encode(), v.encode()) for k, v in self.static_headers().items()
        ]

    # --- identity and headers -------------------------------------------------------------------
    def static_headers(self) -> dict[str, str]:
        """Headers every response of this flavour carries (precomputed once)."""
        return {}

    def new_request_id(self) -> str:
        return "req_" + random_hex(12)

    def response_headers(self, ex: ProviderRequest) -> list[tuple[bytes, bytes]]:
        """Per-response headers: the static ones plus the request id."""
        return self._static_headers

    # --- the wire format (subclasses) -----------------------------------------------------------
    def route(self, method: str, subpath: str, query: Mapping[str, str]) -> Route:
        raise NotImplementedError

    def authenticate(self, ex: ProviderRequest) -> None:
        raise NotImplementedError

    def parse(self, ex: ProviderRequest, route: Route) -> Turn:
        raise NotImplementedError

    def render(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> tuple[bytes, Any]:
        """The non-stream body and the native usage object it carries (for the journal)."""
        raise NotImplementedError

    def stream(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Iterator[Frame]:
        raise NotImplementedError

    def stream_media_type(self, ex: ProviderRequest) -> bytes:
        return self.stream_content_type

    def json_body(self, payload: object) -> bytes:
        """A (non-stream) answer's body, laid out as the provider writes it."""
        return orjson.dumps(payload, option=self.json_options)

    def error_content_type(self, ex: ProviderRequest) -> bytes:
        """The content type of an error answer (its body is always the flavour's JSON envelope)."""
        return self.json_content_type

    def stream_usage(self, ex: ProviderRequest, turn: Turn, reply: Reply) -> Any:
        """The native usage object a complete stream reported (for the journal)."""
        raise NotImplementedError

    def models_body(self, ex: ProviderRequest, route: Route) -> bytes:
        raise NotImplementedError

    def count_tokens_body(self, ex: ProviderRequest, turn: Turn) -> bytes:
        raise MockError(404, "Not found")

    def malformed_body(self, ex: ProviderRequest) -> bytes:
        """A 200 body that is not valid JSON (scenario `malformed`)."""
        return b'{"id": "' + ex.request_id.encode() + b'", "object": "chat.completion", "choices": [{"inde'

    def malformed_frame(self) -> bytes:
        """A stream event whose JSON is broken (scenario `malformed`)."""
        return b'data: {"choices": [{"delta": {"content": "broken\n\n'

    # --- errors the app needs in this flavour's words -------------------------------------------
    def invalid_json(self, detail: str) -> MockError:
        return MockError(400, f"We could not parse the JSON body of your request. ({detail})")

    def body_not_object(self) -> MockError:
        return self.invalid_json("expected a JSON object")

    def unsupported_media_type(self, content_type: str) -> MockError:
        return MockError(415, f"Unsupported content type: {content_type!r}; expected application/json.")

    def too_large(self, limit: int) -> MockError:
        return MockError(413, f"Request body too large: the limit is {limit} bytes.")

    def not_found_path(self, path: str) -> MockError:
        return MockError(404, f"Invalid URL (POST {path})" if path else "Not found")

    def method_not_allowed(self, method: str, allow: str) -> MockError:
        return MockError(405, f"Method {method} not allowed; use {allow}.", headers={"allow": allow})

    def directive_error(self, err: DirectiveError) -> MockError:
        return MockError(400, str(err), param=err.directive)

    def down_error(self) -> MockError:
        return MockError(
            503, f"Provider {self.instance.name!r} is down (mock).", headers={"connection": "close"}
        )

    def model_spec(self, model: str) -> ModelSpec:
        """The served model a request names (any of its names), or the provider's not-found error."""
        spec = self.models.get(model)
        if spec is None:
            if not self.instance.accept_unknown_models:
                raise self.model_not_found(model)
            spec = ModelSpec(model)
        return spec

    def model_not_found(self, model: str) -> MockError:
        return MockError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )

    def bad_request(self, message: str, param: str | None = None, code: str | None = None) -> MockError:
        return MockError(400, message, param=param, code=code)
