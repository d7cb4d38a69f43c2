"""The notes' published figures as evidence rows, shared by the ranking and report tests."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from workbench.config import load_settings
from workbench.domain import ModelInfo
from workbench.ranking.evidence import AnswerStat, ScoreRow

# FACTS.md "Published overall ranking", in the notes' editorial order.
NOTES_OVERALL = [
    ("Qwen3-Coder-30B", 8.8), ("DeepSeek V4 Flash", 8.7), ("DeepSeek Coder", 8.6), ("DeepSeek V4 Pro", 9.1),
    ("DeepSeek-R1", 9.4), ("Kimi K2.5", 9.0), ("Qwen3-32B", 8.3), ("GLM-5", 8.0), ("Hunyuan-Turbo", 7.5),
    ("Ga-Standard", 8.5),
]

# seed/reference-scores.csv, as the repo ships it for users
REFERENCE_CSV = (Path(__file__).resolve().parents[2] / "examples" / "notes-per-task.csv").read_text("utf-8")
TASK_ORDER = ["flatten", "race-condition", "dijkstra"]


def catalog() -> dict[str, ModelInfo]:
    """The built-in catalog: the ten models of the notes."""
    return load_settings(None).models


def id_of(name: str) -> str:
    """The catalog id of a model by its display name."""
    return next(m.id for m in catalog().values() if m.name == name)


_counter = iter(range(1, 1_000_000))


def score(model_id: str, value: float, task: str | None = "t1", *, note: str = "", run_id: int | None = None,
          scored_at: str = "2026-03-01T10:00:00Z", run_at: str = "2026-03-01T09:00:00Z",
          name: str | None = None) -> ScoreRow:
    """One score row with sensible defaults."""
    answer_id = next(_counter)
    return ScoreRow(answer_id=answer_id, run_id=run_id if run_id is not None else answer_id, model_id=model_id,
                    model_name=name or model_id, task=task, suite=None, score=value, note=note, blind=False,
                    scorer="me", scored_at=scored_at, run_at=run_at)


def answer(model_id: str, *, status: str = "ok", cost: str | None = "0.001", ttft: int | None = 500,
           duration: int | None = 2500, out: int | None = 200, served: str | None = None,
           price: str | None = None, run_at: str = "2026-03-01T09:00:00Z", task: str | None = "t1") -> AnswerStat:
    """One answer's spend and speed with sensible defaults."""
    answer_id = next(_counter)
    return AnswerStat(answer_id=answer_id, run_id=answer_id, model_id=model_id, model_name=model_id, task=task,
                      suite=None, status=status, served_model=served,
                      cost_usd=Decimal(cost) if cost is not None else None, ttft_ms=ttft, duration_ms=duration,
                      output_tokens=out, output_per_m=Decimal(price) if price is not None else None, run_at=run_at)


def overall_scores() -> list[ScoreRow]:
    """The notes' overall table as one 'overall' score per model."""
    return [score(id_of(name), value, "overall", name=name) for name, value in NOTES_OVERALL]


def reference_scores() -> list[ScoreRow]:
    """The notes' per-task scores, tasks run in the suite's order."""
    rows = []
    for i, rec in enumerate(csv.DictReader(io.StringIO(REFERENCE_CSV))):
        day = TASK_ORDER.index(rec["task"]) + 1
        rows.append(score(id_of(rec["model"]), float(rec["score"]), rec["task"], note=rec["note"],
                          name=rec["model"], run_at=f"2026-03-0{day}T09:00:00Z",
                          scored_at=f"2026-03-0{day}T10:{i:02d}:00Z"))
    return rows
