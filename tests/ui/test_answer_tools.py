"""Copy (OSC 52), save, diff and help, by keys (C9)."""

from __future__ import annotations

import base64
import io

from rich.console import Console

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, painted_region, painted_text, send, wait_round, wait_until
from workbench.ui.screens.diff import DiffScreen
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.pickers import BlockPicker, SaveBlockScreen

ALPHA = "Two ways:\n\n```python\ndef flatten(xs):\n    return xs\n```\n\n```bash\necho hi\n```\n"
BRAVO = "One way:\n\n```python\ndef flatten(xs):\n    return list(xs)\n```\n"


def _app(home, stub):
    stub.script = {"stub-a": SSE(completion(ALPHA)), "stub-b": SSE(completion(BRAVO))}
    return make_app(home, stub.base_url, ["stub-a", "stub-b"])


def _record_osc52(app) -> list[str]:
    written: list[str] = []
    original = app._driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)
    app._driver.write = write
    return written


async def test_copy_the_answer_and_one_code_block_through_osc52(isolated_home, openai_stub, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        written = _record_osc52(app)
        await send(pilot, "flatten")
        await wait_round(pilot)
        app.screen.grid.show_pane(0)
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        osc = [w for w in written if w.startswith("\x1b]52;c;")]
        assert osc and base64.b64decode(osc[-1][7:-1]).decode() == ALPHA
        await pilot.press("b")  # two blocks: pick one by its number
        await wait_until(pilot, lambda: isinstance(app.screen, BlockPicker))
        await pilot.press("2")
        await wait_until(pilot, lambda: not isinstance(app.screen, BlockPicker))
        osc = [w for w in written if w.startswith("\x1b]52;c;")]
        assert base64.b64decode(osc[-1][7:-1]).decode() == "echo hi\n"
        assert any("Copied code block 2" in n.message for n in app._notifications)


async def test_copy_warns_when_tmux_refuses_clipboard_writes(isolated_home, openai_stub, monkeypatch, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "tmux").write_text("#!/bin/sh\necho off\n")
    (fake / "tmux").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:/usr/bin:/bin")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "flatten")
        await wait_round(pilot)
        app.screen.grid.show_pane(1)
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert any("set-clipboard on" in n.message for n in app._notifications)


async def test_save_a_code_block_with_a_suggested_name(isolated_home, openai_stub, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "flatten")
        await wait_round(pilot)
        app.screen.grid.show_pane(1)  # one block: no picker
        await pilot.pause()
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveBlockScreen))
        assert app.screen.query_one("#save-path").value == str(tmp_path / "flatten.py")
        # and on screen, where a focused one-row field once showed nothing but its border
        assert str(tmp_path / "flatten.py") in painted_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveBlockScreen))
        assert (tmp_path / "flatten.py").read_text() == "def flatten(xs):\n    return list(xs)\n"
        (tmp_path / "flatten.py").write_text("# another file of the same name\n")
        await pilot.press("w")  # again: the file exists, Enter twice overwrites
        await wait_until(pilot, lambda: isinstance(app.screen, SaveBlockScreen))
        await pilot.press("enter")

        def problem() -> str:  # the dialog's warning as painted, its wrapped lines joined
            return " ".join(line.strip() for line in painted_region(app, app.screen.query_one("#save-problem")))

        await wait_until(pilot, lambda: "flatten.py exists: Enter again to overwrite it." in problem(),
                         "the save dialog to ask before overwriting")
        assert (tmp_path / "flatten.py").read_text() == "# another file of the same name\n"  # not yet
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SaveBlockScreen), "the save dialog to close")
        assert (tmp_path / "flatten.py").read_text() == "def flatten(xs):\n    return list(xs)\n"


async def test_diff_two_answers_unified_and_code_only(isolated_home, openai_stub):
    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "flatten")
        await wait_round(pilot)
        app.screen.grid.show_pane(0)
        await pilot.pause()
        await pilot.press("d")  # two panes: the other one directly
        await wait_until(pilot, lambda: isinstance(app.screen, DiffScreen))
        diff = app.screen
        assert not diff.showing_unified  # wide: side by side
        await pilot.press("u", "k")
        assert diff.showing_unified and diff.code_only
        shown = str(diff.query_one("#diff-content").render())
        assert "-    return xs" in shown and "+    return list(xs)" in shown and "Two ways" not in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DiffScreen))


async def test_help_lists_every_screen_with_remapped_keys(isolated_home, openai_stub):
    app = _app(isolated_home, openai_stub)
    app.settings = app.settings.__class__(**{**app.settings.__dict__, "keymap": {"score-answer": "ctrl+e"}})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        console = Console(width=120, file=io.StringIO(), record=True)
        console.print(app.screen._content())
        text = console.export_text()
        for section in ("Compare screen", "A pane", "Score entry", "Leaderboard", "History", "Diff"):
            assert section in text
        assert "Ctrl+E" in text and "score-answer" in text and "copy-block" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen))
