"""Recorded OpenAI-dialect streams, not written by us: xAI's usage (``completion_tokens`` leave
the reasoning out, the cost comes in ticks), the numbers of OpenAI's and others' own captures
(which must not move), and OpenAI's structured refusal and content filter (a refusal, not "ok").

Each payload names the repository, commit and path it was copied from. vercel/ai keeps a stream
as one `data:` payload a line (``*.chunks.txt``); its tests send each line as ``data: <line>``
and a blank line, then ``data: [DONE]`` (``prepareChunksFixtureResponse``): ``from_chunks`` does
the same.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from servers.openai_stub import DONE, SSE, StubServer, chunk

from workbench.catalog import cost_of
from workbench.domain import (
    AnswerStatus,
    ChatRequest,
    ModelInfo,
    Prices,
    ProviderConfig,
)
from workbench.providers import errors
from workbench.providers.events import ReasoningDelta, StreamEnd, TextDelta, UsageReport
from workbench.providers.http import make_client
from workbench.providers.openai import OpenAIProvider
from workbench.providers.reader_process import ReaderProcess
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

CONFIG = ProviderConfig(name="x", kind="openai", base_url="https://api.x.test/v1")
MODEL = ModelInfo(id="m", provider="x", name="M", upstream="grok-3-mini")
REQUEST = ChatRequest(prompt="hi")

# xAI's list prices for grok-3-mini, US$ per million: both recordings below cost exactly their
# reported ticks at these prices once reasoning counts as output (and 15-28x less if it does not).
GROK_3_MINI = Prices(input_per_m=Decimal("0.30"), cached_input_per_m=Decimal("0.075"), output_per_m=Decimal("0.50"))

# vercel/ai (ed857f50) packages/xai/src/__fixtures__/xai-text.chunks.txt, verbatim.
XAI_TEXT = """\
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":"First","role":"assistant"}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":","}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":" the"}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":" user"}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774058,"model":"grok-3-mini","choices":[{"index":0,"delta":{"reasoning_content":" said"}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[{"index":0,"delta":{"content":"Hello"}}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"system_fingerprint":"fp_2a885414fb"}
{"id":"7327b9f5-1c2f-0a15-3fef-c14a71c460d3","object":"chat.completion.chunk","created":1770774061,"model":"grok-3-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,"prompt_tokens_details":{"text_tokens":12,"audio_tokens":0,"image_tokens":0,"cached_tokens":11},"completion_tokens_details":{"reasoning_tokens":290,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":1466250},"system_fingerprint":"fp_2a885414fb"}
"""
# vercel/ai (ed857f50) packages/xai/src/__fixtures__/xai-tool-call.chunks.txt, its last line
# (the usage chunk of a grok-3-mini tool call).
XAI_TOOL_CALL_USAGE = (
    '{"id":"de9d896d-e946-b3a7-bb14-75ab33326930","object":"chat.completion.chunk","created":1770774066,'
    '"model":"grok-3-mini","choices":[],"usage":{"prompt_tokens":291,"completion_tokens":26,"total_tokens":513,'
    '"prompt_tokens_details":{"text_tokens":291,"audio_tokens":0,"image_tokens":0,"cached_tokens":290},'
    '"completion_tokens_details":{"reasoning_tokens":196,"audio_tokens":0,"accepted_prediction_tokens":0,'
    '"rejected_prediction_tokens":0},"num_sources_used":0,"cost_in_usd_ticks":1330500},'
    '"system_fingerprint":"fp_2a885414fb"}')

# Usage chunks whose completion_tokens already include the reasoning (total = prompt + completion):
# the rule that fixes xAI must leave every one of them as it was.
SAME_NUMBERS = {
    # openai-python (e43b4224) .inline-snapshot/external/e2aad469….bin, the usage chunk
    "openai-gpt-4o": (('{"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk",'
                       '"created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd",'
                       '"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":30,"total_tokens":44,'
                       '"completion_tokens_details":{"reasoning_tokens":0}}}'), (14, 30, 0)),
    # openai-python (e43b4224) .inline-snapshot/external/4cc50a61….bin (finish_reason "length")
    "openai-length": (('{"id":"chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh","object":"chat.completion.chunk",'
                       '"created":1727346171,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_7568d46099",'
                       '"choices":[],"usage":{"prompt_tokens":79,"completion_tokens":1,"total_tokens":80,'
                       '"completion_tokens_details":{"reasoning_tokens":0}}}'), (79, 1, 0)),
    # vercel/ai (ed857f50) packages/groq/src/__fixtures__/groq-reasoning.chunks.txt, last line
    "groq-qwen3": (('{"id":"chatcmpl-3556c041-562b-471f-9a90-763dbcea5a3f","object":"chat.completion.chunk",'
                    '"created":1770770849,"model":"qwen/qwen3-32b","system_fingerprint":"fp_78ac7f3229","choices":'
                    '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":'
                    '"req_01kh52nmbjem9bfhxdbabnjv0x","usage":{"queue_time":0.171721454,"prompt_tokens":17,'
                    '"prompt_time":0.000792801,"completion_tokens":1107,"completion_time":3.206170277,'
                    '"total_tokens":1124,"total_time":3.206963078,"completion_tokens_details":{"reasoning_tokens":'
                    '963}}},"usage":{"queue_time":0.171721454,"prompt_tokens":17,"prompt_time":0.000792801,'
                    '"completion_tokens":1107,"completion_time":3.206170277,"total_tokens":1124,"total_time":'
                    '3.206963078,"completion_tokens_details":{"reasoning_tokens":963}}}'), (17, 1107, 963)),
    # vercel/ai (ed857f50) packages/alibaba/src/__fixtures__/alibaba-reasoning.chunks.txt, last line
    "alibaba-qwen3-max": (('{"choices":[],"object":"chat.completion.chunk","usage":{"prompt_tokens":24,'
                           '"completion_tokens":1355,"total_tokens":1379,"completion_tokens_details":'
                           '{"reasoning_tokens":1084},"prompt_tokens_details":{"cached_tokens":0}},'
                           '"created":1770764942,"system_fingerprint":null,"model":"qwen3-max",'
                           '"id":"chatcmpl-3792851e-8f1b-9182-a1dc-b84603c81344"}'), (24, 1355, 1084)),
    # PROTOCOLS §1.6: DeepSeek deepseek-reasoner (opensolon/solon DeepSeek.md)
    "deepseek-reasoner": (('{"choices":[],"usage":{"prompt_tokens":6,"completion_tokens":92,"total_tokens":98,'
                           '"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":'
                           '{"reasoning_tokens":81},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":6}}'),
                          (6, 92, 81)),
    # PROTOCOLS §5.1: llama.cpp b6097's finish chunk (g0t4/ask-openai.nvim NOTES.md)
    "llama.cpp": (('{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1754524122,"id":'
                   '"chatcmpl-yPk7z9nC22CofOlh100qQdHVEDMNYCb1","model":"gpt-oss:20b","system_fingerprint":'
                   '"b6097-9515c613","object":"chat.completion.chunk","usage":{"completion_tokens":247,'
                   '"prompt_tokens":1085,"total_tokens":1332}}'), (1085, 247, None)),
}

# openai-python (e43b4224) .inline-snapshot/external/173417d5….bin, verbatim: gpt-4o's structured
# refusal (delta.refusal pieces, finish_reason "stop"), then the usage chunk and [DONE].
OPENAI_REFUSAL_STREAM = (
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"role":"assistant","content":null,"refusal":""},"logprobs":null,"finish_reason":null}'
    b']}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":"I\'m"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" sorry"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":","},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" I"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" can\'t"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" assist"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" with"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" that"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":" request"},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{"refusal":"."},"logprobs":null,"finish_reason":null}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":'
    b'0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n'
    b'\n'
    b'data: {"id":"chatcmpl-ABfw4IfQfCCrcuybFm41wJyxjbkz7","object":"chat.completion.chunk","created":'
    b'1727346172,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[],"usage"'
    b':{"prompt_tokens":79,"completion_tokens":11,"total_tokens":90,"completion_tokens_details":{"reas'
    b'oning_tokens":0}}}\n'
    b'\n'
    b'data: [DONE]\n'
    b'\n'
)


def from_chunks(lines: str) -> bytes:
    """A vercel/ai `*.chunks.txt` recording as the stream its tests serve."""
    return b"".join(f"data: {line}\n\n".encode() for line in lines.splitlines() if line.strip()) + DONE


async def run(body: bytes, content_type: str = "text/event-stream"):
    """(events, error) of one stream served by a MockTransport."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body)

    seen: list = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        try:
            async for event in OpenAIProvider(CONFIG, None).stream(client, MODEL, REQUEST):
                seen.append(event)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def usage_of(events) -> UsageReport:
    (report,) = [e for e in events if isinstance(e, UsageReport)]
    return report


# --- xAI: reasoning is output, and the cost is reported in ticks ------------------------------


async def test_xai_recorded_stream_counts_reasoning_as_output_and_reads_the_ticks() -> None:
    events, err = await run(from_chunks(XAI_TEXT))
    assert err is None and events[-1] == StreamEnd("stop")
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "First, the user said"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello"
    # prompt 12 + completion 1 + reasoning 290 = total 303: output is 291, not 1
    assert usage_of(events) == UsageReport(input_tokens=12, output_tokens=291, reasoning_tokens=290,
                                           cached_input_tokens=11, cost_usd="0.000146625")


@pytest.mark.parametrize(("line", "expected"), [
    (XAI_TEXT.splitlines()[-1], UsageReport(12, 291, 290, 11, "0.000146625")),
    (XAI_TOOL_CALL_USAGE, UsageReport(291, 222, 196, 290, "0.00013305")),
], ids=["xai-text", "xai-tool-call"])
async def test_xai_tokens_at_list_prices_give_exactly_the_reported_ticks(line: str, expected: UsageReport) -> None:
    report = usage_of((await run(from_chunks(line)))[0])
    assert report == expected
    # 1 tick = 1e-10 US$: 1466250 ticks = $0.000146625, digit for digit, no float in between
    ticks = json.loads(line)["usage"]["cost_in_usd_ticks"]
    assert Decimal(report.cost_usd) == Decimal(ticks) / 10**10
    assert cost_of(GROK_3_MINI, report.input_tokens, report.output_tokens,
                   report.cached_input_tokens).total_usd == Decimal(report.cost_usd)


@pytest.mark.parametrize("name", list(SAME_NUMBERS))
async def test_other_vendors_recorded_usage_keeps_its_numbers(name: str) -> None:
    line, (prompt, completion, reasoning) = SAME_NUMBERS[name]
    report = usage_of((await run(from_chunks(line)))[0])
    assert (report.input_tokens, report.output_tokens, report.reasoning_tokens) == (prompt, completion, reasoning)
    total = json.loads(line)["usage"].get("total_tokens")
    assert total == prompt + completion  # output = total − prompt holds here too


@pytest.mark.parametrize(("usage", "output", "reasoning"), [
    # xAI's split without a total: reasoning above completion can only be left out of it
    ({"prompt_tokens": 12, "completion_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 290}}, 291, 290),
    # a total that says less than completion + reasoning: reasoning still fits in output
    ({"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 20,
      "completion_tokens_details": {"reasoning_tokens": 290}}, 291, 290),
    # a total below prompt + completion never lowers the reported completion
    ({"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 15}, 9, None),
], ids=["no-total", "short-total", "total-too-small"])
async def test_reasoning_never_exceeds_output(usage: dict, output: int, reasoning: int | None) -> None:
    body = chunk("ok") + chunk(finish="stop") + f'data: {json.dumps({"choices": [], "usage": usage})}\n\n'.encode()
    report = usage_of((await run(body))[0])
    assert (report.output_tokens, report.reasoning_tokens) == (output, reasoning)


@pytest.mark.parametrize(("usage", "cost"), [
    ({"cost_in_usd_ticks": 0}, "0"),
    ({"cost_in_usd_ticks": 158500}, "0.00001585"),  # docs.x.ai's example usage
    ({"cost_in_usd_ticks": 7, "cost": "0.5"}, "0.5"),  # a gateway's own cost is what the user pays
    ({"cost_in_usd_ticks": "1466250"}, None),
    ({"cost_in_usd_ticks": -5}, None),
    ({"cost_in_usd_ticks": True}, None),
], ids=["zero", "docs", "gateway-cost-wins", "string", "negative", "bool"])
async def test_ticks_are_a_reported_cost_in_us_dollars(usage: dict, cost: str | None) -> None:
    body = (chunk(finish="stop")
            + f'data: {json.dumps({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, **usage}})}\n\n'
            .encode())
    assert usage_of((await run(body))[0]).cost_usd == cost


# --- refusals ----------------------------------------------------------------------------------


async def test_openai_recorded_refusal_is_a_refusal_after_its_usage() -> None:
    events, err = await run(OPENAI_REFUSAL_STREAM)
    assert isinstance(err, errors.RefusalError) and err.kind == "refusal"
    assert err.message == "the model refused: I'm sorry, I can't assist with that request."
    assert not any(isinstance(e, (TextDelta, StreamEnd)) for e in events)
    assert usage_of(events) == UsageReport(input_tokens=79, output_tokens=11, reasoning_tokens=0)


# OpenAI's chunk shape (openai-python ChatCompletionChunk: finish_reason "content_filter" on its
# own chunk, then the usage chunk); hand-written, no recorded content_filter stream was found.
CONTENT_FILTERED = (chunk("Here is how to ") + chunk("pick", model="gpt-4o-2024-08-06")
                    + chunk(finish="content_filter")
                    + b'data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}\n\n'
                    + DONE)


async def test_content_filter_finish_is_a_refusal_keeping_the_text_and_usage() -> None:
    events, err = await run(CONTENT_FILTERED)
    assert isinstance(err, errors.RefusalError)
    assert err.message == ("the model refused: the provider's content filter withheld the answer "
                           "(finish_reason content_filter)")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Here is how to pick"
    assert usage_of(events) == UsageReport(20, 5)


async def test_whole_json_completion_with_a_refusal() -> None:
    body = json.dumps({"id": "c", "object": "chat.completion", "model": "gpt-4o-2024-08-06", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
         "finish_reason": "stop"}], "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16}})
    events, err = await run(body.encode(), content_type="application/json")
    assert isinstance(err, errors.RefusalError) and err.message == "the model refused: I can't help with that."
    assert usage_of(events) == UsageReport(9, 7)


async def test_an_empty_refusal_field_is_not_a_refusal() -> None:
    # Every first chunk of a gpt-4o stream carries "refusal": "" or null (PROTOCOLS §1.1).
    first = (b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":""},'
             b'"finish_reason":null}]}\n\n')
    events, err = await run(first + chunk("Hi") + chunk(finish="stop") + DONE)
    assert err is None and events[-1] == StreamEnd("stop")


def stub_result(stub: StubServer):
    provider = ProviderConfig(name="stub", kind="openai", base_url=stub.base_url)
    model = ModelInfo(id="m", provider="stub", name="M", upstream="gpt-4o",
                      prices=Prices(input_per_m=Decimal(1), output_per_m=Decimal(2)))
    return new_result(model, provider, REQUEST, TokenCounter())


@pytest.mark.parametrize(("body", "status", "text"), [
    (OPENAI_REFUSAL_STREAM, AnswerStatus.ERROR, ""),
    (CONTENT_FILTERED, AnswerStatus.INTERRUPTED, "Here is how to pick"),
], ids=["refusal-no-text", "content-filter-after-text"])
async def test_the_runner_stores_a_refusal_as_an_error_not_ok(openai_stub: StubServer, body: bytes,
                                                               status: AnswerStatus, text: str) -> None:
    openai_stub.script = SSE([body])
    async with make_client() as client:
        result = await stream_answer(client, stub_result(openai_stub))
    assert (result.status, result.text) == (status, text)
    assert result.error.as_dict()["kind"] == "refusal" and result.error.message.startswith("the model refused")
    assert result.reading().exact  # the prompt was billed: the usage still counts
    assert len(openai_stub.requests) == 1  # a refusal is final, never retried


async def test_a_refusal_crosses_the_stream_reader_pipe(openai_stub: StubServer, tmp_path: Path) -> None:
    openai_stub.script = SSE([OPENAI_REFUSAL_STREAM])
    reader = ReaderProcess(tmp_path / "reader.log")
    try:
        async with make_client() as client:
            result = await stream_answer(client, stub_result(openai_stub), reader=reader)
    finally:
        await reader.close()
    assert result.status is AnswerStatus.ERROR and type(result.error) is errors.RefusalError
    assert result.error.message == "the model refused: I'm sorry, I can't assist with that request."
