"""Small keyboard pickers: a code block of an answer (to copy or save), another pane (to diff
with), and the file a code block is saved to; and the check marks the other pickers share."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.style import Style
from textual.widgets import Checkbox, Input, Label, OptionList, SelectionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from workbench.code_blocks import CodeBlock
from workbench.safety import sanitize

_PICKER_CSS = """
{cls} {{ align: center middle; }}
{cls} > Vertical {{
    width: 90%; max-width: 100; height: auto; max-height: 80%;
    border: round $primary; background: $surface; padding: 0 1;
}}
{cls} OptionList {{ height: auto; max-height: 14; }}
{cls} .hint {{ color: $text-muted; }}
{cls} .problem {{ color: $error; width: 1fr; height: auto; }}
"""


# Textual draws a box as ▐X▌ whatever its state and tells the states apart by colour alone:
# under NO_COLOR (or to a colour-blind user) every row looks ticked. A bracketed mark reads anywhere.
MARK_ON, MARK_OFF = "[x]", "[ ]"


class MarkedSelectionList(SelectionList):
    """A SelectionList whose rows start with [x] or [ ] (same width as Textual's ▐X▌ gutter)."""

    def render_line(self, y: int) -> Strip:
        """The option's line after its mark; keys and clicks work as in SelectionList."""
        line = OptionList.render_line(self, y)
        index = self.scroll_offset.y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        selected = selection.value in self._selected
        component = "selection-list--button" + ("-selected" if selected else "")
        if self.highlighted == index:
            component += "-highlighted"
        base = next(iter(line)).style or self.rich_style
        mark = base
        if selected:  # the tick keeps the theme's colour where there is one
            mark = base + RichStyle(color=self.get_component_rich_style(component).color, bold=True)
        meta = RichStyle(meta={"option": index})  # a click on the mark toggles its row
        text = MARK_ON if selected else MARK_OFF
        return Strip([Segment(text[0], base + meta), Segment(text[1], mark + meta),
                      Segment(text[2], base + meta), Segment(" ", base), *line])


class MarkedCheckbox(Checkbox):
    """A Checkbox drawn as [x] label / [ ] label."""

    @property
    def _button(self) -> Content:
        tick = Style(foreground=self.get_visual_style("toggle--button").foreground, bold=True)
        return Content.assemble("[", ("x", tick) if self.value else " ", "]")


class _NumberedPicker(ModalScreen[int | None]):
    """A list whose entries are picked by their number (1–9) or with ↑/↓ and Enter."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="picker-cancel")]

    def __init__(self, title: str, entries: list[str], hint: str) -> None:
        super().__init__()
        self.title_text, self.entries, self.hint = title, entries, hint

    def compose(self):
        with Vertical():
            yield OptionList(*[Option(f"{i}  {sanitize(text)}", id=str(i)) for i, text in enumerate(self.entries, 1)])
            yield Label(self.hint, classes="hint")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = self.title_text
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit() and 1 <= int(event.character) <= len(self.entries):
            event.stop()
            self.dismiss(int(event.character))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class BlockPicker(_NumberedPicker):
    """Choose one of an answer's code blocks; returns its number."""

    DEFAULT_CSS = _PICKER_CSS.format(cls="BlockPicker")

    def __init__(self, title: str, blocks: list[CodeBlock]) -> None:
        entries = [f"{b.language or 'text'} · {len(b.code.splitlines())} lines · {b.preview[:60]}" for b in blocks]
        super().__init__(title, entries, "1–9 or ↑/↓ Enter picks · Esc cancels")


class PanePicker(_NumberedPicker):
    """Choose another pane (by its number on screen); returns the pane's number."""

    DEFAULT_CSS = _PICKER_CSS.format(cls="PanePicker")

    def __init__(self, title: str, labels: list[str]) -> None:
        super().__init__(title, labels, "1–9 or ↑/↓ Enter picks · Esc cancels")


class SaveBlockScreen(ModalScreen[Path | None]):
    """Ask where to save a code block (a suggested name in the working directory); writes it."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="save-cancel")]
    DEFAULT_CSS = _PICKER_CSS.format(cls="SaveBlockScreen") + """
    SaveBlockScreen Input { height: 1; border: none; padding: 0 1; background: $boost; }
    /* Textual's Input:focus border outranks the rule above and leaves the 1-row field no room */
    SaveBlockScreen Input:focus { border: none; }
    """

    def __init__(self, block: CodeBlock, suggested: Path) -> None:
        super().__init__()
        self.block, self.suggested = block, suggested
        self._confirm_overwrite: Path | None = None

    def compose(self):
        with Vertical():
            yield Label(f"Save code block {self.block.number} ({self.block.language or 'text'}, "
                        f"{len(self.block.code.splitlines())} lines) to:")
            yield Input(str(self.suggested), id="save-path")
            yield Label("", classes="problem", id="save-problem")
            yield Label("Enter saves · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Vertical).border_title = "Save code block"
        self.query_one(Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.query_one("#save-problem", Label)
        raw = event.value.strip()
        if not raw:
            problem.update("Type a file name.")
            return
        path = Path(raw).expanduser()
        if path.is_dir():
            path = path / self.suggested.name
        if path.exists() and self._confirm_overwrite != path:
            self._confirm_overwrite = path
            problem.update(f"{path} exists: Enter again to overwrite it.")
            return
        try:
            await asyncio.to_thread(_write, path, self.block.code)
        except OSError as exc:
            problem.update(f"Cannot write {path}: {exc.strerror or exc}")
            return
        self.dismiss(path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the model's text as it came (control characters included): a file is not a terminal
    path.write_text(text, encoding="utf-8")
