"""The top line: round settings and the session's running totals (C2 session total)."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widget import Widget

from workbench.catalog import format_usd
from workbench.render.meter_text import format_count
from workbench.safety import sanitize


class SessionBar(Widget):
    """Shows temperature, system prompt, round number and the session's cost and tokens."""

    DEFAULT_CSS = "SessionBar { height: 1; background: $panel; color: $text; }"

    def __init__(self) -> None:
        super().__init__(id="session-bar")
        self.state: tuple = ()

    def show(self, *, suite: str = "", blind: bool = False, round_no: int, label: str = "", temperature: float, system: str,
             known_usd: Decimal, unknown: bool, tokens: int, exact: bool, cost_hidden: bool = False) -> None:
        """Update the figures (refreshes only when they changed). ``cost_hidden``: a blind round is
        on screen, whose answers, ending one by one, would each be priced by the total's steps."""
        state = (round_no, temperature, system, known_usd, unknown, tokens, exact, blind, suite, cost_hidden, label)
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Text:
        if not self.state:
            return Text(" workbench", style="bold")
        round_no, temperature, system, known, unknown, tokens, exact, blind, suite, cost_hidden, label = self.state
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" workbench", style="bold")
        if blind:
            text.append(" · BLIND", style="bold reverse")
        if suite:  # the suite's progress matters more than its fixed settings
            text.append(f" · {sanitize(suite)}", style="bold")
        else:
            text.append(f" · {sanitize(label)}" if label else f" · round {round_no}" if round_no else " · ready")
            text.append(f" · temp {temperature:g} · sys: ")
            first_line = sanitize(system).strip().splitlines()[0] if system.strip() else "none"
            text.append(first_line[:24] + ("…" if len(first_line) > 24 else ""), style="italic")
        text.append(" · total ")
        if cost_hidden:
            text.append("hidden until scored", style="italic")
        else:
            text.append(format_usd(known) + (" + unknown" if unknown else ""), style="bold")
        text.append(f" · {'' if exact else '~'}{format_count(tokens)} tok")
        return text
