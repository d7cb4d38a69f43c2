"""What an answer costs (C2): nothing for a call refused before its answer, unknown for one that
may have been billed without usage, cache writes counted and priced apart, tiered prices past a
long-prompt threshold — the same figures in the meter, `ask --json` (I4) and the store.

Prices are LiteLLM's own (tests/data/prices/litellm_billing.json, see the README there); the
usage with cache writes is a recorded Anthropic stream (vercel/ai's fixture, as in
test_recorded_anthropic.py).
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from servers.anthropic_fixtures import AnthropicStub, recorded
from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, chunk, completion, error_status, stall

from workbench import paths
from workbench.catalog import cost_of
from workbench.cli import main
from workbench.cli.ask import json_for_terminal
from workbench.domain import Prices
from workbench.meter import Meter
from workbench.providers.events import UsageReport
from workbench.render.meter_text import format_cost, meter_summary
from workbench.store import open_store
from workbench.store.answers import get_answer
from workbench.tokens import TokenCounter

D = Decimal
# meter.NOT_BILLED and meter.MAYBE_BILLED, spelt out: scripts read these words in `ask --json`
NOT_BILLED = "not billed: failed before the answer"
MAYBE_BILLED = "may be billed: failed before the answer, and no usage was reported"
PRICES_DIR = Path(__file__).resolve().parents[1] / "data" / "prices"
PRICED = {"input_per_m": 1.5, "output_per_m": 2}
# LiteLLM's prices, per million tokens (litellm_billing.json).
# (keyword dicts: each test builds its Prices, so one that Prices cannot take fails that test alone)
SONNET_5 = {"input_per_m": D("2"), "output_per_m": D("10"), "cached_input_per_m": D("0.2"),
            "cache_write_per_m": D("2.5")}
GEMINI_25_PRO = {"input_per_m": D("1.25"), "output_per_m": D("10"), "cached_input_per_m": D("0.125"),
                 "above_tokens": 200_000, "input_above_per_m": D("2.5"), "output_above_per_m": D("15"),
                 "cached_input_above_per_m": D("0.25")}

# vercel/ai (ed857f50) packages/anthropic/src/__fixtures__/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt,
# its message_start, text block, message_delta and message_stop lines verbatim (as in test_recorded_anthropic.py):
# 6 uncached input tokens, 3337 written to the 5-minute cache, 6289 read from it, 198 output.
VERCEL_PROMPT_CACHE = """\
{"type":"message_start","message":{"model":"claude-sonnet-5","id":"msg_011CdYfpjpVtBoXyXCQD1tQP","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"stop_details":null,"usage":{"input_tokens":2,"cache_creation_input_tokens":3068,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":3068,"ephemeral_1h_input_tokens":0},"output_tokens":69,"service_tier":"standard","inference_geo":"global"}}}
{"type":"content_block_start","index":4,"content_block":{"type":"text","text":""}}
{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":"The"}}
{"type":"content_block_delta","index":4,"delta":{"type":"text_delta","text":" sum of the squares of the numbers 1 through 12 is **650**."}}
{"type":"content_block_stop","index":4}
{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,"container":{"id":"container_01Qh1LG5zm6onKQjYrHnhrvi","expires_at":"2026-07-30T18:54:08.960841Z"}},"usage":{"input_tokens":6,"cache_creation_input_tokens":3337,"cache_read_input_tokens":6289,"output_tokens":198,"output_tokens_details":{"thinking_tokens":0},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0}}}
{"type":"message_stop"}
"""
# What that usage costs at Sonnet 5's prices: 6 × $2 + 6289 × $0.20 + 3337 × $2.50 + 198 × $10, per million.
VERCEL_COST = D("0.000012") + D("0.0012578") + D("0.0083425") + D("0.00198")


def strict_json(text: str) -> dict:
    """JSON as a strict parser reads it: Infinity and NaN are errors, not numbers."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def ask_json(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict, str]:
    code = main(["ask", "--json", *args])
    captured = capsys.readouterr()
    return code, strict_json(captured.out), captured.err


