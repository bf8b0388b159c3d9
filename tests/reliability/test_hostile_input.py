"""Item 3: limits and hostile input against the reference over real sockets.

Each case ends in a contract-valid error envelope (or, where the input is merely odd, a normal answer),
never a 500, a crash, a hang or an unbounded buffer. The table in docs/reliability.md lists the same
cases with their outcomes. The gateway runs with the slow-client guards of `auriko-conformance serve`
(`auriko_conformance/http_guard.py`, D-051), with short allowances so the slow-loris cases take a second each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from auriko_conformance.reference_impl.app import create_app
from auriko_conformance.reference_impl.config import Limits, default_config
from auriko_conformance.reference_impl.server import uvicorn_options

from auriko_conformance import contract
from auriko_conformance.servers import RunningServer, serving
from tests.reliability.helpers import AUTH, CLIENT_TIMEOUT_S, DEADLINE_MARGIN_S

LIMITS = Limits(header_timeout_ms=1_000, body_timeout_ms=1_000)
MAX_ERROR_BYTES = 2_048  # an error never echoes a large request value back (errors.MAX_TEXT)


@pytest.fixture(scope="module")
def guarded(mock_server) -> Iterator[RunningServer]:
    config = default_config(mock_server.url, limits=LIMITS)
    with serving(create_app(config), **uvicorn_options(config)) as server:  # as `auriko-conformance serve`
        yield server


@pytest.fixture
def http(guarded) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=guarded.url, headers=AUTH, timeout=CLIENT_TIMEOUT_S) as client:
        yield client


def _msg(text: str = "hi") -> bytes:
    return b'[{"role":"user","content":"' + text.encode() + b'"}]'


def _body(extra: bytes = b"", model: bytes = b'"gpt-4o"', messages: bytes | None = None) -> bytes:
    return b'{"model":' + model + b',"messages":' + (messages or _msg()) + extra + b"}"


def _nested(depth: int) -> bytes:
    return _body(b',"metadata":' + b"[" * depth + b"]" * depth)


MIB = 1024 * 1024
# id -> (body bytes, extra request headers, status, code or None for a success)
BODY_CASES: dict[str, tuple[bytes, dict[str, str], int, str | None]] = {
    "body_4MiB_plus_1_declared": (b"x" * (4 * MIB + 1), {}, 413, "payload_too_large"),
    "body_64MiB_declared": (b"x" * (64 * MIB), {}, 413, "payload_too_large"),
    "json_depth_64": (_nested(63), {}, 200, None),
    "json_depth_65": (_nested(64), {}, 400, "invalid_request"),
    "json_depth_100000": (_nested(100_000), {}, 400, "invalid_request"),
    "messages_2048": (_body(messages=b"[" + b",".join([_msg()[1:-1]] * 2048) + b"]"), {}, 200, None),
    "messages_2049": (
        _body(messages=b"[" + b",".join([_msg()[1:-1]] * 2049) + b"]"),
        {},
        400,
        "invalid_parameter_value",
    ),
    "n_1e9": (_body(b',"n":1000000000'), {}, 400, "invalid_parameter_value"),
    "n_1e300": (_body(b',"n":1e300'), {}, 400, "invalid_parameter_value"),
    "n_2_pow_64": (_body(b',"n":18446744073709551616'), {}, 400, "invalid_parameter_value"),
    "n_negative": (_body(b',"n":-1'), {}, 400, "invalid_parameter_value"),
    "max_tokens_2_pow_62": (_body(b',"max_tokens":4611686018427387904'), {}, 200, None),
    "max_completion_tokens_2_pow_70": (
        _body(b',"max_completion_tokens":1180591620717411303424'),
        {},
        200,
        None,
    ),
    "max_tokens_1e400": (_body(b',"max_tokens":1e400'), {}, 400, "invalid_request"),
    "max_tokens_zero": (_body(b',"max_tokens":0'), {}, 400, "invalid_parameter_value"),
    "invalid_utf8": (
        _body(messages=b'[{"role":"user","content":"hi \xff\xfe"}]'),
        {},
        400,
        "invalid_request",
    ),
    "lone_surrogate": (_body(messages=_msg("\\ud800")), {}, 400, "invalid_request"),
    "nul_in_model": (_body(model=b'"gpt-4o\\u0000"'), {}, 404, "model_not_found"),
    "empty_body": (b"", {}, 400, "invalid_request"),
    "json_array": (b"[]", {}, 400, "invalid_request"),
    "json_null": (b"null", {}, 400, "invalid_request"),
    "not_json": (b"model=gpt-4o&messages=hi", {}, 400, "invalid_request"),
    "content_type_text_plain": (_body(), {"content-type": "text/plain"}, 200, None),
    "content_type_form_curl_default": (
        _body(),
        {"content-type": "application/x-www-form-urlencoded"},
        200,
        None,
    ),
    "content_type_missing": (_body(), {"content-type": ""}, 200, None),
    "content_type_multipart": (
        b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--b--\r\n',
        {"content-type": "multipart/form-data; boundary=b"},
        400,
        "invalid_request",
    ),
    "content_type_json_latin1": (
        _body(messages=b'[{"role":"user","content":"caf\xe9"}]'),
        {"content-type": "application/json; charset=latin-1"},
        400,
        "invalid_request",
    ),
    "huge_string_3MiB": (_body(messages=_msg("word " * (3 * MIB // 5))), {}, 200, None),
    "huge_unknown_field_name": (_body(b',"' + b"x" * 500_000 + b'":1'), {}, 200, None),
    "huge_invalid_value_echo": (
        _body(b',"temperature":"' + b"x" * 1_000_000 + b'"'),
        {},
        400,
        "invalid_parameter_value",
    ),
    "idempotency_key_too_long": (_body(), {"idempotency-key": "k" * 300}, 400, "invalid_parameter_value"),
}


@pytest.mark.parametrize("case", list(BODY_CASES))
def test_hostile_body(http, case):
    raw, headers, status, code = BODY_CASES[case]
    started = time.monotonic()
    response = http.post("/v1/chat/completions", content=raw, headers=headers)
    took = time.monotonic() - started
    assert response.status_code == status, response.text[:500]
    assert response.headers.get("x-request-id")
    if code is None:
        body = response.json()
        assert not contract.violations("ChatCompletion", body)
        for item in body["routing_metadata"].get("warnings") or ():
            assert len(item["message"]) <= 1024
        return
    body = response.json()
    assert not contract.violations(contract.error_schema_for_status(status), body), body
    assert body["error"]["code"] == code, body
    assert len(response.content) <= MAX_ERROR_BYTES, len(response.content)
    assert took < 10, took


def test_chunked_body_over_the_limit_is_413(http):
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"x" * MIB

    response = http.post("/v1/chat/completions", content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert http.post("/v1/chat/completions", content=_body()).status_code == 200  # the server is fine


def test_hostile_gateway_fields(http):
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"gateway": {"metadata": {"tags": ["t"] * 33}}}, 400, "invalid_parameter_value"),
        ({"gateway": {"metadata": {"trace_id": "t" * 257}}}, 400, "invalid_parameter_value"),
        ({"gateway": {"routing": {"max_fallback_attempts": 10**9}}}, 400, "invalid_parameter_value"),
        # no upper bound in the contract: an absurd allowance is merely no timeout, never an overflow
        ({"gateway": {"routing": {"timeout_ms": 10**30, "deadline_ms": 10**30}}}, 200, None),
        ({"gateway": {"models": ["gpt-4o"] * 11}}, 400, "invalid_parameter_value"),
        ({"stop": ["s"] * 5}, 400, "invalid_parameter_value"),
    ]
    for extra, status, code in cases:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **extra}
        if "models" in extra.get("gateway", {}):
            body.pop("model")
        response = http.post("/v1/chat/completions", content=json.dumps(body))
        assert response.status_code == status, (extra, response.text[:300])
        if code is not None:
            assert response.json()["error"]["code"] == code, response.text[:300]


# ------------------------------------------------------------------------------------------------------
# Slow and malformed clients at the socket level
# ------------------------------------------------------------------------------------------------------


def _connect(server: RunningServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.setblocking(False)
    return sock


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float | None]:
    """Everything the server sends until it closes; the seconds until the close (None: still open)."""
    started = time.monotonic()
    data = b""
    while time.monotonic() - started < limit_s:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return data, time.monotonic() - started
            if not chunk:
                return data, time.monotonic() - started
            data += chunk
    return data, None


def _trickle(
    sock: socket.socket, payload: bytes, every_s: float, limit_s: float
) -> tuple[bytes, float | None]:
    """Send `payload` one byte every `every_s`, watching for the server's answer and close."""
    started = time.monotonic()
    data = b""
    for byte in payload:
        if time.monotonic() - started > limit_s:
            return data, None
        with contextlib.suppress(BlockingIOError):
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return data, time.monotonic() - started
        readable, _, _ = select.select([sock], [], [], every_s)
        if readable:
            rest, closed = _read_until_closed(sock, limit_s)
            return data + rest, (time.monotonic() - started) if closed is not None else None
    return data, None


