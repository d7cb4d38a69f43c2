"""`workbench suite list|show|run` (C6): the task suites from the command line.

`suite run` walks a suite task by task through the chosen models without the app: every
answer is saved (scoring is left for later), a Rich progress display on a terminal, plain lines
when piped. A session stopped anywhere (Ctrl+C, kill -9) is resumed by running the same command
again: the store knows which (task, repeat, model) answers ended.

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from workbench.cli.common import CommandError, row_id
from workbench.safety import sanitize

if TYPE_CHECKING:
    from workbench.config import Settings
    from workbench.domain import ModelInfo
    from workbench.store.db import Store
    from workbench.store.suite_sessions import Progress, SuiteSession
    from workbench.suites import Suite

MAX_MODELS = 10


def add_parser(sub, add_common) -> None:
    """The `suite` sub-command with its `list`, `show` and `run` actions."""
    suite = sub.add_parser("suite", help="task suites: list, show, run one headless (resumable)",
                           description="Task suites are TOML files of coding tasks. The built-in `coding-2026` "
                                       "holds the five tasks of the field notes; your own go in "
                                       "<data dir>/suites/*.toml or are given by path.")
    actions = suite.add_subparsers(dest="suite_action", metavar="ACTION", parser_class=type(suite))
    actions.required = True

    lst = actions.add_parser("list", help="the suites you can run", description="List built-in and user suites.")
    add_common(lst)
    lst.add_argument("--json", action="store_true", help="print JSON")

    show = actions.add_parser("show", help="a suite's tasks", description="Show a suite's tasks: kind, language, "
                              "the prompt's first line and any reference for scorers (e.g. a flaws list).")
    add_common(show)
    show.add_argument("suite", metavar="SUITE", help="a suite id or a path to a .toml file")
    show.add_argument("--task", metavar="ID", help="print this task's full message and its reference")

    run = actions.add_parser(
        "run", help="send every task to the models, save the answers (resumes by default)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Send each task of SUITE to every model, one task at a time, and save the answers for "
                    "scoring later. Running the same suite with the same models again resumes the latest "
                    "unfinished session where it stopped.",
        epilog="exit codes: 0 all answers ok, 1 a model call failed, 2 bad usage or suite, 130 stopped (Ctrl+C)\n"
               "examples:\n"
               "  workbench suite run coding-2026 -m deepseek-v4-flash -m qwen3-coder-30b -m deepseek-r1\n"
               "  workbench suite run ./my-suite.toml -m qwen3-coder-30b --repeat 3\n")
    add_common(run)
    run.add_argument("suite", metavar="SUITE", help="a suite id or a path to a .toml file")
    run.add_argument("-m", "--model", dest="models", action="append", metavar="MODEL",
                     help="a model id (repeat for up to 10); default: [defaults].models of the config")
    run.add_argument("--repeat", type=int, metavar="K", help="ask each task K times per model (default 1)")
    run.add_argument("--blind", action="store_true", help="save the rounds blind: scored later without names")
    run.add_argument("--new", action="store_true", help="start a new session instead of resuming")
    run.add_argument("--session", type=row_id, metavar="ID", help="resume this session")
    run.add_argument("--retry-failed", action="store_true",
                     help="ask again where a model's call failed (normally a failure counts as answered)")
    run.add_argument("--timeout", type=float, metavar="S", help="give up on an answer after S seconds")


def run_suite_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run `suite list|show|run`; returns the exit code."""
    action = {"list": _list, "show": _show, "run": _run}[args.suite_action]
    return action(settings, args)


def _find(name: str) -> Suite:
    from workbench.suites import SuiteError, find_suite

    try:
        return find_suite(name)
    except SuiteError as exc:
        raise CommandError(str(exc)) from None


# --- list and show ------------------------------------------------------------------------


