"""Scores in the store (C3, C4) and the evidence rows the leaderboard reads (C5).

A score is never updated: re-scoring inserts a new row, so the history stays and the latest
row (highest id) of an answer is the one that counts.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from workbench.domain import cut_off_label
from workbench.ranking.evidence import AnswerStat, RankFilter, ScoreRow, is_scorable
from workbench.ranking.scoring import Criteria, ScoreError, default_scorer, one_line, parse_score
from workbench.store.answers import _now
from workbench.store.db import Store

_CHUNK = 500  # stay far below SQLite's limit on bound parameters


@dataclass(frozen=True)
class StoredScore:
    """A score row as read back."""

    id: int
    answer_id: int
    score: float
    criteria: Criteria | None
    note: str
    blind: bool
    scorer: str
    created_at: str


def add_score(
    store: Store,
    answer_id: int,
    score: float | str | None = None,
    *,
    criteria: Criteria | None = None,
    note: str = "",
    blind: bool = False,
    scorer: str | None = None,
) -> StoredScore:
    """Save a score (or the four criteria, whose mean is the score) for an answer with text.

    A score given while its run is still blind and hidden is stored as blind whatever
    ``blind`` says: the scorer could not have seen the model name.
    """
    if criteria is not None:
        overall = criteria.mean
        if score is not None and _loose_number(score) != overall:
            raise ScoreError(
                f"the score {score} differs from the mean of the criteria ({overall:g}); give one or the other"
            )
    elif score is None:
        raise ScoreError("give a score from 1 to 10 or the four criteria")
    else:
        overall = parse_score(score)
    note = one_line(note)
    who = one_line(scorer or "", 100) or default_scorer()
    with store.transaction() as conn:
        _register_functions(conn)
        row = conn.execute(
            "SELECT a.text, a.status, a.run_id, r.blind FROM answers a JOIN runs r ON r.id = a.run_id WHERE a.id = ?",
            (answer_id,),
        ).fetchone()
        if row is None:
            raise ScoreError(f"no answer with id {answer_id}")
        if not is_scorable(row["text"]):
            raise ScoreError(f"answer {answer_id} has no text to score (status: {row['status']})")
        hidden = bool(row["blind"]) and not _revealed_in(conn, row["run_id"])
        parts = _criteria_columns(criteria)
        now = _now()
        cur = conn.execute(
            """INSERT INTO scores (answer_id, score, correctness, code_quality, documentation, edge_cases,
                   note, blind, scorer, created_at, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
            (answer_id, overall, *parts, note, int(blind or hidden), who, now, os.getpid()),
        )
        return StoredScore(int(cur.lastrowid), answer_id, overall, criteria, note, blind or hidden, who, now)


def _criteria_columns(c: Criteria | None) -> tuple[float | None, ...]:
    if c is None:
        return (None, None, None, None)
    return (c.correctness, c.code_quality, c.documentation, c.edge_cases)


def _loose_number(value: Any) -> float | None:
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None


def latest_scores(store: Store, answer_ids: Iterable[int]) -> dict[int, StoredScore]:
    """The score that counts (the latest) of each of these answers that has one."""
    ids = list(dict.fromkeys(answer_ids))
    out: dict[int, StoredScore] = {}
    with store.lock:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = store.conn.execute(
                f"SELECT * FROM scores WHERE id IN (SELECT MAX(id) FROM scores WHERE answer_id IN ({marks})"
                " GROUP BY answer_id)",
                chunk,
            ).fetchall()
            out.update((r["answer_id"], row_to_score(r)) for r in rows)
    return out


def scores_of_run(store: Store, run_id: int) -> dict[int, StoredScore]:
    """The latest score of each scored answer of a run, by answer id."""
    with store.lock:
        rows = store.conn.execute(
            """SELECT s.* FROM scores s WHERE s.id IN (
                   SELECT MAX(s2.id) FROM scores s2 JOIN answers a ON a.id = s2.answer_id
                   WHERE a.run_id = ? GROUP BY s2.answer_id)""",
            (run_id,),
        ).fetchall()
    return {r["answer_id"]: row_to_score(r) for r in rows}


def score_history(store: Store, answer_id: int) -> list[StoredScore]:
    """Every score an answer was given, oldest first (the last one counts)."""
    with store.lock:
        rows = store.conn.execute("SELECT * FROM scores WHERE answer_id = ? ORDER BY id", (answer_id,)).fetchall()
    return [row_to_score(r) for r in rows]


def row_to_score(row: Any) -> StoredScore:
    """A ``scores`` row (sqlite3.Row) as a StoredScore."""
    parts = (row["correctness"], row["code_quality"], row["documentation"], row["edge_cases"])
    criteria = None
    if all(p is not None for p in parts):
        try:
            criteria = Criteria(*parts)
        except ScoreError:  # a hand-edited row must not break reading the rest
            criteria = None
    return StoredScore(
        id=row["id"], answer_id=row["answer_id"], score=row["score"], criteria=criteria, note=row["note"],
        blind=bool(row["blind"]), scorer=row["scorer"], created_at=row["created_at"],
    )


