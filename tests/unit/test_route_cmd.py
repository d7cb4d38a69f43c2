"""`workbench route` (C7): a prompt's route, the policy in force, and advice from a real store
under WORKBENCH_HOME (run through the command's own parser, as cli.py will)."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench import paths
from workbench.cli.common import UsageError
from workbench.config import Settings, load_settings
from workbench.domain import AnswerStatus, ChatRequest
from workbench.cli.route import add_parser, run_route
from workbench.runner import new_result
from workbench.cli.common import CommandError
from workbench.domain import RunRecord
from workbench.store.answers import create_run, finish_answer, start_answer
from workbench.store.db import open_store
from workbench.store.imports import import_scores
from workbench.store.scores import add_score
from workbench.tokens import TokenCounter

DIJKSTRA = "Implement Dijkstra's shortest path in TypeScript."
FLATTEN = ("Write a Python function to flatten a nested list recursively. It should handle lists of arbitrary "
           "depth, ignore non-list iterables, and have proper type hints.")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workbench")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub, lambda p: p.add_argument("--config"))
    return parser.parse_args(["route", *argv])


def run(settings: Settings, capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert run_route(settings, parse(*argv)) == 0
    return capsys.readouterr().out


SETTINGS = load_settings(None)


def test_route_a_prompt(capsys: pytest.CaptureFixture) -> None:
    out = run(SETTINGS, capsys, DIJKSTRA)
    assert "kind:       algorithm (matched: dijkstra, shortest path)" in out
    assert "difficulty: hard (complexity 0)" in out
    assert "model:      deepseek-r1 (DeepSeek-R1)" in out
    assert "→ hard → deepseek-r1 (DeepSeek-R1, $2.50/M out)" in out


def test_route_json_and_stdin(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(FLATTEN))
    data = json.loads(run(SETTINGS, capsys, "--json", "-"))
    assert {k: data[k] for k in ("kind", "difficulty", "complexity", "model", "name")} == {
        "kind": "function", "difficulty": "easy", "complexity": 0, "model": "deepseek-v4-flash",
        "name": "DeepSeek V4 Flash"}
    assert data["matched"] == ["function"] and data["output_per_m"] == "0.25"
    assert data["reason"].startswith("function request (matched: function), complexity 0 → easy")
    assert "function starts easy" in data["reasons"]


@pytest.mark.parametrize("argv", [["   "], ["-"], [], [DIJKSTRA, "--advise"], ["--advise", "--explain-policy"],
                                  [DIJKSTRA, "--margin", "0.3"]])
def test_usage_errors(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    with pytest.raises(UsageError) as info:
        run_route(SETTINGS, parse(*argv))
    assert "\n" not in str(info.value)


def test_a_custom_policy_routes_and_explains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[routing]\nhard = "kimi-k2.5"\n', "utf-8")
    settings = load_settings(config)
    assert json.loads(run(settings, capsys, "--json", DIJKSTRA))["model"] == "kimi-k2.5"
    rows = json.loads(run(settings, capsys, "--explain-policy", "--json"))
    assert [(r["difficulty"], r["model"]) for r in rows] == [
        ("easy", "deepseek-v4-flash"), ("medium", "qwen3-coder-30b"), ("hard", "kimi-k2.5")]
    assert rows[0]["source"].startswith("default") and rows[2]["source"] == f"{config} [routing]"
    text = run(settings, capsys, "--explain-policy")
    assert f"hard   → kimi-k2.5 (Kimi K2.5, $3.00/M out)  from {config} [routing]" in text
    assert "easy   → deepseek-v4-flash (DeepSeek V4 Flash, $0.25/M out)  from default" in text


# ---- advice from a real store ----------------------------------------------------------------

@dataclass
class FakeTask:
    id: str
    kind: str


@dataclass
class FakeSuite:
    id: str
    tasks: list[FakeTask]


def suites_module(monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> None:
    """Stand in for workbench.suites (written separately): the study's tasks and their kinds."""
    module = types.ModuleType("workbench.suites")

    def list_suites():
        if fail:
            raise ValueError("suites/bad.toml: tasks[0].kind: is required")
        return [(FakeSuite("coding-2026", [FakeTask("flatten", "structural"), FakeTask("race-condition", "structural"),
                                           FakeTask("dijkstra", "algorithmic")]), "built-in")]

    module.list_suites = list_suites
    monkeypatch.setitem(sys.modules, "workbench.suites", module)


