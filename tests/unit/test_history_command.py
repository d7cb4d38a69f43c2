"""`workbench history` end to end, and the `--help` of the scoring commands (I1), in-process
through ``main([...])`` against the stub server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import STUB_MODELS, ask, assert_usage_error, cli, wide_terminal  # noqa: F401 (an autouse fixture)
from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, completion
from workbench.cli import EXIT_OK, main


# --- history -------------------------------------------------------------------------------


def test_history_lists_newest_first_searches_and_shows(openai_stub: StubServer, isolated_home: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, STUB_MODELS)
    openai_stub.script = [SSE(completion("Use a binary heap.", model="stub-a")),
                          SSE(completion("Use a mutex around the counter.", model="stub-a"))]
    first = ask(capsys, "-m", "stub-a", "--task", "dijkstra", "Shortest paths in TypeScript")
    second = ask(capsys, "-m", "stub-a", "--task", "race-condition", "Fix this race")

    code, out, _ = cli(capsys, "history", "--json")
    assert code == EXIT_OK
    runs = json.loads(out)
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
    assert runs[0]["models"] == ["Stub Alpha"] and runs[0]["task"] == "race-condition"

    code, out, _ = cli(capsys, "history")
    assert code == EXIT_OK
    assert "2 run(s), newest first" in out
    assert out.index("Fix this race") < out.index("Shortest paths in TypeScript")

    # words search prompts, tasks and answer texts
    assert [r["run_id"] for r in json.loads(cli(capsys, "history", "--json", "heap")[1])] == [first["run_id"]]
    assert [r["run_id"] for r in json.loads(cli(capsys, "history", "--json", "RACE")[1])] == [second["run_id"]]
    code, out, _ = cli(capsys, "history", "mutex")
    assert "Fix this race" in out and "Shortest paths" not in out
    code, out, _ = cli(capsys, "history", "nowhere-to-be-found")
    assert code == EXIT_OK and "No runs match." in out
    assert [r["run_id"] for r in json.loads(cli(capsys, "history", "--json", "--limit", "1")[1])] == [
        second["run_id"]]

    code, out, _ = cli(capsys, "history", "--show", str(first["run_id"]))
    assert code == EXIT_OK
    aid = first["results"][0]["answer_id"]
    assert f"Run {first['run_id']}" in out and "task dijkstra" in out
    assert "Use a binary heap." in out and f"answer {aid} · Stub Alpha · ok · not scored" in out
    assert_usage_error(cli(capsys, "history", "--show", "999"), "no run with id 999")


def test_history_of_an_empty_store(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, "history")
    assert code == EXIT_OK and "No runs yet" in out
    assert json.loads(cli(capsys, "history", "--json")[1]) == []


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "options"), [
    ("score", ["ANSWER_ID", "SCORE", "--note", "--criteria"]),
    ("import-scores", ["FILE.csv", "--again"]),
    ("rank", ["--task", "--suite", "--format", "--sort", "--reverse", "--since", "--until", "--output",
              "--no-plot", "markdown", "json"]),
    ("history", ["WORD", "--show", "--open", "--json", "--task", "--model", "--limit"]),
])
def test_subcommand_help_exits_0_and_names_its_options(command: str, options: list[str],
                                                       capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: workbench {command}")
    for option in options:
        assert option in out, option
