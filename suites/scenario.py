"""What a routing, fault or client scenario makes known, beside the exchange itself.

A routing rule is only observable upstream: which provider instances received a request, in which
order, which one produced the answer, and what the client got back. The suites tag every request, read
this test's entries back from the mock journal and hand them to the checks in a `RouteContext`,
together with what the scenario makes known (the instances that may or must not be called, the one
that must answer, the error that must come back). Each field left unset leaves the checks that need
it unselected (they declare it in `@check(..., given=...)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auriko_conformance.suites.checks import Context


@dataclass(frozen=True, slots=True)
class ExpectedError:
    """The error a scenario must end in. `codes` empty = any code; `param` None = not asserted."""

    status: int
    codes: frozenset[str] = frozenset()
    param: str | None = None
    error_type: str | None = None
    #: the rule that states this error for what the upstream did (an upstream 500 gives 502: ERR-010):
    #: a scenario that only ends in that failure leaves a wrong status or code to it (`Restated`)
    mapped_by: str | None = None


@dataclass(slots=True)
class SdkOutcome:
    """What the official `openai` SDK did with one call (CLIENT checks read this, not raw HTTP)."""

    kind: str  # "completion" | "stream" | "error"
    routing_metadata: Any = None
    text: str | None = None
    last_chunk: dict[str, Any] | None = None
    chunks: int = 0
    #: stream events the SDK handed over as chunks without `choices` (a keep-alive sent as data): a
    #: user's `chunk.choices[0]` fails on them
    choiceless: int = 0
    raised: tuple[str, ...] = ()  # class names of the exception raised and its bases
    error_fields: dict[str, Any] = field(default_factory=dict)  # code, param, type from the exception
    status: int | None = None
    request_id: str | None = None
    envelope: dict[str, Any] | None = None  # the `error` object the target sent, for comparison
    metadata_claimed: bool = True  # whether routing_metadata must be readable (the target claims it)


@dataclass(slots=True)
class RouteContext(Context):
    """`Context` plus what a routing or fault scenario makes known. Unset fields disable their checks."""

    #: this exchange's upstream requests (mock journal entries for its tag), oldest first
    journal: list[dict[str, Any]] | None = None
    #: target provider name -> mock instance name (identity when absent)
    instances: Mapping[str, str] = field(default_factory=dict)
    #: only these instances may receive requests
    allowed: frozenset[str] | None = None
    #: these instances must receive no request
    forbidden: frozenset[str] = frozenset()
    #: the answer must come from one of these instances
    answer_from: frozenset[str] | None = None
    #: every one of these instances is tried before any other instance (fallback mode)
    tried_first: frozenset[str] | None = None
    #: bounds on the number of upstream requests
    max_upstream: int | None = None
    min_upstream: int | None = None
    #: the error the exchange must be
    error: ExpectedError | None = None
    #: the request must have ended within this many milliseconds (client-side elapsed)
    within_ms: float | None = None
    #: a strategy `routing_strategy` must not report (the last segment of a multi-colon model ID)
    not_strategy: str | None = None
    #: the upstream was told to fail after its first bytes (cut, stall, garbage)
    upstream_failed: bool = False
    #: (prompt_tokens, completion_tokens) the upstream finally reported
    upstream_usage: tuple[int, int] | None = None
    #: what the openai SDK did
    sdk: SdkOutcome | None = None

    def instance(self, provider: Any) -> str | None:
        """The mock instance behind a provider name the target reports."""
        if not isinstance(provider, str):
            return None
        return self.instances.get(provider, provider)
