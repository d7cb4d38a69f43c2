"""Meter readings as short text, shared by the app's meter bar and `ask`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.catalog import format_usd
from workbench.meter import MAYBE_BILLED, NOT_BILLED, MeterReading
from workbench.safety import sanitize

if TYPE_CHECKING:  # the meter bar uses this module without needing the runner's imports
    from workbench.runner import AnswerResult


def format_count(n: int | None) -> str:
    """1234 → 1.2k; None → ?"""
    if n is None:
        return "?"
    if n < 1000:
        return str(n)
    if n < 100_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1000:.0f}k"


def format_cost(reading: MeterReading) -> str:
    """The cost, with the unknown parts named: '$0.0012', '$0.0003 + input ?', 'cost unknown';
    a call that failed before its answer: 'not billed' or 'cost unknown (may be billed)'."""
    if reading.reported_cost_usd is not None:
        return f"{format_usd(reading.reported_cost_usd)} (reported)"
    if reading.billing == NOT_BILLED:
        return "$0 (not billed)"
    if reading.billing == MAYBE_BILLED:
        return "cost unknown (may be billed)"
    cost = reading.cost
    total = cost.total_usd
    if total is not None:
        return format_usd(total)
    unknown = cost.unknown_parts
    if "output" in unknown and cost.known_usd == 0:
        return "cost unknown"
    return f"{format_usd(cost.known_usd)} + {' & '.join(unknown)} ?"


def format_seconds(s: float | None) -> str:
    """0.82 → 0.82s; 12.3 → 12.3s; None → –"""
    if s is None:
        return "–"
    return f"{s:.2f}s" if s < 10 else f"{s:.1f}s"


def meter_summary(reading: MeterReading, served: str | None = None, requested: str | None = None, *,
                  blind: bool = False) -> str:
    """One line: tokens, cost, TTFT, rate, elapsed, status ('cut off (max tokens)' for an answer
    stopped at the token cap, whose status stays ``ok``).

    ``blind``: a blind round not yet revealed. The cost would name the model (prices are
    public), so would the input count (each vendor's tokenizer counts the same prompt its own
    way) and the served model: they wait for the reveal; output tokens and timings stay.
    """
    mark = "" if reading.exact else "~"
    shown_in = "–" if blind else f"{mark}{format_count(reading.input_tokens)}"
    parts = [f"in {shown_in}", f"out {mark}{format_count(reading.output_tokens)}"]
    if reading.reasoning_tokens:
        parts[-1] += f" (think {format_count(reading.reasoning_tokens)})"
    if reading.cache_write_tokens and not blind:  # billed above the input price: worth seeing
        parts[0] += f" (cache write {format_count(reading.cache_write_tokens)})"
    parts.append("cost hidden" if blind else format_cost(reading))
    parts.append(f"ttft {format_seconds(reading.ttft_s)}")
    if reading.tokens_per_s is not None:
        parts.append(f"{reading.tokens_per_s:.0f} tok/s")
    parts.append(format_seconds(reading.elapsed_s))
    parts.append(reading.shown_status + ("" if reading.exact else " · estimate"))
    line = " · ".join(parts)
    if served and requested and served != requested and not blind:
        line += f" · served by {sanitize(served)}"  # the server's words: untrusted
    return line


def meter_line(result: AnswerResult, *, blind: bool = False) -> str:
    """One line of meter figures for an answer, as the app's meter shows them (``blind``: see
    ``meter_summary``)."""
    return meter_summary(result.reading(), result.served_model, result.model.upstream, blind=blind)