def _envelope(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    payload = orjson.loads(body[: int(headers["content-length"])])
    assert not contract.violations(contract.error_schema_for_status(status), payload), payload
    assert headers.get("x-request-id")
    return status, headers, payload


HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ak_test_conformance\r\n"
ALLOWANCE_S = LIMITS.header_timeout_ms / 1000 + DEADLINE_MARGIN_S


def test_idle_connection_is_closed(guarded):
    with contextlib.closing(_connect(guarded)) as sock:
        data, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None, "an idle connection stayed open"
    assert closed_after <= ALLOWANCE_S
    assert data == b""


def test_headers_sent_a_byte_at_a_time_are_cut_off(guarded):
    with contextlib.closing(_connect(guarded)) as sock:
        _, closed_after = _trickle(sock, HEAD + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n", 0.02, 5)
    assert closed_after is not None, "a slow-loris header trickle kept the connection"
    assert closed_after <= ALLOWANCE_S


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_slow_body_gets_an_error_and_the_connection_closes(guarded, trickle):
    body = _body()
    with contextlib.closing(_connect(guarded)) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        if trickle:
            data, closed_after = _trickle(sock, body[10:] + b" " * 200, 0.05, 5)
        else:
            data, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None, "a stalled body kept the connection"
    assert closed_after <= LIMITS.body_timeout_ms / 1000 + DEADLINE_MARGIN_S
    status, headers, payload = _envelope(data)
    assert status == 400
    assert payload["error"]["code"] == "invalid_request"
    assert headers["connection"] == "close"


@pytest.mark.parametrize(
    "headers",
    [
        b"X-Big: " + b"a" * (256 * 1024) + b"\r\n",
        b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)),
    ],
    ids=["one_huge_header", "many_headers"],
)
def test_header_flood_is_refused_not_buffered(guarded, headers):
    with contextlib.closing(_connect(guarded)) as sock:
        sock.setblocking(True)
        sock.settimeout(5)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(HEAD + headers + b"\r\n")
        sock.setblocking(False)
        data, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None
    status, _, payload = _envelope(data)
    assert status == 400
    assert "exceed" in payload["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"HELLO WORLD\r\n\r\n",
        HEAD + b"X-Bad: a\x00b\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n",
    ],
    ids=["bad_request_line", "nul_in_header", "bad_chunk_size"],
)
def test_malformed_http_is_an_envelope(guarded, raw):
    with contextlib.closing(_connect(guarded)) as sock:
        sock.sendall(raw)
        data, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None
    status, _, payload = _envelope(data)
    assert status == 400
    assert payload["error"]["code"] == "invalid_request"


