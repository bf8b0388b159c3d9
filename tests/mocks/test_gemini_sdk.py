"""The Gemini mock driven by `google-genai` (sync and stream), plus the JSON-array stream."""

from __future__ import annotations

import json

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.mocks.conftest import KEY

MODEL = "gemini-2.0-flash"


@pytest.fixture
def gclient(server):
    client = genai.Client(api_key=KEY, http_options={"base_url": server.url + "/gemini/"})
    yield client  # kept referenced for the whole test: an unreferenced Client is closed
    client.close()


def test_generate_and_stream_agree(gclient):
    config = types.GenerateContentConfig(system_instruction="Be terse.")
    reply = gclient.models.generate_content(model=MODEL, contents="Tell me about rivers", config=config)
    assert reply.usage_metadata.prompt_token_count == 7
    assert reply.usage_metadata.candidates_token_count == 20
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP
    chunks = list(
        gclient.models.generate_content_stream(model=MODEL, contents="Tell me about rivers", config=config)
    )
    assert "".join(c.text or "" for c in chunks) == reply.text
    assert len({c.response_id for c in chunks}) == 1
    # Gemini 2.0 counts candidate tokens on the last chunk only (recorded); 2.5 counts them as it goes
    assert [c.usage_metadata.candidates_token_count for c in chunks] == [None] * 19 + [20]
    later = gclient.models.generate_content_stream(
        model="gemini-2.5-flash",
        contents="Tell me about rivers",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)),
    )
    assert [c.usage_metadata.candidates_token_count for c in later] == list(range(1, 21))
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])


def test_function_calls_single_and_parallel(gclient):
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="getWeather",
                parameters_json_schema={
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"],
                },
            ),
            types.FunctionDeclaration(
                name="getTime", parameters={"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}}
            ),
        ]
    )
    config = types.GenerateContentConfig(
        tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
    )
    for count in (1, 2):
        reply = gclient.models.generate_content(
            model=MODEL, contents=f"w [[mock: tool_calls={count}]]", config=config
        )
        calls = reply.function_calls
        assert [c.name for c in calls] == ["getWeather", "getTime"][:count]
        assert isinstance(calls[0].args["location"], str)
        assert reply.candidates[0].finish_reason == types.FinishReason.STOP
        streamed = [
            c
            for chunk in gclient.models.generate_content_stream(
                model=MODEL, contents=f"w [[mock: tool_calls={count}]]", config=config
            )
            for c in chunk.function_calls or []
        ]
        assert [(c.name, c.args) for c in streamed] == [(c.name, c.args) for c in calls]


def test_thinking_budget_and_thoughts(gclient):
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(thinking_budget=1024, include_thoughts=True)
    )
    reply = gclient.models.generate_content(
        model="gemini-2.5-flash", contents="q [[mock: reasoning=9]]", config=config
    )
    parts = reply.candidates[0].content.parts
    assert parts[0].thought is True
    assert len(parts[0].text.split()) == 8
    usage = reply.usage_metadata
    assert usage.thoughts_token_count == 9
    assert usage.candidates_token_count == 20
    assert usage.total_token_count == usage.prompt_token_count + 29
    off = gclient.models.generate_content(
        model="gemini-2.5-flash",
        contents="q [[mock: reasoning=9]]",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)),
    )
    assert off.usage_metadata.thoughts_token_count is None
    level = gclient.models.generate_content(
        model="gemini-3-pro-preview",
        contents="q",
        config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level="LOW")),
    )
    assert level.usage_metadata.thoughts_token_count == 16
    assert not level.candidates[0].content.parts[0].thought


DUMMY_TOOL = types.Tool(
    function_declarations=[types.FunctionDeclaration(name="dummy", parameters_json_schema={"type": "object"})]
)


@pytest.mark.parametrize("declared", [True, False], ids=["functions-declared", "no-functions"])
def test_gemini_2_5_signs_its_first_text_only_with_functions_declared(gclient, declared):
    """Recorded (fidelity `stream_thinking_tools_declared`, `stream_sse_text`): 2.5 signs the first text
    chunk of a thinking answer when the request declares functions, and nothing otherwise (D-162)."""
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        tools=[DUMMY_TOOL] if declared else None,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    chunks = list(gclient.models.generate_content_stream(model="gemini-2.5-pro", contents="q", config=config))
    answer = [p for c in chunks for p in c.candidates[0].content.parts if not p.thought]
    assert [p.thought_signature is not None for p in answer] == [declared] + [False] * (len(answer) - 1)
    thought_chunks = [c for c in chunks if c.candidates[0].content.parts[0].thought]
    assert thought_chunks
    assert all(c.usage_metadata.candidates_token_count is None for c in thought_chunks)
    reply = gclient.models.generate_content(model="gemini-2.5-pro", contents="q", config=config)
    text_part = reply.candidates[0].content.parts[-1]
    assert (text_part.thought_signature is not None) is declared
    assert text_part.text == "".join(p.text for p in answer)


def test_an_answer_spent_thinking_has_no_parts(server):
    """Recorded (fidelity `max_tokens_spent_thinking`): `content` is `{"role": "model"}` and the usage has no
    `candidatesTokenCount`, streamed or not."""
    body = {
        "contents": [{"parts": [{"text": "q [[mock: reasoning=50]]"}]}],
        "generationConfig": {"maxOutputTokens": 5},
    }
    base = server.url + "/gemini/v1beta/models/gemini-2.5-pro"
    reply = httpx.post(f"{base}:generateContent", json=body, headers={"x-goog-api-key": KEY}).json()
    streamed = httpx.post(
        f"{base}:streamGenerateContent?alt=sse", json=body, headers={"x-goog-api-key": KEY}
    ).text
    last = json.loads([line for line in streamed.splitlines() if line.startswith("data: ")][-1][6:])
    for answer in (reply, last):
        assert answer["candidates"][0]["content"] == {"role": "model"}
        assert answer["candidates"][0]["finishReason"] == "MAX_TOKENS"
        assert "candidatesTokenCount" not in answer["usageMetadata"]
        assert answer["usageMetadata"]["thoughtsTokenCount"] == 5


