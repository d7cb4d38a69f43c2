"""The Gemini adapter (PROTOCOLS §3, usage per §10): captured streams through httpx.MockTransport,
and the request, faults, cancellation and `workbench ask --json` against a real local server
that answers on Gemini's `models/{model}:streamGenerateContent?alt=sse` route.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from servers.openai_stub import SSE, Status, StubServer, cut, stall
from workbench import paths
from workbench.cli import main
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.base import make_provider
from workbench.providers.events import ReasoningDelta, ServedModel, StreamEnd, TextDelta, UsageReport
from workbench.providers.gemini import GeminiProvider, normalise_usage
from workbench.providers.http import make_client
from workbench.store import open_store
from workbench.store.answers import get_answer

KEY = "AIzaSyTEST-0123456789abcdefghijklmnop"
CONFIG = ProviderConfig(name="g", kind="gemini", base_url="https://gemini.test/v1beta", api_key_env="G_KEY")
MODEL = ModelInfo(id="flash", provider="g", name="Flash", upstream="gemini-2.5-flash")
REQUEST = ChatRequest(prompt="Write fizzbuzz.", system="Be brief.", temperature=0.3, max_tokens=256)

# --- captured payloads (PROTOCOLS §3, byte for byte: `": "` after keys, no space after commas) ---

CAPTURED_FIRST = (b'data: {"candidates": [{"content": {"parts": [{"text": "Okay"}],"role": "model"}}],'
                  b'"usageMetadata": {"promptTokenCount": 2304,"totalTokenCount": 2304,"promptTokensDetails": '
                  b'[{"modality": "TEXT","tokenCount": 2304}]},"modelVersion": "gemini-2.0-flash"}\r\n\r\n')
CAPTURED_LAST = (b'data: {"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": '
                 b'"STOP"}],"usageMetadata": {"promptTokenCount": 2301,"candidatesTokenCount": 1,'
                 b'"totalTokenCount": 2302,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 2301}],'
                 b'"candidatesTokensDetails": [{"modality": "TEXT","tokenCount": 1}]},'
                 b'"modelVersion": "gemini-2.0-flash"}\r\n\r\n')
CAPTURED_ERROR = (b'{\n  "error": {\n    "code": 503,\n    "message": "The model is overloaded. Please try again '
                  b'later.",\n    "status": "UNAVAILABLE"\n  }\n}\n')
CAPTURED_THINKING = (b'data: {"candidates": [{"content": {"parts": [{"text": "Hello!"}],"role": "model"},'
                     b'"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 11,'
                     b'"candidatesTokenCount": 2,"totalTokenCount": 29,"thoughtsTokenCount": 16},'
                     b'"modelVersion": "gemini-2.5-flash"}\r\n\r\n')


def gchunk(*texts: str, thought: str | None = None, finish: str | None = None, usage: dict | None = None,
           version: str | None = "gemini-2.5-flash", end: bytes = b"\r\n\r\n", **extra) -> bytes:
    """One `data:` GenerateContentResponse in Gemini's own JSON spacing."""
    parts = ([{"text": thought, "thought": True}] if thought is not None else []) + [{"text": t} for t in texts]
    candidate: dict = {"content": {"parts": parts, "role": "model"}}
    if finish:
        candidate["finishReason"] = finish
    obj: dict = {"candidates": [candidate], **extra}
    if usage is not None:
        obj["usageMetadata"] = usage
    if version:
        obj["modelVersion"] = version
    return b"data: " + json.dumps(obj, separators=(",", ": "), ensure_ascii=False).encode() + end


def google_error(code: int, status: str, message: str, details: list | None = None) -> dict:
    err: dict = {"code": code, "message": message, "status": status}
    if details is not None:
        err["details"] = details
    return {"error": err}


# --- MockTransport driving ------------------------------------------------------------------


def reply(items: list[bytes], status: int = 200, content_type: str = "text/event-stream",
          fail_with: Exception | None = None, pulled: list | None = None):
    """A MockTransport handler streaming ``items``, one network read each."""
    async def body():
        for item in items:
            yield item
        if pulled is not None:
            pulled.append("after the last item")
        if fail_with is not None:
            raise fail_with

    return lambda request: httpx.Response(status, headers={"content-type": content_type}, content=body())


