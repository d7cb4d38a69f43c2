"""frontier_plot: every plotted model in the legend, inside the given width, log axis when wide."""

from __future__ import annotations

import re
from decimal import Decimal

from rank_data import answer, catalog, overall_scores, score

from workbench.domain import ModelInfo, Prices
from workbench.render.frontier_plot import ON_FRONTIER, Y_LABEL_WIDTH, key_for, plot_frontier
from workbench.ranking.stats import build_leaderboard

D = Decimal


def notes_rows():
    return build_leaderboard(overall_scores(), [], catalog()).rows


def priced(*specs: tuple[str, str | None, float | None]):
    """Rows for (id, price, score) triples; a None score means answered but never scored."""
    models = {m: ModelInfo(m, "p", m.title(), m, Prices(output_per_m=D(p) if p is not None else None))
              for m, p, _ in specs}
    scores = [score(m, s) for m, _, s in specs if s is not None]
    answers = [answer(m) for m, _, s in specs if s is None]
    return build_leaderboard(scores, answers, models).rows


def legend_keys(text: str) -> dict[str, str]:
    return dict(re.findall(r"[●○]([1-9a-zA-Z#]) (\S[^●○]*?)(?=\s{2}|$)", text, re.MULTILINE))


def test_the_notes_fit_80_by_12_with_every_model_in_the_legend() -> None:
    rows = notes_rows()
    text = plot_frontier(rows, 80, 12).plain
    lines = text.splitlines()
    assert len(lines) <= 12 and all(len(line) <= 80 for line in lines)
    keys = legend_keys(text)
    assert keys == {key_for(i): r.name for i, r in enumerate(rows)}
    assert "(log)" in text  # 0.20 to 3.00 spans more than 4×
    assert "┤" in text and "└" in text


def test_frontier_points_get_the_frontier_marker() -> None:
    rows = notes_rows()
    text = plot_frontier(rows, 80, 12).plain
    for i, row in enumerate(rows):
        marker = "●" if row.frontier else "○"
        assert f"{marker}{key_for(i)} {row.name}" in text


def test_keys_run_from_digits_to_letters() -> None:
    assert [key_for(i) for i in (0, 8, 9, 34, 35)] == ["1", "9", "a", "z", "A"]


def test_points_in_one_cell_keep_both_keys() -> None:
    rows = priced(("a", "0.25", 8.0), ("b", "0.25", 8.0), ("c", "3", 9.0))
    text = plot_frontier(rows, 60, 14).plain
    grid = text.split("└")[0]
    ka, kb = (key_for(next(i for i, r in enumerate(rows) if r.model_id == m)) for m in ("a", "b"))
    assert f"{ON_FRONTIER}{ka}{kb}" in grid  # one marker, both keys
    assert legend_keys(text).keys() == {"1", "2", "3"}


def test_a_free_model_sits_on_the_left_edge_and_unpriced_ones_are_named() -> None:
    rows = priced(("local", "0", 7.0), ("paid", "1", 9.0), ("mystery", None, 8.5), ("unscored", "1", None))
    text = plot_frontier(rows, 60, 14).plain
    local_key = key_for(next(i for i, r in enumerate(rows) if r.model_id == "local"))
    local_line = next(line for line in text.splitlines() if f"{ON_FRONTIER}{local_key}" in line and "┤" in line)
    assert local_line.index(ON_FRONTIER) == Y_LABEL_WIDTH + 1
    assert "Not plotted (no score or no price): Mystery, Unscored" in text
    assert set(legend_keys(text).values()) == {"Local", "Paid"}


def test_a_narrow_price_range_uses_a_linear_axis() -> None:
    text = plot_frontier(priced(("a", "0.25", 8.0), ("b", "0.35", 8.8), ("c", "0.28", 8.3)), 60, 12).plain
    assert "$/M out" in text and "(log)" not in text


def test_too_small_for_a_plot_gives_just_the_legend() -> None:
    rows = notes_rows()
    text = plot_frontier(rows, 40, 6).plain
    assert "┤" not in text and "└" not in text
    assert len(legend_keys(text)) == 10
    assert all(len(line) <= 40 for line in text.splitlines())


def test_nothing_to_plot_says_so() -> None:
    text = plot_frontier(priced(("mystery", None, 8.0)), 80, 12).plain
    assert "Nothing to plot" in text and "Mystery" in text
