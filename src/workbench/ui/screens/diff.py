"""Two answers of a round compared (C9): side by side or as a unified diff, highlighted,
optionally their code blocks only. Model text is sanitised before it is drawn."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from workbench.code_blocks import code_only, side_by_side, unified_diff
from workbench.safety import sanitize
from workbench.ui.widgets.key_footer import KeyFooter

SIDE_BY_SIDE_MIN_WIDTH = 100
STYLE = {"delete": "red", "insert": "green", "replace": "yellow"}


class DiffScreen(Screen):
    """The diff of two answers; Escape goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="close-diff"),
        Binding("u", "toggle_unified", "Unified/side", id="toggle-unified"),
        Binding("k", "toggle_code", "Code only", id="toggle-code-only"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-title { height: 1; background: $panel; padding: 0 1; }
    DiffScreen #diff-body { height: 1fr; padding: 0 1; }
    """

    def __init__(self, left: tuple[str, str], right: tuple[str, str]) -> None:
        super().__init__()
        self.left_name, self.left_text = left
        self.right_name, self.right_text = right
        self.unified: bool | None = None  # None: by width
        self.code_only = False

    def compose(self):
        yield Static("", id="diff-title")
        with VerticalScroll(id="diff-body"):
            yield Static("", id="diff-content")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#diff-body").focus()
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    @property
    def showing_unified(self) -> bool:
        """Unified when asked, or when the screen is too narrow for two columns."""
        return self.unified if self.unified is not None else self.size.width < SIDE_BY_SIDE_MIN_WIDTH

    def texts(self) -> tuple[str, str]:
        """The two texts compared (code blocks only when toggled), sanitised."""
        a, b = self.left_text, self.right_text
        if self.code_only:
            a, b = code_only(a), code_only(b)
        return sanitize(a), sanitize(b)

    def redraw(self) -> None:
        """Render the diff in the current mode."""
        a, b = self.texts()
        mode = "unified" if self.showing_unified else "side by side"
        what = "code blocks" if self.code_only else "whole answers"
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Diff", style="bold")
        title.append(f" · {sanitize(self.left_name)} ↔ {sanitize(self.right_name)} · {mode} · {what}")
        self.query_one("#diff-title", Static).update(title)
        content = self.query_one("#diff-content", Static)
        if a == b:
            content.update(Text("The two are the same." if a else "Nothing to compare (no code blocks?).",
                                style="italic"))
            return
        content.update(self._unified(a, b) if self.showing_unified else self._side_by_side(a, b))

    def _unified(self, a: str, b: str) -> Text:
        out = Text()
        for line in unified_diff(a, b, self.left_name, self.right_name):
            style = ("bold" if line.startswith(("---", "+++")) else "cyan" if line.startswith("@@")
                     else "red" if line.startswith("-") else "green" if line.startswith("+") else "")
            out.append(line + "\n", style=style)
        return out

    def _side_by_side(self, a: str, b: str) -> Table:
        table = Table(expand=True, box=None, padding=(0, 1), show_header=True, header_style="bold")
        table.add_column(Text(self.left_name), ratio=1, overflow="fold")
        table.add_column(Text(self.right_name), ratio=1, overflow="fold")
        for row in side_by_side(a, b):
            style = STYLE.get(row.tag, "")
            left = Text(row.left if row.left is not None else "", style=style if row.tag != "insert" else "")
            right = Text(row.right if row.right is not None else "", style=style if row.tag != "delete" else "")
            table.add_row(left, right)
        return table

    def action_toggle_unified(self) -> None:
        self.unified = not self.showing_unified
        self.redraw()

    def action_toggle_code(self) -> None:
        self.code_only = not self.code_only
        self.redraw()

    def action_close(self) -> None:
        self.dismiss()
