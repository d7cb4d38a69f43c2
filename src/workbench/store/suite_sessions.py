"""Suite sessions in the store: one walk through a suite with fixed models and k repeats.

A session's progress is never kept as a counter: it is read back from the runs that carry its
id (one run per (task, repeat) step) and from their answers. So a session stopped anywhere —
Ctrl+C, a closed terminal, kill -9 — resumes exactly where its saved answers stop:

* a model is done with a step when one of its answers in the step's run ended ``ok`` or
  ``error`` (a definitive provider error counts; asking again would fail the same way), or
  ``interrupted`` by the provider or the answer deadline (`--timeout`): a failed outcome too;
* an answer that was ``cancelled``, or left ``streaming`` by a killed process (recovered as
  ``interrupted`` by ``answers.recover_orphans``), does not count: that model is asked again,
  and its new answer is added to the same run, as a retried pane adds one in the app.

Steps are walked repeat by repeat (every task once, then every task again …), so a session
stopped early still has each task answered once.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from workbench.store.answers import STOPPED_KIND, _alive, _now
from workbench.store.db import Store

DONE_STATUSES = ("ok", "error")
# Which answer of a model speaks for it in a step when it has several (best first).
_RANK = {"ok": 0, "error": 1, "interrupted": 2, "cancelled": 3, "streaming": 4}


@dataclass(frozen=True)
class SuiteSession:
    """A ``suite_sessions`` row."""

    id: int
    suite_id: str
    suite_sha256: str
    title: str
    models: tuple[str, ...]  # model ids, in pane order
    repeats: int
    blind: bool
    created_at: str
    finished_at: str | None

    @property
    def finished(self) -> bool:
        """True once every step was answered (``finish_session``)."""
        return self.finished_at is not None


class Step(NamedTuple):
    """One (task, repeat) still to do, and the models still to ask for it."""

    task_id: str
    repeat: int
    models: tuple[str, ...]


@dataclass(frozen=True)
class StepState:
    """Where one (task, repeat) step stands."""

    task_id: str
    repeat: int
    run_id: int | None  # the step's run, once one was made
    statuses: dict[str, str]  # model id → its best answer's status, "missing" if never asked

    def pending(self, retry_errors: bool = False) -> tuple[str, ...]:
        """Models still to ask (with ``retry_errors``, those that failed are asked again too)."""
        done = ("ok",) if retry_errors else DONE_STATUSES
        return tuple(m for m, s in self.statuses.items() if s not in done)

    @property
    def done(self) -> bool:
        """Every model has an ok or error answer."""
        return not self.pending()


@dataclass(frozen=True)
class Progress:
    """A session against its suite: every step, the spend so far and the time spent."""

    session: SuiteSession
    steps: tuple[StepState, ...]  # in walking order
    spend_known_usd: Decimal  # sum of the known costs of the session's answers
    spend_unknown: bool  # some answer's cost is not known: spend_known_usd is a lower bound
    elapsed_s: float  # time spent running (sum over its runs), pauses between sittings left out
    answers: int
    failed: int  # answers that ended in error
    busy_pids: tuple[int, ...]  # other live processes streaming into this session right now

    @property
    def total_steps(self) -> int:
        """Steps in the session (tasks × repeats)."""
        return len(self.steps)

    @property
    def done_steps(self) -> int:
        """Steps every model has answered."""
        return sum(1 for s in self.steps if s.done)

    @property
    def tasks_total(self) -> int:
        """Tasks in the suite."""
        return len({s.task_id for s in self.steps})

    @property
    def tasks_done(self) -> int:
        """Tasks answered by every model in every repeat."""
        by_task: dict[str, bool] = {}
        for s in self.steps:
            by_task[s.task_id] = by_task.get(s.task_id, True) and s.done
        return sum(by_task.values())

    @property
    def complete(self) -> bool:
        """Nothing left to ask."""
        return all(s.done for s in self.steps)


def _row_to_session(row: Any) -> SuiteSession:
    try:
        models = json.loads(row["models_json"])
    except ValueError:  # a hand-edited store must not break the session list
        models = []
    return SuiteSession(
        id=row["id"], suite_id=row["suite_id"], suite_sha256=row["suite_sha256"], title=row["title"],
        models=tuple(str(m) for m in models) if isinstance(models, list) else (), repeats=row["repeats"],
        blind=bool(row["blind"]), created_at=row["created_at"], finished_at=row["finished_at"],
    )


def start_session(store: Store, suite: Any, models: Sequence[str], repeats: int = 1, blind: bool = False) -> SuiteSession:
    """Record a new session of ``suite`` (anything with ``id``, ``sha256``, ``title``)."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if not models:
        raise ValueError("a session needs at least one model")
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO suite_sessions (suite_id, suite_sha256, title, models_json, repeats, blind, created_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (suite.id, suite.sha256, suite.title, json.dumps(list(models)), repeats, int(blind), _now()),
        )
        session_id = int(cur.lastrowid)
    session = get_session(store, session_id)
    assert session is not None
    return session


