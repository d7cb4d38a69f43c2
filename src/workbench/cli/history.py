"""`workbench history`: list and search past runs, show one run's answers and scores, or open
it in the app to reread and (re)score it.

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import json

from workbench.cli.common import CommandError, row_id
from workbench.paths import store_file
from workbench.safety import sanitize


def run_history(args: argparse.Namespace) -> int:
    """List runs, or show one (``--show``)."""
    from rich.console import Console

    from workbench.domain import CUT_OFF_MARK
    from workbench.store.db import open_store
    from workbench.store.history import get_run_detail, list_runs

    store = open_store(store_file())
    try:
        if args.show is not None:
            detail = get_run_detail(store, args.show)
            if detail is None:
                raise CommandError(f"no run with id {args.show}")
            _show(detail, as_json=args.json)
            return 0
        runs = list_runs(store, " ".join(args.query) or None, task=args.task, model=args.model, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([_summary_json(r) for r in runs], indent=2))
        return 0
    console = Console()
    if not runs:
        console.print("No runs" + (" match." if args.query or args.task or args.model else
                                   " yet: `workbench` or `workbench ask` make them."))
        return 0
    console.print(runs_table(runs, console.width))
    if any(r.cut_off for r in runs):
        console.print(f"[dim]{CUT_OFF_MARK}N: N answers cut off at max tokens (incomplete).[/]")
    console.print("[dim]`--show RUN` prints a run; `--open RUN` opens it in the app to score.[/]")
    return 0


def runs_table(runs, width: int):
    """The list of runs as a table ``width`` cells wide that gives the prompt the room: ids,
    times, counts and cost never shrink; the models and the prompt (after its task, if any)
    share the rest as ``store.history.split_room`` says, so that runs can be told apart at 80
    columns (where the models column is left out: `--show RUN` and `--json` name them)."""
    from rich import box
    from rich.table import Table

    from workbench.store.history import split_room

    heads = ("Run", "When (UTC)", "Scored", "Cost")
    rows = [(str(run.id), run.when, run.scored_text, _cost_text(run), _models_text(run), _prompt_text(run))
            for run in runs]
    fixed = [max(len(h), *(_cells(row[i]) for row in rows)) for i, h in enumerate(heads)]
    # no padding: the box's blank divider is the gap, one cell (at 80 columns every cell counts)
    room = width - sum(fixed) - len(fixed)
    models_w, prompt_w = split_room(room, max(_cells(row[4]) for row in rows), max(_cells(row[5]) for row in rows))
    table = Table(title=f"{len(runs)} run(s), newest first", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0), show_edge=False)
    for head, w in zip(heads, fixed):
        table.add_column(head, no_wrap=True, width=w, justify="right" if head == "Run" else "left")
    if models_w:
        table.add_column("Models", no_wrap=True, overflow="ellipsis", width=models_w)
    table.add_column("Prompt", no_wrap=True, overflow="ellipsis", width=max(prompt_w, 6))
    for row in rows:
        table.add_row(*row[:4], *([row[4]] if models_w else []), row[5])
    return table


def _cells(cell) -> int:
    """Terminal cells a str or rich Text takes (a CJK prompt takes two a character)."""
    from rich.cells import cell_len

    return cell_len(cell if isinstance(cell, str) else cell.plain)


def _models_text(run):
    from rich.text import Text

    models = ", ".join(run.models)
    return Text(sanitize(f"blind: {models}" if _hidden(run) else models))


def _prompt_text(run):
    """The prompt's first line, after the run's task (dim) when it has one."""
    from rich.text import Text

    text = Text()
    if run.task:
        text.append(sanitize(run.task), style="dim").append(": ", style="dim")
    return text.append(sanitize(run.prompt))


def _hidden(run) -> bool:
    """A blind run not yet revealed: its cost would price the models taking part."""
    return bool(run.hidden)


def _cost_text(run) -> str:
    from workbench.catalog import format_usd

    if _hidden(run):
        return "hidden"
    return format_usd(run.cost_usd) + (" + ?" if run.cost_unknown else "")


def _summary_json(run) -> dict:
    # cost as a string: a Decimal, exact; null while a blind run is not revealed
    hidden = _hidden(run)
    return {"run_id": run.id, "created_at": run.created_at, "task": run.task, "suite": run.suite,
            "source": run.source, "blind": run.blind, "revealed": run.revealed, "models": list(run.models),
            "answers": run.answers, "scored": run.scored,
            "cost_usd": None if hidden else format(run.cost_usd, "f"),
            "cost_unknown": None if hidden else run.cost_unknown, "cut_off": run.cut_off, "prompt": run.prompt}


def _show(detail, *, as_json: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text

    from workbench.blinding import redact
    from workbench.domain import ModelInfo, cut_off_label

    run, hidden = detail.run, detail.run.blind and not detail.revealed

    def who(answer) -> str:
        return f"Model {answer.blind_label or '?'}" if hidden else answer.model_name

    models = [ModelInfo(id=a.model_id, provider=a.provider, name=a.model_name, upstream=a.model_id)
              for a in detail.answers]
    if as_json:
        print(json.dumps({
            "run_id": run.id, "created_at": run.created_at, "prompt": run.prompt, "system": run.system,
            "params": run.params, "task": run.task, "suite": run.suite, "blind": run.blind,
            "revealed": detail.revealed,
            "answers": [{"answer_id": a.id, "model": None if hidden else a.model_id, "label": who(a),
                         "status": a.status, "finish_reason": a.finish_reason, "cut_off": a.cut_off,
                         "text": a.text,
                         "score": (detail.scores[a.id].score if a.id in detail.scores else None),
                         # hidden until the reveal: with the public prices a cost names the model
                         "cost_usd": None if hidden or a.cost_usd is None else format(a.cost_usd, "f"),
                         "error": None if not a.error_message else
                         (redact(a.error_message, models, who(a)) if hidden else a.error_message)}
                        for a in detail.answers],
        }, indent=2))
        return
    console = Console()
    console.print(f"[bold]Run {run.id}[/] · {run.created_at[:19].replace('T', ' ')} UTC"
                  + (f" · task {escape(sanitize(run.task))}" if run.task else "")
                  + (" · blind, not yet revealed" if hidden else " · blind, revealed" if run.blind else ""))
    console.print(Text("Prompt: ", style="bold") + Text(sanitize(run.prompt)))
    for answer in detail.answers:
        score = detail.scores.get(answer.id)
        mark = f"★ {score.score:g}" + (f" — {sanitize(score.note)}" if score.note else "") if score else "not scored"
        # a cut-off answer's status stays "ok" (I4): the words say what a reader must know
        status = (cut_off_label(answer.finish_reason) if answer.status == "ok" else None) or answer.status
        console.rule(Text(f"answer {answer.id} · {sanitize(who(answer))} · {status} · {mark}"))
        console.print(Text(sanitize(answer.text) or "(no text)"))
        if answer.error_message:
            message = answer.error_message
            if hidden:  # provider errors often name the model ("model `glm-5` does not exist")
                message = redact(message, models, who(answer))
            console.print(Text(f"error: {sanitize(message)}", style="red"))
    console.print(f"[dim]Score with `workbench score ANSWER_ID SCORE`, or `workbench history --open {run.id}`.[/]")


def add_parser(sub, add_common) -> None:
    """The `history` sub-command."""
    hist = sub.add_parser("history", help="list and search past runs; show or open one",
                          description="List past runs, newest first. Words search the prompts, tasks and answer "
                                      "texts. A blind run lists letters until all its answers are scored.")
    add_common(hist)
    hist.add_argument("query", nargs="*", metavar="WORD", help="search words")
    hist.add_argument("--task", metavar="ID", help="only runs of this task")
    hist.add_argument("--model", metavar="ID", help="only runs with this model")
    hist.add_argument("--limit", type=int, default=50, metavar="N", help="at most N runs (default 50)")
    hist.add_argument("--show", type=row_id, metavar="RUN", help="print one run with its answers and scores")
    hist.add_argument("--open", type=row_id, metavar="RUN", help="open one run in the app to reread and score it")
    hist.add_argument("--json", action="store_true", help="print JSON")
