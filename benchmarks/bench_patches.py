"""``stream_bench.py --patch NAME``: the what-ifs of the first measurement (benchmarks/README.md,
Findings), kept so those figures can be reproduced. The app has since adopted ``style``, ``grow``,
``meters``, ``fence`` and the freeze of ``gc``; ``stagger`` and the ``gc`` thresholds were later
replaced (one pane a flush tick, smaller young collections).
"""

from __future__ import annotations

import math
import time

PATCHES = ("style", "grow", "meters", "stagger", "gc", "fence", "parser")


def apply_patches(names: list[str]) -> None:
    """--patch: proposed fixes, monkeypatched into this measuring process only (never src/).

    style   — a CSS change (the pane's -streaming/-done class) no longer forces a full re-render of
              the answer; ``_render_context`` already re-renders when width, style or theme change.
    grow    — a longer answer updates the scroll range without a screen-wide layout pass (what
              Widget._size_updated does with layout=False); the view's box never depends on its text.
    meters  — meters refresh at most 4 times a second while streaming (each repaint costs ~1.5 ms).
    stagger — each flush tick renders at most 3 panes, round-robin, so no tick blocks for long.
    gc      — after start-up ``gc.freeze()``, and young collections 70× rarer (fewer full ones).
    fence   — a closing fence keeps the lines highlighted while it streamed (no whole-fence pass).
    parser  — rich's Markdown reuses one MarkdownIt parser (building one is 0.5 of its 0.7 ms).
    """
    import gc

    from textual.widget import Widget
    from workbench.ui.widgets.rendered_doc import RenderedDoc
    from workbench.ui.compare.screen import CompareScreen
    from workbench.ui.widgets.answer_pane import AnswerPane
    from workbench.ui.widgets.answer_view import AnswerView

    if "style" in names:
        scroll_view_update = AnswerView.__mro__[1].notify_style_update

        def notify_style_update(self) -> None:
            scroll_view_update(self)
            if self.is_mounted:
                self.call_after_refresh(self._render_all)

        AnswerView.notify_style_update = notify_style_update
    if "grow" in names:
        class VirtualSize:
            def __get__(self, obj, owner=None):
                return Widget.virtual_size.__get__(obj, owner)

            def __set__(self, obj, value) -> None:
                if value != Widget.virtual_size.__get__(obj, type(obj)):
                    obj.set_reactive(Widget.virtual_size, value)
                    obj._scroll_update(value)

        AnswerView.virtual_size = VirtualSize()
    if "meters" in names:
        update_meter = AnswerPane.update_meter

        def throttled(self):
            if self.is_streaming and time.monotonic() - getattr(self, "_meter_at", 0.0) < 0.25:
                return None
            self._meter_at = time.monotonic()
            return update_meter(self)

        AnswerPane.update_meter = throttled
    if "stagger" in names:
        flush_panes = CompareScreen.flush_panes

        def staggered(self) -> None:
            panes, groups = self.grid.panes, max(1, math.ceil(len(self.grid.panes) / 3))
            self._tick = getattr(self, "_tick", -1) + 1
            self.grid.panes = [p for p in panes if (p.index + self._tick) % groups == 0 or not p.is_streaming]
            try:
                flush_panes(self)
            finally:
                self.grid.panes = panes

        CompareScreen.flush_panes = staggered
    if "fence" in names:
        render_block = RenderedDoc._render_block

        def reuse_open_code(self, block, ctx):
            if block is not self._open_block or block.kind != "code":
                return render_block(self, block, ctx)
            rest = block.lines[self._open_code_done:]  # lines that came with the closing fence
            return self._open_code + (ctx.code("\n".join(rest), block.language) if rest else [])

        RenderedDoc._render_block = reuse_open_code
    if "parser" in names:
        import rich.markdown
        from markdown_it import MarkdownIt

        shared = MarkdownIt().enable("strikethrough").enable("table")
        rich.markdown.MarkdownIt = type("SharedParser", (), {"enable": lambda self, rule: shared})
    if "gc" in names:
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
