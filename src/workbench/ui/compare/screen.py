"""The compare screen: prompt bar, answer panes, meters, session totals (C1, C2).

Data flows one way: PromptBar.Submitted → one async worker per pane (group "streams") → typed
events buffered in the pane → one timer renders every pane per frame → the answer is saved.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, RunRecord
from workbench.rounds import RoundRecorder
from workbench.routing import RoutingError, is_routed, route
from workbench.runner import AnswerResult, new_result, stream_answer
from workbench.ui.compare.answer_tools import AnswerTools
from workbench.ui.compare.host import RunSpec
from workbench.ui.compare.scoring import RoundScoring
from workbench.ui.compare.suite_driver import SuiteDriver
from workbench.ui.screens.model_picker import ModelPicker
from workbench.ui.screens.options import OptionsScreen, RoundOptions
from workbench.ui.services import Services
from workbench.ui.widgets.answer_pane import AnswerPane
from workbench.ui.widgets.key_footer import KeyFooter
from workbench.ui.widgets.pane_grid import PaneGrid
from workbench.ui.widgets.prompt_bar import PromptBar
from workbench.ui.widgets.round_prompt import RoundPrompt, ShownPrompt
from workbench.ui.widgets.session_bar import SessionBar

#: Flush ticks per frame. A tick renders one pane, so the paint that follows covers one pane's box
#: (Textual repaints the rectangle around all that changed): with 10 panes a paint took 9 ms
#: instead of 24 for three panes at once, and no callback holds the event loop for long (Q1,
#: benchmarks/stream_bench.py). At 20 frames a second that is 60 ticks: each of 3 panes still
#: gets 20 frames a second, each of 10 gets 6.
TICKS_PER_FRAME = 3
#: The top bar and the tab strip are redrawn this often while answers stream, in a tick of their own.
CHROME_PERIOD_S = 0.25


@dataclass
class _Totals:
    """Running session totals: known cost, whether any part is unknown, tokens, exactness."""

    known_usd: Decimal = Decimal(0)
    unknown: bool = False
    tokens: int = 0
    exact: bool = True

    def add(self, result: AnswerResult) -> None:
        reading = result.reading()
        self.known_usd += reading.cost.known_usd
        self.unknown = self.unknown or reading.cost.total_usd is None
        self.tokens += (reading.input_tokens or 0) + reading.output_tokens
        self.exact = self.exact and reading.exact


class CompareScreen(Screen):
    """One prompt, many models, side by side."""

    BINDINGS = [
        Binding("escape", "stop_streams", "Stop", id="stop-streams"),
        # F2 and F4 are named in the prompt's placeholder: the footer keeps its room for the rest
        Binding("f2", "toggle_multiline", "Multi-line", id="toggle-multiline", show=False),
        Binding("f3", "pick_models", "Models", id="pick-models"),
        Binding("f4", "edit_options", "Options", id="edit-options", show=False),
        Binding("f5", "toggle_blind", "Blind", id="toggle-blind"),
        Binding("f6", "show_leaderboard", "Board", id="show-leaderboard"),
        Binding("f7", "show_history", "History", id="show-history"),
        Binding("f8", "run_suite", "Suite", id="run-suite"),
        Binding("f9", "next_task", "Next task", id="next-task"),
        Binding("alt+right", "next_pane", "Next pane", id="next-pane"),
        Binding("alt+left", "previous_pane", "Prev pane", id="previous-pane", show=False),
        Binding("i", "focus_prompt", "Prompt", id="focus-prompt", show=False),
        Binding("alt+p", "toggle_round_prompt", "Show prompt", id="toggle-round-prompt", show=False),
        *[Binding(f"alt+{n % 10}", f"show_pane({n - 1})", f"Pane {n}", id=f"show-pane-{n}", show=False)
          for n in range(1, 11)],
    ]

    def __init__(self, models: list[ModelInfo], options: RoundOptions, services: Services) -> None:
        super().__init__()
        self.models = models
        self.options = options
        self.services = services
        self.settings = services.settings
        self.recorder = RoundRecorder(services.store, on_error=self._store_failed)
        self.grid = PaneGrid()
        self.prompt_bar = PromptBar()
        self.session_bar = SessionBar()
        self.round_prompt = RoundPrompt()
        self._reopened_run: int | None = None  # the stored run on screen, reopened from history
        self.round_no = 0
        self.request: ChatRequest | None = None
        self.workers_by_pane: dict[int, Worker] = {}
        self.live_results: list[AnswerResult] = []
        # totals of the answers that have ended, so a long session costs nothing per frame
        self._ended = _Totals()
        self._chrome_at = 0.0
        self._flush_turn = 0
        self.scoring = RoundScoring(self)
        self.suite = SuiteDriver(self)
        self.tools = AnswerTools(self)
        self.spec: RunSpec | None = None  # the suite step of the round on screen, if any
        self._suite_round_told = 0

    def compose(self):
        yield self.session_bar
        yield self.round_prompt
        yield self.grid
        yield self.prompt_bar
        yield KeyFooter()

    async def on_mount(self) -> None:
        await self.grid.set_models(self.models)
        hz = self.settings.ui.frames_per_second()
        self._frame_period = 1 / hz
        self.flush_timer = self.set_interval(1 / (hz * TICKS_PER_FRAME), self.flush_panes, name="flush-panes")
        self._update_session_bar()
        self.prompt_bar.focus_editor()

    async def on_unmount(self) -> None:
        await self.recorder.aclose()

    def _store_failed(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)

    # -- state ------------------------------------------------------------------------------
    @property
    def run_id(self) -> int | None:
        """The stored run of the round on screen (None before the first, or when it was not saved)."""
        return self.recorder.run_id

    @property
    def streaming(self) -> bool:
        """True while any pane streams."""
        return any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers_by_pane.values())

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "next_task":  # while answers stream, F9 says to wait rather than vanish
            return self.suite.active
        if action == "stop_streams" and not self.streaming:
            # Escape with nothing to stop returns to the prompt (shown only while streaming).
            return self.grid.focused_pane() is not None or self.round_prompt.has_focus
        return True

    # -- rounds -----------------------------------------------------------------------------
    async def on_prompt_bar_submitted(self, message: PromptBar.Submitted) -> None:
        await self.start_round(message.text)

    async def start_round(self, prompt: str, spec: RunSpec | None = None) -> None:
        """Cancel what still runs, then send ``prompt`` to every pane's model (or, for a suite
        step, to the models ``spec`` names)."""
        await self.cancel_all()
        await self.scoring.prepare_round(self.models, blind=spec.blind if spec else None)
        self.workers_by_pane.clear()
        self.spec = spec
        self.round_no += 1
        opts = self.options
        self.request = ChatRequest(prompt=prompt, system=opts.system, temperature=opts.temperature,
                                   max_tokens=opts.max_tokens)
        self._reopened_run = None
        self.round_prompt.show(ShownPrompt(prompt, opts.system, opts.temperature, opts.max_tokens,
                                           origin=f"task {spec.task}" if spec is not None else ""))
        params = {"temperature": opts.temperature, "max_tokens": opts.max_tokens}
        if spec is None:
            await self.recorder.open_run(RunRecord(prompt, opts.system, params, source="tui",
                                                   blind=self.scoring.round_blind))
        elif spec.run_id is not None:
            self.recorder.adopt_run(spec.run_id)  # a step begun before: its missing answers join its run
            await self.suite.show_done_answers(spec)
        else:
            await self.recorder.open_run(RunRecord(
                prompt, opts.system, params, task=spec.task, suite=spec.suite, source="suite", blind=spec.blind,
                kind=spec.kind, session_id=spec.session_id, repeat=spec.repeat))
        for pane in self.grid.panes:
            if spec is None or pane.model.id in spec.only:
                self.launch(pane)
        self.refresh_bindings()

    def launch(self, pane: AnswerPane) -> None:
        """Start (or restart) the stream of one pane."""
        assert self.request is not None
        model = pane.model
        if is_routed(model):
            try:
                decision = route(self.request.prompt, self.settings.routing, self.settings.models)
            except RoutingError as exc:
                self.notify(f"Routed pane: {exc}", severity="error", timeout=6)
                return
            model = decision.model
            if not pane.blind_label:
                self.notify(decision.reason, title="Routed", timeout=6)
        if model.provider not in self.settings.providers:
            self.notify(f"{pane.display_name} cannot be called: its provider {model.provider!r} is not in the "
                        "config.", severity="error", timeout=6)
            return
        result = new_result(model, self.settings.providers[model.provider], self.request, self.services.token_counter)
        pane.begin(result)
        self.live_results.append(result)
        self.flush_timer.resume()
        worker = self.run_worker(self._stream(pane, result), group="streams", exit_on_error=False,
                                 name=f"stream-{pane.index}")
        self.workers_by_pane[pane.index] = worker

    async def _stream(self, pane: AnswerPane, result: AnswerResult) -> None:
        await self.recorder.start(result, blind_label=pane.blind_label)
        try:
            await stream_answer(self.services.http_client, result, pane.accept, reader=self.services.stream_reader)
        finally:
            if result.status == AnswerStatus.STREAMING:
                result.status = AnswerStatus.CANCELLED
            if result in self.live_results:
                self.live_results.remove(result)
                self._ended.add(result)
            pane.end()
            self.grid.refresh_tabs()
            self._update_session_bar()
            self.refresh_bindings()
            if result.error is not None:
                self.notify(f"{pane.display_name}: {pane.shown_error(result.error.message)}", severity="error",
                            timeout=6)
            if pane.self_named and pane.blind_label:
                self.notify(f"{pane.display_name}'s answer names its model or maker: it is not blind.",
                            severity="warning", timeout=6)
            # shielded: a cancelled worker must still record how its answer ended
            await asyncio.shield(self.recorder.finish(result))
            self.scoring.reveal_if_done()
            ended = not any(p.is_streaming for p in self.grid.panes)
            if self.spec is not None and ended and self._suite_round_told != self.round_no:
                self._suite_round_told = self.round_no  # once, though several panes may end together
                await self.suite.round_ended()

    async def cancel_all(self) -> None:
        """Cancel every running stream and wait until each pane has finalised."""
        running = [w for w in self.workers_by_pane.values() if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        for worker in running:
            worker.cancel()
        for worker in running:
            try:
                await worker.wait()
            except Exception:  # cancelled or failed: its pane already shows why
                pass

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.group == "streams":
            self.notify(f"Internal error in a stream: {event.worker.error}", severity="error")
        self.refresh_bindings()

    # -- rendering --------------------------------------------------------------------------
    def flush_panes(self) -> None:
        """The one timer: render the buffered text and meter of one pane a tick, round-robin, each
        pane at most once a frame; the top bar gets a tick of its own a few times a second."""
        busy = [p for p in self.grid.panes if p.is_streaming or p.view.has_pending]
        if not busy:
            self.flush_timer.pause()  # 60 idle ticks a second cost ~1% of a core; `launch` resumes
            return
        now = time.monotonic()
        if now - self._chrome_at >= CHROME_PERIOD_S:
            self._chrome_at = now
            self.grid.refresh_tabs()
            self._update_session_bar()
            return
        # a little slack, so a timer a hair early does not skip a frame
        due_before = now - self._frame_period * 0.9
        for offset in range(len(busy)):
            pane = busy[(self._flush_turn + offset) % len(busy)]
            if pane.flushed_at <= due_before:
                pane.flush(now)
                self._flush_turn = (self._flush_turn + offset + 1) % len(busy)
                return

    def update_session_bar(self) -> None:
        """Refresh the top bar (totals, blind mode, suite progress)."""
        self._update_session_bar()

    def _update_session_bar(self) -> None:
        totals = _Totals(self._ended.known_usd, self._ended.unknown, self._ended.tokens, self._ended.exact)
        for result in self.live_results:
            totals.add(result)
        self.session_bar.show(suite=self.suite.status_line(), blind=self.scoring.blind_next, round_no=self.round_no,
                              label=f"run {self._reopened_run} (reopened)" if self._reopened_run else "",
                              temperature=self.options.temperature,
                              system=self.options.system, known_usd=totals.known_usd, unknown=totals.unknown,
                              tokens=totals.tokens, exact=totals.exact, cost_hidden=self.scoring.round_blind)

    # -- pane messages ----------------------------------------------------------------------
    async def on_answer_pane_retry_requested(self, message: AnswerPane.RetryRequested) -> None:
        if self.request is None:
            self.notify("Nothing to retry yet: send a prompt first.", severity="warning")
            return
        worker = self.workers_by_pane.get(message.pane.index)
        if worker is not None and worker.state in (WorkerState.PENDING, WorkerState.RUNNING):
            worker.cancel()
            try:
                await worker.wait()
            except Exception:  # it was cancelled: its pane is finalised
                pass
        self.launch(message.pane)

    def on_answer_pane_cancel_requested(self, message: AnswerPane.CancelRequested) -> None:
        worker = self.workers_by_pane.get(message.pane.index)
        if worker is not None:
            worker.cancel()

    def on_answer_pane_zoom_requested(self, message: AnswerPane.ZoomRequested) -> None:
        self.grid.toggle_zoom(message.pane)

    async def on_answer_pane_score_requested(self, message: AnswerPane.ScoreRequested) -> None:
        await self.scoring.request_score(message.pane)

    def on_answer_pane_next_unscored_requested(self, message: AnswerPane.NextUnscoredRequested) -> None:
        self.scoring.next_unscored(message.pane)

    async def on_answer_pane_tool_requested(self, message: AnswerPane.ToolRequested) -> None:
        await self.tools.handle(message.pane, message.tool)

    def adopt_run(self, run_id: int, models: list[ModelInfo], request: ChatRequest) -> None:
        """Make a reopened run the current one: retries add answers to it."""
        self.recorder.adopt_run(run_id)
        self.models, self.request = models, request
        self._reopened_run = run_id
        self.round_prompt.show(ShownPrompt(request.prompt, request.system, request.temperature, request.max_tokens,
                                           origin=f"run {run_id}"))
        self._update_session_bar()
        self.workers_by_pane.clear()
        self.grid.refresh_tabs()
        self.refresh_bindings()

    # -- actions ----------------------------------------------------------------------------
    async def action_stop_streams(self) -> None:
        if not self.streaming:
            if self.round_prompt.has_focus and self.round_prompt.expanded:
                self.round_prompt.toggle()
            self.prompt_bar.focus_editor()
            return
        await self.cancel_all()
        self.notify("Stopped. Partial answers are kept.", timeout=3)

    def action_toggle_multiline(self) -> None:
        self.prompt_bar.toggle_multiline()

    def action_focus_prompt(self) -> None:
        self.prompt_bar.focus_editor()

    def action_toggle_round_prompt(self) -> None:
        if self.round_prompt.shown is None:
            self.notify("No round yet: the prompt shows here once one is sent or reopened.", timeout=3)
        elif self.round_prompt.toggle():
            self.round_prompt.focus()  # arrows scroll a long prompt; Esc returns to the input
        else:
            self.prompt_bar.focus_editor()

    def _step_pane(self, step: int) -> None:
        current = self.grid.focused_pane()
        if current is not None:
            self.grid.show_pane(current.index + step)
        elif self.grid.mode == "grid":
            self.grid.show_pane(self.grid.active)  # from the prompt: into the panes
        else:
            self.grid.show_pane(self.grid.active + step)  # one at a time: the next one

    def action_next_pane(self) -> None:
        self._step_pane(1)

    def action_previous_pane(self) -> None:
        self._step_pane(-1)

    def action_show_pane(self, index: int) -> None:
        if index < len(self.grid.panes):
            self.grid.show_pane(index)

    def action_edit_options(self) -> None:
        def apply(options: RoundOptions | None) -> None:
            if options is not None:
                self.options = options
                self._update_session_bar()
                self.notify(f"Temperature {options.temperature:g}; applies from the next prompt.", timeout=3)
        self.app.push_screen(OptionsScreen(self.options), apply)

    def action_pick_models(self) -> None:
        async def apply(models: list[ModelInfo] | None) -> None:
            if models is None:
                return
            await self.cancel_all()
            self.models = models
            self.workers_by_pane.clear()
            self.scoring.round_blind = False
            await self.grid.set_models(models)
            self.notify(f"{len(models)} model(s) in the round.", timeout=3)
        self.app.push_screen(ModelPicker(self.settings, self.models), apply)

    def action_toggle_blind(self) -> None:
        on = self.scoring.toggle_blind()
        self._update_session_bar()
        self.notify("Blind mode on: from the next prompt, panes are shuffled and named A, B, C… until "
                    "every answer is scored." if on else "Blind mode off from the next prompt.", timeout=5)

    def action_show_leaderboard(self) -> None:
        # imported when first shown: the leaderboard's tables and plot are not needed for the first frame (Q2)
        from workbench.ui.screens.leaderboard import LeaderboardScreen

        self.app.push_screen(LeaderboardScreen(self.services))

    def show_leaderboard_for_suite(self, suite_id: str) -> None:
        """The leaderboard filtered to one suite (at the end of a suite session)."""
        from workbench.ranking.evidence import RankFilter
        from workbench.ui.screens.leaderboard import LeaderboardScreen  # as in action_show_leaderboard

        self.app.push_screen(LeaderboardScreen(self.services, RankFilter(suite=suite_id)))

    def action_run_suite(self) -> None:
        self.suite.pick()

    async def action_next_task(self) -> None:
        # the panes, not the workers: a worker still saving its answer has finished streaming
        if any(p.is_streaming for p in self.grid.panes):
            self.notify("Wait for the answers to end (Esc stops them).", severity="warning")
            return
        await self.suite.next_task()

    def action_show_history(self) -> None:
        from workbench.ui.screens.history import HistoryScreen  # as in action_show_leaderboard

        async def open_run(run_id: int | None) -> None:
            if run_id is not None:
                await self.scoring.open_run(run_id)
        self.app.push_screen(HistoryScreen(self.services), open_run)
