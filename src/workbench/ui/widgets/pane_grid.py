"""The panes, laid out for the terminal: columns when wide, a grid for many, one at a time
(with a tab strip to switch) when they would not fit; any pane can be zoomed."""

from __future__ import annotations

import math

from rich.text import Text
from textual.containers import Container, Vertical
from textual.widget import Widget

from workbench.domain import ModelInfo
from workbench.safety import sanitize
from workbench.ui.widgets.answer_pane import AnswerPane

MIN_PANE_WIDTH = 34
MIN_PANE_HEIGHT = 9
STATUS_MARK = {"waiting": " ", "connecting": "…", "streaming": "…", "ok": "✓", "error": "✗",
               "interrupted": "✗", "cancelled": "■"}


class PaneTabs(Widget):
    """One line naming every pane with its status; the visible one highlighted."""

    DEFAULT_CSS = "PaneTabs { height: 1; display: none; } PaneTabs.-shown { display: block; }"

    def __init__(self) -> None:
        super().__init__(id="pane-tabs")
        self.entries: list[tuple[str, str, bool]] = []
        self.hint = ""

    def show(self, entries: list[tuple[str, str, bool]], hint: str) -> None:
        """Entries are (label, status, active)."""
        if entries != self.entries or hint != self.hint:
            self.entries, self.hint = entries, hint
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for label, status, active in self.entries:
            style = "reverse bold" if active else ""
            text.append(f" {label} {STATUS_MARK.get(status, '?')} ", style=style)
            text.append("│", style="dim")
        text.append(f" {self.hint}", style="dim italic")
        return text


class PaneGrid(Vertical):
    """Owns the AnswerPanes and decides how many are visible and how they are arranged."""

    DEFAULT_CSS = """
    PaneGrid { height: 1fr; }
    PaneGrid > #panes { layout: grid; height: 1fr; grid-gutter: 0 0; }
    """

    def __init__(self) -> None:
        super().__init__(id="pane-grid")
        self.panes: list[AnswerPane] = []
        self.tabs = PaneTabs()
        self.body = Container(id="panes")
        self.active = 0
        self.zoomed: AnswerPane | None = None
        self.mode = "grid"

    def compose(self):
        yield self.tabs
        yield self.body

    async def set_models(self, models: list[ModelInfo]) -> list[AnswerPane]:
        """Replace the panes with one per model."""
        await self.body.remove_children()
        self.panes = [AnswerPane(model, i) for i, model in enumerate(models)]
        self.zoomed = None
        self.active = 0
        await self.body.mount_all(self.panes)
        self.relayout()
        return self.panes

    def on_resize(self) -> None:
        self.relayout()

    def layout_for(self, width: int, height: int, count: int) -> tuple[str, int, int]:
        """(mode, columns, rows) for a terminal area and pane count."""
        if count <= 1:
            return "grid", 1, 1
        columns = max(1, min(count, width // MIN_PANE_WIDTH))
        rows = math.ceil(count / columns)
        if columns == 1 or height // rows < MIN_PANE_HEIGHT:
            # try fewer columns only if that still fits; otherwise one pane at a time
            return "single", 1, 1
        return "grid", columns, rows

    def relayout(self) -> None:
        """Apply the layout for the current size, zoom and active pane."""
        if not self.panes:
            return
        width, height = self.size.width, self.size.height
        if self.zoomed is not None:
            mode, columns, rows = "zoom", 1, 1
        else:
            mode, columns, rows = self.layout_for(width, height, len(self.panes))
        self.mode = mode
        self.body.styles.grid_size_columns = columns
        self.body.styles.grid_size_rows = rows
        visible = {self.zoomed} if mode == "zoom" else ({self.panes[self.active]} if mode == "single" else set(self.panes))
        for pane in self.panes:
            pane.display = pane in visible
        self.tabs.set_class(mode in ("single", "zoom"), "-shown")
        self.refresh_tabs()

    def refresh_tabs(self) -> None:
        """Update the tab strip (statuses change while streaming)."""
        if self.mode not in ("single", "zoom"):
            return
        shown = self.zoomed if self.mode == "zoom" else self.panes[self.active]
        hint = "z unzoom" if self.mode == "zoom" else "alt+←/→ switch"
        entries = [(sanitize(p.label), p.status, p is shown) for p in self.panes]
        self.tabs.show(entries, hint)

    def show_pane(self, index: int) -> AnswerPane | None:
        """Make pane ``index`` the active one (visible in one-at-a-time mode) and focus it."""
        if not self.panes:
            return None
        index %= len(self.panes)
        self.active = index
        if self.zoomed is not None:
            self.zoomed = self.panes[index]
        self.relayout()
        pane = self.panes[index]
        pane.view.focus()
        return pane

    def toggle_zoom(self, pane: AnswerPane) -> None:
        """Zoom a pane to the whole area, or return to the layout."""
        self.zoomed = None if self.zoomed is pane else pane
        self.active = pane.index
        self.relayout()
        pane.view.focus()

    def focused_pane(self) -> AnswerPane | None:
        """The pane that holds focus, if any."""
        focused = self.app.focused
        for pane in self.panes:
            if focused is not None and (focused is pane or pane in focused.ancestors_with_self):
                return pane
        return None
