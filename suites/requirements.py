"""The requirement catalogue (`requirements.yaml`) as typed, validated objects.

Checks, reports and the catalogue's own tests all need the same view of the catalogue, and a malformed entry
(a duplicate ID, a MUST that rests on one of our own decisions) would silently change what the suite fails on.
So the catalogue is validated once, on load, and everything else works with immutable `Requirement` objects.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

CATALOGUE_PATH: Final = Path(__file__).resolve().with_name("requirements.yaml")

#: the requirement every chat request of a suite rests on: a valid request is answered (D-090); the
#: preflight's probe is its first observation
ANSWERED: Final = "REQ-027"

LEVELS: Final = ("MUST", "SHOULD", "MAY")
SCOPES: Final = ("core", "auriko", "full")

# A rule is only as good as the page it comes from: sources must be first-party documentation.
ALLOWED_SOURCE_HOSTS: Final = frozenset(
    {
        "docs.auriko.ai",
        "platform.openai.com",
        "developers.openai.com",
        "docs.anthropic.com",
        "docs.claude.com",
        "ai.google.dev",
        "api-docs.deepseek.com",
        "docs.vllm.ai",
    }
)

ID_RE: Final = re.compile(r"^[A-Z]+-\d{3}$")
DECISION_RE: Final = re.compile(r"^D-\d{3}$")

_REQUIRED_KEYS: Final = ("id", "level", "scope", "title", "text", "source")
_OPTIONAL_KEYS: Final = ("decision", "refs")


class CatalogueError(ValueError):
    """Raised with every problem at once, so one run shows all that needs fixing."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid requirement catalogue:\n  " + "\n  ".join(problems))


