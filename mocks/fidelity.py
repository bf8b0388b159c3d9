"""Fidelity harness: replay recorded real exchanges against the mocks and compare them structurally.

The corpus (`fixtures/fidelity/<provider>/*.json`) holds exchanges recorded against the real APIs, each
with its source (repository, path, commit, licence). Every recorded request is sent unchanged to the
mock instance of its provider (plus `[[mock: ...]]` directives where the recorded answer was a tool call
or thinking, which the mock only gives when asked); the answer is compared with the recorded one by
shape, never by generated content:

- status (a request the real API answered 200 must be accepted: that is the acceptance column);
- JSON key sets at every level, value types, enum values (finish/stop reasons, `object`, `role`, `type`),
  id formats (prefix, length, alphabet), the `model` the response names, usage names and nesting;
- streams: the order of event kinds (repeats collapsed), each kind's payload shape, the framing bytes
  (SSE event separator, Gemini's JSON-array separators);
- tracked response headers (content type with its charset, request-id and rate-limit headers).

A difference is allowed only by an entry of `fixtures/fidelity/allow.yaml` that says why (generated
text, model behaviour the mock does not imitate ...). `auriko-conformance mocks fidelity` prints the
table; `tests/mocks/test_fidelity.py` fails on any rejected request or unexplained difference.
`import_cassette` turns a VCR cassette (pydantic-ai style) into corpus files, scrubbing ids.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import hashlib
import re
import string
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml
from auriko_conformance.mocks.app import MockApp, create_app
from auriko_conformance.mocks.inprocess import asgi_client

from auriko_conformance.sse import decode

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "fidelity"
ALLOW_FILE = ROOT / "allow.yaml"
PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "gemini", "deepseek", "vllm")
KEY = "fidelity-key"

# Scalar keys whose values are an enumeration: the mock must give the same value.
ENUM_KEYS = frozenset(
    {
        "finish_reason",
        "stop_reason",
        "finishReason",
        "object",
        "role",
        "type",
        "modality",
        "service_tier",
        "blockReason",
        "category",
        "probability",
    }
)
# Keys whose values are the model the response names (after alias resolution): must be equal.
MODEL_KEYS = frozenset({"model", "modelVersion"})
# Keys whose values are generated arguments (tool input): compared by type only, like generated text.
CONTENT_KEYS = frozenset({"input", "args"})
# Keys whose values are ids: compared by format (prefix, length, alphabet).
ID_KEYS = frozenset({"id", "tool_call_id", "tool_use_id", "responseId", "request_id"})
# Response headers compared when the recording has them (the cassettes drop most others).
TRACKED_HEADERS = (
    "content-type",
    "content-disposition",
    "openai-version",
    "openai-processing-ms",
    "x-request-id",
    "request-id",
    "retry-after",
    "x-ratelimit-*",
    "anthropic-ratelimit-*",
    "server",  # present, and as many times as recorded (issue 20 reported two on Gemini)
)
# The id prefixes the providers use (a random id may start with "i-" by chance: that is no prefix).
_PREFIX_RE = re.compile(r"^(chatcmpl-tool-|chatcmpl-|call_|msg_01|toolu_01|srvtoolu_01|req_011|req_)")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# --- the corpus ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Recorded:
    """One recorded exchange of the corpus."""

    provider: str
    name: str
    source: dict[str, Any]
    covers: list[str]
    directives: str
    request: dict[str, Any]
    response: dict[str, Any]
    key: str = KEY  # the API key sent (an error exchange may use the mocks' refused `bad-key`)

    @property
    def streamed(self) -> bool:
        return "events" in self.response


def load_corpus(root: Path = ROOT) -> list[Recorded]:
    """Every exchange under `root/<provider>/`, sorted by provider then name."""
    out = []
    for provider in PROVIDERS:
        for path in sorted((root / provider).glob("*.json")):
            data = orjson.loads(path.read_bytes())
            out.append(
                Recorded(
                    provider=provider,
                    name=path.stem,
                    source=data["source"],
                    covers=list(data.get("covers", [])),
                    directives=data.get("directives", ""),
                    request=data["request"],
                    response=data["response"],
                    key=data.get("key", KEY),
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class Allowance:
    """An allow-list entry: differences matching provider, exchange name, path and kind (globs) are
    explained by `why`."""

    provider: str
    path: str
    kind: str
    why: str
    exchanges: tuple[str, ...] = ("*",)

    def matches(self, provider: str, diff: Difference, exchange: str = "") -> bool:
        return (
            fnmatch.fnmatchcase(provider, self.provider)
            and any(fnmatch.fnmatchcase(exchange, e) for e in self.exchanges)
            and fnmatch.fnmatchcase(diff.path, self.path)
            and fnmatch.fnmatchcase(diff.kind, self.kind)
        )


def load_allow_list(path: Path = ALLOW_FILE) -> list[Allowance]:
    """The allow-list; an entry without a reason is refused, so every allowance stays explained."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for entry in entries:
        why = str(entry.get("why", "")).strip()
        if not why:
            raise ValueError(f"{path}: allow-list entry without a reason: {entry!r}")
        out.append(
            Allowance(
                entry.get("provider", "*"),
                entry["path"],
                entry.get("kind", "*"),
                why,
                tuple(entry.get("exchanges", ["*"])),
            )
        )
    return out


