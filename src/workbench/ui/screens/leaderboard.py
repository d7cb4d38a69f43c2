"""The leaderboard (C5): per model score, interval, price, value, spend and speed; sortable by
any column, filtered by task, suite, dates and scorer; per-task winners; the price/score
frontier as a plot; Markdown export. Re-queried from the store every time it is shown."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from workbench.evidence import RankFilter, describe_filter, parse_filter
from workbench.frontier_plot import plot_frontier
from workbench.paths import data_dir
from workbench.rank_report import (
    BEST_MARK,
    EMPTY_MESSAGE,
    FRONTIER_MARK,
    interval_text,
    price_text,
    score_text,
    spend_text,
    task_tables,
    to_markdown,
    totals_text,
    tps_text,
    ttft_text,
    value_text,
)
from workbench.ranking import SORT_KEYS, Leaderboard, LeaderRow, build_leaderboard, sort_rows
from workbench.safety import sanitize
from workbench.store.db import StoreError
from workbench.store.scores import answer_stats, score_rows

# (sort key, column title); the interval column sorts with the score
COLUMNS = (("rank", "#"), ("model", "Model"), ("score", "Score"), ("ci", "95% CI"), ("n", "n"),
           ("price", "$/M out"), ("value", "Value"), ("spend", "Spend"), ("ttft", "TTFT"), ("tps", "tok/s"))
SORTABLE = ("score", "value", "price", "n", "spend", "ttft", "tps", "model")


def row_cells(rank: int, row: LeaderRow) -> list[Text | str]:
    """The table cells of one row (model names come from user config: sanitised)."""
    marks = (FRONTIER_MARK if row.frontier else "") + (BEST_MARK if row.best_value else "")
    return [Text(str(rank)).append(marks, style="green"), Text(sanitize(row.name)), score_text(row),
            Text(interval_text(row.ci), style="dim" if row.ci is None else ""), str(row.n),
            price_text(row.price_per_m), value_text(row, ""), spend_text(row, compact=True),
            ttft_text(row.median_ttft_ms), tps_text(row.median_tps)]


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
    LeaderboardScreen #board-table { height: auto; max-height: 60%; }
    LeaderboardScreen #board-plot { height: auto; padding: 0 1; }
    LeaderboardScreen #board-tasks { display: none; height: 1fr; padding: 0 1; }
    LeaderboardScreen.-tasks #board-tasks { display: block; }
    LeaderboardScreen.-tasks #board-overall { display: none; }
    LeaderboardScreen #board-overall { height: 1fr; }
    LeaderboardScreen #board-empty { padding: 1 2; color: $text-muted; }
    """

    def __init__(self, filt: RankFilter | None = None) -> None:
        super().__init__()
        self.filter = filt or RankFilter()
        self.sort_key = "score"
        self.descending: bool | None = None  # None: the key's natural direction
        self.board: Leaderboard | None = None
        self.rows: list[LeaderRow] = []

    def compose(self):
        yield Static("", id="board-title")
        yield Input(describe_filter(self.filter), id="board-filter",
                    placeholder="task:ID suite:ID since:YYYY-MM-DD until:YYYY-MM-DD scorer:NAME  (Enter applies)")
        with VerticalScroll(id="board-overall"):
            table = DataTable(id="board-table", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("", id="board-plot")
            yield Static("", id="board-empty")
        with VerticalScroll(id="board-tasks"):
            yield Static("", id="board-task-tables")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, title in COLUMNS:
            table.add_column(title, key=key)
        table.focus()
        await self.reload()

    async def on_screen_resume(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        """Query the store and rebuild the board (off the UI thread)."""
        filt = self.filter

        def build(store) -> Leaderboard:
            return build_leaderboard(score_rows(store, filt), answer_stats(store, filt), self.app.settings.models)

        try:
            self.board = await self.app.store_call(build)
        except StoreError as exc:
            self.board = None
            self.query_one("#board-empty", Static).update(f"No leaderboard: {exc}")
            return
        self.render_board()

    def render_board(self) -> None:
        """Fill the table, the plot and the per-task tables from the current board."""
        board = self.board
        if board is None:
            return
        table = self.query_one(DataTable)
        table.clear()
        self.rows = sort_rows(board.rows, self.sort_key, self.descending)
        for rank, row in enumerate(self.rows, 1):
            table.add_row(*row_cells(rank, row), key=row.model_id)
        self._update_title(len(self.rows))
        legend = self.query_one("#board-empty", Static)
        plot = self.query_one("#board-plot", Static)
        if not board.has_scores:
            legend.update(EMPTY_MESSAGE if not describe_filter(self.filter) else
                          f"No scores for {describe_filter(self.filter)} — / changes the filter.")
            plot.update("")
        else:
            legend.update(Text(f"{FRONTIER_MARK} frontier: no cheaper model scores as high · {BEST_MARK} best value "
                               "· * routing tier or served model varied · value = score / output $/M",
                               style="dim"))
            width = max(40, min(self.size.width - 2, 100))
            plot.update(plot_frontier(self.rows, width, 12))
        tasks = task_tables(board)
        self.query_one("#board-task-tables", Static).update(
            Group(*tasks) if tasks else "No named tasks in these scores (free-form prompts have no task).")

    def _update_title(self, count: int) -> None:
        natural = SORT_KEYS[self.sort_key][1]
        descending = natural if self.descending is None else self.descending
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("Leaderboard", style="bold")
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
        self.query_one(DataTable).focus()

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

