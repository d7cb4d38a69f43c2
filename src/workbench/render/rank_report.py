"""Exports of a leaderboard (C5, I5): Markdown like the notes' tables, CSV, JSON, Rich tables.

Every export takes an optional ``rows`` (the board's rows in another order, e.g. from
``ranking.sort_rows``); the rank printed is the position in that order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from workbench.catalog import format_price, format_usd
from workbench.domain import CUT_OFF_MARK
from workbench.ranking.stats import Interval, Leaderboard, LeaderRow, TaskEntry, TaskResult
from workbench.render.meter_text import format_seconds
from workbench.safety import sanitize

NONE = "—"
EMPTY_MESSAGE = "No scores yet — score answers in the app (s) or `workbench import-scores FILE.csv`."
FRONTIER_MARK = "◆"
BEST_MARK = "★"

CSV_COLUMNS = (
    "rank", "model", "name", "score", "n", "ci_low", "ci_high", "price_per_m", "value",
    "value_ci_low", "value_ci_high", "spend_usd", "spend_unknown", "median_ttft_ms", "median_tps",
    "flag", "frontier", "best_value", "cut_off",
)


# ---- cell text shared by every format ------------------------------------------------------

def score_text(row: LeaderRow) -> str:
    """'8.7', '8.5*' (flagged) or '—'."""
    return NONE if row.score_shown is None else f"{row.score_shown}{row.flag}"


def price_text(price: Decimal | None) -> str:
    """'0.25', '2.50', '0.125' (never rounded away) or '—'."""
    return NONE if price is None else format_price(price).removeprefix("$")


def value_text(row: LeaderRow, best_label: str = " (best value)") -> str:
    """'34.8 (best value)', '42.5*' or '—'."""
    if row.value is None:
        return NONE
    return f"{row.value}{row.flag}{best_label if row.best_value else ''}"


def interval_text(ci: Interval | None, missing: str = "too few scores") -> str:
    """'8.2–9.1' or the reason there is none."""
    return missing if ci is None else f"{ci.low:.1f}–{ci.high:.1f}"


def spend_text(row: LeaderRow, compact: bool = False) -> str:
    """'$0.0123', '$0.0123 + ? (2 unknown)' ('$0.0123+?' compact), '—' with no answers."""
    if row.answers == 0:
        return NONE
    text = format_usd(row.spend_usd)
    if not row.spend_unknown:
        return text
    return f"{text}+?" if compact else f"{text} + ? ({row.spend_unknown} unknown)"


def ttft_text(ms: float | None) -> str:
    """The median time to first token in seconds, or '—'."""
    return NONE if ms is None else format_seconds(ms / 1000)


def tps_text(tps: float | None) -> str:
    """Median tokens per second, whole numbers, or '—'."""
    return NONE if tps is None else f"{tps:.0f}"


def duration_text(seconds: float) -> str:
    """'4.2 s', '42 s', '2 min 31 s', '1 h 5 min', '2 d 3 h' (coarser units drop the finest)."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    n = round(seconds)
    if n < 60:
        return f"{n} s"
    if n < 3600:
        return f"{n // 60} min {n % 60} s"
    if n < 86400:
        return f"{n // 3600} h {n % 3600 // 60} min"
    return f"{n // 86400} d {n % 86400 // 3600} h"


def totals_text(board: Leaderboard) -> str:
    """One line: the spend and time over every answer on the board.

    'Total spend: $0.0123 over 15 answers · 2 min 31 s of answer time · 12 min 4 s from first
    to last run start'. Answer time is summed over answers (models answer in parallel, so it
    can exceed the wall clock); the span is between run *starts*, as that is what the store
    dates, so it leaves out the last run's own answering time. Answers cut off at a token limit
    are counted apart after the count ('over 15 answers, 2 cut off (max tokens)').
    """
    t = board.totals
    text = f"Total spend: {format_usd(t.spend_usd)} over {t.answers} answer{'s' if t.answers != 1 else ''}"
    if t.cut_off:
        text += f", {t.cut_off} cut off (max tokens)"
    if t.spend_unknown:
        text += f" (+ ? for {t.spend_unknown} with an unknown cost)"
    if t.answers > t.untimed:
        text += f" · {duration_text(t.answer_ms / 1000)} of answer time"
        if t.untimed:
            text += f" (+ ? for {t.untimed} without a time)"
    span = t.span_s
    if span is not None and span > 0:
        text += f" · {duration_text(span)} from first to last run start"
    return text


def cut_off_text(rows: Sequence[LeaderRow]) -> str | None:
    """'Cut off (max tokens): Qwen3-Coder-30B 2 of 5 answers, GLM-5 1 of 3' (None when no answer
    was): such an answer ended ``ok`` but is incomplete, so it is counted apart."""
    cut = [r for r in rows if r.cut_off]
    if not cut:
        return None
    parts = [f"{r.name} {r.cut_off} of {r.answers}" + (" answers" if i == 0 else "") for i, r in enumerate(cut)]
    return "Cut off (max tokens): " + ", ".join(parts)