# --- structural comparison ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Difference:
    """One structural difference: where (a path such as `choices[].message.role`), what kind, both sides."""

    path: str
    kind: str
    recorded: str = ""
    mock: str = ""

    def __str__(self) -> str:
        return f"{self.kind} at {self.path}: recorded {self.recorded or '-'}, mock {self.mock or '-'}"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def id_format(value: str) -> str:
    """`chatcmpl-` + 29 base62, `toolu_01` + 22 base62, uuid, ...: what an id looks like, not its value."""
    if _UUID_RE.match(value):
        return "uuid"
    match = _PREFIX_RE.match(value)
    prefix = match.group(1) if match else ""
    rest = value[len(prefix) :]
    alphabet = set(rest)
    if alphabet <= set(string.digits + "abcdef"):
        kind = "hex"
    elif alphabet <= set(string.ascii_letters + string.digits):
        kind = "base62"
    else:
        kind = "base64url" if alphabet <= set(string.ascii_letters + string.digits + "-_") else "other"
    return f"{prefix}<{kind}:{len(rest)}>"


def same_id_format(recorded: str, mock: str) -> bool:
    """Equal formats; a base64url id that happens to hold no `-` or `_` looks base62, so the two match
    (hex against either does not: that is the difference between a mock id and a real one)."""

    def norm(value: str) -> str:
        return id_format(value).replace("<base62:", "<base64url:")

    return norm(recorded) == norm(mock)


def discriminator(item: Any) -> str:
    """What kind of list element this is, so that elements are compared with their own kind."""
    if not isinstance(item, dict):
        return json_type(item)
    if isinstance(item.get("type"), str):
        return f"type={item['type']}"
    for key in ("functionCall", "functionResponse", "executableCode", "codeExecutionResult", "inlineData"):
        if key in item:
            return key
    if item.get("thought") is True:
        return "thought"
    if "text" in item:
        return "text"
    return "object"


