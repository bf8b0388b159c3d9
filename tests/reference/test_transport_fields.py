"""D-050: one list of upstream-steering extension keys, in the contract, read by the gateway and the suite."""

from __future__ import annotations

from auriko_conformance.reference_impl.extensions import TRANSPORT_FIELDS, sanitise_extension
from auriko_conformance.suites.checks.security import TRANSPORT_OPTIONS

from auriko_conformance import contract


def test_the_gateway_and_the_suite_read_the_contracts_list() -> None:
    listed = contract.transport_fields()
    assert {"base_url", "headers", "extra_query", "proxy"} <= set(listed)
    assert listed == TRANSPORT_OPTIONS
    assert frozenset(listed) == TRANSPORT_FIELDS


def test_the_gateway_removes_every_listed_key_in_any_spelling() -> None:
    """Each key of the list, as written and upper-cased with `-`, is removed with its reason."""
    for key in contract.transport_fields():
        for spelling in (key, key.upper().replace("_", "-")):
            removed: list[str] = []
            clean = sanitise_extension(
                {spelling: "http://attacker.example", "top_k": 3}, "extensions.x", removed
            )
            assert clean == {"top_k": 3}, spelling
            assert removed == [
                f"extensions.x.{spelling} was removed: the upstream URL and headers are the gateway's."
            ]