@dataclass(frozen=True, slots=True)
class Requirement:
    """One verifiable rule; checks cite it by `id` so results can be traced to the docs."""

    id: str
    level: str
    scope: str
    title: str
    text: str
    source: str
    decision: str | None = None
    refs: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    @property
    def blocking(self) -> bool:
        """Only a MUST fails a run; SHOULD/MAY (including every decision-based rule) are reported."""
        return self.level == "MUST"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The whole catalogue, in file order, so reports list requirements the way the YAML reads."""

    version: int
    areas: Mapping[str, str]
    requirements: tuple[Requirement, ...]
    path: Path | None = None
    _index: Mapping[str, Requirement] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", MappingProxyType({req.id: req for req in self.requirements}))

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    def __contains__(self, req_id: object) -> bool:
        return req_id in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(req.id for req in self.requirements)

    def get(self, req_id: str) -> Requirement:
        """Raise on unknown IDs: a typo in a check must surface, not report against nothing."""
        try:
            return self._index[req_id]
        except KeyError:
            raise KeyError(f"no requirement {req_id!r} in the catalogue") from None

    def by_area(self) -> dict[str, tuple[Requirement, ...]]:
        """Group in the order areas are declared, which is the order reports present them."""
        grouped: dict[str, list[Requirement]] = {area: [] for area in self.areas}
        for req in self.requirements:
            grouped.setdefault(req.area, []).append(req)
        return {area: tuple(reqs) for area, reqs in grouped.items()}


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_source(where: str, source: object) -> list[str]:
    if not isinstance(source, str):
        return [f"{where}: source must be a string"]
    parts = urlsplit(source)
    if parts.scheme != "https":
        return [f"{where}: source {source!r} is not an https URL"]
    if parts.hostname not in ALLOWED_SOURCE_HOSTS:
        return [f"{where}: source host {parts.hostname!r} is not an allowed documentation host"]
    return []


def _check_requirement(
    where: str, entry: Mapping[str, object], areas: Collection[str], decision_ids: Collection[str] | None
) -> list[str]:
    problems: list[str] = []
    missing = [key for key in _REQUIRED_KEYS if key not in entry]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)}")

    req_id = entry.get("id")
    if "id" in entry:
        if not isinstance(req_id, str) or not ID_RE.match(req_id):
            problems.append(f"{where}: id {req_id!r} does not match AREA-NNN")
        elif req_id.split("-", 1)[0] not in areas:
            problems.append(f"{where}: area {req_id.split('-', 1)[0]!r} is not declared in `areas`")
    level = entry.get("level")
    if "level" in entry and level not in LEVELS:
        problems.append(f"{where}: level {level!r} is not one of {', '.join(LEVELS)}")
    if "scope" in entry and entry.get("scope") not in SCOPES:
        problems.append(f"{where}: scope {entry.get('scope')!r} is not one of {', '.join(SCOPES)}")
    for key in ("title", "text"):
        if key in entry and not _is_text(entry[key]):
            problems.append(f"{where}: {key} must be a non-empty string")
    if "source" in entry:
        problems.extend(_check_source(where, entry["source"]))

    if "decision" in entry:
        decision = entry["decision"]
        if not isinstance(decision, str) or not DECISION_RE.match(decision):
            problems.append(f"{where}: decision {decision!r} does not match D-NNN")
        elif decision_ids is not None and decision not in decision_ids:
            problems.append(f"{where}: decision {decision} has no heading in docs/decisions.md")
        # Our own choices may be reported, never enforced: the docs do not back a hard failure there.
        if level == "MUST":
            problems.append(f"{where}: level MUST is not allowed with decision {decision}")
    if "refs" in entry:
        refs = entry["refs"]
        if not isinstance(refs, list) or not refs or not all(_is_text(ref) for ref in refs):
            problems.append(f"{where}: refs must be a non-empty list of non-empty strings")
    return problems


def validate(data: object, *, decision_ids: Collection[str] | None = None) -> list[str]:
    """Return every problem of a parsed catalogue (empty when valid).

    `decision_ids` is the set of headings in docs/decisions.md; the docs are not shipped with the package, so
    the loader leaves it out and the repository's tests pass it in.
    """
    if not isinstance(data, Mapping):
        return ["catalogue must be a mapping with version, areas and requirements"]
    problems: list[str] = []
    version = data.get("version")
    if version != 1:
        problems.append(f"unsupported catalogue version {version!r} (expected 1)")
    areas = data.get("areas")
    if not isinstance(areas, Mapping) or not areas:
        problems.append("`areas` must be a non-empty mapping of area code to description")
        areas = {}
    else:
        for code, description in areas.items():
            if not isinstance(code, str) or not re.fullmatch(r"[A-Z]+", code):
                problems.append(f"area code {code!r} must be upper-case letters")
            if not _is_text(description):
                problems.append(f"area {code!r} needs a description")
    entries = data.get("requirements")
    if not isinstance(entries, list) or not entries:
        problems.append("`requirements` must be a non-empty list")
        return problems

    seen: dict[str, int] = {}
    used_areas: set[str] = set()
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            problems.append(f"requirements[{position}]: must be a mapping")
            continue
        req_id = entry.get("id")
        where = req_id if isinstance(req_id, str) else f"requirements[{position}]"
        problems.extend(_check_requirement(where, entry, areas, decision_ids))
        if isinstance(req_id, str):
            if req_id in seen:
                problems.append(f"{where}: duplicate id (first at requirements[{seen[req_id]}])")
            else:
                seen[req_id] = position
            used_areas.add(req_id.split("-", 1)[0])
    problems.extend(f"area {code!r} has no requirement" for code in areas if code not in used_areas)
    return problems


def _build(data: Mapping[str, Any], path: Path | None) -> Catalogue:
    """Turn validated data into objects; only called after validate() found no problem."""
    requirements = tuple(
        Requirement(
            id=entry["id"],
            level=entry["level"],
            scope=entry["scope"],
            title=entry["title"].strip(),
            text=entry["text"].strip(),
            source=entry["source"],
            decision=entry.get("decision"),
            refs=tuple(entry.get("refs", ())),
        )
        for entry in data["requirements"]
    )
    return Catalogue(
        version=data["version"],
        areas=MappingProxyType(dict(data["areas"])),
        requirements=requirements,
        path=path,
    )


def parse_catalogue(text: str, *, path: Path | None = None) -> Catalogue:
    """Build a catalogue from YAML text; raises CatalogueError listing every problem."""
    data = yaml.safe_load(text)
    problems = validate(data)
    if problems:
        raise CatalogueError(problems)
    return _build(data, path)


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> Catalogue:
    return parse_catalogue(path.read_text(encoding="utf-8"), path=path)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load (once per path) the catalogue every check and report shares."""
    resolved = Path(path).resolve() if path is not None else CATALOGUE_PATH
    return _load_cached(resolved)
