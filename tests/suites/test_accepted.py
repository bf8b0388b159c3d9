"""`expect.accepted` (D-145): a value a requirement says is accepted, refused by name, fails that requirement;
a refusal that is not about the value is attributed like any unanswered request (REQ-027, D-090).

The mutation faults `top-logprobs-zero-refused` and `temperature-upper-bound-refused` are the first case:
before, the refusal read as REQ-027's finding and the rule that states the boundary read "blocked".
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites import expect
from auriko_conformance.suites.plugin import ANSWERED, Judge

from tests.suites import samples as s


def _refusal(status: int, param: str | None, message: str) -> Any:
    """A well-formed error (envelope, doc_url, X-Error-* headers): only its subject is in question."""
    code, error_type = (
        ("invalid_parameter_value", "invalid_request_error")
        if status < 500
        else (
            "upstream_error",
            "api_error",
        )
    )
    error = {
        "message": message,
        "type": error_type,
        "code": code,
        "param": param,
        "doc_url": f"https://docs.auriko.ai/errors/{code}",
    }
    retryable = "true" if status >= 500 else "false"
    headers = {**s.HEADERS, "x-error-type": error_type, "x-error-retryable": retryable}
    return s.error_exchange(status, error, headers)


@pytest.mark.parametrize(
    ("param", "message"),
    [("top_logprobs", "top_logprobs=0 is not allowed."), (None, "Parameter 'top_logprobs' is out of range.")],
)
def test_a_refusal_naming_the_value_fails_its_requirement(
    request: Any, param: str | None, message: str
) -> None:
    judge = Judge(request.node)
    assert not expect.accepted(judge, _refusal(400, param, message), "REQ-014", "top_logprobs")
    assert {f.requirement for f in judge.findings} == {"REQ-014"}
    assert judge.blocked == []


@pytest.mark.parametrize(
    ("status", "param", "message"),
    [
        (400, "x-provider", "The x-provider header is required to choose a provider."),
        (400, None, "logprobs cannot be used here."),  # another field, named as a word of its own
        (502, None, "top_logprobs: the provider failed."),  # not a refusal of the value
    ],
)
def test_other_failures_are_attributed_as_unanswered(
    request: Any, status: int, param: str | None, message: str
) -> None:
    judge = Judge(request.node)
    assert not expect.accepted(judge, _refusal(status, param, message), "REQ-014", "top_logprobs")
    assert {f.requirement for f in judge.findings} == {ANSWERED}
    assert [(b.requirement, b.roots) for b in judge.blocked] == [("REQ-014", (ANSWERED,))]


def test_an_answer_is_accepted(request: Any) -> None:
    judge = Judge(request.node)
    assert expect.accepted(judge, s.completion_exchange(), "REQ-014", "top_logprobs")
    assert judge.findings == []
    assert {"REQ-014", ANSWERED} <= judge.checked
