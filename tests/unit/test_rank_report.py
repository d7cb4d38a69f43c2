"""rank_report: Markdown like the notes' tables, CSV and JSON that parse back, Rich in 80 columns."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from rank_data import NOTES_OVERALL, TASK_ORDER, answer, catalog, id_of, overall_scores, reference_scores, score
from rich.console import Console

from workbench.render.rank_report import (
    CSV_COLUMNS,
    EMPTY_MESSAGE,
    duration_text,
    task_tables,
    to_csv,
    to_json,
    to_markdown,
    to_rich_table,
)
from workbench.domain import ModelInfo, Prices
from workbench.ranking.stats import build_leaderboard

# FACTS.md, "Published overall ranking", verbatim.
NOTES_TABLE = """\
| Rank | Model | Score | Price | Value |
|---|---|---|---|---|
| 1 | Qwen3-Coder-30B | 8.8 | 0.35 | 25.1 |
| 2 | DeepSeek V4 Flash | 8.7 | 0.25 | 34.8 (best value) |
| 3 | DeepSeek Coder | 8.6 | 0.25 | 34.4 |
| 4 | DeepSeek V4 Pro | 9.1 | 0.78 | 11.7 |
| 5 | DeepSeek-R1 | 9.4 | 2.50 | 3.8 |
| 6 | Kimi K2.5 | 9.0 | 3.00 | 3.0 |
| 7 | Qwen3-32B | 8.3 | 0.28 | 29.6 |
| 8 | GLM-5 | 8.0 | 1.92 | 4.2 |
| 9 | Hunyuan-Turbo | 7.5 | 0.57 | 13.2 |
| 10 | Ga-Standard | 8.5* | 0.20 | 42.5* |"""


def notes_board():
    return build_leaderboard(overall_scores(), [], catalog())


def render(renderable, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


# ---- Markdown ----------------------------------------------------------------------------

def test_markdown_in_the_notes_order_is_the_notes_table_verbatim() -> None:
    board = notes_board()
    by_name = {r.name: r for r in board.rows}
    in_notes_order = [by_name[name] for name, _ in NOTES_OVERALL]
    assert NOTES_TABLE in to_markdown(board, in_notes_order)


def test_markdown_in_the_default_order_ranks_by_score() -> None:
    lines = to_markdown(notes_board()).splitlines()
    assert lines[:3] == ["## Overall", "", "| Rank | Model | Score | Price | Value |"]
    assert "| 1 | DeepSeek-R1 | 9.4 | 2.50 | 3.8 |" in lines
    assert "| 5 | DeepSeek V4 Flash | 8.7 | 0.25 | 34.8 (best value) |" in lines
    assert "| 7 | Ga-Standard | 8.5* | 0.20 | 42.5* |" in lines
    assert "\\* Ga-Standard: routing tier" in lines


def test_markdown_task_sections_with_notes_and_winners() -> None:
    text = to_markdown(build_leaderboard(reference_scores(), [], catalog()))
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("## Task:")] == [
        "## Task: flatten", "## Task: race-condition", "## Task: dijkstra"]
    start = lines.index("## Task: race-condition")
    assert lines[start:start + 10] == [
        "## Task: race-condition", "",
        "| Model | Score | Notes |", "|---|---|---|",
        "| DeepSeek V4 Flash | 9.0 | Clear explanation + 3 fix options |",
        "| Qwen3-Coder-30B | 9.0 | Added error handling |",
        "| DeepSeek Coder | 8.5 | Correct fix, minimal explanation |",
        "| Qwen3-32B | 8.5 | Good fix, slightly verbose |", "",
        "Winner: Tie — DeepSeek V4 Flash & Qwen3-Coder-30B",
    ]
    assert text.count("Winner: DeepSeek-R1") == 2
    assert "| Kimi K2.5 | 9.0 | Most readable, added docstring |" in lines


def test_markdown_evidence_shows_missing_intervals_and_unknown_costs() -> None:
    scores = [score("m", v) for v in (7.0, 8.0, 9.0)] + [score("few", 8.0)]
    answers = [answer("m", cost="0.0012", ttft=800, duration=2800), answer("m", cost=None, ttft=800, duration=2800)]
    lines = to_markdown(build_leaderboard(scores, answers, {})).splitlines()
    assert "| few | 1 | too few scores | too few scores | — | — | — |" in lines
    m_line = next(line for line in lines if line.startswith("| m | 3 |"))
    assert "| $0.0012 + ? (1 unknown) | 0.80s | 100 |" in m_line  # 200 tokens in 2.0 s
    # both answers ran in one run at the same time: answer time, but no span to report
    assert "Total spend: $0.0012 over 2 answers (+ ? for 1 with an unknown cost) · 5.6 s of answer time" in lines


def test_markdown_escapes_pipes_and_newlines_in_user_text() -> None:
    text = to_markdown(build_leaderboard([score("m", 8.0, "t", note="a | b\nc")], [], {}))
    assert "| m | 8.0 | a \\| b c |" in text.splitlines()


def test_markdown_of_an_empty_board_says_what_to_do() -> None:
    text = to_markdown(build_leaderboard([], [], catalog()))
    assert EMPTY_MESSAGE in text and "| Rank |" not in text


def test_markdown_task_rows_show_the_spread_of_repeats() -> None:
    scores = [score("m", v, "t", run_id=i) for i, v in enumerate((6.5, 8.5, 9.0), 500)] + [score("one", 7.0, "t")]
    lines = to_markdown(build_leaderboard(scores, [], {})).splitlines()
    assert "| m | 8.0 (n=3, 6.5–9.0) |  |" in lines  # mean (6.5 + 8.5 + 9.0) / 3 = 8.0
    assert "| one | 7.0 |  |" in lines


def test_markdown_of_an_unstable_model_explains_its_flag_and_withholds_best_value() -> None:
    models = {m: ModelInfo(m, "p", name, m, Prices(output_per_m=Decimal(p)))
              for m, name, p in (("u", "Shaky", "0.2"), ("s", "Steady", "0.5"))}
    scores = [score("u", v, "t") for v in (6.0, 9.0)] + [score("s", v, "t") for v in (8.0, 8.0)]
    lines = to_markdown(build_leaderboard(scores, [], models)).splitlines()
    assert "| 2 | Shaky | 7.5* | 0.20 | 37.5* |" in lines  # higher value, lower score
    assert "| 1 | Steady | 8.0 | 0.50 | 16.0 (best value) |" in lines
    assert "\\* Shaky: unstable across repeats: task t scores 6.0–9.0" in lines
    assert "| Shaky | 7.5 (n=2, 6.0–9.0) |  |" in lines and "| Steady | 8.0 (n=2, 8.0–8.0) |  |" in lines


def test_markdown_totals_give_spend_answer_time_and_span() -> None:
    answers = [answer("a", cost="0.001", duration=60_000, run_at="2026-03-01T09:00:00Z"),
               answer("b", cost="0.0013", duration=61_000, run_at="2026-03-01T09:12:04Z"),
               answer("b", cost="0.001", duration=30_000, run_at="2026-03-01T09:05:00Z")]
    lines = to_markdown(build_leaderboard([score("a", 8.0)], answers, {})).splitlines()
    # 60 + 61 + 30 = 151 s of answer time; 09:00:00 → 09:12:04 is 724 s between run starts
    assert ("Total spend: $0.0033 over 3 answers · 2 min 31 s of answer time "
            "· 12 min 4 s from first to last run start") in lines


def test_totals_say_how_many_answers_have_no_time() -> None:
    answers = [answer("a", duration=4200), answer("a", status="cancelled", duration=None)]
    text = to_markdown(build_leaderboard([score("a", 8.0)], answers, {}))
    assert "over 2 answers · 4.2 s of answer time (+ ? for 1 without a time)\n" in text


@pytest.mark.parametrize(("seconds", "text"), [
    (4.25, "4.2 s"), (42.4, "42 s"), (59.6, "1 min 0 s"), (151, "2 min 31 s"), (3900, "1 h 5 min"),
    (183_600, "2 d 3 h"),
])
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_study_report_in_suite_order_with_repeats() -> None:
    # The notes' per-task scores with each answer scored again in a second repeat a day later:
    # R1's flatten repeat drops to 7.0 (2.5 points: unstable), Kimi's moves by 1.0 (stable).
    rows = reference_scores()
    again = {"DeepSeek-R1": 7.0, "Kimi K2.5": 8.0}
    repeats = [score(r.model_id, again.get(r.model_name, r.score), r.task, name=r.model_name,
                     run_at=r.run_at.replace("T09", "T15")) for r in rows if r.task == "flatten"]
    board = build_leaderboard(rows + repeats, [], catalog(), tasks=list(reversed(TASK_ORDER)))
    text = to_markdown(board)
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("## Task:")] == [
        "## Task: dijkstra", "## Task: race-condition", "## Task: flatten"]
    assert "| DeepSeek-R1 | 8.3 (n=2, 7.0–9.5) | Included complexity analysis |" in lines  # 8.25 half up
    assert "| Kimi K2.5 | 8.5 (n=2, 8.0–9.0) | Most readable, added docstring |" in lines
    assert "\\* DeepSeek-R1: unstable across repeats: task flatten scores 7.0–9.5" in lines
    assert "\\* Kimi K2.5" not in text
    assert "Winner: Tie — DeepSeek V4 Flash & Qwen3-Coder-30B" in text


# ---- CSV and JSON ------------------------------------------------------------------------

def test_csv_parses_back() -> None:
    answers = [answer(id_of("DeepSeek V4 Flash"), cost="0.00000012"), answer(id_of("DeepSeek V4 Flash"), cost=None)]
    records = list(csv.DictReader(io.StringIO(to_csv(build_leaderboard(overall_scores(), answers, catalog())))))
    assert len(records) == 10 and tuple(records[0]) == CSV_COLUMNS
    flash = next(r for r in records if r["name"] == "DeepSeek V4 Flash")
    assert flash == flash | {"rank": "5", "model": "deepseek-v4-flash", "score": "8.7", "n": "1", "ci_low": "",
                             "price_per_m": "0.25", "value": "34.8", "spend_usd": "0.00000012",
                             "spend_unknown": "1", "flag": "", "frontier": "true", "best_value": "true"}
    ga = next(r for r in records if r["name"] == "Ga-Standard")
    assert ga["flag"] == "*" and ga["value"] == "42.5" and ga["best_value"] == "false"


def test_json_has_the_keys_of_the_contract() -> None:
    scores = overall_scores() + [score(id_of("GLM-5"), 7.0, "x"), score(id_of("GLM-5"), 9.0, "y")]
    data = json.loads(to_json(build_leaderboard(scores, [answer(id_of("GLM-5"), cost="0.0105")], catalog())))
    assert isinstance(data, list) and len(data) == 10
    required = {"model", "name", "score", "n", "ci", "price_per_m", "value", "flag", "flag_reasons", "spend_usd",
                "median_ttft_ms", "median_tps", "frontier", "best_value"}
    for row in data:
        assert required <= set(row)
    flash = next(r for r in data if r["model"] == "deepseek-v4-flash")
    assert flash["score"] == 8.7 and flash["value"] == 34.8 and flash["price_per_m"] == 0.25
    assert flash["ci"] is None and flash["best_value"] is True and flash["flag"] == ""
    ga = next(r for r in data if r["model"] == "ga-standard")
    assert ga["flag"] == "*" and ga["flag_reasons"] == ["routing tier"]
    glm = next(r for r in data if r["model"] == "glm-5")
    assert glm["n"] == 3 and glm["spend_usd"] == "0.0105" and Decimal(glm["spend_usd"]) == Decimal("0.0105")
    assert glm["score"] == 8.0 and len(glm["ci"]) == 2 and glm["ci"][0] <= glm["ci"][1]


# ---- Rich --------------------------------------------------------------------------------

def test_rich_table_fits_80_columns_and_marks_frontier_and_best_value() -> None:
    scores = overall_scores() + [score(id_of("GLM-5"), 7.0, "x"), score(id_of("GLM-5"), 9.0, "y")]
    answers = [answer(id_of("GLM-5"), cost="0.0123"), answer(id_of("GLM-5"), cost=None)]
    text = render(to_rich_table(build_leaderboard(scores, answers, catalog())))
    assert all(len(line) <= 80 for line in text.splitlines())
    flash = next(line for line in text.splitlines() if "DeepSeek V4 Flash" in line)
    assert "◆★" in flash and "34.8" in flash
    kimi = next(line for line in text.splitlines() if "Kimi K2.5" in line)
    assert "◆" not in kimi and "too few" in kimi
    assert "tok/s" in text and "* Ga-Standard: routing tier" in text
    glm = next(line for line in text.splitlines() if "GLM-5" in line)
    assert "$0.0123+?" in glm and "7.0–9.0" in glm
    assert "+? spend leaves out 1 answer whose cost is unknown" in text


def test_rich_shows_brackets_in_names_literally() -> None:
    text = render(to_rich_table(build_leaderboard([score("m", 8.0, name="[bold]x[/bold]")], [], {})))
    assert "[bold]x[/bold]" in text


def test_rich_table_of_an_empty_board_is_a_message() -> None:
    text = render(to_rich_table(build_leaderboard([], [], catalog())))
    assert EMPTY_MESSAGE in " ".join(text.split()) and "Score" not in text


def test_task_tables_carry_the_winner() -> None:
    tables = task_tables(build_leaderboard(reference_scores(), [], catalog()))
    texts = [render(t) for t in tables]
    assert len(texts) == 3
    assert "Task: race-condition" in texts[1] and "Winner: Tie — DeepSeek V4 Flash & Qwen3-Coder-30B" in texts[1]
    assert "Winner: DeepSeek-R1" in texts[2] and "Perfect with type safety" in texts[2]


def test_task_table_shows_the_spread_beside_the_score() -> None:
    text = render(task_tables(build_leaderboard([score("m", v, "t") for v in (6.5, 9.0)], [], {}))[0])
    m = next(line for line in text.splitlines() if line.lstrip().startswith("m "))
    assert "7.8 (6.5–9.0)" in m and m.split()[-1] == "2"  # 7.75 half up; n in its own column


def test_a_model_with_answers_but_no_score_is_listed_without_a_rank() -> None:
    models = catalog()
    scored, unscored = id_of("DeepSeek-R1"), id_of("Kimi K2.5")
    board = build_leaderboard([score(scored, 9.0)], [answer(scored), answer(unscored)], models)
    lines = to_markdown(board).splitlines()
    assert "| 1 | DeepSeek-R1 | 9.0 | 2.50 | 3.6 (best value) |" in lines
    assert any(line.startswith("| — | Kimi K2.5 | — |") for line in lines)
    data = json.loads(to_json(board))
    assert [(row["model"], row["rank"]) for row in data] == [(scored, 1), (unscored, None)]
