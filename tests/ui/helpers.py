"""Helpers for the Pilot tests: an app pointed at the stub server, waiting for rounds, and the
screen as the user sees it."""

from __future__ import annotations

import inspect
from pathlib import Path

from servers.fixtures import write_stub_config
from ui.screen_text import screen_lines, screen_text, widget_text

from workbench.catalog import resolve_models
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp

# A test that still waits after this many steps in all has hung (a stream its app never
# times out): a backstop for the run, not a limit a healthy test comes near, however slow.
BACKSTOP_FACTOR = 25


def make_app(home: Path, base_url: str, models: dict[str, dict] | list[str], **kw) -> WorkbenchApp:
    """A WorkbenchApp whose config points every model at ``base_url``."""
    path = write_stub_config(home, base_url, models, **kw)
    settings = load_settings(path)
    ids = list(models) if not isinstance(models, dict) else list(models.keys())
    return WorkbenchApp(settings, resolve_models(settings, ids), store_path=home / "data" / "test.sqlite3")


def _described(predicate) -> str:
    """The predicate's source (a lambda's own text), for a failure message."""
    try:
        source = inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)
    start = source.find("lambda")
    return " ".join((source[start:] if start >= 0 else source).split())[:200]


def _busy_workers(app) -> list[str]:
    return [w.name or w.group or "worker" for w in app.workers if not w.is_finished]


async def wait_until(pilot, predicate, what: str | None = None, *, steps: int = 400, delay: float = 0.05) -> None:
    """Let the app run until ``predicate()`` holds; fail saying ``what`` was awaited.

    Bounded by the app's events, not by seconds: while one of its workers runs (a stream, the
    store opening) the app is on its way, and its own read and connect timeouts end every
    stream. Only a step in which no worker runs counts against ``steps``: ``steps`` of those
    in a row mean nothing is left that could make ``predicate`` hold. A slow machine takes
    more steps, it does not fail.
    """
    app = pilot.app
    quiet = total = 0
    while True:
        await pilot.pause()
        if predicate():
            await pilot.pause()
            return
        busy = _busy_workers(app)
        quiet = 0 if busy else quiet + 1
        total += 1
        if quiet >= steps or total >= steps * BACKSTOP_FACTOR:
            why = (f"{quiet} steps in a row with no worker running" if quiet >= steps
                   else f"{total} steps in all, workers still running: {', '.join(busy)}")
            raise AssertionError(f"waited for {what or _described(predicate)}: not reached after {why} "
                                 f"(screen {type(app.screen).__name__})")
        await pilot.pause(delay)


async def send(pilot, text: str) -> None:
    """Type a prompt in the one-line input and press Enter."""
    app = pilot.app
    app.screen.prompt_bar.focus_editor()
    await pilot.press(*text)
    await pilot.press("enter")


async def wait_round(pilot) -> None:
    """Wait until every stream has ended and every pane rendered its last text."""
    screen = pilot.app.screen
    await wait_until(pilot, lambda: screen.round_no > 0 and not screen.streaming
                     and not any(p.view.has_pending for p in screen.grid.panes),
                     "the round to end (every stream over, every pane's text rendered)")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def pane_texts(app) -> dict[str, str]:
    """Rendered text of each pane by model id."""
    return {p.model.id: p.view.rendered_text() for p in app.screen.grid.panes}


# What the user sees (ui/screen_text.py): the painted screen, not widget state.
painted_lines = screen_lines
painted_text = screen_text


def painted_region(app, widget) -> list[str]:
    """The rows a widget covers on screen (its border and padding included), cut to its width."""
    return widget_text(widget).split("\n")
