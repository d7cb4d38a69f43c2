"""`workbench score`, `workbench import-scores` and `workbench rank` (I5): the ranking store
from the command line, with the same core the app uses.

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import CommandError, row_id
from workbench.paths import store_file

if TYPE_CHECKING:
    from workbench.config import Settings

FORMATS = ("table", "markdown", "csv", "json")


def _open():
    from workbench.store.db import open_store

    return open_store(store_file())


def run_score(settings: Settings, args: argparse.Namespace) -> int:
    """Score one answer by id; re-scoring keeps the old score in history."""
    from workbench.ranking.scoring import Criteria, ScoreError, parse_score
    from workbench.store.answers import get_answer, get_run
    from workbench.store.scores import add_score, latest_scores, run_revealed

    store = _open()
    try:
        answer = get_answer(store, args.answer_id)
        if answer is None:
            raise CommandError(f"no answer with id {args.answer_id} (`workbench history` lists runs and answers)")
        run = get_run(store, answer.run_id)
        hidden = bool(run and run.blind and not run_revealed(store, run.id))
        try:
            criteria = None
            if args.criteria:
                parts = [p for p in args.criteria.replace(";", ",").split(",") if p.strip()]
                if len(parts) != 4:
                    raise ScoreError("--criteria takes four scores: correctness,code quality,documentation,edge cases")
                criteria = Criteria(*(parse_score(p) for p in parts))
                if args.score is not None:
                    raise ScoreError("give SCORE or --criteria, not both (overall = the criteria's mean)")
            elif args.score is None:
                raise ScoreError("give a SCORE from 1 to 10 (half points allowed) or --criteria")
            before = latest_scores(store, [answer.id]).get(answer.id)
            saved = add_score(store, answer.id, None if criteria else parse_score(args.score), criteria=criteria,
                              note=args.note or "", blind=hidden)
        except ScoreError as exc:
            raise CommandError(str(exc)) from None
        who = f"Model {answer.blind_label or '?'}" if hidden else answer.model_name
        was = f" (was {before.score:g})" if before is not None else ""
        print(f"answer {answer.id} ({who}, run {answer.run_id}): {saved.score:g}{was}")
        if hidden and run_revealed(store, answer.run_id):
            print(f"run {answer.run_id} is fully scored: its models are revealed (`workbench history --show "
                  f"{answer.run_id}`)")
        return 0
    finally:
        store.close()


def run_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import a CSV of published scores (model,task,score,note)."""
    from workbench.store.imports import ScoreImportError, import_scores

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    store = _open()
    try:
        try:
            report = import_scores(store, path, settings.models, again=args.again)
        except ScoreImportError as exc:
            raise CommandError(str(exc)) from None
    finally:
        store.close()
    print(f"imported {report.rows} score(s) for {len(report.models)} model(s) in {len(report.runs)} task(s) "
          f"from {path.name}; see them with `workbench rank`")
    return 0


