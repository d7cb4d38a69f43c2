"""The round's prompt stays on screen (C1): after sending, when reopened from history, collapsed to
one line with alt+p showing all of it with its system prompt and parameters."""

from __future__ import annotations

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, send, wait_round, wait_until
from ui.screen_text import assert_hides, assert_shows, screen_lines, widget_text

MODELS = {"zephyr-1": {"name": "Zephyr Coder"}, "quasar-2": {"name": "Quasar Chat"}}
LONG = "Write a Python function that flattens nested lists. " * 3


def _script(stub) -> None:
    stub.script = {m: SSE(completion(f"Answer {i}.", prompt_tokens=5, completion_tokens=6))
                   for i, m in enumerate(MODELS)}


async def test_the_prompt_stays_visible_and_expands_with_its_settings(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert_hides(app, "alt+p shows all")  # nothing before the first round
        await send(pilot, "Write a function that adds")
        await wait_round(pilot)
        assert screen.prompt_bar.text == ""  # the input cleared…
        line = widget_text(screen.round_prompt)
        assert "Write a function" in line and "alt+p" in line  # …the prompt did not go
        assert screen_lines(app)[1].strip().startswith("▸ Write a function")
        await pilot.press("alt+p")
        assert_shows(app, "▾ Prompt", "System: none", "Parameters: temperature 0.2")
        await pilot.press("escape")
        assert_hides(app, "▾ Prompt")
        assert_shows(app, "▸ Write a function")


async def test_a_long_prompt_is_one_line_until_asked_for(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, LONG)
        await wait_round(pilot)
        box = app.screen.round_prompt
        assert box.region.height == 1
        await pilot.press("alt+p")
        await pilot.pause()
        assert box.region.height > 2
        assert "lists. Write" in widget_text(box).replace("\n", " ") or "nested" in widget_text(box)


async def test_a_reopened_run_shows_its_prompt_and_says_which_run(isolated_home, openai_stub):
    _script(openai_stub)
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Reverse a linked list")
        await wait_round(pilot)
        run_id = app.screen.run_id
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.store is not None)
        assert await app.screen.scoring.open_run(run_id)
        await pilot.pause()
        assert_shows(app, f"run {run_id} (reopened)", f"▸ run {run_id}: Reverse a linked list")
