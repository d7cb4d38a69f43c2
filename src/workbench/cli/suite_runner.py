"""Running a suite headless: one round per (task, repeat) step through the runner, answers
saved as each stream ends, a Rich live view on a terminal and plain lines otherwise.

Kept apart from ``cli.suite`` so that parsing the command line does not import asyncio.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from rich.console import Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from workbench.blinding import blind_labels, redact, shuffled
from workbench.config import Settings
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, RunRecord
from workbench.providers.http import make_client
from workbench.render.meter_text import meter_line
from workbench.rounds import RoundRecorder, StoreAccess
from workbench.runner import AnswerResult, new_result, stream_answer
from workbench.safety import sanitize
from workbench.store.answers import answers_of_run
from workbench.store.db import Store
from workbench.store.suite_sessions import Progress, Step, SuiteSession, next_steps, session_progress
from workbench.suites import Suite, estimate_remaining_cost, money
from workbench.tokens import TokenCounter


class SuiteRunner:
    """Asks the steps one after another; each step's models stream at once (runner.stream_answer),
    recorded by one ``RoundRecorder``: each answer saved as soon as it ends, not with the step, so
    a kill while another model still streams does not cost a finished answer."""

    def __init__(self, store: Store, settings: Settings, suite: Suite, session: SuiteSession,
                 models: list[ModelInfo], counter: TokenCounter, view: SuiteView, timeout: float | None) -> None:
        self.store, self.settings, self.suite, self.session = store, settings, suite, session
        self.models, self.counter, self.view, self.timeout = models, counter, view, timeout
        self.access = StoreAccess(store=store)
        self.recorder = RoundRecorder(self.access)
        self.all_ok = True
        self.estimate_text = ""

    def update(self, progress: Progress, steps: list[Step]) -> None:
        """Refresh spend and the estimate of the rest from the store."""
        self.estimate_text = estimate_remaining_cost(self.store, self.suite, self.models, steps, self.counter).text()
        # a blind session's spend after each step would price the step's models (one, when resumed)
        spend = "hidden (blind)" if self.session.blind else money(progress.spend_known_usd, progress.spend_unknown)
        self.view.set_totals(progress, spend, self.estimate_text)

    async def run(self, steps: list[Step]) -> None:
        """Ask every step in order."""
        try:
            async with make_client(len(self.models)) as client:
                for step in steps:
                    await self._step(client, step)
                    progress = await self.access.call(session_progress, self.session, self.suite)
                    self.update(progress, next_steps(progress))
        finally:
            await self.recorder.aclose()

    async def _step(self, client: httpx.AsyncClient, step: Step) -> None:
        task, suite, session = self.suite.task(step.task_id), self.suite, self.session
        defaults = self.settings.defaults
        request = ChatRequest(prompt=task.message, system=suite.system,
                              temperature=suite.temperature if suite.temperature is not None else defaults.temperature,
                              max_tokens=defaults.max_tokens)
        progress = await self.access.call(session_progress, session, suite)
        state = next(s for s in progress.steps if (s.task_id, s.repeat) == (step.task_id, step.repeat))
        if state.run_id is None:
            await self.recorder.open_run(RunRecord(
                prompt=request.prompt, system=request.system,
                params={"temperature": request.temperature, "max_tokens": request.max_tokens},
                task=task.id, suite=suite.id, source="suite", blind=session.blind, kind=task.kind,
                session_id=session.id, repeat=step.repeat))
        else:
            self.recorder.adopt_run(state.run_id)  # a step begun before: its missing answers join its run
        labels: dict[str, str] = {}
        if session.blind:
            done = await self.access.call(answers_of_run, self.recorder.run_id)
            labels = {a.model_id: a.blind_label for a in done if a.blind_label}
            free = [x for x in blind_labels(len(session.models) * 2) if x not in labels.values()]
            for model_id in shuffled([m for m in step.models if m not in labels]):
                labels[model_id] = free.pop(0)
        results = [new_result(m, self.settings.providers[m.provider], request, self.counter)
                   for m in self.models if m.id in step.models]
        for r in results:
            await self.recorder.start(r, blind_label=labels.get(r.model.id))
        self.view.step_started(state, results, labels)
        ticker = asyncio.create_task(self.view.tick())
        try:
            await asyncio.gather(*(self._one(client, r) for r in results))
        finally:
            ticker.cancel()
        self.all_ok &= all(r.status == AnswerStatus.OK for r in results)
        self.view.step_finished(state, results, labels)

    async def _one(self, client: httpx.AsyncClient, result: AnswerResult) -> None:
        await stream_answer(client, result, deadline_s=self.timeout)
        await self.recorder.finish(result)

    def abandon(self) -> None:
        """After Ctrl+C: save the answers of the step in flight, marked cancelled."""
        if self.recorder.finish_unfinished():
            self.all_ok = False


class SuiteView:
    """Progress output: a live Rich display on a terminal, plain flushed lines otherwise.

    Lines that stay (a step's results, notes) are printed in both modes; the live part (the
    bar, spend, the estimate of the rest, the meters of the step in flight) only on a terminal.
    Model names are replaced by the round's letters in a blind session.
    """

    def __init__(self, suite: Suite, session: SuiteSession, models: list[ModelInfo], live: bool) -> None:
        self.suite, self.session, self.models = suite, session, models
        self.live_wanted = live
        self.live: Any = None
        self.progress: Progress | None = None
        self.spend = self.estimate = ""
        self.current: list[AnswerResult] = []
        self.labels: dict[str, str] = {}
        self.title = ""

    def line(self, text: str) -> None:
        """A line that stays."""
        if self.live is not None:
            self.live.console.print(Text(text))
        else:
            print(text, flush=True)

    def set_totals(self, progress: Progress, spend: str, estimate: str) -> None:
        """Spend so far and the estimate of the rest, after each step."""
        self.progress, self.spend, self.estimate = progress, spend, estimate
        if self.session.blind:
            # beside the letters of a step, what is left prices the models still to ask (one, when
            # a step resumes): the whole estimate is said once, before any letter is shown
            self.estimate = "hidden (blind)"

    def _where(self, task_id: str, repeat: int) -> str:
        index = [t.id for t in self.suite.tasks].index(task_id) + 1
        where = f"task {index}/{len(self.suite.tasks)} {task_id}"
        return where + (f" · repeat {repeat + 1}/{self.session.repeats}" if self.session.repeats > 1 else "")

    def _name(self, result: AnswerResult) -> str:
        if self.session.blind:
            return f"Model {self.labels.get(result.model.id, '?')}"
        return sanitize(result.model.id)

    def _error(self, result: AnswerResult) -> str:
        message = result.error.message if result.error is not None else ""
        # a provider's error often names the model ("model `glm-5` does not exist")
        return redact(message, self.models, self._name(result)) if self.session.blind else message

    def step_started(self, state, results: list[AnswerResult], labels: dict[str, str]) -> None:
        """A step's models start streaming."""
        self.current, self.labels = results, labels
        task = self.suite.task(state.task_id)
        self.title = f"{self._where(state.task_id, state.repeat)} ({task.kind})"
        if not self.live_wanted:
            self.line(f"{self.title}: asking {', '.join(self._name(r) for r in results)} · spent {self.spend} · "
                      f"rest {self.estimate}")
            return
        if self.live is None:
            self.live = Live(self, auto_refresh=False, transient=True, redirect_stdout=False)
            self.live.start()

    def step_finished(self, state, results: list[AnswerResult], labels: dict[str, str]) -> None:
        """A step ended: one line per step, with each model's status and meter."""
        parts = []
        blind = self.session.blind
        for r in results:
            error = f" ({sanitize(self._error(r))})" if r.error is not None else ""
            parts.append(f"{self._name(r)} {r.status.value}{error} · {meter_line(r, blind=blind)}")
        self.line(f"{self._where(state.task_id, state.repeat)} done: " + " | ".join(parts))
        self.current = []

    async def tick(self) -> None:
        """Redraw a few times a second while a step streams (from the event loop, never from
        another thread: reading a meter flushes its pending text)."""
        while True:
            if self.live is not None:
                self.live.refresh()
            await asyncio.sleep(0.25)

    def __rich__(self) -> Any:
        p = self.progress
        done, total = (p.done_steps, p.total_steps) if p is not None else (0, 1)
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=total, completed=done, width=30), Text(f"{done}/{total} done"))
        rows: list[Any] = [Text(f"{self.suite.id} · {self.title}", style="bold"), bar,
                           Text(f"spent {self.spend} · rest {self.estimate}")]
        rows += [Text(f"  {self._name(r)}: {meter_line(r, blind=self.session.blind)}") for r in self.current]
        return Group(*rows)

    def close(self) -> None:
        """Stop the live display (its last state is dropped: the kept lines tell the story)."""
        if self.live is not None:
            self.live.stop()
            self.live = None
