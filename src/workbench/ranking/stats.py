"""Leaderboard maths (C5): mean scores, bootstrap intervals, value, spend, speed, frontier.

Pure functions over the evidence rows of ``workbench.ranking.evidence``; no store, no UI. Money and
the shown figures are Decimal so that a published table can be checked by hand (the notes'
8.7 / 0.25 = 34.8); the bootstrap works in floats because it only feeds an interval.
"""

from __future__ import annotations

import random
import statistics
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from workbench.domain import ModelInfo
from workbench.ranking.evidence import IMPORTED, AnswerStat, ScoreRow
from workbench.ranking.tasks import (
    UNSTABLE_SPREAD,
    TaskEntry,
    TaskResult,
    _dec,
    _tenth,
    task_order,
    task_results,
    unstable_reason,
)

__all__ = ["UNSTABLE_SPREAD", "Interval", "LeaderRow", "Leaderboard", "SORT_KEYS", "TaskEntry", "TaskResult",
           "Totals", "build_leaderboard", "sort_rows"]
MIN_SCORES_FOR_CI = 3
ROUTED_REASON = "routing tier"


@dataclass(frozen=True)
class Interval:
    """A 95% interval; bounds are floats because they come out of a resampling."""

    low: float
    high: float


@dataclass(frozen=True)
class LeaderRow:
    """One model on the leaderboard."""

    model_id: str
    name: str
    score: float | None  # mean over units of the per-unit mean score
    score_shown: Decimal | None  # one decimal, ROUND_HALF_UP: what tables print and value uses
    n: int
    ci: Interval | None
    price_per_m: Decimal | None
    value: Decimal | None
    value_ci: Interval | None
    spend_usd: Decimal
    spend_unknown: int
    answers: int
    median_ttft_ms: float | None
    median_tps: float | None
    flag: str
    flag_reasons: tuple[str, ...]
    frontier: bool = False
    best_value: bool = False
    # answers that ended ok but stopped at a token limit: among ``answers``, counted apart
    cut_off: int = 0


@dataclass(frozen=True)
class Totals:
    """Spend and time over every non-imported answer on the board."""

    spend_usd: Decimal
    answers: int
    spend_unknown: int
    # Summed answer durations: models of one round answer in parallel, so this is the time
    # spent waiting on models, not the time the study took (see ``span_s``).
    answer_ms: int = 0
    untimed: int = 0  # answers without a duration (cut off before one was recorded)
    first_run_at: str | None = None  # ISO 8601, when the earliest answered run was created
    last_run_at: str | None = None
    cut_off: int = 0  # answers stopped at a token limit (among ``answers``)

    @property
    def span_s(self) -> float | None:
        """Seconds from the first run's start to the last run's start; None for one run or a
        run time that does not parse (the store writes ISO 8601, an old import may not)."""
        if not self.first_run_at or not self.last_run_at or self.first_run_at == self.last_run_at:
            return None
        try:
            first = datetime.fromisoformat(self.first_run_at)
            last = datetime.fromisoformat(self.last_run_at)
            return (last - first).total_seconds()
        except (TypeError, ValueError):  # TypeError: one naive, one aware
            return None


@dataclass(frozen=True)
class Leaderboard:
    """Rows in the default order (score, then value, then name), per-task results, totals."""

    rows: tuple[LeaderRow, ...]
    tasks: tuple[TaskResult, ...]
    totals: Totals

    @property
    def has_scores(self) -> bool:
        """True when at least one model has a score."""
        return any(r.n for r in self.rows)