def stored(answer_id: int):
    store = open_store(paths.store_file())
    try:
        return get_answer(store, answer_id)
    finally:
        store.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. a call that failed before its answer -------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [(401, "auth"), (404, "not_found"), (500, "server"), (502, "server")])
def test_a_call_refused_before_its_answer_is_not_billed(openai_stub: StubServer, isolated_home: Path,
                                                        capsys: pytest.CaptureFixture, status: int, kind: str) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED})
    openai_stub.script = error_status(status, "no")
    code, data, _ = ask_json(capsys, "-m", "stub-a", "Say hello")
    (result,) = data["results"]
    assert code == 1 and result["status"] == "error" and result["error"]["kind"] == kind
    assert result["cost_usd"] == 0  # it was 1.1e-05: an estimate of input the provider never billed
    assert (result["input_cost_usd"], result["output_cost_usd"]) == (0, 0)
    assert (result["input_tokens"], result["output_tokens"], result["tokens_exact"]) == (0, 0, True)
    assert result["billing"] == result["token_counting"] == NOT_BILLED
    row = stored(result["answer_id"])
    assert (row.cost_usd, row.input_cost_usd, row.input_tokens, row.billing_note) == (D(0), D(0), 0, NOT_BILLED)


def test_connection_refused_and_missing_key_are_not_billed(isolated_home: Path, capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    write_stub_config(isolated_home, f"http://127.0.0.1:{closed_port()}/v1", {"stub-a": PRICED})
    path = isolated_home / "config" / "config.toml"
    path.write_text(path.read_text() + '\n[providers.keyless]\nkind = "openai"\nbase_url = "https://gw.test/v1"\n'
                    'api_key_env = "NO_SUCH_KEY"\n\n[[models]]\nid = "stub-k"\nprovider = "keyless"\n'
                    'input_per_m = 1.5\noutput_per_m = 2\n')
    code, data, _ = ask_json(capsys, "-m", "stub-a", "-m", "stub-k", "hi")
    assert code == 1
    for result, kind in zip(data["results"], ("connect", "auth")):
        assert result["error"]["kind"] == kind
        assert (result["cost_usd"], result["cost_known_usd"]) == (0, 0)
        assert result["billing"] == NOT_BILLED


def test_a_stall_before_the_answer_may_be_billed_so_its_cost_is_unknown(
        openai_stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED})
    openai_stub.script = stall([chunk("", role="assistant")])  # accepted, then nothing
    code, data, _ = ask_json(capsys, "-m", "stub-a", "--timeout", "1", "Say hello")
    (result,) = data["results"]
    assert (code, result["status"], result["error"]["kind"]) == (1, "error", "timeout")
    # the prompt went out (its estimate stays, marked), but what was billed is unknown: null, not 0
    assert result["cost_usd"] is None and result["cost_known_usd"] == 0 and result["input_cost_usd"] is None
    assert result["input_tokens"] > 0 and result["tokens_exact"] is False
    assert result["billing"] == MAYBE_BILLED
    row = stored(result["answer_id"])
    assert (row.cost_usd, row.billing_note) == (None, MAYBE_BILLED)


def make_meter(prices: Prices | None = None) -> Meter:
    meter = Meter(prices or Prices(D("1.5"), D("2")), TokenCounter(), 11, clock=lambda: 100.0)
    meter.start()
    return meter


