"""Runs and answers in the store. An answer row is written when its stream starts, its
partial text is checkpointed while it streams, and it is finished when the stream ends —
so a crash leaves a row marked ``interrupted`` (on the next open) with the text so far."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from workbench.domain import AnswerFinal, AnswerPartial, AnswerStart, RunRecord, cut_off_label
from workbench.store.db import Store


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@dataclass(frozen=True)
class StoredAnswer:
    """An answer row as read back."""

    id: int
    run_id: int
    model_id: str
    model_name: str
    provider: str
    served_model: str | None
    status: str
    text: str
    reasoning: str
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    tokens_exact: bool
    cost_usd: Decimal | None
    ttft_ms: int | None
    duration_ms: int | None
    error_kind: str | None
    error_message: str | None
    http_status: int | None
    blind_label: str | None = None  # "A", "B" … in a blind run
    # Migration 004; a row from before it (or a query leaving them out) reads as 0 and None.
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    input_cost_usd: Decimal | None = None  # every input token: uncached, cache reads and writes
    output_cost_usd: Decimal | None = None
    cached_input_cost_usd: Decimal | None = None
    cache_write_cost_usd: Decimal | None = None
    reported_cost_usd: Decimal | None = None
    billing_note: str | None = None  # e.g. "not billed: failed before the answer"
    # Migration 005: why the stream ended, normalised ("length": cut off at max tokens)
    finish_reason: str | None = None

    @property
    def cut_off(self) -> bool:
        """True when the answer stopped at a limit (max tokens, context window), not at its end."""
        return cut_off_label(self.finish_reason) is not None


@dataclass(frozen=True)
class StoredRun:
    """A run row as read back."""

    id: int
    created_at: str
    prompt: str
    system: str
    params: dict[str, Any]
    task: str | None
    suite: str | None
    source: str
    blind: bool
    # Set for the runs of a suite session (migration 003); None/0 for free-form rounds.
    kind: str | None = None
    session_id: int | None = None
    repeat: int = 0


def create_run(store: Store, run: RunRecord) -> int:
    """Record a round's prompt and parameters; returns the run id."""
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO runs (created_at, prompt, system, params_json, task, suite, source, blind,"
            " kind, session_id, repeat) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (_now(), run.prompt, run.system, json.dumps(run.params or {}, sort_keys=True), run.task, run.suite,
             run.source, int(run.blind), run.kind, run.session_id, run.repeat),
        )
        return int(cur.lastrowid)


def get_run(store: Store, run_id: int) -> StoredRun | None:
    """One run by id."""
    with store.lock:
        row = store.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else row_to_run(row)


def row_to_run(row: Any) -> StoredRun:
    """A ``runs`` row (sqlite3.Row) as a StoredRun."""
    try:
        params = json.loads(row["params_json"] or "{}")
    except ValueError:  # a hand-edited store must not break history
        params = {}
    return StoredRun(
        id=row["id"], created_at=row["created_at"], prompt=row["prompt"], system=row["system"],
        params=params if isinstance(params, dict) else {}, task=row["task"], suite=row["suite"],
        source=row["source"], blind=bool(row["blind"]),
        # .get-style: a row from a query that leaves these columns out still converts
        kind=_col(row, "kind"), session_id=_col(row, "session_id"), repeat=_col(row, "repeat") or 0,
    )


def _col(row: Any, name: str) -> Any:
    return row[name] if name in row.keys() else None


