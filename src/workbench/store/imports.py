"""`workbench import-scores`: scores kept elsewhere (a CSV like seed/reference-scores.csv) into the store.

The whole file is checked before anything is written, and then written in one transaction:
a half-imported file would be worse than none. Imported answers have no text, cost or
timings (status evidence.IMPORTED), so they count for scores and never for spend or speed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workbench.domain import ModelInfo
from workbench.ranking.evidence import IMPORTED
from workbench.ranking.scoring import ScoreError, one_line, parse_score
from workbench.store.answers import _dec, _now
from workbench.store.db import Store

REQUIRED = ("model", "task", "score")
OPTIONAL = ("note",)
SCORER = "import"
MAX_LISTED = 10


class ScoreImportError(ValueError):
    """A file that cannot be imported; nothing was written. ``problems`` are "FILE:LINE: …"."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote."""

    rows: int
    runs: tuple[int, ...]
    models: tuple[str, ...]  # distinct model ids, in the order they first appear
    path: Path


@dataclass(frozen=True)
class _Row:
    model: ModelInfo
    task: str
    score: float
    note: str


def import_scores(store: Store, path: Path, models: Mapping[str, ModelInfo], *, again: bool = False) -> ImportReport:
    """Import a `model,task,score,note` CSV: one run per task, one answer and score per row.

    ``models`` is the catalog by id; a row's model may be an id or a display name. A file
    already imported (same SHA-256) is refused unless ``again``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScoreImportError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    rows = _parse(data, path, models)
    digest = hashlib.sha256(data).hexdigest()
    now = _now()
    run_ids: dict[str, int] = {}
    with store.transaction() as conn:
        # Checked inside the write lock, so two imports of one file at once cannot both pass.
        if not again:
            earlier = conn.execute(
                "SELECT MIN(created_at) AS at, COUNT(*) AS n FROM runs "
                "WHERE source = 'import' AND json_extract(params_json, '$.sha256') = ?",
                (digest,),
            ).fetchone()
            if earlier["n"]:
                when = earlier["at"][:16].replace("T", " ")
                raise ScoreImportError(
                    f"{path}: this file was already imported on {when} UTC; import it again with --again"
                )
        params = json.dumps({"file": path.name, "sha256": digest}, sort_keys=True)
        for row in rows:
            if row.task not in run_ids:
                cur = conn.execute(
                    "INSERT INTO runs (created_at, prompt, params_json, task, source) VALUES (?,?,?,?,?)",
                    (now, f"imported from {path.name}", params, row.task, "import"),
                )
                run_ids[row.task] = int(cur.lastrowid)
            m = row.model
            cur = conn.execute(
                """INSERT INTO answers (run_id, model_id, model_name, provider, upstream_model, status,
                       input_per_m, output_per_m, cached_input_per_m, pid, created_at, updated_at)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
                (run_ids[row.task], m.id, m.name, m.provider, m.upstream, IMPORTED,
                 _dec(m.prices.input_per_m), _dec(m.prices.output_per_m), _dec(m.prices.cached_input_per_m),
                 os.getpid(), now, now),
            )
            # Directly, not through add_score: that refuses answers without text, and these
            # answers have none by design.
            conn.execute(
                "INSERT INTO scores (answer_id, score, note, blind, scorer, created_at, pid) VALUES (?,?,?,?,?,?,?)",
                (int(cur.lastrowid), row.score, row.note, 0, SCORER, now, os.getpid()),
            )
    return ImportReport(
        rows=len(rows),
        runs=tuple(run_ids.values()),
        models=tuple(dict.fromkeys(r.model.id for r in rows)),
        path=path,
    )


