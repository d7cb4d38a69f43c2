"""A streaming Markdown document rendered to Strips block by block.

Finished blocks are rendered once and kept; the open block is re-rendered on each flush; the
completed lines of an open code fence are highlighted as they arrive (a batch per flush) and the
whole fence is highlighted once more, with full context, when it closes. Work per flush is
proportional to the new text, not to the answer so far.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from rich.console import Console, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from workbench.ui.widgets.markdown_blocks import Block, BlockSplitter

LANGUAGE_ALIASES = {"js": "javascript", "ts": "typescript", "py": "python", "sh": "bash", "golang": "go", "": "text"}


@lru_cache(maxsize=64)
def _lexer(language: str):
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    name = LANGUAGE_ALIASES.get(language, language)
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return get_lexer_by_name("text")


class RenderContext:
    """What rendering needs from the widget: console, width, base style, code theme."""

    def __init__(self, console: Console, width: int, base: Style, code_theme: str, text_style: Style | None = None) -> None:
        self.console = console
        self.width = max(1, width)
        self.base = base
        self.code_theme = code_theme
        self.text_style = text_style
        self._options = console.options.update(width=self.width, height=None, highlight=False, markup=False)

    def render(self, renderable: RenderableType) -> list[Strip]:
        """Lines of a renderable at this width, with the base style under them."""
        lines = self.console.render_lines(renderable, self._options, pad=False, new_lines=False)
        base, width = self.base, self.width
        return [Strip(Segment.apply_style(line, base)).adjust_cell_length(width, base) for line in lines]

    def text_block(self, source: str) -> list[Strip]:
        """A paragraph-like block as Markdown."""
        from rich.markdown import Markdown  # markdown-it and Pygments: at the first answer, not start-up (Q2)

        md = Markdown(source, code_theme=self.code_theme, hyperlinks=False, style=self.text_style or "none")
        lines = self.render(md)
        # Rich pads some elements (lists) with blank lines; blocks are spaced by the document
        while lines and not lines[0].text.strip():
            lines.pop(0)
        while lines and not lines[-1].text.strip():
            lines.pop()
        return lines

    def code(self, source: str, language: str) -> list[Strip]:
        """Code, highlighted and wrapped."""
        if not source:
            return []
        from rich.syntax import Syntax  # see Markdown above

        syntax = Syntax(source, _lexer(language), theme=self.code_theme, word_wrap=True, padding=(0, 1),
                        tab_size=4, dedent=False)
        return self.render(syntax)

    def plain(self, text: str, style: Style | str = "") -> list[Strip]:
        """Plain wrapped text."""
        return self.render(Text(text, style=style, no_wrap=False, overflow="fold"))

    def blank(self) -> Strip:
        """An empty line in the base style."""
        return Strip.blank(self.width, self.base)


class RenderedDoc:
    """One streamed Markdown document and its rendered lines."""

    def __init__(self) -> None:
        self.splitter = BlockSplitter()
        self.finished: list[Strip] = []
        self.open: list[Strip] = []
        self._open_code: list[Strip] = []
        self._open_code_done = 0
        self._open_block: Block | None = None
        self._rendered_blocks = 0
        self.closed = False

    @property
    def text_so_far(self) -> bool:
        """True once any text was fed."""
        return bool(self.splitter.finished or self.splitter.open or self.splitter.partial)

    def feed(self, text: str) -> None:
        """Add sanitised text (rendering happens in ``update``)."""
        self.splitter.feed(text)

    def close(self) -> None:
        """The stream ended: finish the open block."""
        self.splitter.close()
        self.closed = True

    def relayout(self, ctx: RenderContext) -> None:
        """Render everything again (width or theme changed)."""
        self.finished = []
        self._rendered_blocks = 0
        self._reset_open()
        self.update(ctx)

    def _reset_open(self) -> None:
        self.open, self._open_code, self._open_code_done, self._open_block = [], [], 0, None

    def update(self, ctx: RenderContext) -> None:
        """Render blocks finished since the last update, and the open block."""
        blocks = self.splitter.finished
        while self._rendered_blocks < len(blocks):
            block = blocks[self._rendered_blocks]
            if self.finished:
                self.finished.append(ctx.blank())
            self.finished.extend(self._render_block(block, ctx))
            self._rendered_blocks += 1
            if block is self._open_block:
                self._reset_open()
        self._render_open(ctx)

    def _render_block(self, block: Block, ctx: RenderContext) -> list[Strip]:
        if block.kind == "code" and block is self._open_block:
            # The fence streamed: keep the lines highlighted as they came instead of one whole-
            # fence pass on the event loop (1.2 s for a 20k-token fence in the benchmark).
            rest = block.lines[self._open_code_done:]
            return self._open_code + (ctx.code("\n".join(rest), block.language) if rest else [])
        if block.kind == "code":
            return ctx.code(block.source, block.language)
        return ctx.text_block(block.source)

    def _render_open(self, ctx: RenderContext) -> None:
        block, partial = self.splitter.open, self.splitter.partial
        lead = [ctx.blank()] if self.finished and (block is not None or partial) else []
        if block is not None and block.kind == "code":
            if block is not self._open_block:
                self._reset_open()
                self._open_block = block
            new_lines = block.lines[self._open_code_done:]
            if new_lines:
                self._open_code.extend(ctx.code("\n".join(new_lines), block.language))
                self._open_code_done = len(block.lines)
            tail = ctx.code(partial, block.language) if partial else []
            self.open = lead + self._open_code + tail
            return
        self._open_block = None
        lines = list(block.lines) if block is not None else []
        if partial:
            lines.append(partial)
        self.open = lead + (ctx.text_block("\n".join(lines)) if lines else [])

    @property
    def line_count(self) -> int:
        """Rendered lines, finished and open."""
        return len(self.finished) + len(self.open)

    def line(self, index: int) -> Strip | None:
        """One rendered line."""
        n = len(self.finished)
        if index < n:
            return self.finished[index]
        index -= n
        return self.open[index] if index < len(self.open) else None


RenderHook = Callable[[RenderContext], None]
