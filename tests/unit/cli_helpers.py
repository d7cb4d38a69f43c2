"""Helpers for the command tests that run `workbench` in-process through ``main([...])``."""

from __future__ import annotations

import json

import pytest

from workbench.cli import EXIT_USAGE, main

STUB_MODELS = {
    "stub-a": {"name": "Stub Alpha", "input_per_m": 1, "output_per_m": 2},
    "stub-b": {"name": "Stub Beta", "input_per_m": 1, "output_per_m": 4},
}


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich sizes its console from COLUMNS: wide enough that no cell is cut with an ellipsis."""
    monkeypatch.setenv("COLUMNS", "200")


def cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(result: tuple[int, str, str], *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr (no traceback) with the needles."""
    code, out, err = result
    assert code == EXIT_USAGE, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def ask(capsys: pytest.CaptureFixture, *args: str, code: int | None = None) -> dict:
    """`ask --json` with ``args``; its JSON. The exit code must follow the answers (0 when every
    one is ok, 1 when one is not) and, if given, be ``code``."""
    got = main(["ask", "--json", *args])
    out, err = capsys.readouterr()
    data = json.loads(out)
    statuses = [r["status"] for r in data["results"]]
    assert statuses, out
    assert got == (0 if all(s == "ok" for s in statuses) else 1), (got, statuses, err)
    assert code is None or got == code, (got, code, statuses, err)
    return data