def task_score_text(entry: TaskEntry, with_n: bool = True) -> str:
    """'9.5', or with repeats '8.0 (n=3, 6.5–9.0)' ('8.0 (6.5–9.0)' without n)."""
    if entry.n < 2:
        return str(entry.score_shown)
    inside = ([f"n={entry.n}"] if with_n else []) + ([entry.spread_text] if entry.spread_text else [])
    return f"{entry.score_shown} ({', '.join(inside)})"


def ranks(rows: Sequence[LeaderRow]) -> list[int | None]:
    """Rank numbers in the rows' order; a model with answers but no score has none (it is listed
    for its spend, not ranked)."""
    out: list[int | None] = []
    n = 0
    for row in rows:
        if row.score is None:
            out.append(None)
        else:
            n += 1
            out.append(n)
    return out


def _md(cell: str) -> str:
    # Notes and names are user text: a pipe or a newline would break the table.
    # ...and a model name from a config file is no safer than a model's text
    return " ".join(sanitize(cell).replace("|", "\\|").split())


# ---- Markdown ----------------------------------------------------------------------------

def to_markdown(board: Leaderboard, rows: Sequence[LeaderRow] | None = None) -> str:
    """The notes' tables: Overall (flags explained below it), Evidence with total spend and
    time, then one table per task (spread of repeats beside the score) with its winner."""
    rows = list(board.rows if rows is None else rows)
    out = ["## Overall", ""]
    if not board.has_scores:
        out += [EMPTY_MESSAGE, "", totals_text(board), ""]
        return "\n".join(out)
    out += ["| Rank | Model | Score | Price | Value |", "|---|---|---|---|---|"]
    for rank, row in zip(ranks(rows), rows):
        price = price_text(row.price_per_m)
        out.append(f"| {rank or NONE} | {_md(row.name)} | {score_text(row)} | {price} | {value_text(row)} |")
    flagged = [r for r in rows if r.flag]
    if flagged:
        out.append("")
        out += [f"\\* {_md(r.name)}: {_md('; '.join(r.flag_reasons))}" for r in flagged]
    out += ["", "## Evidence", "",
            "| Model | n | 95% CI | Value CI | Spend | Median TTFT | Median tok/s |",
            "|---|---|---|---|---|---|---|"]
    for row in rows:
        value_ci = interval_text(row.value_ci, NONE if row.ci is not None else "too few scores")
        out.append(f"| {_md(row.name)} | {row.n} | {interval_text(row.ci)} | {value_ci} | {spend_text(row)} "
                   f"| {ttft_text(row.median_ttft_ms)} | {tps_text(row.median_tps)} |")
    out += ["", totals_text(board)]
    cut = cut_off_text(rows)
    if cut:
        out += ["", _md(cut)]
    for task in board.tasks:
        out += ["", f"## Task: {_md(task.task)}", "", "| Model | Score | Notes |", "|---|---|---|"]
        for e in task.entries:
            out.append(f"| {_md(e.name)} | {task_score_text(e)} | {_md('; '.join(e.notes))} |")
        out += ["", f"Winner: {sanitize(task.winner_text)}"]
    return "\n".join(out) + "\n"


# ---- CSV and JSON ------------------------------------------------------------------------

def _num(x: float | None, places: int) -> float | None:
    return None if x is None else round(x, places)


def _dec_str(d: Decimal | None) -> str:
    # format(..., "f"): str(Decimal) would print a tiny spend as "1.2E-7".
    return "" if d is None else format(d, "f")


def _cell(x: object) -> object:
    return "" if x is None else x


def _bounds(ci: Interval | None, places: int) -> tuple[object, object]:
    return ("", "") if ci is None else (round(ci.low, places), round(ci.high, places))