def test_the_meter_line_says_not_billed_and_totals_add_nothing() -> None:
    from workbench import meter as meter_module

    assert (meter_module.NOT_BILLED, meter_module.MAYBE_BILLED) == (NOT_BILLED, MAYBE_BILLED)
    meter = make_meter()
    meter.finish("error", "server")
    reading = meter.reading()
    assert (reading.input_tokens, reading.output_tokens, reading.cost.total_usd, reading.cost.known_usd) == (0, 0, 0, 0)
    assert format_cost(reading) == "$0 (not billed)"
    assert "in 0 · out 0 · $0 (not billed)" in meter_summary(reading)  # what the TUI's meter shows
    maybe = make_meter()
    maybe.finish("cancelled")  # a cancel may come after the provider took the prompt
    assert maybe.reading().cost.total_usd is None and format_cost(maybe.reading()) == "cost unknown (may be billed)"


def test_usage_or_text_before_the_failure_keeps_the_charge() -> None:
    reported = make_meter()
    reported.add_usage(UsageReport(input_tokens=40, output_tokens=0))
    reported.finish("error", "stream_error")
    assert reported.reading().cost.total_usd == D("0.00006") and reported.reading().billing is None
    partial = make_meter()
    partial.add_text("def f(")
    partial.finish("interrupted", "cut_off")
    reading = partial.reading()
    assert reading.billing is None and reading.input_tokens == 11 and reading.cost.total_usd > 0


# --- 2. cache writes ---------------------------------------------------------------------------


def test_cache_writes_are_priced_apart_at_the_cache_write_price() -> None:
    cost = cost_of(Prices(**SONNET_5), 9632, 198, cached_input_tokens=6289, cache_write_tokens=3337)
    assert (cost.input_usd, cost.cached_input_usd, cost.cache_write_usd, cost.output_usd) == (
        D("0.000012"), D("0.0012578"), D("0.0083425"), D("0.00198"))
    assert cost.total_usd == VERCEL_COST and cost.all_input_usd == VERCEL_COST - D("0.00198")


def test_without_a_cache_write_price_anthropics_multipliers_apply() -> None:
    prices = Prices(input_per_m=D("3"), output_per_m=D("15"))
    cost = cost_of(prices, 1_000_000, 0, cache_write_tokens=1_000_000, cache_write_1h_tokens=400_000)
    assert cost.cache_write_usd == D("0.6") * D("3.75") + D("0.4") * D("6")  # 1.25× and 2× the input price
    assert cost.input_usd == 0
    unknown = cost_of(Prices(output_per_m=D("15")), 1000, 0, cache_write_tokens=1000)
    assert unknown.cache_write_usd is None and unknown.unknown_parts == ["cache write"]


async def test_the_meter_counts_cache_writes_apart() -> None:
    meter = make_meter(Prices(**SONNET_5))
    meter.add_text("x")
    meter.add_usage(UsageReport(input_tokens=9632, output_tokens=198, cached_input_tokens=6289,
                                cache_write_tokens=3337))
    meter.finish("ok")
    reading = meter.reading()
    assert (reading.cached_input_tokens, reading.cache_write_tokens) == (6289, 3337)
    assert reading.cost.total_usd == VERCEL_COST
    assert "(cache write 3.3k)" in meter_summary(reading)


def test_ask_json_and_the_store_carry_cache_writes(isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    with AnthropicStub(SSE([recorded(VERCEL_PROMPT_CACHE)])) as stub:
        path = isolated_home / "config" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'[providers.ant]\nkind = "anthropic"\nbase_url = "{stub.base_url}"\n\n'
                        '[[models]]\nid = "sonnet-5"\nprovider = "ant"\nmodel = "claude-sonnet-5"\nvendor = "Anthropic"\n')
        # the prices come from LiteLLM's list, imported as a user would
        assert main(["prices", "import", str(PRICES_DIR / "litellm_billing.json"), "--date", "2026-07-30"]) == 0
        capsys.readouterr()
        code, data, _ = ask_json(capsys, "-m", "sonnet-5", "Sum the squares of 1 to 12.")
    (result,) = data["results"]
    assert code == 0
    assert (result["input_tokens"], result["cached_input_tokens"], result["cache_write_tokens"]) == (9632, 6289, 3337)
    assert result["cost_usd"] == pytest.approx(float(VERCEL_COST))
    assert result["cache_write_cost_usd"] == pytest.approx(0.0083425)
    assert result["cached_input_cost_usd"] == pytest.approx(0.0012578)
    assert result["input_cost_usd"] + result["output_cost_usd"] == pytest.approx(result["cost_usd"])
    assert result["reported_cost_usd"] is None and result["billing"] is None
    row = stored(result["answer_id"])
    assert row.cost_usd == VERCEL_COST  # exact in the store
    assert (row.cached_input_tokens, row.cache_write_tokens, row.cache_write_1h_tokens) == (6289, 3337, 0)
    assert (row.cache_write_cost_usd, row.cached_input_cost_usd) == (D("0.0083425"), D("0.0012578"))
    assert row.input_cost_usd + row.output_cost_usd == row.cost_usd


