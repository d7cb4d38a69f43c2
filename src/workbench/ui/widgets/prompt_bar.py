"""The prompt bar: one line where Enter sends, or a multi-line editor (F2) where Ctrl+S sends."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, TextArea


class PromptArea(TextArea):
    """Multi-line prompt editor: Enter is a newline; Ctrl+S or Alt+Enter sends."""

    BINDINGS = [
        Binding("ctrl+s,alt+enter", "send", "Send", id="send-multiline", priority=True),
    ]

    def action_send(self) -> None:
        parent = self.parent
        if isinstance(parent, PromptBar):
            parent.submit(self.text)


class PromptBar(Vertical):
    """Where the prompt is typed; posts ``PromptBar.Submitted``. Up/Down recall earlier prompts."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous prompt", id="prompt-history-back", show=False),
        Binding("down", "history(1)", "Next prompt", id="prompt-history-forward", show=False),
    ]

    DEFAULT_CSS = """
    PromptBar { height: auto; }
    PromptBar > Input { height: 3; }
    PromptBar > PromptArea { height: 8; display: none; }
    PromptBar.-multiline > Input { display: none; }
    PromptBar.-multiline > PromptArea { display: block; }
    """

    class Submitted(Message):
        """A prompt was sent."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__(id="prompt-bar")
        self.input = Input(placeholder="Type a prompt, Enter sends · F2 multi-line · F4 options · F1 keys",
                           id="prompt-input")
        self.area = PromptArea(id="prompt-area", soft_wrap=True, show_line_numbers=False)
        self.multiline = False
        self.history: list[str] = []
        self._history_pos = 0

    def compose(self):
        yield self.input
        yield self.area

    def on_mount(self) -> None:
        import os

        if "SSH_CONNECTION" in os.environ or "SSH_TTY" in os.environ:
            # a blinking cursor repaints twice a second forever: all an idle app sends over SSH
            self.input.cursor_blink = False
            self.area.cursor_blink = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, text: str) -> None:
        """Send the text if it is not blank."""
        if not text.strip():
            self.app.bell()
            return
        if not self.history or self.history[-1] != text:
            self.history.append(text)
        self._history_pos = len(self.history)
        self.post_message(self.Submitted(text))
        self.clear()

    def action_history(self, step: int) -> None:
        """Put an earlier (or later) prompt into the one-line input."""
        if self.multiline or not self.history:
            return
        self._history_pos = max(0, min(len(self.history), self._history_pos + step))
        self.input.value = self.history[self._history_pos] if self._history_pos < len(self.history) else ""
        self.input.cursor_position = len(self.input.value)

    def clear(self) -> None:
        """Empty both editors."""
        self.input.value = ""
        self.area.text = ""

    def toggle_multiline(self) -> None:
        """Switch between the one-line input and the multi-line editor, keeping the text."""
        self.multiline = not self.multiline
        if self.multiline:
            self.area.text = self.input.value
            self.area.move_cursor(self.area.document.end)
        else:
            self.input.value = self.area.text.replace("\n", " ")
        self.set_class(self.multiline, "-multiline")
        self.focus_editor()

    def focus_editor(self) -> None:
        """Focus whichever editor is shown."""
        (self.area if self.multiline else self.input).focus()

    @property
    def text(self) -> str:
        """The prompt as typed."""
        return self.area.text if self.multiline else self.input.value
