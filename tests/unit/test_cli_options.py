"""Options mean the same before and after a command (I6): `workbench --config X ask …`,
`workbench -m M ask …`. The subcommand's own defaults used to overwrite them silently, so a
missing config file went unreported and the default paid models were called instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servers.fixtures import stub_config_toml
from servers.openai_stub import SSE, StubServer, completion
from workbench.cli import build_parser, main


def only_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["--config", "{missing}", "models"],
    ["--config", "{missing}", "ask", "-m", "stub-a", "hello"],
    ["--config", "{missing}", "rank"],
    ["models", "--config", "{missing}"],
])
def test_a_named_config_that_does_not_exist_is_an_error_before_or_after(
        argv: list[str], isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    missing = isolated_home / "nowhere" / "config.toml"
    assert main([a.replace("{missing}", str(missing)) for a in argv]) == 2
    line = only_line(capsys.readouterr().err)
    assert str(missing) in line and "no such file" in line


def test_config_before_the_command_is_the_config_used(openai_stub: StubServer, isolated_home: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    # the model exists only in this file: the default config does not know it
    config = tmp_path / "elsewhere.toml"
    config.write_text(stub_config_toml(openai_stub.base_url, ["only-here"]), "utf-8")
    openai_stub.script = SSE(completion("from the named config"))
    assert main(["--config", str(config), "ask", "--json", "-m", "only-here", "hi"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert (result["model"], result["text"]) == ("only-here", "from the named config")


def test_models_before_the_command_are_the_models_asked(openai_stub: StubServer, isolated_home: Path,
                                                        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = tmp_path / "c.toml"
    config.write_text(stub_config_toml(openai_stub.base_url, ["stub-a", "stub-b"]), "utf-8")
    openai_stub.script = SSE(completion("ok"))
    assert main(["-m", "stub-a", "--config", str(config), "ask", "--json", "-m", "stub-b", "hi"]) == 0
    models = [r["model"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert models == ["stub-a", "stub-b"]


def test_options_before_and_after_merge() -> None:
    parser = build_parser()
    args = parser.parse_args(["-m", "a", "--local", "suite", "run", "coding-2026", "-m", "b"])
    assert (args.models, args.local, args.config) == (["a", "b"], True, None)
    args = parser.parse_args(["--config", "x.toml", "rank", "--config", "x.toml"])
    assert args.config == "x.toml"


def test_two_different_configs_are_refused(capsys: pytest.CaptureFixture) -> None:
    assert main(["--config", "a.toml", "rank", "--config", "b.toml"]) == 2
    line = only_line(capsys.readouterr().err)
    assert "--config given twice" in line and "a.toml" in line and "b.toml" in line
