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
