"""Small and plain terminals (C9): 80x24 in the 16-colour theme, with NO_COLOR, and every screen
usable at 80x24. Snapshots are approved with `pytest --snapshot-update`."""

from __future__ import annotations

import dataclasses

import pytest

import workbench.meter
from servers.openai_stub import SSE, completion
from ui.helpers import make_app, wait_round, wait_until
from workbench.domain import UiSettings

ANSWER = "A recursive one:\n\n```python\ndef flatten(xs):\n    return [y for x in xs for y in flatten(x)]\n```\n"


@pytest.fixture
def frozen_meters(monkeypatch):
    monkeypatch.setattr(workbench.meter, "clock_source", lambda: (lambda: 100.0))


def _app(home, stub, theme="workbench-dark"):
    stub.script = SSE(completion(ANSWER, prompt_tokens=20, completion_tokens=30))
    app = make_app(home, stub.base_url, {m: {"name": f"Model {m[-1].upper()}", "output_per_m": 1.0}
                                         for m in ("stub-a", "stub-b", "stub-c")})
    app.settings = dataclasses.replace(app.settings, ui=UiSettings(theme=theme))
    return app


async def _round(pilot):
    pilot.app.screen.prompt_bar.input.cursor_blink = False
    pilot.app.screen.prompt_bar.input.value = "Flatten a list"
    await pilot.press("enter")
    await wait_round(pilot)


def test_16_colour_theme_at_80x24(snap_compare, isolated_home, openai_stub, frozen_meters):
    app = _app(isolated_home, openai_stub, theme="workbench-ansi")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_round)


def test_no_color_at_80x24(snap_compare, isolated_home, openai_stub, frozen_meters, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = _app(isolated_home, openai_stub)
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=_round)


async def test_every_screen_opens_and_closes_at_80x24(isolated_home, openai_stub):
    from workbench.ui.compare.screen import CompareScreen

    app = _app(isolated_home, openai_stub)
    async with app.run_test(size=(80, 24)) as pilot:
        await _round(pilot)
        screen = app.screen
        # three panes fit as a 2×2 grid, each on screen with room for its text and meter
        assert all(p.region.height >= 9 and p.region.width >= 34 for p in screen.grid.panes)
        assert all(app.screen.region.contains_region(p.region) for p in screen.grid.panes)
        screen.grid.show_pane(0)
        await pilot.pause()
        for key, name in (("f1", "HelpScreen"), ("f6", "LeaderboardScreen"), ("f7", "HistoryScreen"),
                          ("s", "ScoreScreen"), ("d", "PanePicker"), ("f3", "ModelPicker"),
                          ("f4", "OptionsScreen"), ("f8", "SuitePicker")):
            screen.grid.show_pane(0)
            await pilot.pause()
            await pilot.press(key)
            await wait_until(pilot, lambda: type(app.screen).__name__ == name)
            await pilot.press("escape")
            await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
