"""Contract rules marked `x-should` are SHOULDs for the fuzzer too (D-113, issue 16).

A gateway that accepts 5 stop sequences breaks REQ-015, a SHOULD (D-010): schemathesis's
`negative_data_rejection` would fail it like a MUST. The hook counts it as an informational finding
instead, and only when every violation of the request is such a rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites.fuzzing import checks as fuzz_checks
from schemathesis.core.failures import AcceptedNegativeData

from tests.test_fuzz_checks import REQUEST_BODY, make_case, response, schema  # noqa: F401  (fixture)

FIVE_STOPS = {**REQUEST_BODY, "stop": ["a", "b", "c", "d", "e"]}
ACCEPTED = AcceptedNegativeData(
    operation="POST /v1/chat/completions", message="", status_code=200, expected_statuses=["400"]
)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (FIVE_STOPS, ["REQ-015"]),
        ({**FIVE_STOPS, "temperature": 5}, []),  # also breaks a MUST range: not only a SHOULD
        ({**REQUEST_BODY, "stop": ["a", "b", "c", "d"]}, []),  # breaks nothing
        ({**REQUEST_BODY, "stop": "a" * 300}, []),  # a string is not a list: the limit does not apply
    ],
)
def test_should_only_violations(body: dict[str, Any], named: list[str]) -> None:
    assert fuzz_checks.should_only_violations(body) == named


def test_accepting_a_should_only_violation_is_counted_not_failed(schema: Any) -> None:  # noqa: F811
    fuzz_checks.reset_counters()
    ok = response(200, {"id": "x"})
    assert fuzz_checks.filter_failure(None, ACCEPTED, make_case(schema, FIVE_STOPS), ok) is False
    assert [f["requirement"] for f in fuzz_checks.INFORMATIONAL.as_list()] == ["REQ-015"]
    broken = {**FIVE_STOPS, "temperature": 5}
    assert fuzz_checks.filter_failure(None, ACCEPTED, make_case(schema, broken), ok) is True
    fuzz_checks.reset_counters()
