"""Scoring by keys (C3): the score entry, the next unscored pane, a failed pane, blind rounds."""

from __future__ import annotations

import sqlite3

from servers.openai_stub import SSE, completion, error_status
from ui.helpers import make_app, send, wait_round, wait_until
from workbench.ui.screens.score_entry import ScoreScreen

NAMED = {
    "zephyr-1": {"name": "Zephyr Coder", "output_per_m": 0.5},
    "quasar-2": {"name": "Quasar Chat", "output_per_m": 1.0},
    "nimbus-3": {"name": "Nimbus Pro", "output_per_m": 2.0},
}
SECRET_WORDS = ("Zephyr", "Quasar", "Nimbus", "zephyr-1", "quasar-2", "nimbus-3")


def _db(home):
    return sqlite3.connect(home / "data" / "test.sqlite3")


async def _score(pilot, keys: str) -> None:
    """Press s on the focused pane, type ``keys`` in the overall field, Enter."""
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ScoreScreen))
    await pilot.press(*keys, "enter")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, ScoreScreen))


async def test_score_panes_by_keys_with_criteria_note_and_rescoring(isolated_home, openai_stub):
    openai_stub.script = {m: SSE(completion(f"Answer from the {i} model.", prompt_tokens=5, completion_tokens=6))
                          for i, m in enumerate(NAMED)}
    app = make_app(isolated_home, openai_stub.base_url, NAMED)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Write a function")
        await wait_round(pilot)
        screen = app.screen
        await pilot.press("alt+right")
        first = screen.grid.focused_pane()
        assert first is screen.grid.panes[0]
        await _score(pilot, "8.5")
        await wait_until(pilot, lambda: first.score == 8.5)
        assert "★ 8.5" in first.border_subtitle and first.has_class("-scored")

        # n: the next pane without a score
        await pilot.press("n")
        second = screen.grid.focused_pane()
        assert second is screen.grid.panes[1]
        # by criterion: overall is their mean; a note rides along
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScoreScreen))
        await pilot.press("tab", "9", "tab", "8", "tab", *"8.5", "tab", "9", "tab", *"verbose but right", "enter")
        await wait_until(pilot, lambda: second.score is not None)
        assert second.score == 8.625

        # a bad value keeps the entry open with the problem shown
        await pilot.press("n")
        third = screen.grid.focused_pane()
        assert third is screen.grid.panes[2]
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScoreScreen))
        await pilot.press("8", ".", "3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ScoreScreen)
        assert "half points" in str(app.screen.query_one("#score-error").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ScoreScreen))
        assert third.score is None

        # re-scoring the first pane keeps its history; the latest counts
        screen.grid.show_pane(0)
        await pilot.pause()
        await _score(pilot, "7")
        await wait_until(pilot, lambda: first.score == 7)
        ids = [p.answer_id for p in screen.grid.panes]
    rows = _db(isolated_home).execute(
        "SELECT answer_id, score, correctness, note, blind FROM scores ORDER BY id").fetchall()
    assert rows == [(ids[0], 8.5, None, "", 0), (ids[1], 8.625, 9.0, "verbose but right", 0), (ids[0], 7.0, None, "", 0)]


async def test_a_failed_pane_cannot_be_scored_but_the_others_can(isolated_home, openai_stub):
    openai_stub.script = {
        "zephyr-1": SSE(completion("Fine answer.")),
        "quasar-2": error_status(500, "upstream exploded"),
        "nimbus-3": SSE(completion("Another answer.")),
    }
    app = make_app(isolated_home, openai_stub.base_url, NAMED)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        screen = app.screen
        screen.grid.show_pane(1)
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert not isinstance(app.screen, ScoreScreen)
        assert any("no text to score" in n.message for n in app._notifications)
        screen.grid.show_pane(0)
        await pilot.pause()
        await _score(pilot, "9")
        await pilot.press("n")  # skips the failed pane
        assert screen.grid.focused_pane() is screen.grid.panes[2]
        await _score(pilot, "6.5")
        await wait_until(pilot, lambda: screen.grid.panes[2].score == 6.5)
        assert screen.grid.panes[1].score is None


