"""Helpers for the Pilot tests: an app pointed at the stub server, waiting for rounds."""

from __future__ import annotations

from pathlib import Path

from servers.fixtures import write_stub_config
from workbench.catalog import resolve_models
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp


def make_app(home: Path, base_url: str, models: dict[str, dict] | list[str], **kw) -> WorkbenchApp:
    """A WorkbenchApp whose config points every model at ``base_url``."""
    path = write_stub_config(home, base_url, models, **kw)
    settings = load_settings(path)
    ids = list(models) if not isinstance(models, dict) else list(models.keys())
    return WorkbenchApp(settings, resolve_models(settings, ids), store_path=home / "data" / "test.sqlite3")


async def wait_until(pilot, predicate, *, steps: int = 400, delay: float = 0.05) -> None:
    """Let the app run until ``predicate()`` holds (bounded by steps, not by a wall-clock limit)."""
    for _ in range(steps):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(delay)
    raise AssertionError("the app never reached the expected state")


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
                     and not any(p.view.has_pending for p in screen.grid.panes))
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def pane_texts(app) -> dict[str, str]:
    """Rendered text of each pane by model id."""
    return {p.model.id: p.view.rendered_text() for p in app.screen.grid.panes}
