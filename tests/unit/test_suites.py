"""Task suites (C6): parsing and its errors, the built-in coding-2026, where suites are found,
suite sessions in the store (progress, next steps, resume rules) and the estimate of the rest."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from workbench import paths
from workbench.config import load_settings
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.meter import estimate_prompt_tokens
from workbench.providers import errors
from workbench.providers.events import UsageReport
from workbench.runner import new_result
from workbench.score_cmds import CommandError
from workbench.store import Store, open_store
from workbench.store.answers import create_run, finish_answer, get_run, recover_orphans, start_answer
from workbench.store.suite_sessions import (
    Step,
    finish_session,
    get_session,
    latest_unfinished,
    list_sessions,
    next_steps,
    session_progress,
    start_session,
    typical_output_tokens,
)
from workbench.suites import (
    DEFAULT_OUTPUT_TOKENS,
    SuiteError,
    builtin_suites,
    estimate_remaining_cost,
    find_suite,
    list_suites,
    load_suite_file,
    parse_suite,
    scan_suites,
)
from workbench.tokens import TokenCounter

GOOD = '''
[suite]
id = "mini"
title = "Mini suite"
system = "Be brief."
temperature = 0.3
criteria = ["correctness"]

[[tasks]]
id = "one"
title = "First"
kind = "structural"
prompt = "Write a function."

[[tasks]]
id = "two"
title = "Second"
kind = "algorithmic"
language = "go"
prompt = "Review this."
code = """
package main
"""

[[tasks]]
id = "dijkstra"
title = "Third"
kind = "algorithmic"
prompt = "Implement Dijkstra."
'''

# The notes' five prompts, word for word (shared/seed/tasks.toml, FACTS.md).
NOTES_PROMPTS = {
    "flatten": "Write a Python function to flatten a nested list recursively. It should handle lists of arbitrary "
               "depth, ignore non-list iterables, and have proper type hints.",
    "race-condition": "Fix the race condition in this async/await code.",
    "dijkstra": "Implement Dijkstra's shortest path in TypeScript.",
    "go-review": "Review this Go code for security issues and performance.",
    "express-pagination": "Build a REST API endpoint with Express.js that paginates and filters users.",
}
NOTES_RACE_CODE = ("let data = null;\nfetch('/api/data').then(r => r.json()).then(d => data = d);\n"
                   "console.log(data); // Always logs null — race condition!")
NOTES_SYSTEM = ("You are a senior backend engineer. Write production-quality code with type hints, error handling, "
                "and brief inline comments.")

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
PRICED = ModelInfo(id="priced", provider="gw", name="Priced", upstream="up-p", prices=Prices(Decimal("1"), Decimal("2")))
NO_INPUT = ModelInfo(id="no-input", provider="gw", name="No Input", upstream="up-n",
                     prices=Prices(None, Decimal("3")))


# --- parsing -------------------------------------------------------------------------------


def test_a_good_suite_parses_and_messages_carry_the_code_in_a_fence() -> None:
    suite = parse_suite(GOOD, "mini.toml")
    assert (suite.id, suite.title, suite.system, suite.temperature) == ("mini", "Mini suite", "Be brief.", 0.3)
    assert suite.criteria == ("correctness",)
    assert [t.id for t in suite.tasks] == ["one", "two", "dijkstra"]
    assert suite.task("one").message == "Write a function."
    assert suite.task("two").message == "Review this.\n\n```go\npackage main\n```"
    assert suite.task("two").kind == "algorithmic"
    assert len(suite.sha256) == 64 and suite.sha256 != parse_suite(GOOD + "\n", "mini.toml").sha256


def _replace_task(n: int, old: str, new: str) -> str:
    """GOOD with ``old`` replaced by ``new`` inside the n-th (1-based) [[tasks]] block only."""
    head, *blocks = GOOD.split("[[tasks]]")
    assert old in blocks[n - 1]
    blocks[n - 1] = blocks[n - 1].replace(old, new)
    return "[[tasks]]".join([head, *blocks])


BAD_FILES = [
    (_replace_task(3, 'prompt = "Implement Dijkstra."', ""), "mini.toml: tasks[3] (dijkstra): prompt: missing"),
    (_replace_task(3, 'prompt = "Implement Dijkstra."', "prompt = 3"),
     "mini.toml: tasks[3] (dijkstra): prompt: must be a string, not an integer"),
    (_replace_task(3, 'prompt = "Implement Dijkstra."', 'prompt = "  "'),
     "mini.toml: tasks[3] (dijkstra): prompt: is empty"),
    (_replace_task(2, 'id = "two"', 'id = "one"'), "mini.toml: tasks[2] (one): id: duplicate of tasks[1]"),
    (_replace_task(1, 'kind = "structural"', 'kind = "Structural work"'), "mini.toml: tasks[1] (one): kind:"),
    (_replace_task(1, 'kind = "structural"', ""), "mini.toml: tasks[1] (one): kind: missing"),
    (_replace_task(1, 'title = "First"', 'title = "First"\npriority = 1'),
     "mini.toml: tasks[1] (one): priority: unknown key"),
    (_replace_task(2, 'language = "go"', "language = true"),
     "mini.toml: tasks[2] (two): language: must be a string, not a boolean"),
    (_replace_task(1, 'id = "one"', ""), "mini.toml: tasks[1]: id: missing"),
    (_replace_task(1, 'title = "First"', 'title = "First"\nreference = "nope.md"'),
     "mini.toml: tasks[1] (one): reference: no such file"),
    (GOOD.replace('id = "mini"', ""), "mini.toml: suite: id: missing"),
    (GOOD.replace('id = "mini"', 'id = "Mini Suite"'), "mini.toml: suite: id:"),
    (GOOD.replace("temperature = 0.3", "temperature = true"),
     "mini.toml: suite: temperature: must be a number, not a boolean"),
    (GOOD.replace("temperature = 0.3", "temperature = 5"), "mini.toml: suite: temperature: must be between 0 and 2"),
    (GOOD.replace('criteria = ["correctness"]', 'criteria = "correctness"'),
     "mini.toml: suite: criteria: must be a list, not a string"),
    (GOOD.replace('system = "Be brief."', 'system = "Be brief."\nauthor = "me"'), "mini.toml: suite: author: unknown key"),
    (GOOD.replace("[suite]", "[meta]"), "mini.toml: meta: unknown key"),
    (GOOD.split("[[tasks]]")[0], "mini.toml: tasks: missing"),
    ('tasks = "none"\n' + GOOD.split("[[tasks]]")[0], "mini.toml: tasks: must be an array"),
    ("[[tasks]]\nid = 'x'\n", "mini.toml: suite: missing [suite] table"),
    (GOOD.replace('title = "Mini suite"', 'title = "Mini suite'), "mini.toml: not valid TOML:"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES, ids=[m.removeprefix("mini.toml: ") for _, m in BAD_FILES])
def test_a_bad_suite_file_names_file_task_and_key(text: str, message: str) -> None:
    with pytest.raises(SuiteError) as info:
        parse_suite(text, "mini.toml")
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_a_toml_syntax_error_gives_its_line() -> None:
    text = GOOD.replace('title = "Second"', 'title = "Second')
    line = text.splitlines().index('title = "Second') + 1
    with pytest.raises(SuiteError, match=rf"not valid TOML: .*line {line}\b"):
        parse_suite(text, "mini.toml")


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"gone\.toml: no such file"):
        load_suite_file(tmp_path / "gone.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(GOOD.replace("Be brief.", "Sé breve").encode("latin-1"))
    with pytest.raises(SuiteError, match=r"latin\.toml: cannot read the file"):
        load_suite_file(latin)


def test_a_reference_resolves_beside_the_suite_file(tmp_path: Path) -> None:
    (tmp_path / "flaws.md").write_text("line 3: SQL injection", "utf-8")
    path = tmp_path / "mini.toml"
    path.write_text(_replace_task(2, 'title = "Second"', 'title = "Second"\nreference = "flaws.md"'), "utf-8")
    task = load_suite_file(path).task("two")
    assert task.reference == str(tmp_path / "flaws.md")
    assert task.reference_text() == "line 3: SQL injection"


# --- the built-in suite --------------------------------------------------------------------


def coding_2026():
    return next(s for s in builtin_suites() if s.id == "coding-2026")


def test_coding_2026_has_the_notes_tasks_word_for_word() -> None:
    suite = coding_2026()
    assert {t.id: t.prompt for t in suite.tasks} == NOTES_PROMPTS
    assert [t.id for t in suite.tasks] == list(NOTES_PROMPTS)  # the notes' order
    assert suite.system == NOTES_SYSTEM and suite.temperature == 0.2
    assert suite.criteria == ("correctness", "code quality", "documentation", "edge cases")
    race = suite.task("race-condition")
    assert race.code.strip("\n") == NOTES_RACE_CODE
    assert race.message == f"{NOTES_PROMPTS['race-condition']}\n\n```javascript\n{NOTES_RACE_CODE}\n```"
    assert [t.kind for t in suite.tasks] == ["structural", "structural", "algorithmic", "review", "feature"]
    assert suite.task("flatten").message == NOTES_PROMPTS["flatten"]


def _flaw_rows(text: str) -> list[tuple[str, int, str]]:
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[PX]\d+", cells[0]):
            rows.append((cells[0], int(cells[1]), cells[2].strip("`")))
    return rows


def test_the_go_snippet_holds_the_flaws_its_list_names() -> None:
    review = coding_2026().task("go-review")
    assert review.language == "go" and review.message.startswith(NOTES_PROMPTS["go-review"] + "\n\n```go\npackage main")
    code = review.code.strip("\n").splitlines()
    assert 40 <= len(code) <= 90
    rows = _flaw_rows(review.reference_text() or "")
    assert [r[0] for r in rows if r[0].startswith("P")] == [f"P{i}" for i in range(1, 9)]
    for flaw_id, line, fragment in rows:  # each listed line really holds the flawed code
        assert fragment in code[line - 1], (flaw_id, line, fragment, code[line - 1])
    text = "\n".join(code)
    # The planted flaws are still there (nobody "fixed" the snippet):
    assert "LIKE '%\" + name + \"%'" in text and "db.Query(query)" in text  # SQL by concatenation
    assert "go recordSearch(name)" in text  # a goroutine per request
    assert re.search(r"^\s*rows\.Scan\(", text, re.M)  # its error ignored
    assert "searchCounts[name]++" in text and '"sync"' not in text and "Mutex" not in text  # maps without a lock
    assert "rows.Close" not in text  # rows never closed
    assert "io.ReadAll(r.Body)" in text and "MaxBytesReader" not in text  # unbounded body
    assert re.search(r'"postgres://\w+:\w+@', text)  # a hard-coded credential
    # Go-shaped: balanced brackets, tabs for indentation as gofmt writes it.
    for open_, close in ("{}", "()", "[]"):
        assert text.count(open_) == text.count(close)
    assert not any(line.startswith(" ") for line in code)


# --- where suites are found ----------------------------------------------------------------


def write_user_suite(name: str, text: str) -> Path:
    folder = paths.data_dir() / "suites"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, "utf-8")
    return folder / name


def test_user_suites_are_listed_and_one_with_a_builtin_id_replaces_it() -> None:
    write_user_suite("mine.toml", GOOD)
    write_user_suite("override.toml", GOOD.replace('id = "mini"', 'id = "coding-2026"').replace("Mini suite", "Mine"))
    entries = {e.suite.id: e for e in list_suites()}
    assert entries["mini"].source == "user" and not entries["mini"].shadows_builtin
    assert entries["coding-2026"].source == "user" and entries["coding-2026"].shadows_builtin
    assert [e.suite.id for e in list_suites()].count("coding-2026") == 1
    assert find_suite("coding-2026").title == "Mine"


def test_a_broken_user_file_is_reported_without_hiding_the_others() -> None:
    write_user_suite("bad.toml", "[suite\n")
    write_user_suite("a.toml", GOOD)
    write_user_suite("b.toml", GOOD)
    entries, problems = scan_suites()
    assert {e.suite.id for e in entries} == {"coding-2026", "mini"}
    assert any("bad.toml: not valid TOML" in p for p in problems)
    assert any("b.toml: suite id 'mini' is also defined by" in p for p in problems)
    with pytest.raises(SuiteError, match=r"no suite 'nope' \(known: coding-2026, mini;.*note: .*bad\.toml"):
        find_suite("nope")


def test_a_suite_given_by_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my.toml").write_text(GOOD, "utf-8")
    monkeypatch.chdir(tmp_path)
    assert find_suite("./my.toml").id == "mini"
    assert find_suite(str(tmp_path / "my.toml")).path == str(tmp_path / "my.toml")
    with pytest.raises(SuiteError, match="other.toml: no such file"):
        find_suite("other.toml")


# --- the list and show commands ------------------------------------------------------------


def suite_args(*argv: str) -> argparse.Namespace:
    from workbench.suite_cmd import add_parser

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_parser(sub, lambda p: p.add_argument("--config"))
    return parser.parse_args(["suite", *argv])


def run_cmd(*argv: str) -> int:
    from workbench.suite_cmd import run_suite_command

    return run_suite_command(load_settings(None), suite_args(*argv))


def test_suite_list_and_show(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    write_user_suite("mine.toml", GOOD.replace('id = "mini"', 'id = "coding-2026"'))
    assert run_cmd("list") == 0
    out = capsys.readouterr().out
    assert "coding-2026" in out and "user (replaces the built-in)" in out
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "empty")  # back to the built-in only
    assert run_cmd("show", "coding-2026") == 0
    out = capsys.readouterr().out
    assert "go-review" in out and "review" in out and "coding-2026-review-flaws.md" in out
    assert run_cmd("show", "coding-2026", "--task", "go-review") == 0
    out = capsys.readouterr().out
    assert out.startswith(NOTES_PROMPTS["go-review"]) and "| P1 | 40 |" in out
    with pytest.raises(CommandError, match="has no task 'nope'"):
        run_cmd("show", "coding-2026", "--task", "nope")
    with pytest.raises(CommandError, match="no suite 'nope'"):
        run_cmd("show", "nope")


# --- sessions in the store -----------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    opened = open_store(paths.store_file())
    yield opened
    opened.close()


def add_answer(store: Store, run_id: int, model: ModelInfo, status: AnswerStatus, *,
               output_tokens: int = 100, usage: bool = True) -> int:
    result = new_result(model, PROVIDER, ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result)
    result.meter.start()
    if status == AnswerStatus.ERROR:
        result.error = errors.ProviderError("boom")
    else:
        result.text_parts.append("answer text")
    if usage:
        result.meter.add_usage(UsageReport(input_tokens=10, output_tokens=output_tokens))
    result.status = status
    result.meter.finish(status.value)
    finish_answer(store, answer_id, result)
    return answer_id


def step_run(store: Store, session, task: str, repeat: int = 0) -> int:
    return create_run(store, "p", task=task, suite=session.suite_id, source="suite", kind="structural",
                      session_id=session.id, repeat=repeat)


def test_runs_carry_session_repeat_and_kind(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"], repeats=2, blind=True)
    assert get_session(store, session.id) == session
    assert (session.models, session.repeats, session.blind, session.finished) == (("priced", "no-input"), 2, True, False)
    run = get_run(store, step_run(store, session, "one", 1))
    assert (run.session_id, run.repeat, run.kind, run.source) == (session.id, 1, "structural", "suite")
    plain = get_run(store, create_run(store, "free form"))
    assert (plain.session_id, plain.repeat, plain.kind) == (None, 0, None)
    with pytest.raises(ValueError):
        start_session(store, suite, [], repeats=1)


def test_latest_unfinished_matches_suite_models_version_and_repeats(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    old = start_session(store, suite, ["a", "b"])
    new = start_session(store, suite, ["b", "a"])
    start_session(store, suite, ["a"])
    assert latest_unfinished(store, "mini", ["a", "b"]) == new  # newest; model order does not matter
    finish_session(store, new.id)
    assert latest_unfinished(store, "mini", ["a", "b"]) == old
    assert latest_unfinished(store, "mini", ["a", "b"], sha256="0" * 64) is None
    assert latest_unfinished(store, "mini", ["a", "b"], repeats=3) is None
    assert latest_unfinished(store, "other", ["a", "b"]) is None
    assert [s.id for s in list_sessions(store, "mini", unfinished_only=True)] == [3, old.id]


def test_progress_counts_ok_and_error_as_done_and_redoes_interrupted_answers(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"], repeats=2)
    one = step_run(store, session, "one")
    add_answer(store, one, PRICED, AnswerStatus.OK)
    add_answer(store, one, NO_INPUT, AnswerStatus.ERROR)  # a definitive failure: done
    two = step_run(store, session, "two")
    add_answer(store, two, PRICED, AnswerStatus.OK)
    add_answer(store, two, NO_INPUT, AnswerStatus.CANCELLED)
    # no-input's answer to "two" left streaming by a process that is gone (kill -9)
    orphan = start_answer(store, two, new_result(NO_INPUT, PROVIDER, ChatRequest(prompt="p"), TokenCounter()))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    with store.transaction() as conn:
        conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (dead.pid, orphan))
    assert recover_orphans(store) == 1

    progress = session_progress(store, session, suite)
    assert progress.total_steps == 6 and progress.done_steps == 1 and progress.tasks_total == 3
    assert progress.tasks_done == 0  # "one" still has its second repeat to do
    assert progress.steps[1].statuses == {"priced": "ok", "no-input": "interrupted"}
    assert next_steps(progress) == [
        Step("two", 0, ("no-input",)), Step("dijkstra", 0, ("priced", "no-input")),
        Step("one", 1, ("priced", "no-input")), Step("two", 1, ("priced", "no-input")),
        Step("dijkstra", 1, ("priced", "no-input")),
    ]
    assert next_steps(progress, retry_errors=True)[0] == Step("one", 0, ("no-input",))
    assert progress.answers == 5 and progress.failed == 1 and not progress.complete

    # A redo of the interrupted model is added to the same run, and the step is done.
    add_answer(store, two, NO_INPUT, AnswerStatus.OK)
    progress = session_progress(store, session, suite)
    assert progress.steps[1].done and progress.steps[1].run_id == two
    assert next_steps(progress)[0] == Step("dijkstra", 0, ("priced", "no-input"))


def test_an_answer_cut_off_by_the_provider_or_the_deadline_is_done_but_a_stopped_one_is_not(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"])
    one = step_run(store, session, "one")
    add_answer(store, one, PRICED, AnswerStatus.INTERRUPTED)  # `suite run --timeout` cut it: kept as is
    orphan = start_answer(store, one, new_result(NO_INPUT, PROVIDER, ChatRequest(prompt="p"), TokenCounter()))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    with store.transaction() as conn:
        conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (dead.pid, orphan))
    assert recover_orphans(store) == 1  # its workbench died: asked again
    progress = session_progress(store, session, suite)
    assert progress.steps[0].statuses == {"priced": "error", "no-input": "interrupted"}
    assert next_steps(progress)[0] == Step("one", 0, ("no-input",))


def test_progress_spend_is_the_known_part_and_time_leaves_out_pauses(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"])
    first, second = step_run(store, session, "one"), step_run(store, session, "two")
    add_answer(store, first, PRICED, AnswerStatus.OK, output_tokens=1000)  # 10 × $1/M + 1000 × $2/M
    add_answer(store, second, NO_INPUT, AnswerStatus.OK, output_tokens=1000)  # input price unknown
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET created_at = ? WHERE id = ?", ("2026-01-01T10:00:00.000+00:00", first))
        conn.execute("UPDATE answers SET updated_at = ? WHERE run_id = ?", ("2026-01-01T10:00:30.000+00:00", first))
        conn.execute("UPDATE runs SET created_at = ? WHERE id = ?", ("2026-01-02T09:00:00.000+00:00", second))
        conn.execute("UPDATE answers SET updated_at = ? WHERE run_id = ?", ("2026-01-02T09:00:12.500+00:00", second))
    progress = session_progress(store, session, suite)
    assert progress.spend_known_usd == Decimal("0.00201") + Decimal("0.003")
    assert progress.spend_unknown
    assert progress.elapsed_s == pytest.approx(42.5)


def test_a_session_streamed_by_a_live_process_is_busy(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced"])
    answer = start_answer(store, step_run(store, session, "one"),
                          new_result(PRICED, PROVIDER, ChatRequest(prompt="p"), TokenCounter()))
    assert session_progress(store, session, suite).busy_pids == ()  # our own answer in flight
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with store.transaction() as conn:
            conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (other.pid, answer))
        assert session_progress(store, session, suite).busy_pids == (other.pid,)
    finally:
        other.kill()
        other.wait(timeout=60)


# --- the estimate of the rest --------------------------------------------------------------


def test_estimate_uses_prices_the_default_length_and_never_prices_unknown_as_zero(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    counter = TokenCounter()
    est = estimate_remaining_cost(store, suite, [PRICED, NO_INPUT], [("one", 0), ("two", 0)], counter)
    ins = [estimate_prompt_tokens(counter, suite.task(t).message, suite.system) for t in ("one", "two")]
    million = Decimal(1_000_000)
    priced = sum((Decimal(i) * 1 + DEFAULT_OUTPUT_TOKENS * 2 for i in ins), Decimal(0)) / million
    no_input_output = 2 * DEFAULT_OUTPUT_TOKENS * Decimal(3) / million
    assert est.known_usd == priced + no_input_output
    assert est.per_model == {"priced": priced, "no-input": None}
    assert est.unknown == ("no-input: input price unknown",) and not est.complete
    assert est.output_tokens["priced"] == (DEFAULT_OUTPUT_TOKENS, "default")
    assert est.calls == 4
    assert est.text().startswith("≈ $") and est.text().endswith("(no-input: input price unknown) for 4 call(s)")
    nothing_priced = estimate_remaining_cost(store, suite, [ModelInfo(id="free", provider="gw", name="F",
                                                                      upstream="f")], [("one", 0)], counter)
    assert nothing_priced.text() == "unknown (free: input & output price unknown) for 1 call(s)"  # never "$0"


def test_estimate_uses_the_median_of_past_answers_and_only_the_models_a_step_lists(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    run = create_run(store, "p", task="two")
    for tokens in (100, 300, 2000):
        add_answer(store, run, PRICED, AnswerStatus.OK, output_tokens=tokens)
    add_answer(store, create_run(store, "p", task="one"), PRICED, AnswerStatus.OK, output_tokens=50)
    add_answer(store, run, PRICED, AnswerStatus.ERROR, output_tokens=9999)  # not an ok answer: ignored
    typical = typical_output_tokens(store, ["priced", "no-input"], ["two"])
    assert typical == {("priced", None): 200, ("priced", "two"): 300}
    counter = TokenCounter()
    est = estimate_remaining_cost(store, suite, [PRICED, NO_INPUT], [Step("two", 0, ("priced",))], counter)
    tokens_in = estimate_prompt_tokens(counter, suite.task("two").message, suite.system)
    assert est.known_usd == (Decimal(tokens_in) + 300 * 2) / Decimal(1_000_000)
    assert est.output_tokens == {"priced": (300, "median of this task's past answers")}
    assert est.complete and est.calls == 1
    est = estimate_remaining_cost(store, suite, [PRICED], [("dijkstra", 0)], counter)
    assert est.output_tokens == {"priced": (200, "median of past answers")}


def test_no_store_means_default_lengths() -> None:
    suite = parse_suite(GOOD, "mini.toml")
    est = estimate_remaining_cost(None, suite, [PRICED], [("one", 0)], TokenCounter())
    assert est.output_tokens == {"priced": (DEFAULT_OUTPUT_TOKENS, "default")}


# --- suite run in this process (the subprocess tests are in tests/integration) -------------


def stub_settings(openai_stub, isolated_home: Path, models=("stub-a", "stub-b"), **kw):
    from servers.fixtures import write_stub_config

    return load_settings(write_stub_config(isolated_home, openai_stub.base_url, list(models), **kw))


def run_suite(settings, *argv: str) -> int:
    from workbench.suite_cmd import run_suite_command

    return run_suite_command(settings, suite_args("run", *argv))


def test_a_failed_call_counts_as_answered_and_retry_failed_asks_only_it(
        openai_stub, isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    from servers.openai_stub import SSE, completion, error_status

    write_user_suite("mini.toml", GOOD)
    settings = stub_settings(openai_stub, isolated_home)
    openai_stub.script = {"stub-a": SSE(completion("fine", model="stub-a")),
                          "stub-b": error_status(400, "bad request for stub-b")}
    assert run_suite(settings, "mini", "-m", "stub-a", "-m", "stub-b") == 1
    out = capsys.readouterr().out
    assert "session 1 started" in out and "stub-b error (HTTP 400 Bad Request: bad request for stub-b)" in out
    assert "session 1 finished: 6 answer(s), 3 failed" in out
    assert len(openai_stub.requests) == 6

    openai_stub.script = {"stub-a": SSE(completion("again", model="stub-a")),
                          "stub-b": SSE(completion("now fine", model="stub-b"))}
    assert run_suite(settings, "mini", "--session", "1", "--retry-failed") == 0
    assert [r.json["model"] for r in openai_stub.requests[6:]] == ["stub-b"] * 3
    store = open_store(paths.store_file())
    try:
        progress = session_progress(store, get_session(store, 1), parse_suite(GOOD, "x"))
    finally:
        store.close()
    assert all(s.statuses == {"stub-a": "ok", "stub-b": "ok"} for s in progress.steps)
    assert progress.steps[0].run_id == 1 and progress.answers == 9  # the retries joined the runs


def test_run_refuses_mismatched_sessions_and_missing_keys(openai_stub, isolated_home: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    write_user_suite("mini.toml", GOOD)
    settings = stub_settings(openai_stub, isolated_home)
    assert run_suite(settings, "mini", "-m", "stub-a", "--blind") == 0
    assert "Model A ok" in capsys.readouterr().out  # blind: no names in the output
    with pytest.raises(CommandError, match="give --new or --session, not both"):
        run_suite(settings, "mini", "--new", "--session", "1")
    with pytest.raises(CommandError, match=r"session 1 asks stub-a; leave out -m"):
        run_suite(settings, "mini", "--session", "1", "-m", "stub-b")
    with pytest.raises(CommandError, match=r"no suite session 7"):
        run_suite(settings, "mini", "--session", "7")
    with pytest.raises(CommandError, match=r"session 1 is a session of suite 'mini', not 'coding-2026'"):
        run_suite(settings, "coding-2026", "--session", "1")
    with pytest.raises(CommandError, match="--repeat must be at least 1"):
        run_suite(settings, "mini", "-m", "stub-a", "--repeat", "0")
    from servers.fixtures import write_stub_config

    # a remote provider (never called: the run is refused before any request)
    keyed = load_settings(write_stub_config(isolated_home, "https://gw.invalid/v1", ["stub-a"],
                                            api_key_env="WB_TEST_STUB_KEY"))
    with pytest.raises(CommandError, match="stub-a: no API key: set the environment variable WB_TEST_STUB_KEY"):
        run_suite(keyed, "mini", "-m", "stub-a", "--new")
    store = open_store(paths.store_file())
    try:
        assert [s.id for s in list_sessions(store)] == [1]  # nothing was started for the refused runs
    finally:
        store.close()