def build_leaderboard(
    scores: list[ScoreRow],
    answers: list[AnswerStat],
    models: Mapping[str, ModelInfo],
    *,
    seed: int = 2026,
    resamples: int = 2000,
    tasks: Sequence[str] = (),
) -> Leaderboard:
    """Turn the latest scores and the answers' spend and speed into a leaderboard.

    Every model with a score or an answer gets a row. The result does not depend on the
    order of the input rows: everything is sorted before it is resampled. ``tasks`` is a
    suite's task order for the per-task results; tasks not in it follow in the order they
    were first run.

    Flags (``*``, and never best value): a routing tier; a model whose served model varied;
    a model whose scores on one task differ by UNSTABLE_SPREAD (2.0 points) or more across
    repeats (``ranking.tasks.unstable_reason``).
    """
    scores = sorted(scores, key=lambda s: (s.model_id, s.unit, s.scored_at, s.answer_id))
    answers = sorted(answers, key=lambda a: (a.model_id, a.run_at, a.answer_id))
    by_model_scores: dict[str, list[ScoreRow]] = defaultdict(list)
    by_model_answers: dict[str, list[AnswerStat]] = defaultdict(list)
    for s in scores:
        by_model_scores[s.model_id].append(s)
    for a in answers:
        by_model_answers[a.model_id].append(a)

    order = task_order(scores, answers, tasks)
    rows = []
    for model_id in sorted(set(by_model_scores) | set(by_model_answers)):
        rows.append(_row(model_id, by_model_scores[model_id], by_model_answers[model_id],
                         models.get(model_id), seed, resamples, order))
    rows = _mark_frontier_and_best(rows)
    rows.sort(key=_default_key)

    counted = [a for a in answers if a.status != IMPORTED]
    run_times = sorted(a.run_at for a in counted if a.run_at)
    totals = Totals(
        spend_usd=sum((a.spend_usd for a in counted), Decimal(0)),
        answers=len(counted),
        spend_unknown=sum(1 for a in counted if a.cost_usd is None),
        answer_ms=sum(a.duration_ms for a in counted if a.duration_ms is not None),
        untimed=sum(1 for a in counted if a.duration_ms is None),
        first_run_at=run_times[0] if run_times else None,
        last_run_at=run_times[-1] if run_times else None,
        cut_off=sum(1 for a in counted if a.cut_off),
    )
    names = {r.model_id: r.name for r in rows}
    return Leaderboard(tuple(rows), task_results(scores, names, order), totals)


def _row(model_id: str, scores: list[ScoreRow], answers: list[AnswerStat], info: ModelInfo | None,
         seed: int, resamples: int, order: Sequence[str]) -> LeaderRow:
    mean = _mean_of_unit_means(scores)
    shown = _tenth(mean) if mean is not None else None
    ci = None
    if len(scores) >= MIN_SCORES_FOR_CI:
        rng = random.Random(seed * 2**32 + zlib.crc32(model_id.encode("utf-8")))
        ci = _bootstrap(_units(scores), rng, resamples)

    price = _price(info, answers)
    value = value_ci = None
    if shown is not None and price is not None and price > 0:
        value = _tenth(shown / price)
        if ci is not None:
            value_ci = Interval(_clean(ci.low / float(price)), _clean(ci.high / float(price)))

    counted = [a for a in answers if a.status != IMPORTED]
    ok = [a for a in counted if a.status == "ok"]
    ttfts = [a.ttft_ms for a in ok if a.ttft_ms is not None]
    rates = [r for r in (_tokens_per_s(a) for a in ok) if r is not None]

    reasons = []
    if info is not None and info.routed:
        reasons.append(ROUTED_REASON)
    served = sorted({a.served_model for a in answers if a.served_model})
    if len(served) > 1:
        reasons.append(f"served model varied: {', '.join(served)}")
    unstable = unstable_reason(scores, order)
    if unstable:
        reasons.append(unstable)

    return LeaderRow(
        model_id=model_id,
        name=_name(model_id, info, scores, answers),
        score=float(mean) if mean is not None else None,
        score_shown=shown,
        n=len(scores),
        ci=ci,
        price_per_m=price,
        value=value,
        value_ci=value_ci,
        spend_usd=sum((a.spend_usd for a in counted), Decimal(0)),
        spend_unknown=sum(1 for a in counted if a.cost_usd is None),
        answers=len(counted),
        median_ttft_ms=float(statistics.median(ttfts)) if ttfts else None,
        median_tps=float(statistics.median(rates)) if rates else None,
        flag="*" if reasons else "",
        flag_reasons=tuple(reasons),
        cut_off=sum(1 for a in counted if a.cut_off),
    )


def _units(scores: list[ScoreRow]) -> list[list[float]]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        grouped[s.unit].append(s.score)
    return [sorted(grouped[u]) for u in sorted(grouped)]


def _mean_of_unit_means(scores: list[ScoreRow]) -> Decimal | None:
    # The notes' "overall = average of the task scores": a task scored five times must not
    # outweigh a task scored once.
    grouped: dict[str, list[Decimal]] = defaultdict(list)
    for s in scores:
        grouped[s.unit].append(_dec(s.score))
    if not grouped:
        return None
    unit_means = [sum(v, Decimal(0)) / len(v) for v in grouped.values()]
    return sum(unit_means, Decimal(0)) / len(unit_means)


