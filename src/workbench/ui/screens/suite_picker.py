"""Choose a task suite to walk through with the round's models (C6): the suite, how many times
each task is asked, blind or not. A session of the same suite and models that was left
unfinished is resumed unless a fresh one is asked for."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from workbench.safety import sanitize
from workbench.suites import Suite, SuiteEntry
from workbench.ui.screens.pickers import MarkedCheckbox


@dataclass(frozen=True)
class SuiteChoice:
    """What the picker returns."""

    suite: Suite
    repeats: int
    blind: bool
    fresh: bool  # start a new session even if one can be resumed


class SuitePicker(ModalScreen[SuiteChoice | None]):
    """A list of suites; Enter starts (or resumes) the highlighted one."""

    BINDINGS = [
        Binding("escape", "dismiss_none", "Cancel", id="suite-cancel"),
        Binding("ctrl+n", "start_fresh", "New session", id="suite-fresh", priority=True),
    ]

    DEFAULT_CSS = """
    SuitePicker { align: center middle; }
    SuitePicker > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SuitePicker OptionList { height: auto; max-height: 12; }
    SuitePicker Horizontal { height: 1; margin-top: 1; }
    SuitePicker Horizontal Label { width: auto; padding-right: 1; }
    SuitePicker Input { width: 6; height: 1; border: none; padding: 0 1; background: $boost; }
    SuitePicker Checkbox { height: 1; border: none; padding: 0; margin-left: 3; background: $surface; }
    /* Textual's ToggleButton:focus adds a tall border, which leaves a 1-row box no room for its mark */
    SuitePicker Checkbox:focus { border: none; }
    SuitePicker #suite-help, SuitePicker #suite-models { color: $text-muted; }
    SuitePicker #suite-error { color: $error; height: auto; }
    """

    def __init__(self, entries: list[SuiteEntry], model_names: list[str], problems: list[str]) -> None:
        super().__init__()
        self.entries = entries
        self.model_names = model_names
        self.problems = problems

    def compose(self):
        options = [Option(f"{sanitize(e.suite.id)} — {sanitize(e.suite.title)} · {len(e.suite.tasks)} tasks · "
                          f"{e.source}", id=str(i)) for i, e in enumerate(self.entries)]
        with Vertical():
            yield Label("Models: " + sanitize(", ".join(self.model_names)) + "  (F3 changes them)", id="suite-models")
            yield OptionList(*options, id="suite-list")
            with Horizontal():
                yield Label("Ask each task")
                yield Input("1", id="suite-repeats", restrict=r"\d*", max_length=2)
                yield Label("time(s)")
                yield MarkedCheckbox("blind", id="suite-blind")
            yield Label("\n".join(self.problems), id="suite-error")
            yield Label("Enter starts or resumes the suite · Ctrl+N starts a new session · Esc cancels",
                        id="suite-help")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Run a task suite"
        self.query_one(OptionList).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(fresh=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose(fresh=False)

    def action_start_fresh(self) -> None:
        self._choose(fresh=True)

    def _choose(self, *, fresh: bool) -> None:
        error = self.query_one("#suite-error", Label)
        options = self.query_one(OptionList)
        if options.highlighted is None:
            error.update("Choose a suite first (↑/↓).")
            return
        raw = self.query_one("#suite-repeats", Input).value.strip() or "1"
        repeats = int(raw)
        if not 1 <= repeats <= 20:
            error.update("Ask each task 1 to 20 times.")
            return
        entry = self.entries[int(options.get_option_at_index(options.highlighted).id)]
        self.dismiss(SuiteChoice(entry.suite, repeats, self.query_one(Checkbox).value, fresh))
