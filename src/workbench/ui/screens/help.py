"""`?` (or F1): every key of every screen, as remapped by the config's `[keys]` table, with the
binding ids to remap them by."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from workbench.ui.widgets.key_footer import KeyFooter

#: (title, class whose BINDINGS it lists), in the order shown; the app, which imports every
#: screen, passes them in, so that this screen imports none of them.
HelpSections = list[tuple[str, type]]


def own_bindings(cls: type) -> list[Binding]:
    """The bindings ``cls`` declares itself, the ten pane jumps folded into one line."""
    out = []
    for b in cls.BINDINGS:
        if not isinstance(b, Binding) or (b.id or "").startswith("show-pane-") and b.id != "show-pane-1":
            continue
        if b.id == "show-pane-1":  # ten bindings, one line
            b = Binding("alt+1", b.action, "jump to pane 1 … 10 (Alt+1 … Alt+0)", id="show-pane-N")
        out.append(b)
    return out


def key_label(keys: str) -> str:
    """'alt+right,ctrl+s' → 'Alt+→ / Ctrl+S' (readable, like the README's table)."""
    names = {"right": "→", "left": "←", "up": "↑", "down": "↓", "escape": "Esc", "enter": "Enter",
             "slash": "/", "question_mark": "?", "space": "Space", "tab": "Tab"}
    out = []
    for key in keys.split(","):
        parts = key.strip().split("+")
        shown = []
        for p in parts:
            if p in ("ctrl", "alt", "shift"):
                shown.append(p.capitalize())
            elif p in names:
                shown.append(names[p])
            elif (p.startswith("f") and p[1:].isdigit()) or (len(p) == 1 and len(parts) > 1):
                shown.append(p.upper())  # F5, Ctrl+S
            else:
                shown.append(p)
        out.append("+".join(shown))
    return " / ".join(out)


class HelpScreen(Screen):
    """The keys, by screen; Escape (or ?) goes back."""

    BINDINGS = [Binding("escape,question_mark,f1", "close", "Back", id="close-help")]
    DEFAULT_CSS = """
    HelpScreen #help-body { height: 1fr; padding: 0 1; }
    """

    def __init__(self, sections: HelpSections) -> None:
        super().__init__()
        self.sections = sections

    def compose(self):
        with VerticalScroll(id="help-body"):
            yield Static(self._content(), id="help-content")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def _content(self) -> Table:
        keymap = getattr(self.app, "_keymap", {}) or {}
        outer = Table.grid(padding=(0, 0))
        outer.add_column()
        outer.add_row(Text("Keys — everything works from the keyboard. Remap any key in the config's [keys] "
                           "table by its id, e.g.  score-answer = \"ctrl+s\".", style="bold"))
        outer.add_row(Text("Anywhere: Ctrl+Q quits · Ctrl+P opens the command palette · ? or F1 this help.",
                           style="dim"))
        for title, cls in self.sections:
            bindings = own_bindings(cls)
            table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None,
                          padding=(0, 2, 0, 0), expand=False)
            table.add_column("key", no_wrap=True, style="bold cyan")
            table.add_column("what")
            table.add_column("id", style="dim", no_wrap=True)
            for binding in bindings:
                keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
                table.add_row(key_label(keys), binding.description or binding.action, binding.id or "")
            outer.add_row(Text(""))
            outer.add_row(table)
        return outer

    def action_close(self) -> None:
        self.dismiss()
