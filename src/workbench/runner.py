"""Stream one model's answer into an AnswerResult: provider events -> meter -> typed record.

The TUI (one worker per pane), ``workbench ask`` and suite runs each call ``stream_answer``
once per model; a ``sink`` receives every event as it arrives; the meter is updated here.
``rounds.RoundRecorder`` saves what comes of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.config import api_key_for
from workbench.domain import (
    AnswerFinal,
    AnswerStart,
    AnswerStatus,
    ChatRequest,
    ModelInfo,
    ProviderConfig,
    cut_off_label,
    normalise_finish_reason,
)
from workbench.meter import Meter, MeterReading, estimate_prompt_tokens
from workbench.providers import errors
from workbench.providers.base import make_provider
from workbench.providers.events import (
    ReasoningDelta,
    RetryNotice,
    ServedModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from workbench.providers.retry import RetryPolicy, Sleep, stream_with_retries
from workbench.tokens import TokenCounter

if TYPE_CHECKING:  # httpx and the reader cost ~35 ms to import: not before the first frame (Q2)
    import httpx

    from workbench.providers.reader_process import ReaderProcess

EventSink = Callable[[StreamEvent], None]


@dataclass
class AnswerResult:
    """One model's answer to one prompt, however it ended."""

    model: ModelInfo
    provider: ProviderConfig
    request: ChatRequest
    meter: Meter
    text_parts: list[str] = field(default_factory=list)
    reasoning_parts: list[str] = field(default_factory=list)
    served_model: str | None = None
    status: AnswerStatus = AnswerStatus.STREAMING
    error: errors.ProviderError | None = None
    finish_reason: str | None = None  # as the provider spelled it (``ask --json`` prints it so)
    answer_id: int | None = None
    retries: int = 0  # requests sent again after a failure before the answer began

    @property
    def text(self) -> str:
        """The answer so far."""
        if len(self.text_parts) > 1:
            self.text_parts[:] = ["".join(self.text_parts)]
        return self.text_parts[0] if self.text_parts else ""

    @property
    def reasoning(self) -> str:
        """The reasoning so far."""
        if len(self.reasoning_parts) > 1:
            self.reasoning_parts[:] = ["".join(self.reasoning_parts)]
        return self.reasoning_parts[0] if self.reasoning_parts else ""

    @property
    def stop_reason(self) -> str | None:
        """The finish reason in one spelling (``domain.normalise_finish_reason``), once the answer
        ended ``ok``; None before, or after a failure (the stream did not end as the provider said)."""
        if self.status != AnswerStatus.OK:
            return None
        return normalise_finish_reason(self.finish_reason)

    @property
    def cut_off(self) -> bool:
        """True when the answer ended ``ok`` but stopped at a limit (max tokens, context window)."""
        return cut_off_label(self.stop_reason) is not None

    @property
    def effective_temperature(self) -> float | None:
        """The temperature actually sent."""
        return self.model.temperature if self.model.temperature is not None else self.request.temperature

    def reading(self) -> MeterReading:
        """The meter now."""
        return self.meter.reading()

    def start_record(self, blind_label: str | None = None) -> AnswerStart:
        """What the store records when this answer starts to stream."""
        return AnswerStart(model=self.model, temperature=self.effective_temperature, blind_label=blind_label)

    def final_record(self) -> AnswerFinal:
        """What the store records of this answer as it is now (its final state once it ended)."""
        reading, err = self.reading(), self.error
        cost = reading.cost
        return AnswerFinal(
            status=self.status, text=self.text, reasoning=self.reasoning, served_model=self.served_model,
            input_tokens=reading.input_tokens, output_tokens=reading.output_tokens,
            reasoning_tokens=reading.reasoning_tokens, cached_input_tokens=reading.cached_input_tokens,
            tokens_exact=reading.exact, cost_usd=cost.total_usd, input_cost_usd=cost.all_input_usd,
            output_cost_usd=cost.output_usd, reported_cost_usd=reading.reported_cost_usd,
            ttft_ms=_ms(reading.ttft_s), duration_ms=_ms(reading.elapsed_s),
            error_kind=err.kind if err else None, error_message=err.message if err else None,
            http_status=err.http_status if err else None,
            cache_write_tokens=reading.cache_write_tokens, cache_write_1h_tokens=reading.cache_write_1h_tokens,
            cached_input_cost_usd=cost.cached_input_usd, cache_write_cost_usd=cost.cache_write_usd,
            billing_note=reading.billing, finish_reason=self.stop_reason,
        )


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def new_result(model: ModelInfo, provider: ProviderConfig, request: ChatRequest, counter: TokenCounter) -> AnswerResult:
    """An AnswerResult with a fresh meter for this model and request."""
    meter = Meter(model.prices, counter, estimate_prompt_tokens(counter, request.prompt, request.system))
    return AnswerResult(model=model, provider=provider, request=request, meter=meter)


