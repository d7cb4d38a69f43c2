"""A blind round must not leak through any output before the reveal (C3): three models whose
prices differ 10x, whose servers name themselves and whose tokenizers count the same prompt
differently; then every surface that shows the round — the app's screen, meters, top bar and
notifications, `history` (table, --show, --json), `rank` in every format, and `suite run --blind` —
is read for anything that tells the models apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from servers.openai_stub import SSE, StubServer, completion
from servers.fixtures import write_stub_config
from ui.helpers import send, wait_round
from workbench import paths
from workbench.catalog import resolve_models
from workbench.cli import main
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp

MODELS = {
    "zephyr-1": {"name": "Zephyr Coder", "input_per_m": 0.1, "output_per_m": 0.2},
    "quasar-2": {"name": "Quasar Chat", "input_per_m": 1.0, "output_per_m": 2.0},
    "nimbus-3": {"name": "Nimbus Pro", "input_per_m": 10.0, "output_per_m": 20.0},
}
SECRET_WORDS = ("Zephyr", "Quasar", "Nimbus", "zephyr", "quasar", "nimbus")
# each vendor's tokenizer counts the same prompt its own way: the input count is a fingerprint
PROMPT_TOKENS = {"zephyr-1": 1301, "quasar-2": 1717, "nimbus-3": 2129}
MONEY = re.compile(r"\$\s?\d")


def script() -> dict[str, SSE]:
    return {m: SSE(completion("A neutral answer.", model=f"{m}-served-2026", prompt_tokens=PROMPT_TOKENS[m],
                              completion_tokens=40)) for m in MODELS}


def assert_nothing_tells(text: str, where: str) -> None:
    for word in SECRET_WORDS:
        assert word.lower() not in text.lower(), f"{where} names a model: {word!r} in {text!r}"
    for count in PROMPT_TOKENS.values():
        assert str(count) not in text and f"{count / 1000:.1f}k" not in text, f"{where} shows an input count: {text!r}"


async def test_no_surface_tells_the_blind_models_apart(isolated_home: Path, openai_stub: StubServer,
                                                      capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = script()
    settings = load_settings(write_stub_config(isolated_home, openai_stub.base_url, MODELS))
    # the store the commands read too
    app = WorkbenchApp(settings, resolve_models(settings, list(MODELS)), store_path=paths.store_file())
    async with app.run_test(size=(200, 50)) as pilot:
        screen = app.screen
        await pilot.press("f5")
        await send(pilot, "Write a function")
        await wait_round(pilot)
        run_id = screen.run_id
        assert sorted(p.blind_label for p in screen.grid.panes) == ["A", "B", "C"]
        assert_nothing_tells(app.export_screenshot(), "the screen")
        for pane in screen.grid.panes:
            assert_nothing_tells(pane.meter.summary, "a meter")
            assert not MONEY.search(pane.meter.summary), pane.meter.summary
        top = screen.session_bar.render().plain
        assert not MONEY.search(top) and "hidden" in top, top
        for note in app._notifications:
            assert_nothing_tells(f"{note.title} {note.message}", "a notification")
    capsys.readouterr()

    for argv in (["history"], ["history", "--json"], ["history", "--show", str(run_id)],
                 ["history", "--show", str(run_id), "--json"],
                 ["rank"], ["rank", "--format", "markdown"], ["rank", "--format", "csv"], ["rank", "--format", "json"],
                 ["rank", "--format", "table"]):
        assert main(argv) == 0, argv
        out = capsys.readouterr()
        assert_nothing_tells(out.out + out.err, " ".join(argv))
        if argv[0] == "history":
            assert not MONEY.search(out.out), f"{argv}: {out.out}"
    assert main(["history", "--show", str(run_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert all(a["cost_usd"] is None and a["model"] is None for a in shown["answers"])


def test_a_blind_suite_run_prints_nothing_that_tells_the_models_apart(isolated_home: Path, openai_stub: StubServer,
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, MODELS)
    openai_stub.script = script()
    suite = tmp_path / "tiny.toml"
    suite.write_text('[suite]\nid = "tiny"\ntitle = "Two tasks"\n\n'
                     '[[tasks]]\nid = "one"\ntitle = "One"\nkind = "easy"\nprompt = "Say one"\n\n'
                     '[[tasks]]\nid = "two"\ntitle = "Two"\nkind = "easy"\nprompt = "Say two"\n', "utf-8")
    code = main(["suite", "run", str(suite), "--blind", *sum((["-m", m] for m in MODELS), [])])
    out = capsys.readouterr()
    assert code == 0, out.err
    step_lines = [line for line in (out.out + out.err).splitlines() if "Model " in line]
    assert len(step_lines) >= 2  # the per-task lines are there to be read
    for line in step_lines:
        assert_nothing_tells(line, "a suite line")
        assert not MONEY.search(line), line
    assert_nothing_tells(out.out + out.err, "suite run --blind")
