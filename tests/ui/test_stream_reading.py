"""How the app reads and draws streams (Q1): in a reader process of its own, and one pane per
flush tick so that no callback holds the event loop for long."""

from __future__ import annotations

import os
import time

from servers.openai_stub import SSE, chunk, completion, stall
from ui.helpers import make_app, send, wait_round, wait_until
from workbench.catalog import resolve_models
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp


async def test_streams_are_read_in_a_process_of_its_own_which_ends_with_the_app(isolated_home, openai_stub):
    openai_stub.script = {"stub-a": SSE(completion("Alpha **bold** answer.")),
                          "stub-b": SSE(completion("Bravo answer."))}
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Hello")
        await wait_round(pilot)
        reader = app.stream_reader
        assert reader is not None and reader.running and reader.process.pid != os.getpid()
        pane_a, pane_b = app.screen.grid.panes
        assert (pane_a.result.text, pane_b.result.text) == ("Alpha **bold** answer.", "Bravo answer.")
        assert "Alpha bold answer." in pane_a.view.rendered_text() and pane_a.status == "ok"
        assert pane_a.result.reading().exact
        # idle, the flush timer pauses; the next round must wake it (text mid-stream is drawn by it)
        openai_stub.script = stall([chunk("", role="assistant"), chunk("Second round so far")])
        await send(pilot, "Once more")
        await wait_until(pilot, lambda: all("Second round so far" in p.view.rendered_text() for p in (pane_a, pane_b)))
        assert pane_a.is_streaming and pane_b.is_streaming
        await pilot.press("escape")
        await wait_round(pilot)
        process = reader.process
    assert process.returncode is not None  # closed with the app, not left behind


async def test_the_config_can_keep_reading_inline(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("Inline answer."))
    path = isolated_home / "config" / "config.toml"
    make_app(isolated_home, openai_stub.base_url, ["stub-a"])  # writes the config
    path.write_text(path.read_text("utf-8") + '\n[ui]\nstream_reader = "inline"\n', "utf-8")
    settings = load_settings(path)
    app = WorkbenchApp(settings, resolve_models(settings, ["stub-a"]), store_path=isolated_home / "data" / "t.sqlite3")
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "Hello")
        await wait_round(pilot)
        assert app.stream_reader is None
        assert app.screen.grid.panes[0].result.text == "Inline answer."


async def test_a_flush_tick_renders_one_pane_at_most_once_a_frame(isolated_home, openai_stub):
    models = [f"stub-{c}" for c in "abcdef"]
    openai_stub.script = stall([chunk("", role="assistant"), chunk("Some text so far")])
    app = make_app(isolated_home, openai_stub.base_url, models)
    async with app.run_test(size=(200, 50)) as pilot:
        await send(pilot, "Go")
        screen = app.screen
        panes = screen.grid.panes
        await wait_until(pilot, lambda: all(p.status == "streaming" for p in panes))
        screen.flush_timer.pause()
        flushed: list[list[int]] = []
        for pane in panes:
            original = pane.flush

            def recording(now, pane=pane, original=original):
                flushed[-1].append(pane.index)
                original(now)

            pane.flush = recording
        for pane in panes:
            pane.flushed_at = 0.0  # all due
        screen._chrome_at = time.monotonic() + 60  # no top-bar tick in between
        for _ in range(len(panes)):
            flushed.append([])
            screen.flush_panes()
        assert all(len(tick) == 1 for tick in flushed)
        assert sorted(i for tick in flushed for i in tick) == [p.index for p in panes]  # each once, round-robin
        for pane in panes:
            pane.flushed_at = time.monotonic() + 60  # none due: drawn "this frame"
        flushed.append([])
        screen.flush_panes()
        assert flushed[-1] == []
        screen._chrome_at = 0.0  # the top bar's turn: a tick of its own
        for pane in panes:
            pane.flushed_at = 0.0
        flushed.append([])
        screen.flush_panes()
        assert flushed[-1] == [] and screen._chrome_at > 0
        await pilot.press("escape")
        await wait_round(pilot)
