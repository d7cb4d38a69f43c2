"""Bad inputs end in one clear line, never a traceback (I1): a damaged store file, bytes on
standard input that are not UTF-8, ids SQLite cannot hold, a CSV quote left open, a broken
suite file named in the note about another."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, completion
from workbench import paths
from workbench.cli import main
from workbench.domain import RunRecord
from workbench.store import open_store
from workbench.store.answers import create_run, get_run


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip() and "warning:" not in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def damaged_store(tmp_path: Path) -> Path:
    """A store with a valid header whose later pages are overwritten: SQLite opens it, then a
    query meets 'database disk image is malformed'."""
    path = paths.store_file()
    store = open_store(path)
    for i in range(300):
        create_run(store, RunRecord(f"prompt {i} " * 20))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, len(data), 4096):
        data[offset:offset + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("argv", [["history"], ["rank"], ["rank", "--format", "json"], ["history", "--show", "5"],
                                  ["ask", "--json", "-m", "stub-a", "hello"]])
def test_a_damaged_store_is_named_and_left_as_it_is(argv: list[str], isolated_home: Path, tmp_path: Path,
                                                    openai_stub: StubServer, capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url)
    openai_stub.script = SSE(completion("hi"))
    path = damaged_store(tmp_path)
    before = digest(path)
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert str(path) in line and "damaged" in line and ".recover" in line
    assert digest(path) == before


def test_bytes_on_stdin_that_are_not_utf8_are_replaced_and_said(openai_stub: StubServer, isolated_home: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url)
    openai_stub.script = SSE(completion("ok"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 au lait"), encoding="utf-8",
                                                       errors="surrogateescape"))
    assert main(["ask", "--json", "-m", "stub-a", "-"]) == 0
    captured = capsys.readouterr()
    assert "not UTF-8" in captured.err and "Traceback" not in captured.err
    run_id = json.loads(captured.out)["run_id"]
    store = open_store(paths.store_file())
    try:
        assert get_run(store, run_id).prompt == "caf\ufffd au lait"
    finally:
        store.close()
    (request,) = openai_stub.requests
    assert request.json["messages"][-1]["content"] == "caf\ufffd au lait"


@pytest.mark.parametrize("argv", [["score", "99999999999999999999999", "8"], ["score", "0", "8"],
                                  ["history", "--show", "99999999999999999999999"],
                                  ["history", "--open", "-3"],
                                  ["suite", "run", "coding-2026", "--session", "1e99"]])
def test_ids_sqlite_cannot_hold_are_a_usage_error(argv: list[str], isolated_home: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    assert "is not an id" in one_line(capsys.readouterr().err)


def test_an_open_quote_in_a_scores_csv_is_an_error_naming_the_line(isolated_home: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    csv_path = tmp_path / "scores.csv"
    csv_path.write_text('model,task,score,note\nDeepSeek V4 Flash,t1,8,"note starts here\n'
                        "DeepSeek V4 Flash,t2,7,x\nDeepSeek V4 Flash,t3,6,y\nDeepSeek V4 Flash,t4,5,z\n", "utf-8")
    assert main(["import-scores", str(csv_path)]) == 2
    err = capsys.readouterr().err
    assert f"{csv_path}:2: a quoted field runs on to line 5" in err and "nothing imported" in err
    assert main(["rank", "--format", "json"]) == 0
    assert all(row["n"] == 0 for row in json.loads(capsys.readouterr().out))


def test_the_suite_note_names_the_file_of_the_suite_asked_for(isolated_home: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    folder = isolated_home / "data" / "suites"
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text('[suite]\nid = "mine"\n\n[[tasks]]\nid = "a"\nkind = "easy"\nprompt = "p"\n')
    (folder / "broken.toml").write_text("id = = \n")
    assert main(["suite", "show", "mine"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "no suite 'mine'" in last and "mine.toml: suite: title: missing" in last and "broken.toml" not in last
    shutil.rmtree(folder)