def test_gemini_2_0_streams_count_candidates_only_at_the_end(server):
    """Recorded (fidelity `stream_gemini_2_0_flash_exp`, `structured_output_gemini_2_0`): a 2.0 candidate has
    no index; streamed it has no `avgLogprobs` either, and only the last chunk counts candidate tokens."""
    body = {"contents": [{"parts": [{"text": "q [[mock: words=3]]"}]}]}
    base = server.url + "/gemini/v1beta/models/gemini-2.0-flash"
    reply = httpx.post(f"{base}:generateContent", json=body, headers={"x-goog-api-key": KEY}).json()
    assert set(reply["candidates"][0]) == {"content", "finishReason", "avgLogprobs"}
    streamed = httpx.post(
        f"{base}:streamGenerateContent?alt=sse", json=body, headers={"x-goog-api-key": KEY}
    ).text
    chunks = [json.loads(line[6:]) for line in streamed.splitlines() if line.startswith("data: ")]
    assert len(chunks) == 3
    for chunk in chunks[:-1]:
        assert set(chunk["candidates"][0]) == {"content"}
        assert not {"candidatesTokenCount", "candidatesTokensDetails"} & set(chunk["usageMetadata"])
        assert chunk["usageMetadata"]["totalTokenCount"] == chunk["usageMetadata"]["promptTokenCount"]
    last = chunks[-1]
    assert set(last["candidates"][0]) == {"content", "finishReason"}
    assert (
        last["usageMetadata"]["candidatesTokenCount"] == reply["usageMetadata"]["candidatesTokenCount"] == 3
    )
    assert last["usageMetadata"]["candidatesTokensDetails"] == [{"modality": "TEXT", "tokenCount": 3}]


@pytest.mark.parametrize(
    ("directive", "status", "exc", "canonical"),
    [
        ("error=429 retry_after=7", 429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        ("error=503", 503, errors.ServerError, "UNAVAILABLE"),
        ("error=529", 503, errors.ServerError, "UNAVAILABLE"),
        ("error=500", 500, errors.ServerError, "INTERNAL"),
    ],
)
def test_error_directives(gclient, directive, status, exc, canonical):
    with pytest.raises(exc) as info:
        gclient.models.generate_content(model=MODEL, contents=f"x [[mock: {directive}]]")
    assert info.value.code == status
    assert info.value.status == canonical
    if status == 429:
        assert {
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": "7s",
        } in info.value.details["error"]["details"]


def test_json_array_stream_without_alt_sse(server):
    url = server.url + f"/gemini/v1beta/models/{MODEL}:streamGenerateContent"
    response = httpx.post(
        url,
        json={"contents": [{"parts": [{"text": "hi [[mock: words=3]]"}]}]},
        headers={"x-goog-api-key": KEY},
    )
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == "attachment"
    items = json.loads(response.text)
    assert isinstance(items, list)
    assert len(items) == 3
    # Google's bytes: pretty-printed elements, LF "," CRLF between them, LF "]" at the end; a reader that
    # splits on that separator (as some gateways do) gets every element, the last one included.
    raw = response.content
    assert raw.startswith(b'[{\n  "candidates"')
    assert raw.endswith(b"\n}\n]")
    pieces = raw[1:-2].split(b"\n,\r\n")
    assert [json.loads(p) for p in pieces] == items
    assert items[-1]["candidates"][0]["finishReason"] == "STOP"
    sse = httpx.post(
        url + "?alt=sse&key=" + KEY, json={"contents": [{"parts": [{"text": "hi [[mock: words=3]]"}]}]}
    )
    assert sse.content.endswith(b"}\r\n\r\n")
    assert b"}\n\n" not in sse.content
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    assert events == [{**e, "responseId": events[0]["responseId"]} for e in items]
    assert "[DONE]" not in sse.text


def test_auth(server, gclient):
    bad = genai.Client(api_key="bad-key", http_options={"base_url": server.url + "/gemini/"})
    with pytest.raises(errors.ClientError) as info:
        bad.models.generate_content(model=MODEL, contents="x")
    assert info.value.code == 400
    assert "API key not valid" in info.value.message
    missing = httpx.post(
        server.url + f"/gemini/v1beta/models/{MODEL}:generateContent",
        json={"contents": [{"parts": [{"text": "x"}]}]},
    )
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    assert next(m.name for m in gclient.models.list()) == "models/gemini-2.5-flash"


def test_google_indents_every_json_answer(server):
    """Answers and errors are recorded indented by two spaces with a final newline (D-166); the model list
    and token counts come from the same front end."""
    base = server.url + "/gemini/v1beta/models"
    key = {"x-goog-api-key": KEY}
    body = {"contents": [{"parts": [{"text": "q"}]}]}
    answers = [
        httpx.post(f"{base}/{MODEL}:generateContent", json=body, headers=key),
        httpx.post(f"{base}/{MODEL}:countTokens", json=body, headers=key),
        httpx.get(base, headers=key),
        httpx.post(f"{base}/no-such-model:generateContent", json=body, headers=key),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 404]
    for answer in answers:
        assert answer.text.startswith('{\n  "'), answer.text[:40]
        assert answer.text.endswith("}\n")
