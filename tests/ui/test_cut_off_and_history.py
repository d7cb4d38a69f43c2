"""Issue 13, items 4 and 5, as the user sees them at 80x24: an answer cut off at max tokens says
so in its pane's subtitle, its meter and under its text, live and reopened (F7, `history
--open`); the leaderboard counts it apart; F7 has a Prompt column that gets the room and puts the
cursor in its search box. Every assertion reads the painted screen, not only widget state."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import DataTable, Input

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, send, wait_round, wait_until
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.screens.history import HistoryScreen
from workbench.ui.screens.leaderboard import LeaderboardScreen

CUT = "cut off (max tokens)"
PROMPT = "Write a Python function that flattens nested lists"  # longer than what 80 columns leave


def painted(app) -> list[str]:
    """The screen as painted now, one string per line (what ``export_screenshot`` draws)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return [line.ljust(width) for line in console.export_text(styles=False).split("\n")[:height]]


def painted_in(widget) -> list[str]:
    """The painted lines inside ``widget``'s box, borders included."""
    r = widget.region
    return [line[r.x:r.right] for line in painted(widget.app)[r.y:r.bottom]]


def screen_dump(app) -> str:
    return "\n".join(painted(app))


MODELS = {"stub-a": {"name": "Stub Alpha"}, "stub-b": {"name": "Stub Beta"}}


def _script(stub) -> None:
    # stub-a stops at the cap, stub-b ends on its own
    stub.script = {"stub-a": SSE(completion("def flatten(items):\n    for item in", model="stub-a",
                                            finish="length", completion_tokens=16)),
                   "stub-b": SSE(completion("Use recursion.", model="stub-b"))}


def assert_cut_off_pane(pane) -> None:
    box = painted_in(pane)
    assert CUT in box[-1], "\n".join(box)  # the subtitle, in the bottom border
    meter = painted_in(pane.meter)
    assert any(CUT in line for line in meter), "\n".join(meter)
    inside = " ".join(" ".join(line.strip("│ ") for line in box[1:-1]).split())  # the notice wraps
    assert "Cut off (max tokens): the answer reached the output limit" in inside, "\n".join(box)


def assert_whole_pane(pane) -> None:
    box = painted_in(pane)
    assert "done" in box[-1] and "cut off" not in "\n".join(box), "\n".join(box)


async def test_a_cut_off_answer_says_so_live_and_reopened_from_f7(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, PROMPT)
        await wait_round(pilot)
        screen = app.screen
        cut, whole = screen.grid.panes
        assert cut.result.status.value == "ok"  # the status stays ok (I4)
        assert_cut_off_pane(cut)
        assert_whole_pane(whole)

        await send(pilot, "Second prompt")
        await wait_round(pilot)

        # F7: the cursor is in the search box, as its placeholder invites
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs)
        history = app.screen
        search = history.query_one("#history-search", Input)
        assert app.focused is search
        table = history.query_one(DataTable)
        lines = painted(app)
        header = next(line for line in lines if "Prompt" in line)
        assert "Run" in header and header.index("Prompt") < 40, screen_dump(app)
        row = next(line for line in lines if "Write a Python" in line)
        # the prompt gets the room: far more than the 17 characters it used to keep
        shown = row[row.index("Write a Python"):].rstrip().rstrip("…")
        assert len(shown) >= 35 and PROMPT.startswith(shown), screen_dump(app)
        assert "0/2 ✂1" in row, row  # none scored yet, one of two cut off
        await pilot.press(*"nested")  # typed straight away: the search box has the cursor
        await wait_until(pilot, lambda: len(history.runs) == 1)
        assert "nested" in painted_in(search)[0]
        assert not any("Second prompt" in line for line in painted(app)), screen_dump(app)
        await pilot.press("down")
        assert app.focused is table
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen)
                         and screen.grid.panes[0].stored is not None)
        await pilot.pause()
        cut, whole = screen.grid.panes
        assert cut.stored.finish_reason == "length"
        assert_cut_off_pane(cut)
        assert_whole_pane(whole)


async def test_history_open_shows_the_cut_off_state(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, PROMPT)
        await wait_round(pilot)
        run_id = app.screen.run_id
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    app._open_run = run_id  # what `workbench history --open RUN` does
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.run_id == run_id and screen.grid.panes[0].stored is not None)
        await pilot.pause()
        assert_cut_off_pane(screen.grid.panes[0])
        assert_whole_pane(screen.grid.panes[1])


async def test_the_leaderboard_counts_cut_off_answers_apart(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, PROMPT)
        await wait_round(pilot)
        await pilot.press("f6")
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen) and app.screen.board)
        await pilot.pause()
        board = app.screen
        assert {r.model_id: r.cut_off for r in board.rows} == {"stub-a": 1, "stub-b": 0}
        lines = painted(app)
        text = "\n".join(lines)
        alpha = next(line for line in lines if "Stub Alpha" in line or "stub-a" in line)
        beta = next(line for line in lines if "Stub Beta" in line or "stub-b" in line)
        assert "✂" in alpha and "✂" not in beta, text
        assert "Cut off (max tokens): " in text and "1 of 1 answers" in text, text


async def test_f7_at_80_columns_drops_nothing_but_the_models(isolated_home, openai_stub):
    # narrow: Run, When, Scored, Cost and Prompt; wide: the models come back
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, PROMPT)
        await wait_round(pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs)
        header = next(line for line in painted(app) if "Prompt" in line)
        assert [w for w in ("Run", "When", "Scored", "Cost", "Prompt") if w not in header] == [], header
        assert "Models" not in header
        await pilot.resize_terminal(160, 30)
        await pilot.pause()
        lines = painted(app)
        header = next(line for line in lines if "Prompt" in line)
        assert "Models" in header, "\n".join(lines)
        assert any("Stub Alpha, Stub Beta" in line and PROMPT in line for line in lines), "\n".join(lines)
