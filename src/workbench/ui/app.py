"""WorkbenchApp: thin. Builds the services the screens share (the HTTP client or the stream reader
process, the store, the token counter) and hands them to the compare screen, which does the work;
owns the themes and the keymap.

Start-up (Q2): the first frame needs Textual, the compare screen and the config, nothing more.
The stream reader process, httpx and the TLS context, the store (and its migrations), the
tokenizer and the garbage collector's freeze all come after it (``_after_first_frame``), one
step per turn of the event loop so that keys typed meanwhile are not held up for long.
``benchmarks/startup_bench.py`` measures the first frame against a bare Textual app.
"""

from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding

from workbench.config import Settings
from workbench.domain import ModelInfo
from workbench.paths import config_dir, store_file
from workbench.rounds import StoreAccess
from workbench.safety import sanitize
from workbench.store.db import Store, StoreError
from workbench.tokens import TokenCounter
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.key_order import OrderedKeys
from workbench.ui.screens.options import RoundOptions
from workbench.ui.services import Services
from workbench.ui.themes import builtin_theme_dir, load_themes

if TYPE_CHECKING:
    from workbench.providers.reader_process import ReaderProcess

FALLBACK_THEME = "workbench-dark"
GC_THRESHOLDS = (10_000, 5, 100)
#: Between two start-up steps after the first frame: a key typed meanwhile is handled and drawn
#: in the gap, so it waits for one step at most (the longest, importing httpx, ~40 ms here).
STEP_GAP_S = 0.02


class WorkbenchApp(OrderedKeys, App):
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
        self._compare: CompareScreen | None = None
        self._stopping = False  # set when the app unmounts: start nothing more
        # The theme is set before the stylesheet is first parsed: set on mount, it made Textual
        # parse and apply every style again, and lay out the screen again (30 ms of the first frame).
        self._theme_problems = self._register_themes()
        self._themed_for = settings.ui.theme

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
        if self.settings.ui.theme != self._themed_for:  # settings replaced since (tests do): slower, but right
            self._theme_problems = self._register_themes()
        if self._theme_problems:
            self.notify("Theme problems: " + "; ".join(self._theme_problems), severity="warning", timeout=8)
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        defaults = self.settings.defaults
        options = RoundOptions(system=defaults.system, temperature=defaults.temperature, max_tokens=defaults.max_tokens)
        self._compare = CompareScreen(self.initial_models, options, self.services)
        await self.push_screen(self._compare)
        # the rest waits until the first frame is on the terminal (Q2)
        self.call_after_refresh(self._begin_after_first_frame)

    def _begin_after_first_frame(self) -> None:
        if not self._stopping:
            self.run_worker(self._after_first_frame(), name="after-first-frame", exit_on_error=False)

    async def _after_first_frame(self) -> None:
        """What the first frame did not need, one step at a time: the stream reader first, so that
        a prompt typed at once does not wait for it (its TTFT would include the process's start)."""
        services = self.services
        steps = [self._start_reader, self._open_store, self._warm_http_client, self._freeze_heap]
        for step in steps:
            if self._stopping:
                return
            await step()
            await asyncio.sleep(STEP_GAP_S)
        services.token_counter.load_in_background()  # a thread of its own; builds off the event loop

    async def _start_reader(self) -> None:
        reader = self.services.stream_reader
        if reader is None:
            return
        from workbench.providers.errors import ProviderError

        try:
            await reader.start()
        except ProviderError as exc:
            self.services.read_inline()
            self.notify(f"Streams will be read in the app's own process: {exc}", severity="warning", timeout=8)

    async def _open_store(self) -> None:
        self.run_worker(self._open_store_now(), name="open-store", exit_on_error=False)
        if self._open_run is not None:
            self.run_worker(self._compare.scoring.open_run(self._open_run), name="open-run", exit_on_error=False)

    async def _open_store_now(self) -> None:
        try:
            await self.services.store.open()
        except StoreError as exc:
            self.notify(f"Answers will not be saved: {exc}", severity="error", timeout=10)

    async def _warm_http_client(self) -> None:
        # Made now, so that the first prompt does not wait for httpx and the TLS context; in a
        # thread, because loading the CA bundle takes 20-40 ms and releases the GIL meanwhile.
        services = self.services
        await asyncio.to_thread(lambda: services.http_client)

    async def _freeze_heap(self) -> None:
        # Full collections of the start-up heap stalled the loop ~150 ms each while streaming
        # (benchmarks/stream_bench.py): freeze what exists. Young collections every 10,000
        # allocations take 3–15 ms; the middle generation, every 5 of them, 20–60 ms. Python's
        # default (700, 10, 10) collects far more often; 50,000 young made 300 ms middle ones.
        # No gc.collect() first: it took 25-35 ms on the event loop right after the first frame,
        # for about 2,000 unreachable objects among 80,000, which now stay (a few hundred KB).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def _register_themes(self) -> list[str]:
        """Register the built-in and the user's themes and pick the configured one; the problems met."""
        themes, problems = load_themes([builtin_theme_dir(), config_dir() / "themes"])
        for theme in themes:
            self.register_theme(theme)
        wanted = self.settings.ui.theme
        try:
            self.theme = wanted
        except Exception:
            problems.append(f"theme {wanted!r} is not available; using {FALLBACK_THEME}")
            self.theme = FALLBACK_THEME if FALLBACK_THEME in self.available_themes else "textual-dark"
        return problems

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
        self._stopping = True
        services = self.services
        if services.has_stream_reader and services.stream_reader is not None:
            await services.stream_reader.close()
        if services.has_http_client:
            await services.http_client.aclose()
        services.store.close()
