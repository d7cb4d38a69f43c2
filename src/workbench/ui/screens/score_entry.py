"""The score entry (C3): a compact modal, keyboard only. Overall 1–10 in half points, or the
four criteria of the notes (overall = their mean), and a one-line note. Enter saves."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from workbench.ranking.scoring import Criteria, ScoreError, parse_score
from workbench.store.scores import StoredScore
from workbench.ui.key_order import keys_handled

CRITERIA = (("correctness", "Correctness"), ("code_quality", "Code quality"),
            ("documentation", "Documentation"), ("edge_cases", "Edge cases"))


@dataclass(frozen=True)
class ScoreEntry:
    """What the user entered: an overall score or criteria (never both), and a note."""

    score: float | None
    criteria: Criteria | None
    note: str


class ScoreScreen(ModalScreen[ScoreEntry | None]):
    """Score one answer; returns the entry, or None when cancelled."""

    # Priority: the app acts on these keys as it reads them, so a quick typist's next key goes to
    # the field (or screen) they moved to, not the one they left (see ui/key_order.py).
    BINDINGS = [
        Binding("enter", "save", "Save", id="score-save", priority=True),
        Binding("escape", "dismiss_none", "Cancel", id="score-cancel", priority=True),
        Binding("tab", "next_field", "Next field", id="score-next-field", show=False, priority=True),
        Binding("shift+tab", "previous_field", "Previous field", id="score-previous-field", show=False,
                priority=True),
    ]

    DEFAULT_CSS = """
    ScoreScreen { align: center middle; }
    ScoreScreen > Vertical {
        width: 64; max-width: 100%; height: auto; border: round $primary;
        background: $surface; padding: 0 1;
    }
    ScoreScreen Horizontal { height: 1; margin-bottom: 1; }
    ScoreScreen Label { height: 1; }
    ScoreScreen .field-label { width: 15; }
    /* Input:focus draws a tall border that leaves a one-line field no room for its text: the
       border is set here for the focused state too. Left and right edges show the field without
       colour (NO_COLOR) and cost no height. */
    ScoreScreen Input, ScoreScreen Input:focus {
        border: none; border-left: tall $panel-lighten-2; border-right: tall $panel-lighten-2;
        height: 1; padding: 0 1; background: $boost;
    }
    ScoreScreen Input:focus {
        border-left: tall $primary; border-right: tall $primary; background: $primary 30%;
    }
    ScoreScreen Input.-short { width: 8; }
    ScoreScreen Input#score-note { width: 1fr; }
    ScoreScreen #score-mean { width: 1fr; color: $text-muted; padding-left: 2; }
    ScoreScreen #score-error { color: $error; height: auto; width: 1fr; }
    ScoreScreen #score-help { color: $text-muted; }
    """

    def __init__(self, title: str, previous: StoredScore | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.previous = previous

    def compose(self):
        prev = self.previous
        crit = prev.criteria if prev is not None else None
        with Vertical():
            with Horizontal():
                yield Label("Overall", classes="field-label")
                overall = "" if prev is None or crit is not None else f"{prev.score:g}"
                yield Input(overall, id="score-overall", classes="-short", placeholder="1–10")
                yield Label("1–10, half points (8.5)", id="score-mean")
            yield Label("or by criterion (overall = their mean):", id="score-or")
            for row in (CRITERIA[:2], CRITERIA[2:]):
                with Horizontal():
                    for key, title in row:
                        yield Label(title, classes="field-label")
                        value = "" if crit is None else f"{getattr(crit, key):g}"
                        yield Input(value, id=f"score-{key}", classes="-short", placeholder="–")
            with Horizontal():
                yield Label("Note", classes="field-label")
                yield Input(prev.note if prev is not None else "", id="score-note", placeholder="one line")
            yield Label("", id="score-error")
            yield Label("Enter saves · Tab next field · Esc cancels", id="score-help")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = self.title_text
        if self.previous is not None:
            self.query_one(Vertical).border_subtitle = f"now {self.previous.score:g} — saving keeps the old score in history"
        self.query_one("#score-overall", Input).focus()
        release = getattr(self.app, "release_keys", None)
        if release is not None:  # keys typed while the entry opened go to the field now focused
            release()

    def _hold_keys(self) -> None:
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:  # the one who gets the result releases them once focus is back
            hold()

    def action_next_field(self) -> None:
        self.focus_next()

    def action_previous_field(self) -> None:
        self.focus_previous()

    def action_save(self) -> None:
        # the fields may not have handled every key typed before Enter yet: read them once they have
        self._hold_keys()
        self.run_worker(self._save_when_typed(), name="score-save", exclusive=True)

    async def _save_when_typed(self) -> None:
        await keys_handled(*self.query(Input))
        entry = self.entry()
        if entry is None:
            release = getattr(self.app, "release_keys", None)
            if release is not None:
                release()
            return
        self.dismiss(entry)

    def _criteria_values(self) -> dict[str, str]:
        return {key: self.query_one(f"#score-{key}", Input).value.strip() for key, _ in CRITERIA}

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#score-error", Label).update("")
        values = self._criteria_values()
        mean = self.query_one("#score-mean", Label)
        if all(values.values()):
            try:
                criteria = Criteria(**{k: parse_score(v) for k, v in values.items()})
            except ScoreError:
                mean.update("criteria: 1–10 in half points")
                return
            mean.update(f"overall = {criteria.mean:g}")
        elif any(values.values()):
            mean.update("fill all four criteria")
        else:
            mean.update("1–10, half points (8.5)")

    def entry(self) -> ScoreEntry | None:
        """The entry as typed, or None (with the problem shown) when it is not valid."""
        error = self.query_one("#score-error", Label)
        overall = self.query_one("#score-overall", Input).value.strip()
        note = self.query_one("#score-note", Input).value
        values = self._criteria_values()
        try:
            if any(values.values()):
                missing = [title for key, title in CRITERIA if not values[key]]
                if missing:
                    raise ScoreError(f"fill every criterion or none (missing: {', '.join(missing)})")
                if overall:
                    raise ScoreError("give an overall score or the criteria, not both")
                criteria = Criteria(**{k: parse_score(v) for k, v in values.items()})
                return ScoreEntry(None, criteria, note)
            if not overall:
                raise ScoreError("type a score from 1 to 10 (half points allowed)")
            return ScoreEntry(parse_score(overall), None, note)
        except ScoreError as exc:
            error.update(str(exc))
            return None

    def action_dismiss_none(self) -> None:
        self._hold_keys()
        self.dismiss(None)
