"""The core never imports Textual (architecture; Q2: `--help` and `models` start fast)."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys



def non_ui_modules() -> list[str]:
    """Every module of the package outside ``workbench.ui``: walked, so a new module is guarded too
    (``__main__`` runs the command, so it is left out)."""
    import workbench

    return sorted(m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")
                  if not m.name.startswith("workbench.ui") and m.name != "workbench.__main__")


CORE_MODULES = non_ui_modules()


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_importing_the_core_does_not_import_textual() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_walk_finds_every_room() -> None:
    # the core, the command line and the renderers, down to modules no list ever named
    for name in ("workbench.rounds", "workbench.cli.ask", "workbench.render.meter_text", "workbench.ranking.scoring",
                 "workbench.providers.http", "workbench.store.answers"):
        assert name in CORE_MODULES
    assert not any(name.startswith("workbench.ui") for name in CORE_MODULES)


def test_the_check_can_see_textual() -> None:
    # Guard against a vacuous pass: the same probe does see Textual when it is imported.
    proc = run_python("import sys, textual.app; print('textual' in sys.modules)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def cli_modules(*args: str) -> tuple[int, list[str]]:
    """Run `main(args)` in a fresh process; exit code and the textual modules it imported."""
    code = (
        "import json, sys\n"
        "from workbench.cli import main\n"
        "try:\n"
        f"    rc = main({list(args)!r})\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code\n"
        "sys.stdout.flush()\n"
        "mods = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print('\\n@@' + json.dumps([rc, mods]))\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    rc, mods = json.loads(proc.stdout.rsplit("@@", 1)[1])
    return rc, mods


def test_help_does_not_import_textual() -> None:
    assert cli_modules("--help") == (0, [])


def test_models_does_not_import_textual() -> None:
    assert cli_modules("models") == (0, [])
    assert cli_modules("models", "--json") == (0, [])


def test_ask_usage_errors_do_not_import_textual() -> None:
    assert cli_modules("ask", "-m", "gpt-17", "hi") == (2, [])
    assert cli_modules("-m", "gpt-17") == (2, [])


def test_a_whole_ask_run_does_not_import_textual(isolated_home, openai_stub) -> None:
    from servers.fixtures import write_stub_config
    from servers.openai_stub import SSE, completion

    openai_stub.script = SSE(completion("Fine."))
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    rc, mods = cli_modules("ask", "--json", "-m", "stub-a", "hi")
    assert (rc, mods) == (0, [])


def test_rank_history_and_scoring_commands_do_not_import_textual(isolated_home) -> None:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert cli_modules("import-scores", os.path.join(repo, "examples", "notes-per-task.csv")) == (0, [])
    for fmt in ("table", "markdown", "csv", "json"):
        assert cli_modules("rank", "--format", fmt) == (0, [])
    assert cli_modules("history") == (0, [])
    assert cli_modules("score", "1", "8") == (2, [])  # an imported answer has no text to score
