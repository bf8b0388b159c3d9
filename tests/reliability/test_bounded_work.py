"""Issue 19, item 1: no body up to the 4 MiB limit can hold the event loop.

Each body below took seconds of CPU in the pure-Python explanation of a validation failure (20,000 empty
messages 6.9 s, 100,000 messages 45 s, 2,048 x 40 parts 56 s) while every other request waited. Now the
first error is found and explained in Rust, nesting is checked in Rust and a body with more than
`limits.max_json_containers` objects and arrays is refused before it is parsed (D-060). The time
limits here are hang guards, an order of magnitude above the measured figures (docs/reliability.md).
"""

from __future__ import annotations

import concurrent.futures
import random
import re
import time
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.reference_impl.errors import GatewayError
from auriko_conformance.reference_impl.validation import _containers_exceed, parse_body, validate_chat_request

from tests.reliability.helpers import AUTH, check_envelope

HANG_GUARD_S = 5.0  # measured: < 0.2 s each (docs/reliability.md); before the fix 7-56 s


def _user(content: object) -> dict[str, object]:
    return {"role": "user", "content": content}


def _bad_last_part(messages: int, parts: int) -> dict[str, Any]:
    """`messages` x `parts` valid text parts, except that the very last part's text is a number."""
    part = {"type": "text", "text": "hi"}
    body_messages = [_user([part] * parts) for _ in range(messages - 1)]
    body_messages.append(_user([part] * (parts - 1) + [{"type": "text", "text": 5}]))
    return {"model": "gpt-4o", "messages": body_messages}