def test_idle_keep_alive_connection_closes_after_the_header_allowance(guarded):
    # longer than the 5 s idle expiry of httpx clients in production (10 s), so no request is ever sent
    # on a connection the gateway is closing; here 1 s
    body = _body()
    with contextlib.closing(_connect(guarded)) as sock:
        sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        deadline = time.monotonic() + 5
        data = b""
        while b'"routing_metadata"' not in data and time.monotonic() < deadline:
            if select.select([sock], [], [], 0.05)[0]:
                data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        _, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None
    assert LIMITS.header_timeout_ms / 1000 - 0.3 <= closed_after <= ALLOWANCE_S


def test_served_keep_alive_outlasts_client_idle_expiry():
    options = uvicorn_options(default_config())
    assert options["timeout_keep_alive"] > Limits().header_timeout_ms / 1000 > httpx.Limits().keepalive_expiry


def test_keep_alive_connection_serves_requests_after_the_header_allowance(guarded):
    # the header timer restarts per request: a keep-alive client is never cut off mid-conversation
    with httpx.Client(base_url=guarded.url, headers=AUTH, timeout=CLIENT_TIMEOUT_S) as client:
        for _ in range(3):
            assert client.post("/v1/chat/completions", content=_body()).status_code == 200
            time.sleep(0.6)
        response = client.post("/v1/chat/completions", content=_body(), headers={"x-pad": "p" * 30_000})
        assert response.status_code == 200


# ------------------------------------------------------------------------------------------------------
# Issue 19, items 3-6: trailers, pipelining, upgrades, clients that leave, ambiguous requests
# ------------------------------------------------------------------------------------------------------

CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


def _send_all(sock: socket.socket, payload: bytes) -> None:
    """Send what the server takes; a server that has refused and closed stops the sending."""
    sock.setblocking(True)
    sock.settimeout(5)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(payload)
    sock.setblocking(False)


