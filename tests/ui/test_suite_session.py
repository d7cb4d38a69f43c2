"""A suite session in the app (C6), by keys: task by task, progress in the top bar, scoring
between tasks, leaving half-way and resuming exactly there, the leaderboard at the end."""

from __future__ import annotations

import sqlite3

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, wait_round, wait_until
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.screens.leaderboard import LeaderboardScreen
from workbench.ui.screens.score_entry import ScoreScreen
from workbench.ui.screens.suite_picker import SuitePicker

SUITE = """
[suite]
id = "mini"
title = "Two small tasks"
system = "Be brief."
temperature = 0.3

[[tasks]]
id = "add"
title = "Function"
kind = "structural"
language = "python"
prompt = "Write add(a, b)."

[[tasks]]
id = "sort"
title = "Algorithm"
kind = "algorithmic"
language = "python"
prompt = "Sort this list."
code = "xs = [3, 1, 2]"
"""
MODELS = {"stub-a": {"output_per_m": 1.0}, "stub-b": {"output_per_m": 2.0}}


def _app(home, stub):
    stub.script = {m: SSE(completion(f"Answer of {m}.", prompt_tokens=5, completion_tokens=7)) for m in MODELS}
    (home / "data" / "suites").mkdir(parents=True, exist_ok=True)
    (home / "data" / "suites" / "mini.toml").write_text(SUITE)
    return make_app(home, stub.base_url, MODELS)


async def _pick_mini(pilot) -> None:
    await pilot.press("f8")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SuitePicker))
    picker = pilot.app.screen
    index = next(i for i, e in enumerate(picker.entries) if e.suite.id == "mini")
    await pilot.press("home", *["down"] * index)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CompareScreen))


async def test_a_suite_session_walks_tasks_and_resumes_where_it_stopped(isolated_home, openai_stub):
    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.store is not None)
        screen = app.screen
        await _pick_mini(pilot)
        await wait_until(pilot, lambda: screen.round_no == 1)
        await wait_round(pilot)
        await wait_until(pilot, lambda: "task 1/2" in screen.session_bar.render().plain)
        bar = screen.session_bar.render().plain
        assert "mini · task 1/2 · spent $" in bar and "rest ≈ $" in bar
        screen.grid.show_pane(0)
        await pilot.pause()
        await pilot.press("s", "8", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ScoreScreen) and screen.grid.panes[0].score == 8)
        await pilot.press("ctrl+q")  # leave half-way: task 2 never sent
    first = [r.json for r in openai_stub.requests]
    assert len(first) == 2 and all(b["messages"][-1]["content"] == "Write add(a, b)." for b in first)
    assert all(b["temperature"] == 0.3 and b["messages"][0]["content"] == "Be brief." for b in first)

    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.store is not None)
        screen = app.screen
        await _pick_mini(pilot)
        assert any("Resuming session 1: 1/2 rounds done" in n.message for n in app._notifications)
        await wait_until(pilot, lambda: screen.round_no == 1)
        await wait_round(pilot)
        await wait_until(pilot, lambda: "task 2/2" in screen.session_bar.render().plain)
        await wait_until(pilot, lambda: any("Last task answered" in n.message for n in app._notifications))
        await pilot.press("f9")  # nothing left: the session ends on the leaderboard of the suite
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen))
        assert app.screen.filter.suite == "mini"
        assert [r.model_id for r in app.screen.rows if r.n] == ["stub-a"]
    second = [r.json for r in openai_stub.requests[2:]]
    assert len(second) == 2 and all(b["messages"][-1]["content"].startswith("Sort this list.") for b in second)
    assert "```python\nxs = [3, 1, 2]\n```" in second[0]["messages"][-1]["content"]
    db = sqlite3.connect(isolated_home / "data" / "test.sqlite3")
    runs = db.execute("SELECT task, suite, kind, session_id, source FROM runs ORDER BY id").fetchall()
    assert runs == [("add", "mini", "structural", 1, "suite"), ("sort", "mini", "algorithmic", 1, "suite")]
    assert db.execute("SELECT finished_at IS NOT NULL FROM suite_sessions").fetchall() == [(1,)]
