"""The Ollama native adapter (`/api/chat`, NDJSON; PROTOCOLS §4.1, §9, §10).

Byte-exact fixture streams go through httpx.MockTransport, where every item is one network
read; the request, faults, cancellation and `workbench ask --json` go through a real local
server that answers `/api/chat`.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from servers.openai_stub import SSE, Status, StubServer
from workbench.cli import main
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors, ollama
from workbench.providers.base import make_provider
from workbench.providers.events import ReasoningDelta, RetryNotice, ServedModel, StreamEnd, TextDelta, UsageReport
from workbench.providers.ollama import OllamaProvider, api_root
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

KEY = "ol-test-0123456789abcdef"
NDJSON = "application/x-ndjson"
CONFIG = ProviderConfig(name="o", kind="ollama", base_url="http://ollama.test:11434")
MODEL = ModelInfo(id="llama", provider="o", name="Llama", upstream="llama3.2")
REQUEST = ChatRequest(prompt="Write fizzbuzz.", system="Be brief.", temperature=0.3, max_tokens=256)

# Captured in Ollama's docs/api.md (PROTOCOLS §4.1), byte for byte.
DOC_CHUNK = (b'{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":'
             b'{"role":"assistant","content":"The","images":null},"done":false}\n')
DOC_FINAL = (b'{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant",'
             b'"content":""},"done":true,"total_duration":4883583458,"load_duration":1334875,'
             b'"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}\n')
MID_STREAM_ERROR = b'{"error":"an error was encountered while running the model"}\n'


def line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def piece(content: str = "", *, thinking: str | None = None, model: str = "llama3.2") -> bytes:
    message = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    return line({"model": model, "created_at": "2026-08-21T10:00:00Z", "message": message, "done": False})


def final(*, eval_count: int | None = 282, prompt_eval_count: int | None = 26, reason: str | None = "stop",
          **extra) -> bytes:
    obj = {"model": "llama3.2", "created_at": "2026-08-21T10:00:01Z",
           "message": {"role": "assistant", "content": ""}, "done": True, "total_duration": 4883583458, **extra}
    if reason is not None:
        obj["done_reason"] = reason
    if eval_count is not None:
        obj["eval_count"] = eval_count
    if prompt_eval_count is not None:
        obj["prompt_eval_count"] = prompt_eval_count
    return line(obj)


@pytest.fixture(autouse=True)
def _forget_thinking_support() -> Iterator[None]:
    ollama._NO_THINKING.clear()
    yield
    ollama._NO_THINKING.clear()


# --- fixture streams through MockTransport (one item = one read) ---------------------------


def ndjson(items: list[bytes], status: int = 200, content_type: str = NDJSON,
           fail_with: Exception | None = None) -> Callable[[httpx.Request], httpx.Response]:
    async def body():
        for item in items:
            yield item
        if fail_with is not None:
            raise fail_with

    return lambda request: httpx.Response(status, headers={"content-type": content_type}, content=body())


def whole(status: int, body: bytes | str, content_type: str = "application/json", headers=None):
    data = body if isinstance(body, bytes) else body.encode()
    return lambda request: httpx.Response(status, headers={"content-type": content_type, **(headers or {})},
                                          content=data)


async def run(handler, *, key: str | None = None, config: ProviderConfig = CONFIG):
    """(events, error) of one stream; ``error`` is the ProviderError raised, if any."""
    seen: list = []
    provider = OllamaProvider(config, key)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            async for ev in provider.stream(client, MODEL, REQUEST):
                seen.append(ev)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def texts(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def usages(events) -> list[UsageReport]:
    return [e for e in events if isinstance(e, UsageReport)]


async def test_documented_stream_gives_text_served_model_exact_usage_and_end() -> None:
    events, err = await run(ndjson([DOC_CHUNK, piece(" sky"), DOC_FINAL]))
    assert err is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["The", " sky"]
    assert [e for e in events if isinstance(e, ServedModel)] == [ServedModel("llama3.2")]
    assert usages(events) == [UsageReport(input_tokens=26, output_tokens=282)]
    assert events[-1] == StreamEnd(None)  # the captured final line predates done_reason


async def test_thinking_is_reasoning_and_content_is_text() -> None:
    items = [piece(thinking="Let me think"), piece(thinking=" more."), piece("Answer."), final(reason="length")]
    events, err = await run(ndjson(items))
    assert err is None
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["Let me think", " more."]
    assert texts(events) == "Answer."
    assert events[-1] == StreamEnd("length")  # done_reason is the finish reason


async def test_missing_prompt_eval_count_leaves_input_unknown_but_output_exact() -> None:
    events, err = await run(ndjson([piece("hi"), final(prompt_eval_count=None, eval_count=3)]))
    assert err is None
    assert usages(events) == [UsageReport(input_tokens=None, output_tokens=3)]


async def test_cached_prompt_tokens_are_part_of_the_input() -> None:
    events, _ = await run(ndjson([piece("hi"), final(prompt_eval_count=120, prompt_eval_cached_count=100)]))
    assert usages(events) == [UsageReport(input_tokens=120, output_tokens=282, cached_input_tokens=100)]


async def test_missing_eval_count_after_text_is_not_zero_tokens() -> None:
    events, err = await run(ndjson([piece("some text"), final(eval_count=None)]))
    assert err is None
    assert usages(events) == []  # the meter keeps its estimate rather than billing 0
    assert events[-1] == StreamEnd("stop")
    events, _ = await run(ndjson([final(eval_count=None)]))
    assert usages(events) == [UsageReport(input_tokens=26, output_tokens=0)]  # nothing generated: 0 is exact


async def test_error_line_mid_stream_keeps_text() -> None:
    events, err = await run(ndjson([piece("par"), piece("tial"), MID_STREAM_ERROR, piece("never"), final()]))
    assert isinstance(err, errors.StreamErrorEvent)
    assert err.kind == "stream_error"
    assert "an error was encountered while running the model" in err.message
    assert texts(events) == "partial"


async def test_lines_and_characters_split_across_reads() -> None:
    raw = piece("naïve — 漢字 🙂") + piece(thinking="ünïcödé") + final()
    for size in (1, 2, 3, 5, 7):
        events, err = await run(ndjson([raw[i:i + size] for i in range(0, len(raw), size)]))
        assert err is None, size
        assert texts(events) == "naïve — 漢字 🙂", size
        assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["ünïcödé"], size
        assert usages(events) == [UsageReport(input_tokens=26, output_tokens=282)], size


async def test_split_inside_one_emoji() -> None:
    raw = piece("a🙂b")
    cut_at = raw.index("🙂".encode()) + 2  # two of the emoji's four bytes in each read
    events, err = await run(ndjson([raw[:cut_at], raw[cut_at:], final()]))
    assert err is None
    assert texts(events) == "a🙂b"


async def test_blank_lines_and_crlf_are_ignored() -> None:
    items = [b"\n", piece("x").replace(b"\n", b"\r\n"), b"  \r\n\n", piece("y"), final()]
    events, err = await run(ndjson(items))
    assert err is None
    assert texts(events) == "xy"


async def test_one_megabyte_line() -> None:
    big = "x" * (1024 * 1024)
    events, err = await run(ndjson([piece(big), final()]))
    assert err is None
    assert texts(events) == big


async def test_runaway_line_is_a_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ollama, "MAX_LINE", 1000)
    events, err = await run(ndjson([piece("kept"), b'{"model": "' + b"x" * 600, b"x" * 600, b"x" * 600]))
    assert isinstance(err, errors.DecodeError)
    assert texts(events) == "kept"


async def test_missing_done_is_a_cut_keeping_text() -> None:
    events, err = await run(ndjson([piece("partial "), piece("answer")]))
    assert isinstance(err, errors.StreamCutError)
    assert err.kind == "cut_off"
    assert "done" in err.message
    assert texts(events) == "partial answer"


async def test_last_line_without_newline_still_counts() -> None:
    events, err = await run(ndjson([piece("ok"), final().rstrip(b"\n")]))
    assert err is None
    assert events[-1] == StreamEnd("stop")
    events, err = await run(ndjson([piece("ok"), final()[:40]]))  # the body ended mid-line
    assert isinstance(err, errors.StreamCutError)
    assert texts(events) == "ok"


async def test_connection_dropped_mid_stream_is_a_cut() -> None:
    events, err = await run(ndjson([piece("partial")], fail_with=httpx.RemoteProtocolError("peer closed")))
    assert isinstance(err, errors.StreamCutError)
    assert texts(events) == "partial"


@pytest.mark.parametrize("bad", [b"{not json\n", b"[1, 2]\n", b'{"message": "text", "done": false}\n'])
async def test_malformed_line_is_a_decode_error_keeping_text(bad: bytes) -> None:
    events, err = await run(ndjson([piece("ok"), bad, piece("never"), final()]))
    assert isinstance(err, errors.DecodeError), bad
    assert err.kind == "decode"
    assert "\n" not in err.message and len(err.message) < 160
    assert texts(events) == "ok"
    _, err = await run(ndjson([b"{not json " + b"z" * 5000 + b"\n"]))
    assert "{not json" in err.message and len(err.message) < 160  # quoted, briefly


async def test_html_with_200_and_sse_with_200_are_decode_errors() -> None:
    page = "<!DOCTYPE html><html><head><title>Captive portal</title></head><body>" + "<p>x</p>" * 500
    _, err = await run(whole(200, page, "text/html"))
    assert isinstance(err, errors.DecodeError)
    assert "Captive portal" in err.message and "<" not in err.message
    _, err = await run(ndjson([b'data: {"choices": []}\n\n'], content_type="text/event-stream"))
    assert isinstance(err, errors.DecodeError)
    assert 'kind = "openai"' in err.message


# --- HTTP errors -----------------------------------------------------------------------------


async def test_404_model_not_found_names_the_model_and_how_to_pull_it() -> None:
    _, err = await run(whole(404, '{"error":"model \'llama3.2\' not found"}'))
    assert type(err) is errors.NotFoundError
    assert (err.kind, err.http_status) == ("not_found", 404)
    assert "model 'llama3.2' not found" in err.message
    assert "ollama pull llama3.2" in err.message


async def test_404_of_a_wrong_path_hints_at_the_base_url() -> None:
    _, err = await run(whole(404, "404 page not found", "text/plain"))
    assert isinstance(err, errors.NotFoundError)
    assert "base_url" in err.message


@pytest.mark.parametrize(("status", "cls"), [(400, errors.HTTPStatusError), (401, errors.AuthError),
                                             (429, errors.RateLimitError), (500, errors.ServerError),
                                             (502, errors.ServerError)])
async def test_json_error_bodies(status: int, cls: type) -> None:
    body = '{"error": "the model failed to generate a response"}'
    _, err = await run(whole(status, body, headers={"retry-after": "3"}))
    assert type(err) is cls
    assert err.http_status == status
    assert err.retry_after == 3.0  # on every status: a 503 while a model loads may say when to come back
    assert f"HTTP {status}" in err.message and "the model failed to generate a response" in err.message


async def test_html_error_page_is_one_short_line() -> None:
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
            + "<p>lorem ipsum</p>" * 500 + "</body></html>")
    _, err = await run(whole(502, page, "text/html; charset=utf-8"))
    assert isinstance(err, errors.ServerError)
    assert "HTML error page" in err.message and "502 Bad Gateway" in err.message
    assert "<" not in err.message and "lorem" not in err.message and len(err.message) < 200


async def test_key_never_appears_in_messages() -> None:
    echoes = [
        whole(401, json.dumps({"error": f"bad key {KEY}; header was Authorization: Bearer {KEY}"})),
        ndjson([piece("x"), line({"error": f"upstream rejected {KEY}"})]),
        ndjson([f"{{oops {KEY}\n".encode()]),
        whole(500, f"<html><title>denied {KEY}</title></html>", "text/html"),
    ]
    for handler in echoes:
        _, err = await run(handler, key=KEY)
        assert isinstance(err, errors.ProviderError)
        assert KEY not in err.message and KEY[:10] not in err.message, err.message


# --- the request -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/", "/api/chat", "/v1", "/v1/"])
def test_base_url_may_end_in_api_or_v1(suffix: str) -> None:
    assert api_root(f"http://127.0.0.1:11434{suffix}") == "http://127.0.0.1:11434"
    config = ProviderConfig(name="o", kind="ollama", base_url=f"https://host.test/ollama{suffix}")
    assert OllamaProvider(config, None).url == "https://host.test/ollama/api/chat"


def test_payload_omits_unset_options_and_model_temperature_wins() -> None:
    provider = make_provider(CONFIG, None)  # kind "ollama" finds this adapter
    assert isinstance(provider, OllamaProvider)
    assert (provider.kind, provider.reports_usage) == ("ollama", True)
    payload = provider.build_payload(MODEL, ChatRequest(prompt="hi", temperature=None))
    assert payload == {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}],
                       "stream": True, "think": True}
    hot = ModelInfo(id="m2", provider="o", name="M2", upstream="u2", temperature=1.0)
    assert provider.build_payload(hot, ChatRequest(prompt="hi", temperature=0.2))["options"] == {"temperature": 1.0}
    assert "think" not in provider.build_payload(MODEL, REQUEST, think=False)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """The stub answering `POST /api/chat` at the server's root; ``stub.root`` is the base_url."""
    with StubServer(SSE([piece("Hello"), piece("!"), final(eval_count=2)], content_type=NDJSON),
                    routes=("/api/chat",), base_path="",
                    not_found=lambda path: Status(404, "404 page not found")) as server:  # Ollama's router
        yield server


