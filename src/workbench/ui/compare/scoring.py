"""Scoring a round on the compare screen (C3): the score entry, blind rounds and their
reveal, the next unscored pane, and past runs reopened from history to be (re)scored.

Kept out of ``screen.py`` so that the screen stays about streaming; the screen owns one
``RoundScoring`` and forwards the panes' score messages to it.
"""

from __future__ import annotations

from workbench.blinding import blind_labels, shuffled
from workbench.domain import ChatRequest, ModelInfo
from workbench.meter import saved_reading
from workbench.ranking.evidence import is_scorable
from workbench.ranking.scoring import ScoreError
from workbench.store.db import StoreError
from workbench.store.history import get_run_detail
from workbench.store.scores import add_score, latest_scores
from workbench.ui.compare.host import CompareHost
from workbench.ui.screens.score_entry import ScoreEntry, ScoreScreen
from workbench.ui.widgets.answer_pane import AnswerPane


class RoundScoring:
    """Blind state and scores of the round shown on a compare screen."""

    def __init__(self, screen: CompareHost) -> None:
        self.screen = screen
        self.blind_next = False  # the toggle: applies from the next round
        self.round_blind = False  # the round on screen is blind and not yet revealed
        self.saving: set[int] = set()  # answer ids whose score is being written

    # -- blind rounds ---------------------------------------------------------------------
    def toggle_blind(self) -> bool:
        """Switch blind mode for the next rounds; returns the new state."""
        self.blind_next = not self.blind_next
        return self.blind_next

    async def prepare_round(self, models: list[ModelInfo], blind: bool | None = None) -> None:
        """Before a round: shuffle and letter the panes when blind (``blind`` overrides the
        toggle, for a suite session), restore them otherwise."""
        grid = self.screen.grid
        if self.blind_next if blind is None else blind:
            await grid.set_models(shuffled(models))
            for pane, label in zip(grid.panes, blind_labels(len(grid.panes))):
                pane.set_blind(label)
            self.round_blind = True
        else:
            if self.round_blind or [p.model for p in grid.panes] != models:
                await grid.set_models(models)
            self.round_blind = False

    def reveal_if_done(self) -> None:
        """Reveal a blind round once every answer that has text is scored."""
        panes = self.screen.grid.panes
        if not self.round_blind or any(p.is_streaming for p in panes):
            return
        if any(is_scorable(p.answer_text) and p.score is None for p in panes):
            return
        self.round_blind = False
        labels = {p: p.blind_label for p in panes if p.blind_label}
        for pane in panes:
            pane.set_blind(None)
        pairs = [f"{label} = {pane.display_name}" for pane, label in labels.items()]
        self.screen.grid.refresh_tabs()
        self.screen.update_session_bar()  # the session's cost shows again
        if pairs:
            self.screen.notify("Revealed: " + ", ".join(pairs), title="Blind round scored", timeout=10)

    # -- scoring --------------------------------------------------------------------------
    async def request_score(self, pane: AnswerPane) -> None:
        """Open the score entry for ``pane`` (or say why it cannot be scored). Keys held since
        the score key was read go to the entry once it is up, or back here when it does not open."""
        if not await self._open_score_entry(pane):
            self._release_keys()

    def _release_keys(self) -> None:
        release = getattr(self.screen.app, "release_keys", None)
        if release is not None:
            release()

    async def _open_score_entry(self, pane: AnswerPane) -> bool:
        screen = self.screen
        if pane.is_streaming:
            screen.notify("Wait for the answer to end (or press c to cancel it), then score it.",
                          severity="warning", timeout=4)
            return False
        answer_id = pane.answer_id
        if answer_id is None:
            what = "Nothing to score yet: send a prompt first." if pane.result is None and pane.stored is None \
                else "This answer was not saved (the store is unavailable), so it cannot be scored."
            screen.notify(what, severity="warning", timeout=5)
            return False
        if not is_scorable(pane.answer_text):
            screen.notify(f"{pane.display_name} has no text to score (the call failed); score the others.",
                          severity="warning", timeout=5)
            return False
        try:
            previous = (await screen.services.store.call(latest_scores, [answer_id])).get(answer_id)
        except StoreError as exc:
            screen.notify(str(exc), severity="error")
            return False

        async def save(entry: ScoreEntry | None) -> None:
            # focus first, then the keys typed meanwhile (n, say): the write may take a while
            pane.view.focus()
            self._release_keys()
            if entry is not None:
                self.saving.add(answer_id)
                try:
                    await self._save(pane, answer_id, entry)
                finally:
                    self.saving.discard(answer_id)

        screen.app.push_screen(ScoreScreen(f"Score {pane.display_name}", previous), save)
        return True

    async def _save(self, pane: AnswerPane, answer_id: int, entry: ScoreEntry) -> None:
        screen = self.screen
        try:
            saved = await screen.services.store.call(add_score, answer_id, entry.score, criteria=entry.criteria,
                                                note=entry.note, blind=self.round_blind)
        except (ScoreError, StoreError) as exc:
            screen.notify(f"Not scored: {exc}", severity="error", timeout=6)
            return
        except Exception as exc:  # sqlite: say so, keep the app
            screen.notify(f"Could not save the score: {exc}", severity="error", timeout=8)
            return
        # the pane may have started a new answer meanwhile (retry): don't label that one
        if pane.answer_id == answer_id:
            pane.set_score(saved.score)
        screen.notify(f"{pane.display_name}: {saved.score:g}", title="Scored", timeout=3)
        self.reveal_if_done()

    def next_unscored(self, after: AnswerPane | None) -> None:
        """Focus the next pane whose answer has text and no score; then the keys typed since n."""
        try:
            self._focus_next_unscored(after)
        finally:
            self._release_keys()

    def _focus_next_unscored(self, after: AnswerPane | None) -> None:
        panes = self.screen.grid.panes
        start = after.index + 1 if after is not None else 0
        for offset in range(len(panes)):
            pane = panes[(start + offset) % len(panes)]
            pending = pane.answer_id in self.saving
            if not pane.is_streaming and pane.score is None and not pending and is_scorable(pane.answer_text):
                self.screen.grid.show_pane(pane.index)
                return
        self.screen.notify("Every answer with text is scored.", timeout=3)

    # -- past runs ------------------------------------------------------------------------
    async def open_run(self, run_id: int) -> bool:
        """Show a saved run in the panes, to reread and (re)score it."""
        screen = self.screen
        try:
            detail = await screen.services.store.call(get_run_detail, run_id)
        except StoreError as exc:
            screen.notify(str(exc), severity="error")
            return False
        if detail is None:
            screen.notify(f"There is no run {run_id}.", severity="error")
            return False
        # a retried model has several answers in a run: show the latest of each
        latest = {}
        for answer in detail.answers:
            latest[answer.model_id] = answer
        answers = list(latest.values())
        if not answers:
            screen.notify(f"Run {run_id} has no answers.", severity="warning")
            return False
        hidden = detail.run.blind and not detail.revealed
        if hidden:
            answers.sort(key=lambda a: a.blind_label or "")
        await screen.cancel_all()
        models = [self._model_of(a) for a in answers]
        await screen.grid.set_models(models)
        for pane, answer in zip(screen.grid.panes, answers):
            if hidden:  # before the answer is shown: its error may name the model
                pane.set_blind(answer.blind_label or "?")
            pane.show_stored(answer, saved_reading(
                input_tokens=answer.input_tokens, output_tokens=answer.output_tokens,
                reasoning_tokens=answer.reasoning_tokens, exact=answer.tokens_exact, cost_usd=answer.cost_usd,
                ttft_ms=answer.ttft_ms, duration_ms=answer.duration_ms, status=answer.status,
                billing=answer.billing_note, finish_reason=answer.finish_reason))
            score = detail.scores.get(answer.id)
            pane.set_score(score.score if score is not None else None)
        self.round_blind = hidden
        run = detail.run
        screen.adopt_run(run.id, models, ChatRequest(
            prompt=run.prompt, system=run.system, temperature=run.params.get("temperature"),
            max_tokens=run.params.get("max_tokens")))
        scored = sum(1 for a in answers if a.id in detail.scores)
        screen.notify(f"Run {run.id}: {scored}/{len(answers)} scored. s scores a pane, n goes to the next "
                      "unscored; a new prompt starts a new round.", title="Past run", timeout=8)
        return True

    def _model_of(self, answer) -> ModelInfo:
        known = self.screen.services.settings.models.get(answer.model_id)
        if known is not None:
            return known
        # a model no longer in the config: enough to show and score it (not to call it)
        return ModelInfo(id=answer.model_id, provider=answer.provider, name=answer.model_name,
                         upstream=answer.model_id)
