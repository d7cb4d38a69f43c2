"""The OpenAI-compatible adapter, driven through httpx.MockTransport (PROTOCOLS §1, §5.1, §10)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from servers.openai_stub import DONE, chunk, event, usage_chunk
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import ReasoningDelta, ServedModel, StreamEnd, TextDelta, UsageReport
from workbench.providers.openai import OpenAIProvider

KEY = "sk-test-0123456789abcdef"
CONFIG = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
MODEL = ModelInfo(id="m1", provider="gw", name="M1", upstream="upstream-m1")
REQUEST = ChatRequest(prompt="Write fizzbuzz.", system="Be brief.", temperature=0.3, max_tokens=256)


def sse_response(items: list[bytes], status: int = 200, headers: dict | None = None,
                 fail_with: Exception | None = None) -> httpx.Response:
    async def body():
        for item in items:
            yield item
        if fail_with is not None:
            raise fail_with

    hdrs = {"content-type": "text/event-stream", **(headers or {})}
    return httpx.Response(status, headers=hdrs, content=body())


async def run(handler: Callable[[httpx.Request], httpx.Response], *, key: str | None = KEY,
              model: ModelInfo = MODEL, request: ChatRequest = REQUEST):
    """(events, error) of one stream; ``error`` is the ProviderError raised, if any."""
    seen: list = []
    provider = OpenAIProvider(CONFIG, key)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            async for ev in provider.stream(client, model, request):
                seen.append(ev)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def texts(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reply(items, **kw):
    return lambda request: sse_response(items, **kw)


async def test_text_deltas_in_order_and_stream_end() -> None:
    items = [chunk("", role="assistant"), chunk("Hello"), chunk(", "), chunk("world"), chunk(finish="stop"), DONE]
    events, err = await run(reply(items))
    assert err is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", ", ", "world"]
    assert events[-1] == StreamEnd("stop")


async def test_text_split_mid_character_across_reads() -> None:
    raw = b"".join([chunk("naïve — 漢字 🙂"), chunk(finish="stop"), DONE])
    pieces = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    events, err = await run(reply(pieces))
    assert err is None
    assert texts(events) == "naïve — 漢字 🙂"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_fields(field: str) -> None:
    items = [chunk(reasoning="Let me think", reasoning_field=field),
             chunk(reasoning=" more.", reasoning_field=field), chunk("Answer."), chunk(finish="stop"), DONE]
    events, err = await run(reply(items))
    assert err is None
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["Let me think", " more."]
    assert texts(events) == "Answer."


async def test_null_and_empty_fields_yield_nothing() -> None:
    obj = {"model": "x", "choices": [{"index": 0, "delta": {"content": None, "reasoning_content": None}}]}
    items = [event(obj), event({"model": "x", "choices": [{"index": 0, "delta": {"content": ""}}]}),
             chunk("x", model="x"), chunk(finish="stop", model="x"), DONE]
    events, err = await run(reply(items))
    assert err is None
    assert [type(e).__name__ for e in events] == ["ServedModel", "TextDelta", "StreamEnd"]


async def test_usage_chunk_with_cached_and_reasoning_tokens() -> None:
    usage = usage_chunk(120, 50, prompt_tokens_details={"cached_tokens": 100},
                        completion_tokens_details={"reasoning_tokens": 30})
    events, err = await run(reply([chunk("ok"), chunk(finish="stop"), usage, DONE]))
    assert err is None
    reports = [e for e in events if isinstance(e, UsageReport)]
    assert reports == [UsageReport(input_tokens=120, output_tokens=50, reasoning_tokens=30,
                                   cached_input_tokens=100, cost_usd=None)]


async def test_deepseek_prompt_cache_hit_tokens() -> None:
    usage = usage_chunk(6, 92, prompt_tokens_details={"cached_tokens": 0},
                        completion_tokens_details={"reasoning_tokens": 81},
                        prompt_cache_hit_tokens=4, prompt_cache_miss_tokens=2)
    events, _ = await run(reply([chunk("ok"), chunk(finish="stop"), usage, DONE]))
    (report,) = [e for e in events if isinstance(e, UsageReport)]
    assert report.cached_input_tokens == 4
    assert (report.input_tokens, report.output_tokens, report.reasoning_tokens) == (6, 92, 81)


async def test_openrouter_usage_cost() -> None:
    usage = usage_chunk(194, 2, cost=0.00095, prompt_tokens_details={"cached_tokens": 0, "cache_write_tokens": 100})
    events, _ = await run(reply([chunk("ok"), chunk(finish="stop"), usage]))
    (report,) = [e for e in events if isinstance(e, UsageReport)]
    assert report.cost_usd == "0.00095"
    assert report.input_tokens == 194


async def test_usage_on_the_finish_chunk_like_old_llama_cpp() -> None:
    finish = chunk(finish="stop", usage={"prompt_tokens": 1085, "completion_tokens": 247, "total_tokens": 1332})
    events, err = await run(reply([chunk("hi"), finish]))
    assert err is None
    (report,) = [e for e in events if isinstance(e, UsageReport)]
    assert (report.input_tokens, report.output_tokens) == (1085, 247)
    assert events[-1] == StreamEnd("stop")


async def test_served_model_is_reported_once_per_change() -> None:
    items = [chunk("a", model="gpt-4o-2024-08-06"), chunk("b", model="gpt-4o-2024-08-06"),
             chunk(finish="stop", model="gpt-4o-2024-08-06"), DONE]
    events, _ = await run(reply(items))
    assert [e for e in events if isinstance(e, ServedModel)] == [ServedModel("gpt-4o-2024-08-06")]


async def test_missing_done_with_finish_reason_is_ok() -> None:
    events, err = await run(reply([chunk("all"), chunk(finish="length")]))
    assert err is None
    assert texts(events) == "all"
    assert events[-1] == StreamEnd("length")


async def test_missing_done_and_finish_reason_is_a_cut() -> None:
    events, err = await run(reply([chunk("partial "), chunk("answer")]))
    assert isinstance(err, errors.StreamCutError)
    assert err.kind == "cut_off"
    assert texts(events) == "partial answer"


async def test_connection_dropped_mid_stream_is_a_cut() -> None:
    handler = reply([chunk("partial")], fail_with=httpx.RemoteProtocolError("peer closed connection"))
    events, err = await run(handler)
    assert isinstance(err, errors.StreamCutError)
    assert "mid-stream" in err.message
    assert texts(events) == "partial"


async def test_error_event_mid_stream() -> None:
    err_event = event({"error": {"message": "Provider disconnected unexpectedly", "type": "server_error"}})
    events, err = await run(reply([chunk("par"), chunk("tial"), err_event, chunk("never"), DONE]))
    assert isinstance(err, errors.StreamErrorEvent)
    assert "Provider disconnected unexpectedly" in err.message
    assert texts(events) == "partial"


async def test_openrouter_finish_reason_error() -> None:
    obj = {"model": "m", "error": {"code": "server_error", "message": "Upstream died"},
           "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
    _, err = await run(reply([chunk("x"), event(obj)]))
    assert isinstance(err, errors.StreamErrorEvent)
    assert "Upstream died" in err.message


async def test_error_json_outside_sse_after_the_stream() -> None:
    raw = [chunk("x"), b'{"error": {"message": "context length exceeded"}}\n']
    _, err = await run(reply(raw))
    assert isinstance(err, errors.StreamErrorEvent)
    assert "context length exceeded" in err.message


async def test_malformed_json_is_a_decode_error() -> None:
    events, err = await run(reply([chunk("ok"), b"data: {not json\n\n", DONE]))
    assert isinstance(err, errors.DecodeError)
    assert err.kind == "decode"
    assert "{not json" in err.message
    assert texts(events) == "ok"


async def test_non_object_json_is_a_decode_error() -> None:
    _, err = await run(reply([b"data: [1, 2]\n\n", DONE]))
    assert isinstance(err, errors.DecodeError)


async def test_keepalives_and_empty_data_are_skipped() -> None:
    items = [b": keep-alive\n\n", b"data:\n\n", b"data:   \n\n", chunk("x"), b": ping\r\n\r\n",
             chunk(finish="stop"), DONE]
    events, err = await run(reply(items))
    assert err is None
    assert texts(events) == "x"


def status_handler(status: int, body: bytes | str, content_type: str = "application/json", headers=None):
    def handler(request: httpx.Request) -> httpx.Response:
        hdrs = {"content-type": content_type, **(headers or {})}
        return httpx.Response(status, headers=hdrs, content=body if isinstance(body, bytes) else body.encode())
    return handler


def oai_error(message: str, code: str | None = None) -> str:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}})


@pytest.mark.parametrize(("status", "cls", "kind"), [
    (401, errors.AuthError, "auth"),
    (403, errors.AuthError, "auth"),
    (404, errors.NotFoundError, "not_found"),
    (400, errors.HTTPStatusError, "http"),
    (500, errors.ServerError, "server"),
    (503, errors.ServerError, "server"),
])
async def test_http_status_maps_to_typed_error(status: int, cls: type, kind: str) -> None:
    events, err = await run(status_handler(status, oai_error("Something specific went wrong")))
    assert events == []
    assert type(err) is cls
    assert err.kind == kind
    assert err.http_status == status
    assert err.as_dict() == {"kind": kind, "message": err.message, "http_status": status}
    assert f"HTTP {status}" in err.message
    assert "Something specific went wrong" in err.message
    assert "\n" not in err.message


async def test_404_for_a_model_names_the_model() -> None:
    _, err = await run(status_handler(404, oai_error("The model `upstream-m1` does not exist", "model_not_found")))
    assert isinstance(err, errors.NotFoundError)
    assert "upstream-m1" in err.message


async def test_404_without_model_hints_at_base_url() -> None:
    _, err = await run(status_handler(404, "Not Found", "text/plain"))
    assert isinstance(err, errors.NotFoundError)
    assert "base_url" in err.message


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "7"}, 7.0),
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({}, None),
])
async def test_429_carries_retry_after(headers: dict, expected: float | None) -> None:
    handler = status_handler(429, oai_error("Rate limit reached for requests"), headers=headers)
    _, err = await run(handler)
    assert isinstance(err, errors.RateLimitError)
    assert err.kind == "rate_limited"
    assert err.retry_after == expected
    assert "Rate limit reached" in err.message


async def test_html_error_page_gives_a_short_message() -> None:
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head>"
            "<body><h1>Bad Gateway</h1>" + "<p>lorem ipsum</p>" * 500 + "</body></html>")
    _, err = await run(status_handler(502, page, "text/html; charset=utf-8"))
    assert isinstance(err, errors.ServerError)
    assert "HTML error page" in err.message
    assert "502 Bad Gateway" in err.message
    assert "<" not in err.message and "lorem" not in err.message
    assert len(err.message) < 200


async def test_long_plain_error_body_is_cut_to_one_short_line() -> None:
    _, err = await run(status_handler(500, "boom\n" * 1000, "text/plain"))
    assert isinstance(err, errors.ServerError)
    assert "\n" not in err.message
    assert len(err.message) <= 250


async def test_key_echoed_in_error_body_is_redacted() -> None:
    body = oai_error(f"Incorrect API key provided: {KEY}. Header was 'Authorization: Bearer {KEY}'")
    _, err = await run(status_handler(401, body))
    assert isinstance(err, errors.AuthError)
    assert KEY not in err.message
    assert "[redacted]" in err.message


async def test_key_echoed_in_mid_stream_error_is_redacted() -> None:
    _, err = await run(reply([event({"error": {"message": f"bad key {KEY}"}})]))
    assert isinstance(err, errors.StreamErrorEvent)
    assert KEY not in err.message


async def test_key_echoed_in_a_malformed_event_is_redacted() -> None:
    _, err = await run(reply([f"data: {{oops {KEY}\n\n".encode()]))
    assert isinstance(err, errors.DecodeError)
    assert KEY not in err.message


async def test_payload_and_headers() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return sse_response([chunk("x"), chunk(finish="stop"), DONE])

    await run(handler)
    (request,) = captured
    assert request.method == "POST"
    assert str(request.url) == "https://gw.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "text/event-stream" in request.headers["accept"]
    body = json.loads(request.content)
    assert body["model"] == "upstream-m1"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 256
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Write fizzbuzz."}]


def test_payload_omits_unset_options_and_model_temperature_wins() -> None:
    provider = OpenAIProvider(CONFIG, None)
    payload = provider.build_payload(MODEL, ChatRequest(prompt="hi", temperature=None))
    assert "temperature" not in payload and "max_tokens" not in payload
    assert payload["messages"] == [{"role": "user", "content": "hi"}]
    hot = ModelInfo(id="m2", provider="gw", name="M2", upstream="u2", temperature=1.0)
    assert provider.build_payload(hot, ChatRequest(prompt="hi", temperature=0.2))["temperature"] == 1.0


async def test_no_key_sends_no_authorization_header() -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return sse_response([chunk("x"), chunk(finish="stop")])

    _, err = await run(handler, key=None)
    assert err is None
    assert "authorization" not in captured[0].headers


async def test_server_ignoring_stream_sends_one_json_completion() -> None:
    body = {"model": "served-x", "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "Whole answer",
                                                          "reasoning_content": "thought"}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}
    events, err = await run(status_handler(200, json.dumps(body)))
    assert err is None
    assert texts(events) == "Whole answer"
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["thought"]
    assert ServedModel("served-x") in events
    assert any(isinstance(e, UsageReport) and e.input_tokens == 9 for e in events)
    assert events[-1] == StreamEnd("stop")


@pytest.mark.parametrize(("exc", "cls", "needle"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), errors.ConnectError, "refused"),
    (httpx.ConnectError("[Errno -2] Name or service not known"), errors.ConnectError, "unknown host"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), errors.ConnectError, "TLS"),
    (httpx.ConnectTimeout("timed out"), errors.ConnectError, "timed out"),
    (httpx.ReadTimeout("timed out"), errors.ReadTimeoutError, "read timeout"),
])
async def test_transport_failures_before_the_body(exc: Exception, cls: type, needle: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    events, err = await run(handler)
    assert events == []
    assert type(err) is cls
    assert needle in err.message


async def test_key_near_the_cut_of_a_long_error_message_does_not_leak_in_part() -> None:
    # The message is cut to one short line; a key straddling the cut must not survive in part.
    for filler in range(170, 200, 3):
        _, err = await run(status_handler(401, oai_error("x" * filler + f" key {KEY} rejected")))
        assert isinstance(err, errors.AuthError)
        assert KEY[:10] not in err.message, filler


async def test_mid_stream_error_message_is_one_short_line() -> None:
    long = "Traceback (most recent call last):\n" + "  File \"x.py\", line 1\n" * 200
    _, err = await run(reply([chunk("x"), event({"error": {"message": long}})]))
    assert isinstance(err, errors.StreamErrorEvent)
    assert "\n" not in err.message
    assert len(err.message) <= 250


async def test_stray_error_json_is_cut_to_a_short_line() -> None:
    raw = [chunk("x"), b'{"error": {"message": "' + b"y" * 5000 + b'"}}\n']
    _, err = await run(reply(raw))
    assert isinstance(err, errors.StreamErrorEvent)
    assert len(err.message) <= 250