async def drain(client: httpx.AsyncClient, provider: GeminiProvider, model: ModelInfo = MODEL,
                request: ChatRequest = REQUEST):
    """(events, error) of one stream; ``error`` is the ProviderError raised, if any."""
    seen: list = []
    async with client:
        try:
            async for ev in provider.stream(client, model, request):
                seen.append(ev)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def run(handler: Callable[[httpx.Request], httpx.Response], *, key: str | None = KEY):
    """A stream from a MockTransport handler."""
    return drain(httpx.AsyncClient(transport=httpx.MockTransport(handler)), GeminiProvider(CONFIG, key))


def texts(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def usages(events) -> list[UsageReport]:
    return [e for e in events if isinstance(e, UsageReport)]


# --- streams ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("items", "text", "served", "usage"), [
    # promptTokenCount changed between chunks: the last usageMetadata is the one that counts
    ([CAPTURED_FIRST, CAPTURED_LAST], "Okay", "gemini-2.0-flash", UsageReport(input_tokens=2301, output_tokens=1)),
    # thoughts are billed as output
    ([CAPTURED_THINKING], "Hello!", "gemini-2.5-flash",
     UsageReport(input_tokens=11, output_tokens=18, reasoning_tokens=16)),
], ids=["captured", "captured-thinking"])
async def test_captured_streams_text_served_model_and_final_usage(items, text, served, usage) -> None:
    events, err = await run(reply(items))
    assert err is None and texts(events) == text
    assert [e for e in events if isinstance(e, ServedModel)] == [ServedModel(served)]
    assert usages(events) == [usage] and events[-2:] == [usage, StreamEnd("STOP")]


async def test_thought_parts_are_reasoning_apart_from_the_answer() -> None:
    items = [gchunk(thought="**Planning** the loop."), gchunk("def fizz", thought=" Edge cases."),
             gchunk("():", finish="STOP")]
    events, err = await run(reply(items))
    assert err is None
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["**Planning** the loop.", " Edge cases."]
    assert texts(events) == "def fizz():"


async def test_usage_on_several_chunks_is_reported_once_from_the_last() -> None:
    items = [gchunk("a", usage={"promptTokenCount": 5, "totalTokenCount": 5}),
             gchunk("b", usage={"promptTokenCount": 5, "totalTokenCount": 5}),
             gchunk("c", finish="STOP", usage={"promptTokenCount": 5, "candidatesTokenCount": 17,
                                                "totalTokenCount": 22})]
    events, err = await run(reply(items))
    assert err is None
    assert usages(events) == [UsageReport(input_tokens=5, output_tokens=17)]


def test_usage_normalisation_cached_and_thoughts() -> None:
    meta = {"promptTokenCount": 1000, "cachedContentTokenCount": 800, "candidatesTokenCount": 50,
            "thoughtsTokenCount": 150, "totalTokenCount": 1200}
    assert normalise_usage(meta) == UsageReport(input_tokens=1000, output_tokens=200, reasoning_tokens=150,
                                                cached_input_tokens=800)
    # no prompt count: input unknown (the meter keeps its estimate), never a made-up zero
    assert normalise_usage({"candidatesTokenCount": "7"}) == UsageReport(input_tokens=None, output_tokens=0)


async def test_finish_without_usage_reports_no_usage_and_a_gateways_done_is_ignored() -> None:
    events, err = await run(reply([gchunk("Hi", finish="MAX_TOKENS"), b"data: [DONE]\n\n"]))
    assert err is None
    assert usages(events) == [] and events[-1] == StreamEnd("MAX_TOKENS")


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n", b"\r"], ids=["no-newline", "lf", "crlf", "cr"])
async def test_last_event_without_a_trailing_blank_line(ending: bytes) -> None:
    last = gchunk("world", finish="STOP", usage={"promptTokenCount": 3, "candidatesTokenCount": 2}, end=ending)
    events, err = await run(reply([gchunk("Hello, "), last]))
    assert err is None
    assert texts(events) == "Hello, world"
    assert events[-2:] == [UsageReport(input_tokens=3, output_tokens=2), StreamEnd("STOP")]


