"""The round's prompt above the panes (C1): one line until asked for, then the whole prompt with
its system prompt and parameters. The input clears when a prompt is sent and a reopened run has no
input at all, so without this line the answers on screen would have no question."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.safety import sanitize


@dataclass(frozen=True)
class ShownPrompt:
    """What a round asked: the prompt, its system prompt and the sampling parameters."""

    prompt: str
    system: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    origin: str = ""  # e.g. "run 42" for a reopened run, a suite task's id


def _params(shown: ShownPrompt) -> str:
    parts = []
    if shown.temperature is not None:
        parts.append(f"temperature {shown.temperature:g}")
    if shown.max_tokens is not None:
        parts.append(f"max tokens {shown.max_tokens:,}")
    return " · ".join(parts) or "provider defaults"


def collapsed_line(shown: ShownPrompt) -> Text:
    """The one-line form: the prompt's first line, how much more there is, the key that shows it."""
    lines = sanitize(shown.prompt).strip().splitlines() or [""]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("▸ ", style="bold")
    if shown.origin:
        text.append(f"{sanitize(shown.origin)}: ", style="bold")
    text.append(lines[0])
    more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
    text.append(f"{more} · alt+p shows all", style="italic")
    return text


def expanded_text(shown: ShownPrompt) -> Text:
    """The whole prompt, then its system prompt and parameters."""
    text = Text()
    text.append("▾ Prompt", style="bold")
    if shown.origin:
        text.append(f" ({sanitize(shown.origin)})", style="bold")
    text.append(" · alt+p hides\n", style="italic")
    text.append(sanitize(shown.prompt).rstrip() + "\n")
    text.append("System: ", style="bold")
    text.append((sanitize(shown.system).strip() or "none") + "\n")
    text.append("Parameters: ", style="bold")
    text.append(_params(shown))
    return text


class RoundPrompt(VerticalScroll, can_focus=False):
    """Hidden before the first round; one line, or (alt+p) the whole prompt, scrollable."""

    DEFAULT_CSS = """
    RoundPrompt { height: 1; display: none; background: $boost; color: $text; padding: 0 1;
                  scrollbar-size-vertical: 1; }
    RoundPrompt.-shown { display: block; }
    RoundPrompt.-expanded { height: auto; max-height: 50%; border-bottom: hkey $panel-lighten-2; }
    RoundPrompt > Static { width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="round-prompt")
        self.shown: ShownPrompt | None = None
        self.expanded = False
        self.body = Static("", markup=False)

    def compose(self):
        yield self.body

    def show(self, shown: ShownPrompt) -> None:
        """Put the round's prompt up (collapsed)."""
        self.shown = shown
        self.expanded = False
        self.add_class("-shown")
        self._refresh_body()

    def toggle(self) -> bool:
        """Expand or collapse; returns True when expanded. Does nothing before the first round."""
        if self.shown is None:
            return False
        self.expanded = not self.expanded
        self._refresh_body()
        return self.expanded

    def _refresh_body(self) -> None:
        assert self.shown is not None
        self.set_class(self.expanded, "-expanded")
        self.can_focus = self.expanded  # arrows and PageDown scroll a long prompt
        self.body.update(expanded_text(self.shown) if self.expanded else collapsed_line(self.shown))
        self.scroll_home(animate=False)
