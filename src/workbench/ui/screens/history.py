"""Past runs (C4): search them, pick one, and it opens in the panes to reread and (re)score.
A blind run that is not fully scored lists its letters, not its models."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from workbench.catalog import format_usd
from workbench.safety import sanitize
from workbench.store.db import StoreError
from workbench.store.history import RunSummary, list_runs
from workbench.ui.services import Services

PAGE = 200
SEARCH_DELAY_S = 0.25


def summary_cells(run: RunSummary) -> list[Text | str]:
    """The table cells of one run."""
    when = run.created_at[:16].replace("T", " ")
    models = ", ".join(run.models)
    if run.blind and not run.revealed:
        models = f"blind: {models}"
    cost = format_usd(run.cost_usd) + (" + ?" if run.cost_unknown else "")
    return [str(run.id), when, Text(sanitize(run.task or "—")), f"{run.scored}/{run.answers}", cost,
            Text(sanitize(models), overflow="ellipsis"), Text(sanitize(run.prompt), overflow="ellipsis")]


class HistoryScreen(Screen[int | None]):
    """Lists runs, newest first; returns the chosen run id (None when left with Escape)."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="close-history"),
        Binding("slash", "focus_search", "Search", id="focus-search"),
    ]

    DEFAULT_CSS = """
    HistoryScreen #history-search { height: 1; border: none; padding: 0 1; background: $boost; }
    HistoryScreen #history-status { height: 1; padding: 0 1; color: $text-muted; }
    HistoryScreen DataTable { height: 1fr; }
    """

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.runs: list[RunSummary] = []
        self._pending_search = None

    def compose(self):
        yield Input(placeholder="search prompts, tasks and answers; Enter or ↓ to the list", id="history-search")
        yield Static("", id="history-status")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, title in (("id", "Run"), ("when", "When (UTC)"), ("task", "Task"), ("scored", "Scored"),
                           ("cost", "Cost"), ("models", "Models"), ("prompt", "Prompt")):
            table.add_column(title, key=key)
        await self.search("")
        table.focus()

    async def search(self, text: str) -> None:
        """List the runs matching ``text`` (everything when empty)."""
        try:
            self.runs = await self.services.store.call(list_runs, text.strip() or None, limit=PAGE)
        except StoreError as exc:
            self.query_one("#history-status", Static).update(f"No history: {exc}")
            return
        table = self.query_one(DataTable)
        table.clear()
        for run in self.runs:
            table.add_row(*summary_cells(run), key=str(run.id))
        found = f"{len(self.runs)} run(s)" + (f" matching {text.strip()!r}" if text.strip() else "")
        more = f" (the newest {PAGE})" if len(self.runs) == PAGE else ""
        hint = " · Enter opens a run to reread and score it" if self.runs else \
            " · send a prompt on the compare screen to make one"
        self.query_one("#history-status", Static).update(Text(found + more + hint))

    def on_input_changed(self, event: Input.Changed) -> None:
        # search as the user types, but only once they pause
        if self._pending_search is not None:
            self._pending_search.stop()
        value = event.value
        self._pending_search = self.set_timer(SEARCH_DELAY_S, lambda: self.run_worker(
            self.search(value), group="history-search", exclusive=True))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.search(event.value)
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(event.row_key.value))

    def action_focus_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)