def _bootstrap(units: list[list[float]], rng: random.Random, resamples: int) -> Interval:
    # Two stages, tasks then scores within a task, because scores of one task are not
    # independent evidence about the model; with one unit this is the plain bootstrap.
    k = len(units)
    means = []
    for _ in range(resamples):
        total = 0.0
        for unit in rng.choices(units, k=k):
            if len(unit) == 1:
                total += unit[0]
            else:
                total += sum(rng.choices(unit, k=len(unit))) / len(unit)
        means.append(total / k)
    means.sort()
    return Interval(_clean(_percentile(means, 0.025)), _clean(_percentile(means, 0.975)))


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _clean(x: float) -> float:
    # Sums of floats leave tails like 8.999999999999998 that would print as noise.
    return round(x, 6)


def _price(info: ModelInfo | None, answers: list[AnswerStat]) -> Decimal | None:
    if info is not None and info.prices.output_per_m is not None:
        return info.prices.output_per_m
    # Not in the catalog (a model since removed from config) or no price there: the price in
    # force when its latest priced answer was made is the best evidence left.
    for a in reversed(answers):  # sorted by run_at, answer_id
        if a.output_per_m is not None:
            return a.output_per_m
    return None


def _tokens_per_s(a: AnswerStat) -> float | None:
    if a.output_tokens is None or a.duration_ms is None or a.ttft_ms is None:
        return None
    generating_ms = a.duration_ms - a.ttft_ms
    if generating_ms <= 0:
        return None
    return a.output_tokens / (generating_ms / 1000)


def _name(model_id: str, info: ModelInfo | None, scores: list[ScoreRow], answers: list[AnswerStat]) -> str:
    if info is not None:
        return info.name
    stored = [(s.scored_at, s.model_name) for s in scores] + [(a.run_at, a.model_name) for a in answers]
    stored = [x for x in stored if x[1]]
    return max(stored)[1] if stored else model_id


def _mark_frontier_and_best(rows: list[LeaderRow]) -> list[LeaderRow]:
    points = [r for r in rows if r.score is not None and r.price_per_m is not None]
    frontier = {r.model_id for r in points if not any(_dominates(o, r) for o in points if o is not r)}
    # A flagged row's score is not one model's score, so it cannot be the value to recommend.
    unflagged = [r for r in rows if r.value is not None and not r.flag]
    best = max((r.value for r in unflagged), default=None)  # type: ignore[type-var]
    return [replace(r, frontier=r.model_id in frontier, best_value=best is not None and r.value == best and not r.flag)
            for r in rows]


def _dominates(a: LeaderRow, b: LeaderRow) -> bool:
    assert a.score is not None and b.score is not None and a.price_per_m is not None and b.price_per_m is not None
    return (a.score >= b.score and a.price_per_m <= b.price_per_m
            and (a.score > b.score or a.price_per_m < b.price_per_m))


def _default_key(r: LeaderRow) -> tuple:
    return (r.score is None, -(r.score or 0.0), r.value is None, -(r.value or 0), r.name.casefold(), r.model_id)


# key -> (what to compare, descending by default)
SORT_KEYS: dict[str, tuple[Callable[[LeaderRow], object], bool]] = {
    "model": (lambda r: r.name.casefold(), False),
    "score": (lambda r: r.score, True),
    "n": (lambda r: r.n, True),
    "price": (lambda r: r.price_per_m, False),
    "value": (lambda r: r.value, True),
    "spend": (lambda r: r.spend_usd, False),
    "ttft": (lambda r: r.median_ttft_ms, False),
    "tps": (lambda r: r.median_tps, True),
}


def sort_rows(rows: Iterable[LeaderRow], key: str, descending: bool | None = None) -> list[LeaderRow]:
    """Rows sorted by one column (see SORT_KEYS); rows without a value for it always go last."""
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; valid keys: {', '.join(SORT_KEYS)}")
    get, default_desc = SORT_KEYS[key]
    desc = default_desc if descending is None else descending
    by_name = sorted(rows, key=lambda r: (r.name.casefold(), r.model_id))
    known = [r for r in by_name if get(r) is not None]
    missing = [r for r in by_name if get(r) is None]
    # Stable sort: equal values stay in name order whichever the direction.
    known.sort(key=get, reverse=desc)  # type: ignore[arg-type]
    return known + missing
