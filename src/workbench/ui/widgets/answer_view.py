"""The scrolling body of an answer pane: Markdown rendered incrementally on the Line API.

Deltas are buffered by ``add_text``/``add_reasoning`` (cheap, no refresh); ``flush`` — called
by the screen's single timer — renders what arrived since the last frame and refreshes once.
Only visible lines are painted. Text is sanitised before it is rendered (Q4).
"""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.safety import StreamSanitizer, sanitize
from workbench.ui.widgets.rendered_doc import RenderContext, RenderedDoc


class AnswerView(ScrollView, can_focus=True):
    """Reasoning (collapsed by default), then the answer, then a notice (an error, say)."""

    DEFAULT_CSS = """
    AnswerView {
        overflow-x: hidden;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.answer = RenderedDoc()
        self.reasoning = RenderedDoc()
        self.reasoning_expanded = False
        self._pending: list[str] = []
        self._reasoning_pending: list[str] = []
        self._clean = StreamSanitizer()
        self._clean_reasoning = StreamSanitizer()
        self._reasoning_chars = 0
        self._notice: tuple[str, str] | None = None
        self._notice_strips: list[Strip] = []
        self._header: list[Strip] = []
        self._ctx: RenderContext | None = None
        self._dirty_layout = True

    # -- feeding -------------------------------------------------------------------------
    def add_text(self, text: str) -> None:
        """Buffer answer text (rendered on the next flush)."""
        self._pending.append(text)

    def add_reasoning(self, text: str) -> None:
        """Buffer reasoning text (rendered on the next flush)."""
        self._reasoning_pending.append(text)

    @property
    def has_pending(self) -> bool:
        """True when deltas wait for a flush."""
        return bool(self._pending or self._reasoning_pending)

    def reset(self) -> None:
        """Clear everything (a retry or a new round)."""
        self.answer, self.reasoning = RenderedDoc(), RenderedDoc()
        self._clean, self._clean_reasoning = StreamSanitizer(), StreamSanitizer()
        self._pending.clear()
        self._reasoning_pending.clear()
        self._reasoning_chars = 0
        self._notice = None
        self._dirty_layout = True
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._render_all()

    def finish(self) -> None:
        """The stream ended: flush, then close the open blocks."""
        self._take_pending()
        self.answer.feed(self._clean.flush())
        self.reasoning.feed(self._clean_reasoning.flush())
        self.answer.close()
        self.reasoning.close()
        self._render_all(follow=True)

    def set_notice(self, message: str | None, style: str = "error") -> None:
        """A line under the text (an error message), or None to clear it."""
        self._notice = (sanitize(message), style) if message else None
        self._render_all(follow=True)

    def toggle_reasoning(self) -> None:
        """Expand or collapse the reasoning text."""
        self.reasoning_expanded = not self.reasoning_expanded
        self._dirty_layout = True
        self._render_all()

    # -- rendering -------------------------------------------------------------------------
    def _take_pending(self) -> bool:
        changed = False
        if self._reasoning_pending:
            text = self._clean_reasoning.feed("".join(self._reasoning_pending))
            self._reasoning_pending.clear()
            self._reasoning_chars += len(text)
            self.reasoning.feed(text)
            changed = True
        if self._pending:
            text = self._clean.feed("".join(self._pending))
            self._pending.clear()
            self.answer.feed(text)
            changed = True
        return changed

    def flush(self) -> bool:
        """Render what arrived since the last flush; True if anything changed."""
        if not self._take_pending():
            return False
        self._render_all(follow=True)
        return True

    def _render_context(self) -> RenderContext | None:
        width = self.size.width - 1  # one column stays for the scrollbar gutter
        if width <= 0:
            return None
        base = self.rich_style
        theme = self.app.current_theme
        code_theme = "ansi_dark" if getattr(theme, "ansi", False) and theme.dark else (
            "ansi_light" if getattr(theme, "ansi", False) else ("monokai" if theme.dark else "default"))
        ctx = self._ctx
        if ctx is None or ctx.width != width or ctx.base != base or ctx.code_theme != code_theme:
            self._ctx = ctx = RenderContext(self.app.console, width, base, code_theme)
            self._dirty_layout = True
        return ctx

    def _render_all(self, follow: bool = False) -> None:
        ctx = self._render_context()
        if ctx is None:
            return
        at_end = self.is_vertical_scroll_end or self.max_scroll_y == 0
        if self._dirty_layout:
            self.answer.relayout(ctx)
            if self.reasoning_expanded:
                self.reasoning.relayout(ctx)
            self._dirty_layout = False
        else:
            self.answer.update(ctx)
            if self.reasoning_expanded:
                self.reasoning.update(ctx)
        self._header = self._reasoning_header(ctx)
        self._notice_strips = []
        if self._notice is not None:
            message, style = self._notice
            if style == "hint":
                notice_style = Style(dim=True, italic=True)
            else:
                theme = self.app.current_theme
                color = (theme.error if style == "error" else theme.warning) or "red"
                notice_style = Style.parse(f"bold {color}")
            lead = [ctx.blank()] if self._line_count_without_notice() else []
            self._notice_strips = [*lead, *ctx.plain(message, notice_style)]
        self._grow(Size(ctx.width, self._line_count()))
        if follow and at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _grow(self, size: Size) -> None:
        """Set the scrollable size without a screen-wide layout pass.

        Assigning ``virtual_size`` makes Textual lay out the whole screen (77 ms a frame with 10
        panes in benchmarks/stream_bench.py); this view's own box never depends on its text, so
        updating the reactive quietly and the scrollbars is enough.
        """
        if size != self.virtual_size:
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)

    def _reasoning_header(self, ctx: RenderContext) -> list[Strip]:
        if not self._reasoning_chars:
            return []
        arrow, verb = ("▾", "hide") if self.reasoning_expanded else ("▸", "show")
        label = f"{arrow} reasoning · {self._reasoning_chars:,} chars · t to {verb}"
        return ctx.plain(label, Style(dim=True, italic=True))

    def _sections(self) -> tuple:
        if self.reasoning_expanded:
            return (self._header, self.reasoning, self.answer, self._notice_strips)
        return (self._header, self.answer, self._notice_strips)

    def _line_count_without_notice(self) -> int:
        return len(self._header) + self.answer.line_count + (
            self.reasoning.line_count if self.reasoning_expanded else 0)

    def _line_count(self) -> int:
        total = 0
        for section in self._sections():
            total += section.line_count if isinstance(section, RenderedDoc) else len(section)
        return total

    def on_resize(self) -> None:
        self._render_all()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Re-render only if the base style or theme really changed (``_render_context`` checks):
        # a pane's state class (-done) must not send a long answer through Rich again.
        if self.is_mounted:
            self.call_after_refresh(self._render_all)

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        for section in self._sections():
            if isinstance(section, RenderedDoc):
                count = section.line_count
                if index < count:
                    return section.line(index) or self._blank()
            else:
                count = len(section)
                if index < count:
                    return section[index]
            index -= count
        return self._blank()

    def _blank(self) -> Strip:
        return Strip.blank(self.size.width, self.rich_style)

    # -- for tests and copy --------------------------------------------------------------
    def rendered_text(self) -> str:
        """All rendered lines as plain text (what a reader sees, scrolled or not)."""
        return "\n".join(self.render_line(y - self.scroll_offset.y).text.rstrip() for y in range(self._line_count()))
