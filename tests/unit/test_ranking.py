"""ranking: the notes' tables reproduced, value and best value, intervals, spend, speed, sorting."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from rank_data import NOTES_OVERALL, answer, catalog, id_of, overall_scores, reference_scores, score

from workbench.domain import ModelInfo, Prices
from workbench.ranking.stats import SORT_KEYS, UNSTABLE_SPREAD, Interval, TaskResult, Totals, build_leaderboard, sort_rows

D = Decimal


def by_name(board):
    return {r.name: r for r in board.rows}


# ---- the notes' overall table ------------------------------------------------------------

NOTES_VALUES = {
    "Qwen3-Coder-30B": "25.1", "DeepSeek V4 Flash": "34.8", "DeepSeek Coder": "34.4", "DeepSeek V4 Pro": "11.7",
    "DeepSeek-R1": "3.8", "Kimi K2.5": "3.0", "Qwen3-32B": "29.6", "GLM-5": "4.2", "Hunyuan-Turbo": "13.2",
    "Ga-Standard": "42.5",
}


def test_the_notes_overall_table_is_reproduced_value_for_value() -> None:
    rows = by_name(build_leaderboard(overall_scores(), [], catalog()))
    assert set(rows) == set(NOTES_VALUES)
    for name, published in NOTES_OVERALL:
        row = rows[name]
        assert row.score_shown == D(str(published))
        assert row.value == D(NOTES_VALUES[name]), name
        assert str(row.value) == NOTES_VALUES[name]  # one decimal, as published
    assert rows["DeepSeek-R1"].price_per_m == D("2.50")


def test_best_value_is_v4_flash_because_ga_standard_is_flagged() -> None:
    board = build_leaderboard(overall_scores(), [], catalog())
    assert [r.name for r in board.rows if r.best_value] == ["DeepSeek V4 Flash"]
    ga = by_name(board)["Ga-Standard"]
    assert ga.value == D("42.5") and ga.value > by_name(board)["DeepSeek V4 Flash"].value
    assert ga.flag == "*" and ga.flag_reasons == ("routing tier",)
    assert [r.name for r in board.rows if r.flag] == ["Ga-Standard"]


def test_no_best_value_when_every_priced_row_is_flagged() -> None:
    models = {"r": ModelInfo("r", "p", "Router", "r", Prices(output_per_m=D("0.2")), routed=True)}
    board = build_leaderboard([score("r", 8.0)], [], models)
    assert board.rows[0].value == D("40.0")
    assert not board.rows[0].best_value


def test_the_frontier_of_the_notes() -> None:
    board = build_leaderboard(overall_scores(), [], catalog())
    frontier = {r.name for r in board.rows if r.frontier}
    # Coder is beaten by V4 Flash at the same price; Kimi by R1 and Pro; the rest by cheaper, better ones.
    assert frontier == {"Ga-Standard", "DeepSeek V4 Flash", "Qwen3-Coder-30B", "DeepSeek V4 Pro", "DeepSeek-R1"}


def test_default_order_is_score_then_value_then_name() -> None:
    board = build_leaderboard(overall_scores(), [], catalog())
    assert [r.name for r in board.rows][:4] == ["DeepSeek-R1", "DeepSeek V4 Pro", "Kimi K2.5", "Qwen3-Coder-30B"]
    models = {m: ModelInfo(m, "p", m.upper(), m, Prices(output_per_m=D(p))) for m, p in
              (("a", "1"), ("b", "0.5"), ("c", "0.5"))}
    tied = build_leaderboard([score("a", 8.0), score("c", 8.0), score("b", 8.0)], [], models)
    assert [r.model_id for r in tied.rows] == ["b", "c", "a"]  # equal scores: higher value, then name


# ---- per-task results --------------------------------------------------------------------

def test_per_task_winners_as_in_the_notes() -> None:
    board = build_leaderboard(reference_scores(), [], catalog())
    tasks = {t.task: t for t in board.tasks}
    assert [t.task for t in board.tasks] == ["flatten", "race-condition", "dijkstra"]
    assert tasks["flatten"].winner_text == "DeepSeek-R1"
    assert tasks["dijkstra"].winner_text == "DeepSeek-R1"
    assert tasks["race-condition"].winners == ("DeepSeek V4 Flash", "Qwen3-Coder-30B")
    assert tasks["race-condition"].winner_text == "Tie — DeepSeek V4 Flash & Qwen3-Coder-30B"
    race = tasks["race-condition"]
    assert [(e.name, str(e.score_shown)) for e in race.entries] == [
        ("DeepSeek V4 Flash", "9.0"), ("Qwen3-Coder-30B", "9.0"), ("DeepSeek Coder", "8.5"), ("Qwen3-32B", "8.5")]
    assert race.entries[0].notes == ("Clear explanation + 3 fix options",)


def test_a_three_way_tie_is_worded_with_commas() -> None:
    assert TaskResult("t", (), ("A", "B", "C")).winner_text == "Tie — A, B & C"


def test_overall_is_the_mean_of_task_means_computed_by_hand() -> None:
    rows = by_name(build_leaderboard(reference_scores(), [], catalog()))
    # V4 Flash: (9.0 + 9.0 + 8.5) / 3 = 8.8333; Kimi: (9.0 + 8.5) / 2 = 8.75, which rounds half up.
    assert rows["DeepSeek V4 Flash"].score == pytest.approx(26.5 / 3)
    assert rows["DeepSeek V4 Flash"].score_shown == D("8.8")
    assert rows["Kimi K2.5"].score_shown == D("8.8")
    assert rows["Qwen3-Coder-30B"].score_shown == D("9.0")
    assert rows["DeepSeek-R1"].score_shown == D("9.5") and rows["DeepSeek-R1"].n == 2
    assert rows["Kimi K2.5"].value == D("2.9")  # 8.8 / 3.00 = 2.933


def test_a_task_scored_often_does_not_outweigh_a_task_scored_once() -> None:
    scores = [score("m", 6.0, "a") for _ in range(4)] + [score("m", 10.0, "b")]
    row = build_leaderboard(scores, [], {}).rows[0]
    assert row.score == 8.0 and row.n == 5  # not (4×6 + 10) / 5 = 6.8


def test_shown_score_rounds_half_up() -> None:
    row = build_leaderboard([score("m", 8.0, "a"), score("m", 8.5, "b")], [], {}).rows[0]
    assert row.score == 8.25 and row.score_shown == D("8.3")  # half-even would say 8.2


def test_free_form_prompts_count_overall_but_get_no_task_table() -> None:
    board = build_leaderboard([score("m", 7.0, None, run_id=1), score("m", 9.0, None, run_id=2)], [], {})
    assert board.tasks == ()
    assert board.rows[0].score == 8.0


def test_task_notes_latest_first_and_blank_notes_left_out() -> None:
    scores = [score("m", 8.0, "t", note="first", scored_at="2026-03-01T10:00:00Z"),
              score("m", 9.0, "t", note="  ", scored_at="2026-03-02T10:00:00Z"),
              score("m", 7.0, "t", note="last", scored_at="2026-03-03T10:00:00Z")]
    entry = build_leaderboard(scores, [], {}).tasks[0].entries[0]
    assert entry.notes == ("last", "first") and entry.n == 3 and entry.score_shown == D("8.0")


# ---- prices and value --------------------------------------------------------------------

def test_free_and_unknown_prices_give_no_value_and_no_crash() -> None:
    models = {"local": ModelInfo("local", "ollama", "Local", "l", Prices(output_per_m=D(0))),
              "mystery": ModelInfo("mystery", "p", "Mystery", "m", Prices()),
              "cheap": ModelInfo("cheap", "p", "Cheap", "c", Prices(output_per_m=D("0.25")))}
    board = build_leaderboard([score("local", 7.0), score("mystery", 9.5), score("cheap", 8.0)], [], models)
    rows = {r.model_id: r for r in board.rows}
    assert rows["local"].price_per_m == 0 and rows["local"].value is None
    assert rows["mystery"].price_per_m is None and rows["mystery"].value is None
    assert not rows["mystery"].frontier  # no price: not a point on the price axis at all
    assert rows["local"].frontier  # free beats everything on price
    assert [r.model_id for r in board.rows if r.best_value] == ["cheap"]


def test_price_of_a_model_gone_from_the_catalog_comes_from_its_latest_answer() -> None:
    answers = [answer("gone", price="1.00", run_at="2026-01-01T00:00:00Z"),
               answer("gone", price="0.50", run_at="2026-02-01T00:00:00Z"),
               answer("gone", price=None, run_at="2026-03-01T00:00:00Z")]
    row = build_leaderboard([score("gone", 8.0, name="Gone Model")], answers, {}).rows[0]
    assert row.price_per_m == D("0.50") and row.value == D("16.0")
    assert row.name == "Gone Model"


def test_the_catalog_price_wins_over_the_price_stored_with_answers() -> None:
    row = by_name(build_leaderboard(overall_scores(), [answer(id_of("GLM-5"), price="9.99")], catalog()))["GLM-5"]
    assert row.price_per_m == D("1.92")


# ---- intervals ---------------------------------------------------------------------------

def test_fewer_than_three_scores_have_no_interval() -> None:
    two = build_leaderboard([score("m", 8.0), score("m", 9.0)], [], {}).rows[0]
    three = build_leaderboard([score("m", 8.0), score("m", 9.0), score("m", 8.5)], [], {}).rows[0]
    assert two.ci is None and two.value_ci is None
    assert three.ci is not None


def test_interval_is_reproducible_whatever_the_input_order() -> None:
    scores = [score("m", v, t) for t in ("a", "b", "c") for v in (6.0, 7.5, 9.0, 8.0)]
    first = build_leaderboard(scores, [], {}).rows[0].ci
    again = build_leaderboard(scores, [], {}).rows[0].ci
    shuffled = scores[:]
    random.Random(7).shuffle(shuffled)
    assert first == again == build_leaderboard(shuffled, [], {}).rows[0].ci
    other_seed = build_leaderboard(scores, [], {}, seed=1).rows[0].ci
    assert other_seed != first  # the seed is really used


def test_interval_contains_the_mean_and_narrows_with_more_agreeing_scores() -> None:
    few = build_leaderboard([score("m", v) for v in (8.0, 9.0) * 2], [], {}).rows[0]
    many = build_leaderboard([score("m", v) for v in (8.0, 9.0) * 20], [], {}).rows[0]
    for row in (few, many):
        assert row.ci.low <= row.score <= row.ci.high
    assert (many.ci.high - many.ci.low) < (few.ci.high - few.ci.low)
    assert 8.0 <= few.ci.low and few.ci.high <= 9.0


def test_interval_resamples_tasks_first() -> None:
    # Two tasks, twenty identical scores each: the doubt is which tasks were chosen, so the
    # interval spans the task means (6 and 10), where a plain bootstrap over the 40 scores
    # would hug 8.
    scores = [score("m", 6.0, "a") for _ in range(20)] + [score("m", 10.0, "b") for _ in range(20)]
    ci = build_leaderboard(scores, [], {}).rows[0].ci
    assert ci == Interval(6.0, 10.0)


def test_value_interval_is_the_score_interval_over_the_price() -> None:
    models = {"m": ModelInfo("m", "p", "M", "m", Prices(output_per_m=D("0.5")))}
    row = build_leaderboard([score("m", v) for v in (7.0, 8.0, 9.0)], [], models).rows[0]
    assert row.value_ci == Interval(pytest.approx(row.ci.low * 2), pytest.approx(row.ci.high * 2))


def test_interval_widens_with_the_spread_of_repeats_within_a_task() -> None:
    # Same task means (8 and 8) for both models: only the scores within a task differ. A
    # bootstrap over task means alone would give both the interval 8.0–8.0.
    steady = [score("s", 8.0, t) for t in ("a", "b") for _ in range(3)]
    shaky = [score("u", v, t) for t in ("a", "b") for v in (6.5, 8.0, 9.5)]
    rows = {r.model_id: r for r in build_leaderboard(steady + shaky, [], {}).rows}
    assert rows["s"].ci == Interval(8.0, 8.0)
    assert rows["u"].score == rows["s"].score == 8.0
    assert 6.5 <= rows["u"].ci.low < 8.0 < rows["u"].ci.high <= 9.5


# ---- repeats: spread, flag, per-task entries ---------------------------------------------

def test_a_model_stable_across_repeats_is_not_flagged() -> None:
    row = build_leaderboard([score("m", v, "flatten") for v in (8.0, 9.0, 8.5)], [], {}).rows[0]
    assert row.flag == "" and row.flag_reasons == ()


def test_a_model_unstable_across_repeats_is_flagged_with_the_task_and_its_range() -> None:
    row = build_leaderboard([score("m", v, "flatten") for v in (7.5, 6.0, 9.0)], [], {}).rows[0]
    assert row.flag == "*"
    assert row.flag_reasons == ("unstable across repeats: task flatten scores 6.0–9.0",)


@pytest.mark.parametrize(("low", "high", "flagged"), [
    (7.0, 9.0, True),   # exactly UNSTABLE_SPREAD: flagged
    (6.7, 8.7, True),   # 2.0 in Decimal; in floats 8.7 - 6.7 = 1.9999999999999991
    (7.5, 9.0, False),  # 1.5
    (7.1, 9.0, False),  # 1.9 (a criteria mean can have more than one decimal)
])
def test_the_spread_threshold_edge(low: float, high: float, flagged: bool) -> None:
    assert UNSTABLE_SPREAD == D("2.0")
    row = build_leaderboard([score("m", low, "t"), score("m", high, "t")], [], {}).rows[0]
    assert (row.flag == "*") is flagged, row.flag_reasons


def test_spread_across_different_tasks_or_free_form_prompts_is_not_instability() -> None:
    across_tasks = [score("m", 6.0, "a"), score("m", 9.0, "b")]
    free_form = [score("f", 6.0, None, run_id=901), score("f", 9.0, None, run_id=901)]
    rows = {r.model_id: r for r in build_leaderboard(across_tasks + free_form, [], {}).rows}
    assert rows["m"].flag == "" and rows["f"].flag == ""


def test_every_unstable_task_is_named_in_task_order() -> None:
    scores = [score("m", v, "zeta", run_at="2026-03-01T09:00:00Z") for v in (5.0, 9.5)]
    scores += [score("m", v, "alpha", run_at="2026-03-02T09:00:00Z") for v in (8.0, 6.0, 8.5)]
    scores += [score("m", v, "steady", run_at="2026-03-03T09:00:00Z") for v in (8.0, 8.5)]
    row = build_leaderboard(scores, [], {}).rows[0]
    assert row.flag_reasons == ("unstable across repeats: task zeta scores 5.0–9.5, task alpha scores 6.0–8.5",)


def test_an_unstable_model_cannot_be_best_value_and_keeps_its_value() -> None:
    models = {m: ModelInfo(m, "p", m.upper(), m, Prices(output_per_m=D(p)))
              for m, p in (("cheap", "0.2"), ("ok", "0.5"))}
    scores = [score("cheap", v, "t") for v in (6.0, 10.0)] + [score("ok", v, "t") for v in (8.0, 8.5)]
    rows = {r.model_id: r for r in build_leaderboard(scores, [], models).rows}
    assert rows["cheap"].value == D("40.0") and rows["cheap"].flag == "*" and not rows["cheap"].best_value
    assert rows["ok"].best_value and rows["ok"].value == D("16.6")  # 8.3 (8.25 half up) / 0.5


def test_the_instability_reason_follows_the_routing_tier_reason() -> None:
    models = {"r": ModelInfo("r", "p", "Router", "r", Prices(output_per_m=D("0.2")), routed=True)}
    row = build_leaderboard([score("r", 6.0, "t"), score("r", 8.5, "t")], [], models).rows[0]
    assert row.flag_reasons == ("routing tier", "unstable across repeats: task t scores 6.0–8.5")


def test_task_entries_carry_the_lowest_and_highest_repeat() -> None:
    scores = [score("m", v, "t") for v in (6.5, 9.0, 8.5)] + [score("one", 7.0, "t")]
    entries = {e.model_id: e for e in build_leaderboard(scores, [], {}).tasks[0].entries}
    m = entries["m"]
    assert (m.n, m.score_shown, m.low, m.high, m.spread_text) == (3, D("8.0"), 6.5, 9.0, "6.5–9.0")
    assert entries["one"].spread_text == ""  # a single score has no spread


# ---- task order --------------------------------------------------------------------------

def test_tasks_follow_a_given_suite_order_then_first_run() -> None:
    scores = [score("m", 8.0, "extra", run_at="2026-03-01T08:00:00Z"),
              score("m", 8.0, "dijkstra", run_at="2026-03-01T09:00:00Z"),
              score("m", 8.0, "flatten", run_at="2026-03-01T10:00:00Z")]
    by_run = build_leaderboard(scores, [], {})
    assert [t.task for t in by_run.tasks] == ["extra", "dijkstra", "flatten"]
    by_suite = build_leaderboard(scores, [], {}, tasks=["flatten", "race-condition", "dijkstra"])
    assert [t.task for t in by_suite.tasks] == ["flatten", "dijkstra", "extra"]


def test_task_order_counts_unscored_answers_of_earlier_repeats() -> None:
    # Repeat 1 ran flatten then dijkstra; only repeat 2 of flatten was scored, after dijkstra.
    scores = [score("m", 8.0, "dijkstra", run_at="2026-03-01T09:05:00Z"),
              score("m", 8.0, "flatten", run_at="2026-03-01T09:10:00Z")]
    answers = [answer("m", task="flatten", run_at="2026-03-01T09:00:00Z"),
               answer("m", task="dijkstra", run_at="2026-03-01T09:05:00Z"),
               answer("m", task="flatten", run_at="2026-03-01T09:10:00Z")]
    assert [t.task for t in build_leaderboard(scores, answers, {}).tasks] == ["flatten", "dijkstra"]


# ---- totals: spend and time --------------------------------------------------------------

def test_totals_sum_answer_time_and_span_the_runs_leaving_out_imports() -> None:
    answers = [answer("a", duration=60_000, run_at="2026-03-01T09:00:00Z"),
               answer("b", duration=61_000, run_at="2026-03-01T09:12:04Z"),
               answer("b", duration=None, run_at="2026-03-01T09:05:00Z"),
               answer("c", status="imported", cost=None, duration=None, run_at="2026-01-01T00:00:00Z")]
    t = build_leaderboard([], answers, {}).totals
    assert (t.answers, t.answer_ms, t.untimed) == (3, 121_000, 1)
    assert (t.first_run_at, t.last_run_at) == ("2026-03-01T09:00:00Z", "2026-03-01T09:12:04Z")
    assert t.span_s == 724.0


def test_no_span_for_one_run_or_an_unreadable_time() -> None:
    assert Totals(D(0), 1, 0, first_run_at="2026-03-01T09:00:00Z", last_run_at="2026-03-01T09:00:00Z").span_s is None
    assert Totals(D(0), 2, 0, first_run_at="2026-03-01", last_run_at="yesterday").span_s is None
    assert Totals(D(0), 0, 0).span_s is None


# ---- spend, speed, flags -----------------------------------------------------------------

def test_spend_counts_known_costs_and_says_how_many_are_unknown() -> None:
    answers = [answer("m", cost="0.0012"), answer("m", cost="0.0003"), answer("m", cost=None),
               answer("m", status="error", cost="0.0001"), answer("n", cost="0.01")]
    board = build_leaderboard([score("m", 8.0)], answers, {})
    row = next(r for r in board.rows if r.model_id == "m")
    assert row.spend_usd == D("0.0016") and row.spend_unknown == 1 and row.answers == 4
    assert board.totals.spend_usd == D("0.0116") and board.totals.answers == 5 and board.totals.spend_unknown == 1
    assert next(r for r in board.rows if r.model_id == "n").score is None  # answered, never scored


def test_imported_answers_count_for_neither_spend_nor_speed() -> None:
    answers = [answer("m", cost="0.002", ttft=400, duration=2400, out=100),
               answer("m", status="imported", cost=None, ttft=None, duration=None, out=None)]
    row = build_leaderboard([score("m", 8.0)], answers, {}).rows[0]
    assert row.answers == 1 and row.spend_unknown == 0 and row.spend_usd == D("0.002")
    assert row.median_ttft_ms == 400 and row.median_tps == 50.0  # 100 tokens in 2.0 s


def test_medians_use_ok_answers_with_time_to_generate() -> None:
    answers = [answer("m", ttft=100, duration=1100, out=100),  # 100 tok/s
               answer("m", ttft=300, duration=2300, out=100),  # 50 tok/s
               answer("m", ttft=200, duration=200, out=50),  # no time after the first token: no rate
               answer("m", status="error", ttft=9000, duration=9500, out=1)]
    row = build_leaderboard([], answers, {}).rows[0]
    assert row.median_ttft_ms == 200 and row.median_tps == 75.0


def test_a_model_whose_served_model_varied_is_flagged() -> None:
    answers = [answer("m", served="qwen-a"), answer("m", served="qwen-b"), answer("m", served="qwen-a"),
               answer("s", served="same"), answer("s", served="same")]
    rows = {r.model_id: r for r in build_leaderboard([score("m", 8.0), score("s", 8.0)], answers, {}).rows}
    assert rows["m"].flag == "*" and rows["m"].flag_reasons == ("served model varied: qwen-a, qwen-b",)
    assert rows["s"].flag == "" and rows["s"].flag_reasons == ()


def test_empty_evidence_gives_an_empty_board() -> None:
    board = build_leaderboard([], [], catalog())
    assert board.rows == () and board.tasks == () and not board.has_scores
    assert board.totals.spend_usd == 0


# ---- sorting -----------------------------------------------------------------------------

def test_every_sort_key_puts_missing_values_last() -> None:
    models = {"a": ModelInfo("a", "p", "Alpha", "a", Prices(output_per_m=D("1"))),
              "b": ModelInfo("b", "p", "Beta", "b", Prices(output_per_m=D("0.5")))}
    answers = [answer("a", ttft=300), answer("b", ttft=100), answer("c", ttft=None, out=None)]
    board = build_leaderboard([score("a", 9.0), score("b", 7.0), score("c", 8.0)], answers, models)
    for key in SORT_KEYS:
        for desc in (None, True, False):
            ordered = sort_rows(board.rows, key, desc)
            values = [SORT_KEYS[key][0](r) for r in ordered]
            known = [v for v in values if v is not None]
            assert values == known + [None] * (len(values) - len(known)), (key, desc)
    assert [r.model_id for r in sort_rows(board.rows, "price")] == ["b", "a", "c"]
    assert [r.model_id for r in sort_rows(board.rows, "price", descending=True)] == ["a", "b", "c"]
    assert [r.model_id for r in sort_rows(board.rows, "score")] == ["a", "c", "b"]
    assert [r.model_id for r in sort_rows(board.rows, "ttft")] == ["b", "a", "c"]
    assert [r.model_id for r in sort_rows(board.rows, "value")] == ["b", "a", "c"]  # 14.0, 9.0, none
    assert [r.name for r in sort_rows(board.rows, "model")] == ["Alpha", "Beta", "c"]


def test_an_unknown_sort_key_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown sort key 'cost'.*model, score, n, price, value"):
        sort_rows([], "cost")
