"""WorkbenchApp: thin. Builds the services the screens share (the HTTP client or the stream reader
process, the store, the token counter) and hands them to the compare screen, which does the work;
owns the themes and the keymap."""

from __future__ import annotations

import gc

from textual.app import App, SystemCommand
from textual.binding import Binding

from workbench.config import Settings
from workbench.domain import ModelInfo
from workbench.paths import cache_dir, config_dir, store_file
from workbench.providers.errors import ProviderError
from workbench.providers.http import make_client
from workbench.providers.reader_process import ReaderProcess
from workbench.rounds import StoreAccess
from workbench.safety import sanitize
from workbench.store.db import Store, StoreError
from workbench.tokens import TokenCounter
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.screens.options import RoundOptions
from workbench.ui.services import Services
from workbench.ui.themes import builtin_theme_dir, load_themes

FALLBACK_THEME = "workbench-dark"
GC_THRESHOLDS = (10_000, 5, 100)


class WorkbenchApp(App):
    """The terminal workbench."""

    CSS_PATH = "workbench.tcss"
    TITLE = "workbench"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f1,question_mark", "help", "Help", id="show-help"),
    ]

    def __init__(self, settings: Settings, models: list[ModelInfo], *, store_path=None,
                 open_run: int | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.initial_models = models
        self.services = Services(settings, StoreAccess(store_path or store_file()), TokenCounter())
        self._open_run = open_run

    @property
    def store(self) -> Store | None:
        """The store once it is open (None before, or when it cannot be)."""
        return self.services.store.store

    @property
    def stream_reader(self) -> ReaderProcess | None:
        """The stream reader process, when streams are read in one."""
        return self.services.stream_reader

    @property
    def token_counter(self) -> TokenCounter:
        """The token counter every meter estimates with."""
        return self.services.token_counter

    async def on_mount(self) -> None:
        self._register_themes()
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        services = self.services
        services.token_counter.load_in_background()
        services.http_client = make_client(10)
        if self.settings.ui.reads_in_a_process():
            services.stream_reader = ReaderProcess(cache_dir() / "stream-reader.log")
            self.run_worker(self._start_reader(), name="start-reader", exit_on_error=False)
        defaults = self.settings.defaults
        options = RoundOptions(system=defaults.system, temperature=defaults.temperature, max_tokens=defaults.max_tokens)
        compare = CompareScreen(self.initial_models, options, services)
        await self.push_screen(compare)
        # Full collections of the start-up heap stalled the loop ~150 ms each while streaming
        # (benchmarks/stream_bench.py): freeze what exists. Young collections every 10,000
        # allocations take 3–15 ms; the middle generation, every 5 of them, 20–60 ms. Python's
        # default (700, 10, 10) collects far more often; 50,000 young made 300 ms middle ones.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self.run_worker(self._open_store(), name="open-store", exit_on_error=False)
        if self._open_run is not None:
            self.run_worker(compare.scoring.open_run(self._open_run), name="open-run", exit_on_error=False)

    def _register_themes(self) -> None:
        themes, problems = load_themes([builtin_theme_dir(), config_dir() / "themes"])
        for theme in themes:
            self.register_theme(theme)
        wanted = self.settings.ui.theme
        try:
            self.theme = wanted
        except Exception:
            problems.append(f"theme {wanted!r} is not available; using {FALLBACK_THEME}")
            self.theme = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
        if problems:
            self.notify("Theme problems: " + "; ".join(problems), severity="warning", timeout=8)

    async def _start_reader(self) -> None:
        # started now, not at the first prompt, so the first answer's TTFT does not include it
        reader = self.services.stream_reader
        assert reader is not None
        try:
            await reader.start()
        except ProviderError as exc:
            self.services.stream_reader = None
            self.notify(f"Streams will be read in the app's own process: {exc}", severity="warning", timeout=8)

    async def _open_store(self) -> None:
        try:
            await self.services.store.open()
        except StoreError as exc:
            self.notify(f"Answers will not be saved: {exc}", severity="error", timeout=10)

    def get_system_commands(self, screen):
        """The palette: Textual's own commands plus those of the compare screen that apply now."""
        yield from super().get_system_commands(screen)
        if not isinstance(screen, CompareScreen):
            return
        if screen.streaming:
            yield SystemCommand("Stop all streams", "Cancel every running answer, keep partial text",
                                screen.action_stop_streams)
        yield SystemCommand("Choose models", "Pick the 1–10 models of the round (F3)", screen.action_pick_models)
        yield SystemCommand("Round options", "System prompt, temperature, max tokens (F4)", screen.action_edit_options)
        yield SystemCommand("Toggle multi-line prompt", "Switch the prompt editor (F2)", screen.action_toggle_multiline)
        blind = "off" if screen.scoring.blind_next else "on"
        yield SystemCommand(f"Blind mode {blind}", "Shuffle panes and hide names until every answer is scored (F5)",
                            screen.action_toggle_blind)
        yield SystemCommand("Leaderboard", "Scores, intervals, price and value per model (F6)",
                            screen.action_show_leaderboard)
        yield SystemCommand("History", "Search past runs; open one to reread and score it (F7)",
                            screen.action_show_history)
        pane = screen.grid.focused_pane()
        if pane is not None and not pane.is_streaming and pane.answer_id is not None:
            yield SystemCommand(f"Score {pane.label}", "Score the focused answer 1–10 (s)", pane.action_score)
        for pane in screen.grid.panes:
            yield SystemCommand(f"Show pane {pane.label}", "Focus (and show) this model's pane",
                                lambda i=pane.index: screen.grid.show_pane(i))
        if screen.request is not None:
            for pane in screen.grid.panes:
                if not pane.is_streaming:
                    yield SystemCommand(f"Retry {pane.label}", "Send the last prompt to this model again",
                                        pane.action_retry)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Every notification passes here: its text may quote a model, a server or a config file,
        so it is sanitised and never read as markup."""
        super().notify(sanitize(message), title=sanitize(title), severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        # imported when first asked for: the first frame needs none of these screens (Q2)
        from workbench.ui.screens.diff import DiffScreen
        from workbench.ui.screens.help import HelpScreen
        from workbench.ui.screens.history import HistoryScreen
        from workbench.ui.screens.leaderboard import LeaderboardScreen
        from workbench.ui.screens.score_entry import ScoreScreen
        from workbench.ui.widgets.answer_pane import AnswerPane
        from workbench.ui.widgets.prompt_bar import PromptBar

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen([
                ("Compare screen", CompareScreen),
                ("Prompt", PromptBar),
                ("A pane (when it has focus)", AnswerPane),
                ("Score entry", ScoreScreen),
                ("Leaderboard (F6)", LeaderboardScreen),
                ("History (F7)", HistoryScreen),
                ("Diff (d on a pane)", DiffScreen),
            ]))

    async def action_quit(self) -> None:
        screen = self.screen
        if isinstance(screen, CompareScreen):
            await screen.cancel_all()
        self.exit()

    async def on_unmount(self) -> None:
        services = self.services
        if services.stream_reader is not None:
            await services.stream_reader.close()
        if services.http_client is not None:
            await services.http_client.aclose()
        services.store.close()
