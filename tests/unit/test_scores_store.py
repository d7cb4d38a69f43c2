"""Scores, blind rounds, history and CSV import in the store (C3, C4, C5, I5)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from workbench import paths
from workbench.config import load_settings
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.ranking.evidence import IMPORTED, RankFilter
from workbench.providers.events import UsageReport
from workbench.runner import new_result
from workbench.store import Store, open_store
from workbench.domain import RunRecord
from workbench.store.answers import (
    answers_of_run,
    checkpoint_answer,
    create_run,
    finish_answer,
    get_answer,
    get_run,
    start_answer,
)
from workbench.store.history import escape_like, get_run_detail, list_runs
from rank_data import REFERENCE_CSV  # the notes' per-task scores
from workbench.ranking.stats import build_leaderboard
from workbench.store.imports import ScoreImportError, import_scores
from workbench.ranking.scoring import Criteria, ScoreError, default_scorer, parse_score
from workbench.store.scores import (
    add_score,
    answer_stats,
    latest_scores,
    run_revealed,
    score_history,
    score_rows,
    scores_of_run,
)
from workbench.tokens import TokenCounter

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
CHEAP = ModelInfo(id="cheap", provider="gw", name="Cheap One", upstream="up-cheap",
                  prices=Prices(Decimal("0.1"), Decimal("0.25")))
PRICY = ModelInfo(id="pricy", provider="gw", name="Pricy Two", upstream="up-pricy",
                  prices=Prices(Decimal("1"), Decimal("3")))
NOPRICE = ModelInfo(id="noprice", provider="gw", name="No Price", upstream="up-np",
                    prices=Prices(None, Decimal("0.2")))


@pytest.fixture
def store() -> Store:
    opened = open_store(paths.store_file())
    yield opened
    opened.close()


def answer(store: Store, run_id: int, model: ModelInfo = CHEAP, text: str = "def f(): ...", *,
           status: AnswerStatus = AnswerStatus.OK, usage: tuple[int, int] | None = (1000, 2000),
           label: str | None = None) -> int:
    """An answer saved the way a round saves it (start, then finish with the given status)."""
    result = new_result(model, PROVIDER, ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result.start_record(label))
    result.meter.start()
    if text:
        result.text_parts.append(text)
        result.meter.add_text(text)
    if usage:
        result.meter.add_usage(UsageReport(input_tokens=usage[0], output_tokens=usage[1]))
    result.status = status
    result.meter.finish(status.value)
    finish_answer(store, answer_id, result.final_record())
    return answer_id


def streaming_answer(store: Store, run_id: int, model: ModelInfo = CHEAP, text: str = "", label: str | None = None):
    result = new_result(model, PROVIDER, ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result.start_record(label))
    if text:
        checkpoint_answer(store, answer_id, text, "")
    return answer_id, result


def set_run_time(store: Store, run_id: int, iso: str) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET created_at = ? WHERE id = ?", (iso, run_id))


def count(store: Store, table: str) -> int:
    return store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# --- parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    ("8", 8.0), ("8.5", 8.5), (" 8,5 ", 8.5), (8.5, 8.5), (10, 10.0), ("1", 1.0), ("10.0", 10.0),
    (Decimal("7.5"), 7.5),
])
def test_parse_score_accepts_half_points(given, expected) -> None:
    assert parse_score(given) == expected


@pytest.mark.parametrize(("given", "message"), [
    ("8.3", "score must be 1–10 in half points, got 8.3"),
    (8.25, "half points, got 8.25"),
    ("0.5", "got 0.5"),
    ("11", "got 11"),
    (0, "got 0"),
    ("abc", "must be a number"),
    ("", "must be a number"),
    ("-1", "must be a number"),
    ("1e1", "must be a number"),
    ("nan", "must be a number"),
    (float("nan"), "from 1 to 10"),
    (True, "must be a number"),
])
def test_parse_score_refuses_with_a_clear_message(given, message) -> None:
    with pytest.raises(ScoreError, match=message):
        parse_score(given)


def test_criteria_mean_is_exact_and_criteria_are_validated() -> None:
    crit = Criteria(9, "8,5", 8, 9)
    assert crit.code_quality == 8.5
    assert crit.mean == 8.625
    assert Criteria(10, 10, 10, 10).mean == 10
    with pytest.raises(ScoreError, match="edge cases must be 1–10 in half points, got 7.2"):
        Criteria(9, 9, 9, 7.2)


# --- saving scores -------------------------------------------------------------------------

def test_rescoring_keeps_history_and_the_latest_counts(store: Store) -> None:
    run_id = create_run(store, RunRecord("p", task="t1"))
    a1, a2 = answer(store, run_id), answer(store, run_id, PRICY)
    first = add_score(store, a1, 7, note="meh", scorer="ann")
    second = add_score(store, a1, "9", note="better on a second read", scorer="ann")
    add_score(store, a2, 6, scorer="ann")
    assert [s.score for s in score_history(store, a1)] == [7.0, 9.0]
    assert [s.id for s in score_history(store, a1)] == [first.id, second.id]
    assert latest_scores(store, [a1, a2, 999]) == {a1: second, a2: latest_scores(store, [a2])[a2]}
    assert {k: v.score for k, v in scores_of_run(store, run_id).items()} == {a1: 9.0, a2: 6.0}
    rows = score_rows(store, RankFilter())
    assert [(r.answer_id, r.score, r.note) for r in rows] == [(a1, 9.0, "better on a second read"), (a2, 6.0, "")]
    assert rows[0].model_name == "Cheap One" and rows[0].task == "t1" and rows[0].scorer == "ann"


def test_score_with_criteria_stores_them_and_their_mean(store: Store) -> None:
    a1 = answer(store, create_run(store, RunRecord("p")))
    saved = add_score(store, a1, criteria=Criteria(9, 8.5, 8, 9))
    assert saved.score == 8.625
    (back,) = score_history(store, a1)
    assert back == saved
    assert back.criteria == Criteria(9, 8.5, 8, 9)
    assert add_score(store, a1, "8.625", criteria=Criteria(9, 8.5, 8, 9)).score == 8.625  # consistent: fine
    with pytest.raises(ScoreError, match="differs from the mean"):
        add_score(store, a1, 7, criteria=Criteria(9, 8.5, 8, 9))
    with pytest.raises(ScoreError, match="give a score"):
        add_score(store, a1)
    with pytest.raises(ScoreError, match="half points"):
        add_score(store, a1, 8.3)
    assert len(score_history(store, a1)) == 2


def test_answers_without_text_and_unknown_ids_are_refused(store: Store) -> None:
    run_id = create_run(store, RunRecord("p"))
    failed = answer(store, run_id, text="", status=AnswerStatus.ERROR, usage=None)
    blank = answer(store, run_id, text="  \n ", status=AnswerStatus.ERROR, usage=None)
    cut = answer(store, run_id, text="half an ans", status=AnswerStatus.INTERRUPTED)
    with pytest.raises(ScoreError, match=f"answer {failed} has no text to score"):
        add_score(store, failed, 5)
    with pytest.raises(ScoreError, match="no text to score"):
        add_score(store, blank, 5)
    with pytest.raises(ScoreError, match="^no answer with id 42$"):
        add_score(store, 42, 5)
    assert count(store, "scores") == 0
    assert add_score(store, cut, 4).score == 4  # a cut-off answer with text can be judged


def test_note_is_one_clean_line_and_the_scorer_has_a_default(store: Store, monkeypatch) -> None:
    a1 = answer(store, create_run(store, RunRecord("p")))
    monkeypatch.setenv("WORKBENCH_SCORER", "alice")
    saved = add_score(store, a1, 8, note="  good\nbut   slow\t\x1b[2J ")
    assert saved.note == "good but slow [2J"
    assert saved.scorer == "alice"
    assert add_score(store, a1, 8, scorer="bob").scorer == "bob"
    assert len(add_score(store, a1, 8, note="x" * 2000).note) <= 500
    monkeypatch.delenv("WORKBENCH_SCORER")

    def no_login() -> str:
        raise OSError("no login name")

    monkeypatch.setattr("getpass.getuser", no_login)
    assert default_scorer() == "me"


def test_the_schema_refuses_out_of_range_scores(store: Store) -> None:
    a1 = answer(store, create_run(store, RunRecord("p")))
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as conn:
            conn.execute("INSERT INTO scores (answer_id, score, created_at) VALUES (?, 11, 'now')", (a1,))


# --- evidence for the leaderboard ----------------------------------------------------------

def test_score_rows_and_answer_stats_filters(store: Store) -> None:
    jan = create_run(store, RunRecord("p1", task="flatten", suite="coding-2026"))
    feb = create_run(store, RunRecord("p2", task="dijkstra", suite="coding-2026"))
    free = create_run(store, RunRecord("free-form"))
    set_run_time(store, jan, "2026-01-31T23:59:59.000+00:00")
    set_run_time(store, feb, "2026-02-01T00:00:00.000+00:00")
    set_run_time(store, free, "2026-03-10T12:00:00.000+00:00")
    a_jan = answer(store, jan, CHEAP)
    a_jan2 = answer(store, jan, NOPRICE)
    a_feb = answer(store, feb, PRICY)
    a_free = answer(store, free, CHEAP)
    failed = answer(store, free, PRICY, text="", status=AnswerStatus.ERROR, usage=None)
    add_score(store, a_jan, 8, scorer="alice")
    add_score(store, a_jan, 6, scorer="bob")  # bob's later score counts unless filtering by alice
    add_score(store, a_jan2, 7, scorer="alice")
    add_score(store, a_feb, 9.5, scorer="bob")
    add_score(store, a_free, 5, scorer="alice")

    def ids(filt: RankFilter) -> list[tuple[int, float]]:
        return [(r.answer_id, r.score) for r in score_rows(store, filt)]

    assert ids(RankFilter()) == [(a_jan, 6), (a_jan2, 7), (a_feb, 9.5), (a_free, 5)]
    assert ids(RankFilter(task="flatten")) == [(a_jan, 6), (a_jan2, 7)]
    assert ids(RankFilter(suite="coding-2026")) == [(a_jan, 6), (a_jan2, 7), (a_feb, 9.5)]
    assert ids(RankFilter(suite="other")) == []
    assert ids(RankFilter(since="2026-02-01")) == [(a_feb, 9.5), (a_free, 5)]
    assert ids(RankFilter(until="2026-01-31")) == [(a_jan, 6), (a_jan2, 7)]  # the whole last day counts
    assert ids(RankFilter(since="2026-02-01", until="2026-02-01")) == [(a_feb, 9.5)]
    assert ids(RankFilter(scorer="alice")) == [(a_jan, 8), (a_jan2, 7), (a_free, 5)]
    assert ids(RankFilter(scorer="bob", task="flatten")) == [(a_jan, 6)]
    free_row = score_rows(store, RankFilter(since="2026-03-01"))[0]
    assert (free_row.task, free_row.unit, free_row.run_at[:10]) == (None, f"run:{free}", "2026-03-10")

    stats = answer_stats(store, RankFilter(scorer="nobody"))  # the scorer does not filter spend
    assert [s.answer_id for s in stats] == [a_jan, a_jan2, a_feb, a_free, failed]
    by_id = {s.answer_id: s for s in stats}
    assert by_id[a_jan].cost_usd == Decimal("0.0006")  # 1000 × 0.1/M + 2000 × 0.25/M
    assert by_id[a_jan].output_per_m == Decimal("0.25")
    assert by_id[a_jan2].cost_usd is None  # unknown input price: unknown, never zero
    assert by_id[failed].status == "error"
    assert [s.answer_id for s in answer_stats(store, RankFilter(task="dijkstra"))] == [a_feb]
    assert [s.answer_id for s in answer_stats(store, RankFilter(until="2026-01-31"))] == [a_jan, a_jan2]
    assert [s.answer_id for s in answer_stats(store, RankFilter(since="2026-03-10", suite=None))] == [a_free, failed]
    with pytest.raises(ScoreError, match="since must be a day"):
        score_rows(store, RankFilter(since="last week"))


# --- blind rounds --------------------------------------------------------------------------

def test_a_blind_run_is_revealed_when_every_answer_with_text_is_scored(store: Store) -> None:
    normal = create_run(store, RunRecord("p"))
    assert run_revealed(store, normal)  # a normal run always is, even unscored
    answer(store, normal)
    assert run_revealed(store, normal)

    run_id = create_run(store, RunRecord("blind one", blind=True, params={"temperature": 0.2}))
    assert get_run(store, run_id).blind and get_run(store, run_id).params == {"temperature": 0.2}
    a = answer(store, run_id, CHEAP, label="B")
    b = answer(store, run_id, PRICY, label="A")
    answer(store, run_id, NOPRICE, text="", status=AnswerStatus.ERROR, usage=None, label="C")
    slow, slow_result = streaming_answer(store, run_id, CHEAP, label="D")
    assert get_answer(store, a).blind_label == "B"

    first = add_score(store, a, 7)  # the caller did not say blind: the hidden run says it
    assert first.blind and score_history(store, a)[0].blind
    assert not run_revealed(store, run_id)
    add_score(store, b, 8)
    assert not run_revealed(store, run_id)  # D is still streaming
    assert score_rows(store, RankFilter()) == []  # scores of a hidden round stay off the leaderboard
    detail = get_run_detail(store, run_id)
    assert not detail.revealed and [detail.label(x) for x in detail.answers] == ["B", "A", "C", "D"]

    slow_result.status = AnswerStatus.ERROR  # D fails without text: nothing left to judge
    finish_answer(store, slow, slow_result.final_record())
    assert run_revealed(store, run_id)
    detail = get_run_detail(store, run_id)
    assert detail.revealed and detail.label(detail.answers[0]) == "Cheap One"
    assert {r.answer_id: r.blind for r in score_rows(store, RankFilter())} == {a: True, b: True}
    assert not add_score(store, a, 7.5).blind  # after the reveal the names were visible
    with pytest.raises(ScoreError, match="no run with id 999"):
        run_revealed(store, 999)


def test_history_hides_blind_names_until_revealed(store: Store) -> None:
    run_id = create_run(store, RunRecord("compare these", blind=True))
    a = answer(store, run_id, CHEAP, label="B")
    b = answer(store, run_id, PRICY, label="A")
    (summary,) = list_runs(store)
    assert (summary.blind, summary.revealed, summary.models) == (True, False, ("B", "A"))
    assert list_runs(store, model="cheap") == []  # the filter must not tell which pane is which
    assert list_runs(store, model="pricy") == []
    add_score(store, a, 6)
    assert list_runs(store)[0].models == ("B", "A")
    add_score(store, b, 9)
    (summary,) = list_runs(store)
    assert (summary.revealed, summary.models, summary.scored) == (True, ("Cheap One", "Pricy Two"), 2)
    assert [r.id for r in list_runs(store, model="cheap")] == [run_id]
    assert [r.id for r in list_runs(store, model="Pricy Two")] == [run_id]


# --- history -------------------------------------------------------------------------------

def test_list_runs_summaries_order_and_paging(store: Store) -> None:
    old = create_run(store, RunRecord("\n  " + "x" * 100 + "  \nsecond line", task="flatten"))
    new = create_run(store, RunRecord("short prompt"))
    set_run_time(store, old, "2026-01-01T00:00:00.000+00:00")
    set_run_time(store, new, "2026-01-02T00:00:00.000+00:00")
    scored = answer(store, old, CHEAP)
    answer(store, old, NOPRICE)
    answer(store, old, PRICY, usage=(1_000_000, 0))
    add_score(store, scored, 8)
    assert [r.id for r in list_runs(store)] == [new, old]
    assert [r.id for r in list_runs(store, limit=1)] == [new]
    assert [r.id for r in list_runs(store, limit=1, offset=1)] == [old]
    summary = list_runs(store, task="flatten")[0]
    assert summary.prompt == "x" * 79 + "…"
    assert summary.models == ("Cheap One", "No Price", "Pricy Two")
    assert (summary.answers, summary.scored) == (3, 1)
    assert summary.cost_usd == Decimal("1.0006")  # 0.0006 + 1 (the unknown one left out)
    assert summary.cost_unknown
    fresh = list_runs(store, limit=1)[0]
    assert (fresh.answers, fresh.cost_usd, fresh.cost_unknown) == (0, Decimal(0), False)
    assert get_run_detail(store, 12345) is None
    detail = get_run_detail(store, old)
    assert [a.id for a in detail.answers][0] == scored and detail.scores[scored].score == 8


def test_search_matches_prompt_task_and_text_with_wildcards_escaped(store: Store) -> None:
    pct = create_run(store, RunRecord("Are you 100% sure?"))
    hundred = create_run(store, RunRecord("100 percent sure"))
    snake = create_run(store, RunRecord("rename to snake_case"))
    plain = create_run(store, RunRecord("rename to snakeXcase", task="Dijkstra-TS"))
    texty = create_run(store, RunRecord("something"))
    answer(store, texty, text="use a Priority Queue here")
    assert escape_like("a%b_c\\") == "a\\%b\\_c\\\\"

    def found(text: str) -> set[int]:
        return {r.id for r in list_runs(store, text)}

    assert found("%") == {pct}
    assert found("0% s") == {pct}
    assert found("_") == {snake}
    assert found("100") == {pct, hundred}
    assert found("dijkstra") == {plain}  # the task, case-insensitively
    assert found("priority queue") == {texty}  # answer text
    assert found("  ") == {pct, hundred, snake, plain, texty}  # blank: no filter


# --- import --------------------------------------------------------------------------------



@pytest.fixture
def catalog():
    return load_settings(None).models


def write(tmp_path: Path, text: str, name: str = "scores.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_import_the_reference_scores(store: Store, catalog, tmp_path: Path) -> None:
    path = write(tmp_path, REFERENCE_CSV, "reference-scores.csv")
    report = import_scores(store, path, catalog)
    assert report.rows == 13 and len(report.runs) == 3 and report.path == path
    assert report.models == ("deepseek-v4-flash", "qwen3-coder-30b", "deepseek-coder", "kimi-k2.5",
                             "deepseek-r1", "qwen3-32b")
    rows = score_rows(store, RankFilter(task="flatten"))
    assert [(r.model_id, r.score) for r in rows] == [
        ("deepseek-v4-flash", 9.0), ("qwen3-coder-30b", 9.0), ("deepseek-coder", 8.5), ("kimi-k2.5", 9.0),
        ("deepseek-r1", 9.5)]
    assert rows[3].note == "Most readable, added docstring" and rows[3].scorer == "import"
    assert len(score_rows(store, RankFilter(task="dijkstra"))) == 4
    run = get_run(store, report.runs[0])
    assert (run.source, run.task, run.prompt) == ("import", "flatten", "imported from reference-scores.csv")
    assert run.params == {"file": "reference-scores.csv", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    first = answers_of_run(store, run.id)[0]
    assert (first.status, first.text, first.model_name, first.cost_usd) == (IMPORTED, "", "DeepSeek V4 Flash", None)
    stat = answer_stats(store, RankFilter(task="flatten"))[0]
    assert stat.output_per_m == Decimal("0.25")  # the catalog price at import time


def test_importing_the_published_ranking_yields_the_notes_value_column(store: Store, catalog) -> None:
    # Published overall scores are averages (8.7), not half points: the import keeps them.
    repo = Path(__file__).resolve().parents[2]
    import_scores(store, repo / "examples" / "notes-overall.csv", catalog)
    board = build_leaderboard(score_rows(store, RankFilter()), answer_stats(store, RankFilter()), catalog)
    values = {r.name: (str(r.score_shown), str(r.value), r.flag) for r in board.rows}
    assert values == {
        "Qwen3-Coder-30B": ("8.8", "25.1", ""), "DeepSeek V4 Flash": ("8.7", "34.8", ""),
        "DeepSeek Coder": ("8.6", "34.4", ""), "DeepSeek V4 Pro": ("9.1", "11.7", ""),
        "DeepSeek-R1": ("9.4", "3.8", ""), "Kimi K2.5": ("9.0", "3.0", ""), "Qwen3-32B": ("8.3", "29.6", ""),
        "GLM-5": ("8.0", "4.2", ""), "Hunyuan-Turbo": ("7.5", "13.2", ""), "Ga-Standard": ("8.5", "42.5", "*"),
    }
    assert [r.name for r in board.rows if r.best_value] == ["DeepSeek V4 Flash"]


def test_import_accepts_ids_any_case_a_bom_and_no_note_column(store: Store, catalog, tmp_path: Path) -> None:
    text = 'Model,Task,Score\r\ndeepseek-r1,dijkstra,"9,5"\r\nKIMI K2.5,dijkstra,8\r\n'
    path = write(tmp_path, text, encoding="utf-8-sig")
    report = import_scores(store, path, catalog)
    assert report.models == ("deepseek-r1", "kimi-k2.5")
    assert [(r.score, r.note) for r in score_rows(store, RankFilter())] == [(9.5, ""), (8.0, "")]


def test_a_bad_file_lists_its_problems_by_line_and_writes_nothing(store: Store, catalog, tmp_path: Path) -> None:
    path = write(tmp_path, (
        "model,task,score,note\n"
        "DeepSeek-R1,flatten,9.5,fine\n"
        "GPT-9,flatten,9,unknown model\n"
        "DeepSeek-R1,flatten,0.5,below the scale\n"
        "\n"
        "DeepSeek-R1, ,9,empty task\n"
        "DeepSeek-R1,flatten,9,an unquoted, comma\n"
        "DeepSeek-R1,flatten,11\n"
    ))
    with pytest.raises(ScoreImportError) as caught:
        import_scores(store, path, catalog)
    message = str(caught.value)
    assert "nothing imported" in message
    assert f"{path}:3: unknown model 'GPT-9'; `workbench models`" in message
    assert f"{path}:4: score must be from 1 to 10, got 0.5" in message
    assert f"{path}:6: empty task" in message
    assert f"{path}:7: 5 fields but the header has 4" in message
    assert f"{path}:8: score must be from 1 to 10, got 11" in message
    assert len(caught.value.problems) == 5
    assert (count(store, "runs"), count(store, "answers"), count(store, "scores")) == (0, 0, 0)


@pytest.mark.parametrize(("text", "message"), [
    ("model,task,score,note,extra\nDeepSeek-R1,t,9,n,x\n", r":1: unexpected column\(s\) extra"),
    ("model,task,note\nDeepSeek-R1,t,n\n", r":1: missing column\(s\) score"),
    ("", "the file is empty"),
    ("model,task,score,note\n", "no score rows"),
])
def test_a_bad_header_or_empty_file_is_refused(store: Store, catalog, tmp_path: Path, text, message) -> None:
    with pytest.raises(ScoreImportError, match=message):
        import_scores(store, write(tmp_path, text), catalog)
    assert count(store, "runs") == 0


def test_non_utf8_and_missing_files_are_refused(store: Store, catalog, tmp_path: Path) -> None:
    with pytest.raises(ScoreImportError, match="not UTF-8"):
        import_scores(store, write(tmp_path, "model,task,score\nDéjà,t,9\n", encoding="latin-1"), catalog)
    with pytest.raises(ScoreImportError, match="cannot read"):
        import_scores(store, tmp_path / "absent.csv", catalog)


def test_reimporting_the_same_file_is_refused_unless_again(store: Store, catalog, tmp_path: Path) -> None:
    path = write(tmp_path, REFERENCE_CSV)
    import_scores(store, path, catalog)
    with pytest.raises(ScoreImportError, match=r"already imported on \d{4}-\d\d-\d\d \d\d:\d\d UTC.*--again"):
        import_scores(store, path, catalog)
    assert count(store, "scores") == 13
    copy = write(tmp_path, REFERENCE_CSV, "renamed.csv")  # same bytes under another name: same file
    with pytest.raises(ScoreImportError, match="already imported"):
        import_scores(store, copy, catalog)
    report = import_scores(store, path, catalog, again=True)
    assert report.rows == 13 and count(store, "scores") == 26
    (params_json,) = store.conn.execute("SELECT params_json FROM runs WHERE id = ?", (report.runs[0],)).fetchone()
    assert json.loads(params_json)["file"] == "scores.csv"
