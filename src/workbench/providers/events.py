"""Typed stream events: what every provider adapter yields, whatever its wire format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning ("thinking") text, shown apart from the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Token counts reported by the provider: exact, they replace the estimates.

    ``input_tokens`` includes ``cached_input_tokens`` (cache reads) and ``cache_write_tokens``
    (tokens written to the prompt cache, of which ``cache_write_1h_tokens`` with a one-hour
    lifetime); ``output_tokens`` includes ``reasoning_tokens`` (the OpenAI convention, which
    adapters normalise to). ``input_tokens`` is None when the provider did not report it.
    ``cost_usd`` is a cost the provider reported itself (OpenRouter's ``cost``, xAI's ticks), as
    a decimal string.
    """

    input_tokens: int | None
    output_tokens: int
    reasoning_tokens: int | None = None
    cached_input_tokens: int = 0
    cost_usd: str | None = None
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ServedModel:
    """The model name the response carries (may differ from the one requested)."""

    name: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The stream finished normally; ``finish_reason`` as the provider said it."""

    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """The request failed before any of the answer arrived and will be sent again."""

    message: str  # e.g. "429 rate limited — retrying in 2 s (try 2 of 3)"
    attempt: int  # the try about to be made, from 2
    attempts: int  # tries in all
    delay_s: float


StreamEvent = TextDelta | ReasoningDelta | UsageReport | ServedModel | StreamEnd | RetryNotice
