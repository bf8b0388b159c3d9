"""Locust load test of any chat-completions target: mixed stream / non-stream, tool calls, routing options.

Besides Locust's requests/s and response times it reports, as custom events:

- `TTFT <kind>`: time to the first token of every stream (first SSE event with text or a tool call), as
  its own row in Locust's table (percentiles, in the response-time columns);
- tokens/s: completion tokens (from `usage`; streams ask for it with `stream_options.include_usage`) summed
  over all users and workers, printed every 10 s and at the end, at `/auriko` in the web UI, and in
  `--auriko-summary FILE` (JSON) when given.

Local, headless, against the reference (`auriko-conformance mocks` + `auriko-conformance serve`):

    .venv/bin/locust -f bench/locustfile.py --headless -u 16 -r 8 -t 30s --host http://127.0.0.1:8000

Distributed (one master, any number of workers on other machines; the tokens counter and TTFT rows are
aggregated on the master, like every Locust statistic):

    locust -f bench/locustfile.py --master --headless -u 400 -r 40 -t 5m --expect-workers 4 \\
        --host https://gateway.example
    locust -f bench/locustfile.py --worker --master-host MASTER_IP      # on each worker machine

Options (also as environment variables AURIKO_API_KEY, AURIKO_MODELS, ...):

    --auriko-api-key KEY          bearer key (default ak_test_conformance)
    --auriko-models a,b,c         models to spread requests over
    --auriko-stream-ratio 0.5     share of streaming requests
    --auriko-words 40             reply length, through the mocks' `[[mock: words=N]]` directive
    --auriko-plain                no mock directives, no `gateway` routing options: any OpenAI-compatible
                                  target (LiteLLM, a real provider)
    --auriko-summary FILE         write the final figures as JSON

Needs `pip install locust==2.47.0` (`make bench` installs it into .venv); not a package dependency. Streams
are read with the project's SSE reader (`auriko_conformance.sse`), so each Locust machine needs this
package installed as well (`pip install` of the checkout or the wheel).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import gevent
import requests
from locust import User, between, events, task
from locust.runners import MasterRunner, WorkerRunner

from auriko_conformance.sse import SSEDecoder

DEFAULT_MODELS = "gpt-4o,claude-haiku-4-5,gemini-2.0-flash,deepseek-chat,llama-3.3-70b"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
ROUTING = [
    {"optimize": "ttft"},
    {"optimize": "cost"},
    {"optimize": "balanced", "allow_fallbacks": True, "max_fallback_attempts": 2},
    {"weights": {"cost": 0.5, "ttft": 0.3, "throughput": 0.2}},
]
SUFFIXES = ["", ":cost", ":ttft", ":tps-focus"]


# ------------------------------------------------------------------------------------------------------
# Options and the tokens counter (aggregated on the master in distributed runs)
# ------------------------------------------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("auriko")
    group.add_argument("--auriko-api-key", env_var="AURIKO_API_KEY", default="ak_test_conformance")
    group.add_argument("--auriko-models", env_var="AURIKO_MODELS", default=DEFAULT_MODELS)
    group.add_argument("--auriko-stream-ratio", env_var="AURIKO_STREAM_RATIO", type=float, default=0.5)
    group.add_argument("--auriko-words", env_var="AURIKO_WORDS", type=int, default=40)
    group.add_argument("--auriko-plain", env_var="AURIKO_PLAIN", action="store_true", default=False)
    group.add_argument("--auriko-summary", env_var="AURIKO_SUMMARY", default="")


class Tokens:
    """Completion tokens: `pending` on this process since the last report, `total` where aggregated."""

    def __init__(self) -> None:
        self.pending = 0
        self.total = 0
        self.started = 0.0
        self.last_total = 0
        self.last_at = 0.0

    def add(self, count: int) -> None:
        self.pending += count

    def absorb(self, count: int) -> None:
        self.total += count


TOKENS = Tokens()


def _is_worker(environment: Any) -> bool:
    return isinstance(environment.runner, WorkerRunner)


@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any]) -> None:
    data["auriko_tokens"] = TOKENS.pending
    TOKENS.pending = 0


@events.worker_report.add_listener
def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    TOKENS.absorb(int(data.get("auriko_tokens", 0)))


def _collect_local(environment: Any) -> None:
    if not _is_worker(environment) and not isinstance(environment.runner, MasterRunner):
        TOKENS.absorb(TOKENS.pending)  # local run: no master to report to
        TOKENS.pending = 0


def _ttft_percentiles(environment: Any) -> dict[str, Any]:
    out = {}
    for (name, method), entry in environment.runner.stats.entries.items():
        if method == "TTFT" and entry.num_requests:
            out[name] = {
                "n": entry.num_requests,
                "p50_ms": entry.get_response_time_percentile(0.5),
                "p90_ms": entry.get_response_time_percentile(0.9),
                "p99_ms": entry.get_response_time_percentile(0.99),
            }
    return out


def summary(environment: Any) -> dict[str, Any]:
    _collect_local(environment)
    stats = environment.runner.stats.total
    elapsed = max(time.time() - TOKENS.started, 1e-9) if TOKENS.started else 0.0
    ttft_entries = sum(
        e.num_requests for (_, m), e in environment.runner.stats.entries.items() if m in ("TTFT", "TOKENS")
    )
    return {
        "seconds": round(elapsed, 1),
        "requests": stats.num_requests - ttft_entries,
        "failures": stats.num_failures,
        "requests_per_s": round((stats.num_requests - ttft_entries) / elapsed, 1) if elapsed else 0.0,
        "completion_tokens": TOKENS.total,
        "tokens_per_s": round(TOKENS.total / elapsed, 1) if elapsed else 0.0,
        "ttft": _ttft_percentiles(environment),
    }


def _printer(environment: Any) -> None:
    while True:
        gevent.sleep(10)
        _collect_local(environment)
        now = time.time()
        rate = (TOKENS.total - TOKENS.last_total) / max(now - TOKENS.last_at, 1e-9)
        TOKENS.last_total, TOKENS.last_at = TOKENS.total, now
        print(f"[auriko] completion tokens {TOKENS.total:,}, last 10 s {rate:,.0f} tokens/s", flush=True)


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    TOKENS.started = TOKENS.last_at = time.time()
    if not _is_worker(environment):
        gevent.spawn(_printer, environment)


@events.init.add_listener
def _web(environment: Any, **_: Any) -> None:
    if environment.web_ui is not None:

        @environment.web_ui.app.route("/auriko")
        def _auriko() -> Any:
            return summary(environment)


@events.quitting.add_listener
def _final(environment: Any, **_: Any) -> None:
    if _is_worker(environment):
        return
    figures = summary(environment)
    print("[auriko] " + json.dumps(figures), flush=True)
    target = environment.parsed_options.auriko_summary if environment.parsed_options else ""
    if target:
        Path(target).write_text(json.dumps(figures, indent=1))


# ------------------------------------------------------------------------------------------------------
# The user
# ------------------------------------------------------------------------------------------------------


class ChatUser(User):
    """One client of the target's POST /v1/chat/completions."""

    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.api_key = options.auriko_api_key if options else "ak_test_conformance"
        self.models = [m.strip() for m in (options.auriko_models if options else DEFAULT_MODELS).split(",")]
        self.stream_ratio = options.auriko_stream_ratio if options else 0.5
        self.words = options.auriko_words if options else 40
        self.plain = bool(options.auriko_plain) if options else False
        self.session = requests.Session()
        self.session.headers["authorization"] = f"Bearer {self.api_key}"
        self.url = (self.host or "http://127.0.0.1:8000").rstrip("/") + "/v1/chat/completions"

    def on_stop(self) -> None:
        self.session.close()

    # --- requests ---------------------------------------------------------------------------------------
    def _body(self, prompt: str, *, tools: bool = False, routing: bool = False) -> dict[str, Any]:
        directive = (
            f" [[mock: words={self.words}{' tool_calls=1' if tools else ''}]]" if not self.plain else ""
        )
        model = random.choice(self.models)
        body: dict[str, Any] = {"messages": [{"role": "user", "content": prompt + directive}]}
        if routing and not self.plain:
            choice = random.random()
            if choice < 0.4:
                body["model"] = model + random.choice(SUFFIXES)
            elif choice < 0.7:
                body["gateway"] = {
                    "models": random.sample(self.models, k=min(2, len(self.models))),
                    "routing": {"mode": random.choice(["pool", "fallback"])},
                }
            else:
                body["model"] = model
                body["gateway"] = {"routing": random.choice(ROUTING)}
        else:
            body["model"] = model
        if tools:
            body["tools"] = TOOLS
            body["tool_choice"] = "auto"
        if random.random() < self.stream_ratio:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _fire(self, kind: str, name: str, started: float, **kwargs: Any) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=kwargs.pop("length", 0),
            exception=kwargs.pop("exception", None),
            context={},
            **kwargs,
        )

    def chat(self, name: str, body: dict[str, Any]) -> None:
        stream = bool(body.get("stream"))
        label = f"{name} {'stream' if stream else 'json'}"
        started = time.perf_counter()
        try:
            response = self.session.post(self.url, json=body, stream=stream, timeout=120)
        except requests.RequestException as exc:
            self._fire("POST", label, started, exception=exc)
            return
        with response:
            if response.status_code != 200:
                error = RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                self._fire("POST", label, started, exception=error, length=len(response.content))
                return
            if not stream:
                try:
                    data = response.json()
                    tokens = int(data["usage"]["completion_tokens"])
                except (ValueError, KeyError, TypeError) as exc:
                    self._fire("POST", label, started, exception=exc, length=len(response.content))
                    return
                TOKENS.add(tokens)
                self._fire("POST", label, started, length=len(response.content))
                return
            self._read_stream(response, label, started)

    def _read_stream(self, response: requests.Response, label: str, started: float) -> None:
        decoder = SSEDecoder()  # never closed: an event without its blank line does not count
        first_token: float | None = None
        tokens = 0
        size = 0
        done = False
        error: Exception | None = None
        try:
            for block in response.iter_content(chunk_size=None):
                size += len(block)
                for sse in decoder.feed(block):
                    if sse.data == "[DONE]":
                        done = True
                        continue
                    event = json.loads(sse.data)
                    if "error" in event:
                        error = RuntimeError(f"error event: {event['error']}")
                        continue
                    if first_token is None and any(
                        (c.get("delta") or {}).get("content") or (c.get("delta") or {}).get("tool_calls")
                        for c in event.get("choices") or ()
                    ):
                        first_token = time.perf_counter()
                        self.environment.events.request.fire(
                            request_type="TTFT",
                            name=label,
                            response_time=(first_token - started) * 1000,
                            response_length=0,
                            exception=None,
                            context={},
                        )
                    usage = event.get("usage")
                    if usage:
                        tokens = int(usage.get("completion_tokens") or 0)
        except (requests.RequestException, ValueError) as exc:
            error = exc
        if error is None and not done:
            error = RuntimeError("the stream ended without [DONE]")
        if error is None:
            TOKENS.add(tokens)
        self._fire("POST", label, started, exception=error, length=size)

    # --- the mix ----------------------------------------------------------------------------------------
    @task(4)
    def plain_chat(self) -> None:
        self.chat("chat", self._body("Tell me about rivers and the sea."))

    @task(2)
    def tool_call(self) -> None:
        self.chat("tools", self._body("What is the weather in Paris?", tools=True))

    @task(2)
    def routed(self) -> None:
        self.chat("routing", self._body("Summarise the history of bridges.", routing=True))