async def test_crlf_and_multibyte_text_split_across_reads() -> None:
    raw = gchunk("naïve — 漢字 🙂") + gchunk("!", finish="STOP")
    pieces = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    events, err = await run(reply(pieces))
    assert err is None
    assert texts(events) == "naïve — 漢字 🙂!"
    assert events[-1] == StreamEnd("STOP")


@pytest.mark.parametrize("last", [gchunk("answer"), b'data: {"candidates": [{"content": {"par'],
                         ids=["no-finish-reason", "ends-mid-json"])
async def test_a_stream_ending_early_is_a_cut_keeping_the_text(last: bytes) -> None:
    events, err = await run(reply([gchunk("partial ", usage={"promptTokenCount": 9}), last]))
    assert isinstance(err, errors.StreamCutError) and err.kind == "cut_off"  # not a decode error
    assert texts(events).startswith("partial ")
    assert usages(events) == []  # a cut stream's usage is incomplete: the meter stays an estimate


async def test_malformed_event_mid_stream_is_a_decode_error() -> None:
    events, err = await run(reply([gchunk("Hi"), b"data: {not json\r\n\r\n", gchunk("!", finish="STOP")]))
    assert isinstance(err, errors.DecodeError) and "malformed" in err.message


async def test_server_ignoring_alt_sse_sends_one_json_array() -> None:
    body = json.dumps([
        {"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}]},
        {"candidates": [{"content": {"parts": [{"text": "lo"}], "role": "model"}, "finishReason": "STOP"}],
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2}, "modelVersion": "gemini-2.5-flash"},
    ]).encode()
    events, err = await run(reply([body], content_type="application/json; charset=UTF-8"))
    assert err is None
    assert texts(events) == "Hello"
    assert events[-2:] == [UsageReport(input_tokens=4, output_tokens=2), StreamEnd("STOP")]


# --- errors in the stream ----------------------------------------------------------------------


ARRAY_ERROR = (b'[{\n  "error": {\n    "code": 429,\n    "message": "Resource has been exhausted",\n'
               b'    "status": "RESOURCE_EXHAUSTED"\n  }\n}\n]\n')
