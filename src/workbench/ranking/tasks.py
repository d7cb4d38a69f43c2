"""Per-task results of the leaderboard (C5): the notes' per-task tables, task order, repeat spread.

Kept apart from ``ranking`` to keep each module readable; ``ranking`` re-exports the public
names, so callers import them from there. Pure functions over ``workbench.ranking.evidence`` rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from workbench.ranking.evidence import AnswerStat, ScoreRow

TENTH = Decimal("0.1")

# Two points on a 1–10 scale is the gap between "good" and "excellent" in the notes' tables
# (their per-task scores span 8.5–9.5): a model whose repeats differ that much gives a score
# that says little about its next answer. Decimal so that 9.0 − 7.0 is exactly on the edge.
UNSTABLE_SPREAD = Decimal("2.0")
UNSTABLE_PREFIX = "unstable across repeats"


def _tenth(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def _dec(score: float) -> Decimal:
    # str() first: 8.7 must be Decimal("8.7"), not its binary tail, or 8.75 could round down.
    return Decimal(str(score))


def range_text(low: float, high: float) -> str:
    """'6.5–9.0': a spread of scores, each shown as the tables show a score."""
    return f"{_tenth(_dec(low))}–{_tenth(_dec(high))}"


@dataclass(frozen=True)
class TaskEntry:
    """One model's result on one task."""

    model_id: str
    name: str
    score: float
    score_shown: Decimal
    n: int
    notes: tuple[str, ...]  # non-empty notes, latest first
    # lowest and highest single score (repeats); None only for entries built by older callers
    low: float | None = None
    high: float | None = None

    @property
    def spread_text(self) -> str:
        """'6.5–9.0' when the task was scored more than once, else ''."""
        if self.n < 2 or self.low is None or self.high is None:
            return ""
        return range_text(self.low, self.high)


@dataclass(frozen=True)
class TaskResult:
    """The per-task table: entries best first, and who won."""

    task: str
    entries: tuple[TaskEntry, ...]
    winners: tuple[str, ...]

    @property
    def winner_text(self) -> str:
        """'DeepSeek-R1', 'Tie — A & B' or 'Tie — A, B & C' (the notes' wording)."""
        if not self.winners:
            return "—"
        if len(self.winners) == 1:
            return self.winners[0]
        return f"Tie — {', '.join(self.winners[:-1])} & {self.winners[-1]}"


def task_order(scores: Iterable[ScoreRow], answers: Iterable[AnswerStat], given: Sequence[str] = ()) -> list[str]:
    """Every task in the evidence: those of ``given`` (a suite's order) first, in that order;
    the rest in the order they were first run, then by id.

    Answers count as well as scores: a suite session runs every task once before any repeat,
    so the first *answer* of each task is in suite order even when only a later repeat of a
    task was scored.
    """
    first: dict[str, str] = {}
    for x in (*scores, *answers):
        if x.task:
            first[x.task] = min(first.get(x.task, x.run_at), x.run_at)
    pos = {t: i for i, t in enumerate(given)}
    return sorted(first, key=lambda t: (t not in pos, pos.get(t, 0), first[t], t))


def unstable_reason(scores: Iterable[ScoreRow], order: Sequence[str]) -> str | None:
    """'unstable across repeats: task T scores 6.0–9.0' for one model's scores, or None.

    A model is unstable when, on any task it was scored on at least twice, its highest and
    lowest score differ by UNSTABLE_SPREAD (2.0 points) or more; every such task is named, in
    ``order``. Free-form prompts are left out: each is its own one-off question, not a repeat.
    """
    by_task: dict[str, list[Decimal]] = defaultdict(list)
    for s in scores:
        if s.task:
            by_task[s.task].append(_dec(s.score))
    rank = {t: i for i, t in enumerate(order)}
    parts = []
    for task in sorted(by_task, key=lambda t: (rank.get(t, len(rank)), t)):
        values = by_task[task]
        if len(values) >= 2 and max(values) - min(values) >= UNSTABLE_SPREAD:
            parts.append(f"task {task} scores {range_text(float(min(values)), float(max(values)))}")
    return f"{UNSTABLE_PREFIX}: {', '.join(parts)}" if parts else None


def task_results(scores: Iterable[ScoreRow], names: Mapping[str, str], order: Sequence[str]) -> tuple[TaskResult, ...]:
    """One TaskResult per task that has scores, in ``order`` (see ``task_order``)."""
    by_task: dict[str, dict[str, list[ScoreRow]]] = defaultdict(lambda: defaultdict(list))
    for s in scores:
        if s.task is None:
            continue  # a free-form prompt is not a task anyone else answered
        by_task[s.task][s.model_id].append(s)
    rank = {t: i for i, t in enumerate(order)}
    results = []
    for task in sorted(by_task, key=lambda t: (rank.get(t, len(rank)), t)):
        entries = []
        for model_id, rows in by_task[task].items():
            mean = sum((_dec(r.score) for r in rows), Decimal(0)) / len(rows)
            latest_first = sorted(rows, key=lambda r: (r.scored_at, r.answer_id), reverse=True)
            entries.append(TaskEntry(
                model_id=model_id,
                name=names.get(model_id, model_id),
                score=float(mean),
                score_shown=_tenth(mean),
                n=len(rows),
                notes=tuple(r.note.strip() for r in latest_first if r.note.strip()),
                low=min(r.score for r in rows),
                high=max(r.score for r in rows),
            ))
        entries.sort(key=lambda e: (-e.score, e.name.casefold(), e.model_id))
        best = max(e.score_shown for e in entries)
        winners = tuple(e.name for e in entries if e.score_shown == best)
        results.append(TaskResult(task, tuple(entries), winners))
    return tuple(results)