def _list(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from workbench.suites import SuiteError, scan_suites, user_suites_dir

    try:
        entries, problems = scan_suites()
    except SuiteError as exc:  # a broken built-in suite: a packaging bug, still one line
        raise CommandError(str(exc)) from None
    for problem in problems:
        print(f"workbench: warning: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"id": e.suite.id, "title": e.suite.title, "tasks": len(e.suite.tasks), "source": e.source,
                           "replaces_builtin": e.shadows_builtin, "path": e.suite.path} for e in entries], indent=2))
        return 0
    table = Table(title="Suites", title_justify="left")
    for title in ("Suite", "Title", "Tasks", "Source"):
        table.add_column(title, no_wrap=title != "Title")
    for e in entries:
        source = e.source if e.source != "user" else ("user (replaces the built-in)" if e.shadows_builtin else "user")
        table.add_row(Text(e.suite.id), Text(sanitize(e.suite.title)), str(len(e.suite.tasks)), Text(source))
    console = Console()
    console.print(table)
    console.print(Text(f"Your own suites go in {user_suites_dir()}/*.toml; `workbench suite show SUITE` lists "
                       "its tasks.", style="dim"))
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from workbench.store.history import first_line

    suite = _find(args.suite)
    if args.task is not None:
        try:
            task = suite.task(args.task)
        except KeyError:
            raise CommandError(f"suite {suite.id!r} has no task {args.task!r} "
                               f"(its tasks: {', '.join(t.id for t in suite.tasks)})") from None
        # sanitized: a suite file from elsewhere could carry terminal escapes (Q4)
        print(sanitize(task.message))
        if task.reference:
            print(f"\n--- reference for scorers: {task.reference}\n")
            print(sanitize(task.reference_text() or "(cannot be read)"))
        return 0
    console = Console()
    console.print(Text(f"{suite.id} — {sanitize(suite.title)}", style="bold"))
    console.print(Text(f"from {suite.path}", style="dim"))
    if suite.system:
        console.print(Text("System prompt: ", style="bold") + Text(sanitize(suite.system)))
    temp = "model default" if suite.temperature is None else f"{suite.temperature:g}"
    console.print(Text(f"Temperature: {temp}" + (f" · criteria: {', '.join(suite.criteria)}" if suite.criteria else "")))
    table = Table(title_justify="left")
    for title in ("#", "Task", "Kind", "Language", "Prompt"):
        table.add_column(title, no_wrap=title != "Prompt")
    for n, t in enumerate(suite.tasks, start=1):
        prompt = first_line(t.prompt) + (f" (+ {len(t.code.strip().splitlines())} lines of code)" if t.code else "")
        table.add_row(str(n), Text(t.id), Text(t.kind), Text(t.language or "—"), Text(sanitize(prompt)))
    console.print(table)
    for t in suite.tasks:
        if t.reference:
            console.print(Text(f"{t.id}: reference for scorers: {t.reference}"))
    console.print(Text(f"`workbench suite show {args.suite} --task ID` prints a task in full; "
                       f"`workbench suite run {args.suite} -m MODEL …` runs it.", style="dim"))
    return 0


# --- run ----------------------------------------------------------------------------------


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from workbench.paths import store_file
    from workbench.store import open_store
    from workbench.store.answers import recover_orphans
    from workbench.store.suite_sessions import finish_session, next_steps, session_progress
    from workbench.tokens import TokenCounter

    if args.repeat is not None and args.repeat < 1:
        raise CommandError("--repeat must be at least 1")
    if args.new and args.session is not None:
        raise CommandError("give --new or --session, not both")
    if args.timeout is not None and args.timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    suite = _find(args.suite)
    store = open_store(store_file())
    try:
        recover_orphans(store)
        session, models, notes, resumed = _pick_session(store, settings, suite, args)
        progress = session_progress(store, session, suite)
        if progress.busy_pids:
            raise CommandError(f"session {session.id} is being run by another workbench right now "
                               f"(pid {', '.join(map(str, progress.busy_pids))}); let it finish or stop it first")
        import asyncio

        from workbench.cli.suite_runner import SuiteRunner, SuiteView

        counter = TokenCounter()
        counter.load()
        view = SuiteView(suite, session, models, sys.stdout.isatty())
        for note in notes:
            view.line(note)
        steps = next_steps(progress, retry_errors=args.retry_failed)
        view.line(_intro(session, suite, progress, resumed=resumed))
        runner = SuiteRunner(store, settings, suite, session, models, counter, view, args.timeout)
        runner.update(progress, steps)
        if steps:
            view.line("estimate for the rest: " + runner.estimate_text)
        try:
            asyncio.run(runner.run(steps))
        except KeyboardInterrupt:
            runner.abandon()
            view.close()
            print(f"stopped: session {session.id} is saved; answers cut off are marked cancelled. Resume with "
                  f"`workbench suite run {args.suite} --session {session.id}"
                  f"{' --local' if getattr(args, 'local', False) else ''}`", file=sys.stderr)
            return 130
        view.close()
        progress = session_progress(store, session, suite)
        if progress.complete:
            finish_session(store, session.id)
        _summary(progress, suite, session)
    finally:
        store.close()
    return 0 if runner.all_ok else 1


