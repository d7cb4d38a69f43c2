"""Copy, save and diff on the compare screen (C9): the everyday moves, one key away.

Copy goes through OSC 52 (Textual's ``copy_to_clipboard``), which reaches the local clipboard
over SSH and through tmux; the terminal sends no answer, so refusals are guessed from what is
known to refuse (tmux with ``set-clipboard off``, the Linux console) and said.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from workbench.code_blocks import CodeBlock, code_blocks
from workbench.ui.compare.host import CompareHost
from workbench.ui.screens.diff import DiffScreen
from workbench.ui.screens.pickers import BlockPicker, PanePicker, SaveBlockScreen
from workbench.ui.widgets.answer_pane import AnswerPane


def clipboard_warning() -> str | None:
    """Why the terminal will likely ignore OSC 52, or None when it probably works."""
    if os.environ.get("TERM") == "linux":
        return "the Linux console ignores clipboard writes (OSC 52)"
    if os.environ.get("TMUX"):
        try:
            setting = subprocess.run(["tmux", "show-options", "-gv", "set-clipboard"], capture_output=True,
                                     text=True, timeout=2).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if setting == "off":
            return "tmux has set-clipboard off: run `tmux set -g set-clipboard on`"
    return None


class AnswerTools:
    """Handles the panes' copy, save and diff requests for a compare screen."""

    def __init__(self, screen: CompareHost) -> None:
        self.screen = screen

    async def handle(self, pane: AnswerPane, tool: str) -> None:
        """Run ``tool`` ('copy-answer', 'copy-block', 'save-block', 'diff') for ``pane``."""
        text = pane.answer_text
        if not text.strip():
            self.screen.notify(f"{pane.display_name} has no answer text yet.", severity="warning", timeout=4)
            return
        if tool == "copy-answer":
            self.copy(text, f"the answer of {pane.display_name}")
        elif tool in ("copy-block", "save-block"):
            self._pick_block(pane, text, save=tool == "save-block")
        elif tool == "diff":
            self._pick_other(pane)

    def copy(self, text: str, what: str) -> None:
        """Send ``text`` to the clipboard through OSC 52 and say so."""
        self.screen.app.copy_to_clipboard(text)
        lines = len(text.splitlines())
        warning = clipboard_warning()
        if warning:
            self.screen.notify(f"Sent {what} ({lines} lines) to the clipboard, but {warning}.",
                               severity="warning", timeout=8)
        else:
            self.screen.notify(f"Copied {what} ({lines} lines) — through the terminal (OSC 52).", timeout=4)

    def _pick_block(self, pane: AnswerPane, text: str, *, save: bool) -> None:
        blocks = code_blocks(text)
        if not blocks:
            self.screen.notify(f"{pane.display_name}'s answer has no code block; y copies the whole answer.",
                               severity="warning", timeout=5)
            return

        def chosen(number: int | None) -> None:
            if number is not None:
                self._use_block(pane, blocks[number - 1], save=save)

        if len(blocks) == 1:
            self._use_block(pane, blocks[0], save=save)
            return
        verb = "Save" if save else "Copy"
        self.screen.app.push_screen(BlockPicker(f"{verb} which code block of {pane.display_name}?", blocks), chosen)

    def _use_block(self, pane: AnswerPane, block: CodeBlock, *, save: bool) -> None:
        if not save:
            self.copy(block.code, f"code block {block.number} of {pane.display_name}")
            return
        stem = "answer" if pane.blind_label else pane.answer_model.id
        suggested = Path.cwd() / block.suggested_name(fallback=stem)

        def saved(path: Path | None) -> None:
            if path is not None:
                self.screen.notify(f"Saved code block {block.number} to {path}", timeout=6)
            pane.view.focus()

        self.screen.app.push_screen(SaveBlockScreen(block, suggested), saved)

    def _pick_other(self, pane: AnswerPane) -> None:
        others = [p for p in self.screen.grid.panes if p is not pane and p.answer_text.strip()]
        if not others:
            self.screen.notify("No other answer to compare with.", severity="warning", timeout=4)
            return

        def chosen(number: int | None) -> None:
            if number is not None:
                other = others[number - 1]
                self.screen.app.push_screen(DiffScreen((pane.display_name, pane.answer_text),
                                                       (other.display_name, other.answer_text)))

        if len(others) == 1:
            chosen(1)
            return
        self.screen.app.push_screen(PanePicker(f"Diff {pane.display_name} with which answer?",
                                               [p.display_name for p in others]), chosen)
