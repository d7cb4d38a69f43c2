"""Score against output price as a text scatter plot: the notes' "price and quality are not
linear" at a glance, in any terminal, without a plotting library.

Each point is a marker (● on the Pareto frontier, ○ off it) followed by its key; the legend
under the plot maps keys to model names and always lists every plotted model, so a point
that had to be nudged, or shares a cell, is never lost.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rich.text import Text

from workbench.ranking.stats import LeaderRow
from workbench.safety import sanitize

ON_FRONTIER = "●"
OFF_FRONTIER = "○"
FRONTIER_STYLE = "bold green"
OTHER_STYLE = "cyan"
LOG_RATIO = 4  # a price range this wide or wider is drawn on a log axis
KEYS = string.digits[1:] + string.ascii_lowercase + string.ascii_uppercase
Y_LABEL_WIDTH = 5  # "10.0" and the axis
MIN_PLOT_WIDTH = 12
MIN_PLOT_HEIGHT = 3


@dataclass(frozen=True)
class _Point:
    index: int
    key: str
    name: str
    score: float
    price: Decimal
    frontier: bool


def key_for(index: int) -> str:
    """The label of the row at ``index``: 1–9, then a–z, then A–Z, then '#'."""
    return KEYS[index] if index < len(KEYS) else "#"


def plot_frontier(rows: Sequence[LeaderRow], width: int, height: int) -> Text:
    """A scatter of score (y) against output price (x) in ``width`` × ``height`` cells.

    ``height`` covers the plot, its axes and the legend; when there is too little room for a
    plot only the legend is returned. Keys follow the order of ``rows``, so with the table in
    the same order key 3 is rank 3.
    """
    width = max(width, 1)
    points = [_Point(i, key_for(i), sanitize(r.name), r.score, r.price_per_m, r.frontier)
              for i, r in enumerate(rows) if r.score is not None and r.price_per_m is not None]
    left_out = [sanitize(r.name) for r in rows if r.score is None or r.price_per_m is None]

    footer = _legend(points, width)
    if left_out:
        footer.append(Text(_fit(f"Not plotted (no score or no price): {', '.join(left_out)}", width), style="dim"))
    if not points:
        return Text("\n").join([Text("Nothing to plot: no model has both a score and a price."), *footer])

    grid_h = height - len(footer) - 2  # two lines for the x axis and its labels
    plot_w = width - Y_LABEL_WIDTH - 1
    if grid_h < MIN_PLOT_HEIGHT or plot_w < MIN_PLOT_WIDTH:
        return Text("\n").join(footer)
    return Text("\n").join([*_draw(points, plot_w, grid_h), *footer])


def _legend(points: list[_Point], width: int) -> list[Text]:
    lines: list[Text] = []
    line = Text()
    for p in points:
        marker, style = (ON_FRONTIER, FRONTIER_STYLE) if p.frontier else (OFF_FRONTIER, OTHER_STYLE)
        entry = Text.assemble((f"{marker}{p.key}", style), f" {p.name}")
        entry.truncate(width, overflow="ellipsis")
        if line.cell_len and line.cell_len + 2 + entry.cell_len > width:
            lines.append(line)
            line = Text()
        if line.cell_len:
            line.append("  ")
        line.append_text(entry)
    if line.cell_len:
        lines.append(line)
    return lines


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class _Scale:
    """Maps prices to columns: log when they span a wide range, price 0 at the left edge."""

    def __init__(self, prices: list[Decimal], columns: int) -> None:
        positive = [float(p) for p in prices if p > 0]
        self.has_zero = any(p == 0 for p in prices)
        self.lo = min(positive, default=1.0)
        self.hi = max(positive, default=1.0)
        self.log = bool(positive) and self.hi / self.lo >= LOG_RATIO
        # A zero price cannot sit on a log axis: it gets the first column to itself.
        self.first = 2 if self.has_zero else 0
        self.last = columns - 1

    def _t(self, price: float) -> float:
        if self.hi == self.lo:
            return 0.5
        if self.log:
            return (math.log(price) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (price - self.lo) / (self.hi - self.lo)

    def column(self, price: float) -> int:
        if price <= 0:
            return 0
        return self.first + round(self._t(price) * (self.last - self.first))

    def ticks(self) -> list[float]:
        ticks = [0.0] if self.has_zero else []
        if self.log:
            decade = 10 ** math.floor(math.log10(self.lo))
            while decade <= self.hi * 10:
                ticks += [m * decade for m in (1, 2, 5) if self.lo * 0.999 <= m * decade <= self.hi * 1.001]
                decade *= 10
        elif self.hi > self.lo:
            ticks += [self.lo + (self.hi - self.lo) * i / 3 for i in range(4)]
        else:
            ticks.append(self.lo)
        # The ends of the data are the ticks a reader wants most on a log axis.
        for end in (self.lo, self.hi):
            if not any(math.isclose(end, t, rel_tol=0.02) for t in ticks):
                ticks.append(end)
        return sorted(set(ticks))


def _draw(points: list[_Point], plot_w: int, grid_h: int) -> list[Text]:
    # The last two columns are kept for the key after the rightmost marker.
    scale = _Scale([p.price for p in points], plot_w - 2)
    s_lo = min(p.score for p in points)
    s_hi = max(p.score for p in points)
    if s_hi - s_lo < 0.5:  # one score, or nearly: give the points some air
        mid = (s_hi + s_lo) / 2
        s_lo, s_hi = mid - 0.5, mid + 0.5

    def row_of(score: float) -> int:
        return round((s_hi - score) / (s_hi - s_lo) * (grid_h - 1))

    # Points in the same cell are drawn as one marker followed by all their keys.
    cells: dict[tuple[int, int], list[_Point]] = {}
    for p in points:
        cells.setdefault((row_of(p.score), scale.column(float(p.price))), []).append(p)

    canvas: list[list[tuple[str, str]]] = [[(" ", "")] * plot_w for _ in range(grid_h)]
    for (row, col), group in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        frontier = any(p.frontier for p in group)
        style = FRONTIER_STYLE if frontier else OTHER_STYLE
        label = (ON_FRONTIER if frontier else OFF_FRONTIER) + "".join(p.key for p in group)
        start = _free_spot(canvas[row], col, len(label))
        if start is None:  # a crowded line: the legend still lists these keys
            start = min(col, plot_w - 1)
            label = "+"
        for i, ch in enumerate(label):
            canvas[row][start + i] = (ch, style)

    tick_rows = {0: s_hi, grid_h - 1: s_lo}
    if grid_h >= 5:
        tick_rows[(grid_h - 1) // 2] = s_hi - (s_hi - s_lo) * ((grid_h - 1) // 2) / (grid_h - 1)
    lines = []
    for r in range(grid_h):
        line = Text()
        if r in tick_rows:
            line.append(f"{tick_rows[r]:>4.1f}┤", style="dim")
        else:
            line.append("    │", style="dim")
        line.append(" ")
        for ch, style in canvas[r]:
            line.append(ch, style=style or None)
        lines.append(line)
    title = " $/M out (log) " if scale.log else " $/M out "
    rule = "─" * (plot_w + 1)
    if len(title) + 4 <= len(rule):
        rule = rule[: len(rule) - len(title) - 1] + title + "─"
    lines.append(Text("    └" + rule, style="dim"))
    lines.append(Text(_tick_labels(scale, plot_w), style="dim"))
    return lines


def _free_spot(row: list[tuple[str, str]], col: int, length: int) -> int | None:
    """The start nearest ``col`` where ``length`` cells (plus a gap) are free."""
    width = len(row)
    for shift in range(width):
        for start in (col + shift, col - shift):
            if 0 <= start and start + length <= width:
                lo, hi = max(0, start - 1), min(width, start + length + 1)
                if all(ch == " " for ch, _ in row[lo:hi]):
                    return start
    return None


def _tick_labels(scale: _Scale, plot_w: int) -> str:
    offset = Y_LABEL_WIDTH + 1
    line = [" "] * (offset + plot_w)
    taken_until = -1
    shown = set()
    for price in scale.ticks():
        label = _price_label(price)
        if label in shown:  # a narrow range: two ticks that print alike say nothing
            continue
        shown.add(label)
        start = offset + scale.column(price)
        start = min(start, len(line) - len(label))
        if start <= taken_until:
            continue
        line[start:start + len(label)] = label
        taken_until = start + len(label)
    return "".join(line).rstrip()


def _price_label(price: float) -> str:
    if price == 0:
        return "0"
    if price >= 10:
        return f"{price:.0f}"
    return f"{price:.2g}"  # two significant digits: 0.25, 2.5, 0.005
