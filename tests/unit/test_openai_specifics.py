"""OpenRouter and DeepSeek on the OpenAI dialect (PROTOCOLS §1.4, §1.6, §1.7, §10): usage
fields, the reported cost to the digit, keep-alive comments, error events on a 200 stream, and
the error bodies the retry policy must read. Payloads are the documented ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from servers.openai_stub import DONE, SSE, StubServer, chunk, event
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import RetryNotice, TextDelta, UsageReport
from workbench.providers.openai import OpenAIProvider
from workbench.providers.retry import is_retryable
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

CONFIG = ProviderConfig(name="or", kind="openai", base_url="https://openrouter.test/api/v1")
MODEL = ModelInfo(id="m", provider="or", name="M", upstream="openai/gpt-4o")
REQUEST = ChatRequest(prompt="hi")

# PROTOCOLS §1.7, openrouter.ai/docs/use-cases/usage-accounting (the last SSE message)
OPENROUTER_USAGE = ('{"object":"chat.completion.chunk","usage":{"completion_tokens":2,"completion_tokens_details":'
                    '{"reasoning_tokens":0},"cost":0.95,"cost_details":{"upstream_inference_cost":19},'
                    '"prompt_tokens":194,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":100,'
                    '"audio_tokens":0},"total_tokens":196}}')
# PROTOCOLS §1.7, the mid-stream error of OpenRouter's docs (HTTP status stays 200)
OPENROUTER_ERROR = ('{"id":"cmpl-abc123","object":"chat.completion.chunk","created":1234567890,'
                    '"model":"openai/gpt-4o","provider":"openai","error":{"code":"server_error",'
                    '"message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":'
                    '{"content":""},"finish_reason":"error"}]}')
# PROTOCOLS §1.6, DeepSeek's usage (deepseek-reasoner)
DEEPSEEK_USAGE = {"prompt_tokens": 6, "completion_tokens": 92, "total_tokens": 98,
                  "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 81},
                  "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 6}


def sse(*items: bytes, status: int = 200, headers: dict | None = None) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": "text/event-stream", **(headers or {})},
                              content=b"".join(items))
    return handler


def status(code: int, body: str, headers: dict | None = None) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, headers={"content-type": "application/json", **(headers or {})},
                              content=body.encode())
    return handler


async def run(handler):
    seen: list = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            async for e in OpenAIProvider(CONFIG, None).stream(client, MODEL, REQUEST):
                seen.append(e)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def usage_of(events) -> UsageReport:
    (report,) = [e for e in events if isinstance(e, UsageReport)]
    return report


def usage_event(usage: dict) -> bytes:
    return event({"object": "chat.completion.chunk", "choices": [], "usage": usage})


# --- usage --------------------------------------------------------------------------------


async def test_openrouter_documented_usage() -> None:
    events, err = await run(sse(chunk("ok"), chunk(finish="stop"), f"data: {OPENROUTER_USAGE}\n\n".encode(), DONE))
    assert err is None
    assert usage_of(events) == UsageReport(input_tokens=194, output_tokens=2, reasoning_tokens=0,
                                           cached_input_tokens=0, cost_usd="0.95")


@pytest.mark.parametrize(("raw", "expected"), [
    ("0.000123456789012345678901", "0.000123456789012345678901"),  # beyond a float's 17 digits
    ("1e-7", "0.0000001"),  # no exponent for the meter's Decimal to misread
    ("0", "0"),
    ("12", "12"),
    ('"0.0042"', "0.0042"),
])
async def test_openrouter_cost_is_kept_to_the_digit(raw: str, expected: str) -> None:
    body = f'data: {{"choices": [], "usage": {{"prompt_tokens": 1, "completion_tokens": 1, "cost": {raw}}}}}\n\n'
    events, _ = await run(sse(chunk("ok"), chunk(finish="stop"), body.encode()))
    assert usage_of(events).cost_usd == expected
    assert Decimal(usage_of(events).cost_usd) == Decimal(raw.strip('"'))


@pytest.mark.parametrize("raw", ['"free"', "-0.5", "NaN", "Infinity", "true", "null", "[1]"])
async def test_a_cost_that_is_not_an_amount_is_left_out(raw: str) -> None:
    body = f'data: {{"choices": [], "usage": {{"prompt_tokens": 3, "completion_tokens": 4, "cost": {raw}}}}}\n\n'
    events, err = await run(sse(chunk("ok"), chunk(finish="stop"), body.encode()))
    assert err is None
    report = usage_of(events)
    assert report.cost_usd is None and (report.input_tokens, report.output_tokens) == (3, 4)


async def test_deepseek_documented_usage() -> None:
    events, _ = await run(sse(chunk("ok"), chunk(finish="stop"), usage_event(DEEPSEEK_USAGE), DONE))
    assert usage_of(events) == UsageReport(input_tokens=6, output_tokens=92, reasoning_tokens=81,
                                           cached_input_tokens=0, cost_usd=None)


async def test_deepseek_cache_hits_without_prompt_tokens_details() -> None:
    usage = {"prompt_tokens": 1200, "completion_tokens": 40, "prompt_cache_hit_tokens": 1024,
             "prompt_cache_miss_tokens": 176}
    events, _ = await run(sse(chunk("ok"), chunk(finish="stop"), usage_event(usage)))
    report = usage_of(events)
    assert (report.input_tokens, report.cached_input_tokens) == (1200, 1024)


async def test_deepseek_input_from_hit_plus_miss_when_prompt_tokens_is_missing() -> None:
    usage = {"completion_tokens": 40, "prompt_cache_hit_tokens": 1024, "prompt_cache_miss_tokens": 176}
    events, _ = await run(sse(chunk("ok"), chunk(finish="stop"), usage_event(usage)))
    assert (usage_of(events).input_tokens, usage_of(events).cached_input_tokens) == (1200, 1024)


async def test_openrouter_cost_reaches_the_meter(openai_stub: StubServer) -> None:
    openai_stub.script = SSE([chunk("ok"), chunk(finish="stop"), f"data: {OPENROUTER_USAGE}\n\n".encode(), DONE])
    provider = ProviderConfig(name="stub", kind="openai", base_url=openai_stub.base_url)
    model = ModelInfo(id="m", provider="stub", name="M", upstream="m",
                      prices=Prices(input_per_m=Decimal(1), output_per_m=Decimal(1)))
    async with make_client() as client:
        result = await stream_answer(client, new_result(model, provider, REQUEST, TokenCounter()))
    assert result.reading().reported_cost_usd == Decimal("0.95")


# --- keep-alives and error events ----------------------------------------------------------


async def test_openrouter_processing_comments_are_ignored() -> None:
    keepalive = b": OPENROUTER PROCESSING\n\n"
    events, err = await run(sse(keepalive, keepalive, chunk("Hel"), keepalive, chunk("lo"),
                                chunk(finish="stop"), keepalive, DONE))
    assert err is None
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello"


async def test_openrouter_error_event_on_a_200_stream() -> None:
    events, err = await run(sse(b": OPENROUTER PROCESSING\n\n", chunk("Partial "),
                                f"data: {OPENROUTER_ERROR}\n\n".encode()))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Partial "]
    assert isinstance(err, errors.StreamErrorEvent) and err.kind == "stream_error"
    assert "Provider disconnected unexpectedly" in err.message
    assert not is_retryable(err)


async def test_an_error_event_before_any_text_is_not_replayed(openai_stub: StubServer) -> None:
    openai_stub.script = [SSE([f"data: {OPENROUTER_ERROR}\n\n".encode()]), SSE([chunk("no"), DONE])]
    provider = ProviderConfig(name="stub", kind="openai", base_url=openai_stub.base_url)
    seen: list = []
    async with make_client() as client:
        result = await stream_answer(client, new_result(MODEL, provider, REQUEST, TokenCounter()), seen.append)
    assert result.status is AnswerStatus.ERROR and isinstance(result.error, errors.StreamErrorEvent)
    assert len(openai_stub.requests) == 1 and not any(isinstance(e, RetryNotice) for e in seen)


# --- error bodies the retry policy reads ---------------------------------------------------

QUOTA = json.dumps({"error": {"message": "You exceeded your current quota, please check your plan and billing "
                                         "details. For more information on this error, read the docs: "
                                         "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                              "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}})


async def test_insufficient_quota_429_is_final() -> None:
    _, err = await run(status(429, QUOTA))
    assert isinstance(err, errors.RateLimitError) and "exceeded your current quota" in err.message
    assert err.retryable is False and not is_retryable(err)


async def test_a_plain_429_is_retryable() -> None:
    body = json.dumps({"error": {"message": "Rate limit exceeded: free-models-per-min", "code": 429}})
    _, err = await run(status(429, body, {"retry-after": "4"}))
    assert isinstance(err, errors.RateLimitError) and err.retry_after == 4.0 and is_retryable(err)


async def test_openrouter_402_insufficient_credits_is_final() -> None:
    body = json.dumps({"error": {"code": 402, "message": "Insufficient credits. Add more using ..."}})
    _, err = await run(status(402, body))
    assert err.http_status == 402 and "Insufficient credits" in err.message and not is_retryable(err)


@pytest.mark.parametrize("code", [502, 503])
async def test_5xx_carries_retry_after_too(code: int) -> None:
    body = json.dumps({"error": {"code": code, "message": "No available model provider"}})
    _, err = await run(status(code, body, {"retry-after-ms": "2500"}))
    assert isinstance(err, errors.ServerError) and err.retry_after == 2.5 and is_retryable(err)
