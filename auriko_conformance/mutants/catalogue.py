"""The fault catalogue (`catalogue.yaml`): load it, validate it, pick entries from it."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auriko_conformance.mutants.faults import TRANSFORMS
from auriko_conformance.suites.requirements import load_catalogue as load_requirements

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.yaml"
SIDES = ("front", "back", "both")
IDENTITY = "identity"


class CatalogueError(ValueError):
    """The catalogue file is malformed or refers to something that does not exist."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    id: str
    side: str
    transform: str
    expect: tuple[str, ...]
    select: str
    description: str
    source: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    smoke: bool = False

    @property
    def is_identity(self) -> bool:
        return self.id == IDENTITY


def _spec(raw: Any, where: str) -> FaultSpec:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected a mapping")
    allowed = {"id", "side", "transform", "args", "expect", "select", "description", "source", "smoke"}
    unknown = set(raw) - allowed
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)}")
    missing = {"id", "side", "transform", "expect", "description"} - set(raw)
    if missing:
        raise CatalogueError(f"{where}: missing keys {sorted(missing)}")
    if raw["side"] not in SIDES:
        raise CatalogueError(f"{where}: side must be one of {SIDES}")
    return FaultSpec(
        id=str(raw["id"]),
        side=raw["side"],
        transform=str(raw["transform"]),
        expect=tuple(raw["expect"] or ()),
        select=str(raw.get("select") or ""),
        description=str(raw["description"]),
        source=str(raw.get("source") or ""),
        args=dict(raw.get("args") or {}),
        smoke=bool(raw.get("smoke", False)),
    )


@functools.cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[FaultSpec, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("faults"), list):
        raise CatalogueError(f"{path}: expected a mapping with a `faults` list")
    specs = tuple(_spec(raw, f"{path.name} faults[{i}]") for i, raw in enumerate(data["faults"]))
    validate(specs)
    return specs


def validate(specs: Iterable[FaultSpec]) -> None:
    """IDs unique, transforms known, expected requirement IDs in the suites' catalogue."""

    requirements = load_requirements()
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise CatalogueError(f"fault {spec.id!r} appears twice")
        seen.add(spec.id)
        if spec.transform not in TRANSFORMS:
            raise CatalogueError(f"fault {spec.id!r}: unknown transform {spec.transform!r}")
        unknown = [r for r in spec.expect if r not in requirements]
        if unknown:
            raise CatalogueError(f"fault {spec.id!r}: unknown requirement IDs {unknown}")
        if not spec.is_identity and (not spec.expect or not spec.select):
            raise CatalogueError(f"fault {spec.id!r}: a fault needs `expect` and `select`")
    if IDENTITY not in seen:
        raise CatalogueError("the catalogue has no identity entry")


def faults(ids: Iterable[str] | None = None, *, smoke: bool = False) -> list[FaultSpec]:
    """The catalogue's faults (identity excluded): all, the named ones, or the smoke subset."""
    specs = [s for s in load_catalogue() if not s.is_identity]
    if ids:
        wanted = list(dict.fromkeys(ids))
        by_id = {s.id: s for s in specs}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise CatalogueError(f"unknown fault IDs: {missing}")
        return [by_id[i] for i in wanted]
    return [s for s in specs if s.smoke] if smoke else specs


def identity() -> FaultSpec:
    return next(s for s in load_catalogue() if s.is_identity)