def no_suites_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "workbench.suites", None)  # import raises ImportError


CSV = """model,task,score,note
deepseek-v4-flash,flatten,9,
deepseek-v4-flash,flatten,9,
deepseek-v4-flash,race-condition,9,
deepseek-r1,flatten,9.5,
deepseek-r1,flatten,9.5,
deepseek-r1,race-condition,9,
deepseek-r1,dijkstra,9.5,
deepseek-v4-flash,dijkstra,8.5,
"""


def scored_answer(store, run_id: int, model_id: str, score: float) -> None:
    model = SETTINGS.models[model_id]
    result = new_result(model, SETTINGS.providers[model.provider], ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result.start_record())
    result.meter.start()
    result.text_parts.append("def f(): ...")
    result.status = AnswerStatus.OK
    result.meter.finish("ok")
    finish_answer(store, answer_id, result.final_record())
    add_score(store, answer_id, score)


@pytest.fixture
def study(tmp_path: Path) -> None:
    """Imported scores for the study's tasks, plus free-form runs whose prompts are classified."""
    csv_path = tmp_path / "scores.csv"
    csv_path.write_text(CSV, "utf-8")
    store = open_store(paths.store_file())
    try:
        import_scores(store, csv_path, SETTINGS.models)
        # two free-form algorithm prompts; r1 and flash answer both
        for prompt in ("Implement A* search on a grid in Rust.",
                       "Solve the knapsack problem with dynamic programming."):
            run_id = create_run(store, RunRecord(prompt, source="ask"))
            scored_answer(store, run_id, "deepseek-r1", 9.5)
            scored_answer(store, run_id, "deepseek-v4-flash", 8)
        run_id = create_run(store, RunRecord("Explain what a closure is.", source="ask", suite="other-suite"))
        scored_answer(store, run_id, "qwen3-coder-30b", 9)
    finally:
        store.close()


