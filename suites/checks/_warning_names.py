"""Whether a routing_metadata warning names a request field (D-047), shared by every check module.

A warning is identified by its type and by the field's name appearing in its `code` or `message`. The
name must stand as a word of its own: `top_logprobs` is not `logprobs`, `top_p` is not `top`, so a
warning about one field never excuses the silence about another. This module imports nothing
first-party, so the META and SCHEMA checks and the translation checks can all use it without a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def names(text: str, name: str) -> bool:
    """`name` appears in `text` as a word of its own (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text, re.IGNORECASE) is not None


def warning_names(warning: Any, name: str) -> bool:
    """The warning object names `name` in its code or message."""
    if not isinstance(warning, Mapping):
        return False
    return names(f"{warning.get('code', '')} {warning.get('message', '')}", name)


#: the documented warning types (D-005); META-009 holds every warning to them
WARNING_TYPES = frozenset(
    {"unsupported_parameter", "unsupported_feature", "unsupported_field", "ignored_extension",
     "unknown_provider", "blocked_field", "provider_timeout"}
)  # fmt: skip


def unreadable_warnings(metadata: Any, typed: bool = False) -> tuple[tuple[str, ...], str] | None:
    """When a rule cannot tell whether a warning names a field, the rules whose failure hides it and why:
    entries that are not objects (META-008 fails on them), or, for a rule that needs the warning's type
    (`typed`), objects without a documented one (META-009 fails on them). None: the warnings are readable.
    """
    warnings = metadata.get("warnings") if isinstance(metadata, Mapping) else None
    if not isinstance(warnings, list):
        return None
    if any(not isinstance(w, Mapping) for w in warnings):
        return ("META-008",), "the warnings are not objects, so whether one names it cannot be read"
    if typed and any(w.get("type") not in WARNING_TYPES for w in warnings):
        return ("META-009",), "a warning has no documented type, so which kind it is cannot be read"
    return None
