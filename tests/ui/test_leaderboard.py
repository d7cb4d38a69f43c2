"""The leaderboard and history screens (C4, C5), driven by keys; snapshots at 80x24 and wide."""

from __future__ import annotations

from pathlib import Path

import pytest

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, painted_region, send, wait_round, wait_until
from workbench.domain import AnswerStatus, ChatRequest
from workbench.store.db import open_store
from workbench.store.imports import import_scores
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.screens.history import HistoryScreen
from workbench.ui.screens.leaderboard import LeaderboardScreen

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _app_with_notes(home, stub, files=("notes-per-task.csv",)):
    stub.script = SSE(completion("An answer."))
    app = make_app(home, stub.base_url, ["stub-a"])
    store = open_store(home / "data" / "test.sqlite3")
    try:
        for name in files:
            import_scores(store, EXAMPLES / name, app.settings.models)
    finally:
        store.close()
    return app


def _names(screen: LeaderboardScreen) -> list[str]:
    return [row.name for row in screen.rows]


async def _open_board(pilot) -> LeaderboardScreen:
    await wait_until(pilot, lambda: pilot.app.store is not None)
    await pilot.press("f6")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, LeaderboardScreen) and pilot.app.screen.board)
    return pilot.app.screen


async def test_leaderboard_sorts_filters_shows_tasks_and_exports(isolated_home, openai_stub):
    app = _app_with_notes(isolated_home, openai_stub)
    async with app.run_test(size=(120, 40)) as pilot:
        board = await _open_board(pilot)
        # by score: R1 (9.5 over two tasks) first
        assert _names(board)[0] == "DeepSeek-R1"
        assert len(board.rows) == 6
        await pilot.press("o")  # next sort column: value
        assert board.sort_key == "value"
        assert _names(board)[0] == "DeepSeek V4 Flash"  # 8.8 / 0.25 = 35.2
        await pilot.press("r")
        assert _names(board)[-1] == "DeepSeek V4 Flash"
        await pilot.press("slash", *"task:dijkstra", "enter")
        await wait_until(pilot, lambda: len(board.rows) == 4)
        assert set(_names(board)) == {"DeepSeek-R1", "Qwen3-Coder-30B", "DeepSeek V4 Flash", "Kimi K2.5"}
        await pilot.press("slash", *" bogus:1", "enter")  # a bad filter is refused, the old one stays
        await pilot.pause()
        assert any("unknown filter" in n.message for n in app._notifications)
        assert len(board.rows) == 4
        await pilot.press("escape")  # leaves the filter field
        await pilot.press("p")
        await pilot.pause()
        assert board.has_class("-tasks")
        # the per-task table as painted: the task, its rows best first, the winner
        tasks = [line.strip() for line in painted_region(app, board.query_one("#board-task-tables"))]
        assert tasks[0] == "Task: dijkstra", tasks
        rows = [line.split("  ")[0] for line in tasks if line.split("  ")[0] in _names(board)]
        assert rows == ["DeepSeek-R1", "Qwen3-Coder-30B", "DeepSeek V4 Flash", "Kimi K2.5"], tasks
        assert "Winner: DeepSeek-R1" in tasks, tasks
        await pilot.press("e")
        exports = isolated_home / "data" / "exports"
        await wait_until(pilot, lambda: exports.is_dir() and any(exports.iterdir()))
        text = next(exports.iterdir()).read_text()
        assert "| Rank | Model | Score | Price | Value |" in text and "## Task: dijkstra" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))


async def test_leaderboard_says_what_to_do_when_empty(isolated_home, openai_stub):
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(100, 30)) as pilot:
        board = await _open_board(pilot)
        assert board.rows == []
        assert "import-scores" in app.export_screenshot()


async def test_a_scored_round_reaches_the_leaderboard_and_history_reopens_it(isolated_home, openai_stub):
    openai_stub.script = {m: SSE(completion(f"Answer {m}.", prompt_tokens=5, completion_tokens=7))
                          for m in ("stub-a", "stub-b")}
    app = make_app(isolated_home, openai_stub.base_url, {"stub-a": {"output_per_m": 1.0},
                                                          "stub-b": {"output_per_m": 2.0}})
    async with app.run_test(size=(140, 40)) as pilot:
        await send(pilot, "First prompt")
        await wait_round(pilot)
        screen = app.screen
        screen.grid.show_pane(0)
        await pilot.press("s", "9", "enter")
        await wait_until(pilot, lambda: screen.grid.panes[0].score == 9)
        await send(pilot, "Second prompt")
        await wait_round(pilot)
        assert all(p.score is None for p in screen.grid.panes)

        board = await _open_board(pilot)
        assert [(r.model_id, r.n, str(r.value)) for r in board.rows if r.n] == [("stub-a", 1, "9.0")]
        # no input price: the output part is spent for sure, the rest is marked unknown
        assert board.rows[0].answers == 2 and board.rows[0].spend_usd > 0 and board.rows[0].spend_unknown == 2
        await pilot.press("escape")

        # history: the first run, reopened, shows its answers and score; score the other pane
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.runs)
        history = app.screen
        assert [r.prompt for r in history.runs] == ["Second prompt", "First prompt"]
        history.query_one("#history-table").focus()  # wherever F7 puts the cursor first
        await pilot.pause()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen)
                         and "Answer stub-a." in screen.grid.panes[0].view.rendered_text())
        first, second = screen.grid.panes
        assert first.score == 9 and second.score is None
        assert "Answer stub-b." in second.view.rendered_text()
        screen.grid.show_pane(1)
        await pilot.pause()
        await pilot.press("s", *"6.5", "enter")
        await wait_until(pilot, lambda: second.score == 6.5)
        assert second.stored is not None and second.answer_id == second.stored.id

        board = await _open_board(pilot)
        assert {r.model_id: r.n for r in board.rows} == {"stub-a": 1, "stub-b": 1}


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "wide"])
def test_leaderboard_snapshot(snap_compare, isolated_home, openai_stub, size):
    app = _app_with_notes(isolated_home, openai_stub)

    async def open_board(pilot):
        await _open_board(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_board)


async def test_history_open_starts_the_app_on_a_past_run(isolated_home, openai_stub):
    # `workbench history --open RUN`: the app starts with that run in the panes, ready to score
    from workbench.domain import RunRecord
    from workbench.store.answers import create_run, finish_answer, start_answer
    from workbench.runner import new_result
    from workbench.tokens import TokenCounter

    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    store = open_store(isolated_home / "data" / "test.sqlite3")
    run_id = create_run(store, RunRecord("An old prompt", source="ask"))
    for model in app.initial_models:
        result = new_result(model, app.settings.providers[model.provider], _request(), TokenCounter())
        result.text_parts.append(f"Old answer of {model.id}")
        result.status = AnswerStatus.OK
        finish_answer(store, start_answer(store, run_id, result.start_record()), result.final_record())
    store.close()
    app._open_run = run_id
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.run_id == run_id)
        assert [p.view.rendered_text().strip() for p in screen.grid.panes] == [
            "Old answer of stub-a", "Old answer of stub-b"]
        screen.grid.show_pane(0)
        await pilot.pause()
        await pilot.press("s", "8", "enter")
        await wait_until(pilot, lambda: screen.grid.panes[0].score == 8)


def _request() -> ChatRequest:
    return ChatRequest(prompt="An old prompt")
