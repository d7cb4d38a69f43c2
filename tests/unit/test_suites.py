"""Task suites (C6): parsing and its errors, the built-in coding-2026, where suites are found,
and the list/show commands. Sessions are in test_suite_sessions.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench import paths
from workbench.config import load_settings
from workbench.cli.common import CommandError
from workbench.suites import (
    SuiteError,
    builtin_suites,
    find_suite,
    list_suites,
    load_suite_file,
    parse_suite,
    scan_suites,
)

from suite_data import GOOD, suite_args, write_user_suite  # noqa: E402


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




def run_cmd(*argv: str) -> int:
    from workbench.cli.suite import run_suite_command

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