# --- 3. tiered prices ----------------------------------------------------------------------------


def test_past_the_threshold_the_whole_request_is_billed_at_the_upper_tier() -> None:
    at = cost_of(Prices(**GEMINI_25_PRO), 200_000, 1000)
    assert at.total_usd == D("0.25") + D("0.01")  # 200k × $1.25/M + 1000 × $10/M
    past = cost_of(Prices(**GEMINI_25_PRO), 200_001, 1000, cached_input_tokens=100_000)
    assert past.input_usd == D("100001") * D("2.5") / 10**6
    assert past.cached_input_usd == D("0.025") and past.output_usd == D("0.015")
    # an upper-tier price not given is unknown, never the lower one
    partial = Prices(input_per_m=D("1"), output_per_m=D("2"), above_tokens=10, input_above_per_m=D("4"))
    assert cost_of(partial, 11, 5).unknown_parts == ["output"]
    assert cost_of(partial, 10, 5).total_usd == D("0.00002")


def test_tiers_from_the_config(isolated_home: Path, openai_stub: StubServer, capsys: pytest.CaptureFixture) -> None:
    tier = {"input_per_m": 1.25, "output_per_m": 10, "above_tokens": 20, "input_above_per_m": 2.5,
            "output_above_per_m": 15}
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": tier})
    openai_stub.script = SSE(completion("ok", prompt_tokens=21, completion_tokens=4))
    _, data, _ = ask_json(capsys, "-m", "stub-a", "hi")
    assert data["results"][0]["cost_usd"] == pytest.approx(21 * 2.5e-6 + 4 * 15e-6)
    row = open_store(paths.store_file())
    try:
        saved = row.conn.execute("SELECT above_tokens, input_above_per_m FROM answers").fetchone()
    finally:
        row.close()
    assert tuple(saved) == (20, "2.5")


# --- 4(d). never Infinity or NaN in ask --json ------------------------------------------------------


def test_json_for_terminal_prints_null_for_a_number_that_is_not_finite(capsys: pytest.CaptureFixture) -> None:
    text = json_for_terminal({"results": [{"cost_usd": float("inf"), "x": float("nan"), "ok": 1.5}]})
    assert strict_json(text) == {"results": [{"cost_usd": None, "x": None, "ok": 1.5}]}
    err = capsys.readouterr().err
    assert "results[0].cost_usd was not a finite number; printed as null" in err and "results[0].x" in err


def test_a_provider_cost_of_1e400_never_reaches_the_json(openai_stub: StubServer, isolated_home: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED})
    usage = (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"stub-a","choices":[],'
             b'"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"cost":1e400}}\n\n')
    openai_stub.script = SSE([chunk("Hi."), chunk(finish="stop"), usage, b"data: [DONE]\n\n"])
    code, data, _ = ask_json(capsys, "-m", "stub-a", "hi")  # strict: Infinity would not parse
    (result,) = data["results"]
    assert code == 0 and result["reported_cost_usd"] is None
    assert result["cost_usd"] == pytest.approx(5 * 1.5e-6 + 2 * 2e-6)
