"""Every screen's footer keeps Help and Quit visible at 80 columns (C9); what does not fit is
behind F1. Read from the painted screen, the last line."""

from __future__ import annotations

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, send, wait_round, wait_until
from ui.screen_text import screen_lines
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.history import HistoryScreen
from workbench.ui.screens.leaderboard import LeaderboardScreen
from workbench.ui.screens.score_entry import ScoreScreen
from workbench.ui.widgets.key_footer import FooterItem, fit_items

MODELS = {"zephyr-1": {"name": "Zephyr Coder"}, "quasar-2": {"name": "Quasar Chat"}}


def _footer(app) -> str:
    return screen_lines(app)[-1]


def _ends_with_help_and_quit(line: str) -> bool:
    return line.rstrip().endswith("f1 Help ^q Quit")


async def test_help_and_quit_stay_on_every_footer_at_80_columns(isolated_home, openai_stub):
    openai_stub.script = {m: SSE(completion(f"Answer {i}.", prompt_tokens=5, completion_tokens=6))
                          for i, m in enumerate(MODELS)}
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        assert _ends_with_help_and_quit(_footer(app)), _footer(app)
        await send(pilot, "Write a function")
        await wait_round(pilot)
        await pilot.press("alt+right")  # a pane focused: its many keys
        line = _footer(app)
        assert _ends_with_help_and_quit(line) and "s Score" in line and "…" in line, line
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScoreScreen))
        await pilot.press("8", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ScoreScreen))
        assert _ends_with_help_and_quit(_footer(app)), _footer(app)
        for key, kind in (("f6", LeaderboardScreen), ("f7", HistoryScreen), ("f1", HelpScreen)):
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, (LeaderboardScreen, HistoryScreen, HelpScreen)))
            await pilot.press(key)
            await wait_until(pilot, lambda k=kind: isinstance(app.screen, k))
            await pilot.pause()
            line = _footer(app)
            if kind is HelpScreen:  # the help itself: Back and Quit
                assert line.startswith("esc Back") and line.rstrip().endswith("^q Quit"), line
            else:
                assert _ends_with_help_and_quit(line), f"{kind.__name__}: {line!r}"


def test_keys_that_do_not_fit_are_dropped_from_the_end_never_the_pinned_ones():
    items = [FooterItem(str(n), f"f{n}", f"Action {n}", True, False) for n in range(10)]
    pinned = [FooterItem("f1", "f1", "Help", True, True), FooterItem("ctrl+q", "^q", "Quit", True, True)]
    shown, kept, left_out = fit_items(items + pinned, 40)
    assert kept == pinned
    assert shown == items[:len(shown)] and 0 < len(shown) < 10 and left_out == 10 - len(shown)
    assert sum(i.width + 1 for i in shown + kept) <= 40
    shown, kept, left_out = fit_items(items + pinned, 400)
    assert left_out == 0 and len(shown) == 10
