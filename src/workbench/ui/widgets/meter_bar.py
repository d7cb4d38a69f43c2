"""One line under a pane: tokens, cost, TTFT, rate, elapsed, status (C2)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from workbench.meter import MeterReading
from workbench.render.meter_text import format_cost, format_count, format_seconds


class MeterBar(Widget):
    """Renders a MeterReading; ``show`` refreshes without a layout pass."""

    DEFAULT_CSS = """
    MeterBar { height: 1; width: 1fr; color: $text-muted; }
    MeterBar.-two-lines { height: 2; }
    MeterBar.-exact { color: $text; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reading: MeterReading | None = None
        self.served_note = ""
        # In a blind round the price would name the model (the prices are public), and so would the
        # input count (each vendor's tokenizer counts the same prompt its own way): both wait for
        # the reveal; output tokens and timings stay, as they are what is being compared.
        self.cost_hidden = False

    def hide_cost(self, hidden: bool) -> None:
        """Hide the cost (a blind round) or show it again (the reveal)."""
        if hidden != self.cost_hidden:
            self.cost_hidden = hidden
            self.refresh()

    def show(self, reading: MeterReading, served_note: str = "") -> None:
        """Display a reading."""
        self.reading = reading
        self.served_note = served_note
        self.set_class(reading.exact, "-exact")
        self.refresh()

    TWO_LINES_BELOW = 76

    def on_resize(self) -> None:
        # a narrow pane gets two lines so that timings and status are never cut off
        self.set_class(self.size.width < self.TWO_LINES_BELOW, "-two-lines")

    def render(self) -> Text:
        r = self.reading
        if r is None:
            return Text("waiting", style="dim")
        est = "" if r.exact else "~"
        out = f"{est}{format_count(r.output_tokens)}"
        if r.reasoning_tokens:
            out += f" (think {format_count(r.reasoning_tokens)})"
        parts = [
            (f"in {'–' if self.cost_hidden else est + format_count(r.input_tokens)} out {out}", ""),
            ("cost hidden" if self.cost_hidden else format_cost(r), "dim italic" if self.cost_hidden else "bold"),
            (f"ttft {format_seconds(r.ttft_s)}", ""),
            (f"{r.tokens_per_s:.0f} t/s" if r.tokens_per_s is not None else "– t/s", ""),
            (format_seconds(r.elapsed_s), ""),
            ("exact" if r.exact else "est.", "italic" if not r.exact else "bold"),
        ]
        text = Text(no_wrap=True, overflow="ellipsis")
        two_lines = self.has_class("-two-lines")
        for i, (part, style) in enumerate(parts):
            if i:
                text.append("\n" if two_lines and i == 2 else " · ", style="dim")
            text.append(part, style=style)
        if self.served_note:
            text.append(f" · {self.served_note}", style="italic")
        return text

    @property
    def summary(self) -> str:
        """Plain text of the meter (for tests and logs)."""
        return self.render().plain
