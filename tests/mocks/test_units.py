"""Token rule, directive grammar, the deterministic reply: pure functions."""

from __future__ import annotations

import pytest
from auriko_conformance.mocks.behaviour import reply_text
from auriko_conformance.mocks.directives import DirectiveError, find_tag, parse_directives, strip_markers
from auriko_conformance.mocks.tokens import count_argument_tokens, count_tokens, split_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Hello there!", 3),
        ("  spaced   out  ", 2),
        ('{"city": "Paris"}', 9),
        ('{ "city" :"Paris" }', 9),
        ("snake_case stays one", 3),
        ("l'été", 3),
    ],
)
def test_count_tokens(text, expected):
    assert count_tokens(text) == expected


def test_json_whitespace_and_escapes_do_not_change_argument_counts():
    assert count_argument_tokens('{"a": 1, "b": "x y"}') == count_argument_tokens('{"b":"x y","a":1}')
    assert count_argument_tokens('{"c": "\\u00e9t\\u00e9"}') == count_argument_tokens('{"c": "été"}')


def test_split_tokens_is_lossless_and_one_token_per_chunk():
    text = reply_text("anything", 12)
    chunks = split_tokens(text)
    assert "".join(chunks) == text
    assert len(chunks) == count_tokens(text) == 12
    assert "".join(split_tokens("a b  ")) == "a b  "


def test_reply_text_is_deterministic_and_sized():
    assert reply_text("hello", 20) == reply_text("hello", 20)
    assert reply_text("hello", 20) != reply_text("hello!", 20)
    for n in (1, 2, 5, 40):
        assert count_tokens(reply_text("seed", n)) == n


def test_parse_directives_values_flags_and_merge():
    d = parse_directives("hi [[mock: tool_calls=2 reasoning=40]] and [[mock: timeout cached=64]]", "openai")
    assert (d.tool_calls, d.reasoning, d.timeout, d.cached) == (2, 40, True, 64)
    assert parse_directives("[[mock: content_filter]]", "x").finish == "content_filter"
    assert parse_directives("[[mock: error=429 retry_after=7]]", "x").retry_after == 7
    assert parse_directives("no markers", "x").error is None


def test_provider_scoped_directives_apply_only_there():
    text = "[[mock: provider=openai error=503]] [[mock: provider=anthropic words=3]]"
    assert parse_directives(text, "openai").error == 503
    assert parse_directives(text, "openai").words is None
    assert parse_directives(text, "anthropic").words == 3
    assert parse_directives(text, "gemini").error is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[[mock: nonsense=1]]", "nonsense"),
        ("[[mock: tool_calls=abc]]", "tool_calls=abc"),
        ("[[mock: error=200]]", "error=200"),
        ("[[mock: finish=maybe]]", "finish=maybe"),
        ("[[mock: words]]", "words"),
        ("[[mock error=429]]", "[[mock"),
        # validated even when scoped to another instance, so typos never pass silently
        ("[[mock: provider=other bogus]]", "bogus"),
    ],
)
def test_bad_directives_name_themselves(text, name):
    with pytest.raises(DirectiveError) as info:
        parse_directives(text, "openai")
    assert info.value.directive.startswith(name)


def test_markers_tag_and_strip():
    text = "What [[conformance-id: abc-123]] is [[mock: words=3]] this?"
    assert find_tag(text) == "abc-123"
    assert strip_markers(text) == "What is this?"