def reply(items: list, **kw) -> SSE:
    return SSE(items, content_type=NDJSON, **kw)


async def stream_from(stub: StubServer, key: str | None = None, read_timeout: float = 300.0):
    config = ProviderConfig(name="o", kind="ollama", base_url=stub.root, read_timeout=read_timeout)
    seen: list = []
    async with httpx.AsyncClient() as client:
        try:
            async for ev in OllamaProvider(config, key).stream(client, MODEL, REQUEST):
                seen.append(ev)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


async def test_request_path_body_and_no_authorization_without_a_key(stub: StubServer) -> None:
    events, err = await stream_from(stub)
    assert err is None and texts(events) == "Hello!"
    (request,) = stub.requests
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert "authorization" not in request.headers
    assert request.json == {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write fizzbuzz."}],
        "stream": True, "think": True, "options": {"temperature": 0.3, "num_predict": 256},
    }


async def test_authorization_is_sent_when_a_key_is_set(stub: StubServer) -> None:
    await stream_from(stub, key=KEY)
    assert stub.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_a_model_that_cannot_think_is_asked_again_without_think(stub: StubServer) -> None:
    stub.script = [Status(400, {"error": '"llama3.2" does not support thinking'}),
                   reply([piece("plain"), final(eval_count=1)])]
    events, err = await stream_from(stub)
    assert err is None and texts(events) == "plain"
    assert [r.json.get("think") for r in stub.requests] == [True, None]
    await stream_from(stub)  # remembered: no second refusal for the same model and server
    assert len(stub.requests) == 3 and "think" not in stub.requests[2].json