def _responses(raw: bytes) -> list[tuple[int, bytes]]:
    """(status, body) of each response in a byte stream of Content-Length-framed responses."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
        found.append((int(lines[0].split()[1]), rest[:length]))
        raw = rest[length:]
    return found


@pytest.mark.parametrize("trailer", [b"X-T: " + b"a" * (2 * MIB) + b"\r\n", b"X-T: a\r\n" * 100_000])
def test_chunked_trailers_count_against_the_header_limit(guarded, trailer):
    """A 100 MB trailer was read whole, before authentication (RSS 140 -> 294 MB)."""
    with contextlib.closing(_connect(guarded)) as sock:
        body = _body()
        _send_all(sock, CHUNKED + b"%x\r\n%s\r\n0\r\n" % (len(body), body) + trailer + b"\r\n")
        data, closed_after = _read_until_closed(sock, 5)
    assert closed_after is not None
    status, _, payload = _envelope(data)
    assert status == 400
    assert "trailers exceed" in payload["error"]["message"]


def test_small_trailers_and_many_small_chunks_are_served(guarded):
    body = _body()
    chunks = b"".join(b"1\r\n%s\r\n" % body[i : i + 1] for i in range(len(body)))
    with contextlib.closing(_connect(guarded)) as sock:
        _send_all(sock, CHUNKED + chunks + b"0\r\nX-Trailer: fine\r\n\r\n")
        data, _ = _read_until_closed(sock, 3)
    assert _responses(data)[0][0] == 200


def test_pipelined_request_after_a_large_body_is_not_lost(guarded):
    """Request 1 (90 KB body) and the first bytes of request 2 in one write: request 1 got a 400
    "headers exceed 65536 bytes" and was never answered."""
    first = _body(b',"pad":"' + b"x" * 90_000 + b'"')
    second = _body()
    request_2 = HEAD + b"Content-Length: %d\r\n\r\n" % len(second) + second
    with contextlib.closing(_connect(guarded)) as sock:
        _send_all(sock, HEAD + b"Content-Length: %d\r\n\r\n" % len(first) + first + request_2[:40])
        time.sleep(0.3)
        _send_all(sock, request_2[40:])
        data, _ = _read_until_closed(sock, 3)
    assert [status for status, _ in _responses(data)] == [200, 200]


def test_websocket_upgrade_is_plain_http_and_logs_no_credentials(guarded, caplog):
    """Was: a plain-text 500 on any path, and the WebSocket library logged `Authorization` at DEBUG."""
    caplog.set_level(logging.DEBUG)
    upgrade = (
        b"GET /v1/models HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ak_test_conformance\r\n"
        b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    with contextlib.closing(_connect(guarded)) as sock:
        _send_all(sock, upgrade)
        data, _ = _read_until_closed(sock, 2)
    assert _responses(data)[0][0] == 200
    assert not any("ak_test_conformance" in record.getMessage() for record in caplog.records)


def test_h2c_upgrade_with_a_body_gets_the_envelope(guarded):
    """`curl --http2` over http: the body was lost to the app ("not valid JSON")."""
    body = _body()
    h2c = (
        HEAD
        + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    )
    with contextlib.closing(_connect(guarded)) as sock:
        _send_all(sock, h2c + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data, closed_after = _read_until_closed(sock, 3)
    status, _, payload = _envelope(data)
    assert (status, payload["error"]["code"]) == (400, "invalid_request")
    assert "Upgrade" in payload["error"]["message"]
    assert closed_after is not None


@pytest.mark.parametrize(
    "rest",
    [b"", b"zz\r\n"],
    ids=["client_leaves_mid_body", "broken_chunk_size_mid_body"],
)
def test_a_broken_body_logs_no_error(guarded, caplog, rest):
    """Each of these logged `ERROR: Exception in ASGI application` with a traceback."""
    caplog.set_level(logging.DEBUG)
    body = _body()
    with contextlib.closing(_connect(guarded)) as sock:
        _send_all(sock, CHUNKED + b"%x\r\n%s\r\n" % (len(body) // 2, body[: len(body) // 2]) + rest)
        if rest:
            _read_until_closed(sock, 3)
        time.sleep(0.3)
    time.sleep(0.3)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_two_authorization_headers_are_refused(http):
    response = http.post(
        "/v1/chat/completions",
        content=_body(),
        headers=[("authorization", "Bearer ak_wrong"), ("authorization", "Bearer ak_test_conformance")],
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_an_encoded_slash_is_another_path(guarded):
    with contextlib.closing(_connect(guarded)) as sock:
        body = _body()
        raw = HEAD.replace(b"/v1/chat/completions", b"/v1/chat%2Fcompletions")
        _send_all(sock, raw + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        data, _ = _read_until_closed(sock, 2)
    status, _, payload = _envelope(data)
    assert (status, payload["error"]["code"]) == (404, "resource_not_found")