# id -> (body, status, code, param)
CASES: dict[str, tuple[dict[str, object], int, str, str | None]] = {
    "20k_empty_messages": (
        {"model": "gpt-4o", "messages": [_user("")] * 20_000},
        400,
        "invalid_parameter_value",
        "messages",
    ),
    "100k_messages_over_container_limit": (
        {"model": "gpt-4o", "messages": [_user("")] * 100_000},
        400,
        "invalid_request",
        None,
    ),
    "2048_x_40_parts_last_one_wrong": (
        _bad_last_part(2048, 40),
        400,
        "invalid_parameter_value",
        "messages[2047].content[39].text",
    ),
    "1_message_60k_parts_last_one_wrong": (
        _bad_last_part(1, 60_000),
        400,
        "invalid_parameter_value",
        "messages[0].content[59999].text",
    ),
    "a_million_empty_arrays": (
        {"model": "gpt-4o", "messages": [_user("hi")], "metadata": [[]] * 1_000_000},
        400,
        "invalid_request",
        None,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_large_invalid_bodies_are_refused_at_once(client: httpx.Client, case: str) -> None:
    body, status, code, param = CASES[case]
    raw = orjson.dumps(body)
    assert len(raw) <= 4 * 1024 * 1024
    started = time.monotonic()
    response = client.post("/v1/chat/completions", content=raw)
    elapsed = time.monotonic() - started
    assert response.status_code == status, response.text[:300]
    error = check_envelope(response)
    assert error["code"] == code
    assert error.get("param") == param
    assert elapsed < HANG_GUARD_S, f"{case}: {elapsed:.1f} s"


def test_other_requests_are_served_while_a_large_body_is_refused(client: httpx.Client) -> None:
    """`GET /v1/models` waited 6.8 s behind one 20,000-message body; now it is not held up."""
    raw = orjson.dumps({"model": "gpt-4o", "messages": [_user("")] * 20_000})
    url = str(client.base_url)
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        heavy = [
            pool.submit(httpx.post, f"{url}/v1/chat/completions", content=raw, headers=AUTH) for _ in range(4)
        ]
        started = time.monotonic()
        models = client.get("/v1/models")
        models_s = time.monotonic() - started
        assert all(f.result(timeout=30).status_code == 400 for f in heavy)
    assert models.status_code == 200
    assert models_s < HANG_GUARD_S


def test_many_unknown_fields_give_a_bounded_list_of_warnings(client: httpx.Client) -> None:
    """200,000 unknown fields made 200,000 warnings; now 16 by name and one that counts the rest."""
    body: dict[str, object] = {"model": "gpt-4o", "messages": [_user("hi")]}
    body.update({f"f{i}": 0 for i in range(200_000)})
    response = client.post("/v1/chat/completions", content=orjson.dumps(body))
    assert response.status_code == 200, response.text[:300]
    warnings = [
        w for w in response.json()["routing_metadata"]["warnings"] if w["type"] == "unsupported_field"
    ]
    assert len(warnings) == 17
    assert warnings[-1]["message"] == "199984 more unknown fields were ignored."


_ONE = [_user("x")]
# Bodies whose every error the Rust validator would build before yielding the first (seconds to
# minutes, and a gigabyte for the million `gateway.models`): narrowed first, explained on a few nodes.
NARROWED: dict[str, tuple[dict[str, object], str, str | None]] = {
    "million_wrong_gateway_models": (
        {"gateway": {"models": [1] * 1_000_000}, "messages": _ONE},
        "invalid_parameter_value",
        "gateway.models[0]",
    ),
    "300k_bad_logit_bias_values": (
        {"model": "gpt-4o", "messages": _ONE, "logit_bias": {f"x{i}": "a" for i in range(300_000)}},
        "invalid_parameter_value",
        "logit_bias.x0",
    ),
    "million_wrong_stop_entries": (
        {"model": "gpt-4o", "messages": _ONE, "stop": [1] * 1_000_000},
        "invalid_parameter_value",
        "stop[0]",
    ),
    "wrong_n_behind_90k_extensions": (
        {"model": "gpt-4o", "messages": _ONE, "extensions": {f"k{i}": [1] for i in range(90_000)}, "n": 0},
        "invalid_parameter_value",
        "n",
    ),
    "missing_content_in_message_1500_of_2048": (
        {"model": "gpt-4o", "messages": [*[_user("x")] * 1500, {"role": "user"}, *[_user("x")] * 547]},
        "missing_required_parameter",
        "messages[1500].content",
    ),
    "one_bad_part_among_60k_in_message_3": (
        {"model": "gpt-4o", "messages": [*_ONE * 3, *_bad_last_part(1, 60_000)["messages"]]},
        "invalid_parameter_value",
        "messages[3].content[59999].text",
    ),
}


@pytest.mark.parametrize("case", NARROWED)
def test_one_error_is_explained_without_building_the_others(case: str) -> None:
    body, code, param = NARROWED[case]
    raw = orjson.dumps(body)
    started = time.process_time()
    with pytest.raises(GatewayError) as caught:
        validate_chat_request(parse_body(raw))
    assert (caught.value.code, caught.value.param) == (code, param)
    assert time.process_time() - started < HANG_GUARD_S


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string with its escapes: the slow, plain count


def test_the_container_count_leaves_out_brackets_inside_strings() -> None:
    """The bytes-only count agrees with stripping every string by regex, on strings full of brackets,
    quotes and backslashes; a body just over the limit by its real containers is refused, one whose
    extra brackets are all inside strings is not."""
    rng = random.Random(60)
    alphabet = ["a", '"', "\\", "[", "]", "{", "}", "\n", "\\\\", '\\"', " "]
    for _ in range(3_000):
        text = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(3)]
        raw = orjson.dumps({"k" + text[0]: [text, {"x": text[1]}], "y": [[]], "z": text[2]})
        plain = _STRING.sub(b"", raw)
        real = plain.count(b"[") + plain.count(b"{")
        assert (_containers_exceed(raw, real - 1), _containers_exceed(raw, real)) == (True, False), raw
    brackets = orjson.dumps({"model": "gpt-4o", "messages": [_user("[{" * 60_000)]})
    assert not _containers_exceed(brackets, 10)
    with pytest.raises(GatewayError) as caught:
        parse_body(orjson.dumps({"a": [[]] * 20}), max_containers=20)
    assert caught.value.code == "invalid_request"