async def test_other_400s_are_not_retried(stub: StubServer) -> None:
    stub.script = Status(400, {"error": "invalid options"})
    _, err = await stream_from(stub)
    assert isinstance(err, errors.HTTPStatusError) and "invalid options" in err.message
    assert len(stub.requests) == 1


async def test_real_server_404_model_and_cut(stub: StubServer) -> None:
    stub.script = Status(404, {"error": "model 'llama3.2' not found"})
    _, err = await stream_from(stub)
    assert isinstance(err, errors.NotFoundError) and "model 'llama3.2' not found" in err.message
    stub.script = reply([piece("half an ans")], then="cut")
    events, err = await stream_from(stub)
    assert isinstance(err, errors.StreamCutError)
    assert texts(events) == "half an ans"


async def test_read_stall_is_a_read_timeout(stub: StubServer) -> None:
    stub.script = reply([piece("slow")], then="stall")
    events, err = await stream_from(stub, read_timeout=0.5)
    assert isinstance(err, errors.ReadTimeoutError)
    assert texts(events) == "slow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_connection_refused_is_retried_then_asks_whether_ollama_serve_runs(
        instant_retries: list[float]) -> None:
    port = free_port()
    config = ProviderConfig(name="o", kind="ollama", base_url=f"http://user:{KEY}@127.0.0.1:{port}")
    result = new_result(MODEL, config, REQUEST, TokenCounter())
    seen: list = []
    async with make_client() as client:
        await stream_answer(client, result, seen.append, rand=lambda: 0.0)  # the runner's retry policy
    assert [e.message for e in seen if isinstance(e, RetryNotice)] == [
        "connection refused — retrying in 0.5 s (try 2 of 3)", "connection refused — retrying in 1 s (try 3 of 3)"]
    assert instant_retries == [0.5, 1.0]
    error = result.error
    assert result.status is AnswerStatus.ERROR and isinstance(error, errors.ConnectError)
    assert error.retryable is True  # the transport contract survives the rewording
    assert error.message == f"connection refused by 127.0.0.1:{port} (is `ollama serve` running?)"  # no user:key