DATA_ERROR = b"data: " + json.dumps(google_error(500, "INTERNAL", "Internal error encountered.")).encode() + b"\r\n\r\n"
# Longer than the stray lines the decoder keeps (over 40): its message must still come through.
LONG_ERROR = json.dumps(google_error(500, "INTERNAL", "An internal error has occurred.", [
    {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": f"link {i}", "url": f"https://x.test/{i}"}]}
    for i in range(10)]), indent=2).encode()


@pytest.mark.parametrize(("raw", "message"), [
    (CAPTURED_ERROR, "Gemini reported an error mid-stream (UNAVAILABLE): The model is overloaded. Please try again later."),
    (ARRAY_ERROR, "Gemini reported an error mid-stream (RESOURCE_EXHAUSTED): Resource has been exhausted"),
    (DATA_ERROR, "Gemini reported an error mid-stream (INTERNAL): Internal error encountered."),
], ids=["captured-raw-json", "json-array", "data-event"])
async def test_error_mid_stream_keeps_the_text(raw: bytes, message: str) -> None:
    events, err = await run(reply([CAPTURED_FIRST, raw]))
    assert isinstance(err, errors.StreamErrorEvent) and err.kind == "stream_error"
    assert err.message == message
    assert texts(events) == "Okay"


async def test_long_raw_error_beyond_the_kept_lines_still_gives_its_message() -> None:
    assert LONG_ERROR.count(b"\n") > 40
    events, err = await run(reply([gchunk("Hi"), LONG_ERROR]))
    assert isinstance(err, errors.StreamErrorEvent) and "An internal error has occurred." in err.message


async def test_raw_json_error_is_raised_when_it_arrives_not_at_the_end() -> None:
    # Had the adapter waited for the body to end, it would pull again and meet the read timeout.
    pulled: list = []
    handler = reply([gchunk("Hi"), CAPTURED_ERROR], fail_with=httpx.ReadTimeout("stalled"), pulled=pulled)
    events, err = await run(handler)
    assert isinstance(err, errors.StreamErrorEvent)
    assert pulled == []


@pytest.mark.parametrize(("body", "content_type", "says"), [
    (b"upstream connect error or disconnect/reset before headers\n", "text/event-stream", "not an event stream"),
    (b"<html><head><title>Sign in to the Wi-Fi</title></head><body>" + b"<p>x</p>" * 500, "text/html",
     "Sign in to the Wi-Fi"),
], ids=["plain-text", "html-page"])
async def test_a_200_that_is_not_an_event_stream_is_a_decode_error(body: bytes, content_type: str, says: str) -> None:
    events, err = await run(reply([body], content_type=content_type))
    assert events == []
    assert isinstance(err, errors.DecodeError) and says in err.message and "<" not in err.message


# --- HTTP errors -------------------------------------------------------------------------------

API_KEY_INVALID = google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
     "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])


@pytest.mark.parametrize(("status", "body", "cls", "kind", "message"), [
    (400, google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), errors.HTTPStatusError, "http",
     "HTTP 400 INVALID_ARGUMENT: Invalid JSON payload received."),
    (400, API_KEY_INVALID, errors.AuthError, "auth",
     "HTTP 400 INVALID_ARGUMENT: API key not valid. Please pass a valid API key."),
    (403, google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."), errors.AuthError,
     "auth", "HTTP 403 PERMISSION_DENIED: Method doesn't allow unregistered callers."),
    (404, google_error(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta, or is not "
                       "supported for generateContent."), errors.NotFoundError, "not_found",
     "HTTP 404 NOT_FOUND: models/gemini-9 is not found for API version v1beta, or is not supported for generateContent."),
    (500, google_error(500, "INTERNAL", "An internal error has occurred."), errors.ServerError, "server",
     "HTTP 500 INTERNAL: An internal error has occurred."),
    (503, [google_error(503, "UNAVAILABLE", "The model is overloaded.")], errors.ServerError, "server",
     "HTTP 503 UNAVAILABLE: The model is overloaded."),
])
async def test_google_error_bodies(status: int, body, cls: type, kind: str, message: str) -> None:
    handler = lambda request: httpx.Response(status, json=body)  # noqa: E731
    events, err = await run(handler)
    assert events == []
    assert type(err) is cls
    assert (err.kind, err.http_status, err.message) == (kind, status, message)


DAILY = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
         "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}


@pytest.mark.parametrize(("violation", "headers", "expected", "retryable"), [
    ({"quotaId": "PerMinute"}, {}, 32.5, True),  # a per-minute quota refills: worth the wait
    ({"quotaId": "PerMinute"}, {"Retry-After": "7"}, 7.0, True),
    (DAILY, {}, 32.5, False),  # a daily one does not, whatever the delay says
], ids=["per-minute", "retry-after-header-wins", "daily"])
async def test_429_resource_exhausted_carries_the_retry_delay(violation, headers, expected, retryable) -> None:
    body = google_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "32.5s"}])
    events, err = await run(lambda request: httpx.Response(429, json=body, headers=headers))
    assert isinstance(err, errors.RateLimitError) and err.kind == "rate_limited"
    assert (err.retry_after, err.retryable) == (expected, retryable)
    assert err.message == "HTTP 429 RESOURCE_EXHAUSTED: You exceeded your current quota."


@pytest.mark.parametrize(("response", "cls", "says"), [
    (httpx.Response(502, text="<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
                    + "<p>nginx</p>" * 500, headers={"content-type": "text/html"}), errors.ServerError,
     "502 Bad Gateway"),
    (httpx.Response(404, text="Not Found"), errors.NotFoundError, "check the base_url"),
], ids=["html-page", "bare-404"])
async def test_errors_without_a_google_body_give_a_short_message(response, cls: type, says: str) -> None:
    err = (await run(lambda request: response))[1]
    assert isinstance(err, cls) and says in err.message
    assert "<" not in err.message and len(err.message) < 200


