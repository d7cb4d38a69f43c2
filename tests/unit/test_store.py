"""The SQLite store (C4, Q6): migrations, WAL, answers saved through their life, orphans recovered."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import UsageReport
from workbench.runner import new_result
from workbench.store import open_store
from workbench.domain import RunRecord
from workbench.store.answers import (
    answers_of_run,
    checkpoint_answer,
    create_run,
    finish_answer,
    get_answer,
    recover_orphans,
    start_answer,
)
from workbench.store.db import StoreError, migrations
from workbench.tokens import TokenCounter

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
MODEL = ModelInfo(id="m1", provider="gw", name="Model One", upstream="up-m1",
                  prices=Prices(Decimal("0.1"), Decimal("0.3")))


def a_result(prompt: str = "hello"):
    return new_result(MODEL, PROVIDER, ChatRequest(prompt=prompt, temperature=0.4), TokenCounter())


def test_open_creates_and_migrates(tmp_path: Path) -> None:
    store = open_store(tmp_path / "sub" / "wb.sqlite3")
    try:
        assert store.schema_version == migrations()[-1][0] >= 1
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"runs", "answers"} <= tables
    finally:
        store.close()
    again = open_store(tmp_path / "sub" / "wb.sqlite3")  # reopening is a no-op migration
    assert again.schema_version == migrations()[-1][0]
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wb.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_store(path)


def test_answer_life_cycle(tmp_path: Path) -> None:
    store = open_store(tmp_path / "wb.sqlite3")
    result = a_result()
    run_id = create_run(store, RunRecord("hello", "sys", {"temperature": 0.4}, task="t1", suite="s1", source="ask"))
    answer_id = start_answer(store, run_id, result.start_record())
    row = get_answer(store, answer_id)
    assert (row.status, row.text, row.model_name) == ("streaming", "", "Model One")

    result.text_parts.append("partial")
    checkpoint_answer(store, answer_id, result.text, "")
    assert get_answer(store, answer_id).text == "partial"

    result.meter.start()
    result.meter.add_text("partial")
    result.meter.add_usage(UsageReport(input_tokens=1000, output_tokens=2000, reasoning_tokens=5))
    result.served_model = "up-m1-2026"
    result.status = AnswerStatus.OK
    result.meter.finish("ok")
    finish_answer(store, answer_id, result.final_record())
    row = get_answer(store, answer_id)
    assert (row.status, row.text, row.served_model) == ("ok", "partial", "up-m1-2026")
    assert (row.input_tokens, row.output_tokens, row.reasoning_tokens, row.tokens_exact) == (1000, 2000, 5, True)
    assert row.cost_usd == Decimal("0.0007")
    assert row.error_kind is None
    # a checkpoint after the end must not overwrite the final text
    checkpoint_answer(store, answer_id, "stale", "")
    assert get_answer(store, answer_id).text == "partial"
    prices = store.conn.execute("SELECT input_per_m, output_per_m, temperature FROM answers WHERE id = ?",
                                (answer_id,)).fetchone()
    assert tuple(prices) == ("0.1", "0.3", 0.4)
    store.close()


def test_failed_answer_keeps_error_and_unknown_cost(tmp_path: Path) -> None:
    store = open_store(tmp_path / "wb.sqlite3")
    model = ModelInfo(id="m2", provider="gw", name="M2", upstream="m2", prices=Prices(None, Decimal("1")))
    result = new_result(model, PROVIDER, ChatRequest(prompt="x" * 40), TokenCounter())
    run_id = create_run(store, RunRecord("x"))
    answer_id = start_answer(store, run_id, result.start_record())
    result.meter.start()
    result.text_parts.append("half")
    result.error = errors.StreamCutError("the connection closed mid-stream")
    result.status = AnswerStatus.INTERRUPTED
    finish_answer(store, answer_id, result.final_record())
    (row,) = answers_of_run(store, run_id)
    assert (row.status, row.text, row.error_kind) == ("interrupted", "half", "cut_off")
    assert row.error_message == "the connection closed mid-stream"
    assert row.cost_usd is None  # input price unknown: unknown, not zero
    assert row.tokens_exact is False
    store.close()


def test_recover_orphans_marks_dead_writers_interrupted(tmp_path: Path) -> None:
    store = open_store(tmp_path / "wb.sqlite3")
    run_id = create_run(store, RunRecord("p"))
    mine = start_answer(store, run_id, a_result().start_record())
    orphan = start_answer(store, run_id, a_result().start_record())
    checkpoint_answer(store, orphan, "text so far", "")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with store.transaction() as conn:
        conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (int(dead.stdout), orphan))
    assert recover_orphans(store) == 1
    assert get_answer(store, mine).status == "streaming"  # this process is alive
    row = get_answer(store, orphan)
    assert (row.status, row.text, row.error_kind) == ("interrupted", "text so far", "stopped")
    store.close()


WRITER = """
import sys
from pathlib import Path
from workbench.store import open_store
from workbench.domain import RunRecord
from workbench.store.answers import create_run
store = open_store(Path(sys.argv[1]))
for i in range(50):
    create_run(store, RunRecord(f"{sys.argv[2]}-{i}"))
store.close()
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "wb.sqlite3"
    open_store(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], stderr=subprocess.PIPE)
             for name in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = open_store(path)
    prompts = {r[0] for r in store.conn.execute("SELECT prompt FROM runs")}
    store.close()
    assert prompts == {f"{n}-{i}" for n in "ab" for i in range(50)}