async def test_cancelling_a_stream_closes_its_connection(stub: StubServer) -> None:
    stub.script = reply([piece("partial answer")], then="stall")
    config = ProviderConfig(name="o", kind="ollama", base_url=stub.root)
    got_text = asyncio.Event()

    async def consume(client: httpx.AsyncClient) -> None:
        async for ev in OllamaProvider(config, None).stream(client, MODEL, REQUEST):
            if isinstance(ev, TextDelta):
                got_text.set()

    async with httpx.AsyncClient() as client:
        task = asyncio.create_task(consume(client))
        await got_text.wait()
        pool = client._transport._pool  # httpx's connection pool: what is open right now
        assert len(pool.connections) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.connections == []  # closed and discarded, not kept half-read for reuse


# --- end to end: `workbench ask --json` ------------------------------------------------------


def write_config(home: Path, root: str) -> None:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[providers.o]\nkind = "ollama"\nbase_url = "{root}"\n\n'
                    '[[models]]\nid = "llama"\nprovider = "o"\nmodel = "llama3.2"\n'
                    "input_per_m = 0\noutput_per_m = 0\n", "utf-8")


def ask_json(capsys: pytest.CaptureFixture) -> tuple[int, dict]:
    code = main(["ask", "--json", "-m", "llama", "Say hello"])
    return code, json.loads(capsys.readouterr().out)


