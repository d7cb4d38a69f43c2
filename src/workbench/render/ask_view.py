"""Rich renderables for `workbench ask` on a terminal: a live grid, then the final answers."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from workbench.render.meter_text import meter_line
from workbench.runner import AnswerResult
from workbench.safety import sanitize

TAIL_LINES = 12


def _title(result: AnswerResult) -> Text:
    # a Text, not a str: Rich would read "[ok]" (or brackets in a model name) as markup
    # a cut-off answer is "ok" to the store but must not read as complete (shown_status says so)
    return Text(f"{sanitize(result.model.name)} · {result.reading().shown_status}")


def render_live(results: list[AnswerResult]) -> RenderableType:
    """The live view: one panel per model with the tail of its answer and its meter."""
    grid = Table.grid(expand=True, padding=(0, 1))
    columns = min(len(results), 3)
    for _ in range(columns):
        grid.add_column(ratio=1)
    panels = []
    for r in results:
        text = sanitize(r.text or r.reasoning)
        tail = "\n".join(text.splitlines()[-TAIL_LINES:])
        body = Text(tail, style="dim" if not r.text and r.reasoning else "")
        if r.error is not None:
            body.append(f"\n{sanitize(r.error.message)}", style="bold red")
        panels.append(Panel(Group(body, Text(meter_line(r), style="cyan")), title=_title(r), height=TAIL_LINES + 4))
    for i in range(0, len(panels), columns):
        row = panels[i:i + columns]
        grid.add_row(*row, *[""] * (columns - len(row)))
    return grid


def render_final(console: Console, results: list[AnswerResult]) -> None:
    """Print every answer in full, rendered as Markdown, with its meter."""
    for r in results:
        parts: list[RenderableType] = []
        if r.reasoning:
            parts.append(Text(f"(reasoning: {len(r.reasoning)} characters, not shown; see --json)", style="dim"))
        if r.text:
            parts.append(Markdown(sanitize(r.text)))
        if r.error is not None:
            parts.append(Text(sanitize(r.error.message), style="bold red"))
        parts.append(Text(f"{meter_line(r)} · answer id {r.answer_id}", style="cyan"))
        console.print(Panel(Group(*parts), title=_title(r), title_align="left"))
