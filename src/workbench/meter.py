"""The meter under each pane: a pure accumulator of tokens, time and cost (C2).

While a stream runs, counts are estimates (TokenCounter); a provider's usage report replaces
them with exact numbers. Cost uses Decimal and never treats an unknown price as zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from workbench.catalog import Cost, cost_of
from workbench.domain import Prices, cut_off_label
from workbench.providers.events import UsageReport
from workbench.tokens import TokenCounter

# Chat formats add a few tokens per message around the text (OpenAI's documented overhead).
TOKENS_PER_MESSAGE = 4
TOKENS_PER_REPLY = 3


def clock_source() -> Callable[[], float]:
    """The clock new meters use (a seam for deterministic tests and snapshots)."""
    return time.monotonic


#: A call that failed before any of the answer and that the provider refused or never received
#: (an HTTP error status, a connection that never opened, a missing key): nothing was billed.
NOT_BILLED = "not billed: failed before the answer"
#: A call that failed before any of the answer after the provider took it (a stall, a cut, an
#: error event, a refusal, a cancel): it may have billed the prompt, and no usage says how much.
MAYBE_BILLED = "may be billed: failed before the answer, and no usage was reported"
#: Error kinds (providers/errors.py) of a call refused before the model ran: an HTTP status
#: (401/403, 404, 429, 5xx, any other), or no connection at all (refused, DNS, TLS).
_REFUSED_KINDS = frozenset({"auth", "not_found", "rate_limited", "server", "http", "connect"})


@dataclass(frozen=True)
class MeterReading:
    """A snapshot of a meter, for display and for the store.

    ``billing`` is set when a call failed before any of its answer and no usage came: then the
    counts and the cost say what was billed (``NOT_BILLED``: nothing) or that it is unknown
    (``MAYBE_BILLED``), never an estimate of a charge that may not exist.
    """

    input_tokens: int | None
    output_tokens: int
    reasoning_tokens: int | None
    cached_input_tokens: int
    exact: bool
    cost: Cost
    reported_cost_usd: Decimal | None
    ttft_s: float | None
    tokens_per_s: float | None
    elapsed_s: float
    status: str
    counting: str
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    billing: str | None = None
    #: why the answer ended, normalised (``domain.normalise_finish_reason``); "length": max tokens
    finish_reason: str | None = None

    @property
    def shown_status(self) -> str:
        """The status as a reader should see it: 'cut off (max tokens)' for an answer that ended
        ``ok`` at the token cap (its status stays ``ok``, SPEC I4), else the status itself."""
        label = cut_off_label(self.finish_reason) if self.status == "ok" else None
        return label or self.status


def estimate_prompt_tokens(counter: TokenCounter, prompt: str, system: str = "") -> int:
    """Input tokens of a chat request, estimated."""
    messages = [m for m in (system, prompt) if m]
    return sum(counter.count(m) + TOKENS_PER_MESSAGE for m in messages) + TOKENS_PER_REPLY


class Meter:
    """Accumulates one answer's tokens, timings and cost."""

    def __init__(
        self,
        prices: Prices,
        counter: TokenCounter,
        prompt_tokens_estimate: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.prices = prices
        self.counter = counter
        # looked up at construction, not import, so tests can replace `clock_source`
        self._clock = clock or clock_source()
        self._input_estimate = prompt_tokens_estimate
        self._pending: list[str] = []
        self._estimated_output = 0
        self._usage: UsageReport | None = None
        self.started_at: float | None = None
        self.attempt_at: float | None = None  # when the try that answered was sent (after retries)
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self.ended_at: float | None = None
        self.status = "waiting"
        self._billing: str | None = None  # NOT_BILLED / MAYBE_BILLED, decided by `finish`
        self.finish_reason: str | None = None

    def start(self) -> None:
        """The request is being sent."""
        self.started_at = self._clock()
        self.status = "connecting"

    def attempt_started(self) -> None:
        """A try of the request is being sent: time to first token counts from the last one, so
        a rate-limit wait before it is not taken for the model's slowness (elapsed keeps it)."""
        if self.first_token_at is None:
            self.attempt_at = self._clock()

    def add_text(self, text: str) -> None:
        """Answer or reasoning text arrived (both count as output)."""
        now = self._clock()
        if self.first_token_at is None:
            self.first_token_at = now
            self.status = "streaming"
        self.last_token_at = now
        self._pending.append(text)

    def add_usage(self, usage: UsageReport) -> None:
        """Exact counts from the provider."""
        self._usage = usage

    def finish(self, status: str, error_kind: str | None = None, *, finish_reason: str | None = None) -> None:
        """The stream ended with this status (and, for a failure, the error's kind; for an end the
        provider reported, its normalised finish reason, e.g. "length" at the token cap).

        A call that ended without any of its answer and without usage is not charged an
        estimate: refused before the model ran (``error_kind`` an HTTP status or no
        connection) it was not billed; otherwise (a stall, a cut, a cancel…) it is unknown.
        """
        self.ended_at = self._clock()
        self.status = status
        self.finish_reason = finish_reason
        self._billing = None
        if status != "ok" and self.first_token_at is None and self._usage is None:
            self._billing = NOT_BILLED if error_kind in _REFUSED_KINDS else MAYBE_BILLED

    @property
    def exact(self) -> bool:
        """True when the provider reported usage (input included)."""
        return self._usage is not None and self._usage.input_tokens is not None

    def reading(self) -> MeterReading:
        """The meter now (counts pending text once, in one batch)."""
        if self._pending:
            self._estimated_output += self.counter.count("".join(self._pending))
            self._pending.clear()
        now = self.ended_at if self.ended_at is not None else self._clock()
        usage = self._usage
        writes = writes_1h = 0
        if usage is not None:
            input_tokens = usage.input_tokens if usage.input_tokens is not None else self._input_estimate
            output_tokens, reasoning, cached = usage.output_tokens, usage.reasoning_tokens, usage.cached_input_tokens
            writes, writes_1h = usage.cache_write_tokens, usage.cache_write_1h_tokens
        elif self._billing == NOT_BILLED:
            input_tokens, output_tokens, reasoning, cached = 0, 0, None, 0
        elif self._billing == MAYBE_BILLED:
            # the prompt was sent (its estimate stays), but what of it was billed is unknown
            input_tokens, output_tokens, reasoning, cached = self._input_estimate, 0, None, 0
        else:
            input_tokens, output_tokens, reasoning, cached = self._input_estimate, self._estimated_output, None, 0
        reported = _reported_cost(usage.cost_usd if usage is not None else None)
        sent_at = self.attempt_at if self.attempt_at is not None else self.started_at
        ttft = self.first_token_at - sent_at if self.first_token_at is not None and sent_at is not None else None
        rate = None
        if self.first_token_at is not None:
            # `is not None`, not truthiness: a clock reading of 0.0 is a real time (fake clocks).
            end = self.last_token_at if self.ended_at is not None and self.last_token_at is not None else now
            span = end - self.first_token_at
            if span >= 0.05 and output_tokens > 1:
                rate = output_tokens / span
        if self._billing == MAYBE_BILLED:
            cost = Cost(input_usd=None, output_usd=None)
        else:
            cost = cost_of(self.prices, input_tokens or 0, output_tokens, cached, writes, writes_1h)
        # "not billed" is as certain as a usage report: nothing of the answer, nothing charged
        exact = self.exact or self._billing == NOT_BILLED
        return MeterReading(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reasoning_tokens=reasoning,
            cached_input_tokens=cached,
            exact=exact,
            cost=cost,
            reported_cost_usd=reported,
            ttft_s=ttft,
            tokens_per_s=rate,
            elapsed_s=(now - self.started_at) if self.started_at is not None else 0.0,
            status=self.status,
            counting=self._billing or ("provider usage" if self.exact else self.counter.method),
            cache_write_tokens=writes,
            cache_write_1h_tokens=writes_1h,
            billing=self._billing,
            finish_reason=self.finish_reason,
        )


#: No one answer costs this much: a provider's figure above it is garbage, not a bill.
MAX_REPORTED_COST_USD = Decimal(1_000_000)


def _reported_cost(value: str | None) -> Decimal | None:
    """A provider's own cost figure, when it is a sane amount: never NaN, infinite, negative or
    absurd (it reaches `ask --json`, the store and the screen; a bad one is as good as none)."""
    if value is None:
        return None
    try:
        reported = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return reported if reported.is_finite() and 0 <= reported <= MAX_REPORTED_COST_USD else None


def saved_reading(
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    reasoning_tokens: int | None,
    exact: bool,
    cost_usd: Decimal | None,
    ttft_ms: int | None,
    duration_ms: int | None,
    status: str,
    billing: str | None = None,
    finish_reason: str | None = None,
) -> MeterReading:
    """A reading rebuilt from a saved answer (the store keeps the total cost, not its parts);
    ``billing`` is the answer's saved billing note (``StoredAnswer.billing_note``),
    ``finish_reason`` its saved finish reason (``StoredAnswer.finish_reason``)."""
    ttft = ttft_ms / 1000 if ttft_ms is not None else None
    elapsed = duration_ms / 1000 if duration_ms is not None else 0.0
    rate = None
    if ttft is not None and output_tokens and elapsed - ttft >= 0.05:
        rate = output_tokens / (elapsed - ttft)
    return MeterReading(
        input_tokens=input_tokens,
        output_tokens=output_tokens or 0,
        reasoning_tokens=reasoning_tokens,
        cached_input_tokens=0,
        exact=exact,
        cost=Cost(input_usd=cost_usd, output_usd=Decimal(0)),
        reported_cost_usd=None,
        ttft_s=ttft,
        tokens_per_s=rate,
        elapsed_s=elapsed,
        status=status,
        counting=billing or ("provider usage" if exact else "saved estimate"),
        billing=billing,
        finish_reason=finish_reason,
    )
