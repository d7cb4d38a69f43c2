"""A suite session on the compare screen (C6): task by task through the round's models, with
progress (task 2/5, spend so far, an estimate of the rest), scoring between tasks, and resume
exactly where a session stopped — after quitting or a crash — from the store.

The screen owns one ``SuiteDriver``; F8 starts or leaves a suite, F9 moves to the next task.
"""

from __future__ import annotations

from workbench.blinding import blind_labels
from workbench.catalog import format_usd
from workbench.meter import saved_reading
from workbench.routing import is_routed
from workbench.store.answers import recover_orphans
from workbench.store.db import StoreError
from workbench.store.history import get_run_detail
from workbench.store.suite_sessions import (
    Progress,
    Step,
    finish_session,
    latest_unfinished,
    next_steps,
    session_progress,
    start_session,
)
from workbench.suites import Suite, estimate_remaining_cost, money, scan_suites
from workbench.ui.compare.host import CompareHost, RunSpec
from workbench.ui.screens.options import RoundOptions
from workbench.ui.screens.suite_picker import SuiteChoice, SuitePicker


class SuiteDriver:
    """Walks a suite session; idle when ``suite`` is None."""

    def __init__(self, screen: CompareHost) -> None:
        self.screen = screen
        self.suite: Suite | None = None
        self.progress: Progress | None = None
        self.step: Step | None = None
        self.estimate = ""

    @property
    def active(self) -> bool:
        """True while a suite session is being walked."""
        return self.suite is not None

    def status_line(self) -> str:
        """'coding-2026 · task 2/5 · spent $0.01 · rest ≈ $0.03' for the session bar."""
        if self.suite is None or self.progress is None:
            return ""
        progress = self.progress
        where = f"task {self._task_number()}/{len(self.suite.tasks)}"
        repeats = self.progress.session.repeats
        if repeats > 1 and self.step is not None:
            where += f" ×{self.step.repeat + 1}/{repeats}"
        # a blind session's spend, step by step, would price the models of each step
        spent = "hidden" if progress.session.blind else money(progress.spend_known_usd, progress.spend_unknown)
        return f"{self.suite.id} · {where} · spent {spent}" + (f" · rest {self.estimate}" if self.estimate else "")

    def _task_number(self) -> int:
        if self.step is None or self.suite is None:
            return self.progress.tasks_done if self.progress else 0
        return [t.id for t in self.suite.tasks].index(self.step.task_id) + 1

    # -- starting and leaving -------------------------------------------------------------
    def pick(self) -> None:
        """F8: choose a suite (or leave the one running)."""
        screen = self.screen
        if self.active:
            session = self.progress.session.id if self.progress else "?"
            self.suite = self.step = None
            screen.update_session_bar()
            screen.notify(f"Left suite session {session}; it is saved. F8 and the same suite and models resume it.",
                          timeout=6)
            return
        if any(is_routed(m) for m in screen.models):
            screen.notify("A suite compares fixed models: take the routed pane out (F3) first.", severity="warning")
            return
        entries, problems = scan_suites()
        if not entries:
            screen.notify("No suites found. " + "; ".join(problems), severity="error", timeout=8)
            return

        async def chosen(choice: SuiteChoice | None) -> None:
            if choice is not None:
                await self.begin(choice)

        screen.app.push_screen(SuitePicker(entries, [m.name for m in screen.models], problems), chosen)

    async def begin(self, choice: SuiteChoice) -> None:
        """Start or resume a session of ``choice.suite`` with the screen's models."""
        screen, suite = self.screen, choice.suite
        ids = [m.id for m in screen.models]

        def prepare(store):
            recover_orphans(store)
            session = None if choice.fresh else latest_unfinished(store, suite.id, ids, sha256=suite.sha256,
                                                                   repeats=choice.repeats)
            resumed = session is not None
            if session is None:
                session = start_session(store, suite, ids, choice.repeats, choice.blind)
            return session_progress(store, session, suite), resumed

        try:
            progress, resumed = await screen.services.store.call(prepare)
        except (StoreError, ValueError) as exc:
            screen.notify(f"Cannot start the suite: {exc}", severity="error", timeout=8)
            return
        if progress.busy_pids:
            screen.notify(f"Session {progress.session.id} is being run by another workbench (pid "
                          f"{', '.join(map(str, progress.busy_pids))}).", severity="error", timeout=8)
            return
        self.suite, self.progress = suite, progress
        verb = (f"Resuming session {progress.session.id}: {progress.done_steps}/{progress.total_steps} rounds done"
                if resumed else f"Session {progress.session.id} started")
        blind = " · blind" if progress.session.blind else ""
        screen.notify(f"{verb}{blind}. After each task: score with s and n, then F9 for the next task. "
                      "F8 leaves (the session is kept).", title=f"Suite {suite.id}", timeout=10)
        await self.next_task()

    # -- walking --------------------------------------------------------------------------
    async def next_task(self) -> None:
        """F9: send the next task that is not done (or finish the session)."""
        screen, suite, progress = self.screen, self.suite, self.progress
        if suite is None or progress is None:
            return
        steps = next_steps(progress)
        if not steps:
            await self._finish()
            return
        self.step = step = steps[0]
        state = next(s for s in progress.steps if (s.task_id, s.repeat) == (step.task_id, step.repeat))
        task = suite.task(step.task_id)
        defaults = screen.services.settings.defaults
        screen.options = RoundOptions(
            system=suite.system, max_tokens=defaults.max_tokens,
            temperature=suite.temperature if suite.temperature is not None else defaults.temperature)
        await self._refresh_estimate(steps)
        spec = RunSpec(task=task.id, suite=suite.id, kind=task.kind, session_id=progress.session.id,
                       repeat=step.repeat, blind=progress.session.blind, run_id=state.run_id,
                       only=frozenset(step.models))
        await screen.start_round(task.message, spec)

    async def show_done_answers(self, spec: RunSpec) -> None:
        """In a step begun before: show the answers already given, with their blind letters."""
        if spec.run_id is None:
            return
        screen = self.screen
        detail = await screen.services.store.call(get_run_detail, spec.run_id)
        if detail is None:
            return
        latest = {a.model_id: a for a in detail.answers}
        used = {a.blind_label for a in latest.values() if a.blind_label and a.model_id not in spec.only}
        free = iter(x for x in blind_labels(len(screen.grid.panes) * 2) if x not in used)
        for pane in screen.grid.panes:
            answer = latest.get(pane.model.id)
            if pane.model.id in spec.only or answer is None:
                if spec.blind:
                    pane.set_blind(next(free))
                continue
            pane.show_stored(answer, saved_reading(
                input_tokens=answer.input_tokens, output_tokens=answer.output_tokens,
                reasoning_tokens=answer.reasoning_tokens, exact=answer.tokens_exact, cost_usd=answer.cost_usd,
                ttft_ms=answer.ttft_ms, duration_ms=answer.duration_ms, status=answer.status))
            score = detail.scores.get(answer.id)
            pane.set_score(score.score if score is not None else None)
            if spec.blind:
                pane.set_blind(answer.blind_label or next(free))

    async def round_ended(self) -> None:
        """Every pane of the round has ended: refresh the progress and say what comes next."""
        screen = self.screen
        if self.suite is None or self.progress is None:
            return
        try:
            self.progress = await screen.services.store.call(session_progress, self.progress.session, self.suite)
        except StoreError:
            return
        steps = next_steps(self.progress)
        await self._refresh_estimate(steps)
        screen.update_session_bar()
        if steps:
            screen.notify(f"Task {self._task_number()}/{len(self.suite.tasks)} answered. Score with s and n, "
                          "then F9 for the next task.", timeout=6)
        else:
            screen.notify("Last task answered. Score it, then F9 to finish the suite.", timeout=6)

    async def _refresh_estimate(self, steps: list[Step]) -> None:
        screen, suite = self.screen, self.suite
        rest = [s for s in steps if s != self.step] if self.step is not None else steps
        if not rest:
            self.estimate = "$0" if steps else ""
            return

        def estimate(store):
            return estimate_remaining_cost(store, suite, screen.models, rest, screen.services.token_counter)

        try:
            self.estimate = (await screen.services.store.call(estimate)).text()
        except StoreError:
            self.estimate = ""

    async def _finish(self) -> None:
        screen, progress, suite = self.screen, self.progress, self.suite
        await screen.services.store.call(finish_session, progress.session.id)
        spent = money(progress.spend_known_usd, progress.spend_unknown)
        self.suite = self.step = None
        screen.update_session_bar()
        screen.notify(f"Suite {suite.id} finished: {progress.answers} answers, spent {spent} "
                      f"(known part {format_usd(progress.spend_known_usd)}). The leaderboard shows it; "
                      f"`workbench rank --suite {suite.id} --format markdown` writes the report.",
                      title="Suite done", timeout=12)
        screen.show_leaderboard_for_suite(suite.id)