def test_ask_json_shows_exact_ollama_tokens(stub: StubServer, isolated_home: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    write_config(isolated_home, stub.root)
    stub.script = reply([piece(thinking="Greet."), piece("Hello, "), piece("world!"),
                         final(eval_count=57, prompt_eval_count=31)])
    code, data = ask_json(capsys)
    assert code == 0
    (result,) = data["results"]
    assert (result["status"], result["text"], result["reasoning"]) == ("ok", "Hello, world!", "Greet.")
    assert result["served_model"] == "llama3.2"
    assert (result["input_tokens"], result["output_tokens"], result["tokens_exact"]) == (31, 57, True)
    assert result["cost_usd"] == 0
    assert stub.requests[0].path == "/api/chat"


def test_ask_json_without_prompt_eval_count_keeps_the_input_estimate(stub: StubServer, isolated_home: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    write_config(isolated_home, stub.root + "/v1")  # a copied OpenAI-style URL still works
    stub.script = reply([piece("Hello"), final(eval_count=5, prompt_eval_count=None)])
    code, data = ask_json(capsys)
    assert code == 0
    (result,) = data["results"]
    assert result["output_tokens"] == 5
    assert result["tokens_exact"] is False
    assert isinstance(result["input_tokens"], int) and result["input_tokens"] > 0


def test_ask_json_model_not_found(stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    write_config(isolated_home, stub.root)
    stub.script = Status(404, {"error": "model 'llama3.2' not found"})
    code, data = ask_json(capsys)
    assert code == 1
    (result,) = data["results"]
    assert result["status"] == "error"
    assert (result["error"]["kind"], result["error"]["http_status"]) == ("not_found", 404)
    assert "ollama pull llama3.2" in result["error"]["message"]