def _parse(data: bytes, path: Path, models: Mapping[str, ModelInfo]) -> list[_Row]:
    """Every row of the file, or ScoreImportError listing what is wrong (with line numbers)."""
    name = str(path)
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise ScoreImportError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
    except csv.Error as exc:
        raise ScoreImportError(f"{name}:{reader.line_num}: {exc}") from None
    if header is None:
        raise ScoreImportError(f"{name}: the file is empty; expected a header {','.join(REQUIRED + OPTIONAL)}")
    columns = [c.strip().lower() for c in header]
    header_line = reader.line_num
    _check_header(columns, f"{name}:{header_line}")
    lookup = _model_lookup(models)
    problems: list[str] = []
    rows: list[_Row] = []
    while True:
        line = reader.line_num + 1  # where the next record starts (a quoted note may span lines)
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{name}:{line}: {exc}")
            break  # the csv module cannot resynchronise after a broken quote
        if not any(f.strip() for f in fields):
            continue
        where = f"{name}:{line}"
        if any("\n" in f or "\r" in f for f in fields):
            # an open quote swallows the rows after it into one field: never import that silently
            problems.append(f"{where}: a quoted field runs on to line {reader.line_num} (a quote left open?); "
                            "a note must fit on one line")
            continue
        if len(fields) > len(columns):
            problems.append(f"{where}: {len(fields)} fields but the header has {len(columns)}"
                            " (quote a note that contains a comma)")
            continue
        record = dict(zip(columns, (f.strip() for f in fields)))
        row = _check_row(record, where, lookup, problems)
        if row is not None:
            rows.append(row)
    if not rows and not problems:
        problems.append(f"{name}: no score rows after the header")
    if problems:
        listed = problems[:MAX_LISTED]
        more = len(problems) - len(listed)
        tail = [f"… and {more} more"] if more else []
        raise ScoreImportError(
            "\n".join([f"{name}: {len(problems)} problem(s), nothing imported:", *listed, *tail]), problems
        )
    return rows


def _check_header(columns: list[str], where: str) -> None:
    allowed = REQUIRED + OPTIONAL
    extra = [c or "(empty)" for c in columns if c not in allowed]
    missing = [c for c in REQUIRED if c not in columns]
    dupes = sorted({c for c in columns if c and columns.count(c) > 1})
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected column(s) {', '.join(extra)}")
    if dupes:
        parts.append(f"repeated column(s) {', '.join(dupes)}")
    if parts:
        raise ScoreImportError(f"{where}: {'; '.join(parts)} (expected {','.join(allowed)})")


def _model_lookup(models: Mapping[str, ModelInfo]) -> dict[str, list[ModelInfo]]:
    """Lower-cased id and display name → the models they may mean."""
    lookup: dict[str, list[ModelInfo]] = {}
    for model in models.values():
        for key in {model.id.lower(), model.name.lower()}:
            lookup.setdefault(key, []).append(model)
    return lookup


def _check_row(record: dict[str, str], where: str, lookup: dict[str, list[ModelInfo]],
               problems: list[str]) -> _Row | None:
    before = len(problems)
    wanted = record.get("model", "")
    candidates = lookup.get(wanted.lower(), []) if wanted else []
    # An exact id wins over a display name that happens to equal another model's id.
    by_id = [m for m in candidates if m.id.lower() == wanted.lower()]
    model = by_id[0] if by_id else (candidates[0] if len(candidates) == 1 else None)
    if not wanted:
        problems.append(f"{where}: empty model")
    elif model is None and candidates:
        ids = ", ".join(sorted(m.id for m in candidates))
        problems.append(f"{where}: model {wanted!r} is ambiguous ({ids}); use the id")
    elif model is None:
        problems.append(f"{where}: unknown model {wanted!r}; `workbench models` lists the ids and names")
    task = record.get("task", "")
    if not task:
        problems.append(f"{where}: empty task")
    score = None
    raw = record.get("score", "")
    if not raw:
        problems.append(f"{where}: empty score")
    else:
        try:
            score = parse_score(raw, half_points=False)  # published averages: 8.7
        except ScoreError as exc:
            problems.append(f"{where}: {exc}")
    if len(problems) > before or model is None or score is None:
        return None
    return _Row(model=model, task=task, score=score, note=one_line(record.get("note", "")))
