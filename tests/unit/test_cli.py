"""CLI exit codes (I1) and messages, in-process through ``main([...])`` and as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.cli.common import EXIT_MODEL_FAILED, EXIT_OK, EXIT_USAGE

BAD_KIND = '[providers.mine]\nkind = "cohere"\nbase_url = "https://x.test/v1"\n'


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m workbench ARGS` with this test's environment (WORKBENCH_HOME etc.)."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        input=stdin if stdin is not None else "",
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


def assert_one_line_error(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def user_config(home: Path, text: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# --- in process ---------------------------------------------------------------------------


def test_bad_config_via_flag(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_KIND, "utf-8")
    assert main(["models", "--config", str(path)]) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "bad config", str(path), "providers.mine.kind", "'cohere'")


def test_bad_config_via_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "env.toml"
    path.write_text("[[models]]\nid = 'x'\nprovider = 'nowhere'\n", "utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(path))
    assert main(["ask", "--json", "hi"]) == EXIT_USAGE
    assert_one_line_error(capsys.readouterr().err, str(path), "provider", "'nowhere'")


def test_bad_config_in_workbench_home(isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    path = user_config(isolated_home, "[defaults]\nmodels = ['gpt-17']\n")
    assert main(["models", "--json"]) == EXIT_USAGE
    assert_one_line_error(capsys.readouterr().err, str(path), "defaults.models[0]", "'gpt-17'")


def test_flag_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_KIND, "utf-8")
    good = tmp_path / "good.toml"
    good.write_text('[[models]]\nid = "extra"\nprovider = "global-apis"\n', "utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(bad))
    assert main(["models", "--json", "--config", str(good)]) == EXIT_OK
    assert "extra" in [row["id"] for row in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_named_config_that_does_not_exist(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "typo.toml"
    args = ["models"]
    if how == "flag":
        args += ["--config", str(missing)]
    else:
        monkeypatch.setenv("WORKBENCH_CONFIG", str(missing))
    assert main(args) == EXIT_USAGE
    assert_one_line_error(capsys.readouterr().err, str(missing), "no such file")


def test_default_config_may_be_absent(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "--json"]) == EXIT_OK
    assert len(json.loads(capsys.readouterr().out)) == 10


def test_models_json_lists_the_builtin_catalog(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [
        "deepseek-v4-flash", "deepseek-coder", "qwen3-coder-30b", "deepseek-v4-pro", "deepseek-r1",
        "kimi-k2.5", "glm-5", "qwen3-32b", "hunyuan-turbo", "ga-standard",
    ]
    assert all(r["input_per_m"] is None for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["deepseek-r1"]["output_per_m"] == "2.5"
    assert by_id["ga-standard"]["routed"] is True
    assert by_id["deepseek-r1"]["key"] == "missing: $GLOBAL_APIS_KEY"


def test_models_json_shows_key_set(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("GLOBAL_APIS_KEY", "sk-secret-value-123")
    assert main(["models", "--json"]) == EXIT_OK
    out = capsys.readouterr().out
    assert all(r["key"] == "set" for r in json.loads(out))
    assert "sk-secret-value-123" not in out


def test_models_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # wide enough that no cell wraps
    assert main(["models"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "DeepSeek-R1" in out and "unknown" in out and "$2.50" in out
    assert "routing tier" in out


@pytest.mark.parametrize("args", [
    ["ask", "-m", "gpt-17", "hello"],
    ["ask", "--json", "-m", "deepseek-r1", "-m", "nope", "hello"],
    ["-m", "gpt-17"],
])
def test_unknown_model_is_usage_error(args: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert_one_line_error(err, "unknown model")


@pytest.mark.parametrize(("args", "needle"), [
    (["ask"], "PROMPT"),
    (["ask", "--temperature", "5", "hi"], "--temperature"),
    (["ask", "--max-tokens", "0", "hi"], "--max-tokens"),
    (["ask", "--max-tokens", "many", "hi"], "--max-tokens"),
    (["ask", "   "], "empty"),
    (["frobnicate"], "invalid choice"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_bad_usage_exits_2_with_one_line(args: list[str], needle: str, capsys: pytest.CaptureFixture) -> None:
    assert main(args) == EXIT_USAGE
    assert_one_line_error(capsys.readouterr().err, needle)


def test_missing_key_is_a_failed_model_call(capsys: pytest.CaptureFixture) -> None:
    # The built-in gateway needs GLOBAL_APIS_KEY, which the autouse fixture unset: no request leaves.
    assert main(["ask", "--json", "-m", "deepseek-r1", "hello"]) == EXIT_MODEL_FAILED
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["status"] == "error"
    assert result["error"]["kind"] == "auth"
    assert "GLOBAL_APIS_KEY" in result["error"]["message"]
    # nothing left this machine, so nothing was billed (issue 12: never an invented charge)
    assert result["cost_usd"] == 0 and result["billing"] == "not billed: failed before the answer"


# --- as a real process ---------------------------------------------------------------------


def test_help_as_a_process() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for word in ("ask", "models", "WORKBENCH_HOME", "GLOBAL_APIS_KEY"):
        assert word in proc.stdout


@pytest.mark.parametrize("command", ["ask", "models"])
def test_subcommand_help(command: str) -> None:
    proc = run_cli(command, "--help")
    assert proc.returncode == 0
    assert "--json" in proc.stdout


def test_bad_config_as_a_process(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[providers.mine\n", "utf-8")
    proc = run_cli("ask", "--json", "hi", env={"WORKBENCH_CONFIG": str(path)})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, str(path), "not valid TOML")


def test_unknown_model_as_a_process() -> None:
    proc = run_cli("ask", "-m", "gpt-17", "hi")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "unknown model 'gpt-17'")


def test_usage_error_as_a_process() -> None:
    proc = run_cli("ask", "--temperature", "hot", "hi")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "--temperature")


def test_empty_stdin_prompt_as_a_process() -> None:
    proc = run_cli("ask", "-", stdin="  \n")
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "standard input is empty")


def test_models_json_as_a_process() -> None:
    proc = run_cli("models", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 10
    assert all(r["input_per_m"] is None for r in rows)


def test_unusable_store_is_one_line_exit_2(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    proc = run_cli("ask", "--json", "-m", "deepseek-r1", "hi", env={"WORKBENCH_HOME": str(not_a_dir)})
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "cannot open the store", str(not_a_dir))


def test_corrupt_store_is_one_line_exit_2(isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    store = isolated_home / "data" / "workbench.sqlite3"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"this is not a database, just text that is long enough to look like a header" * 10)
    assert main(["ask", "--json", "-m", "deepseek-r1", "hi"]) == EXIT_USAGE
    assert_one_line_error(capsys.readouterr().err, "cannot open the store", str(store))