def get_session(store: Store, session_id: int) -> SuiteSession | None:
    """One session by id."""
    with store.lock:
        row = store.conn.execute("SELECT * FROM suite_sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else _row_to_session(row)


def list_sessions(store: Store, suite_id: str | None = None, *, unfinished_only: bool = False,
                  limit: int = 50) -> list[SuiteSession]:
    """Sessions, newest first (for a picker that offers to resume one)."""
    conds, params = ["1"], []
    if suite_id is not None:
        conds.append("suite_id = ?")
        params.append(suite_id)
    if unfinished_only:
        conds.append("finished_at IS NULL")
    with store.lock:
        rows = store.conn.execute(
            f"SELECT * FROM suite_sessions WHERE {' AND '.join(conds)} ORDER BY id DESC LIMIT ?", (*params, limit),
        ).fetchall()
    return [_row_to_session(r) for r in rows]


def latest_unfinished(store: Store, suite_id: str, models: Iterable[str], *, sha256: str | None = None,
                      repeats: int | None = None) -> SuiteSession | None:
    """The newest unfinished session of this suite with the same set of models (order aside),
    and, when given, the same suite file version and number of repeats."""
    wanted = sorted(set(models))
    for session in list_sessions(store, suite_id, unfinished_only=True, limit=1000):
        if sorted(set(session.models)) != wanted:
            continue
        if sha256 is not None and session.suite_sha256 != sha256:
            continue
        if repeats is not None and session.repeats != repeats:
            continue
        return session
    return None


def finish_session(store: Store, session_id: int) -> None:
    """Mark a session finished (once: a later call keeps the first time)."""
    with store.transaction() as conn:
        conn.execute("UPDATE suite_sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                     (_now(), session_id))


def session_progress(store: Store, session: SuiteSession, suite: Any) -> Progress:
    """Where ``session`` stands against ``suite`` (anything with ``tasks`` having ``id``s).

    Runs of tasks no longer in the suite count for spend and time but not as steps.
    """
    with store.lock:
        rows = store.conn.execute(
            """SELECT r.id AS run_id, r.task, r.repeat, r.created_at AS run_at, a.id AS answer_id,
                      a.model_id, a.status, a.error_kind, a.cost_usd, a.input_cost_usd, a.output_cost_usd,
                      a.updated_at, a.pid
               FROM runs r LEFT JOIN answers a ON a.run_id = r.id
               WHERE r.session_id = ? ORDER BY r.id, a.id""",
            (session.id,),
        ).fetchall()
    run_of: dict[tuple[str, int], int] = {}
    best: dict[tuple[str, int, str], str] = {}
    spans: dict[int, tuple[str, str]] = {}
    spend, unknown, answers, failed, busy = Decimal(0), False, 0, 0, set()
    for row in rows:
        key = (row["task"], row["repeat"])
        run_of.setdefault(key, row["run_id"])  # the first run of a step is the one added to
        start, end = spans.get(row["run_id"], (row["run_at"], row["run_at"]))
        if row["answer_id"] is None:
            spans[row["run_id"]] = (start, end)
            continue
        spans[row["run_id"]] = (start, max(end, row["updated_at"]))
        answers += 1
        status = row["status"]
        if status == "interrupted" and row["error_kind"] != STOPPED_KIND:
            # cut off by the provider or by the answer deadline: a definitive (failed) outcome,
            # unlike an answer whose workbench died, which is asked again
            status = "error"
        failed += status == "error"
        if status == "streaming" and row["pid"] != os.getpid() and _alive(row["pid"]):
            busy.add(row["pid"])
        slot = (row["task"], row["repeat"], row["model_id"])
        if slot not in best or _RANK.get(status, 9) < _RANK.get(best[slot], 9):
            best[slot] = status
        if row["cost_usd"] is not None:
            spend += Decimal(row["cost_usd"])
        else:
            unknown = True
            spend += sum((Decimal(p) for p in (row["input_cost_usd"], row["output_cost_usd"]) if p is not None),
                         Decimal(0))
    steps = []
    for repeat in range(session.repeats):
        for task in suite.tasks:
            steps.append(StepState(
                task_id=task.id, repeat=repeat, run_id=run_of.get((task.id, repeat)),
                statuses={m: best.get((task.id, repeat, m), "missing") for m in session.models},
            ))
    return Progress(
        session=session, steps=tuple(steps), spend_known_usd=spend, spend_unknown=unknown,
        elapsed_s=sum(_seconds(a, b) for a, b in spans.values()), answers=answers, failed=failed,
        busy_pids=tuple(sorted(busy)),
    )


def _seconds(start: str, end: str) -> float:
    try:
        return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return 0.0


def next_steps(progress: Progress, retry_errors: bool = False) -> list[Step]:
    """The steps still to do, in walking order, each with the models still to ask."""
    out = []
    for state in progress.steps:
        pending = state.pending(retry_errors)
        if pending:
            out.append(Step(state.task_id, state.repeat, pending))
    return out


def typical_output_tokens(store: Store, model_ids: Sequence[str], task_ids: Sequence[str] = ()) -> dict[
        tuple[str, str | None], int]:
    """Median output tokens of past ok answers: by (model, task) for the given tasks, and by
    (model, None) over every task. Models without such answers are left out."""
    if not model_ids:
        return {}
    marks = ",".join("?" * len(model_ids))
    with store.lock:
        rows = store.conn.execute(
            f"""SELECT a.model_id, r.task, a.output_tokens FROM answers a JOIN runs r ON r.id = a.run_id
                WHERE a.status = 'ok' AND a.output_tokens IS NOT NULL AND a.output_tokens > 0
                  AND a.model_id IN ({marks})""",
            list(model_ids),
        ).fetchall()
    samples: dict[tuple[str, str | None], list[int]] = {}
    wanted = set(task_ids)
    for row in rows:
        samples.setdefault((row["model_id"], None), []).append(row["output_tokens"])
        if row["task"] in wanted:
            samples.setdefault((row["model_id"], row["task"]), []).append(row["output_tokens"])
    return {key: round(statistics.median(values)) for key, values in samples.items()}
