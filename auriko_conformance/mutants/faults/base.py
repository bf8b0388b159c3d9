"""The mechanism every transform shares: the registry, the identity fault, and the one answer rewriter.

A transform is a `Fault` subclass registered under a name; a catalogue entry names one and gives its
arguments. A fault acts on the side(s) it overrides: `front_*` hooks see the client's request and the
gateway's answer, `back_*` hooks see a native upstream request and the mock's answer. The base class
forwards everything unchanged (the identity fault) and, on the front, records each tagged client
request in the shared ledger so that back hooks can see what the client asked for.

`CompletionEdit` is the only place a stream is walked: it cuts nothing itself (the proxy delivers SSE
events), classifies each event (`kind_of`) and hands it to `on_event`, which returns the events to send
in its place (none, itself, a rewrite, or several); `on_end` may add events once the upstream finished.
The default `on_event` rewrites content chunks with `chunk` and the usage chunk with `final`, the same
`final` that rewrites a non-stream body, so most faults only say what to change in one JSON object.
Per-answer memory (events held back, counters, keys seen) lives in the `Answer` the hooks receive,
never on the fault, which serves concurrent answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from auriko_conformance.mutants.proxy import Hop, ProxiedEvent, ProxyRequest, ProxyResponse

Events = AsyncIterator[ProxiedEvent]
JSON = dict[str, Any]
CHAT_PATH = "/v1/chat/completions"

TRANSFORMS: dict[str, type[Fault]] = {}


def transform(name: str) -> Callable[[type[Fault]], type[Fault]]:
    def register(cls: type[Fault]) -> type[Fault]:
        if name in TRANSFORMS:
            raise ValueError(f"two transforms named {name!r}")
        cls.transform_name = name
        TRANSFORMS[name] = cls
        return cls

    return register


def build(name: str, args: dict[str, Any] | None = None, **settings: Any) -> Fault:
    """The fault object for transform `name` with its catalogue `args` and the run's `settings`."""
    fault = TRANSFORMS[name](**(args or {}))
    fault.settings = dict(settings)
    return fault


class Fault:
    """Forwards everything unchanged (the identity fault); subclasses override the hooks they need."""

    transform_name: ClassVar[str] = ""

    def __init__(self, **args: Any) -> None:
        self.args = args
        self.settings: dict[str, Any] = {}

    async def on_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        if request.side == "front":
            tag = request.tag
            if tag is not None:
                hop.ledger.put("client", tag, request.json)
                hop.ledger.put("client-auth", tag, request.headers.get("authorization"))
            return await self.front_request(request, hop)
        return await self.back_request(request, hop)

    async def on_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if request.side == "front":
            return await self.front_response(request, response, hop)
        return await self.back_response(request, response, hop)

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        return request

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        return response

    async def back_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        return request

    async def back_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        return response


transform("identity")(Fault)


def is_chat(request: ProxyRequest) -> bool:
    return request.method == "POST" and request.path.rstrip("/").endswith(CHAT_PATH)


def client_json(request: ProxyRequest) -> JSON:
    """The client's chat request body, or {} when it is not a JSON object."""
    body = request.json
    return body if isinstance(body, dict) else {}


def kind_of(event: ProxiedEvent) -> str:
    """done | usage | chunk | error | other: the role of one gateway stream event."""
    if event.is_done:
        return "done"
    payload = event.json
    if not isinstance(payload, dict):
        return "other"
    if "error" in payload and "choices" not in payload:
        return "error"
    choices = payload.get("choices")
    if isinstance(choices, list):
        return "chunk" if choices else "usage"
    return "other"


def rewritten(event: ProxiedEvent, payload: Any) -> ProxiedEvent:
    """`event` carrying `payload`: the original bytes when nothing changed."""
    return event if payload == event.json else event.with_json(payload)


def metadata_of(final: JSON) -> JSON:
    metadata = final.get("routing_metadata")
    return metadata if isinstance(metadata, dict) else {}


def choices_of(payload: JSON) -> list[JSON]:
    return [c for c in payload.get("choices") or [] if isinstance(c, dict)]


def tool_deltas(chunk: JSON) -> Iterator[tuple[JSON, JSON]]:
    """(choice, tool-call delta) for every streamed tool-call fragment of a chunk."""
    for choice in choices_of(chunk):
        for delta in (choice.get("delta") or {}).get("tool_calls") or []:
            if isinstance(delta, dict):
                yield choice, delta


def message_tool_calls(body: JSON) -> Iterator[JSON]:
    """Every tool call of a non-stream completion's messages."""
    for choice in choices_of(body):
        yield from (choice.get("message") or {}).get("tool_calls") or []


@dataclass(slots=True)
class Answer:
    """One answer being rewritten: what the client asked, and what the fault remembers across the events
    of its stream (a non-stream answer gets a fresh one too, unused)."""

    client: JSON
    #: events held back, to send later
    held: list[ProxiedEvent] = field(default_factory=list)
    #: events counted so far (what counts is the fault's choice)
    count: int = 0
    #: keys already seen (tool calls by (choice, index), choices ...)
    seen: set[Any] = field(default_factory=set)
    #: one remembered event or payload (the last chunk, the usage chunk, an error)
    last: Any = None
    #: set by `on_event` to end the stream after the events it returned
    ended: bool = False


class CompletionEdit(Fault):
    """Rewrites successful chat completions: the JSON body, or the stream event by event."""

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        if not is_chat(request) or response.status != 200:
            return response
        answer = self.answer_for(request, hop)
        if response.events is not None:
            response.events = self.stream(response.events, answer)
            return response
        body = response.json
        if isinstance(body, dict) and "choices" in body:
            response.set_json(self.completion(body, answer))
        return response

    def answer_for(self, request: ProxyRequest, hop: Hop) -> Answer:
        """The answer's state, knowing what the client asked (as the gateway received it)."""
        return Answer(client_json(request))

    async def stream(self, events: Events, answer: Answer) -> Events:
        """The one stream loop: every event through `on_event`, then `on_end`."""
        async for event in events:
            for out in self.on_event(event, kind_of(event), answer):
                yield out
            if answer.ended:
                return
        for out in self.on_end(answer):
            yield out

    def on_event(self, event: ProxiedEvent, kind: str, answer: Answer) -> Iterable[ProxiedEvent]:
        """The events sent in place of `event` (of `kind_of` `kind`)."""
        if kind == "usage":
            return [rewritten(event, self.final(event.copy_json(), answer))]
        if kind == "chunk":
            return [rewritten(event, self.chunk(event.copy_json(), answer))]
        return [event]

    def on_end(self, answer: Answer) -> Iterable[ProxiedEvent]:
        """Events sent after the upstream stream ended."""
        return ()

    def completion(self, body: JSON, answer: Answer) -> JSON:
        """Edit a non-stream completion body."""
        return self.final(body, answer)

    def final(self, final: JSON, answer: Answer) -> JSON:
        """Edit the object that carries usage and routing_metadata (the body, or the final chunk)."""
        return final

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        """Edit one content chunk of a stream."""
        return chunk
