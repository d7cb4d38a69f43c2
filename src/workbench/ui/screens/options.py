"""Round options: system prompt, temperature, max tokens (a modal; Ctrl+S applies)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea


@dataclass(frozen=True)
class RoundOptions:
    """What every request of a round shares."""

    system: str = ""
    temperature: float = 0.2
    max_tokens: int | None = None


class OptionsScreen(ModalScreen[RoundOptions | None]):
    """Edit the round options; returns the new options or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel", id="options-cancel"),
        Binding("ctrl+s", "apply", "Apply", id="options-apply", priority=True),
    ]

    DEFAULT_CSS = """
    OptionsScreen { align: center middle; }
    OptionsScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 95%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    OptionsScreen TextArea { height: 6; }
    OptionsScreen Input { width: 1fr; }
    OptionsScreen #option-error { color: $error; height: auto; }
    OptionsScreen Horizontal { height: auto; }
    OptionsScreen Button { margin: 0 1 0 0; }
    """

    def __init__(self, options: RoundOptions) -> None:
        super().__init__()
        self.options = options

    def compose(self):
        with Vertical():
            yield Label("System prompt")
            yield TextArea(self.options.system, id="option-system", soft_wrap=True)
            yield Label("Temperature (0–2)")
            yield Input(str(self.options.temperature), id="option-temperature")
            yield Label("Max output tokens (empty: no cap)")
            yield Input("" if self.options.max_tokens is None else str(self.options.max_tokens), id="option-max-tokens")
            yield Label("", id="option-error")
            with Horizontal():
                yield Button("Apply (Ctrl+S)", id="option-apply", variant="primary")
                yield Button("Cancel (Esc)", id="option-cancel")

    def on_mount(self) -> None:
        self.border_title = "Round options"
        self.query_one("#option-system", TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "option-apply":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_apply(self) -> None:
        error = self.query_one("#option-error", Label)
        raw_t = self.query_one("#option-temperature", Input).value.strip()
        raw_m = self.query_one("#option-max-tokens", Input).value.strip()
        try:
            temperature = float(raw_t)
            if not 0 <= temperature <= 2:
                raise ValueError
        except ValueError:
            error.update("Temperature must be a number between 0 and 2.")
            return
        max_tokens = None
        if raw_m:
            try:
                max_tokens = int(raw_m)
                if max_tokens <= 0:
                    raise ValueError
            except ValueError:
                error.update("Max tokens must be a positive whole number, or empty.")
                return
        system = self.query_one("#option-system", TextArea).text
        self.dismiss(RoundOptions(system=system, temperature=temperature, max_tokens=max_tokens))