# --- the key never leaks -----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["status body", "mid-stream raw", "data event", "malformed event"])
async def test_key_echoed_by_the_server_is_redacted(where: str) -> None:
    echo = f"API key {KEY} not valid"
    error_json = json.dumps(google_error(400, "INVALID_ARGUMENT", echo)).encode()
    handler = {
        "status body": lambda request: httpx.Response(400, content=error_json),
        "mid-stream raw": reply([gchunk("Hi"), error_json + b"\n"]),
        "data event": reply([gchunk("Hi"), b"data: " + error_json + b"\n\n"]),
        "malformed event": reply([b"data: {" + KEY.encode() + b"\n\n"]),
    }[where]
    err = (await run(handler))[1]
    assert isinstance(err, errors.ProviderError)
    assert KEY not in err.message and KEY[:12] not in err.message


# --- against a local server with Gemini's route ------------------------------------------------


@pytest.fixture
def gemini_stub() -> Iterator[StubServer]:
    """The stub on Gemini's route (`/v1beta/models/{model}:streamGenerateContent`), Google's 404 elsewhere."""
    with StubServer(SSE([gchunk("Hello", finish="STOP")]), routes=(":streamGenerateContent",), base_path="/v1beta",
                    not_found=lambda path: Status(404, google_error(404, "NOT_FOUND", f"no route {path}"))) as server:
        yield server


def at(stub: StubServer, key: str | None = KEY, **kw) -> GeminiProvider:
    return GeminiProvider(ProviderConfig(name="g", kind="gemini", base_url=stub.base_url, **kw), key)


def collect(provider: GeminiProvider, model: ModelInfo = MODEL, request: ChatRequest = REQUEST):
    """A stream from the local server, through the app's own client."""
    return drain(make_client(), provider, model, request)


async def test_request_path_query_key_header_and_body(gemini_stub: StubServer) -> None:
    events, err = await collect(at(gemini_stub))
    assert err is None and texts(events) == "Hello"
    (sent,) = gemini_stub.requests
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert sent.headers["x-goog-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert KEY not in sent.path  # never `?key=`: URLs end up in logs and error messages
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "contents": [{"role": "user", "parts": [{"text": "Write fizzbuzz."}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 256},
    }


async def test_request_without_options_or_key_and_a_full_model_name(gemini_stub: StubServer) -> None:
    model = ModelInfo(id="f", provider="g", name="F", upstream="models/gemini-2.0-flash", temperature=1.0)
    await collect(at(gemini_stub, key=None), model, ChatRequest(prompt="Hi", temperature=None))
    (sent,) = gemini_stub.requests
    assert "x-goog-api-key" not in sent.headers
    assert sent.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    # the model's own temperature wins; no system prompt → no systemInstruction
    assert sent.json == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
                         "generationConfig": {"temperature": 1.0}}
    provider = make_provider(CONFIG, None)  # kind "gemini" finds this adapter
    assert provider.build_payload(MODEL, ChatRequest(prompt="Hi", temperature=None)) == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    assert isinstance(provider, GeminiProvider)
    assert (provider.kind, provider.reports_usage) == ("gemini", True)


async def test_status_error_over_the_wire(gemini_stub: StubServer) -> None:
    gemini_stub.script = Status(400, API_KEY_INVALID)
    events, err = await collect(at(gemini_stub))
    assert isinstance(err, errors.AuthError) and err.http_status == 400
    assert err.retryable is False  # a wrong key stays wrong


@pytest.mark.parametrize(("script", "cls"), [(cut([gchunk("partial "), gchunk("text")]), errors.StreamCutError),
                                           (stall([gchunk("partial "), gchunk("text")]), errors.ReadTimeoutError)],
                         ids=["disconnect", "read-stall"])
async def test_a_failing_stream_keeps_the_text(gemini_stub: StubServer, script, cls: type) -> None:
    gemini_stub.script = script
    events, err = await collect(at(gemini_stub, read_timeout=0.3))
    assert type(err) is cls
    assert texts(events) == "partial text"


async def test_cancelling_a_stream_closes_its_connection(gemini_stub: StubServer) -> None:
    gemini_stub.script = stall([gchunk("partial answer")])
    got_text = asyncio.Event()

    async def consume(client: httpx.AsyncClient) -> None:
        async for ev in at(gemini_stub).stream(client, MODEL, REQUEST):
            if isinstance(ev, TextDelta):
                got_text.set()

    async with make_client() as client:
        task = asyncio.create_task(consume(client))
        await got_text.wait()
        pool = client._transport._pool  # httpx's connection pool: what is open right now
        assert len(pool.connections) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the half-read response was closed and its connection discarded, not kept for reuse
        assert pool.connections == []


# --- end to end: `workbench ask --json` --------------------------------------------------------


@pytest.fixture
def ask_json(gemini_stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture,
             monkeypatch: pytest.MonkeyPatch) -> Callable[[], tuple[int, dict, str]]:
    """`workbench ask --json -m g-flash` against the stub: (exit code, JSON output, all output)."""
    monkeypatch.setenv("G_KEY", KEY)
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[providers.g]\nkind = "gemini"\nbase_url = "{gemini_stub.base_url}"\napi_key_env = "G_KEY"\n\n'
        '[[models]]\nid = "g-flash"\nprovider = "g"\nname = "Gemini Flash"\nmodel = "gemini-2.5-flash"\n'
        "input_per_m = 1.25\ncached_input_per_m = 0.3125\noutput_per_m = 10\n",
        "utf-8",
    )

    def ask() -> tuple[int, dict, str]:
        code = main(["ask", "--json", "-m", "g-flash", "Write f."])
        out = capsys.readouterr()
        return code, json.loads(out.out), out.out + out.err

    return ask


