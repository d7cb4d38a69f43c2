"""Recorded Gemini streams, not written by us: a chunk sent without `data:` framing before an
error (python-genai's own test stream) keeps its text; a filter's finish or a blocked prompt is
a refusal, as Anthropic's and OpenAI's are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers.openai_stub import SSE, StubServer

from workbench.cli import main
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import StreamEnd, TextDelta, UsageReport
from workbench.providers.gemini import GeminiProvider

KEY = "AIzaSyTEST-0123456789abcdefghijklmnop"
CONFIG = ProviderConfig(name="g", kind="gemini", base_url="https://gemini.test/v1beta", api_key_env="G_KEY")
MODEL = ModelInfo(id="flash", provider="g", name="Flash", upstream="gemini-2.5-flash")
REQUEST = ChatRequest(prompt="Tell me a story in 300 words.")

# googleapis/python-genai (66807187) google/genai/tests/client/test_async_stream.py,
# EVENT_STREAM_DATA_WITH_ERROR, verbatim: the SDK's test stream, one network read per item. No
# `data:` framing on either JSON, and the error has no newline after it. The SDK yields the
# chunk (text "test"), then raises ServerError for the 500 INTERNAL.
GENAI_STREAM_WITH_ERROR = [
    b'{"candidates":[{"content":{"parts":[{"text":"test"}],"role":"model"}}]}',
    b'\n',
    b'{"error":{"code":500,"message":"Error","status":"INTERNAL"}}',
]
GENAI_MESSAGE = "Gemini reported an error mid-stream (INTERNAL): Error"

# vercel/ai (ed857f50) packages/google/src/google-language-model.test.ts, "should expose
# PromptFeedback in provider metadata on finish": a candidate cut by PROHIBITED_CONTENT after the
# text "No", with the prompt's feedback beside it.
VERCEL_PROHIBITED = (
    b'data: {"candidates": [{"content": {"parts": [{"text": "No"}],"role": "model"},'
    b'"finishReason": "PROHIBITED_CONTENT","index": 0}],'
    b'"promptFeedback": {"blockReason": "PROHIBITED_CONTENT","safetyRatings": ['
    b'{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT","probability": "NEGLIGIBLE"},'
    b'{"category": "HARM_CATEGORY_HATE_SPEECH","probability": "NEGLIGIBLE"},'
    b'{"category": "HARM_CATEGORY_HARASSMENT","probability": "NEGLIGIBLE"},'
    b'{"category": "HARM_CATEGORY_DANGEROUS_CONTENT","probability": "NEGLIGIBLE"}]}}\n\n')

# PROTOCOLS §3's blocked prompt shape: promptFeedback.blockReason and no candidates.
BLOCKED_PROMPT = (b'data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},"usageMetadata": '
                  b'{"promptTokenCount": 7,"totalTokenCount": 7}}\r\n\r\n')


def data(obj: dict) -> bytes:
    """One `data:` event in Gemini's own JSON spacing."""
    return b"data: " + json.dumps(obj, separators=(",", ": ")).encode() + b"\r\n\r\n"


def candidate(text: str | None = None, finish: str | None = None, **extra) -> dict:
    """A GenerateContentResponse with one candidate."""
    cand: dict = {"content": {"parts": [{"text": text}] if text is not None else [], "role": "model"}, **extra}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand]}


