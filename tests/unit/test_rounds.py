"""rounds.RoundRecorder and StoreAccess: the one way a round is written (C4, Q6).

Against a real SQLite file; `workbench ask` is also run as a real process against the stub
server and killed while its answer stalls, to show the timer checkpoint keeps the text.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import StubServer, chunk, stall
from workbench import paths
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig, RunRecord
from workbench.rounds import CHECKPOINT_PERIOD_S, RoundRecorder, StoreAccess
from workbench.runner import AnswerResult, new_result
from workbench.store import open_store
from workbench.store.answers import answers_of_run, get_answer, get_run
from workbench.store.db import StoreError
from workbench.tokens import TokenCounter

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
MODEL = ModelInfo(id="m1", provider="gw", name="Model One", upstream="up-m1",
                  prices=Prices(Decimal("1"), Decimal("2")))


def a_result(prompt: str = "p") -> AnswerResult:
    result = new_result(MODEL, PROVIDER, ChatRequest(prompt=prompt, temperature=0.4), TokenCounter())
    result.meter.start()
    return result


async def test_a_round_is_recorded_from_run_to_finish(tmp_path: Path) -> None:
    access = StoreAccess(tmp_path / "wb.sqlite3")
    recorder = RoundRecorder(access)
    run_id = await recorder.open_run(RunRecord("Write flatten", "be brief", {"temperature": 0.4}, task="flatten",
                                               source="ask"))
    result = a_result("Write flatten")
    answer_id = await recorder.start(result, blind_label="B")
    assert result.answer_id == answer_id
    result.text_parts.append("def flatten(xs): ...")
    result.status = AnswerStatus.OK
    result.meter.finish("ok")
    await recorder.finish(result)
    await recorder.aclose()
    store = access.store
    run = get_run(store, run_id)
    assert (run.prompt, run.system, run.params, run.task, run.source) == (
        "Write flatten", "be brief", {"temperature": 0.4}, "flatten", "ask")
    (row,) = answers_of_run(store, run_id)
    assert (row.id, row.status, row.text, row.blind_label, row.model_name) == (
        answer_id, "ok", "def flatten(xs): ...", "B", "Model One")
    access.close()


async def test_streaming_text_is_saved_on_a_timer_without_any_new_event(tmp_path: Path) -> None:
    # The stream sends text, then nothing: a checkpoint made only when an event arrives would
    # never save it. The timer does, within about one period.
    access = StoreAccess(tmp_path / "wb.sqlite3")
    recorder = RoundRecorder(access, period_s=0.05)
    await recorder.open_run(RunRecord("p"))
    result = a_result()
    answer_id = await recorder.start(result)
    result.text_parts.append("text before the stall")
    deadline = time.monotonic() + 10
    while get_answer(access.store, answer_id).text != "text before the stall":
        assert time.monotonic() < deadline, "the timer never saved the partial text"
        await asyncio.sleep(0.02)
    assert get_answer(access.store, answer_id).status == "streaming"
    await recorder.finish(result)  # still streaming when finished: saved as cancelled
    assert get_answer(access.store, answer_id).status == "cancelled"
    await recorder.aclose()
    access.close()


def test_one_checkpoint_period_for_every_front_end() -> None:
    assert CHECKPOINT_PERIOD_S <= 1.0  # a kill loses at most about a second of text (Q6)
    assert RoundRecorder(StoreAccess(Path("unused.sqlite3"))).period_s == CHECKPOINT_PERIOD_S


async def test_writes_run_off_the_event_loop_thread(tmp_path: Path) -> None:
    access = StoreAccess(tmp_path / "wb.sqlite3")
    loop_thread = threading.get_ident()
    assert await access.call(lambda _store: threading.get_ident()) != loop_thread
    access.close()


async def test_answers_left_unfinished_are_saved_without_a_loop(tmp_path: Path) -> None:
    access = StoreAccess(tmp_path / "wb.sqlite3")
    recorder = RoundRecorder(access)
    await recorder.open_run(RunRecord("p"))
    result = a_result()
    answer_id = await recorder.start(result)
    result.text_parts.append("half an answer")
    await recorder.aclose()
    # as after Ctrl+C: the loop is gone, the answer never reached `finish`
    assert recorder.finish_unfinished() == [result]
    row = get_answer(access.store, answer_id)
    assert (row.status, row.text) == ("cancelled", "half an answer")
    assert recorder.finish_unfinished() == []  # once only
    access.close()


async def test_a_store_that_cannot_open_is_said_once_and_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    access = StoreAccess(blocker / "wb.sqlite3")
    with pytest.raises(StoreError):
        await access.open()
    told: list[str] = []
    recorder = RoundRecorder(access, on_error=told.append)
    assert await recorder.open_run(RunRecord("p")) is None
    result = a_result()
    assert await recorder.start(result) is None and result.answer_id is None
    assert told == []  # the opener already said it; every round does not repeat it
    strict = RoundRecorder(access)
    with pytest.raises(StoreError):
        await strict.open_run(RunRecord("p"))


async def test_a_failed_write_is_reported_and_the_round_goes_on(tmp_path: Path) -> None:
    access = StoreAccess(tmp_path / "wb.sqlite3")
    told: list[str] = []
    recorder = RoundRecorder(access, on_error=told.append)
    await recorder.open_run(RunRecord("p"))
    access.store.conn.execute("ALTER TABLE answers RENAME TO answers_gone")
    assert await recorder.start(a_result()) is None
    assert len(told) == 1 and told[0].startswith("Could not save to the store:")
    access.close()


def test_ask_killed_while_its_answer_stalls_keeps_the_text(openai_stub: StubServer, isolated_home: Path) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": {"input_per_m": 1, "output_per_m": 2}})
    openai_stub.script = stall([chunk("the first words, then a long silence")])
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "ask", "--json", "-m", "stub-a", "hello"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        text = None
        while text != "the first words, then a long silence":
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the partial text never reached the store"
            time.sleep(0.1)
            if paths.store_file().exists():
                store = open_store(paths.store_file())
                try:
                    rows = store.conn.execute("SELECT text FROM answers").fetchall()
                finally:
                    store.close()
                text = rows[0]["text"] if rows else None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
    store = open_store(paths.store_file())
    try:
        (row,) = store.conn.execute("SELECT text, status FROM answers").fetchall()
    finally:
        store.close()
    assert row["text"] == "the first words, then a long silence"
