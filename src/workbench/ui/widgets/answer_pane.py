"""One model's pane: a bordered box with the answer view and its meter."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message

from workbench.domain import AnswerStatus, ModelInfo
from workbench.meter import MeterReading
from workbench.runner import AnswerResult
from workbench.safety import sanitize
from workbench.ui.widgets.answer_view import AnswerView
from workbench.ui.widgets.meter_bar import MeterBar

STATUS_LABEL = {
    "waiting": "idle", "connecting": "connecting…", "streaming": "streaming…", "ok": "done",
    "error": "failed", "interrupted": "interrupted", "cancelled": "cancelled",
}


class AnswerPane(Vertical):
    """Shows one answer as it streams; keys act on this pane when it has focus."""

    BINDINGS = [
        Binding("z", "zoom", "Zoom", id="zoom-pane"),
        Binding("r", "retry", "Retry", id="retry-pane"),
        Binding("c", "cancel", "Cancel", id="cancel-pane", show=False),
        Binding("t", "toggle_reasoning", "Reasoning", id="toggle-reasoning"),
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

    def __init__(self, model: ModelInfo, index: int) -> None:
        super().__init__(id=f"pane-{index}", classes="answer-pane")
        self.model = model
        self.index = index
        self.result: AnswerResult | None = None
        self.view = AnswerView(id=f"view-{index}")
        self.meter = MeterBar(id=f"meter-{index}")
        self.status = "waiting"
        self._meter_at = 0.0

    def compose(self):
        yield self.view
        yield self.meter

    def on_mount(self) -> None:
        self._update_title()
        if self.result is None:
            self.view.set_notice("Waiting for a prompt: type it below and press Enter.", style="hint")

    @property
    def label(self) -> str:
        """'1 DeepSeek V4 Flash'."""
        return f"{self.index + 1} {self.model.name}"

    def _update_title(self) -> None:
        self.border_title = sanitize(self.label)
        note = STATUS_LABEL.get(self.status, self.status)
        self.border_subtitle = note
        for state in ("streaming", "failed", "done", "cancelled"):
            self.remove_class(f"-{state}")
        cls = {"streaming": "-streaming", "connecting": "-streaming", "ok": "-done", "error": "-failed",
               "interrupted": "-failed", "cancelled": "-cancelled"}.get(self.status)
        if cls:
            self.add_class(cls)

    def begin(self, result: AnswerResult) -> None:
        """A new stream starts in this pane."""
        self.result = result
        self.view.reset()
        self.status = "connecting"
        self._update_title()
        self.update_meter()

    def accept(self, event) -> None:
        """Sink for the runner: buffer deltas only (the screen's timer renders)."""
        from workbench.providers.events import ReasoningDelta, TextDelta

        if isinstance(event, TextDelta):
            self.view.add_text(event.text)
        elif isinstance(event, ReasoningDelta):
            self.view.add_reasoning(event.text)

    METER_PERIOD_S = 0.25

    def flush(self, now: float) -> None:
        """Render buffered text; refresh the meter at most 4 times a second while streaming."""
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
        note = f"served: {sanitize(served)}" if served and served != self.model.upstream else ""
        self.meter.show(reading, note)
        return reading

    def end(self) -> None:
        """The stream ended (any status): final render, error notice, title."""
        result = self.result
        assert result is not None
        self.view.finish()
        self.status = result.status.value
        if result.error is not None:
            prefix = "Failed" if result.status == AnswerStatus.ERROR else "Stopped"
            self.view.set_notice(f"{prefix}: {result.error.message}")
        elif result.status == AnswerStatus.CANCELLED:
            kept = "the partial answer is kept" if (result.text or result.reasoning) else "before any text arrived"
            self.view.set_notice(f"Cancelled — {kept}.", style="warning")
        elif not result.text:
            self.view.set_notice("The model returned an empty answer.", style="warning")
        self._update_title()
        self.update_meter()

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

    def action_toggle_reasoning(self) -> None:
        self.view.toggle_reasoning()
