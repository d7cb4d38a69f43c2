"""The store under real processes (Q6): two writers at once, kill -9 mid-session, an old schema.

Children are real interpreters (sys.executable -c) that find the store through WORKBENCH_HOME,
as the app does. Every wait has a generous timeout so a hang fails the test instead of
blocking the run; none of them measures speed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

from workbench import paths
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.runner import new_result
from workbench.store import Store, open_store
from workbench.domain import RunRecord
from workbench.store.answers import create_run, finish_answer, get_answer, get_run, start_answer
from workbench.store.db import _statements, migrations
from workbench.store.history import list_runs
from workbench.store.scores import add_score, score_history
from workbench.tokens import TokenCounter

SAFETY_TIMEOUT_S = 60

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
MODEL = ModelInfo(id="m1", provider="gw", name="Model One", upstream="up-m1",
                  prices=Prices(Decimal("0.1"), Decimal("0.3")))


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts; any still running at the end is killed (by its own pid)."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=SAFETY_TIMEOUT_S)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()


def spawn(children: list[subprocess.Popen], script: str, *args: str) -> subprocess.Popen:
    """Start ``python -c script args…`` with this test's environment (its WORKBENCH_HOME).

    A timer kills the child after SAFETY_TIMEOUT_S, so a blocking readline ends (with EOF)
    instead of hanging the test run.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    children.append(proc)
    timer = threading.Timer(SAFETY_TIMEOUT_S, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def answer_with_text(store: Store, run_id: int, text: str = "def f(): ...") -> int:
    result = new_result(MODEL, PROVIDER, ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result.start_record())
    result.meter.start()
    result.text_parts.append(text)
    result.status = AnswerStatus.OK
    result.meter.finish("ok")
    finish_answer(store, answer_id, result.final_record())
    return answer_id


SCORER = """
import sys
from workbench import paths
from workbench.store import open_store
from workbench.store.scores import add_score
name, answers = sys.argv[1], [int(x) for x in sys.argv[2].split(",")]
store = open_store(paths.store_file())
print("ready", flush=True)
sys.stdin.readline()  # the barrier: the parent lets both writers go at once
for i in range(300):
    add_score(store, answers[i % len(answers)], 1 + (i % 19) / 2, note=f"{name}-{i}", scorer=name)
store.close()
"""


def test_two_processes_scoring_at_once_lose_nothing(children) -> None:
    store = open_store(paths.store_file())
    run_id = create_run(store, RunRecord("p"))
    answers = ",".join(str(answer_with_text(store, run_id)) for _ in range(3))
    store.close()
    procs = [spawn(children, SCORER, name, answers) for name in ("left", "right")]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        _, err = proc.communicate(timeout=SAFETY_TIMEOUT_S)
        assert proc.returncode == 0, err
        assert "locked" not in err
    store = open_store(paths.store_file())
    try:
        notes = [r[0] for r in store.conn.execute("SELECT note FROM scores")]
    finally:
        store.close()
    assert len(notes) == 600
    assert set(notes) == {f"{name}-{i}" for name in ("left", "right") for i in range(300)}


LOOPER = """
import sys
from workbench import paths
from workbench.store import open_store
from workbench.store.scores import add_score
store = open_store(paths.store_file())
answer_id = int(sys.argv[1])
for i in range(1_000_000):  # bounded, though the parent kills it long before
    saved = add_score(store, answer_id, 1 + (i % 19) / 2, note=f"n{i}")
    print(saved.id, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_while_scoring_loses_no_committed_score(children) -> None:
    store = open_store(paths.store_file())
    answer_id = answer_with_text(store, create_run(store, RunRecord("p")))
    store.close()
    proc = spawn(children, LOOPER, str(answer_id))
    printed: list[int] = []
    while len(printed) < 50:
        line = proc.stdout.readline()
        assert line, f"the child stopped early: {proc.stderr.read()}"
        printed.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=SAFETY_TIMEOUT_S)
    printed += [int(x) for x in rest.splitlines(keepends=True) if x.endswith("\n")]  # not a torn last line
    assert proc.returncode == -signal.SIGKILL

    store = open_store(paths.store_file())
    try:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {s.id for s in score_history(store, answer_id)}
        assert set(printed) <= stored
        assert add_score(store, answer_id, 5).id > max(printed)  # the store still takes writes
    finally:
        store.close()


def test_a_version_1_store_migrates_and_keeps_its_rows() -> None:
    version, sql = migrations()[0]
    assert version == 1
    path = paths.store_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    for statement in _statements(sql):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO runs (id, created_at, prompt, system, params_json, task, suite, source)"
        " VALUES (1, '2026-01-05T10:00:00.000+00:00', 'flatten a list', 'sys', '{\"temperature\": 0.2}',"
        " 'flatten', 'coding-2026', 'ask')"
    )
    old.execute(
        "INSERT INTO answers (id, run_id, model_id, model_name, provider, upstream_model, status, text,"
        " cost_usd, output_per_m, created_at, updated_at) VALUES (7, 1, 'm1', 'Model One', 'gw', 'up-m1',"
        " 'ok', 'def flatten(xs): ...', '0.0012', '0.3', '2026-01-05T10:00:01+00:00', '2026-01-05T10:00:02+00:00')"
    )
    old.commit()
    old.close()

    store = open_store(path)
    try:
        assert store.schema_version == migrations()[-1][0] >= 2
        run = get_run(store, 1)
        assert (run.prompt, run.task, run.suite, run.params, run.blind) == (
            "flatten a list", "flatten", "coding-2026", {"temperature": 0.2}, False)
        answer = get_answer(store, 7)
        assert (answer.text, answer.cost_usd, answer.blind_label) == ("def flatten(xs): ...", Decimal("0.0012"), None)
        saved = add_score(store, 7, "8,5", note="migrated")
        assert [s.score for s in score_history(store, 7)] == [8.5] and not saved.blind
        (summary,) = list_runs(store)
        assert (summary.models, summary.scored, summary.revealed) == (("Model One",), 1, True)
    finally:
        store.close()
