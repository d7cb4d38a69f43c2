"""The baseline of `startup_bench.py`: a bare Textual app with a header, 30 Statics and a footer.

Nothing of the workbench is imported; this is as fast as a first frame of that size gets with
Textual on this machine. Ctrl+Q quits (Textual's own binding).
"""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class BareApp(App):
    """Header, 30 one-line Statics, footer."""

    def compose(self) -> ComposeResult:
        yield Header()
        for i in range(30):
            yield Static(f"Static line {i + 1}: the bare Textual baseline")
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
