"""`workbench score`, `import-scores`, `rank` and `history` end to end (I1, I5), in-process
through ``main([...])``: answers come from `workbench ask` against the stub server (the real
path) or, for blind rounds, from the store API the app uses."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from cli_helpers import STUB_MODELS, ask, assert_usage_error, cli, wide_terminal  # noqa: F401 (an autouse fixture)
from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, completion, error_status
from workbench import paths
from workbench.cli import EXIT_OK, EXIT_USAGE
from workbench.config import load_settings
from workbench.domain import AnswerStatus, ChatRequest
from workbench.providers import errors
from workbench.providers.events import UsageReport
from workbench.render.rank_report import EMPTY_MESSAGE
from workbench.runner import new_result
from workbench.store import open_store
from workbench.domain import RunRecord
from workbench.store.answers import create_run, finish_answer, start_answer
from workbench.tokens import TokenCounter

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OVERALL_CSV = EXAMPLES / "notes-overall.csv"
PER_TASK_CSV = EXAMPLES / "notes-per-task.csv"
# The notes' value column, in the order of notes-overall.csv.
NOTES_VALUES = {
    "Qwen3-Coder-30B": 25.1, "DeepSeek V4 Flash": 34.8, "DeepSeek Coder": 34.4, "DeepSeek V4 Pro": 11.7,
    "DeepSeek-R1": 3.8, "Kimi K2.5": 3.0, "Qwen3-32B": 29.6, "GLM-5": 4.2, "Hunyuan-Turbo": 13.2,
    "Ga-Standard": 42.5,
}


# --- helpers -------------------------------------------------------------------------------


def db_rows(sql: str, *params: object) -> list[tuple]:
    store = open_store(paths.store_file())
    try:
        return [tuple(r) for r in store.conn.execute(sql, params).fetchall()]
    finally:
        store.close()


def scores_of(answer_id: int) -> list[tuple]:
    return db_rows("SELECT score, note, correctness, code_quality, documentation, edge_cases, blind "
                   "FROM scores WHERE answer_id = ? ORDER BY id", answer_id)


@pytest.fixture
def asked(openai_stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture) -> dict:
    """One real `ask` round: stub-a answers, stub-b fails with no text. Returns ids."""
    write_stub_config(isolated_home, openai_stub.base_url, STUB_MODELS)
    openai_stub.script = {
        "stub-a": SSE(completion("def flatten(xs):\n    return [y for x in xs for y in x]\n", model="stub-a",
                                 prompt_tokens=20, completion_tokens=30)),
        "stub-b": error_status(500, "upstream exploded"),
    }
    data = ask(capsys, "-m", "stub-a", "-m", "stub-b", "--task", "flatten", "Flatten a list of lists")
    ok, failed = data["results"]
    assert (ok["status"], failed["status"], failed["text"]) == ("ok", "error", "")
    return {"run": data["run_id"], "ok": ok["answer_id"], "error": failed["answer_id"]}


def blind_run(prompt: str = "Which is better?", error: str | None = None) -> dict:
    """A blind round saved the way the app saves one: two answers with text (labels B and A, so
    the label order differs from the model order) and one failed answer without text (C), whose
    error message is ``error`` if given."""
    settings = load_settings(None)
    store = open_store(paths.store_file())
    try:
        run_id = create_run(store, RunRecord(prompt, blind=True, task="blind-task"))
        ids = {}
        for model_id, label, text in (("deepseek-r1", "B", "answer one: use a heap"),
                                      ("qwen3-coder-30b", "A", "answer two: use a sorted list"),
                                      ("glm-5", "C", "")):
            model = settings.models[model_id]
            result = new_result(model, settings.providers[model.provider], ChatRequest(prompt=prompt),
                                TokenCounter())
            answer_id = start_answer(store, run_id, result.start_record(label))
            result.meter.start()
            if text:
                result.text_parts.append(text)
                result.meter.add_text(text)
                result.meter.add_usage(UsageReport(input_tokens=100, output_tokens=200))
                result.status = AnswerStatus.OK
            else:
                result.status = AnswerStatus.ERROR
                if error:
                    result.error = errors.NotFoundError(error, http_status=404)
            result.meter.finish(result.status.value)
            finish_answer(store, answer_id, result.final_record())
            ids[label] = answer_id
    finally:
        store.close()
    return {"run": run_id, **ids}


# --- score ---------------------------------------------------------------------------------


def test_score_prints_answer_model_and_score_and_rescoring_keeps_history(
        asked: dict, capsys: pytest.CaptureFixture) -> None:
    aid, run = asked["ok"], asked["run"]
    code, out, err = cli(capsys, "score", str(aid), "8.5", "--note", "Clean, but no docstring")
    assert code == EXIT_OK, err
    assert out.strip() == f"answer {aid} (Stub Alpha, run {run}): 8.5"
    assert "was" not in out

    code, out, _ = cli(capsys, "score", str(aid), "9")
    assert code == EXIT_OK
    assert out.strip() == f"answer {aid} (Stub Alpha, run {run}): 9 (was 8.5)"
    # A score is never updated: both rows stay, the latest counts.
    assert scores_of(aid) == [(8.5, "Clean, but no docstring", None, None, None, None, 0),
                              (9.0, "", None, None, None, None, 0)]

    code, out, _ = cli(capsys, "history", "--show", str(run), "--json")
    assert code == EXIT_OK
    shown = {a["answer_id"]: a for a in json.loads(out)["answers"]}
    assert shown[aid]["score"] == 9.0 and shown[aid]["model"] == "stub-a"


def test_score_by_criteria_is_their_mean(asked: dict, capsys: pytest.CaptureFixture) -> None:
    aid = asked["ok"]
    code, out, err = cli(capsys, "score", str(aid), "--criteria", "9,8,8.5,9", "--note", "per criterion")
    assert code == EXIT_OK, err
    assert out.strip().endswith(": 8.625")
    assert scores_of(aid) == [(8.625, "per criterion", 9.0, 8.0, 8.5, 9.0, 0)]


@pytest.mark.parametrize(("args", "needle"), [
    (["999999", "8"], "no answer with id 999999"),
    (["{ok}", "8.3"], "half points"),
    (["{ok}", "11"], "from 1 to 10"),
    (["{ok}", "0.5"], "from 1 to 10"),
    (["{ok}", "eight"], "number"),
    (["{ok}", "8", "--criteria", "9,8,8.5,9"], "not both"),
    (["{ok}"], "give a SCORE"),
    (["{ok}", "--criteria", "9,8,8.5"], "four scores"),
    (["{ok}", "--criteria", "9,8,8.3,9"], "half points"),
    (["{error}", "8"], "has no text to score"),
    (["not-a-number", "8"], "invalid int value"),
], ids=["unknown-id", "not-half-point", "over-10", "under-1", "not-a-number", "score-and-criteria",
        "neither", "three-criteria", "criterion-not-half-point", "error-answer", "bad-id"])
def test_bad_score_input_exits_2_with_one_line(asked: dict, capsys: pytest.CaptureFixture,
                                               args: list[str], needle: str) -> None:
    argv = [a.format(**asked) for a in args]
    assert_usage_error(cli(capsys, "score", *argv), needle)
    assert db_rows("SELECT COUNT(*) FROM scores") == [(0,)]  # nothing half-written


def test_an_imported_answer_has_no_text_to_score(capsys: pytest.CaptureFixture) -> None:
    assert cli(capsys, "import-scores", str(PER_TASK_CSV))[0] == EXIT_OK
    ((aid,),) = db_rows("SELECT id FROM answers WHERE status = 'imported' ORDER BY id LIMIT 1")
    before = db_rows("SELECT COUNT(*) FROM scores")
    assert_usage_error(cli(capsys, "score", str(aid), "7"), f"answer {aid} has no text to score", "imported")
    assert db_rows("SELECT COUNT(*) FROM scores") == before


# --- blind rounds --------------------------------------------------------------------------


def test_blind_run_hides_names_until_the_last_scorable_answer_is_scored(capsys: pytest.CaptureFixture) -> None:
    ids = blind_run()
    run = ids["run"]
    names = ("DeepSeek-R1", "Qwen3-Coder-30B", "GLM-5", "deepseek-r1", "qwen3-coder-30b", "glm-5")

    code, out, _ = cli(capsys, "score", str(ids["B"]), "7", "--note", "fine")
    assert code == EXIT_OK
    assert out.strip() == f"answer {ids['B']} (Model B, run {run}): 7"
    assert not any(n in out for n in names)
    assert scores_of(ids["B"])[0][-1] == 1  # saved as a blind score

    # history lists letters, not names, and a model filter does not find the hidden run
    code, out, _ = cli(capsys, "history", "--json")
    (summary,) = json.loads(out)
    assert (summary["blind"], summary["revealed"], summary["models"]) == (True, False, ["B", "A", "C"])
    assert (summary["answers"], summary["scored"]) == (3, 1)
    code, out, _ = cli(capsys, "history")
    assert "blind: B, A, C" in out and not any(n in out for n in names)
    assert json.loads(cli(capsys, "history", "--json", "--model", "deepseek-r1")[1]) == []

    code, out, _ = cli(capsys, "history", "--show", str(run))
    assert code == EXIT_OK
    assert "blind, not yet revealed" in out
    assert "Model A" in out and "Model B" in out and "Model C" in out
    assert not any(n in out for n in names)
    code, out, _ = cli(capsys, "history", "--show", str(run), "--json")
    detail = json.loads(out)
    assert detail["revealed"] is False
    assert [(a["model"], a["label"]) for a in detail["answers"]] == [
        (None, "Model B"), (None, "Model A"), (None, "Model C")]
    assert not any(n in out for n in names)

    # the hidden round stays off the leaderboard, spend included: it would name the models
    code, out, err = cli(capsys, "rank", "--format", "json")
    assert json.loads(out) == []
    assert "1 blind run is not yet revealed and left out" in err

    # the failed answer C has no text: scoring A, the last scorable one, reveals the run
    code, out, _ = cli(capsys, "score", str(ids["A"]), "9")
    assert code == EXIT_OK
    first, second = out.strip().splitlines()
    assert first == f"answer {ids['A']} (Model A, run {run}): 9"
    assert f"run {run} is fully scored: its models are revealed" in second

    code, out, _ = cli(capsys, "history", "--json")
    (summary,) = json.loads(out)
    assert (summary["revealed"], summary["models"]) == (True, ["DeepSeek-R1", "Qwen3-Coder-30B", "GLM-5"])
    assert "blind: " not in cli(capsys, "history")[1]
    code, out, _ = cli(capsys, "history", "--show", str(run))
    assert "blind, revealed" in out and "DeepSeek-R1" in out and "Qwen3-Coder-30B" in out
    assert "Model A" not in out
    detail = json.loads(cli(capsys, "history", "--show", str(run), "--json")[1])
    assert [(a["model"], a["label"], a["score"]) for a in detail["answers"]] == [
        ("deepseek-r1", "DeepSeek-R1", 7.0), ("qwen3-coder-30b", "Qwen3-Coder-30B", 9.0), ("glm-5", "GLM-5", None)]
    board = {r["model"]: r for r in json.loads(cli(capsys, "rank", "--format", "json")[1])}
    assert (board["deepseek-r1"]["n"], board["deepseek-r1"]["score"]) == (1, 7.0)
    assert (board["qwen3-coder-30b"]["n"], board["qwen3-coder-30b"]["score"]) == (1, 9.0)

    # after the reveal, the names show when scoring, and the score is no longer blind
    code, out, _ = cli(capsys, "score", str(ids["B"]), "7.5")
    assert out.strip() == f"answer {ids['B']} (DeepSeek-R1, run {run}): 7.5 (was 7)"
    assert [s[-1] for s in scores_of(ids["B"])] == [1, 0]


def test_history_show_of_a_hidden_blind_run_does_not_leak_names_in_errors(capsys: pytest.CaptureFixture) -> None:
    ids = blind_run(error="The model `glm-5` does not exist or you do not have access to it.")
    code, out, _ = cli(capsys, "history", "--show", str(ids["run"]))
    assert code == EXIT_OK
    assert "blind, not yet revealed" in out and "error:" in out
    assert "glm-5" not in out.lower()


# --- import-scores and rank ----------------------------------------------------------------


def markdown_sections(text: str) -> dict[str, str]:
    """'## Title' → the text up to the next '## '."""
    out = {}
    for part in ("\n" + text).split("\n## ")[1:]:
        title, _, body = part.partition("\n")
        out[title.strip()] = body
    return out


def test_import_per_task_then_rank_markdown_has_the_winners(capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES.parent)
    code, out, err = cli(capsys, "import-scores", "examples/notes-per-task.csv")
    assert code == EXIT_OK, err
    assert "imported 13 score(s) for 6 model(s) in 3 task(s) from notes-per-task.csv" in out
    assert db_rows("SELECT COUNT(*) FROM scores WHERE scorer = 'import'") == [(13,)]

    code, out, _ = cli(capsys, "rank", "--format", "markdown")
    assert code == EXIT_OK
    sections = markdown_sections(out)
    assert {"Overall", "Evidence", "Task: flatten", "Task: race-condition", "Task: dijkstra"} <= set(sections)
    assert "Winner: DeepSeek-R1" in sections["Task: flatten"]
    assert "Winner: DeepSeek-R1" in sections["Task: dijkstra"]
    assert "Winner: Tie — DeepSeek V4 Flash & Qwen3-Coder-30B" in sections["Task: race-condition"]
    assert "| DeepSeek-R1 | 9.5 | Included complexity analysis |" in sections["Task: flatten"]
    assert "| Kimi K2.5 | 9.0 | Most readable, added docstring |" in sections["Task: flatten"]

    # the same file again is refused (nothing written) unless --again
    line = assert_usage_error(cli(capsys, "import-scores", "examples/notes-per-task.csv"),
                              "already imported", "--again")
    assert line.startswith("workbench: ")
    assert db_rows("SELECT COUNT(*) FROM scores") == [(13,)]
    code, out, _ = cli(capsys, "import-scores", "examples/notes-per-task.csv", "--again")
    assert code == EXIT_OK and "imported 13 score(s)" in out
    assert db_rows("SELECT COUNT(*) FROM scores") == [(26,)]


def test_import_of_a_missing_or_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nope.csv"
    assert_usage_error(cli(capsys, "import-scores", str(missing)), str(missing), "no such file")
    bad = tmp_path / "bad.csv"
    bad.write_text("model,task,score\nNo Such Model,flatten,8\n", "utf-8")
    code, out, err = cli(capsys, "import-scores", str(bad))
    assert (code, out) == (EXIT_USAGE, "")
    assert "unknown model 'No Such Model'" in err and "Traceback" not in err
    assert db_rows("SELECT COUNT(*) FROM runs") == [(0,)]


@pytest.fixture
def overall(capsys: pytest.CaptureFixture) -> None:
    code, out, err = cli(capsys, "import-scores", str(OVERALL_CSV))
    assert code == EXIT_OK, err
    assert "imported 10 score(s) for 10 model(s) in 1 task(s)" in out


def rank_json(capsys: pytest.CaptureFixture, *args: str) -> list[dict]:
    code, out, err = cli(capsys, "rank", "--format", "json", *args)
    assert code == EXIT_OK, err
    data = json.loads(out)
    assert isinstance(data, list)
    return data


def test_rank_json_has_the_notes_value_column(overall: None, capsys: pytest.CaptureFixture) -> None:
    rows = rank_json(capsys)
    assert len(rows) == 10
    for row in rows:
        assert {"model", "score", "n", "price_per_m", "value", "flag"} <= set(row)
        assert row["n"] == 1
    assert {r["name"]: r["value"] for r in rows} == NOTES_VALUES
    assert {r["model"]: r["flag"] for r in rows if r["flag"]} == {"ga-standard": "*"}
    assert all(r["flag"] == "" for r in rows if r["model"] != "ga-standard")
    by_id = {r["model"]: r for r in rows}
    assert (by_id["deepseek-v4-flash"]["score"], by_id["deepseek-v4-flash"]["price_per_m"]) == (8.7, 0.25)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)  # default: by score
    assert rows[0]["model"] == "deepseek-r1" and rows[0]["rank"] == 1


def test_rank_csv_parses_with_the_csv_module(overall: None, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "rank", "--format", "csv")
    assert code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 10
    assert {r["name"]: r["value"] for r in rows} == {k: f"{v:.1f}" for k, v in NOTES_VALUES.items()}
    assert {r["model"]: r["flag"] for r in rows}["ga-standard"] == "*"
    assert Decimal({r["model"]: r["price_per_m"] for r in rows}["deepseek-r1"]) == Decimal("2.50")
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, 11)]


def test_rank_sort_and_reverse(overall: None, capsys: pytest.CaptureFixture) -> None:
    prices = [r["price_per_m"] for r in rank_json(capsys, "--sort", "price")]
    assert prices == sorted(prices) and prices[0] == 0.2 and prices[-1] == 3.0
    rows = rank_json(capsys, "--sort", "price", "--reverse")
    assert [r["price_per_m"] for r in rows] == sorted(prices, reverse=True)
    assert rows[0]["model"] == "kimi-k2.5" and rows[-1]["model"] == "ga-standard"
    assert [r["rank"] for r in rows] == list(range(1, 11))
    values = [r["value"] for r in rank_json(capsys, "--sort", "value")]
    assert values == sorted(values, reverse=True) and values[0] == 42.5
    assert_usage_error(cli(capsys, "rank", "--sort", "bogus"), "--sort", "'bogus'", "price")


def test_rank_filters(overall: None, capsys: pytest.CaptureFixture) -> None:
    assert len(rank_json(capsys, "--task", "overall")) == 10
    code, out, _ = cli(capsys, "rank", "--task", "nothing")
    assert code == EXIT_OK
    assert EMPTY_MESSAGE in out
    assert rank_json(capsys, "--task", "nothing") == []

    today = datetime.now(timezone.utc).date()
    assert len(rank_json(capsys, "--since", today.isoformat(), "--until", today.isoformat())) == 10
    assert rank_json(capsys, "--since", (today + timedelta(days=1)).isoformat()) == []
    assert rank_json(capsys, "--until", "2000-01-01") == []
    assert_usage_error(cli(capsys, "rank", "--since", "2026-13-01"), "--since", "2026-13-01")
    assert_usage_error(cli(capsys, "rank", "--until", "yesterday"), "--until")
    assert_usage_error(cli(capsys, "rank", "--format", "xml"), "invalid choice")


def test_rank_output_writes_the_file(overall: None, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "board.json"
    code, out, err = cli(capsys, "rank", "--format", "json", "--output", str(target))
    assert code == EXIT_OK
    assert out == ""
    assert f"wrote {target}" in err
    assert json.loads(target.read_text("utf-8")) == rank_json(capsys)
    md = tmp_path / "board.md"
    assert cli(capsys, "rank", "--format", "markdown", "--output", str(md))[0] == EXIT_OK
    assert md.read_text("utf-8").startswith("## Overall\n")


def test_rank_output_in_table_format_writes_the_file(overall: None, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "board.txt"
    code, out, _ = cli(capsys, "rank", "--output", str(target))
    assert code == EXIT_OK
    assert target.is_file() and "DeepSeek-R1" in target.read_text("utf-8")
    assert "DeepSeek-R1" not in out


def test_rank_output_to_an_unwritable_place_is_one_line_exit_2(overall: None, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "no-such-dir" / "board.json"
    try:
        result = cli(capsys, "rank", "--format", "json", "--output", str(target))
    except OSError as exc:
        pytest.fail(f"uncaught {exc!r}")
    assert_usage_error(result, str(target))


def test_rank_table_prints_the_board_and_the_frontier_legend(overall: None, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "rank")
    assert code == EXIT_OK
    for header in ("Model", "Score", "95% CI", "$/M", "Value"):
        assert header in out
    for name in NOTES_VALUES:
        assert name in out
    assert "42.5*" in out and "Ga-Standard: routing tier" in out
    assert "frontier: no cheaper model scores as high" in out
    # the plot's legend: a marker and key before every plotted model, rank order (1 = DeepSeek-R1)
    assert "1 DeepSeek-R1" in out and ("●1" in out or "○1" in out)
    legend = [ln for ln in out.splitlines() if "DeepSeek-R1" in ln and ("●" in ln or "○" in ln)]
    assert legend, out
    assert "Task: overall" in out

    code, out, _ = cli(capsys, "rank", "--no-plot")
    assert code == EXIT_OK
    assert "●" not in out and "○" not in out


def test_rank_with_no_scores_says_what_to_do(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "rank")
    assert code == EXIT_OK
    assert EMPTY_MESSAGE in out
    assert rank_json(capsys) == []
