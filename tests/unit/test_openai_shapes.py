"""The OpenAI adapter given valid JSON of odd shapes: a typed error or a skipped field, never a crash."""

from __future__ import annotations

import json

import httpx
import pytest

from servers.openai_stub import DONE, chunk
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import StreamEnd, TextDelta, UsageReport
from workbench.providers.openai import OpenAIProvider

CONFIG = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1")
MODEL = ModelInfo(id="m", provider="gw", name="M", upstream="m")


async def stream(body: bytes, content_type: str = "text/event-stream"):
    transport = httpx.MockTransport(lambda r: httpx.Response(200, headers={"content-type": content_type}, content=body))
    events = []
    async with httpx.AsyncClient(transport=transport) as client:
        try:
            async for ev in OpenAIProvider(CONFIG, None).stream(client, MODEL, ChatRequest(prompt="x")):
                events.append(ev)
        except errors.ProviderError as exc:
            return events, exc
    return events, None


def data(obj) -> bytes:
    return f"data: {json.dumps(obj)}\n\n".encode()


@pytest.mark.parametrize("obj", [
    {"choices": [{"index": 0, "delta": "text instead of an object"}]},
    {"choices": [{"index": 0, "delta": ["a", "list"]}]},
], ids=["delta-str", "delta-list"])
async def test_unexpected_shape_is_a_decode_error(obj) -> None:
    events, err = await stream(chunk("before") + data(obj) + DONE)
    assert isinstance(err, errors.DecodeError)
    assert "unexpected" in err.message
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["before"]


@pytest.mark.parametrize(("usage", "expected"), [
    ({"prompt_tokens": 3, "completion_tokens": "many"}, UsageReport(3, 0)),
    ({"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": []}, UsageReport(3, 2)),
    ({"prompt_tokens": 3, "completion_tokens": 2, "completion_tokens_details": 7}, UsageReport(3, 2)),
    ({"prompt_tokens": 3, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": "x"}}, UsageReport(3, 2)),
    ({"prompt_tokens": True, "completion_tokens": 2}, UsageReport(None, 2)),
    ({"prompt_tokens": 3, "completion_tokens": 2, "completion_tokens_details": None,
      "prompt_tokens_details": None}, UsageReport(3, 2)),
], ids=["str-count", "details-list", "details-int", "cached-str", "bool-count", "details-null"])
async def test_odd_usage_values_are_skipped_and_the_answer_is_kept(usage, expected) -> None:
    body = chunk("answer") + chunk(finish="stop") + data({"choices": [], "usage": usage}) + DONE
    events, err = await stream(body)
    assert err is None
    assert [e for e in events if isinstance(e, UsageReport)] == [expected]
    assert events[-1] == StreamEnd("stop")


async def test_infinite_count_is_skipped() -> None:
    body = chunk("a") + chunk(finish="stop") + b'data: {"choices": [], "usage": {"prompt_tokens": Infinity, ' \
        b'"completion_tokens": NaN}}\n\n' + DONE
    events, err = await stream(body)
    assert err is None
    assert [e for e in events if isinstance(e, UsageReport)] == [UsageReport(None, 0)]


@pytest.mark.parametrize("obj", [
    {"choices": "abc"},
    {"choices": [None, 5]},
    {"model": 5, "choices": []},
    {"choices": [{"index": 1, "delta": {"content": "other choice"}}]},
], ids=["choices-str", "choices-junk", "model-int", "index-1"])
async def test_ignorable_shapes_yield_nothing(obj) -> None:
    events, err = await stream(data(obj) + chunk("x") + chunk(finish="stop") + DONE)
    assert err is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["x"]


async def test_whole_json_response_with_odd_message() -> None:
    body = json.dumps({"choices": [{"index": 0, "message": "just a string", "finish_reason": "stop"}]}).encode()
    events, err = await stream(body, "application/json")
    assert err is None
    assert events == [StreamEnd("stop")]


async def test_whole_response_that_is_not_json() -> None:
    _, err = await stream(b"<html>oops</html>", "application/json")
    assert isinstance(err, errors.DecodeError)


async def test_html_page_with_200_is_a_clear_error() -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head><body>" + b"<p>x</p>" * 999
    events, err = await stream(page, "text/html; charset=utf-8")
    assert events == []
    assert isinstance(err, errors.DecodeError)
    assert "HTML" in err.message and "Sign in to Wi-Fi" in err.message
    assert "<" not in err.message


async def test_plain_text_instead_of_sse_is_named() -> None:
    _, err = await stream(b"upstream connect error or disconnect/reset before headers\n", "text/plain")
    assert isinstance(err, errors.DecodeError)
    assert "upstream connect error" in err.message


async def test_plain_text_with_a_key_is_redacted() -> None:
    key = "sk-live-abcdef0123456789"
    transport = httpx.MockTransport(lambda r: httpx.Response(200, headers={"content-type": "text/plain"},
                                                             content=f"bad auth Bearer {key}\n".encode()))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(errors.DecodeError) as info:
            async for _ in OpenAIProvider(CONFIG, key).stream(client, MODEL, ChatRequest(prompt="x")):
                pass
    assert key not in info.value.message


async def test_events_then_cut_is_still_a_cut_not_junk() -> None:
    _, err = await stream(chunk("partial") + b"garbage line\n")
    assert isinstance(err, errors.StreamCutError)