def test_advice_per_kind_with_suite_kinds(study: None, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    suites_module(monkeypatch)
    data = {a["kind"]: a for a in json.loads(run(SETTINGS, capsys, "--advise", "--json"))}
    assert set(data) == {"structural", "algorithm", "explain"}
    s = data["structural"]
    # flash 9.0 vs r1 (9.5 + 9) / 2 = 9.25: within 0.5, and flash is the cheaper
    assert (s["model"], s["best_model"], s["n"], s["best_n"], s["thin"]) == ("deepseek-v4-flash", "deepseek-r1",
                                                                             3, 3, False)
    assert s["price_per_m"] == "0.25" and s["score"] == 9.0 and s["best_score"] == 9.25
    assert s["ci"] is not None and sorted(s["units"]) == ["flatten", "race-condition"]
    a = data["algorithm"]  # the suite's "algorithmic" task and the two classified prompts together
    assert sorted(a["units"]) == ["dijkstra", "run:4", "run:5"]  # the import made runs 1–3
    assert (a["model"], a["thin"]) == ("deepseek-r1", False) and a["n"] == 3
    assert data["explain"]["thin"] and data["explain"]["advice"].startswith("too thin: Qwen3-Coder-30B has 1")
    text = run(SETTINGS, capsys, "--advise")
    assert "structural  (tasks: flatten, race-condition)" in text
    assert "algorithm  (tasks: dijkstra; 2 free-form prompt(s))" in text
    assert "  ? too thin: Qwen3-Coder-30B has 1 score(s)" in text
    # a wider margin lets the cheap workhorse take algorithms too (8.17 vs 9.5)
    wide = {a["kind"]: a for a in json.loads(run(SETTINGS, capsys, "--advise", "--json", "--margin", "1.5"))}
    assert wide["algorithm"]["model"] == "deepseek-v4-flash"


def test_advice_without_suites_and_with_a_broken_suite(study: None, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    no_suites_module(monkeypatch)
    data = {a["kind"]: a for a in json.loads(run(SETTINGS, capsys, "--advise", "--json"))}
    # imported tasks have no prompt to classify: "other"; the free-form runs still are classified
    assert set(data) == {"other", "algorithm", "explain"}
    assert sorted(data["other"]["units"]) == ["dijkstra", "flatten", "race-condition"]
    suites_module(monkeypatch, fail=True)
    assert run_route(SETTINGS, parse("--advise", "--json")) == 0
    captured = capsys.readouterr()
    assert "suites skipped (suites/bad.toml: tasks[0].kind: is required)" in captured.err
    assert {a["kind"] for a in json.loads(captured.out)} == {"other", "algorithm", "explain"}


def test_advice_for_one_suite_and_an_empty_store(study: None, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    no_suites_module(monkeypatch)
    data = json.loads(run(SETTINGS, capsys, "--advise", "--json", "--suite", "other-suite"))
    assert [(a["kind"], a["model"]) for a in data] == [("explain", "qwen3-coder-30b")]
    assert "No scores yet in suite nope" in run(SETTINGS, capsys, "--advise", "--suite", "nope")
    assert json.loads(run(SETTINGS, capsys, "--advise", "--json", "--suite", "nope")) == []


def test_a_bad_margin_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError, match="--margin: must be a number of points ≥ 0"):
        run_route(SETTINGS, parse("--advise", "--margin", "-1"))
    with pytest.raises(CommandError, match="--min-n"):
        run_route(SETTINGS, parse("--advise", "--min-n", "0"))


def test_routing_does_not_import_textual() -> None:
    code = ("import json, sys, workbench.routing, workbench.cli.route\n"
            "print(json.dumps([m for m in sys.modules if m == 'textual' or m.startswith('textual.')]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_advice_on_the_notes_scores_with_the_builtin_suite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("workbench.suites")
    from rank_data import REFERENCE_CSV

    csv_path = tmp_path / "reference.csv"
    csv_path.write_text(REFERENCE_CSV, "utf-8")
    store = open_store(paths.store_file())
    try:
        import_scores(store, csv_path, SETTINGS.models)
    finally:
        store.close()
    data = {a["kind"]: a for a in json.loads(run(SETTINGS, capsys, "--advise", "--json"))}
    # coding-2026 tags flatten and race-condition structural, dijkstra algorithmic
    assert sorted(data["structural"]["units"]) == ["flatten", "race-condition"]
    assert data["algorithm"]["units"] == ["dijkstra"]
    # the notes scored each model once or twice per kind: too thin to advise, as it should say
    assert data["structural"]["thin"] and data["algorithm"]["thin"]
    # structural: V4 Flash (9.0 at $0.25) is within 0.5 of R1's 9.5 and the cheapest that is
    assert data["structural"]["model"] == "deepseek-v4-flash" and data["structural"]["best_model"] == "deepseek-r1"
    assert data["algorithm"]["model"] == "qwen3-coder-30b"  # 9.0, within 0.5 of R1's 9.5, at $0.35


def test_route_suite_explains_the_choice_for_each_task_of_coding_2026(capsys) -> None:
    from workbench.cli import main

    assert main(["route", "--suite", "coding-2026"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["flatten", "race-condition", "dijkstra", "go-review",
                                                      "express-pagination"]
    assert "→ easy → deepseek-v4-flash" in lines[0] and "→ hard → deepseek-r1" in lines[2]
    assert main(["route", "--suite", "no-such-suite"]) == 2
