"""Recorded Anthropic streams, not written by us: refusals (``stop_reason: "refusal"`` with its
``stop_details``) end as a refusal error, not "ok", and cache writes reach ``UsageReport``.

Sources: the SDK's own fixtures (``servers.anthropic_fixtures``), and vercel/ai's recordings,
which keep each event's JSON one a line (``*.chunks.txt``; ``recorded()`` restores the stream).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers.anthropic_fixtures import (
    MESSAGE_STOP,
    SDK_REFUSAL,
    SDK_REFUSAL_AFTER_THINKING,
    AnthropicStub,
    block_start,
    message_delta,
    message_start,
    recorded,
    text_delta,
)
from servers.openai_stub import SSE, Status, cut

from workbench.cli import main
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.anthropic import AnthropicProvider
from workbench.providers.events import (
    ReasoningDelta,
    ServedModel,
    StreamEnd,
    TextDelta,
    UsageReport,
)

KEY = "sk-ant-test-0123456789abcdef"
MODEL = ModelInfo(id="claude", provider="ant", name="Claude", upstream="claude-upstream-1")
REQUEST = ChatRequest(prompt="Write fizzbuzz.")

# vercel/ai (ed857f50) packages/anthropic/src/__fixtures__/anthropic-refusal.chunks.txt, verbatim.
VERCEL_REFUSAL = """\
{"type":"message_start","message":{"model":"claude-fable-5","id":"msg_01RefusalStreamAbcdefghijk","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":18,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard","inference_geo":"not_available"}}}
{"type":"ping"}
{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal","category":"cyber","explanation":"This request triggered restrictions on violative cyber content and was blocked under Anthropic's Usage Policy.","recommended_model":"claude-fable-5"}},"usage":{"input_tokens":18,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}
{"type":"message_stop"}
"""

# vercel/ai (ed857f50) packages/anthropic/src/__fixtures__/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt:
# its message_start, text block, message_delta and message_stop lines, verbatim (the server tool
# blocks between them are left out). message_start splits the cache write (all 5-minute);
# message_delta's cumulative usage repeats only the totals, without the split.
VERCEL_PROMPT_CACHE = """\
{"type":"message_start","message":{"model":"claude-sonnet-5","id":"msg_011CdYfpjpVtBoXyXCQD1tQP","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":2,"cache_creation_input_tokens":3068,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":3068,"ephemeral_1h_input_tokens":0},"output_tokens":69,"service_tier":"standard","inference_geo":"global"}}}
{"type":"content_block_start","index":4,"content_block":{"type":"text","text":""}}
{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":"The"}}
{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":" sum of the squares of the numbers 1 through 12 is **650**."}}
{"type":"content_block_stop","index":4}
{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,"container":{"id":"container_01Qh1LG5zm6onKQjYrHnhrvi","expires_at":"2026-07-30T18:54:08.960841Z"}},"usage":{"input_tokens":6,"cache_creation_input_tokens":3337,"cache_read_input_tokens":6289,"output_tokens":198,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0}}}
{"type":"message_stop"}
"""

# vercel/ai (ed857f50) packages/anthropic/src/__fixtures__/anthropic-refusal.json (a whole message:
# a proxy that ignored `stream: true` answers like this).
VERCEL_REFUSAL_MESSAGE = {
    "model": "claude-fable-5", "id": "msg_01RefusalExampleAbcdefghijk", "type": "message", "role": "assistant",
    "content": [], "stop_reason": "refusal",
    "stop_details": {"type": "refusal", "category": "cyber", "explanation": "This request triggered restrictions on "
                     "violative cyber content and was blocked under Anthropic's Usage Policy.",
                     "recommended_model": "claude-fable-5"},
    "stop_sequence": None,
    "usage": {"input_tokens": 18, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
              "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
              "output_tokens": 5, "service_tier": "standard", "inference_geo": "not_available"},
}
SDK_EXPLANATION = "the model refused: This request was refused due to policy. (category cyber; stop_reason refusal)"
VERCEL_EXPLANATION = ("the model refused: This request triggered restrictions on violative cyber content and was "
                      "blocked under Anthropic's Usage Policy. (category cyber; stop_reason refusal)")


@pytest.fixture
def anthropic_stub() -> Iterator[AnthropicStub]:
    """A started Anthropic stub (as ``servers.anthropic_fixtures``' fixture, declared here)."""
    with AnthropicStub() as server:
        yield server


async def run(stub: AnthropicStub):
    """(events, error) of one stream; ``error`` is the ProviderError raised, if any."""
    seen: list = []
    config = ProviderConfig(name="ant", kind="anthropic", base_url=stub.base_url, api_key_env="ANT_KEY")
    async with httpx.AsyncClient() as client:
        try:
            async for event in AnthropicProvider(config, KEY).stream(client, MODEL, REQUEST):
                seen.append(event)
        except errors.ProviderError as exc:
            return seen, exc
    return seen, None


def usages(events) -> list[UsageReport]:
    return [e for e in events if isinstance(e, UsageReport)]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("script", "message", "before"), [
    (SSE([SDK_REFUSAL]), SDK_EXPLANATION, [ServedModel("claude-opus-4-7"), UsageReport(input_tokens=20, output_tokens=0)]),
    (SSE([recorded(VERCEL_REFUSAL)]), VERCEL_EXPLANATION,
     [ServedModel("claude-fable-5"), UsageReport(input_tokens=18, output_tokens=5)]),
    (Status(200, VERCEL_REFUSAL_MESSAGE), VERCEL_EXPLANATION,
     [ServedModel("claude-fable-5"), UsageReport(input_tokens=18, output_tokens=5)]),
], ids=["sdk-refusal", "vercel-refusal", "whole-message"])
async def test_recorded_refusal_is_a_refusal_error_after_the_usage(anthropic_stub: AnthropicStub, script,
                                                                   message: str, before: list) -> None:
    anthropic_stub.script = script
    events, err = await run(anthropic_stub)
    assert type(err) is errors.RefusalError and err.kind == "refusal" and err.message == message
    assert events == before  # the usage once, and no StreamEnd: the answer did not end well


async def test_sdk_refusal_after_thinking_and_text_keeps_both(anthropic_stub: AnthropicStub) -> None:
    # Trailing spaces inside data lines, a signature_delta, usage repeated in message_delta with
    # an `iterations` list, and stop_details whose category and explanation are null.
    anthropic_stub.script = SSE([SDK_REFUSAL_AFTER_THINKING])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.RefusalError) and err.message == "the model refused (stop_reason refusal)"
    assert events == [
        ServedModel("claude-fable-5"),
        ReasoningDelta("Simple educ"),
        ReasoningDelta("ational question about what a solar eclipse is. This is benign general knowledge — "
                       "definitions are fine. Also the user called"),
        ReasoningDelta(' me "claudius" — I\'m Claude. Minor correction or just roll with it politely.'),
        TextDelta("Hi"),
        UsageReport(input_tokens=28, output_tokens=106, reasoning_tokens=67, cached_input_tokens=0),
    ]


@pytest.mark.parametrize("reply", [cut, SSE], ids=["connection-dropped", "body-ended"])
async def test_a_refusal_whose_message_stop_never_came_is_still_a_refusal(anthropic_stub: AnthropicStub,
                                                                          reply) -> None:
    lines = VERCEL_REFUSAL.strip().splitlines()[:-1]  # no message_stop
    anthropic_stub.script = reply([recorded("\n".join(lines))])
    events, err = await run(anthropic_stub)
    assert isinstance(err, errors.RefusalError) and err.message == VERCEL_EXPLANATION
    assert usages(events) == [UsageReport(input_tokens=18, output_tokens=5)]  # billed: reported once


def test_ask_json_shows_the_refusal_as_an_error(anthropic_stub: AnthropicStub, isolated_home: Path,
                                               capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[providers.claude]\nkind = "anthropic"\nbase_url = "{anthropic_stub.base_url}"\n'
        'api_key_env = "WB_TEST_ANTHROPIC_KEY"\n\n'
        '[[models]]\nid = "opus"\nprovider = "claude"\nmodel = "claude-opus-4-7"\n'
        "input_per_m = 5\noutput_per_m = 25\n", "utf-8")
    monkeypatch.setenv("WB_TEST_ANTHROPIC_KEY", KEY)
    anthropic_stub.script = SSE([SDK_REFUSAL])
    code = main(["ask", "--json", "-m", "opus", "Write malware."])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert code == 1
    assert (result["status"], result["text"], result["tokens_exact"]) == ("error", "", True)
    assert result["error"] == {"kind": "refusal", "http_status": None, "message": SDK_EXPLANATION}


# --- cache writes ------------------------------------------------------------------------------


async def test_recorded_cache_write_is_counted_apart(anthropic_stub: AnthropicStub) -> None:
    anthropic_stub.script = SSE([recorded(VERCEL_PROMPT_CACHE)])
    events, err = await run(anthropic_stub)
    assert err is None and events[-1] == StreamEnd("end_turn")
    # input = 6 uncached + 3337 written to the cache + 6289 read from it; all 5-minute writes
    assert usages(events) == [UsageReport(input_tokens=9632, output_tokens=198, reasoning_tokens=0,
                                          cached_input_tokens=6289, cache_write_tokens=3337,
                                          cache_write_1h_tokens=0)]


@pytest.mark.parametrize(("start_usage", "delta_usage", "write", "write_1h"), [
    # the split of message_start, message_delta silent on the cache
    ({"cache_creation_input_tokens": 1000, "cache_read_input_tokens": 0,
      "cache_creation": {"ephemeral_5m_input_tokens": 400, "ephemeral_1h_input_tokens": 600}}, {}, 1000, 600),
    # message_delta's later total and split replace message_start's
    ({"cache_creation_input_tokens": 10, "cache_creation": {"ephemeral_1h_input_tokens": 10}},
     {"cache_creation_input_tokens": 2000, "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                                                "ephemeral_1h_input_tokens": 2000}}, 2000, 2000),
    # a total without a split: all of it is the 5-minute kind (the API's default lifetime)
    ({"cache_creation_input_tokens": 300}, {}, 300, 0),
    # a split larger than its total (inconsistent numbers) is cut down to it
    ({"cache_creation_input_tokens": 50, "cache_creation": {"ephemeral_1h_input_tokens": 80}}, {}, 50, 50),
], ids=["1h-in-message-start", "updated-in-delta", "no-split", "split-above-total"])
async def test_one_hour_cache_writes(anthropic_stub: AnthropicStub, start_usage: dict, delta_usage: dict,
                                     write: int, write_1h: int) -> None:
    # Anthropic's usage shape (anthropic-sdk-python types Usage.cache_creation); numbers ours.
    anthropic_stub.script = SSE([message_start(input_tokens=10, **start_usage), block_start(0), text_delta("ok"),
                                 message_delta(3, **delta_usage), MESSAGE_STOP])
    events, err = await run(anthropic_stub)
    assert err is None
    (report,) = usages(events)
    assert (report.cache_write_tokens, report.cache_write_1h_tokens) == (write, write_1h)
    assert report.input_tokens == 10 + write + report.cached_input_tokens  # writes stay inside input
