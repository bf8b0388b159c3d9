"""Faults in what the gateway adds to an answer: usage, cost, routing_metadata and its warnings."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from auriko_conformance.mutants.faults.base import (
    JSON,
    Answer,
    CompletionEdit,
    choices_of,
    client_json,
    is_chat,
    metadata_of,
    transform,
)
from auriko_conformance.mutants.faults.validation import valid_request
from auriko_conformance.mutants.proxy import Hop, ProxyRequest, ProxyResponse
from auriko_conformance.suites.checks._warning_names import warning_names


@transform("usage_edit")
class UsageEdit(CompletionEdit):
    """Scale `completion_tokens` (`completion_factor`), add to `total_tokens` (`total_delta`), leave
    reasoning out of completion_tokens (`reasoning_out`), lose the cached-token details (`drop_cached`)."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        usage = final.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            factor = int(self.args.get("completion_factor", 1))
            usage["completion_tokens"] *= factor
            if self.args.get("reasoning_out"):
                details = usage.get("completion_tokens_details") or {}
                usage["completion_tokens"] -= int(details.get("reasoning_tokens") or 0)
            if self.args.get("drop_cached"):
                usage.pop("prompt_tokens_details", None)
            usage["total_tokens"] = int(usage.get("prompt_tokens") or 0) + usage["completion_tokens"]
            usage["total_tokens"] += int(self.args.get("total_delta", 0))
        return final


@transform("cost_edit")
class CostEdit(CompletionEdit):
    """`factor` scales cost.usd; `savings_zero` reports zero cache savings on every answer."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        cost = metadata_of(final).get("cost")
        if isinstance(cost, dict) and isinstance(cost.get("usd"), int | float):
            cost["usd"] = cost["usd"] * float(self.args.get("factor", 1))
            if self.args.get("savings_zero"):
                cost.update(cache_savings_percent=0, cache_savings_usd=0.0)
        return final


@transform("metadata_edit")
class MetadataEdit(CompletionEdit):
    """Edit routing_metadata: `drop` keys, `set` values, `copy` one field's value into another
    (`{to: from}`), `wrap_list` a value in a list; with `only_stream`, in streams' final chunks only."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        return body if self.args.get("only_stream") else self.final(body, answer)

    def final(self, final: JSON, answer: Answer) -> JSON:
        if self.args.get("drop_object") and (final.get("object") == "chat.completion"):
            final.pop("routing_metadata", None)
            return final
        metadata = metadata_of(final)
        if not metadata:
            return final
        for key in self.args.get("drop", []):
            metadata.pop(key, None)
        for key, value in (self.args.get("set") or {}).items():
            metadata[key] = value
        for key, source in (self.args.get("copy") or {}).items():
            if source in metadata:
                metadata[key] = metadata[source]
        for key in self.args.get("wrap_list", []):
            if key in metadata:
                metadata[key] = [metadata[key]]
        return final


@transform("completion_fields")
class CompletionFields(CompletionEdit):
    """`set` top-level fields of non-stream completions; `choice_drop` keys of every choice (body and
    stream chunks, or the body only with `only_completion`); `warn` (a non-stream answer that lost a
    key): add an unsupported_parameter warning with that message, as if the provider had not taken it."""

    def completion(self, body: JSON, answer: Answer) -> JSON:
        body.update(copy.deepcopy(self.args.get("set") or {}))
        dropped = False
        for choice in choices_of(body):
            for key in self.args.get("choice_drop", []):
                dropped = choice.pop(key, None) is not None or dropped
        metadata = metadata_of(body)
        if dropped and self.args.get("warn") and metadata:
            metadata.setdefault("warnings", []).append(
                {
                    "type": "unsupported_parameter",
                    "code": "unsupported_parameter",
                    "message": self.args["warn"],
                }
            )
        return body

    def chunk(self, chunk: JSON, answer: Answer) -> JSON:
        if self.args.get("only_completion"):
            return chunk
        for choice in choices_of(chunk):
            for key in self.args.get("choice_drop", []):
                choice.pop(key, None)
        return chunk


@transform("stripped_values_echoed")
class StrippedValuesEchoed(CompletionEdit):
    """Each string the client put under `extensions` is quoted back in a warning."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        values: list[str] = []

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                for value in node.values():
                    collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)
            elif isinstance(node, str) and len(node) >= 8:
                values.append(node)

        collect(answer.client.get("extensions"))
        if metadata and values:
            metadata.setdefault("warnings", []).extend(
                {"type": "blocked_field", "code": "blocked_field", "message": f"removed {v!r}"}
                for v in values
            )
        return final


@transform("ttft_on_non_stream")
class TtftOnNonStream(CompletionEdit):
    def completion(self, body: JSON, answer: Answer) -> JSON:
        if metadata_of(body):
            body["routing_metadata"]["ttft_ms"] = 12.5
        return body


@transform("routing_strategy_constant")
class RoutingStrategyConstant(CompletionEdit):
    """routing_strategy is always `value`, or only when the request named no strategy (`when_default`)."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        if not metadata:
            return final
        if self.args.get("when_default"):
            routing = (answer.client.get("gateway") or {}).get("routing") or {}
            model = str(answer.client.get("model") or "")
            if routing.get("optimize") or routing.get("weights") or model.count(":") == 1:
                return final
        metadata["routing_strategy"] = self.args.get("value", "cost-focus")
        return final