def _pick_session(store: Store, settings: Settings, suite: Suite,
                  args) -> tuple[SuiteSession, list[ModelInfo], list[str], bool]:
    """The session to run, its models, notes for the user, and whether it is resumed."""
    from workbench.store.suite_sessions import get_session, latest_unfinished, start_session

    notes: list[str] = []
    if args.session is not None:
        session = get_session(store, args.session)
        if session is None:
            raise CommandError(f"no suite session {args.session}")
        if session.suite_id != suite.id:
            raise CommandError(f"session {session.id} is a session of suite {session.suite_id!r}, not {suite.id!r}")
        if args.models and set(args.models) != set(session.models):
            raise CommandError(f"session {session.id} asks {', '.join(session.models)}; leave out -m to resume it "
                               "or use --new")
        if args.repeat is not None and args.repeat != session.repeats:
            raise CommandError(f"session {session.id} repeats each task {session.repeats} time(s); leave out "
                               "--repeat to resume it or use --new")
        if session.suite_sha256 != suite.sha256:
            notes.append(f"note: the suite file changed since session {session.id} started; "
                         "the tasks still to do are sent as they are now")
        return session, _resolve(settings, session.models), notes, True
    models = _resolve(settings, args.models or list(settings.defaults.models))
    ids = [m.id for m in models]
    if not args.new:
        session = latest_unfinished(store, suite.id, ids, sha256=suite.sha256, repeats=args.repeat)
        if session is not None:
            if args.blind and not session.blind:
                notes.append(f"note: session {session.id} is not blind; --blind applies to new sessions (--new)")
            return session, _resolve(settings, session.models), notes, True
        older = latest_unfinished(store, suite.id, ids, repeats=args.repeat)
        if older is not None:
            notes.append(f"note: unfinished session {older.id} ran an earlier version of this suite file; starting "
                         f"a new session (to carry on with it: --session {older.id})")
    return start_session(store, suite, ids, repeats=args.repeat or 1, blind=args.blind), models, notes, False


def _resolve(settings: Settings, ids) -> list[ModelInfo]:
    from workbench.catalog import UnknownModelError, resolve_models

    try:
        models = resolve_models(settings, list(ids))
    except UnknownModelError as exc:
        raise CommandError(str(exc)) from None
    if not models:
        raise CommandError("no models: give -m MODEL (or set [defaults].models in the config)")
    if len(models) > MAX_MODELS:
        raise CommandError(f"at most {MAX_MODELS} models take part in a suite run")
    _check_keys(settings, models)  # before a session is made for them
    return models


def _check_keys(settings: Settings, models: list[ModelInfo]) -> None:
    """Refuse to start without a model's key: every call would fail and, a failure counting as
    answered, the session would end with nothing to score."""
    from workbench.config import api_key_for

    for m in models:
        provider = settings.providers[m.provider]
        if not api_key_for(provider) and provider.api_key_env and not provider.is_local:
            raise CommandError(f"{m.id}: no API key: set the environment variable {provider.api_key_env} "
                               "(`workbench models` shows which keys are set)")


def _intro(session: SuiteSession, suite: Suite, progress: Progress, *, resumed: bool) -> str:
    what = f"{suite.id} · {len(session.models)} model(s) · {len(suite.tasks)} task(s)"
    if session.repeats > 1:
        what += f" × {session.repeats} repeats"
    if session.blind:
        what += " · blind"
    if not resumed:
        return f"session {session.id} started: {what}"
    if session.repeats > 1:
        done = f"{progress.done_steps}/{progress.total_steps} rounds done"
    else:
        done = f"{progress.tasks_done}/{progress.tasks_total} tasks done"
    return f"resuming session {session.id}: {done} ({what})"


def _summary(progress: Progress, suite: Suite, session: SuiteSession) -> None:
    from workbench.render.meter_text import format_seconds
    from workbench.suites import money

    spend = money(progress.spend_known_usd, progress.spend_unknown)
    state = "finished" if progress.complete else f"{progress.done_steps}/{progress.total_steps} rounds done"
    print(f"session {session.id} {state}: {progress.answers} answer(s), {progress.failed} failed · spent {spend} · "
          f"time {format_seconds(progress.elapsed_s)}")
    run_ids = sorted({s.run_id for s in progress.steps if s.run_id is not None})
    if run_ids:
        tasks = " ".join(dict.fromkeys(s.task_id for s in progress.steps))
        print(f"score: `workbench history --task TASK` (tasks: {tasks}) lists the runs "
              f"({run_ids[0]}–{run_ids[-1]}); `workbench history --open RUN` scores one in the app, "
              "`workbench score ANSWER_ID SCORE` from the shell")
    print(f"report: `workbench rank --suite {suite.id} --format markdown`")


