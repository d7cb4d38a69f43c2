"""WorkbenchApp: thin. Owns the shared HTTP client (or the stream reader process), the store,
the token counter, the themes and the keymap; the compare screen does the work."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding

from workbench.config import Settings
from workbench.domain import ModelInfo
from workbench.paths import cache_dir, config_dir, store_file
from workbench.providers.errors import ProviderError
from workbench.providers.reader_process import ReaderProcess
from workbench.runner import make_client
from workbench.safety import sanitize
from workbench.store import answers as store_answers
from workbench.store.db import Store, StoreError, open_store
from workbench.tokens import TokenCounter
from workbench.ui.screens.compare import CompareScreen
from workbench.ui.screens.options import RoundOptions
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
        self.token_counter = TokenCounter()
        self.http_client = None
        self.stream_reader: ReaderProcess | None = None
        self.store: Store | None = None
        self._store_path = store_path or store_file()
        self._store_failed = False
        self._open_run = open_run

    async def on_mount(self) -> None:
        self._register_themes()
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.token_counter.load_in_background()
        self.http_client = make_client(10)
        if self.settings.ui.reads_in_a_process():
            self.stream_reader = ReaderProcess(cache_dir() / "stream-reader.log")
            self.run_worker(self._start_reader(), name="start-reader", exit_on_error=False)
        defaults = self.settings.defaults
        options = RoundOptions(system=defaults.system, temperature=defaults.temperature, max_tokens=defaults.max_tokens)
        compare = CompareScreen(self.initial_models, options)
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
        assert self.stream_reader is not None
        try:
            await self.stream_reader.start()
        except ProviderError as exc:
            self.stream_reader = None
            self.notify(f"Streams will be read in the app's own process: {exc}", severity="warning", timeout=8)

    async def _open_store(self) -> None:
        try:
            self.store = await asyncio.to_thread(open_store, self._store_path)
            await asyncio.to_thread(store_answers.recover_orphans, self.store)
        except StoreError as exc:
            self._store_failed = True
            self.notify(f"Answers will not be saved: {exc}", severity="error", timeout=10)

    async def store_call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(store, *args, **kwargs)`` off the UI thread (sqlite blocks).

        Raises StoreError when the store could not be opened; the function's own errors propagate.
        """
        if self.store is None:
            await self.workers.wait_for_complete([w for w in self.workers if w.name == "open-store"])
        if self.store is None:
            raise StoreError("the store is not available (see the earlier notice)")
        return await asyncio.to_thread(func, self.store, *args, **kwargs)

    async def save(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Run a ``store.answers`` operation; None (with a notice) if it could not be saved."""
        if self.store is None and self._store_failed:
            return None
        try:
            return await self.store_call(getattr(store_answers, operation), *args, **kwargs)
        except StoreError:
            return None
        except Exception as exc:  # sqlite errors: keep streaming, say it was not saved
            self.notify(f"Could not save to the store: {exc}", severity="error", timeout=8)
            return None

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
        from workbench.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        screen = self.screen
        if isinstance(screen, CompareScreen):
            await screen.cancel_all()
        self.exit()

    async def on_unmount(self) -> None:
        if self.stream_reader is not None:
            await self.stream_reader.close()
        if self.http_client is not None:
            await self.http_client.aclose()
        if self.store is not None:
            self.store.close()
