"""runner.stream_answer: how each way a stream ends becomes an AnswerResult status.

These stream from the real stub server on 127.0.0.1 (tests/servers/openai_stub.py).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from servers.openai_stub import SSE, Hang, StubServer, chunk, completion, cut, error_status, stall, usage_chunk
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import TextDelta
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

REQUEST = ChatRequest(prompt="Say hi.", temperature=0.2)
PRICES = Prices(input_per_m=Decimal("1"), output_per_m=Decimal("2"))


def provider_at(base_url: str, **kw) -> ProviderConfig:
    return ProviderConfig(name="stub", kind="openai", base_url=base_url, **kw)


def model(model_id: str = "stub-a", prices: Prices = PRICES) -> ModelInfo:
    return ModelInfo(id=model_id, provider="stub", name=model_id.upper(), upstream=model_id, prices=prices)


def result_for(stub: StubServer, model_id: str = "stub-a", **provider_kw):
    return new_result(model(model_id), provider_at(stub.base_url, **provider_kw), REQUEST, TokenCounter())


async def test_ok_stream(openai_stub: StubServer) -> None:
    openai_stub.script = SSE(completion("Hi there, friend.", model="served-7b", prompt_tokens=12, completion_tokens=5))
    seen = []
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub), sink=seen.append)
    assert result.status is AnswerStatus.OK
    assert result.error is None
    assert result.text == "Hi there, friend."
    assert result.served_model == "served-7b"
    assert result.finish_reason == "stop"
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "Hi there, friend."
    reading = result.reading()
    assert reading.exact and (reading.input_tokens, reading.output_tokens) == (12, 5)
    assert reading.cost.total_usd == Decimal(12) * 1 / 10**6 + Decimal(5) * 2 / 10**6
    assert reading.status == "ok"
    assert openai_stub.requests[0].json["model"] == "stub-a"


async def test_reasoning_is_kept_apart(openai_stub: StubServer) -> None:
    openai_stub.script = SSE(completion("42", reasoning="First, think."))
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert (result.reasoning, result.text) == ("First, think.", "42")


async def test_http_error_before_text_is_error(openai_stub: StubServer) -> None:
    openai_stub.script = error_status(500, "The server had an error while processing your request")
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ServerError)
    assert result.error.http_status == 500
    assert result.text == ""
    assert result.reading().status == "error"


async def test_stream_error_before_any_text_is_error(openai_stub: StubServer) -> None:
    openai_stub.script = SSE([b'data: {"error": {"message": "overloaded"}}\n\n'])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.StreamErrorEvent)


async def test_cut_after_partial_text_is_interrupted_and_keeps_text(openai_stub: StubServer) -> None:
    openai_stub.script = cut([chunk("def fizz"), 0.02, chunk("buzz():")])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.INTERRUPTED
    assert isinstance(result.error, errors.StreamCutError)
    assert result.text == "def fizzbuzz():"
    reading = result.reading()
    assert not reading.exact  # no usage arrived: the counts stay estimates
    assert reading.output_tokens > 0


async def test_reasoning_only_then_cut_is_interrupted(openai_stub: StubServer) -> None:
    openai_stub.script = cut([chunk(reasoning="thinking…")])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.INTERRUPTED
    assert result.reasoning == "thinking…"


async def test_cancel_marks_cancelled_keeps_text_and_reraises(openai_stub: StubServer) -> None:
    openai_stub.script = stall([chunk("partial answer")])
    got_text = asyncio.Event()
    result = result_for(openai_stub)
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result, sink=lambda e: got_text.set()))
        await asyncio.wait_for(got_text.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert result.status is AnswerStatus.CANCELLED
    assert result.text == "partial answer"
    assert result.error is None
    assert result.reading().status == "cancelled"


async def test_cancel_while_waiting_for_headers(openai_stub: StubServer) -> None:
    openai_stub.script = Hang()
    result = result_for(openai_stub)
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result))
        while not openai_stub.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert result.status is AnswerStatus.CANCELLED
    assert result.text == ""


async def test_read_stall_hits_the_read_timeout(openai_stub: StubServer) -> None:
    openai_stub.script = stall([chunk("slow")])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub, read_timeout=1.0))
    assert result.status is AnswerStatus.INTERRUPTED
    assert isinstance(result.error, errors.ReadTimeoutError)
    assert "for 1 s" in result.error.message
    assert result.text == "slow"


async def test_deadline(openai_stub: StubServer) -> None:
    # keep-alive comments defeat a read timeout; the overall deadline still ends the answer
    openai_stub.script = stall([b": keep-alive\n\n"])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub), deadline_s=0.3)
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ReadTimeoutError)
    assert "deadline" in result.error.message


async def test_missing_key_names_the_env_var_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_TEST_KEY", raising=False)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    provider = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="WB_TEST_KEY")
    result = new_result(model(), provider, REQUEST, TokenCounter())
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        result = await stream_answer(client, result)
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.MissingKeyError)
    assert result.error.kind == "auth"
    assert "WB_TEST_KEY" in result.error.message
    assert calls == []


async def test_key_from_env_is_sent(openai_stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_KEY", "  sk-from-env-123  ")
    openai_stub.script = SSE(completion("ok"))
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub, api_key_env="WB_TEST_KEY"))
    assert result.status is AnswerStatus.OK
    assert openai_stub.requests[0].headers["authorization"] == "Bearer sk-from-env-123"


async def test_local_server_needs_no_key(openai_stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_TEST_KEY", raising=False)
    openai_stub.script = SSE(completion("ok"))
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub, api_key_env="WB_TEST_KEY"))
    assert result.status is AnswerStatus.OK
    assert "authorization" not in openai_stub.requests[0].headers


async def test_connection_refused_is_an_error() -> None:
    with StubServer() as stub:
        base_url = stub.base_url
    # the server is stopped: nothing listens on that port any more
    result = new_result(model(), provider_at(base_url), REQUEST, TokenCounter())
    async with make_client() as client:
        result = await stream_answer(client, result)
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ConnectError)


async def test_round_one_failing_does_not_stop_the_other(openai_stub: StubServer) -> None:
    openai_stub.script = {
        "good": SSE([0.05] + completion("fine answer", model="good")),
        "bad": error_status(429, "Rate limit reached", headers={"Retry-After": "3"}),
    }
    results = [result_for(openai_stub, "good"), result_for(openai_stub, "bad")]
    seen: list[tuple[str, object]] = []
    async with make_client() as client:
        await asyncio.gather(*(stream_answer(client, r, lambda e, m=r.model.id: seen.append((m, e)))
                               for r in results))
    good, bad = results
    assert good.status is AnswerStatus.OK and good.text == "fine answer"
    assert bad.status is AnswerStatus.ERROR and bad.retries == 2  # retried twice, then given up
    assert isinstance(bad.error, errors.RateLimitError) and bad.error.retry_after == 3.0
    assert {type(e).__name__ for m, e in seen if m == "bad"} == {"RetryNotice"}


async def test_usage_with_unknown_input_price(openai_stub: StubServer) -> None:
    openai_stub.script = SSE([chunk("x"), chunk(finish="stop"), usage_chunk(1000, 2000)])
    result = new_result(model(prices=Prices(output_per_m=Decimal("0.25"))), provider_at(openai_stub.base_url),
                        REQUEST, TokenCounter())
    async with make_client() as client:
        await stream_answer(client, result)
    cost = result.reading().cost
    assert cost.total_usd is None
    assert cost.output_usd == Decimal("0.0005")
    assert cost.unknown_parts == ["input"]


async def test_multibyte_characters_split_across_network_reads(openai_stub: StubServer) -> None:
    raw = b"".join([chunk("naïve 漢字 🙂"), chunk(finish="stop"), b"data: [DONE]\n\n"])
    cut_at = raw.index("漢".encode()) + 1  # inside the three bytes of 漢
    openai_stub.script = SSE([raw[:cut_at], 0.02, raw[cut_at:]])
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.OK
    assert result.text == "naïve 漢字 🙂"


async def test_html_error_page_from_a_proxy(openai_stub: StubServer) -> None:
    from servers.openai_stub import Status

    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "<p>nginx</p>" * 300 + "</body></html>"
    openai_stub.script = Status(502, page, content_type="text/html")
    async with make_client() as client:
        result = await stream_answer(client, result_for(openai_stub))
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ServerError)
    assert "502 Bad Gateway" in result.error.message and "<" not in result.error.message


async def test_cancelling_a_stream_closes_its_connection(openai_stub: StubServer) -> None:
    openai_stub.script = stall([chunk("partial answer")])
    got_text = asyncio.Event()
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result_for(openai_stub), sink=lambda e: got_text.set()))
        await asyncio.wait_for(got_text.wait(), 30)
        pool = client._transport._pool  # httpx's connection pool: what is open right now
        assert len(pool.connections) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the half-read response was closed and its connection discarded, not kept for reuse
        assert pool.connections == []
