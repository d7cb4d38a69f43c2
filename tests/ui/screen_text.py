"""What the user sees: the painted screen as lines of text, for assertions on the picture rather
than on widget state (a field whose value is set but whose box hides it passes the latter)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.geometry import Region


def screen_lines(app) -> list[str]:
    """Every line of the screen as painted now (modal screens over their background), the same
    picture ``export_screenshot`` draws, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    lines = console.export_text(styles=False).split("\n")
    return [line.ljust(width) for line in lines[:height]]


def screen_text(app) -> str:
    """The whole painted screen as one string (lines joined by newlines)."""
    return "\n".join(screen_lines(app))


def region_text(app, region: Region) -> str:
    """What the screen shows inside ``region`` (screen coordinates), lines joined by newlines."""
    lines = screen_lines(app)[region.y:region.bottom]
    return "\n".join(line[region.x:region.right] for line in lines)


def widget_text(widget) -> str:
    """What the screen shows where ``widget`` is painted (its whole box, borders included)."""
    return region_text(widget.app, widget.region)


def assert_shows(app, *needles: str) -> None:
    """Fail with the painted screen when any of ``needles`` is not visible on it."""
    text = screen_text(app)
    missing = [n for n in needles if n not in text]
    assert not missing, f"not on screen: {missing!r}\n--- screen ---\n{text}"


def assert_hides(app, *needles: str) -> None:
    """Fail with the painted screen when any of ``needles`` is visible on it."""
    text = screen_text(app)
    shown = [n for n in needles if n in text]
    assert not shown, f"on screen but must not be: {shown!r}\n--- screen ---\n{text}"
