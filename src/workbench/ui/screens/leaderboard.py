"""The leaderboard (C5): per model score, interval, price, value, spend and speed; sortable by
any column, filtered by task, suite, dates and scorer; per-task winners; the price/score
frontier as a plot; Markdown export. Re-queried from the store every time it is shown."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.console import Console, Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from workbench.paths import data_dir
from workbench.ranking.evidence import RankFilter, describe_filter, parse_filter
from workbench.ranking.stats import SORT_KEYS, Leaderboard, LeaderRow, build_leaderboard, sort_rows
from workbench.render.frontier_plot import plot_frontier
from workbench.render.rank_report import task_tables, to_markdown, to_rich_table, totals_text
from workbench.store.db import StoreError
from workbench.store.scores import answer_stats, hidden_blind_runs, score_rows
from workbench.ui.services import Services
from workbench.ui.widgets.key_footer import KeyFooter

SORTABLE = ("score", "value", "price", "n", "spend", "ttft", "tps", "model")


def as_text(renderable, width: int) -> Text:
    """Lay a Rich table out as `workbench rank` prints it, at ``width`` cells.

    A Rich Table handed to a Static is measured by Textual's own rules, which squeezed the
    columns together at 80 cells; rendering it first keeps the CLI's layout.
    """
    console = Console(width=width, force_terminal=True, color_system="truecolor", legacy_windows=False)
    with console.capture() as captured:
        console.print(renderable)
    return Text.from_ansi(captured.get().rstrip("\n"))


class LeaderboardScreen(Screen):
    """The ranking of every scored model; Escape returns to the compare screen."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="close-leaderboard"),
        Binding("o", "sort_next", "Sort", id="sort-next"),
        Binding("shift+o", "sort_previous", "Sort back", id="sort-previous", show=False),
        Binding("r", "sort_reverse", "Reverse", id="sort-reverse"),
        Binding("slash", "edit_filter", "Filter", id="edit-filter"),
        Binding("p", "toggle_tasks", "Per task", id="toggle-tasks"),
        Binding("e", "export_markdown", "Export .md", id="export-markdown"),
    ]

    DEFAULT_CSS = """
    LeaderboardScreen #board-title { height: 1; background: $panel; padding: 0 1; }
    LeaderboardScreen #board-filter { display: none; height: 1; border: none; padding: 0 1; }
    LeaderboardScreen #board-filter.-shown { display: block; }
    LeaderboardScreen #board-table { height: auto; padding: 0 1; }
    LeaderboardScreen #board-plot { height: auto; padding: 0 1; }
    LeaderboardScreen #board-tasks { display: none; height: 1fr; padding: 0 1; }
    LeaderboardScreen.-tasks #board-tasks { display: block; }
    LeaderboardScreen.-tasks #board-overall { display: none; }
    LeaderboardScreen #board-overall { height: 1fr; }
    """

    def __init__(self, services: Services, filt: RankFilter | None = None) -> None:
        super().__init__()
        self.services = services
        self.filter = filt or RankFilter()
        self.sort_key = "score"
        self.descending: bool | None = None  # None: the key's natural direction
        self.board: Leaderboard | None = None
        self.rows: list[LeaderRow] = []
        self.hidden_blind = 0  # blind runs not yet revealed, left out of the board

    def compose(self):
        yield Static("", id="board-title")
        yield Input(describe_filter(self.filter), id="board-filter",
                    placeholder="task:ID suite:ID since:YYYY-MM-DD until:YYYY-MM-DD scorer:NAME  (Enter applies)")
        with VerticalScroll(id="board-overall"):
            yield Static("", id="board-table")
            yield Static("", id="board-plot")
        with VerticalScroll(id="board-tasks"):
            yield Static("", id="board-task-tables")
        yield KeyFooter()

    async def on_mount(self) -> None:
        self.query_one("#board-overall").focus()
        await self.reload()

    def on_resize(self) -> None:
        self.render_board()

    async def on_screen_resume(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        """Query the store and rebuild the board (off the UI thread)."""
        filt = self.filter

        def build(store) -> tuple[Leaderboard, int]:
            board = build_leaderboard(score_rows(store, filt), answer_stats(store, filt), self.services.settings.models)
            return board, hidden_blind_runs(store, filt)

        try:
            self.board, self.hidden_blind = await self.services.store.call(build)
        except StoreError as exc:
            self.board = None
            self.query_one("#board-table", Static).update(f"No leaderboard: {exc}")
            return
        self.render_board()

    def render_board(self) -> None:
        """Fill the table, the plot and the per-task tables from the current board."""
        board = self.board
        if board is None:
            return
        self.rows = sort_rows(board.rows, self.sort_key, self.descending)
        self._update_title(len(self.rows))
        # the scroll area's padding and scrollbar take 4 cells
        width = max(40, self.size.width - 4)
        table = self.query_one("#board-table", Static)
        plot = self.query_one("#board-plot", Static)
        if not board.has_scores and describe_filter(self.filter):
            table.update(f"No scores for {describe_filter(self.filter)} — press / to change the filter.")
            plot.update("")
        else:
            table.update(as_text(to_rich_table(board, self.rows), width))
            plot.update(plot_frontier(self.rows, min(width, 100), 12) if board.has_scores else "")
        tasks = task_tables(board)
        self.query_one("#board-task-tables", Static).update(
            as_text(Group(*tasks), width) if tasks else "No named tasks here (free-form prompts have no task).")

    def _update_title(self, count: int) -> None:
        natural = SORT_KEYS[self.sort_key][1]
        descending = natural if self.descending is None else self.descending
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Leaderboard", style="bold")
        if self.hidden_blind:  # first, where a narrow terminal still shows it
            text.append(f" · {self.hidden_blind} blind round(s) left out until revealed", style="italic")
        text.append(f" · {count} model(s) · {describe_filter(self.filter) or 'all scores'}"
                    f" · by {self.sort_key} {'↓' if descending else '↑'}")
        if self.board is not None:
            text.append(f" · {totals_text(self.board)}", style="dim")
        self.query_one("#board-title", Static).update(text)

    # -- actions --------------------------------------------------------------------------
    def action_close(self) -> None:
        if self.query_one("#board-filter", Input).has_focus:
            self._hide_filter()
            return
        self.dismiss()

    def _cycle_sort(self, step: int) -> None:
        i = SORTABLE.index(self.sort_key) if self.sort_key in SORTABLE else 0
        self.sort_key = SORTABLE[(i + step) % len(SORTABLE)]
        self.descending = None
        self.render_board()

    def action_sort_next(self) -> None:
        self._cycle_sort(1)

    def action_sort_previous(self) -> None:
        self._cycle_sort(-1)

    def action_sort_reverse(self) -> None:
        natural = SORT_KEYS[self.sort_key][1]
        current = natural if self.descending is None else self.descending
        self.descending = not current
        self.render_board()

    def action_edit_filter(self) -> None:
        field = self.query_one("#board-filter", Input)
        field.add_class("-shown")
        field.focus()

    def _hide_filter(self) -> None:
        self.query_one("#board-filter", Input).remove_class("-shown")
        self.query_one("#board-overall").focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.filter = parse_filter(event.value)
        except ValueError as exc:
            self.notify(str(exc), severity="error", timeout=5)
            return
        self._hide_filter()
        await self.reload()

    def action_toggle_tasks(self) -> None:
        self.toggle_class("-tasks")
        # keep the focus on what is shown, so the arrow keys scroll it
        self.query_one("#board-tasks" if self.has_class("-tasks") else "#board-overall").focus()

    async def action_export_markdown(self) -> None:
        if self.board is None:
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = data_dir() / "exports" / f"leaderboard-{stamp}.md"
        text = to_markdown(self.board, self.rows)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc}", severity="error")
            return
        self.notify(f"Wrote {path}", title="Exported", timeout=8)

