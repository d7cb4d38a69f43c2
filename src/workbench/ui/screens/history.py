"""Past runs (C4): search them, pick one, and it opens in the panes to reread and (re)score.
A blind run that is not fully scored lists its letters, not its models."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from workbench.catalog import format_usd
from workbench.domain import CUT_OFF_MARK
from workbench.safety import sanitize
from workbench.store.db import StoreError
from workbench.store.history import RunSummary, list_runs, split_room
from workbench.ui.services import Services
from workbench.ui.widgets.key_footer import KeyFooter

PAGE = 200
SEARCH_DELAY_S = 0.25


#: The columns that never shrink, by key and title; the models and the prompt share what is left.
FIXED_COLUMNS = (("id", "Run"), ("when", "When (UTC)"), ("scored", "Scored"), ("cost", "Cost"))
#: Cells a vertical scrollbar takes (Textual's default), kept free so no row needs scrolling sideways.
SCROLLBAR = 2


def summary_cells(run: RunSummary) -> list[Text | str]:
    """The table cells of one run: id, when, scored (✂N: answers cut off at max tokens), cost,
    models, and the prompt after its task."""
    cost = "hidden" if run.hidden else format_usd(run.cost_usd) + (" + ?" if run.cost_unknown else "")
    models = ", ".join(run.models)
    if run.hidden:
        models = f"blind: {models}"
    prompt = Text(no_wrap=True, overflow="ellipsis")
    if run.task:
        prompt.append(sanitize(run.task), style="dim").append(": ", style="dim")
    prompt.append(sanitize(run.prompt))
    return [Text(str(run.id)), Text(run.when), Text(run.scored_text), Text(cost),
            Text(sanitize(models), no_wrap=True, overflow="ellipsis"), prompt]


def column_widths(rows: list[list[Text | str]], width: int, padding: int = 1) -> list[int]:
    """Widths of the six columns for a table ``width`` cells wide (each column adds ``padding``
    on both sides): the fixed ones fit their widest cell, the models and the prompt split the
    rest (``store.history.split_room``: the prompt first; models 0 = left out)."""
    heads = [title for _, title in FIXED_COLUMNS] + ["Models", "Prompt"]

    def widest(i: int) -> int:
        return max([len(heads[i]), *(Text(row[i]).cell_len if isinstance(row[i], str) else row[i].cell_len
                                     for row in rows)])

    fixed = [widest(i) for i in range(len(FIXED_COLUMNS))]
    room = width - SCROLLBAR - sum(w + 2 * padding for w in fixed) - 2 * padding
    models, prompt = split_room(room, widest(4), widest(5), gap=2 * padding)
    return [*fixed, models, max(prompt, len("Prompt"))]


class HistoryScreen(Screen[int | None]):
    """Lists runs, newest first; returns the chosen run id (None when left with Escape)."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="close-history"),
        Binding("slash", "focus_search", "Search", id="focus-search"),
        # from the search box (the placeholder promises it); the list's own ↓ moves its cursor
        Binding("down", "to_list", "To the list", id="history-to-list", show=False),
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
        yield KeyFooter()

    async def on_mount(self) -> None:
        # the cursor where the placeholder invites typing: ↓ or Enter go on to the list
        self.query_one("#history-search", Input).focus()
        await self.search("")

    def on_resize(self) -> None:
        if self.runs:
            self._fill(keep_cursor=True)

    def _fill(self, keep_cursor: bool = False) -> None:
        """(Re)build the table from ``self.runs`` with columns sized to the screen (the prompt,
        which tells runs apart, gets the room: see ``column_widths``), the cursor on the first row
        or, ``keep_cursor``, where it was."""
        table = self.query_one(DataTable)
        row = table.cursor_row if keep_cursor else 0
        rows = [summary_cells(run) for run in self.runs]
        widths = column_widths(rows, self.size.width, table.cell_padding)
        table.clear(columns=True)
        keys = [*FIXED_COLUMNS, ("models", "Models"), ("prompt", "Prompt")]
        shown = [i for i, w in enumerate(widths) if w > 0]
        for i in shown:
            table.add_column(keys[i][1], key=keys[i][0], width=widths[i])
        for run, cells in zip(self.runs, rows):
            table.add_row(*(cells[i] for i in shown), key=str(run.id))
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))

    async def search(self, text: str) -> None:
        """List the runs matching ``text`` (everything when empty)."""
        try:
            self.runs = await self.services.store.call(list_runs, text.strip() or None, limit=PAGE)
        except StoreError as exc:
            self.query_one("#history-status", Static).update(f"No history: {exc}")
            return
        self._fill()
        found = f"{len(self.runs)} run(s)" + (f" matching {text.strip()!r}" if text.strip() else "")
        more = f" (the newest {PAGE})" if len(self.runs) == PAGE else ""
        hint = " · ↓ and Enter open a run to score it" if self.runs else \
            " · send a prompt on the compare screen to make one"
        legend = f" · {CUT_OFF_MARK} = cut off (max tokens)" if any(r.cut_off for r in self.runs) else ""
        self.query_one("#history-status", Static).update(Text(found + more + legend + hint))

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

    def action_to_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)
