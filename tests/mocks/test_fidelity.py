"""The fidelity harness: the recorded real exchanges replay against the mocks with no unexplained
difference, and the comparison itself finds each kind of difference it claims to find."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import httpx
import orjson
import pytest
from auriko_conformance.mocks.app import create_app
from auriko_conformance.mocks.config import ConfigError, config_from_mapping
from auriko_conformance.mocks.fidelity import (
    Allowance,
    Difference,
    compare,
    compare_headers,
    compare_streams,
    id_format,
    import_cassette,
    layout,
    load_allow_list,
    load_corpus,
    main,
    parse_json_array,
    parse_sse,
    replay,
    run,
    scrub,
    table,
    with_directives,
)
from auriko_conformance.mocks.inprocess import asgi_client

CORPUS = load_corpus()


def test_corpus_is_big_enough_and_sourced() -> None:
    """At least 40 exchanges over the five providers, each naming its source and licence."""
    assert len(CORPUS) >= 40
    assert {r.provider for r in CORPUS} >= {"openai", "anthropic", "gemini", "deepseek"}
    for rec in CORPUS:
        for key in ("repo", "path", "commit", "licence"):
            assert rec.source.get(key), f"{rec.provider}/{rec.name}: source.{key} missing"


def test_every_recorded_request_is_accepted_with_no_unexplained_difference() -> None:
    results = asyncio.run(run(CORPUS, load_allow_list()))
    report = table(results)
    assert all(r.accepted for r in results), report
    assert all(not r.differences for r in results), report


def test_every_allowance_is_used() -> None:
    """An allow-list entry that no longer matches anything is stale and must go."""
    allow = load_allow_list()
    results = asyncio.run(run(CORPUS, allow))
    used = {why for r in results for _, why in r.allowed}
    assert {a.why for a in allow} <= used


def test_allow_list_entries_need_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "allow.yaml"
    bad.write_text("- {path: 'x', kind: '*'}\n")
    with pytest.raises(ValueError, match="without a reason"):
        load_allow_list(bad)


RECORDED = {
    "id": "chatcmpl-D3aUpw3LGODCj1iFU0xNtPGRELKj8",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "x"}}],
    "usage": {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": 0}},
}


@pytest.mark.parametrize(
    ("mutate", "kind", "path"),
    [
        (lambda b: b["usage"].pop("prompt_tokens_details"), "missing key", "usage.prompt_tokens_details"),
        (lambda b: b.__setitem__("extra", 1), "extra key", "extra"),
        (lambda b: b["usage"].__setitem__("prompt_tokens", "1"), "type", "usage.prompt_tokens"),
        (
            lambda b: b["choices"][0].__setitem__("finish_reason", "end_turn"),
            "enum",
            "choices[].finish_reason",
        ),
        (lambda b: b.__setitem__("id", "chatcmpl-" + "a1" * 12), "id format", "id"),
        (lambda b: b.__setitem__("model", "gpt-4o"), "model", "model"),
        (lambda b: b.__setitem__("choices", []), "empty list", "choices[]"),
    ],
)
def test_compare_finds_each_kind_of_difference(mutate, kind, path) -> None:
    mock = copy.deepcopy(RECORDED)
    mutate(mock)
    assert compare(RECORDED, RECORDED) == []
    assert any(d.kind == kind and d.path == path for d in compare(RECORDED, mock)), compare(RECORDED, mock)


def test_id_formats() -> None:
    assert id_format("chatcmpl-D3aUpw3LGODCj1iFU0xNtPGRELKj8") == "chatcmpl-<base62:29>"
    assert id_format("toolu_01A6gwM9ZYySVuWAZxJ5Keko") == "toolu_01<base62:22>"
    assert id_format("33be18fc-3842-486c-8c29-dd8e578f7f20") == "uuid"
    assert id_format("ezh8aaKTCYSnqtsP-qXkqQI") == "<base64url:23>"


def test_stream_comparison_finds_order_framing_and_shape() -> None:
    recorded = parse_sse(
        b'event: message_start\ndata: {"type":"message_start"}\r\n\r\n'
        b'event: ping\ndata: {"type":"ping"}\r\n\r\n'
        b'event: message_stop\ndata: {"type":"message_stop","x":1}\r\n\r\n'
    )
    assert recorded.framing["separator"] == "\r\n\r\n"
    assert compare_streams("anthropic", recorded, recorded) == []
    mock = parse_sse(
        b'event: message_start\ndata: {"type":"message_start"}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    kinds = {d.kind for d in compare_streams("anthropic", recorded, mock)}
    assert kinds == {"framing", "event order", "missing key"}
    assert [d.path for d in compare_streams("anthropic", recorded, mock) if d.kind == "framing"] == [
        "<framing>.separator"
    ]


def test_anthropic_padding_is_part_of_the_framing() -> None:
    padded = parse_sse(b'event: ping\ndata: {"type": "ping"}\n\nevent: x\ndata: {"type":"x"   }\n\n')
    compact = parse_sse(b'event: ping\ndata: {"type": "ping"}\n\nevent: x\ndata: {"type":"x"}\n\n')
    assert (padded.framing["padded"], compact.framing["padded"]) == ("yes", "no")
    assert [str(d) for d in compare_streams("anthropic", padded, compact)] == [
        "framing at <framing>.padded: recorded 'yes', mock 'no'"
    ]


def test_a_recorded_layout_is_compared_with_the_mock_answer() -> None:
    """OpenAI indents its JSON: a recording that said `compact` is one difference, of layout only."""
    [rec] = [r for r in CORPUS if (r.provider, r.name) == ("openai", "plain_all_headers")]
    assert rec.response["layout"] == "indent 2"
    compact = copy.deepcopy(rec)
    compact.response["layout"] = "compact"

    async def both() -> list[list[str]]:
        async with asgi_client(create_app()) as client:
            return [[str(d) for d in (await replay(client, r))[1]] for r in (rec, compact)]

    assert asyncio.run(both()) == [[], ["body layout at <layout>: recorded compact, mock indent 2"]]


def test_json_array_framing_is_read_from_the_bytes() -> None:
    google = parse_json_array(b'[{\n  "a": 1\n}\n,\r\n{\n  "a": 2\n}\n]')
    assert google.framing == {"kind": "json_array", "open": "[", "separator": "\n,\r\n", "close": "\n]"}
    compact = parse_json_array(b'[{"a":1},\r\n{"a":2}]')
    diffs = compare_streams("gemini", google, compact)
    assert {d.path for d in diffs} == {"<framing>.separator", "<framing>.close"}


def test_directives_go_to_the_last_user_turn() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}]}
    out = with_directives("openai", body, "tool_calls=1")
    assert out["messages"][-1] == {"role": "user", "content": "[[mock: tool_calls=1]]"}
    assert body["messages"][-1]["role"] == "assistant"  # the recorded body is not changed
    anthropic = with_directives(
        "anthropic", {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}, "x=1"
    )
    assert anthropic["messages"][0]["content"][-1] == {"type": "text", "text": "[[mock: x=1]]"}
    gemini = with_directives("gemini", {"contents": [{"role": "user", "parts": [{"text": "a"}]}]}, "x=1")
    assert gemini["contents"][0]["parts"][-1] == {"text": "[[mock: x=1]]"}


def test_scrub_keeps_formats_and_links(tmp_path: Path) -> None:
    call_id = "call_IgqlTCby7lsxDXPIUPgkmAiq"
    exchanges = [
        {
            "request": {"body": {"messages": [{"role": "tool", "tool_call_id": call_id}]}},
            "response": {"body": {"id": "chatcmpl-D3aUpw3LGODCj1iFU0xNtPGRELKj8", "tool": {"id": call_id}}},
        }
    ]
    out = scrub(exchanges)
    new_id = out[0]["response"]["body"]["tool"]["id"]
    assert new_id != call_id
    assert id_format(new_id) == id_format(call_id)
    assert out[0]["request"]["body"]["messages"][0]["tool_call_id"] == new_id


def test_import_cassette_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = tmp_path / "c.yaml"
    cassette.write_text(
        "interactions:\n- request:\n    method: POST\n    uri: https://api.openai.com/v1/chat/completions\n"
        "    parsed_body: {model: gpt-4o, messages: [{role: user, content: hi}]}\n"
        "  response:\n    status: {code: 200}\n    headers: {content-type: [application/json], cookie: [x]}\n"
        "    parsed_body: {id: chatcmpl-D3aUpw3LGODCj1iFU0xNtPGRELKj8, object: chat.completion}\n"
    )
    source = {"repo": "r", "path": "p", "commit": "c", "licence": "MIT"}
    [written] = import_cassette(cassette, "openai", "one", source, ["plain"], root=tmp_path)
    data = orjson.loads(written.read_bytes())
    assert data["response"]["headers"] == {"content-type": "application/json"}
    assert data["request"]["path"] == "/v1/chat/completions"
    assert "layout" not in data["response"]  # a parsed body keeps no bytes to tell
    kept = tmp_path / "kept.yaml"
    kept.write_text(cassette.read_text().replace(
        "    parsed_body: {id: chatcmpl-D3aUpw3LGODCj1iFU0xNtPGRELKj8, object: chat.completion}\n",
        '    body: {string: "{\\n  \\"object\\": \\"chat.completion\\"\\n}\\n"}\n',
    ))  # fmt: skip
    [written] = import_cassette(kept, "openai", "kept", source, ["plain"], root=tmp_path)
    response = orjson.loads(written.read_bytes())["response"]
    assert (response["layout"], response["body"], "events" in response) == (
        "indent 2",
        {"object": "chat.completion"},
        False,
    )
    assert main(["--provider", "deepseek"]) == 0
    assert "| deepseek |" in capsys.readouterr().out


def test_headers_keep_their_count_and_an_error_its_json_body(tmp_path: Path) -> None:
    """A header recorded twice is stored as a list and must come twice; an error a cassette stored as a
    string under a stream's media type (Google's `alt=sse` refusal) is one JSON body, not events."""
    cassette = tmp_path / "c.yaml"
    cassette.write_text(
        "interactions:\n- request:\n    method: POST\n"
        "    uri: https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse\n"
        "    parsed_body: {contents: []}\n"
        "  response:\n    status: {code: 400}\n"
        "    headers: {Content-Type: [text/event-stream], Server: [a, b], Vary: [Origin]}\n"
        '    body: {string: "{\\n  \\"error\\": {\\"code\\": 400}\\n}\\n"}\n'
    )
    source = {"repo": "r", "path": "p", "commit": "c", "licence": "MIT"}
    [written] = import_cassette(cassette, "gemini", "e", source, root=tmp_path)
    response = orjson.loads(written.read_bytes())["response"]
    assert response["headers"] == {"content-type": "text/event-stream", "server": ["a", "b"]}
    assert response["body"] == {"error": {"code": 400}}
    assert "events" not in response
    assert response["layout"] == "indent 2"
    once = httpx.Headers([("server", "a"), ("content-type", "text/event-stream")])
    assert [str(d) for d in compare_headers(response["headers"], once)] == [
        "header count at <headers>.server: recorded 2, mock 1"
    ]
    twice = httpx.Headers([("server", "a"), ("server", "b"), ("content-type", "text/event-stream")])
    assert compare_headers(response["headers"], twice) == []
    assert [d.kind for d in compare_headers({"server": "a"}, httpx.Headers({}))] == ["missing header"]


def test_body_layout_is_read_from_the_bytes() -> None:
    assert layout('{"id":"x","choices":[]}') == "compact"
    assert layout('{\n  "id": "x"\n}\n') == "indent 2"
    assert layout('{\n    "error": {}\n}') == "indent 4"
    assert layout("[\n  1\n]") == "indent 2"
    assert layout('{"type":"message","content":[{"text":"a\n  b"}]}') == "compact"


def test_allowance_matching() -> None:
    allow = Allowance("gemini", "<framing>.*", "framing", "why", ("stream_*",))
    assert allow.matches("gemini", Difference("<framing>.close", "framing"), "stream_x")
    assert not allow.matches("gemini", Difference("<framing>.close", "framing"), "plain")
    assert not allow.matches("openai", Difference("<framing>.close", "framing"), "stream_x")


def test_config_models_and_unknown_names() -> None:
    """A config file adds models (with aliases and capabilities) and can accept any model name."""
    config = config_from_mapping(
        {
            "models": [
                {
                    "flavour": "openai",
                    "id": "acme-large-2026-01-01",
                    "aliases": ["acme-large"],
                    "reasoning": "effort",
                }
            ],
            "providers": [{"name": "anthropic", "accept_unknown_models": True}],
        }
    )

    async def go() -> tuple[int, str, int]:
        async with asgi_client(create_app(config)) as client:
            auth = {"authorization": "Bearer k"}
            ok = await client.post(
                "/openai/v1/chat/completions",
                json={"model": "acme-large", "messages": [{"role": "user", "content": "hi"}]},
                headers=auth,
            )
            anth = await client.post(
                "/anthropic/v1/messages",
                json={
                    "model": "claude-next",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": "x"}],
                },
                headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
            )
            return ok.status_code, ok.json()["model"], anth.status_code

    status, model, anthropic_status = asyncio.run(go())
    assert (status, model, anthropic_status) == (200, "acme-large-2026-01-01", 200)
    with pytest.raises(ConfigError, match="unknown keys"):
        config_from_mapping({"models": [{"flavour": "openai", "id": "x", "speed": 3}]})
    with pytest.raises(ConfigError, match="reasoning"):
        config_from_mapping({"models": [{"flavour": "openai", "id": "x", "reasoning": "lots"}]})


def _anthropic(body: dict) -> tuple[int, dict]:
    async def go() -> tuple[int, dict]:
        async with asgi_client(create_app()) as client:
            response = await client.post(
                "/anthropic/v1/messages",
                json={"model": "claude-sonnet-4-5", "max_tokens": 64, **body},
                headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
            )
            return response.status_code, response.json()

    return asyncio.run(go())


def test_anthropic_valid_shapes_the_real_api_takes() -> None:
    """Shapes issue 20 measured as answered 200 by the real API (not all are in the recorded corpus)."""
    use = {"type": "tool_use", "id": "toolu_01A", "name": "f", "input": {}}
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    system_in_messages = {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    }
    assert _anthropic(system_in_messages)[0] == 200
    two_assistants = {  # merged into one turn: the tool_use of the first still needs its result
        "tools": tools,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [use]},
            {"role": "assistant", "content": "and more"},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "ok"}],
            },
        ],
    }
    assert _anthropic(two_assistants)[0] == 200
    server_blocks = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_01A", "name": "web_fetch", "input": {}},
                    {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_01A", "content": {}},
                    {
                        "type": "mcp_tool_use",
                        "id": "mcptoolu_01A",
                        "name": "m",
                        "server_name": "s",
                        "input": {},
                    },
                    {"type": "text", "text": "done"},
                ],
            },
            {"role": "user", "content": "thanks"},
        ]
    }
    assert _anthropic(server_blocks)[0] == 200


def test_anthropic_xhigh_effort_only_where_the_model_has_it() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "output_config": {"effort": "xhigh"}}
    status, error = _anthropic(body)
    assert status == 400
    assert "xhigh" in error["error"]["message"]
    assert _anthropic({**body, "model": "claude-opus-4-7"})[0] == 200


def test_openai_model_features_the_real_api_refuses() -> None:
    """`input_audio` needs an audio model and `web_search_options` a search model (real 400s)."""
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    message = {"role": "user", "content": [{"type": "text", "text": "hi"}, audio]}

    async def go(model: str, msg: dict = message, **extra: object) -> int:
        async with asgi_client(create_app()) as client:
            response = await client.post(
                "/openai/v1/chat/completions",
                json={"model": model, "messages": [msg], **extra},
                headers={"authorization": "Bearer k"},
            )
            return response.status_code

    assert asyncio.run(go("gpt-4o")) == 400
    assert asyncio.run(go("gpt-4o-audio-preview")) == 200
    plain = {"role": "user", "content": "hi"}
    assert asyncio.run(go("gpt-4o", plain, web_search_options={})) == 400
    assert asyncio.run(go("gpt-4o-search-preview", plain, web_search_options={})) == 200


def test_gemini_shapes_the_real_api_takes() -> None:
    """`tools` as one object (proto JSON takes it for a repeated field) and
    `toolConfig.includeServerSideToolInvocations`: both answered 200 by the real API (issue 20)."""
    declaration = {"functionDeclarations": [{"name": "f", "parameters": {"type": "object"}}]}
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi [[mock: tool_calls=1]]"}]}],
        "tools": declaration,
        "toolConfig": {"includeServerSideToolInvocations": True},
    }

    async def go() -> httpx.Response:
        async with asgi_client(create_app()) as client:
            return await client.post(
                "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
                json=body,
                headers={"x-goog-api-key": "k"},
            )

    response = asyncio.run(go())
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"][-1]["functionCall"]["name"] == "f"


def test_preamble_and_redacted_thinking_directives() -> None:
    """Real models often write text before a tool call, and Anthropic may redact thinking (issue 20,
    item 9): `preamble=N` and `redacted_thinking` ask the mocks for both, in every stream kind too."""
    tools = [{"name": "f", "input_schema": {"type": "object"}}]
    body = {
        "tools": tools,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "hi [[mock: tool_calls=1 preamble=3 redacted_thinking]]"}],
    }
    status, reply = _anthropic(body)
    assert status == 200
    assert [b["type"] for b in reply["content"]] == ["redacted_thinking", "text", "tool_use"]
    assert reply["content"][0]["data"]

    async def stream() -> list[dict]:
        async with asgi_client(create_app()) as client:
            response = await client.post(
                "/anthropic/v1/messages",
                json={"model": "claude-sonnet-4-5", **body, "stream": True},
                headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
            )
            return [e for _, e in parse_sse(response.content).events]

    events = asyncio.run(stream())
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["redacted_thinking", "text", "tool_use"]

    async def openai() -> dict:
        async with asgi_client(create_app()) as client:
            response = await client.post(
                "/openai/v1/chat/completions",
                json={
                    "model": "gpt-4o",
                    "tools": [
                        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
                    ],
                    "messages": [{"role": "user", "content": "hi [[mock: tool_calls=1 preamble=3]]"}],
                },
                headers={"authorization": "Bearer k"},
            )
            return response.json()["choices"][0]

    choice = asyncio.run(openai())
    assert choice["message"]["content"]
    assert choice["message"]["tool_calls"]
    assert choice["finish_reason"] == "tool_calls"