def compare(recorded: Any, mock: Any, path: str = "") -> list[Difference]:
    """Structural differences between a recorded JSON value and the mock's."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    rtype, mtype = json_type(recorded), json_type(mock)
    if rtype != mtype:
        return [Difference(path or "$", "type", rtype, mtype)]
    if key in CONTENT_KEYS:
        return []
    if rtype == "object":
        diffs = []
        for k in recorded:
            sub = f"{path}.{k}" if path else k
            if k not in mock:
                diffs.append(Difference(sub, "missing key", json_type(recorded[k])))
            else:
                diffs += compare(recorded[k], mock[k], sub)
        for k in mock:
            if k not in recorded:
                diffs.append(Difference(f"{path}.{k}" if path else k, "extra key", "", json_type(mock[k])))
        return diffs
    if rtype == "array":
        return _compare_lists(recorded, mock, path)
    if rtype == "string" and key in ID_KEYS and not same_id_format(recorded, mock):
        return [Difference(path, "id format", id_format(recorded), id_format(mock))]
    if key in ENUM_KEYS and rtype in ("string", "boolean") and recorded != mock:
        return [Difference(path, "enum", str(recorded), str(mock))]
    if key in MODEL_KEYS and recorded != mock:
        return [Difference(path, "model", str(recorded), str(mock))]
    return []


def _compare_lists(recorded: list[Any], mock: list[Any], path: str) -> list[Difference]:
    if not recorded or not mock:
        if bool(recorded) != bool(mock):
            return [Difference(f"{path}[]", "empty list", str(len(recorded)), str(len(mock)))]
        return []
    first_r: dict[str, Any] = {}
    first_m: dict[str, Any] = {}
    for item in recorded:
        first_r.setdefault(discriminator(item), item)
    for item in mock:
        first_m.setdefault(discriminator(item), item)
    diffs = []
    for disc, item in first_r.items():
        sub = f"{path}[{disc}]" if disc.startswith("type=") or len(first_r) > 1 else f"{path}[]"
        if disc not in first_m:
            diffs.append(Difference(sub, "missing element", disc))
        else:
            diffs += compare(item, first_m[disc], sub)
    for disc in first_m:
        if disc not in first_r:
            diffs.append(Difference(f"{path}[{disc}]", "extra element", "", disc))
    return diffs


# --- streams -----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Stream:
    """A parsed stream: events (name, JSON payload or the literal `[DONE]`) and its framing bytes."""

    events: list[tuple[str | None, Any]]
    framing: dict[str, str]


_PADDED = re.compile(r"\s\}\s*$")
_INDENT = re.compile(r"[{\[]\n( +)\S")


def layout(text: str) -> str:
    """How a JSON body is laid out: `indent N` (a newline after the opening brace, N spaces before the
    first key) or `compact`; Google and OpenAI indent theirs, Anthropic does not."""
    match = _INDENT.match(text)
    return f"indent {len(match.group(1))}" if match else "compact"


def parse_sse(raw: bytes) -> Stream:
    """SSE bytes -> events; the separator is what ends the first event (`\\n\\n` or `\\r\\n\\r\\n`), and
    `padded` says whether payloads carry spaces before their closing brace (Anthropic's do)."""
    events = decode(raw)
    separator = events[0].separator.decode() if events and events[0].terminated else "\n\n"
    padded = "yes" if any(_PADDED.search(e.data) for e in events) else "no"
    return Stream(
        [(e.event, e.data if e.data == "[DONE]" else orjson.loads(e.data)) for e in events],
        {"kind": "sse", "separator": separator, "padded": padded},
    )


def parse_json_array(raw: bytes) -> Stream:
    """A Gemini JSON-array stream -> events, with the bytes between elements and around the array."""
    items = orjson.loads(raw)
    text = raw.decode()
    separator = ""
    if len(items) > 1:
        match = re.search(r"\}(\s*,\s*)\{", text)
        separator = match.group(1) if match else ""
    close = text[text.rstrip().rfind("}") + 1 :]
    framing = {"kind": "json_array", "open": text[: text.find("{")], "separator": separator, "close": close}
    return Stream([(None, item) for item in items], framing)


def event_kind(provider: str, name: str | None, data: Any) -> str:
    """A label for what an event does, so that streams are compared kind by kind."""
    if data == "[DONE]":
        return "[DONE]"
    if provider == "anthropic":
        label = name or str(data.get("type"))
        if "content_block" in data:
            label += ":" + str(data["content_block"].get("type"))
        if isinstance(data.get("delta"), dict) and "type" in data["delta"]:
            label += ":" + str(data["delta"]["type"])
        return label
    if provider == "gemini":
        candidate = (data.get("candidates") or [{}])[0]
        parts = (candidate.get("content") or {}).get("parts") or []
        kinds = sorted({discriminator(p) for p in parts})
        label = "+".join(kinds) or "no-parts"
        return label + (":final" if "finishReason" in candidate else "")
    choices = data.get("choices")
    if choices == []:
        return "usage"
    delta = (choices or [{}])[0].get("delta") or {}
    features = []
    if "role" in delta:
        features.append("role")
    for field_name in ("reasoning_content", "reasoning"):
        if delta.get(field_name):
            features.append("reasoning")
    if delta.get("content"):
        features.append("content")
    for call in delta.get("tool_calls") or []:
        features.append("tool_call_head" if "id" in call else "tool_call_args")
    if (choices or [{}])[0].get("finish_reason") is not None:
        features.append("finish")
    return "+".join(dict.fromkeys(features)) or "empty"


def _collapsed(kinds: list[str]) -> list[str]:
    """Kinds in order with repeats collapsed; content chunks just before the final chunk of the same
    content fold into it (how many chunks a text takes is the generator's business, not the shape)."""
    out: list[str] = []
    for kind in kinds:
        if out and kind == out[-1] + ":final":
            out[-1] = kind
        elif not out or out[-1] != kind:
            out.append(kind)
    return out


def compare_streams(provider: str, recorded: Stream, mock: Stream) -> list[Difference]:
    diffs = []
    for key, value in recorded.framing.items():
        got = mock.framing.get(key, "")
        if value != got:
            diffs.append(Difference(f"<framing>.{key}", "framing", repr(value), repr(got)))
    rkinds = [event_kind(provider, n, d) for n, d in recorded.events]
    mkinds = [event_kind(provider, n, d) for n, d in mock.events]
    if _collapsed(rkinds) != _collapsed(mkinds):
        diffs.append(
            Difference("<events>", "event order", " ".join(_collapsed(rkinds)), " ".join(_collapsed(mkinds)))
        )
    first_m: dict[str, Any] = {}
    for kind, (_, data) in zip(mkinds, mock.events, strict=True):
        first_m.setdefault(kind, data)
    seen = set()
    for kind, (_, data) in zip(rkinds, recorded.events, strict=True):
        if kind in seen or kind not in first_m:
            continue
        seen.add(kind)
        if data != "[DONE]":
            diffs += compare(data, first_m[kind], f"<{kind}>")
    return diffs


# --- replay -----------------------------------------------------------------------------------------
PREFIX = {p: f"/{p}" for p in PROVIDERS}


def auth_headers(provider: str, key: str = KEY) -> dict[str, str]:
    if provider == "anthropic":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if provider == "gemini":
        return {"x-goog-api-key": key}
    return {"authorization": f"Bearer {key}"}


def _append_text(content: Any, marker: str, text_part: Callable[[str], dict[str, Any]]) -> Any:
    """Content (a string or a list of parts) with `marker` appended to its text."""
    if isinstance(content, str):
        return f"{content} {marker}"
    parts = list(content or [])
    return [*parts, text_part(marker)]


def with_directives(provider: str, body: dict[str, Any], directives: str) -> dict[str, Any]:
    """The recorded body with `[[mock: directives]]` added to the last user turn (a text part of its own
    when that turn is only tool results), where the mocks read scenario directives."""
    if not directives:
        return body
    marker = f"[[mock: {directives}]]"
    body = orjson.loads(orjson.dumps(body))
    if provider == "gemini":
        contents = body["contents"]
        last = contents[-1]
        if last.get("role", "user") != "user":
            contents.append({"role": "user", "parts": [{"text": marker}]})
        else:
            last["parts"] = [*last.get("parts", []), {"text": marker}]
        return body
    messages = body["messages"]
    last = messages[-1]
    if provider == "anthropic":
        if last.get("role") != "user":
            messages.append({"role": "user", "content": marker})
        else:
            last["content"] = _append_text(last["content"], marker, lambda t: {"type": "text", "text": t})
        return body
    if last.get("role") != "user":
        messages.append({"role": "user", "content": marker})
    else:
        last["content"] = _append_text(last["content"], marker, lambda t: {"type": "text", "text": t})
    return body


@dataclass(slots=True)
class Result:
    """The outcome of replaying one exchange."""

    exchange: Recorded
    status: int
    accepted: bool
    differences: list[Difference] = field(default_factory=list)
    allowed: list[tuple[Difference, str]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.accepted and not self.differences


def _tracked(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in TRACKED_HEADERS)


def compare_headers(recorded: Mapping[str, str | list[str]], mock: httpx.Headers) -> list[Difference]:
    diffs = []
    for name, value in recorded.items():
        name = name.lower()
        if not _tracked(name):
            continue
        values = value if isinstance(value, list) else [value]
        sent = mock.get_list(name)
        if not sent:
            diffs.append(Difference(f"<headers>.{name}", "missing header", values[0]))
        elif len(sent) != len(values):
            diffs.append(Difference(f"<headers>.{name}", "header count", str(len(values)), str(len(sent))))
        elif name in ("content-type", "content-disposition") and sent[0].lower() != values[0].lower():
            diffs.append(Difference(f"<headers>.{name}", "header value", values[0], sent[0]))
    return diffs


def recorded_stream(response: Mapping[str, Any]) -> Stream:
    events = [(e.get("event"), e["data"]) for e in response["events"]]
    return Stream(events, dict(response["framing"]))


async def replay(client: httpx.AsyncClient, rec: Recorded) -> tuple[httpx.Response, list[Difference]]:
    """Send the recorded request to the mock; the mock's response and its differences."""
    req = rec.request
    body = with_directives(rec.provider, req["body"], rec.directives)
    url = PREFIX[rec.provider] + req["path"] + (f"?{req['query']}" if req.get("query") else "")
    response = await client.request(
        req.get("method", "POST"), url, json=body, headers=auth_headers(rec.provider, rec.key)
    )
    recorded = rec.response
    diffs = compare_headers(recorded.get("headers", {}), response.headers)
    if response.status_code != recorded["status"]:
        return response, diffs
    if rec.streamed:
        framing = recorded["framing"]["kind"]
        parse = parse_sse if framing == "sse" else parse_json_array
        diffs += compare_streams(rec.provider, recorded_stream(recorded), parse(response.content))
    else:
        if "layout" in recorded and (laid_out := layout(response.text)) != recorded["layout"]:
            diffs.append(Difference("<layout>", "body layout", recorded["layout"], laid_out))
        diffs += compare(recorded["body"], orjson.loads(response.content))
    return response, diffs


async def run(
    corpus: Sequence[Recorded], allow: Sequence[Allowance], app: MockApp | None = None
) -> list[Result]:
    """Replay every exchange against one mock app; differences the allow-list explains are set apart."""
    results = []
    async with asgi_client(app or create_app()) as client:
        for rec in corpus:
            response, diffs = await replay(client, rec)
            accepted = response.status_code == rec.response["status"]
            result = Result(rec, response.status_code, accepted)
            for diff in diffs:
                why = next((a.why for a in allow if a.matches(rec.provider, diff, rec.name)), None)
                if why is None:
                    result.differences.append(diff)
                else:
                    result.allowed.append((diff, why))
            results.append(result)
    return results


# --- the report -------------------------------------------------------------------------------------
def table(results: Sequence[Result], show_allowed: bool = False) -> str:
    """Per provider: exchanges replayed, accepted, structurally identical; then each difference."""
    lines = [
        "| provider | replayed | accepted | identical | differences | allowed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for provider in PROVIDERS:
        mine = [r for r in results if r.exchange.provider == provider]
        if not mine:
            continue
        counts = (
            len(mine),
            sum(r.accepted for r in mine),
            sum(r.identical for r in mine),
            sum(len(r.differences) for r in mine),
            sum(len(r.allowed) for r in mine),
        )
        lines.append(f"| {provider} | " + " | ".join(map(str, counts)) + " |")
    for r in results:
        rec = r.exchange
        if not r.accepted:
            lines.append(
                f"\n{rec.provider}/{rec.name}: REJECTED: recorded {rec.response['status']}, mock {r.status}"
            )
        if r.differences or (show_allowed and r.allowed):
            lines.append(f"\n{rec.provider}/{rec.name}:")
            lines += [f"  - {d}" for d in r.differences]
            if show_allowed:
                lines += [f"  - (allowed: {why}) {d}" for d, why in r.allowed]
    return "\n".join(lines)


# --- adding recorded exchanges ------------------------------------------------------------------------
_SCRUB_KEYS = ID_KEYS | {"signature", "thoughtSignature", "encrypted_content", "data"}


def _scrubbed(value: str) -> str:
    """A stand-in of the same shape: each letter/digit replaced by one of its class, seeded by the value."""
    digest = hashlib.sha256(value.encode()).digest()
    out = []
    prefix = _PREFIX_RE.match(value)
    keep = len(prefix.group(1)) if prefix else 0
    for i, ch in enumerate(value):
        b = digest[i % len(digest)] + i
        if i < keep or not ch.isalnum():
            out.append(ch)
        elif ch.isdigit():
            out.append(string.digits[b % 10])
        elif ch.isupper():
            out.append(string.ascii_uppercase[b % 26])
        elif ch in "abcdef":  # keeps hex ids (uuids, hashes) hex
            out.append("abcdef"[b % 6])
        else:
            out.append(string.ascii_lowercase[b % 26])
    return "".join(out)


def _collect_ids(value: Any, found: set[str], key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _collect_ids(v, found, k)
    elif isinstance(value, list):
        for v in value:
            _collect_ids(v, found, key)
    elif isinstance(value, str) and key in _SCRUB_KEYS and len(value) >= 8:
        found.add(value)


def _replace(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, mapping) for v in value]
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


def scrub(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ids, signatures and opaque blobs replaced (consistently across a cassette, so a tool-call id in
    a later request still matches the response that issued it) by stand-ins of the same format."""
    found: set[str] = set()
    for ex in exchanges:
        _collect_ids(ex["request"]["body"], found)
        _collect_ids(ex["response"], found)
    return _replace(exchanges, {v: _scrubbed(v) for v in found})


def _body(part: Mapping[str, Any]) -> Any:
    """The JSON body of a VCR request/response, in either cassette style (`parsed_body` or `body`)."""
    if "parsed_body" in part:
        return part["parsed_body"]
    body = part.get("body")
    if isinstance(body, dict) and "content" in body:
        return body["content"]
    if isinstance(body, dict) and "string" in body:
        return body["string"]
    return body


def _headers(raw: Mapping[str, Any], status: int) -> dict[str, str]:
    """The tracked headers of a recorded response (request ids replaced; `retry-after` only on errors,
    where clients act on it)."""
    out = {}
    for name, value in (raw or {}).items():
        name = name.lower()
        if name == "retry-after" and status < 400:
            continue
        if _tracked(name) and name not in ("x-request-id", "request-id"):
            values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            out[name] = values[0] if len(values) == 1 else values  # a list: the header came more than once
        elif name in ("x-request-id", "request-id"):
            out[name] = "scrubbed"
    return out


def convert_interaction(provider: str, interaction: Mapping[str, Any]) -> dict[str, Any]:
    """One VCR interaction -> a corpus exchange (request path/query/body; status, headers, body or stream)."""
    request, response = interaction["request"], interaction["response"]
    url = httpx.URL(request["uri"])
    status = response["status"]
    status = status["code"] if isinstance(status, dict) else int(status)
    headers = _headers(response.get("headers", {}), status)
    out: dict[str, Any] = {
        "request": {
            "method": request.get("method", "POST"),
            "path": url.path,
            "query": url.query.decode(),
            "body": _body(request),
        },
        "response": {"status": status, "headers": headers},
    }
    body = _body(response)
    if isinstance(body, str) and (status >= 400 or body.lstrip().startswith("{")):
        out["response"]["layout"] = layout(body)  # only a cassette that kept the bytes can tell
        body = orjson.loads(body)  # one JSON body (an error is one even when its content type says a stream)
    if isinstance(body, str):
        raw = body.encode()
        stream = parse_json_array(raw) if body.lstrip().startswith("[") else parse_sse(raw)
        out["response"]["events"] = [
            {"event": name, "data": data} if name else {"data": data} for name, data in stream.events
        ]
        out["response"]["framing"] = stream.framing
    else:
        out["response"]["body"] = body
    return out


def import_cassette(
    path: Path,
    provider: str,
    name: str,
    source: Mapping[str, Any],
    covers: Sequence[str] = (),
    root: Path = ROOT,
) -> list[Path]:
    """Write each interaction of a VCR cassette as `<root>/<provider>/<name>[-<i>].json` (scrubbed)."""
    cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
    interactions = cassette["interactions"]
    exchanges = scrub([convert_interaction(provider, i) for i in interactions])
    written = []
    for index, ex in enumerate(exchanges):
        stem = name if len(exchanges) == 1 else f"{name}-{index}"
        data = {"source": {**source, "interaction": index}, "covers": list(covers), "directives": "", **ex}
        target = root / provider / f"{stem}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        written.append(target)
    return written


def iter_sources(corpus: Sequence[Recorded]) -> Iterator[str]:
    """One line per distinct source file (for the corpus notice)."""
    seen = set()
    for rec in corpus:
        s = rec.source
        key = (s.get("repo"), s.get("path"))
        if key not in seen:
            seen.add(key)
            yield f"{s.get('repo')} {s.get('path')} @ {s.get('commit')} ({s.get('licence')})"


def main(argv: Sequence[str] | None = None) -> int:
    """`auriko-conformance mocks fidelity [--allowed] [--provider P]` and `... fidelity import ...`."""
    parser = argparse.ArgumentParser(
        prog="auriko-conformance mocks fidelity", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="action")
    imp = sub.add_parser("import", help="add a VCR cassette to the corpus (ids scrubbed)")
    imp.add_argument("cassette", type=Path)
    imp.add_argument("--provider", required=True, choices=PROVIDERS)
    imp.add_argument("--name", required=True)
    imp.add_argument("--repo", required=True)
    imp.add_argument("--path", required=True, help="the cassette's path in its repository")
    imp.add_argument("--commit", required=True)
    imp.add_argument("--licence", required=True)
    imp.add_argument("--covers", default="", help="comma-separated cases (tools, stream, thinking ...)")
    parser.add_argument("--allowed", action="store_true", help="also list the allowed differences")
    parser.add_argument("--provider", choices=PROVIDERS, dest="only")
    args = parser.parse_args(list(argv or []))
    if args.action == "import":
        source = {"repo": args.repo, "path": args.path, "commit": args.commit, "licence": args.licence}
        covers = [c for c in args.covers.split(",") if c]
        for written in import_cassette(args.cassette, args.provider, args.name, source, covers):
            print(written)
        return 0
    corpus = [r for r in load_corpus() if args.only in (None, r.provider)]
    results = asyncio.run(run(corpus, load_allow_list()))
    print(table(results, show_allowed=args.allowed))
    clean = all(r.accepted and not r.differences for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
