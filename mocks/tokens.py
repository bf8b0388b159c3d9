"""The one token rule every mock uses, so a suite can compute usage (and cost) from the request alone.

A token is a run of word characters or one punctuation character: `\\w+|[^\\w\\s]`. Whitespace is never a
token, so re-serialising JSON with other spacing or key order does not change a count. The suite imports
`count_tokens`; the mocks also use `split_tokens` to cut a reply into stream chunks whose concatenation is
the reply text exactly.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
# A chunk is one token with the whitespace before it; trailing whitespace becomes a last chunk of its
# own, so "".join(chunks) == text always (replies never end in whitespace, so for them one chunk is one
# token).
_CHUNK_RE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+")


@functools.lru_cache(maxsize=4096)  # prompts repeat (system prompts, replayed histories): a pure function
def count_tokens(text: str) -> int:
    """Number of tokens in `text` under the mock token rule."""
    return len(TOKEN_RE.findall(text))


def split_tokens(text: str) -> list[str]:
    """Cut `text` into one chunk per token (leading whitespace attached); joining gives `text` back."""
    return _CHUNK_RE.findall(text)


def canonical_json(value: Any) -> str:
    """Compact JSON for a value: how tool arguments are counted whatever shape carried them."""
    return orjson.dumps(value).decode()


def count_json_tokens(value: Any) -> int:
    """Tokens of a JSON value (tool-call arguments, structured tool results)."""
    return count_tokens(canonical_json(value))


def count_argument_tokens(arguments: str) -> int:
    """Tokens of an OpenAI-style `arguments` string: parsed and re-serialised when it is JSON, so that
    `\\u00e9` escapes or spacing count the same as the object an Anthropic or Gemini request carries."""
    try:
        return count_json_tokens(orjson.loads(arguments))
    except orjson.JSONDecodeError:
        return count_tokens(arguments)
