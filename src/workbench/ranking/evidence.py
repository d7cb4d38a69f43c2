"""The rows the store hands to the ranking maths, and the filter both understand.

Kept apart from ``store`` and ``ranking`` so neither imports the other: the store reads
SQLite into these rows, ``ranking`` turns them into a leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Answers created by `workbench import-scores` carry this status: they have a score but no
# text, cost or timings, so they count for scores and never for spend or speed.
IMPORTED = "imported"


@dataclass(frozen=True)
class ScoreRow:
    """The latest score of one answer, with what the ranking needs to know about it."""

    answer_id: int
    run_id: int
    model_id: str
    model_name: str  # the display name stored with the answer
    task: str | None  # runs.task; None for a free-form prompt
    suite: str | None
    score: float  # overall, 1–10 (a criteria mean may have more than one decimal)
    note: str
    blind: bool
    scorer: str
    scored_at: str  # ISO 8601 UTC
    run_at: str  # ISO 8601 UTC, when the run was created

    @property
    def unit(self) -> str:
        """What the bootstrap resamples: the task, or the run itself for a free-form prompt."""
        return self.task if self.task else f"run:{self.run_id}"


@dataclass(frozen=True)
class AnswerStat:
    """One answer's spend and speed (scored or not), for totals and medians."""

    answer_id: int
    run_id: int
    model_id: str
    model_name: str
    task: str | None
    suite: str | None
    status: str  # ok | error | cancelled | interrupted | streaming | imported
    served_model: str | None
    cost_usd: Decimal | None  # None: not known (a price was unknown), never zero by default
    ttft_ms: int | None
    duration_ms: int | None
    output_tokens: int | None
    output_per_m: Decimal | None  # the output price in force when the answer was made
    run_at: str
    # the parts of the cost whose price was known (the output, say, when the input price is not)
    known_cost_usd: Decimal = Decimal(0)
    # ended ok but stopped at a limit (max tokens, context window): counted apart on the board
    cut_off: bool = False

    @property
    def spend_usd(self) -> Decimal:
        """What this answer is known to have cost (the whole cost when every price was known)."""
        return self.cost_usd if self.cost_usd is not None else self.known_cost_usd


@dataclass(frozen=True)
class RankFilter:
    """Which evidence the leaderboard looks at. Dates are ISO days (YYYY-MM-DD), inclusive."""

    task: str | None = None
    suite: str | None = None
    since: str | None = None
    until: str | None = None
    scorer: str | None = None  # applies to scores only


def is_scorable(text: str) -> bool:
    """An answer can be scored when it has any text, whatever its status (a cut-off answer
    with text can be judged; a failed call with none cannot)."""
    return bool(text.strip())


FILTER_KEYS = ("task", "suite", "since", "until", "scorer")


def parse_filter(text: str) -> RankFilter:
    """``task:flatten suite:coding-2026 since:2026-11-01 until:2026-11-30 scorer:me`` → RankFilter.

    A bare word is a task. Raises ValueError with a one-line message for a bad key or date.
    """
    values: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition(":")
        if not sep:
            key, value = "task", word
        key = key.lower()
        if key not in FILTER_KEYS:
            raise ValueError(f"unknown filter {key!r}; use {', '.join(k + ':' for k in FILTER_KEYS)}")
        if not value:
            raise ValueError(f"{key}: needs a value")
        if key in ("since", "until"):
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{key}: {value!r} is not a date like 2026-11-27") from None
        values[key] = value
    return RankFilter(**values)


def describe_filter(filt: RankFilter) -> str:
    """The filter as the text ``parse_filter`` reads ('' when it filters nothing)."""
    return " ".join(f"{k}:{getattr(filt, k)}" for k in FILTER_KEYS if getattr(filt, k))
