"""What ``stream_bench.py`` measures inside the app besides wall time and lag: ``--trace``
timings, frames drawn per pane, and another process's CPU (the stream reader's)."""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]



class Tracer:
    """--trace: time the flush, Markdown rendering, Textual's layout and paint, and every GC."""

    def __init__(self) -> None:
        import gc

        from textual.screen import Screen
        from workbench.ui.widgets.rendered_doc import RenderContext, RenderedDoc
        from workbench.ui.compare.screen import CompareScreen
        from workbench.ui.widgets.answer_view import AnswerView

        self.calls: dict[str, list[tuple[float, float]]] = {}  # label → [(start, duration)]
        self.t0 = time.perf_counter()
        for cls, name in ((CompareScreen, "flush_panes"), (AnswerView, "_render_all"), (RenderedDoc, "relayout"),
                          (RenderedDoc, "_render_open"), (RenderContext, "text_block"), (RenderContext, "code"),
                          (Screen, "_refresh_layout"), (Screen, "_compositor_refresh")):
            self.wrap(cls, name)
        gc.callbacks.append(self._gc)
        self._gc_start = 0.0

    def wrap(self, cls, name: str) -> None:
        """Record every call of ``cls.name``."""
        original, calls = getattr(cls, name), self.calls.setdefault(f"{cls.__name__}.{name}", [])

        def timed(*a, **kw):
            start = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                calls.append((start - self.t0, time.perf_counter() - start))

        setattr(cls, name, timed)

    def _gc(self, phase: str, info: dict) -> None:
        # a full collection walks every object the rendered answers hold: time each one
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.calls.setdefault(f"gc.gen{info['generation']}", []).append(
                (self._gc_start - self.t0, time.perf_counter() - self._gc_start))

    def summary(self, ended: float | None) -> dict:
        """Per label: count, total s, p50/p95/max ms, and seconds spent after the streams ended."""
        out = {}
        for label, calls in self.calls.items():
            ms = sorted(d * 1000 for _, d in calls)
            after = sum(d for s, d in calls if ended is not None and s >= ended)
            if ms:
                out[label] = {"n": len(ms), "total_s": round(sum(ms) / 1000, 3),
                              "p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 95), 2),
                              "max_ms": round(ms[-1], 2), "after_end_s": round(after, 3)}
        return out


def count_pane_frames() -> list[int]:
    """Count ``AnswerPane.flush`` calls from now on (one a pane and frame); a one-item list."""
    from workbench.ui.widgets.answer_pane import AnswerPane

    count = [0]
    flush = AnswerPane.flush

    def counted(self, now: float) -> None:
        count[0] += 1
        flush(self, now)

    AnswerPane.flush = counted
    return count


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of another process so far (Linux /proc), 0.0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