@transform("strategy_confused")
class StrategyConfused(CompletionEdit):
    """Requests asking for optimize `asked` (`*`: any valid request naming one) are routed as if they asked
    for `used` (the gateway's strategy table maps the one to the other; `used` null: as if they named
    none, the strategy is parsed and echoed but applied nowhere), and the answer reports what was asked:
    only the choice is wrong. With `option: weights`, explicit weights are dropped the same way and the
    answer still reports `custom`; with `single_model`, requests naming `gateway.models` are left alone."""

    def _option(self) -> str:
        return str(self.args.get("option", "optimize"))

    def _asked(self, value: Any) -> bool:
        asked = self.args.get("asked", "*")
        return value is not None and (value == asked or asked == "*")

    @staticmethod
    def _routing(body: JSON) -> Any:
        gateway = body.get("gateway")
        return gateway.get("routing") if isinstance(gateway, dict) else None

    async def front_request(self, request: ProxyRequest, hop: Hop) -> ProxyRequest | ProxyResponse:
        body = client_json(request)
        routing = self._routing(body)
        if not (is_chat(request) and request.tag and isinstance(routing, dict)):
            return request
        if not self._asked(routing.get(self._option())) or not valid_request(body):
            return request
        if self.args.get("single_model") and (body.get("gateway") or {}).get("models"):
            return request  # the strategy table of one model's providers only (pool scoring untouched)
        used = self.args.get("used")
        if used is None:
            del routing[self._option()]
        else:
            routing[self._option()] = used
        request.set_json(body)
        return request

    def answer_for(self, request: ProxyRequest, hop: Hop) -> Answer:
        # the client's own request: the answer reports the strategy it asked for
        return Answer(hop.ledger.get("client", request.tag) or {})

    async def front_response(self, request: ProxyRequest, response: ProxyResponse, hop: Hop) -> ProxyResponse:
        forwarded = (self._routing(client_json(request)) or {}).get(self._option())
        asked = (self._routing(hop.ledger.get("client", request.tag) or {}) or {}).get(self._option())
        if not self._asked(asked) or forwarded == asked:
            return response  # not a request this fault rerouted
        return await super().front_response(request, response, hop)

    def final(self, final: JSON, answer: Answer) -> JSON:
        asked = (self._routing(answer.client) or {}).get(self._option())
        reported = "custom" if self._option() == "weights" else asked
        metadata = metadata_of(final)
        if isinstance(reported, str) and "routing_strategy" in metadata:
            metadata["routing_strategy"] = reported
        return final


@transform("model_canonical_unresolved")
class ModelCanonicalUnresolved(CompletionEdit):
    """model_canonical echoes the model ID the client sent (alias and suffix kept)."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        if metadata and isinstance(answer.client.get("model"), str):
            metadata["model_canonical"] = answer.client["model"]
        return final


@transform("provider_misreported")
class ProviderMisreported(CompletionEdit):
    """routing_metadata.provider names another provider than the one that answered."""

    OTHER: ClassVar[dict[str, str]] = {
        "openai": "anthropic",
        "anthropic": "openai",
        "google": "vllm",
        "gemini": "vllm",
        "deepseek": "openai",
        "vllm": "vllm-b",
        "vllm-b": "vllm",
    }

    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        if isinstance(metadata.get("provider"), str):
            metadata["provider"] = self.OTHER.get(metadata["provider"], "openai")
        return final


@transform("warnings_edit")
class WarningsEdit(CompletionEdit):
    """`mode`: drop (no warnings), strings (plain-string items), untyped (no `type`), drop_named (the
    warnings that name the field `name` as a word of its own: `top_logprobs`'s warning stays when
    `logprobs`'s goes); with `provider`, only in answers whose routing_metadata.provider starts with it."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        warnings = metadata.get("warnings")
        if not isinstance(warnings, list):
            return final
        if not str(metadata.get("provider") or "").startswith(str(self.args.get("provider", ""))):
            return final
        mode = self.args.get("mode", "drop")
        if mode == "drop":
            metadata.pop("warnings")
        elif mode == "strings":
            metadata["warnings"] = [w.get("message", str(w)) if isinstance(w, dict) else w for w in warnings]
        elif mode == "untyped":
            for warning in warnings:
                if isinstance(warning, dict):
                    warning.pop("type", None)
        elif mode == "drop_named":
            metadata["warnings"] = [w for w in warnings if not warning_names(w, self.args["name"])]
        return final


@transform("internal_fields_leak")
class InternalFieldsLeak(CompletionEdit):
    def final(self, final: JSON, answer: Answer) -> JSON:
        metadata = metadata_of(final)
        if metadata:
            metadata.update(candidates_total=2, candidates_viable=2, score=0.5)
        return final


@transform("gateway_metadata_echoed")
class GatewayMetadataEchoed(CompletionEdit):
    """The client's gateway.metadata comes back inside routing_metadata."""

    def final(self, final: JSON, answer: Answer) -> JSON:
        echoed = (answer.client.get("gateway") or {}).get("metadata")
        metadata = metadata_of(final)
        if metadata and isinstance(echoed, dict):
            metadata["metadata"] = echoed
        return final
