"""Findings grouped by requirement and by the shape of their message.

One schema defect on every stream event, or one refused request behind twenty tests, produces hundreds
of messages that differ only in an event number, an ID or a quoted value. A reader needs the defect once,
with how often it was seen and one concrete example (exactly what was sent and received), so the
console, report.html and JUnit all show these groups instead of the raw list (D-091).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_HEX = re.compile(r"\b[0-9a-f]{8,}\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z_])-?\d+(\.\d+)?")


def normalise(message: str) -> str:
    """The message with what varies between occurrences of one defect (quoted values, IDs, numbers)
    replaced by placeholders; requirement IDs and field names stay, so different defects stay apart."""
    text = _QUOTED.sub("'…'", message.splitlines()[0] if message else "")
    text = _HEX.sub("<id>", text)
    return _NUMBER.sub("#", text).strip()


class _Finding(Protocol):
    requirement: str
    message: str


@dataclass(slots=True)
class Group:
    requirement: str
    pattern: str
    count: int
    example: Any  # the first finding of the group, as given

    def __str__(self) -> str:
        message = self.example.message if hasattr(self.example, "message") else self.example["message"]
        times = f" (x{self.count})" if self.count > 1 else ""
        return f"[{self.requirement}]{times} {message.splitlines()[0][:300] if message else ''}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "pattern": self.pattern,
            "count": self.count,
            "example": self.example,
        }


def group_findings(findings: Iterable[_Finding | dict[str, Any]]) -> list[Group]:
    """Findings (objects or dicts with `requirement` and `message`) grouped in order of first sight."""
    groups: dict[tuple[str, str], Group] = {}
    for finding in findings:
        requirement = finding["requirement"] if isinstance(finding, dict) else finding.requirement
        message = finding["message"] if isinstance(finding, dict) else finding.message
        key = (requirement, normalise(message))
        if key in groups:
            groups[key].count += 1
        else:
            groups[key] = Group(requirement, key[1], 1, finding)
    return list(groups.values())