async def stream_answer(
    client: httpx.AsyncClient,
    result: AnswerResult,
    sink: EventSink | None = None,
    deadline_s: float | None = None,
    *,
    sleep: Sleep | None = None,
    rand: Callable[[], float] = random.random,
    reader: ReaderProcess | None = None,
) -> AnswerResult:
    """Stream one answer into ``result``; never raises except CancelledError (after marking it).

    A failure before the answer began is retried by the provider's policy (providers/retry.py;
    the sink gets a ``RetryNotice`` before each wait); ``deadline_s`` bounds the whole,
    retries included. A final failure before any text is ``error``; after some text,
    ``interrupted`` (the partial text is kept). Cancellation marks ``cancelled`` and re-raises
    so the task really ends. ``sleep`` and ``rand`` are test seams for the backoff. With a
    ``reader``, each try runs in that stream reader process instead of on this event loop.
    """
    meter = result.meter
    meter.start()
    try:
        key = api_key_for(result.provider)
        if not key and result.provider.api_key_env and not result.provider.is_local:
            raise errors.MissingKeyError(
                f"no API key: set the environment variable {result.provider.api_key_env}"
            )
        provider = make_provider(result.provider, key) if reader is None else reader.provider(result.provider, key)
        policy = RetryPolicy(max_retries=result.provider.max_retries)
        loop = asyncio.get_running_loop()
        deadline_at = loop.time() + deadline_s if deadline_s is not None else None
        from workbench.providers.http import client_for  # with the first stream, not at start-up

        http_context = client_for(client, result.provider) if reader is None else contextlib.nullcontext(client)
        async with http_context as http, asyncio.timeout(deadline_s):
            events = stream_with_retries(
                lambda: provider.stream(http, result.model, result.request),
                policy, sleep=sleep, rand=rand, clock=loop.time, deadline_at=deadline_at,
                on_attempt=lambda _n: meter.attempt_started(),
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    _apply(result, event)
                    if sink is not None:
                        sink(event)
        result.status = AnswerStatus.OK
    except asyncio.CancelledError:
        result.status = AnswerStatus.CANCELLED
        meter.finish(result.status.value)
        raise
    except TimeoutError:
        result.error = errors.ReadTimeoutError(f"the answer took longer than the {deadline_s:g} s deadline")
        result.status = _failed_status(result)
    except errors.ProviderError as exc:
        result.error = exc
        result.status = _failed_status(result)
    # the error's kind tells the meter whether a call that failed before its answer was billed
    meter.finish(result.status.value, result.error.kind if result.error is not None else None,
                 finish_reason=result.stop_reason)
    return result


def _failed_status(result: AnswerResult) -> AnswerStatus:
    return AnswerStatus.INTERRUPTED if (result.text_parts or result.reasoning_parts) else AnswerStatus.ERROR


def _apply(result: AnswerResult, event: StreamEvent) -> None:
    if isinstance(event, TextDelta):
        result.text_parts.append(event.text)
        result.meter.add_text(event.text)
    elif isinstance(event, ReasoningDelta):
        result.reasoning_parts.append(event.text)
        result.meter.add_text(event.text)
    elif isinstance(event, UsageReport):
        result.meter.add_usage(event)
    elif isinstance(event, ServedModel):
        result.served_model = event.name
    elif isinstance(event, StreamEnd):
        result.finish_reason = event.finish_reason
    elif isinstance(event, RetryNotice):
        result.retries += 1