async def run(items: list[bytes]):
    """(events, error) of a stream served by a MockTransport, one network read per item."""
    async def body():
        for item in items:
            yield item

    seen: list = []
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body()))
    async with httpx.AsyncClient(transport=transport) as client:
        try:
            async for event in GeminiProvider(CONFIG, KEY).stream(client, MODEL, REQUEST):
                seen.append(event)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def texts(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def usages(events) -> list[UsageReport]:
    return [e for e in events if isinstance(e, UsageReport)]


# --- JSON outside SSE --------------------------------------------------------------------------


@pytest.mark.parametrize("items", [
    GENAI_STREAM_WITH_ERROR,
    [b"".join(GENAI_STREAM_WITH_ERROR)],
    [bytes([b]) for b in b"".join(GENAI_STREAM_WITH_ERROR)],
    [b"".join(GENAI_STREAM_WITH_ERROR).replace(b"\n", b"\r\n") + b"\r\n"],
], ids=["as-recorded", "one-read", "byte-by-byte", "crlf"])
async def test_genai_sdk_stream_keeps_the_unframed_chunk_before_the_error(items: list[bytes]) -> None:
    events, err = await run(items)
    assert events == [TextDelta("test")]
    assert isinstance(err, errors.StreamErrorEvent) and err.message == GENAI_MESSAGE


async def test_unframed_chunks_keep_their_place_among_data_events() -> None:
    raw = (data(candidate("a")) + json.dumps(candidate("b")).encode() + b"\n"
           + json.dumps(candidate("c"), indent=2).encode() + b"\n" + data(candidate("d", finish="STOP")))
    events, err = await run([raw])
    assert err is None and texts(events) == "abcd" and events[-1] == StreamEnd("STOP")


async def test_a_whole_stream_without_data_framing_is_read_like_the_sdk_reads_it() -> None:
    last = {**candidate("lo", finish="STOP"), "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}}
    lines = [json.dumps(candidate("Hel")), json.dumps(last)]
    events, err = await run(["\n".join(lines).encode()])
    assert err is None and texts(events) == "Hello"
    assert events[-2:] == [UsageReport(input_tokens=4, output_tokens=2), StreamEnd("STOP")]


async def test_braces_inside_an_error_message_do_not_hide_it() -> None:
    raw = b'{"error": {"code": 500, "message": "bad template {x", "status": "INTERNAL"}}\n'
    events, err = await run([data(candidate("Hi")), raw, data(candidate("never", finish="STOP"))])
    assert isinstance(err, errors.StreamErrorEvent) and "bad template {x" in err.message
    assert texts(events) == "Hi"


@pytest.fixture
def gemini_stub() -> Iterator[StubServer]:
    """The stub on Gemini's route (`/v1beta/models/{model}:streamGenerateContent`)."""
    with StubServer(SSE([data(candidate("Hello", finish="STOP"))]), routes=(":streamGenerateContent",),
                    base_path="/v1beta") as server:
        yield server


def ask_json(stub: StubServer, home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """`workbench ask --json` against the stub: (exit code, the one result)."""
    monkeypatch.setenv("G_KEY", KEY)
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[providers.g]\nkind = "gemini"\nbase_url = "{stub.base_url}"\napi_key_env = "G_KEY"\n\n'
        '[[models]]\nid = "g-flash"\nprovider = "g"\nname = "Gemini Flash"\nmodel = "gemini-2.5-flash"\n'
        "input_per_m = 0.3\noutput_per_m = 2.5\n", "utf-8")
    code = main(["ask", "--json", "-m", "g-flash", "Tell me a story in 300 words."])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    return code, result


def test_ask_json_genai_sdk_stream_is_interrupted_with_its_text(gemini_stub: StubServer, isolated_home: Path,
                                                               capsys, monkeypatch) -> None:
    gemini_stub.script = SSE(GENAI_STREAM_WITH_ERROR)
    code, result = ask_json(gemini_stub, isolated_home, capsys, monkeypatch)
    assert code == 1
    assert (result["status"], result["text"]) == ("interrupted", "test")
    assert result["error"]["kind"] == "stream_error" and "INTERNAL" in result["error"]["message"]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("items", "message", "text", "usage"), [
    ([data({**candidate(finish="SAFETY"), "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}})],
     "the model refused: blocked by Gemini's safety filters (finishReason SAFETY)", "", [UsageReport(12, 0)]),
    ([data(candidate("Here is the ")), data(candidate("licen", finish="RECITATION"))],
     "the model refused: stopped for reciting training data, the answer was cut off (finishReason RECITATION)",
     "Here is the licen", []),
    ([BLOCKED_PROMPT], "the model refused: Gemini blocked the prompt (blockReason PROHIBITED_CONTENT)", "",
     [UsageReport(7, 0)]),
    ([VERCEL_PROHIBITED], ("the model refused: blocked as prohibited content, the answer was cut off "
     "(finishReason PROHIBITED_CONTENT)"), "No", []),
    ([data({"promptFeedback": {"blockReason": "OTHER", "blockReasonMessage": "The prompt is not allowed."}})],
     "the model refused: Gemini blocked the prompt: The prompt is not allowed. (blockReason OTHER)", "", []),
    ([data(candidate(finish="SPII", finishMessage="Personal data found."))],
     "the model refused: blocked for sensitive personal information: Personal data found. (finishReason SPII)",
     "", []),
], ids=["safety", "recitation-after-text", "blocked-prompt", "vercel-prohibited", "block-message",
        "finish-message"])
async def test_filtered_answers_are_refusals_keeping_text_and_usage(items, message: str, text: str, usage) -> None:
    events, err = await run(items)
    assert type(err) is errors.RefusalError and err.kind == "refusal" and err.message == message
    assert texts(events) == text and usages(events) == usage


async def test_an_unsupported_language_is_an_error_but_not_a_refusal() -> None:
    _, err = await run([data(candidate("Je ", finish="LANGUAGE"))])
    assert type(err) is errors.StreamErrorEvent
    assert err.message == "the answer was cut off: stopped: the language is not supported (finishReason LANGUAGE)"
