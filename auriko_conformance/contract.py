"""The contract, loaded once: `openapi.yaml` as data, JSON Schema validators and the error-code table.

Every other part of the project (the reference gateway's request validation, the suites' schema checks,
the fuzzer) asks this module rather than re-reading the YAML, so there is exactly one reading of the
contract. Validators are built once per schema name and cached: building a jsonschema validator costs
far more than running it, and the gateway validates every request body.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from auriko_conformance.paths import OPENAPI_PATH

SPEC_URI = "urn:auriko:openapi"
SCHEMA_PREFIX = "#/components/schemas/"


@functools.cache
def load_spec(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """The parsed `openapi.yaml` (do not mutate: it is shared)."""
    with path.open("rb") as fh:
        spec = yaml.safe_load(fh)
    if not isinstance(spec, dict) or "openapi" not in spec:
        raise ValueError(f"{path} is not an OpenAPI document")
    return spec


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """A cached JSON Schema validator for `components.schemas.<schema_name>`.

    OpenAPI 3.1 schemas are JSON Schema 2020-12 plus a few annotation keywords (`discriminator`,
    `example`, `x-*`) that a 2020-12 validator ignores, so jsonschema validates them faithfully.
    """
    if schema_name not in load_spec()["components"]["schemas"]:
        raise KeyError(f"no schema named {schema_name!r} in openapi.yaml")
    schema = {"$ref": f"{SPEC_URI}{SCHEMA_PREFIX}{schema_name}"}
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an instance breaks the contract, with a JSON path a human can find."""

    path: str
    message: str
    keyword: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _json_path(error: ValidationError) -> str:
    parts = ["$"]
    for item in error.absolute_path:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """The most specific errors: a `oneOf` failure alone says little, its branches say why."""
    if error.context:
        best_branch: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            best_branch.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(
                sub
            )
        # Report the branch that got furthest (deepest path) -- usually the one the author meant.
        branch = max(best_branch.values(), key=lambda errs: max(len(e.absolute_path) for e in errs))
        deepest = max(len(e.absolute_path) for e in branch)
        if deepest > len(error.absolute_path):
            for sub in branch:
                yield from _leaf_errors(sub)
            return
    yield error


def violations(schema_name: str, instance: Any) -> list[Violation]:
    """Every contract violation of `instance` against a named schema (empty when it conforms)."""
    found: list[Violation] = []
    for error in validator(schema_name).iter_errors(instance):
        for leaf in _leaf_errors(error):
            found.append(Violation(_json_path(leaf), leaf.message, str(leaf.validator)))
    return found


def is_valid(schema_name: str, instance: Any) -> bool:
    return validator(schema_name).is_valid(instance)


def validate_request_body(body: Any) -> list[Violation]:
    """Violations of a `POST /v1/chat/completions` body (empty list: the body conforms)."""
    return violations("ChatCompletionRequest", body)


# ---------------------------------------------------------------------------------------------------
# Error codes: derived from the per-status error schemas so that the table lives in openapi.yaml only.
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    type: str

    @property
    def retryable(self) -> bool:
        """What `X-Error-Retryable` says for this code (decision D-006)."""
        return self.type in {"rate_limit_error", "api_error"}


def _status_schema(status: int) -> Mapping[str, Any]:
    return load_spec()["components"]["schemas"][f"Error{status}"]


@functools.cache
def error_codes() -> dict[str, ErrorCode]:
    """code -> (status, type), read from the `ErrorNNN` schemas of the contract."""
    table: dict[str, ErrorCode] = {}
    for name in load_spec()["components"]["schemas"]:
        if not (name.startswith("Error") and name[5:].isdigit()):
            continue
        status = int(name[5:])
        refinement = _status_schema(status)["allOf"][1]["properties"]["error"]["properties"]
        error_type = refinement["type"]["const"]
        for code in refinement["code"]["enum"]:
            if code in table:
                raise ValueError(f"error code {code!r} is listed under two statuses")
            table[code] = ErrorCode(code=code, status=status, type=error_type)
    return table


def error_statuses() -> list[int]:
    return sorted({entry.status for entry in error_codes().values()})


def error_schema_for_status(status: int) -> str:
    """Schema name that an error body with this HTTP status must satisfy."""
    name = f"Error{status}"
    if name not in load_spec()["components"]["schemas"]:
        return "ErrorResponse"
    return name


# ---------------------------------------------------------------------------------------------------
# Request fields: used by the seed-field test and by the gateway to tell known fields from unknown ones.
# ---------------------------------------------------------------------------------------------------


@functools.cache
def request_fields() -> frozenset[str]:
    """Top-level fields the contract defines for the chat-completions body."""
    return frozenset(load_spec()["components"]["schemas"]["ChatCompletionRequest"]["properties"])


def request_schema_property(name: str) -> Mapping[str, Any]:
    """The contract's schema of one top-level request field (empty when the contract has none)."""
    return load_spec()["components"]["schemas"]["ChatCompletionRequest"]["properties"].get(name) or {}


@functools.cache
def routing_option_fields() -> frozenset[str]:
    return frozenset(load_spec()["components"]["schemas"]["RoutingOptions"]["properties"])


@functools.cache
def routing_metadata_fields() -> tuple[frozenset[str], frozenset[str]]:
    """(required, all) top-level fields of `routing_metadata`."""
    schema = load_spec()["components"]["schemas"]["RoutingMetadata"]
    return frozenset(schema["required"]), frozenset(schema["properties"])


@functools.cache
def transport_fields() -> tuple[str, ...]:
    """Keys of `extensions.<provider>` that would steer the upstream call (`base_url`, `headers`, ...;
    D-050): the gateway removes them and the suite fails a target that forwards them, from this one list
    (`ProviderExtension.x-transport-fields`), lower case with `_` for `-`."""
    return tuple(load_spec()["components"]["schemas"]["ProviderExtension"]["x-transport-fields"])


# ---------------------------------------------------------------------------------------------------
# CLI: `auriko-conformance contract [check] [BODY.json ...]`
# ---------------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="auriko-conformance contract",
        description="Validate openapi.yaml, or check request bodies against it.",
    )
    parser.add_argument("bodies", nargs="*", type=Path, help="JSON request bodies to check ('-' for stdin)")
    args = parser.parse_args(argv)

    from openapi_spec_validator import validate as validate_spec

    validate_spec(load_spec())
    print(f"{OPENAPI_PATH}: valid OpenAPI {load_spec()['openapi']}, {len(error_codes())} error codes")
    status = 0
    for path in args.bodies:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            print(f"{path}: not JSON ({exc})")
            status = 1
            continue
        found = validate_request_body(body)
        if found:
            status = 1
            for violation in found:
                print(f"{path}: {violation}")
        else:
            print(f"{path}: conforms")
    return status
