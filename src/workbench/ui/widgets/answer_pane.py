"""One model's pane: a bordered box with the answer view and its meter."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message

from workbench.blinding import names_itself, redact
from workbench.domain import FINISH_CONTEXT, FINISH_LENGTH, AnswerStatus, ModelInfo, cut_off_label
from workbench.meter import MeterReading
from workbench.providers.events import ReasoningDelta, RetryNotice, TextDelta
from workbench.routing import is_routed
from workbench.runner import AnswerResult
from workbench.safety import sanitize
from workbench.store.answers import StoredAnswer
from workbench.ui.widgets.answer_view import AnswerView
from workbench.ui.widgets.meter_bar import MeterBar

STATUS_LABEL = {
    "waiting": "idle", "connecting": "connecting…", "streaming": "streaming…", "ok": "done",
    "error": "failed", "interrupted": "interrupted", "cancelled": "cancelled",
}


#: Said under a cut-off answer's text, by finish reason: why it stops mid-way, what to do about it.
CUT_OFF_NOTICES = {
    FINISH_LENGTH: "Cut off (max tokens): the answer reached the output limit and is incomplete. "
                   "Raise Max tokens (F4) for a longer one.",
    FINISH_CONTEXT: "Cut off (context window): the answer filled the model's context and is incomplete.",
}


class AnswerPane(Vertical):
    """Shows one answer as it streams; keys act on this pane when it has focus."""

    BINDINGS = [
        Binding("z", "zoom", "Zoom", id="zoom-pane"),
        Binding("r", "retry", "Retry", id="retry-pane"),
        Binding("c", "cancel", "Cancel", id="cancel-pane", show=False),
        Binding("t", "toggle_reasoning", "Reasoning", id="toggle-reasoning"),
        # priority: the app opens the entry as it reads s, so keys typed right after wait for it
        Binding("s", "score", "Score", id="score-answer", priority=True),
        Binding("n", "next_unscored", "Next unscored", id="next-unscored", priority=True),
        Binding("y", "tool('copy-answer')", "Copy", id="copy-answer"),
        Binding("b", "tool('copy-block')", "Copy block", id="copy-block"),
        Binding("w", "tool('save-block')", "Save block", id="save-block", show=False),
        Binding("d", "tool('diff')", "Diff", id="diff-answers"),
    ]

    class RetryRequested(Message):
        """The user asked to retry this pane."""

        def __init__(self, pane: AnswerPane) -> None:
            super().__init__()
            self.pane = pane

    class CancelRequested(Message):
        """The user asked to cancel this pane's stream."""

        def __init__(self, pane: AnswerPane) -> None:
            super().__init__()
            self.pane = pane

    class ZoomRequested(Message):
        """The user asked to zoom (or unzoom) this pane."""

        def __init__(self, pane: AnswerPane) -> None:
            super().__init__()
            self.pane = pane

    class ScoreRequested(Message):
        """The user asked to score this pane's answer."""

        def __init__(self, pane: AnswerPane) -> None:
            super().__init__()
            self.pane = pane

    class NextUnscoredRequested(Message):
        """The user asked to move to the next pane whose answer has no score."""

        def __init__(self, pane: AnswerPane) -> None:
            super().__init__()
            self.pane = pane

    class ToolRequested(Message):
        """The user asked for copy, save or diff on this pane's answer."""

        def __init__(self, pane: AnswerPane, tool: str) -> None:
            super().__init__()
            self.pane = pane
            self.tool = tool

    def __init__(self, model: ModelInfo, index: int) -> None:
        super().__init__(id=f"pane-{index}", classes="answer-pane")
        self.model = model
        self.index = index
        self.result: AnswerResult | None = None
        self.view = AnswerView(id=f"view-{index}")
        self.meter = MeterBar(id=f"meter-{index}")
        self.status = "waiting"
        self._meter_at = 0.0
        self.flushed_at = 0.0  # when ``flush`` last ran (the screen's timer spaces them a frame apart)
        # a blind round shows this letter instead of the model's name, until the reveal
        self.blind_label: str | None = None
        self.score: float | None = None
        self.stored: StoredAnswer | None = None  # a past answer reopened from history
        self.self_named: str | None = None
        # "length" when the answer shown ended ok at the token cap (domain.normalise_finish_reason)
        self.finish_reason: str | None = None
        self._retry_shown = False

    def compose(self):
        yield self.view
        yield self.meter

    def on_mount(self) -> None:
        self._update_title()
        if self.result is None:
            self.view.set_notice("Waiting for a prompt: type it below and press Enter.", style="hint")

    @property
    def label(self) -> str:
        """'1 DeepSeek V4 Flash', or '1 Model A' in a blind round."""
        return f"{self.index + 1} {self.display_name}"

    @property
    def display_name(self) -> str:
        """The model's name, or 'Model A' while the round is blind."""
        if self.blind_label:
            return f"Model {self.blind_label}"
        if is_routed(self.model):
            answered = self.answer_model
            return "Routed" if answered is self.model else f"Routed → {answered.name}"
        return self.model.name

    @property
    def answer_model(self) -> ModelInfo:
        """The model that wrote the answer shown (a routed pane's pick, not the pane's own)."""
        if self.result is not None:
            return self.result.model
        return self.model

    @property
    def answer_id(self) -> int | None:
        """The store id of the answer shown (live or reopened)."""
        if self.result is not None:
            return self.result.answer_id
        return self.stored.id if self.stored is not None else None

    @property
    def answer_text(self) -> str:
        """The answer's text so far."""
        if self.result is not None:
            return self.result.text
        return self.stored.text if self.stored is not None else ""

    def set_blind(self, label: str | None) -> None:
        """Hide the model behind ``label`` (None reveals it)."""
        self.blind_label = label
        self.meter.hide_cost(label is not None)
        self._update_title()
        self.update_meter()

    def set_score(self, score: float | None) -> None:
        """Show the answer's latest score in the title."""
        self.score = score
        self.set_class(score is not None, "-scored")
        self._update_title()

    @property
    def status_text(self) -> str:
        """The status as the subtitle says it: 'done', 'cut off (max tokens)', 'failed' …"""
        cut = cut_off_label(self.finish_reason) if self.status == "ok" else None
        return cut or STATUS_LABEL.get(self.status, self.status)

    def _update_title(self) -> None:
        self.border_title = sanitize(self.label)
        cut_off = self.status == "ok" and cut_off_label(self.finish_reason) is not None
        note = ""
        if self.score is not None:
            note = f"{note} · ★ {self.score:g}"
        if self.self_named:
            note = f"{note} · ⚑ names itself"
        # the app's stylesheet colours the subtitle by status (-done is green): a cut-off answer's
        # label carries its own warning colour, so "done" and "cut off" do not look alike
        self.border_subtitle = (Content.assemble((self.status_text, "$warning"), note) if cut_off
                                else self.status_text + note)
        for state in ("streaming", "failed", "done", "cancelled"):
            self.remove_class(f"-{state}")
        cls = {"streaming": "-streaming", "connecting": "-streaming", "ok": "-done", "error": "-failed",
               "interrupted": "-failed", "cancelled": "-cancelled"}.get(self.status)
        if cls:
            self.add_class(cls)
        self.set_class(cut_off, "-cut-off")

    def begin(self, result: AnswerResult) -> None:
        """A new stream starts in this pane."""
        self.result = result
        self.stored = None
        self.score = None
        self.self_named = None
        self.finish_reason = None
        self.remove_class("-scored")
        self.view.reset()
        self.status = "connecting"
        self._update_title()
        self.update_meter()

    def accept(self, event) -> None:
        """Sink for the runner: buffer deltas only (the screen's timer renders)."""
        if isinstance(event, TextDelta):
            if self._retry_shown:
                self._retry_shown = False
                self.view.set_notice("")
            self.view.add_text(event.text)
        elif isinstance(event, ReasoningDelta):
            self.view.add_reasoning(event.text)
        elif isinstance(event, RetryNotice):
            # said in the pane itself: a long backoff must not look like a hang
            self._retry_shown = True
            self.view.set_notice(self.shown_error(event.message), style="warning")

    METER_PERIOD_S = 0.25

    def flush(self, now: float) -> None:
        """Render buffered text; refresh the meter at most 4 times a second while streaming."""
        self.flushed_at = now
        self.view.flush()
        if self.result is not None and self.is_streaming:
            live = self.result.meter.status
            # the meter says "waiting" until the worker starts; keep "connecting" meanwhile
            if live in ("connecting", "streaming") and live != self.status:
                self.status = live
                self._update_title()
        if now - self._meter_at >= self.METER_PERIOD_S or not self.is_streaming:
            self._meter_at = now
            self.update_meter()

    def update_meter(self) -> MeterReading | None:
        """Refresh the meter from the result's reading."""
        if self.result is None:
            return None
        reading = self.result.reading()
        served = self.result.served_model
        shown = served and served != self.answer_model.upstream and not self.blind_label
        note = f"served: {sanitize(served)}" if shown else ""
        self.meter.show(reading, note)
        return reading

    def end(self) -> None:
        """The stream ended (any status): final render, error notice, title."""
        result = self.result
        assert result is not None
        self.view.finish()
        self.status = result.status.value
        self.finish_reason = result.stop_reason
        self.self_named = names_itself(result.text, self.answer_model)
        cut = cut_off_label(self.finish_reason)
        if result.error is not None:
            prefix = "Failed" if result.status == AnswerStatus.ERROR else "Stopped"
            self.view.set_notice(f"{prefix}: {self.shown_error(result.error.message)}")
        elif result.status == AnswerStatus.CANCELLED:
            kept = "the partial answer is kept" if (result.text or result.reasoning) else "before any text arrived"
            self.view.set_notice(f"Cancelled — {kept}.", style="warning")
        elif not result.text:
            self.view.set_notice("The model returned an empty answer.", style="warning")
        elif cut:
            self.view.set_notice(CUT_OFF_NOTICES.get(self.finish_reason or "", cut), style="warning")
        self._update_title()
        self.update_meter()

    def shown_error(self, message: str) -> str:
        """An error message as it may be shown: without model names in a blind round."""
        return redact(message, [self.answer_model], self.display_name) if self.blind_label else message

    def show_stored(self, answer: StoredAnswer, reading: MeterReading | None) -> None:
        """Show a saved answer (from history): its text, reasoning, status and meter."""
        self.result = None
        self.stored = answer
        self.view.reset()
        if answer.reasoning:
            self.view.add_reasoning(answer.reasoning)
        if answer.text:
            self.view.add_text(answer.text)
        self.view.finish()
        self.status = answer.status
        self.finish_reason = answer.finish_reason
        self.self_named = names_itself(answer.text, self.model)
        cut = cut_off_label(answer.finish_reason) if answer.status == "ok" else None
        if answer.error_message:
            self.view.set_notice(f"Failed: {self.shown_error(answer.error_message)}")
        elif not answer.text:
            self.view.set_notice("No text was saved for this answer.", style="warning")
        elif cut:
            self.view.set_notice(CUT_OFF_NOTICES.get(self.finish_reason or "", cut), style="warning")
        self._update_title()
        if reading is not None:
            # the reading is rebuilt from the stored row by the caller; the finish reason is the
            # row's too, whether or not the caller passed it on
            self.meter.show(replace(reading, finish_reason=answer.finish_reason))

    @property
    def is_streaming(self) -> bool:
        """True while a stream runs in this pane."""
        return self.status in ("connecting", "streaming")

    def action_zoom(self) -> None:
        self.post_message(self.ZoomRequested(self))

    def action_retry(self) -> None:
        self.post_message(self.RetryRequested(self))

    def action_cancel(self) -> None:
        self.post_message(self.CancelRequested(self))

    def _hold_keys(self) -> None:
        hold = getattr(self.app, "hold_keys", None)
        if hold is not None:  # released once the focus has moved (ui/key_order.py)
            hold()

    def action_score(self) -> None:
        self._hold_keys()  # until the entry has focus, or it does not open
        self.post_message(self.ScoreRequested(self))

    def action_next_unscored(self) -> None:
        self._hold_keys()
        self.post_message(self.NextUnscoredRequested(self))

    def action_tool(self, tool: str) -> None:
        self.post_message(self.ToolRequested(self, tool))

    def action_toggle_reasoning(self) -> None:
        self.view.toggle_reasoning()
