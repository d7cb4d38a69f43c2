"""The meter under a pane: tokens, cost, TTFT, rate, elapsed, exactness (C2), on one line or two
(narrow panes); the served model when it is not the one asked for; 'cut off (max tokens)' under an
answer stopped at the token cap."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from workbench.domain import cut_off_label
from workbench.meter import MeterReading
from workbench.render.meter_text import format_cost, format_count, format_seconds


class MeterBar(Widget):
    """Renders a MeterReading; ``show`` refreshes without a layout pass unless the number of lines
    changes (a narrow pane, the served model, a cut-off answer)."""

    DEFAULT_CSS = """
    MeterBar { height: 1; width: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    MeterBar.-exact { color: $text; }
    MeterBar > .meter-bar--cut-off { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES = {"meter-bar--cut-off"}

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
            self._relayout()

    def show(self, reading: MeterReading, served_note: str = "") -> None:
        """Display a reading."""
        self.reading = reading
        self.served_note = served_note
        self.set_class(reading.exact, "-exact")
        self._relayout()

    @property
    def cut_off_text(self) -> str | None:
        """'cut off (max tokens)' when the reading is of an answer stopped at a limit."""
        r = self.reading
        return cut_off_label(r.finish_reason) if r is not None and r.status == "ok" else None

    #: Below this width the figures take two lines, so that timings and status are never cut off.
    TWO_LINES_BELOW = 76

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        # the height follows the lines (a layout pass only when their number changes); render
        # then paints what was laid out
        self._lines = self.lines(self.size.width or 80)
        if self.styles.height is None or self.styles.height.value != len(self._lines):
            self.styles.height = len(self._lines)
        self.refresh()

    def lines(self, width: int) -> list[Text]:
        """The meter's lines for a pane ``width`` cells wide: the figures on one line (two when
        narrow), the served model where it fits or on a line of its own, and a line saying
        'cut off (max tokens)' for an answer stopped at the token cap."""
        r = self.reading
        if r is None:
            return [Text("waiting", style="dim")]
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
        groups = [parts[:2], parts[2:]] if width < self.TWO_LINES_BELOW else [parts]
        lines = []
        for group in groups:
            line = Text()
            for i, (part, style) in enumerate(group):
                if i:
                    line.append(" · ", style="dim")
                line.append(part, style=style)
            lines.append(line)
        if self.served_note:
            # which model really answered (a router, an alias): never clipped out of sight
            if lines[-1].cell_len + 3 + Text(self.served_note).cell_len <= width:
                lines[-1].append(" · ", style="dim").append(self.served_note, style="italic")
            else:
                lines.append(Text(self.served_note, style="italic"))
        cut = self.cut_off_text
        if cut:  # the one thing a reader of a truncated answer must not miss: a line of its own
            lines.append(Text(cut, style=self.get_component_rich_style("meter-bar--cut-off", partial=True)))
        return lines

    def render(self) -> Text:
        lines = getattr(self, "_lines", None) or self.lines(self.size.width or 80)
        return Text("\n").join(lines)

    @property
    def summary(self) -> str:
        """Plain text of the meter (for tests and logs)."""
        return self.render().plain