def score_rows(store: Store, filt: RankFilter) -> list[ScoreRow]:
    """The latest score of every scored answer that matches the filter, oldest run first.

    With a scorer filter, the latest score *of that scorer* counts for each answer. Rounds
    that are blind and not yet revealed are left out: the leaderboard would show which model
    got which score before the last answer is judged.
    """
    params: list[Any] = []
    latest = "SELECT MAX(id) FROM scores GROUP BY answer_id"
    if filt.scorer:
        latest = "SELECT MAX(id) FROM scores WHERE scorer = ? GROUP BY answer_id"
        params.append(filt.scorer)
    where = _run_filter(filt, params)
    sql = f"""SELECT s.*, a.run_id, a.model_id, a.model_name, r.task, r.suite, r.created_at AS run_at
              FROM scores s JOIN answers a ON a.id = s.answer_id JOIN runs r ON r.id = a.run_id
              WHERE s.id IN ({latest}) AND {where} AND {REVEALED_SQL}
              ORDER BY r.created_at, a.id"""
    with store.lock:
        _register_functions(store.conn)
        rows = store.conn.execute(sql, params).fetchall()
    return [
        ScoreRow(
            answer_id=r["answer_id"], run_id=r["run_id"], model_id=r["model_id"], model_name=r["model_name"],
            task=r["task"], suite=r["suite"], score=r["score"], note=r["note"], blind=bool(r["blind"]),
            scorer=r["scorer"], scored_at=r["created_at"], run_at=r["run_at"],
        )
        for r in rows
    ]


def answer_stats(store: Store, filt: RankFilter) -> list[AnswerStat]:
    """Spend and speed of every answer matching task, suite and dates (the scorer is ignored).

    Blind rounds not yet revealed are left out, as in ``score_rows``: their spend would show
    which models took part, and the price of each.
    """
    params: list[Any] = []
    where = _run_filter(filt, params)
    sql = f"""SELECT a.*, r.task, r.suite, r.created_at AS run_at
              FROM answers a JOIN runs r ON r.id = a.run_id WHERE {where} AND {REVEALED_SQL} ORDER BY a.id"""
    with store.lock:
        _register_functions(store.conn)
        rows = store.conn.execute(sql, params).fetchall()
    return [
        AnswerStat(
            answer_id=r["id"], run_id=r["run_id"], model_id=r["model_id"], model_name=r["model_name"],
            task=r["task"], suite=r["suite"], status=r["status"], served_model=r["served_model"],
            cost_usd=_decimal(r["cost_usd"]), ttft_ms=r["ttft_ms"], duration_ms=r["duration_ms"],
            output_tokens=r["output_tokens"], output_per_m=_decimal(r["output_per_m"]), run_at=r["run_at"],
            known_cost_usd=_known_cost(r),
            cut_off=r["status"] == "ok" and cut_off_label(r["finish_reason"]) is not None,
        )
        for r in rows
    ]


def hidden_blind_runs(store: Store, filt: RankFilter) -> int:
    """How many blind runs matching the filter are not yet revealed (left out of the leaderboard)."""
    params: list[Any] = []
    where = _run_filter(filt, params)
    sql = f"SELECT COUNT(*) FROM runs r WHERE {where} AND r.blind = 1 AND NOT {REVEALED_SQL}"
    with store.lock:
        _register_functions(store.conn)
        return int(store.conn.execute(sql, params).fetchone()[0])


def _known_cost(row: Any) -> Decimal:
    parts = [row["cost_usd"]] if row["cost_usd"] is not None else [row["input_cost_usd"], row["output_cost_usd"]]
    return sum((Decimal(p) for p in parts if p is not None), Decimal(0))


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _run_filter(filt: RankFilter, params: list[Any]) -> str:
    """SQL conditions on the run alias ``r``; appends their parameters."""
    conds = ["1"]
    if filt.task:
        conds.append("r.task = ?")
        params.append(filt.task)
    if filt.suite:
        conds.append("r.suite = ?")
        params.append(filt.suite)
    # created_at is ISO 8601 UTC, so plain string comparison orders it; comparing against day
    # bounds (rather than substr) keeps the runs(created_at) index usable.
    if filt.since:
        conds.append("r.created_at >= ?")
        params.append(_day(filt.since, "since").isoformat())
    if filt.until:
        conds.append("r.created_at < ?")
        params.append((_day(filt.until, "until") + timedelta(days=1)).isoformat())
    return " AND ".join(conds)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ScoreError(f"{what} must be a day like 2026-01-31, got {text!r}") from None


# A blind run is revealed when no answer is still streaming and every answer with text has a
# score; a non-blind run always is. Written once in SQL (on the run alias ``r``) so that
# history's model filter and run_revealed cannot disagree. wb_scorable is evidence.is_scorable.
REVEALED_SQL = """(r.blind = 0 OR NOT EXISTS (
    SELECT 1 FROM answers ra WHERE ra.run_id = r.id AND (ra.status = 'streaming'
        OR (wb_scorable(ra.text) AND NOT EXISTS (SELECT 1 FROM scores rs WHERE rs.answer_id = ra.id)))))"""


def _register_functions(conn: sqlite3.Connection) -> None:
    """Make wb_scorable available on this connection (cheap; harmless to repeat)."""
    conn.create_function("wb_scorable", 1, lambda text: int(is_scorable(text or "")), deterministic=True)


def register_functions(store: Store) -> None:
    """Make the SQL helpers REVEALED_SQL needs available on the store's connection."""
    with store.lock:
        _register_functions(store.conn)


def _revealed_in(conn: sqlite3.Connection, run_id: int) -> bool | None:
    row = conn.execute(f"SELECT {REVEALED_SQL} FROM runs r WHERE r.id = ?", (run_id,)).fetchone()
    return None if row is None else bool(row[0])


def run_revealed(store: Store, run_id: int) -> bool:
    """Whether a run's model names may be shown: always for a normal run; for a blind run,
    once no answer streams and every answer with text is scored."""
    with store.lock:
        _register_functions(store.conn)
        revealed = _revealed_in(store.conn, run_id)
    if revealed is None:
        raise ScoreError(f"no run with id {run_id}")
    return revealed
