"""The score entry as the user sees it (C3): typed values are visible in every field, and keys
typed faster than the screen opens, moves focus or closes land where they were aimed."""

from __future__ import annotations

import sqlite3
import unicodedata

from servers.openai_stub import SSE, completion
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from ui.helpers import make_app, send, wait_round, wait_until
from ui.screen_text import screen_lines, widget_text

from workbench.ui.screens.score_entry import ScoreScreen

MODELS = {"zephyr-1": {"name": "Zephyr Coder"}, "quasar-2": {"name": "Quasar Chat"}}


def _row(app, label: str) -> str:
    """The painted line of the score entry that holds ``label``."""
    rows = [line for line in screen_lines(app) if label in line]
    assert rows, f"no line with {label!r} on screen"
    return rows[0]


async def _round(pilot, openai_stub) -> None:
    openai_stub.script = {m: SSE(completion(f"Answer {i}.", prompt_tokens=5, completion_tokens=6))
                          for i, m in enumerate(MODELS)}
    await send(pilot, "Write a function")
    await wait_round(pilot)
    await pilot.press("alt+right")


async def test_typed_values_are_painted_in_every_field(isolated_home, openai_stub):
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await _round(pilot, openai_stub)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScoreScreen))
        # empty fields still read as fields without colour: edges, and a placeholder
        assert "▊1–10▎" in _row(app, "Overall").replace(" ", "")
        assert _row(app, "Correctness").count("▊") == 2
        await pilot.press(*"7.5")
        assert "7.5" in _row(app, "Overall")
        for _ in range(5):
            await pilot.press("tab")
        await pilot.press(*"terse but right")
        assert "terse but right" in _row(app, "Note")
        await pilot.press("shift+tab", "9")
        assert "9" in _row(app, "Documentation").split("Edge cases")[1]
        box = widget_text(app.screen.query_one("#score-note"))
        assert "terse but right" in box


def _post_keys(app, keys: list[str]) -> None:
    """Queue every key at once through the driver, as a paste or a quick typist delivers them
    (Pilot's ``press`` waits for the app to settle after each key; a person does not)."""
    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_keys_typed_at_once_land_in_their_fields(isolated_home, openai_stub):
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await _round(pilot, openai_stub)
        first = app.screen.grid.focused_pane()
        # score the first pane by criteria with a note, then n and score the next one: one burst
        _post_keys(app, ["s", "tab", "6", "tab", "5", "tab", "4", "tab", "3", "tab", *"note", "enter",
                         "n", "s", *"8.5", "enter"])
        panes = app.screen.grid.panes
        await wait_until(pilot, lambda: all(p.score is not None for p in panes), "both panes scored")
        assert first.score == 4.5
        assert panes[1].score == 8.5
        db = sqlite3.connect(isolated_home / "data" / "test.sqlite3")
        rows = db.execute("SELECT score, correctness, code_quality, documentation, edge_cases, note "
                          "FROM scores ORDER BY id").fetchall()
        assert rows == [(4.5, 6, 5, 4, 3, "note"), (8.5, None, None, None, None, "")]


async def test_keys_typed_before_a_refused_entry_are_not_lost(isolated_home, openai_stub):
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.prompt_bar.focus_editor()
        await pilot.pause()
        # nothing to score yet: the keys after s still reach the prompt
        _post_keys(app, ["escape", "alt+right", "s", "i", *"hi"])
        await wait_until(pilot, lambda: app.screen.prompt_bar.text == "hi", "hi in the prompt")