def run_rank(settings: Settings, args: argparse.Namespace) -> int:
    """Print the leaderboard in the chosen format."""
    from workbench.ranking.evidence import RankFilter
    from workbench.ranking.stats import SORT_KEYS, build_leaderboard, sort_rows
    from workbench.render.rank_report import to_csv, to_json, to_markdown
    from workbench.store.scores import answer_stats, hidden_blind_runs, score_rows

    for name in ("since", "until"):
        value = getattr(args, name)
        if value:
            from datetime import date

            try:
                date.fromisoformat(value)
            except ValueError:
                raise CommandError(f"--{name}: {value!r} is not a date like 2026-11-27") from None
    filt = RankFilter(task=args.task, suite=args.suite, since=args.since, until=args.until, scorer=args.scorer)
    tasks: list[str] = []
    if args.suite:  # the report follows the suite's own task order
        from workbench.suites import SuiteError, find_suite

        try:
            tasks = [t.id for t in find_suite(args.suite).tasks]
        except SuiteError:
            pass  # a suite no longer on disk: its runs still rank, in run order
    store = _open()
    try:
        board = build_leaderboard(score_rows(store, filt), answer_stats(store, filt), settings.models, tasks=tasks)
        hidden = hidden_blind_runs(store, filt)
    finally:
        store.close()
    if hidden:
        runs = "run is" if hidden == 1 else "runs are"
        print(f"note: {hidden} blind {runs} not yet revealed and left out (score every answer to reveal)",
              file=sys.stderr)
    key = args.sort or "score"
    if key not in SORT_KEYS:
        raise CommandError(f"--sort: unknown key {key!r}; use one of {', '.join(SORT_KEYS)}")
    # --reverse flips the key's natural direction; rows without a value stay last either way
    rows = sort_rows(board.rows, key, (not SORT_KEYS[key][1]) if args.reverse else None)
    fmt = args.format
    if fmt == "table" and not args.output:
        _print_table(board, rows, plot=not args.no_plot)
        return 0
    if fmt == "table":
        text = _table_text(board, rows, plot=not args.no_plot)
    else:
        text = {"markdown": to_markdown, "csv": to_csv, "json": to_json}[fmt](board, rows)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--output: cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _table_text(board, rows, *, plot: bool) -> str:
    """The table format as plain text (for --output): no colours, 100 columns."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    _print_table(board, rows, plot=plot, console=Console(file=buffer, width=100, color_system=None))
    return buffer.getvalue()


def _print_table(board, rows, *, plot: bool, console=None) -> None:
    from rich.console import Console

    from workbench.render.frontier_plot import plot_frontier
    from workbench.render.rank_report import task_tables, to_rich_table

    console = console or Console()
    console.print(to_rich_table(board, rows))
    if not board.has_scores:
        return
    for table in task_tables(board):
        console.print(table)
    if plot:
        console.print(plot_frontier(rows, min(console.width, 100), 14))


def add_parsers(sub, add_common) -> None:
    """The `score`, `import-scores` and `rank` sub-commands."""
    score = sub.add_parser("score", help="score an answer 1–10 (half points) by its id",
                           description="Score one answer. Re-scoring keeps the old score in history; the latest "
                                       "counts. Answer ids are in `workbench history --show RUN` and `ask --json`.")
    add_common(score)
    score.add_argument("answer_id", type=row_id, metavar="ANSWER_ID")
    score.add_argument("score", nargs="?", metavar="SCORE", help="1–10 in half points, e.g. 8.5")
    score.add_argument("--note", metavar="TEXT", help="a one-line note")
    score.add_argument("--criteria", metavar="C,Q,D,E",
                       help="correctness, code quality, documentation, edge cases (overall = their mean)")

    imp = sub.add_parser("import-scores", help="import published scores from a CSV file",
                         description="Import scores from a CSV with the columns model,task,score,note (model = id "
                                     "or display name; the task is free text). The whole file is checked first; "
                                     "nothing is written if a line is bad.")
    add_common(imp)
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--again", action="store_true", help="import a file that was imported before, a second time")

    rank = sub.add_parser("rank", help="the leaderboard: score, interval, price, value per model",
                          description="Per model: mean score, n, 95% bootstrap interval, output price per "
                                      "million, value = score / price, spend, median TTFT and tokens/s; per-task "
                                      "winners; the price/score frontier. * marks a routing tier or a model whose "
                                      "served model varied.")
    add_common(rank)
    rank.add_argument("--task", metavar="ID", help="only this task")
    rank.add_argument("--suite", metavar="ID", help="only runs of this suite")
    rank.add_argument("--since", metavar="YYYY-MM-DD", help="only runs on or after this day (UTC)")
    rank.add_argument("--until", metavar="YYYY-MM-DD", help="only runs on or before this day (UTC)")
    rank.add_argument("--scorer", metavar="NAME", help="only scores by this scorer")
    rank.add_argument("--sort", metavar="KEY", help="model, score, n, price, value, spend, ttft or tps")
    rank.add_argument("--reverse", action="store_true", help="reverse the order")
    rank.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    rank.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    rank.add_argument("--no-plot", action="store_true", help="table format: leave out the frontier plot")
