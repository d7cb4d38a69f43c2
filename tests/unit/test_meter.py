"""The meter (C2): estimates then exact counts, Decimal cost, unknown prices, TTFT and rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.domain import Prices
from workbench.meter import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, Meter, estimate_prompt_tokens
from workbench.render.meter_text import format_cost, format_count, format_seconds, meter_summary
from workbench.providers.events import UsageReport
from workbench.tokens import TokenCounter

PRICES = Prices(input_per_m=Decimal("0.35"), output_per_m=Decimal("1.10"))


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


def make_meter(prices: Prices = PRICES, prompt_estimate: int = 20, start: float = 100.0):
    clock = FakeClock(start)
    return Meter(prices, TokenCounter(), prompt_estimate, clock=clock), clock


def test_estimate_prompt_tokens_counts_messages_and_overhead() -> None:
    counter = TokenCounter()
    assert estimate_prompt_tokens(counter, "x" * 40) == 10 + TOKENS_PER_MESSAGE + TOKENS_PER_REPLY
    assert estimate_prompt_tokens(counter, "x" * 40, "sys!") == 10 + 1 + 2 * TOKENS_PER_MESSAGE + TOKENS_PER_REPLY


def test_fresh_meter() -> None:
    meter, _ = make_meter()
    reading = meter.reading()
    assert reading.status == "waiting"
    assert reading.output_tokens == 0
    assert reading.ttft_s is None and reading.tokens_per_s is None
    assert reading.elapsed_s == 0.0


def test_counts_are_estimates_while_streaming() -> None:
    meter, clock = make_meter()
    meter.start()
    assert meter.status == "connecting"
    clock.advance(0.5)
    meter.add_text("abcdefgh")  # 8 chars → 2 tokens by the rule
    meter.add_text("ijkl")  # → batched with the above: 12 chars → 3 tokens
    reading = meter.reading()
    assert reading.exact is False
    assert reading.counting.startswith("rule")
    assert reading.input_tokens == 20
    assert reading.output_tokens == 3
    assert reading.status == "streaming"
    assert reading.cost.total_usd == Decimal(20) * Decimal("0.35") / 10**6 + Decimal(3) * Decimal("1.10") / 10**6


def test_estimates_accumulate_across_readings() -> None:
    meter, _ = make_meter()
    meter.start()
    meter.add_text("a" * 8)
    assert meter.reading().output_tokens == 2
    meter.add_text("b" * 8)
    assert meter.reading().output_tokens == 4


def test_usage_makes_counts_exact() -> None:
    meter, _ = make_meter()
    meter.start()
    meter.add_text("some text")
    meter.add_usage(UsageReport(input_tokens=1234, output_tokens=567, reasoning_tokens=100))
    reading = meter.reading()
    assert reading.exact is True
    assert reading.counting == "provider usage"
    assert (reading.input_tokens, reading.output_tokens, reading.reasoning_tokens) == (1234, 567, 100)


def test_decimal_cost_is_in_times_in_price_plus_out_times_out_price() -> None:
    meter, _ = make_meter()
    meter.start()
    meter.add_usage(UsageReport(input_tokens=1234, output_tokens=567))
    cost = meter.reading().cost
    assert cost.input_usd == Decimal("0.0004319")
    assert cost.output_usd == Decimal("0.0006237")
    assert cost.total_usd == Decimal("0.0010556")
    assert isinstance(cost.total_usd, Decimal)


def test_usage_without_input_tokens_is_not_exact() -> None:
    meter, _ = make_meter()
    meter.start()
    meter.add_usage(UsageReport(input_tokens=None, output_tokens=10))
    reading = meter.reading()
    assert reading.exact is False
    assert reading.input_tokens == 20  # the estimate stays
    assert reading.output_tokens == 10


def test_unknown_input_price_is_unknown_not_zero() -> None:
    meter, _ = make_meter(Prices(output_per_m=Decimal("0.25")))
    meter.start()
    meter.add_usage(UsageReport(input_tokens=1000, output_tokens=4000))
    reading = meter.reading()
    assert reading.cost.total_usd is None
    assert reading.cost.unknown_parts == ["input"]
    assert reading.cost.known_usd == Decimal("0.001")
    text = format_cost(reading)
    assert "input ?" in text and "$0.001" in text
    assert text != "$0"


def test_all_prices_unknown_says_cost_unknown() -> None:
    meter, _ = make_meter(Prices())
    meter.start()
    meter.add_usage(UsageReport(input_tokens=10, output_tokens=10))
    reading = meter.reading()
    assert reading.cost.total_usd is None
    assert format_cost(reading) == "cost unknown"
    assert "$0" not in meter_summary(reading)


def test_reported_cost_is_shown_and_kept_exact() -> None:
    meter, _ = make_meter()
    meter.start()
    meter.add_usage(UsageReport(input_tokens=194, output_tokens=2, cost_usd="0.00095"))
    reading = meter.reading()
    assert reading.reported_cost_usd == Decimal("0.00095")
    assert format_cost(reading) == "$0.00095 (reported)"


def test_garbage_reported_cost_is_ignored() -> None:
    meter, _ = make_meter()
    meter.add_usage(UsageReport(input_tokens=1, output_tokens=1, cost_usd="n/a"))
    assert meter.reading().reported_cost_usd is None


def test_cached_input_uses_cached_price() -> None:
    prices = Prices(input_per_m=Decimal("2.5"), output_per_m=Decimal("10"), cached_input_per_m=Decimal("1.25"))
    meter, _ = make_meter(prices)
    meter.add_usage(UsageReport(input_tokens=1000, output_tokens=100, cached_input_tokens=800))
    cost = meter.reading().cost
    assert cost.input_usd == Decimal("0.0005")  # 200 uncached × 2.5 / 1M
    assert cost.cached_input_usd == Decimal("0.001")  # 800 × 1.25 / 1M
    assert cost.total_usd == Decimal("0.0025")


def test_ttft_rate_and_elapsed_with_a_fake_clock() -> None:
    meter, clock = make_meter()
    meter.start()
    clock.advance(0.8)
    meter.add_text("x" * 4)
    for _ in range(9):
        clock.advance(0.25)
        meter.add_text("x" * 4)
    meter.add_usage(UsageReport(input_tokens=20, output_tokens=100))
    clock.advance(1.0)  # the usage chunk and close came later: not part of the token span
    meter.finish("ok")
    clock.advance(50)  # reading later changes nothing once finished
    reading = meter.reading()
    assert reading.ttft_s == pytest.approx(0.8)
    assert reading.tokens_per_s == pytest.approx(100 / 2.25)
    assert reading.elapsed_s == pytest.approx(0.8 + 2.25 + 1.0)
    assert reading.status == "ok"


def test_rate_while_streaming_uses_now() -> None:
    meter, clock = make_meter()
    meter.start()
    clock.advance(1)
    meter.add_text("x" * 40)  # 10 tokens
    clock.advance(2)
    assert meter.reading().tokens_per_s == pytest.approx(10 / 2)


def test_no_rate_for_a_single_token_or_an_instant() -> None:
    meter, clock = make_meter()
    meter.start()
    meter.add_text("x")
    clock.advance(5)
    assert meter.reading().tokens_per_s is None  # one token has no rate
    meter2, clock2 = make_meter()
    meter2.start()
    meter2.add_text("x" * 400)
    meter2.finish("ok")
    assert meter2.reading().tokens_per_s is None  # all at once: no span to divide by


def test_rate_with_a_clock_that_starts_at_zero() -> None:
    # A fake clock at 0.0 must not be mistaken for "no last token".
    meter, clock = make_meter(start=0.0)
    meter.start()
    meter.add_text("x" * 400)
    clock.advance(10)
    meter.finish("ok")
    reading = meter.reading()
    assert reading.ttft_s == 0.0
    assert reading.tokens_per_s is None
    assert reading.elapsed_s == 10


def test_status_moves_through_the_stream() -> None:
    meter, _ = make_meter()
    assert meter.status == "waiting"
    meter.start()
    assert meter.status == "connecting"
    meter.add_text("a")
    assert meter.status == "streaming"
    meter.finish("interrupted")
    assert meter.reading().status == "interrupted"


def test_summary_marks_estimates_and_served_model() -> None:
    meter, clock = make_meter()
    meter.start()
    clock.advance(0.5)
    meter.add_text("hello world!")
    line = meter_summary(meter.reading(), "gpt-4o-2024-08-06", "gpt-4o")
    assert "in ~20" in line and "out ~3" in line
    assert "estimate" in line
    assert "ttft 0.50s" in line
    assert line.endswith("served by gpt-4o-2024-08-06")
    meter.add_usage(UsageReport(input_tokens=21, output_tokens=4, reasoning_tokens=2))
    line = meter_summary(meter.reading(), "gpt-4o", "gpt-4o")
    assert "in 21" in line and "out 4 (think 2)" in line
    assert "~" not in line and "estimate" not in line and "served by" not in line


@pytest.mark.parametrize(("n", "text"), [(None, "?"), (0, "0"), (999, "999"), (1234, "1.2k"), (123456, "123k")])
def test_format_count(n, text) -> None:
    assert format_count(n) == text


@pytest.mark.parametrize(("s", "text"), [(None, "–"), (0.823, "0.82s"), (12.34, "12.3s")])
def test_format_seconds(s, text) -> None:
    assert format_seconds(s) == text


async def test_ttft_counts_from_the_try_that_answered_and_elapsed_from_the_first(openai_stub, monkeypatch) -> None:
    """A 2 s rate-limit wait is not the model's time to first token (it stays in elapsed)."""
    from servers.openai_stub import SSE, completion, error_status
    from workbench.domain import ChatRequest, ModelInfo, Prices, ProviderConfig
    from workbench.providers.http import make_client
    from workbench.runner import new_result, stream_answer

    now = [100.0]  # a clock that moves only while the backoff "sleeps"
    monkeypatch.setattr("workbench.meter.clock_source", lambda: (lambda: now[0]))

    async def clock_sleep(seconds: float) -> None:
        now[0] += seconds

    openai_stub.script = [error_status(429, "slow down", headers={"Retry-After": "2"}), SSE(completion("Hi."))]
    provider = ProviderConfig(name="stub", kind="openai", base_url=openai_stub.base_url)
    model = ModelInfo(id="m", provider="stub", name="M", upstream="m", prices=Prices(output_per_m=Decimal(1)))
    result = new_result(model, provider, ChatRequest(prompt="hi"), TokenCounter())
    async with make_client() as client:
        await stream_answer(client, result, None, sleep=clock_sleep, rand=lambda: 0.0)
    reading = result.reading()
    assert result.retries == 1 and result.text == "Hi."
    assert reading.ttft_s == 0.0 and reading.elapsed_s == 2.0
