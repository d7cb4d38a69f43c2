"""Past runs for `workbench history` and the history screen: a page of summaries, one run in full.

A blind run keeps its model names hidden here until it is revealed (every answer with text
scored): summaries show the pane labels instead, and a model filter never matches it, since
matching would tell which model is behind the hidden panes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from workbench.domain import CUT_OFF_MARK, cut_off_label
from workbench.ranking.evidence import is_scorable
from workbench.store.answers import StoredAnswer, StoredRun, answers_of_run, get_run
from workbench.store.db import Store
from workbench.store.scores import REVEALED_SQL, StoredScore, register_functions, scores_of_run

PROMPT_WIDTH = 80


@dataclass(frozen=True)
class RunSummary:
    """One line of history."""

    id: int
    created_at: str
    prompt: str  # first line, trimmed to PROMPT_WIDTH
    task: str | None
    suite: str | None
    source: str
    blind: bool
    revealed: bool
    models: tuple[str, ...]  # display names, or the labels "A", "B" … while blind and hidden
    answers: int
    scored: int  # answers with at least one score
    cost_usd: Decimal  # the known part
    cost_unknown: bool  # some answer's cost is not known, so cost_usd is a lower bound
    cut_off: int = 0  # answers that ended ok but stopped at a limit (max tokens, context window)

    @property
    def when(self) -> str:
        """'11-27 09:31': month, day and time (UTC) fit a narrow table; the year rarely tells runs apart."""
        return self.created_at[5:16].replace("T", " ")

    @property
    def scored_text(self) -> str:
        """'1/3', or '1/3 ✂1' when an answer of the run was cut off at a token limit."""
        mark = f" {CUT_OFF_MARK}{self.cut_off}" if self.cut_off else ""
        return f"{self.scored}/{self.answers}{mark}"

    @property
    def hidden(self) -> bool:
        """A blind run not yet revealed: its models and cost would say who took part."""
        return self.blind and not self.revealed


@dataclass(frozen=True)
class RunDetail:
    """One run in full, with its answers and the score that counts for each."""

    run: StoredRun
    answers: tuple[StoredAnswer, ...]
    scores: dict[int, StoredScore] = field(default_factory=dict)  # by answer id, latest only
    revealed: bool = True

    def label(self, answer: StoredAnswer) -> str:
        """What to call an answer: its model's name, or its blind label while hidden."""
        if self.revealed:
            return answer.model_name
        return answer.blind_label or "?"


def escape_like(text: str) -> str:
    """User text as a literal inside a LIKE pattern (with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_runs(
    store: Store,
    search: str | None = None,
    *,
    task: str | None = None,
    model: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> list[RunSummary]:
    """Runs newest first. ``search`` matches prompt, task or answer text (case-insensitive for
    ASCII, as SQLite's LIKE); ``model`` is a model id (or display name)."""
    conds, params = ["1"], []
    if search and search.strip():
        pattern = f"%{escape_like(search.strip())}%"
        conds.append(
            "(r.prompt LIKE ? ESCAPE '\\' OR r.task LIKE ? ESCAPE '\\' OR EXISTS ("
            "SELECT 1 FROM answers sa WHERE sa.run_id = r.id AND sa.text LIKE ? ESCAPE '\\'))"
        )
        params += [pattern, pattern, pattern]
    if task:
        conds.append("r.task = ?")
        params.append(task)
    if model:
        conds.append(
            "EXISTS (SELECT 1 FROM answers ma WHERE ma.run_id = r.id AND "
            f"(ma.model_id = ? OR lower(ma.model_name) = lower(?))) AND {REVEALED_SQL}"
        )
        params += [model, model]
    sql = f"""SELECT r.*, {REVEALED_SQL} AS revealed FROM runs r WHERE {' AND '.join(conds)}
              ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?"""
    params += [-1 if limit is None else max(limit, 0), max(offset, 0)]
    with store.lock:
        register_functions(store)
        runs = store.conn.execute(sql, params).fetchall()
        answers = _answers_by_run(store, [r["id"] for r in runs])
    return [_summary(r, answers.get(r["id"], [])) for r in runs]


def _answers_by_run(store: Store, run_ids: list[int]) -> dict[int, list[Any]]:
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    rows = store.conn.execute(
        f"""SELECT a.run_id, a.model_name, a.blind_label, a.cost_usd, a.status, a.finish_reason,
                   EXISTS (SELECT 1 FROM scores s WHERE s.answer_id = a.id) AS scored
            FROM answers a WHERE a.run_id IN ({marks}) ORDER BY a.id""",
        run_ids,
    ).fetchall()
    out: dict[int, list[Any]] = {}
    for row in rows:
        out.setdefault(row["run_id"], []).append(row)
    return out


def _summary(run: Any, answers: list[Any]) -> RunSummary:
    revealed = bool(run["revealed"])
    names = [a["model_name"] if revealed else (a["blind_label"] or "?") for a in answers]
    costs = [a["cost_usd"] for a in answers]
    return RunSummary(
        id=run["id"], created_at=run["created_at"], prompt=first_line(run["prompt"]), task=run["task"],
        suite=run["suite"], source=run["source"], blind=bool(run["blind"]), revealed=revealed,
        models=tuple(dict.fromkeys(names)),  # a retried pane adds a row for the same model
        answers=len(answers), scored=sum(1 for a in answers if a["scored"]),
        cost_usd=sum((Decimal(c) for c in costs if c is not None), Decimal(0)),
        cost_unknown=any(c is None for c in costs),
        cut_off=sum(1 for a in answers if a["status"] == "ok" and cut_off_label(a["finish_reason"])),
    )


#: The prompt keeps at least this many cells before the models column gets any (see ``split_room``).
PROMPT_ROOM = 40
MODELS_MIN = 12


def split_room(room: int, models: int, prompt: int, gap: int = 1) -> tuple[int, int]:
    """How many cells the models and prompt columns of a run list get out of ``room`` (what the
    other columns leave, ``gap`` being what a second column costs in dividers or padding), given
    the widest models and prompt cells: (models, prompt), models 0 when that column is left out.

    The prompt is what tells runs apart, so it comes first: the models get their whole width
    when both fit, else up to a quarter of the room, and none at all (names cut to a few letters
    tell nothing) when the prompt would keep fewer than PROMPT_ROOM cells.
    """
    room = max(room, 1)
    if models + gap + prompt <= room:
        return models, room - models - gap
    share = min(models, max(MODELS_MIN, room // 4))
    if room - share - gap < min(prompt, PROMPT_ROOM):
        return 0, room
    return share, room - share - gap


def first_line(text: str, width: int = PROMPT_WIDTH) -> str:
    """The first non-blank line of a prompt, cut to ``width`` with an ellipsis."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def get_run_detail(store: Store, run_id: int) -> RunDetail | None:
    """One run with its answers and latest scores, or None if there is no such run."""
    with store.lock:
        run = get_run(store, run_id)
        if run is None:
            return None
        answers = tuple(answers_of_run(store, run_id))
        scores = scores_of_run(store, run_id)
    # Judged from the rows just read (the same rule as REVEALED_SQL), so the flag always
    # agrees with the answers and scores handed back even if another process scores meanwhile.
    revealed = not run.blind or all(
        a.status != "streaming" and (a.id in scores or not is_scorable(a.text)) for a in answers
    )
    return RunDetail(run=run, answers=answers, scores=scores, revealed=revealed)

