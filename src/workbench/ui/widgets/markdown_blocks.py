"""Split a streaming Markdown answer into blocks, incrementally.

A block is a paragraph-like run of lines (ended by a blank line) or a fenced code block (ended
by its closing fence). Finished blocks never change, so the view renders each once; only the
open block is re-rendered. Each ``feed`` costs time in proportion to the new text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")


@dataclass
class Block:
    """A finished or open block."""

    kind: str  # "text" or "code"
    lines: list[str] = field(default_factory=list)
    language: str = ""
    fence: str = ""

    @property
    def source(self) -> str:
        """The block's Markdown (for text) or code (for code)."""
        return "\n".join(self.lines)


class BlockSplitter:
    """Feed text; collect finished blocks; inspect the open one."""

    def __init__(self) -> None:
        self.finished: list[Block] = []
        self.open: Block | None = None
        self.partial = ""  # the last line, not yet ended by a newline
        self._new_code_lines = 0

    def feed(self, text: str) -> list[Block]:
        """Add text; return the blocks it finished (in order)."""
        done_before = len(self.finished)
        data = self.partial + text
        *complete, self.partial = data.split("\n")
        for line in complete:
            self._line(line)
        return self.finished[done_before:]

    def close(self) -> list[Block]:
        """The stream ended: finish the open block (an unclosed fence stays code)."""
        done_before = len(self.finished)
        if self.partial:
            self._line(self.partial)
            self.partial = ""
        if self.open is not None:
            self.finished.append(self.open)
            self.open = None
        return self.finished[done_before:]

    def _line(self, line: str) -> None:
        block = self.open
        if block is not None and block.kind == "code":
            stripped = line.strip()
            if stripped.startswith(block.fence[0]) and set(stripped) == {block.fence[0]} and len(stripped) >= len(block.fence):
                self.finished.append(block)
                self.open = None
            else:
                block.lines.append(line)
            return
        match = _FENCE_OPEN.match(line)
        if match and not (match.group(1)[0] == "`" and "`" in line[match.end(1):]):
            if block is not None:
                self.finished.append(block)
            self.open = Block("code", language=match.group(2).lower(), fence=match.group(1))
            return
        if not line.strip():
            if block is not None:
                self.finished.append(block)
                self.open = None
            return
        if block is None:
            block = self.open = Block("text")
        block.lines.append(line)
