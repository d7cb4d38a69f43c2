"""The command line in an 80-column terminal (issue 13, item 8) and `ask`'s human output of an
answer cut off at the token cap (item 4).

Rich and argparse both size their output from COLUMNS, as they do from a real terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, chunk
from workbench.cli import build_parser, main
from workbench.config import load_settings

COMMANDS = ("ask", "models", "local", "score", "import-scores", "rank", "history", "route", "suite",
            "prices", "serve")


def _run(capsys: pytest.CaptureFixture, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _help(capsys: pytest.CaptureFixture, *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


# --- workbench models ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 60])
def test_models_at_a_narrow_width_keep_ids_names_and_key_status_whole(
        width: int, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    out = _run(capsys, "models")
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= width
    settings = load_settings(None)
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == len(settings.models)  # one line per model: nothing wrapped at 80 or 60
    for row, model in zip(rows, settings.models.values()):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[0] == model.id and cells[1].removesuffix(" *") == model.name
        assert cells[-1] == "missing"
    # the short key column is explained once, with the variable to set, whole
    assert "key missing: $GLOBAL_APIS_KEY is not set (provider global-apis)" in " ".join(out.split())
    assert "not shown at this width: provider" in out


def test_models_at_80_columns_keep_the_prices_that_fit(capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    header = next(line for line in _run(capsys, "models").splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == ["id", "name", "input $/M", "output $/M", "key"]


def test_models_on_a_wide_terminal_show_every_column(capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out = _run(capsys, "models")
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "id", "name", "provider", "input $/M", "output $/M", "key"]
    assert "│ missing: $GLOBAL_APIS_KEY │" in out and "not shown" not in out


def test_a_long_id_folds_rather_than_vanish(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
                                            isolated_home: Path) -> None:
    long_id = "a-very-long-model-id-that-no-terminal-of-forty-columns-can-hold"
    write_stub_config(isolated_home, "http://127.0.0.1:9/v1", {long_id: {"name": "Long"}})
    monkeypatch.setenv("COLUMNS", "40")
    out = _run(capsys, "models")
    assert "…" not in out
    folded = "".join(line.split("│")[1].strip() for line in out.splitlines()
                     if line.startswith("│") and line.split("│")[1].strip() and "deepseek" not in line)
    assert long_id in folded


# --- --help --------------------------------------------------------------------------------------


def test_help_lists_each_command_once(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = _help(capsys)
    for command in COMMANDS:
        listed = [line for line in out.splitlines() if re.match(rf"\s+{re.escape(command)}\s", line)]
        assert len(listed) == 1, (command, listed)


@pytest.mark.parametrize("argv", [(), ("ask",), ("models",), ("rank",), ("history",), ("score",)])
def test_help_fits_80_columns_and_says_the_config_default(argv: tuple[str, ...], capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = _help(capsys, *argv)
    too_long = [line for line in out.splitlines() if len(line) > 80]
    assert too_long == []
    assert "see `workbench --help`" not in out  # inside `workbench --help` that pointed at itself
    assert "$WORKBENCH_CONFIG" in " ".join(out.split())


def test_rank_help_says_95_percent_once(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = _help(capsys, "rank")
    assert "95% bootstrap interval" in out and "%%" not in out


# --- ask: an answer cut off at the token cap ---------------------------------------------------

CUT = SSE([chunk("", role="assistant"), chunk("def add(a, b):\n    return"), chunk(finish="length")])


def test_plain_ask_says_an_answer_was_cut_off(openai_stub: StubServer, isolated_home: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    openai_stub.script = CUT
    assert main(["ask", "--max-tokens", "5", "-m", "stub-a", "hi"]) == 0  # its status stays ok (I4)
    out, err = capsys.readouterr()
    assert out.strip() == "def add(a, b):\n    return"  # stdout: the text alone, for pipes
    assert "[cut off (max tokens); raise --max-tokens for the rest]" in err
    assert main(["ask", "-m", "stub-a", "-m", "stub-b", "hi"]) == 0
    out = capsys.readouterr().out
    assert out.count("    return\n[cut off (max tokens)") == 2


def test_code_only_ask_says_an_answer_was_cut_off(openai_stub: StubServer, isolated_home: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = SSE([chunk("```python\ndef add(a, b):\n"), chunk(finish="length")])
    assert main(["ask", "-x", "-m", "stub-a", "hi"]) == 0
    err = capsys.readouterr().err
    assert "stub-a: cut off (max tokens); raise --max-tokens for the rest (the code may be incomplete)" in err


def test_a_complete_answer_gets_no_cut_off_note(openai_stub: StubServer, isolated_home: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = SSE([chunk("All of it."), chunk(finish="stop")])
    assert main(["ask", "-m", "stub-a", "hi"]) == 0
    assert "cut off" not in "".join(capsys.readouterr())


def test_live_ask_on_a_terminal_says_an_answer_was_cut_off(openai_stub: StubServer, isolated_home: Path,
                                                           capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = CUT
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["ask", "-m", "stub-a", "hi"]) == 0
    out = capsys.readouterr().out
    assert "stub-a: cut off (max tokens); raise --max-tokens for the rest" in " ".join(out.split())
