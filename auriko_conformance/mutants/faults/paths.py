"""Dotted field paths with `*` wildcards (`messages.*.content.*.cache_control`): how catalogue entries
name a field of a client request or of a native upstream body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def split_path(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def walk(obj: Any, parts: list[str]) -> Iterator[tuple[Any, str]]:
    """(parent, key) for every match of a dotted path; `*` matches every list item or object value."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        children: list[tuple[Any, Any]] = []
        if isinstance(obj, list):
            children = list(enumerate(obj))
        elif isinstance(obj, dict):
            children = list(obj.items())
        for _, child in children:
            yield from walk(child, rest)
        return
    if not isinstance(obj, dict):
        return
    if not rest:
        if head in obj:
            yield obj, head
        return
    if head in obj:
        yield from walk(obj[head], rest)


def lookup(obj: Any, path: str) -> list[Any]:
    return [parent[key] for parent, key in walk(obj, split_path(path))]
