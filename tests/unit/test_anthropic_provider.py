"""The Anthropic Messages adapter against a local server speaking its event stream (PROTOCOLS §2, §10).

Streams come from ``servers.anthropic_fixtures``: the SDK's captured payloads byte for byte, and
builders for the edge cases. Every test talks HTTP to 127.0.0.1; none reaches the internet.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from servers.anthropic_fixtures import (
    BASIC_RESPONSE,
    MESSAGE_STOP,
    OVERLOADED_EVENT,
    PING,
    AnthropicStub,
    anthropic_error,
    anthropic_stub,  # noqa: F401  (a fixture)
    block_start,
    block_stop,
    ev,
    message,
    message_delta,
    message_start,
    text_delta,
    thinking_delta,
)
from servers.openai_stub import SSE, Status, cut, stall
from workbench import paths
from workbench.cli import main
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider
from workbench.providers.base import make_provider
from workbench.providers.events import ReasoningDelta, RetryNotice, ServedModel, StreamEnd, TextDelta, UsageReport
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.store import open_store
from workbench.store.answers import get_answer
from workbench.tokens import TokenCounter

KEY = "sk-ant-test-0123456789abcdef"
MODEL = ModelInfo(id="claude", provider="ant", name="Claude", upstream="claude-upstream-1")
REQUEST = ChatRequest(prompt="Write fizzbuzz.", system="Be brief.", temperature=0.3, max_tokens=256)


def config_at(base_url: str, **kw) -> ProviderConfig:
    return ProviderConfig(name="ant", kind="anthropic", base_url=base_url, api_key_env="ANT_KEY", **kw)


async def run(stub: AnthropicStub, *, key: str | None = KEY, request: ChatRequest = REQUEST, **config_kw):
    """(events, error) of one stream; ``error`` is the ProviderError raised, if any."""
    seen: list = []
    provider = AnthropicProvider(config_at(stub.base_url, **config_kw), key)
    async with httpx.AsyncClient() as client:
        try:
            async for event in provider.stream(client, MODEL, request):
                seen.append(event)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def texts(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def usages(events) -> list[UsageReport]:
    return [e for e in events if isinstance(e, UsageReport)]


# --- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n", b"\r"])
async def test_sdk_basic_response_without_final_blank_line(anthropic_stub: AnthropicStub, ending: bytes) -> None:
    # The SDK fixture ends right after message_stop's data line: that event must still count.
    assert not BASIC_RESPONSE.endswith(b"\n")
    anthropic_stub.script = SSE([BASIC_RESPONSE + ending])
    events, err = await run(anthropic_stub)
    assert err is None
    assert events == [
        ServedModel("claude-3-opus-latest"),
        TextDelta("Hello"), TextDelta(" there"), TextDelta("!"),
        UsageReport(input_tokens=11, output_tokens=6, reasoning_tokens=None, cached_input_tokens=0),
        StreamEnd("end_turn"),
    ]


async def test_crlf_line_endings(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([BASIC_RESPONSE.replace(b"\n", b"\r\n") + b"\r\n\r\n"])
    events, err = await run(anthropic_stub)
    assert err is None and texts(events) == "Hello there!" and events[-1] == StreamEnd("end_turn")


async def test_bytes_split_mid_line_and_mid_character(anthropic_stub: AnthropicStub) -> None:
    raw = b"".join(message("naïve — 漢字 🙂", output_tokens=9))
    anthropic_stub.script = SSE([raw[i:i + 3] for i in range(0, len(raw), 3)])
    events, err = await run(anthropic_stub)
    assert err is None
    assert texts(events) == "naïve — 漢字 🙂"
    assert usages(events)[0].output_tokens == 9


async def test_thinking_block_then_text_block(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([
        message_start(), block_start(0, "thinking"), thinking_delta("Let me solve"), thinking_delta(" it."),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        block_stop(0), block_start(1), text_delta("42", 1), block_stop(1), message_delta(20), MESSAGE_STOP,
    ])
    events, err = await run(anthropic_stub)
    assert err is None
    assert [e for e in events if isinstance(e, (TextDelta, ReasoningDelta))] == [
        ReasoningDelta("Let me solve"), ReasoningDelta(" it."), TextDelta("42")]


async def test_usage_in_message_delta_is_cumulative_and_reported_once_at_the_end(
        anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([
        message_start(input_tokens=40, output_tokens=3), block_start(0), text_delta("a"),
        message_delta(5, stop_reason=None), text_delta("b"), message_delta(12), MESSAGE_STOP,
    ])
    events, err = await run(anthropic_stub)
    assert err is None
    # 12 is the total: not 3 + 5 + 12, not 5 + 12, not message_start's placeholder 3.
    assert usages(events) == [UsageReport(input_tokens=40, output_tokens=12, cached_input_tokens=0)]
    assert isinstance(events[-2], UsageReport) and events[-1] == StreamEnd("end_turn")


async def test_cache_reads_and_writes_are_billable_input(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE(message("ok", input_tokens=20, output_tokens=4,
                                        cache_creation_input_tokens=1000, cache_read_input_tokens=3000))
    events, err = await run(anthropic_stub)
    assert err is None
    assert usages(events) == [UsageReport(input_tokens=4020, output_tokens=4, cached_input_tokens=3000,
                                          cache_write_tokens=1000)]


async def test_pings_unknown_events_and_unknown_deltas_are_ignored(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([
        PING, message_start(), PING, block_start(0), text_delta("Hi"),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "citations_delta", "citation": {"cited_text": "x"}}}),
        ev("brand_new_event", {"type": "brand_new_event", "payload": [1, 2]}),
        block_stop(0),
        ev("content_block_start", {"type": "content_block_start", "index": 1,
                                   "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 1,
                                   "delta": {"type": "input_json_delta", "partial_json": "{\"a\":"}}),
        block_stop(1), b": a comment\n\n", PING, message_delta(8, "tool_use"), MESSAGE_STOP,
    ])
    events, err = await run(anthropic_stub)
    assert err is None
    assert [type(e).__name__ for e in events] == ["ServedModel", "TextDelta", "UsageReport", "StreamEnd"]
    assert events[-1] == StreamEnd("tool_use")


async def test_error_event_mid_stream(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([message_start(), block_start(0), text_delta("par"), text_delta("tial"),
                                 OVERLOADED_EVENT, text_delta("never"), MESSAGE_STOP])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.StreamErrorEvent)
    assert err.kind == "stream_error"
    assert "overloaded_error" in err.message and "Overloaded" in err.message
    assert texts(events) == "partial"
    assert usages(events) == []  # output so far is unknown: the meter keeps its estimate


async def test_missing_message_stop_is_a_cut_that_keeps_the_text(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([message_start(), block_start(0), text_delta("partial "), text_delta("answer")])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.StreamCutError)
    assert err.kind == "cut_off"
    assert texts(events) == "partial answer"
    assert usages(events) == [] and not any(isinstance(e, StreamEnd) for e in events)


async def test_missing_message_stop_after_message_delta_keeps_the_billed_usage(
        anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE(message("all of it", input_tokens=30, output_tokens=9, stop=False))
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.StreamCutError)
    assert texts(events) == "all of it"
    assert usages(events) == [UsageReport(input_tokens=30, output_tokens=9, cached_input_tokens=0)]


@pytest.mark.parametrize(("script", "says"), [
    (SSE([message_start(), block_start(0), text_delta("so far"),
          b'event: content_block_delta\ndata: {"type":"content_block_del']), "middle of an event"),
    (cut([message_start(), block_start(0), text_delta("so far")]), "closed mid-stream"),
], ids=["ends-mid-event", "connection-dropped"])
async def test_a_stream_cut_short_keeps_the_text(anthropic_stub: AnthropicStub, script, says: str) -> None:
    anthropic_stub.script = script
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.StreamCutError) and says in err.message
    assert texts(events) == "so far"


async def test_read_stall_after_message_delta_keeps_the_billed_usage(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = stall(message("done", input_tokens=5, output_tokens=2, stop=False))
    events, err = await run(anthropic_stub, read_timeout=0.3)
    assert isinstance(err, errors.ReadTimeoutError)
    assert texts(events) == "done"
    assert usages(events) == [UsageReport(input_tokens=5, output_tokens=2, cached_input_tokens=0)]


async def test_malformed_event_is_a_decode_error_without_the_key(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([message_start(), block_start(0), text_delta("ok"),
                                 f"event: content_block_delta\ndata: {{oops {KEY}\n\n".encode(), MESSAGE_STOP])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.DecodeError)
    assert "{oops" in err.message and KEY not in err.message
    assert texts(events) == "ok"


async def test_unexpected_json_shape_is_a_decode_error(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([message_start(), b'event: message_delta\ndata: [1, 2]\n\n', MESSAGE_STOP])
    _, err = await run(anthropic_stub)
    assert isinstance(err, errors.DecodeError)


async def test_error_json_outside_sse(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([message_start(), block_start(0), text_delta("x"),
                                 b'{"type":"error","error":{"type":"api_error","message":"Internal server error"}}\n'])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.StreamErrorEvent)
    assert "Internal server error" in err.message
    assert texts(events) == "x"


async def test_server_ignoring_stream_sends_one_message(anthropic_stub: AnthropicStub) -> None:
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-served",
            "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "text", "text": "Whole"}],
            "stop_reason": "max_tokens", "usage": {"input_tokens": 9, "cache_read_input_tokens": 1, "output_tokens": 3}}
    anthropic_stub.script = Status(200, body)
    events, err = await run(anthropic_stub)
    assert err is None
    assert events == [ServedModel("claude-served"), ReasoningDelta("hm"), TextDelta("Whole"),
                      UsageReport(input_tokens=10, output_tokens=3, cached_input_tokens=1), StreamEnd("max_tokens")]


@pytest.mark.parametrize(("script", "cls", "says"), [
    (SSE([b"upstream connect error or disconnect/reset before headers\n"]), errors.DecodeError,
     "upstream connect error"),
    (Status(200, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
     errors.StreamErrorEvent, "overloaded_error: Overloaded"),
    (Status(200, "<html><head><title>Sign in to Wi-Fi</title></head></html>", content_type="text/html"),
     errors.DecodeError, "Sign in to Wi-Fi"),
], ids=["plain-text", "error-json", "html-page"])
async def test_a_200_that_is_not_a_stream(anthropic_stub: AnthropicStub, script, cls, says: str) -> None:
    anthropic_stub.script = script
    _, err = await run(anthropic_stub)
    assert type(err) is cls and says in err.message and "<" not in err.message


# --- the request ---------------------------------------------------------------------------


async def test_request_path_headers_and_body_and_no_key_header(anthropic_stub: AnthropicStub) -> None:
    _, err = await run(anthropic_stub)
    assert err is None
    (req,) = anthropic_stub.requests
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["content-type"] == "application/json"
    assert "authorization" not in req.headers
    assert req.json == {
        "model": "claude-upstream-1",
        "max_tokens": 256,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Write fizzbuzz."}],
        "temperature": 0.3,
        "stream": True,
    }
    _, err = await run(anthropic_stub, key=None)
    assert err is None and "x-api-key" not in anthropic_stub.requests[1].headers


def test_the_kind_maps_to_this_adapter_and_payload_defaults() -> None:
    provider = make_provider(config_at("https://api.anthropic.com/v1"), None)
    assert isinstance(provider, AnthropicProvider)
    assert (provider.kind, provider.reports_usage) == ("anthropic", True)
    payload = provider.build_payload(MODEL, ChatRequest(prompt="hi", temperature=None))
    assert payload["max_tokens"] == DEFAULT_MAX_TOKENS
    assert "system" not in payload and "temperature" not in payload
    assert payload["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(("model_t", "request_t", "sent"), [
    (None, 0.7, 0.7), (0.1, 0.9, 0.1), (None, 1.5, 1.0), (2.0, 0.2, 1.0), (None, -0.5, 0.0), (0.0, 0.9, 0.0),
])
def test_temperature_model_wins_and_is_clamped_to_0_1(model_t, request_t, sent) -> None:
    model = ModelInfo(id="c", provider="ant", name="C", upstream="c", temperature=model_t)
    payload = AnthropicProvider(config_at("http://x/v1"), None).build_payload(
        model, ChatRequest(prompt="hi", temperature=request_t))
    assert payload["temperature"] == sent


# --- HTTP errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "error_type", "cls", "kind"), [
    (401, "authentication_error", errors.AuthError, "auth"),
    (403, "permission_error", errors.AuthError, "auth"),
    (404, "not_found_error", errors.NotFoundError, "not_found"),
    (400, "invalid_request_error", errors.HTTPStatusError, "http"),
    (500, "api_error", errors.ServerError, "server"),
    (529, "overloaded_error", errors.ServerError, "server"),
])
async def test_http_status_maps_to_typed_error(anthropic_stub: AnthropicStub, status, error_type, cls, kind) -> None:
    anthropic_stub.script = anthropic_error(status, error_type, "Something specific went wrong")
    events, err = await run(anthropic_stub)
    assert events == []
    assert type(err) is cls
    assert (err.kind, err.http_status) == (kind, status)
    assert err.message.startswith(f"HTTP {status}")
    assert "Something specific went wrong" in err.message
    assert "{" not in err.message and "\n" not in err.message


async def test_404_for_a_model_names_it_and_a_bare_404_hints_at_base_url(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = anthropic_error(404, "not_found_error", "model: claude-upstream-1")
    _, err = await run(anthropic_stub)
    assert "claude-upstream-1" in err.message and "base_url" not in err.message
    anthropic_stub.script = Status(404, "Not Found", content_type="text/plain")
    _, err = await run(anthropic_stub)
    assert isinstance(err, errors.NotFoundError) and "base_url" in err.message


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5), ({}, None)])
@pytest.mark.parametrize(("status", "error_type", "message"), [
    (429, "rate_limit_error", "HTTP 429 Too Many Requests: Number of requests has exceeded your rate limit"),
    (503, "api_error", "HTTP 503 Service Unavailable: Number of requests has exceeded your rate limit"),
    (529, "overloaded_error", "HTTP 529 overloaded: Number of requests has exceeded your rate limit"),
])
async def test_every_status_carries_retry_after(anthropic_stub: AnthropicStub, headers, expected,
                                                status, error_type, message) -> None:
    # Not only a 429: an overloaded 529 or a 503 may say when to come back, and the retry
    # policy waits that long instead of its own backoff.
    anthropic_stub.script = anthropic_error(status, error_type, "Number of requests has exceeded your rate limit",
                                            headers=headers)
    _, err = await run(anthropic_stub)
    assert (err.http_status, err.retry_after, err.message) == (status, expected, message)


async def test_html_error_page_gives_a_short_message(anthropic_stub: AnthropicStub) -> None:
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
            + "<p>cloudflare</p>" * 500 + "</body></html>")
    anthropic_stub.script = Status(502, page, content_type="text/html; charset=utf-8")
    _, err = await run(anthropic_stub)
    assert isinstance(err, errors.ServerError)
    assert "HTML error page" in err.message and "502 Bad Gateway" in err.message
    assert "<" not in err.message and "cloudflare" not in err.message and len(err.message) < 200


@pytest.mark.parametrize("script", [
    anthropic_error(401, "authentication_error", f"invalid x-api-key: {KEY}"),
    Status(401, f"bad key {KEY}\n" * 50, content_type="text/plain"),
    anthropic_error(403, "permission_error", "x" * 180 + f" {KEY} is not allowed"),
    SSE([message_start(), ev("error", {"type": "error", "error": {"type": "api_error", "message": f"key {KEY}"}})]),
    SSE([message_start(), f'{{"type":"error","error":{{"message":"key {KEY}"}}}}\n'.encode()]),
    SSE([f"data: {{{KEY}\n\n".encode()]),
    Status(200, {"type": "error", "error": {"type": "api_error", "message": f"key {KEY}"}}),
], ids=["json-401", "text-401", "long-403", "error-event", "stray-json", "malformed", "json-200"])
async def test_the_key_never_appears_in_an_error(anthropic_stub: AnthropicStub, script) -> None:
    anthropic_stub.script = script
    _, err = await run(anthropic_stub)
    assert isinstance(err, errors.ProviderError)
    assert KEY[:12] not in err.message and KEY[-12:] not in err.message
    assert KEY not in repr(err.as_dict())


# --- retries (the runner's policy, providers/retry.py) -----------------------------------------


async def answer(stub: AnthropicStub, **config_kw):
    """One answer through the runner, retries included: (result, the retry notices' texts)."""
    result = new_result(MODEL, config_at(stub.base_url, api_key=KEY, **config_kw), REQUEST, TokenCounter())
    seen: list = []
    async with make_client() as client:
        await stream_answer(client, result, seen.append, rand=lambda: 0.0)
    return result, [e.message for e in seen if isinstance(e, RetryNotice)]


async def test_529_with_retry_after_is_retried_once_then_answers(anthropic_stub: AnthropicStub,
                                                                 instant_retries: list[float]) -> None:
    anthropic_stub.script = [anthropic_error(529, "overloaded_error", "Overloaded", headers={"retry-after": "3"}),
                             SSE(message("Second try.", input_tokens=20, output_tokens=4))]
    result, notices = await answer(anthropic_stub)
    assert result.status is AnswerStatus.OK and result.text == "Second try."
    assert notices == ["529 overloaded — retrying in 3 s (try 2 of 3)"]
    assert instant_retries == [3.0]  # the server's wait, not the 0.5 s backoff
    assert len(anthropic_stub.requests) == 2 and result.retries == 1
    reading = result.reading()  # only the successful try's usage
    assert reading.exact and (reading.input_tokens, reading.output_tokens) == (20, 4)


@pytest.mark.parametrize("reply", [
    anthropic_error(401, "authentication_error", "invalid x-api-key"),
    anthropic_error(403, "permission_error", "Your API key does not have permission"),
    anthropic_error(529, "overloaded_error", "Overloaded", headers={"x-should-retry": "false"}),
], ids=["401", "403", "529-should-not-retry"])
async def test_final_errors_are_sent_once(anthropic_stub: AnthropicStub, instant_retries: list[float],
                                          reply) -> None:
    anthropic_stub.script = [reply, SSE(message("must not be reached"))]
    result, notices = await answer(anthropic_stub)
    assert result.status is AnswerStatus.ERROR and result.error.http_status == reply.status
    assert notices == [] and instant_retries == [] and len(anthropic_stub.requests) == 1


# --- cancellation ----------------------------------------------------------------------------


async def test_leaving_a_stream_closes_its_connection(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = stall([message_start(), block_start(0), text_delta("partial answer")])
    got_text = asyncio.Event()
    seen: list = []
    provider = AnthropicProvider(config_at(anthropic_stub.base_url), KEY)

    async def consume() -> None:
        async for event in provider.stream(client, MODEL, REQUEST):
            seen.append(event)
            if isinstance(event, TextDelta):
                got_text.set()

    async with httpx.AsyncClient() as client:
        task = asyncio.create_task(consume())
        await got_text.wait()
        pool = client._transport._pool  # httpx's connection pool: what is open right now
        assert len(pool.connections) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the half-read response was closed and its connection discarded, not kept for reuse
        assert pool.connections == []
    assert texts(seen) == "partial answer"


# --- end to end: `workbench ask --json` --------------------------------------------------------


def test_ask_json_gets_exact_usage_and_cost(anthropic_stub: AnthropicStub, isolated_home: Path,
                                            capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[providers.claude]\n"
        'kind = "anthropic"\n'
        f'base_url = "{anthropic_stub.base_url}"\n'
        'api_key_env = "WB_TEST_ANTHROPIC_KEY"\n\n'
        "[[models]]\n"
        'id = "sonnet"\nprovider = "claude"\nmodel = "claude-sonnet-stub"\n'
        "input_per_m = 3\noutput_per_m = 15\ncached_input_per_m = 0.3\n", "utf-8")
    monkeypatch.setenv("WB_TEST_ANTHROPIC_KEY", KEY)
    anthropic_stub.script = SSE([
        message_start("claude-sonnet-stub-20260101", input_tokens=100, output_tokens=1,
                      cache_creation_input_tokens=200, cache_read_input_tokens=1000),
        PING, block_start(0, "thinking"), thinking_delta("Think."), block_stop(0),
        block_start(1), text_delta("Hello, "), text_delta("world!", 1), block_stop(1),
        message_delta(20, stop_reason=None), message_delta(50, output_tokens_details={"thinking_tokens": 30}),
        MESSAGE_STOP,
    ])
    code = main(["ask", "--json", "-m", "sonnet", "--temperature", "1.6", "Say hello"])
    out = capsys.readouterr().out
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert (result["status"], result["text"], result["reasoning"]) == ("ok", "Hello, world!", "Think.")
    assert result["served_model"] == "claude-sonnet-stub-20260101"
    assert (result["input_tokens"], result["output_tokens"], result["tokens_exact"]) == (1300, 50, True)
    # 100 uncached input at $3/M, 200 cache writes at 1.25 x $3/M (Anthropic's 5-minute premium: they
    # were counted as plain input before, too low), 1000 cache reads at $0.30/M, 50 output
    # (thinking included) at $15/M.
    expected = (Decimal(100) * 3 + Decimal(200) * Decimal("3.75") + Decimal(1000) * Decimal("0.3")
                + Decimal(50) * 15) / 10**6
    assert result["cost_usd"] == pytest.approx(float(expected))
    store = open_store(paths.store_file())
    try:
        row = get_answer(store, result["answer_id"])
    finally:
        store.close()
    assert row.cost_usd == expected == Decimal("0.0021")
    (req,) = anthropic_stub.requests
    assert req.json["model"] == "claude-sonnet-stub" and req.json["temperature"] == 1.0
    assert req.headers["x-api-key"] == KEY
    assert KEY not in out