def to_csv(board: Leaderboard, rows: Sequence[LeaderRow] | None = None) -> str:
    """One line per model under a header of CSV_COLUMNS; empty cells for unknowns."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    listed = board.rows if rows is None else rows
    for rank, r in zip(ranks(listed), listed):
        writer.writerow([
            rank, r.model_id, r.name, _dec_str(r.score_shown), r.n, *_bounds(r.ci, 2),
            _dec_str(r.price_per_m), _dec_str(r.value), *_bounds(r.value_ci, 1), _dec_str(r.spend_usd),
            r.spend_unknown, _cell(_num(r.median_ttft_ms, 1)), _cell(_num(r.median_tps, 1)),
            r.flag, str(r.frontier).lower(), str(r.best_value).lower(), r.cut_off,
        ])
    return buf.getvalue()


def row_json(row: LeaderRow, rank: int | None) -> dict:
    """One row as the JSON of I5 (numbers as numbers, money as an exact string)."""
    return {
        "rank": rank,
        "model": row.model_id,
        "name": row.name,
        "score": float(row.score_shown) if row.score_shown is not None else None,
        "score_mean": _num(row.score, 4),
        "n": row.n,
        "ci": [round(row.ci.low, 2), round(row.ci.high, 2)] if row.ci else None,
        "price_per_m": float(row.price_per_m) if row.price_per_m is not None else None,
        "value": float(row.value) if row.value is not None else None,
        "value_ci": [round(row.value_ci.low, 1), round(row.value_ci.high, 1)] if row.value_ci else None,
        "flag": row.flag,
        "flag_reasons": list(row.flag_reasons),
        "spend_usd": _dec_str(row.spend_usd),
        "spend_unknown": row.spend_unknown,
        "answers": row.answers,
        "median_ttft_ms": _num(row.median_ttft_ms, 1),
        "median_tps": _num(row.median_tps, 1),
        "frontier": row.frontier,
        "best_value": row.best_value,
        "cut_off": row.cut_off,  # answers (among "answers") stopped at a token limit
    }


def to_json(board: Leaderboard, rows: Sequence[LeaderRow] | None = None) -> str:
    """A JSON list of row objects (I5: at least model, score, n, price_per_m, value, flag)."""
    listed = board.rows if rows is None else rows
    data = [row_json(r, rank) for rank, r in zip(ranks(listed), listed)]
    return json.dumps(data, indent=2, ensure_ascii=False)


# ---- Rich --------------------------------------------------------------------------------

def to_rich_table(board: Leaderboard, rows: Sequence[LeaderRow] | None = None) -> Table:
    """The leaderboard for a terminal (`workbench rank`, the TUI); a message when empty."""
    rows = list(board.rows if rows is None else rows)
    if not rows:
        grid = Table.grid()
        grid.add_row(Text(EMPTY_MESSAGE))
        return grid
    # padding 0: the box's own blank divider is the gap, which keeps all ten columns in 80 cells.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0), caption_justify="left",
                  title_justify="left")
    # Numbers never wrap; in 80 columns "too few scores" folds instead of the names.
    table.add_column("#", justify="left", no_wrap=True)
    table.add_column("Model", min_width=min(18, max(len(r.name) for r in rows)), overflow="fold")
    for header in ("Score", "95% CI", "n", "$/M", "Value", "Spend", "TTFT", "tok/s"):
        wraps = header == "95% CI"
        table.add_column(header, justify="left" if header == "95% CI" else "right", no_wrap=not wraps,
                         overflow="fold")
    for rank, r in zip(ranks(rows), rows):
        marks = (FRONTIER_MARK if r.frontier else "") + (BEST_MARK if r.best_value else "")
        style = "bold" if r.best_value else ""
        # The marks ride in the rank cell: a column of their own does not fit in 80 columns.
        rank_cell = Text(str(rank) if rank else NONE).append(marks, style="green")
        if r.cut_off:
            rank_cell.append(CUT_OFF_MARK, style="yellow")
        table.add_row(
            rank_cell, Text(sanitize(r.name), style=style), Text(score_text(r)),
            Text(interval_text(r.ci), style="dim" if r.ci is None else ""), str(r.n),
            Text(price_text(r.price_per_m)), Text(value_text(r, "")), Text(spend_text(r, compact=True)),
            Text(ttft_text(r.median_ttft_ms)), Text(tps_text(r.median_tps)),
        )
    table.caption = _caption(board, rows)
    return table


def _caption(board: Leaderboard, rows: list[LeaderRow]) -> Text:
    lines = []
    if not board.has_scores:
        lines.append(EMPTY_MESSAGE)
    lines.append(f"{FRONTIER_MARK} frontier: no cheaper model scores as high · {BEST_MARK} best value "
                 "(unflagged) · value = score / output $/M")
    unknown = sum(r.spend_unknown for r in rows)
    if unknown:
        lines.append(f"+? spend leaves out {unknown} answer{'s' if unknown != 1 else ''} whose cost is unknown")
    lines += [f"* {sanitize(r.name)}: {sanitize('; '.join(r.flag_reasons))}" for r in rows if r.flag]
    cut = cut_off_text(rows)
    if cut:
        lines.append(f"{CUT_OFF_MARK} {sanitize(cut)}")
    lines.append(totals_text(board))
    return Text("\n".join(lines), style="dim")


def task_table(task: TaskResult) -> Table:
    """One task's scores, best first, with the winner (or tie) as the caption."""
    table = Table(title=Text(f"Task: {sanitize(task.task)}", style="bold"), box=box.SIMPLE_HEAD,
                  pad_edge=False, title_justify="left", caption_justify="left")
    table.add_column("Model")
    table.add_column("Score", justify="right")
    table.add_column("n", justify="right")
    table.add_column("Notes", overflow="fold")
    for e in task.entries:
        table.add_row(Text(sanitize(e.name)), task_score_text(e, with_n=False), str(e.n),
                      Text(sanitize("; ".join(e.notes))))
    table.caption = Text(f"Winner: {sanitize(task.winner_text)}", style="bold")
    return table


def task_tables(board: Leaderboard) -> list[RenderableType]:
    """The per-task tables, in the board's task order (a suite's, else first run)."""
    return [task_table(t) for t in board.tasks]
