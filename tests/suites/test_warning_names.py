"""A warning excuses exactly the field it names (D-047), and never a wrong answer (issue 16).

META-012 matched parameter names as substrings, so a warning about `top_logprobs` counted for
`logprobs`; SCHEMA-008 stopped judging as soon as any warning mentioned "logprobs", so a gateway could
silence it by warning. Each case feeds the broken exchange and expects the finding.
"""

from __future__ import annotations

from typing import Any

import pytest
from auriko_conformance.suites.checks import Context, run_checks
from auriko_conformance.suites.checks._warning_names import names, warning_names
from auriko_conformance.suites.checks.xlate import Upstream, XlateContext
from auriko_conformance.suites.exchange import Exchange

from tests.suites import samples as s

LOGPROBS_REQUEST = {**s.REQUEST, "logprobs": True, "top_logprobs": 2}


def _warning(message: str) -> dict[str, str]:
    return {"type": "unsupported_parameter", "code": "unsupported_parameter", "message": message}


def _completion(warnings: list[dict[str, str]], logprobs: Any = None) -> Exchange:
    body = s.completion()
    body["choices"][0]["logprobs"] = logprobs
    body["routing_metadata"]["warnings"] = warnings
    return Exchange.build(status=200, headers=s.HEADERS, body=body, request_body=LOGPROBS_REQUEST)


def _requirements(exchange: Exchange, check: str, **context: Any) -> list[str]:
    found = run_checks(exchange, Context(request=LOGPROBS_REQUEST, **context), only=[check])
    return [f.requirement for f in found]


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("top_logprobs was dropped", "logprobs", False),
        ("logprobs was dropped", "logprobs", True),
        ("Parameter 'LOGPROBS' is not supported", "logprobs", True),
        ("unsupported_parameter: top_p", "top", False),
        ("extensions.anthropic.API_KEY was removed", "API_KEY", True),
    ],
)
def test_a_field_is_named_only_as_a_word_of_its_own(text: str, name: str, expected: bool) -> None:
    assert names(text, name) is expected
    assert warning_names({"code": "c", "message": text}, name) is expected


def test_warning_names_ignores_what_is_not_a_warning_object() -> None:
    assert not warning_names("logprobs was dropped", "logprobs")


def test_meta_012_a_warning_about_top_logprobs_does_not_cover_logprobs() -> None:
    exchange = _completion([_warning("top_logprobs was dropped")])
    check = "warning_for_each_dropped_parameter"
    assert _requirements(exchange, check, dropped_parameters=("logprobs",)) == ["META-012"]
    named = _completion([_warning("logprobs was dropped")])
    assert _requirements(named, check, dropped_parameters=("logprobs",)) == []


def test_schema_008_a_warning_does_not_excuse_malformed_logprobs() -> None:
    malformed = {"content": [{"token": "Hi", "logprob": -0.1, "bytes": None, "top_logprobs": None}]}
    exchange = _completion([_warning("logprobs was dropped")], logprobs=malformed)
    assert _requirements(exchange, "logprobs_are_arrays") == ["SCHEMA-008"]


def test_schema_008_a_warning_about_another_field_does_not_excuse_missing_logprobs() -> None:
    exchange = _completion([_warning("top_logprobs was dropped")])
    assert _requirements(exchange, "logprobs_are_arrays") == ["SCHEMA-008"]


def test_schema_008_a_warning_naming_logprobs_excuses_their_absence() -> None:
    exchange = _completion([_warning("logprobs was dropped")])
    assert _requirements(exchange, "logprobs_are_arrays") == []
    assert _requirements(_completion([]), "logprobs_are_arrays", dropped_parameters=("logprobs",)) == []


@pytest.mark.parametrize(
    ("flavour", "excused"), [("openai", False), ("deepseek", False), ("anthropic", True)]
)
def test_schema_008_a_warning_excuses_missing_logprobs_only_from_a_provider_without_them(
    flavour: str, excused: bool
) -> None:
    # The mutation fault `logprobs-dropped-with-warning`: an OpenAI answer loses its logprobs and the
    # gateway claims, in a warning, that the provider lacks them.
    exchange = _completion([_warning("logprobs is not supported by this provider")])
    upstream = Upstream.from_entry({"provider": flavour, "flavour": flavour, "body": {}})
    context = XlateContext(request=LOGPROBS_REQUEST, upstream=upstream)
    found = run_checks(exchange, context, only=["logprobs_are_arrays"])
    assert [f.requirement for f in found] == ([] if excused else ["SCHEMA-008"])