def test_ask_json_exact_usage_and_cost(gemini_stub: StubServer, ask_json) -> None:
    gemini_stub.script = SSE([
        gchunk("def ", thought="Think.", version="gemini-2.5-flash-preview-05-20",
               usage={"promptTokenCount": 1000, "totalTokenCount": 1000}),
        gchunk("f(): pass", finish="STOP", version="gemini-2.5-flash-preview-05-20",
               usage={"promptTokenCount": 1000, "cachedContentTokenCount": 800, "candidatesTokenCount": 50,
                      "thoughtsTokenCount": 150, "totalTokenCount": 1200}),
    ])
    code, data, output = ask_json()
    assert code == 0
    (result,) = data["results"]
    assert (result["status"], result["text"], result["reasoning"]) == ("ok", "def f(): pass", "Think.")
    assert result["served_model"] == "gemini-2.5-flash-preview-05-20"
    assert (result["input_tokens"], result["output_tokens"], result["reasoning_tokens"]) == (1000, 200, 150)
    assert result["tokens_exact"] is True and result["finish_reason"] == "STOP"
    # 200 uncached × 1.25 + 800 cached × 0.3125 + 200 output × 10, per million
    assert Decimal(str(result["cost_usd"])) == Decimal("0.0025")
    store = open_store(paths.store_file())
    try:
        row = get_answer(store, result["answer_id"])
    finally:
        store.close()
    assert row.cost_usd == Decimal("0.0025")
    assert gemini_stub.requests[0].headers["x-goog-api-key"] == KEY
    assert KEY not in output


def test_ask_json_mid_stream_error_is_interrupted_with_a_short_message(gemini_stub: StubServer, ask_json) -> None:
    gemini_stub.script = SSE([CAPTURED_FIRST, CAPTURED_ERROR])
    code, data, _ = ask_json()
    assert code == 1
    (result,) = data["results"]
    assert (result["status"], result["text"]) == ("interrupted", "Okay")
    assert result["error"] == {"kind": "stream_error", "http_status": None,
                               "message": "Gemini reported an error mid-stream (UNAVAILABLE): "
                                          "The model is overloaded. Please try again later."}