def start_answer(store: Store, run_id: int, start: AnswerStart) -> int:
    """Insert a row for an answer that is starting to stream; returns its id."""
    model, prices = start.model, start.model.prices
    now = _now()
    with store.transaction() as conn:
        cur = conn.execute(
            """INSERT INTO answers (run_id, model_id, model_name, provider, upstream_model, status,
                   input_per_m, output_per_m, cached_input_per_m, temperature, pid, created_at, updated_at,
                   blind_label, cache_write_per_m, above_tokens, input_above_per_m, output_above_per_m,
                   cached_input_above_per_m, cache_write_above_per_m)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (run_id, model.id, model.name, model.provider, model.upstream, "streaming",
             _dec(prices.input_per_m), _dec(prices.output_per_m), _dec(prices.cached_input_per_m),
             start.temperature, os.getpid(), now, now, start.blind_label, _dec(prices.cache_write_per_m),
             prices.above_tokens, _dec(prices.input_above_per_m), _dec(prices.output_above_per_m),
             _dec(prices.cached_input_above_per_m), _dec(prices.cache_write_above_per_m)),
        )
        return int(cur.lastrowid)


def checkpoint_answer(store: Store, answer_id: int, text: str, reasoning: str) -> None:
    """Save the partial text of a streaming answer."""
    checkpoint_answers(store, [AnswerPartial(answer_id, text, reasoning)])


def checkpoint_answers(store: Store, partials: list[AnswerPartial]) -> None:
    """Save the text so far of several streaming answers in one transaction."""
    now = _now()
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE answers SET text = ?, reasoning = ?, updated_at = ? WHERE id = ? AND status = 'streaming'",
            [(p.text, p.reasoning, now, p.answer_id) for p in partials],
        )


def finish_answer(store: Store, answer_id: int, final: AnswerFinal) -> None:
    """Save the final state of an answer (any status)."""
    f = final
    with store.transaction() as conn:
        conn.execute(
            """UPDATE answers SET served_model = ?, status = ?, text = ?, reasoning = ?,
                   input_tokens = ?, output_tokens = ?, reasoning_tokens = ?, cached_input_tokens = ?,
                   tokens_exact = ?, cost_usd = ?, input_cost_usd = ?, output_cost_usd = ?,
                   reported_cost_usd = ?, ttft_ms = ?, duration_ms = ?, error_kind = ?,
                   error_message = ?, http_status = ?, updated_at = ?, cache_write_tokens = ?,
                   cache_write_1h_tokens = ?, cached_input_cost_usd = ?, cache_write_cost_usd = ?,
                   billing_note = ?, finish_reason = ?
               WHERE id = ?""",
            (f.served_model, f.status.value, f.text, f.reasoning,
             f.input_tokens, f.output_tokens, f.reasoning_tokens, f.cached_input_tokens or 0, int(f.tokens_exact),
             _dec(f.cost_usd), _dec(f.input_cost_usd), _dec(f.output_cost_usd), _dec(f.reported_cost_usd),
             f.ttft_ms, f.duration_ms, f.error_kind, f.error_message, f.http_status, _now(),
             f.cache_write_tokens, f.cache_write_1h_tokens, _dec(f.cached_input_cost_usd),
             _dec(f.cache_write_cost_usd), f.billing_note, f.finish_reason, answer_id),
        )


def get_answer(store: Store, answer_id: int) -> StoredAnswer | None:
    """One answer by id."""
    with store.lock:
        row = store.conn.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
    return None if row is None else row_to_answer(row)


def answers_of_run(store: Store, run_id: int) -> list[StoredAnswer]:
    """The answers of one run, in insertion order."""
    with store.lock:
        rows = store.conn.execute("SELECT * FROM answers WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
    return [row_to_answer(r) for r in rows]


# The error kind of an answer whose workbench died mid-stream (not the provider's doing): such an
# answer is asked again when a suite session resumes, unlike one the provider cut off.
STOPPED_KIND = "stopped"


def recover_orphans(store: Store) -> int:
    """Mark answers left 'streaming' by a process that is gone as 'interrupted'."""
    with store.lock:
        rows = store.conn.execute("SELECT id, pid FROM answers WHERE status = 'streaming'").fetchall()
    dead = [r["id"] for r in rows if r["pid"] != os.getpid() and not _alive(r["pid"])]
    if dead:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE answers SET status = 'interrupted', error_kind = ?, "
                "error_message = 'the workbench stopped before the answer ended', updated_at = ? WHERE id = ?",
                [(STOPPED_KIND, _now(), i) for i in dead],
            )
    return len(dead)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def row_to_answer(row: Any) -> StoredAnswer:
    """An ``answers`` row (sqlite3.Row) as a StoredAnswer."""
    return StoredAnswer(
        id=row["id"], run_id=row["run_id"], model_id=row["model_id"], model_name=row["model_name"],
        provider=row["provider"], served_model=row["served_model"], status=row["status"],
        text=row["text"], reasoning=row["reasoning"], input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"], reasoning_tokens=row["reasoning_tokens"],
        tokens_exact=bool(row["tokens_exact"]),
        cost_usd=_money(row, "cost_usd"),
        ttft_ms=row["ttft_ms"], duration_ms=row["duration_ms"], error_kind=row["error_kind"],
        error_message=row["error_message"], http_status=row["http_status"],
        blind_label=_col(row, "blind_label"),
        # _col: rows of a store not yet migrated, or of a query that leaves these out, still convert
        cached_input_tokens=_col(row, "cached_input_tokens") or 0,
        cache_write_tokens=_col(row, "cache_write_tokens") or 0,
        cache_write_1h_tokens=_col(row, "cache_write_1h_tokens") or 0,
        input_cost_usd=_money(row, "input_cost_usd"), output_cost_usd=_money(row, "output_cost_usd"),
        cached_input_cost_usd=_money(row, "cached_input_cost_usd"),
        cache_write_cost_usd=_money(row, "cache_write_cost_usd"),
        reported_cost_usd=_money(row, "reported_cost_usd"), billing_note=_col(row, "billing_note"),
        finish_reason=_col(row, "finish_reason"),
    )


def _money(row: Any, name: str) -> Decimal | None:
    value = _col(row, name)
    try:
        return None if value is None else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):  # a hand-edited cell: unknown, not a crash
        return None