async def test_blind_round_hides_names_until_every_answer_is_scored(isolated_home, openai_stub):
    openai_stub.script = {m: SSE(completion("A neutral answer with code.", prompt_tokens=5, completion_tokens=6))
                          for m in NAMED}
    app = make_app(isolated_home, openai_stub.base_url, NAMED)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        await pilot.press("f5")
        assert "BLIND" in screen.session_bar.render().plain
        await send(pilot, "Write a function")
        await wait_round(pilot)
        panes = screen.grid.panes
        assert sorted(p.blind_label for p in panes) == ["A", "B", "C"]

        def on_screen() -> str:
            return app.export_screenshot()

        for word in SECRET_WORDS:
            assert word not in on_screen(), word
        # the prices would name the models: no cost until the reveal
        assert all("cost hidden" in p.meter.summary and "$" not in p.meter.summary for p in panes)
        screen.grid.show_pane(0)
        await pilot.pause()
        await _score(pilot, "8")
        await pilot.press("n")
        await _score(pilot, "7.5")
        await wait_until(pilot, lambda: sum(p.score is not None for p in panes) == 2)
        # two of three scored: still blind, on screen and in the store's history
        for word in SECRET_WORDS:
            assert word not in on_screen(), word
        from workbench.store.history import list_runs

        history = list_runs(app.store)
        assert history[0].models == ("A", "B", "C") or sorted(history[0].models) == ["A", "B", "C"]
        await pilot.press("n")
        await _score(pilot, "9")
        await wait_until(pilot, lambda: all(p.blind_label is None for p in panes))
        shown = on_screen()
        assert all(name in shown for name in ("Zephyr", "Quasar", "Nimbus"))
        assert all("$" in p.meter.summary and "hidden" not in p.meter.summary for p in panes)
        assert "Revealed" in " ".join(n.message for n in app._notifications)
    db = _db(isolated_home)
    assert db.execute("SELECT blind FROM runs").fetchall() == [(1,)]
    assert sorted(r[0] for r in db.execute("SELECT blind_label FROM answers")) == ["A", "B", "C"]
    assert [r[0] for r in db.execute("SELECT blind FROM scores ORDER BY id")] == [1, 1, 1]


async def test_an_answer_that_names_its_model_is_flagged(isolated_home, openai_stub):
    openai_stub.script = {
        "zephyr-1": SSE(completion("As Zephyr Coder, I would write this.")),
        "quasar-2": SSE(completion("Here is the code.")),
    }
    models = {k: NAMED[k] for k in ("zephyr-1", "quasar-2")}
    app = make_app(isolated_home, openai_stub.base_url, models)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("f5")
        await send(pilot, "Go")
        await wait_round(pilot)
        flagged = [p for p in app.screen.grid.panes if p.self_named]
        assert [p.model.id for p in flagged] == ["zephyr-1"]
        assert "names itself" in flagged[0].border_subtitle
        assert any("is not blind" in n.message for n in app._notifications)


async def test_a_routed_pane_sends_the_prompt_to_the_policys_pick(isolated_home, openai_stub):
    from servers.fixtures import stub_config_toml
    from workbench.config import load_settings
    from workbench.routing import resolve_with_routed
    from workbench.ui.app import WorkbenchApp

    openai_stub.script = {m: SSE(completion(f"Answer from {m}.")) for m in ("stub-a", "stub-b", "stub-c")}
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stub_config_toml(openai_stub.base_url, ["stub-a", "stub-b", "stub-c"])
                    + '\n[routing]\neasy = "stub-a"\nmedium = "stub-b"\nhard = "stub-c"\n')
    settings = load_settings(path)
    app = WorkbenchApp(settings, resolve_with_routed(settings, ["stub-a", "routed"]),
                       store_path=isolated_home / "data" / "test.sqlite3")
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Implement Dijkstra's shortest path in TypeScript.")
        await wait_round(pilot)
        plain, routed = app.screen.grid.panes
        assert routed.display_name == "Routed → stub-c" and "Routed → stub-c" in routed.border_title
        assert "Answer from stub-c." in routed.view.rendered_text()
        assert any("hard" in n.message for n in app._notifications)
        await send(pilot, "Write a Python function that adds two numbers.")
        await wait_round(pilot)
        assert routed.display_name == "Routed → stub-a"
    rows = _db(isolated_home).execute("SELECT model_id FROM answers ORDER BY id").fetchall()
    assert rows == [("stub-a",), ("stub-c",), ("stub-a",), ("stub-a",)]


async def test_a_stored_blind_run_reopens_without_names_or_costs(isolated_home, openai_stub):
    from workbench.domain import AnswerStatus, ChatRequest
    from workbench.runner import new_result
    from workbench.domain import RunRecord
    from workbench.store.answers import create_run, finish_answer, start_answer
    from workbench.store.db import open_store
    from workbench.tokens import TokenCounter

    app = make_app(isolated_home, openai_stub.base_url, NAMED)
    store = open_store(isolated_home / "data" / "test.sqlite3")
    run_id = create_run(store, RunRecord("Write a function", source="suite", blind=True))
    for label, model in zip("ABC", app.initial_models):
        result = new_result(model, app.settings.providers[model.provider], ChatRequest(prompt="Write a function"),
                            TokenCounter())
        result.text_parts.append("A neutral answer.")
        result.status = AnswerStatus.OK
        finish_answer(store, start_answer(store, run_id, result.start_record(label)), result.final_record())
    store.close()
    app._open_run = run_id
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.run_id == run_id and all(p.blind_label for p in screen.grid.panes))
        shown = app.export_screenshot()
        for word in SECRET_WORDS:
            assert word not in shown, word
        assert all("cost hidden" in p.meter.summary and "$" not in p.meter.summary for p in screen.grid.panes)
        # nor does the leaderboard list them: it says it left the round out
        await pilot.press("f6")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LeaderboardScreen" and app.screen.board is not None)
        title = app.screen.query_one("#board-title").render().plain
        assert "1 blind round(s) left out until revealed" in title
        shown = app.export_screenshot()
        for word in SECRET_WORDS:
            assert word not in shown, word
