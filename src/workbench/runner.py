"""Fan one prompt out to N models and turn each stream into an AnswerResult.

Used by the TUI (one worker per pane calls ``stream_answer``) and by ``workbench ask``
(``run_round``). A ``sink`` receives every event as it arrives; the meter is updated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from workbench.config import api_key_for
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, ProviderConfig
from workbench.meter import Meter, MeterReading, estimate_prompt_tokens
from workbench.providers import errors
from workbench.providers.base import make_provider
from workbench.providers.reader_process import ReaderProcess
from workbench.providers.http_client import client_for, make_client  # noqa: F401 (make_client: re-exported)
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
    finish_reason: str | None = None
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
    def effective_temperature(self) -> float | None:
        """The temperature actually sent."""
        return self.model.temperature if self.model.temperature is not None else self.request.temperature

    def reading(self) -> MeterReading:
        """The meter now."""
        return self.meter.reading()


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
    meter.finish(result.status.value)
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


async def run_round(
    client: httpx.AsyncClient,
    results: list[AnswerResult],
    on_event: Callable[[AnswerResult, StreamEvent], None] | None = None,
) -> list[AnswerResult]:
    """Stream every answer at once; one failing never stops the others."""

    def sink_for(result: AnswerResult) -> EventSink | None:
        if on_event is None:
            return None
        return lambda event: on_event(result, event)

    await asyncio.gather(*(stream_answer(client, r, sink_for(r)) for r in results))
    return results
