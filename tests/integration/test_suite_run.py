"""`workbench suite run` headless, in real processes against the stub server: killed with
SIGKILL half-way (one model's stream of task 3 stalls), then resumed by a second run that
sends only what is missing; stopped with Ctrl+C (SIGINT), which saves the cut-off answer as
cancelled and says how to resume.

Every wait has a generous timeout so a hang fails the test instead of blocking the run; none
of them measures speed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, Recorded, StubServer, chunk, completion, stall
from workbench import paths
from workbench.suites import find_suite

SAFETY_TIMEOUT_S = 60
WORKBENCH = [sys.executable, "-m", "workbench"]
MODELS = ("stub-a", "stub-b")
SUITE = find_suite("coding-2026")
TASK_OF_MESSAGE = {t.message: t.id for t in SUITE.tasks}


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts; any still running at the end is killed (by its own pid)."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=SAFETY_TIMEOUT_S)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def spawn(children: list[subprocess.Popen], *args: str) -> subprocess.Popen:
    """`workbench suite run coding-2026 -m stub-a -m stub-b ARGS…` with this test's WORKBENCH_HOME;
    a timer kills it after SAFETY_TIMEOUT_S so a blocking readline ends instead of hanging."""
    cmd = [*WORKBENCH, "suite", "run", "coding-2026", *(x for m in MODELS for x in ("-m", m)), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    children.append(proc)
    timer = threading.Timer(SAFETY_TIMEOUT_S, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def asked(request: Recorded) -> tuple[str, str]:
    """(model, task id) of a chat request."""
    body = request.json
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return body["model"], TASK_OF_MESSAGE[user]


def stall_b_on_dijkstra(request: Recorded) -> SSE:
    model, task = asked(request)
    if (model, task) == ("stub-b", "dijkstra"):
        return stall([chunk("", role="assistant", model=model), chunk("interface Edge ", model=model)])
    return SSE(completion(f"{model} answers {task}.", model=model))


def answers(home: Path) -> list[tuple[str, str, str]]:
    """(task, model, status) of every saved answer, read as another process would."""
    conn = sqlite3.connect(paths.store_file(), timeout=30)
    try:
        return conn.execute("SELECT r.task, a.model_id, a.status FROM answers a JOIN runs r ON r.id = a.run_id "
                            "ORDER BY a.id").fetchall()
    finally:
        conn.close()


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def read_until(proc: subprocess.Popen, needle: str) -> list[str]:
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if needle in line:
            return lines
    pytest.fail(f"the child ended before printing {needle!r}: {''.join(lines)}{proc.stderr.read()}")


def stop_half_way(openai_stub: StubServer, isolated_home: Path, children, sig: int) -> subprocess.Popen:
    """Run the suite until tasks 1–2 are answered, stub-a has answered task 3 and stub-b's
    task-3 stream is stalled; then send ``sig``."""
    write_stub_config(isolated_home, openai_stub.base_url, list(MODELS))
    openai_stub.script = stall_b_on_dijkstra
    proc = spawn(children)
    read_until(proc, "task 3/5 dijkstra (algorithmic): asking stub-a, stub-b")
    wait_for(lambda: ("dijkstra", "stub-a", "ok") in answers(isolated_home), "stub-a's answer to task 3")
    wait_for(lambda: ("stub-b", "dijkstra") in [asked(r) for r in openai_stub.requests], "stub-b's task 3 request")
    os.kill(proc.pid, sig)
    proc.wait(timeout=SAFETY_TIMEOUT_S)  # reaped: its pid is gone, as after a crash
    return proc


def resume_and_check(openai_stub: StubServer, isolated_home: Path, children) -> str:
    """A second run sends only what is missing and ends with one ok answer per (task, model)."""
    before = len(openai_stub.requests)
    openai_stub.script = lambda request: SSE(completion("resumed answer", model=asked(request)[0]))
    proc = spawn(children)
    out, err = proc.communicate(timeout=SAFETY_TIMEOUT_S)
    assert proc.returncode == 0, out + err
    assert "resuming session 1: 2/5 tasks done" in out
    assert "session 1 finished" in out and "workbench rank --suite coding-2026 --format markdown" in out
    sent = sorted(asked(r) for r in openai_stub.requests[before:])
    assert sent == sorted([("stub-b", "dijkstra"), *((m, t) for m in MODELS for t in ("go-review",
                                                                                    "express-pagination"))])
    ok = [(task, model) for task, model, status in answers(isolated_home) if status == "ok"]
    assert sorted(ok) == sorted((t.id, m) for t in SUITE.tasks for m in MODELS)  # each exactly once
    conn = sqlite3.connect(paths.store_file(), timeout=30)
    try:
        assert conn.execute("SELECT count(*) FROM suite_sessions WHERE finished_at IS NOT NULL").fetchone() == (1,)
        # one run per task: the redo of stub-b was added to task 3's run
        runs = conn.execute("SELECT task, session_id, repeat, kind, source FROM runs ORDER BY id").fetchall()
    finally:
        conn.close()
    assert runs == [(t.id, 1, 0, t.kind, "suite") for t in SUITE.tasks]
    return out


def test_killed_half_way_then_resumed_sends_only_the_rest(openai_stub: StubServer, isolated_home: Path,
                                                          children) -> None:
    stop_half_way(openai_stub, isolated_home, children, signal.SIGKILL)
    # kill -9 left stub-b's answer to task 3 streaming; the next run recovers it as interrupted
    assert ("dijkstra", "stub-b", "streaming") in answers(isolated_home)
    resume_and_check(openai_stub, isolated_home, children)
    assert ("dijkstra", "stub-b", "interrupted") in answers(isolated_home)  # kept, marked, not counted


def test_ctrl_c_saves_the_cut_off_answer_as_cancelled_and_says_how_to_resume(
        openai_stub: StubServer, isolated_home: Path, children) -> None:
    proc = stop_half_way(openai_stub, isolated_home, children, signal.SIGINT)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert "Resume with `workbench suite run coding-2026 --session 1`" in err and "Traceback" not in err
    assert ("dijkstra", "stub-b", "cancelled") in answers(isolated_home)
    resume_and_check(openai_stub, isolated_home, children)


def test_a_bad_suite_file_is_one_line_and_exit_2(isolated_home: Path, tmp_path: Path, children) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[suite]\nid = "x"\ntitle = "X"\n\n[[tasks]]\nid = "t"\ntitle = "T"\nkind = "review"\n', "utf-8")
    proc = subprocess.run([*WORKBENCH, "suite", "run", str(bad), "-m", "deepseek-r1"], capture_output=True, text=True,
                          timeout=SAFETY_TIMEOUT_S, env=dict(os.environ))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"workbench: {bad}: tasks[1] (t): prompt: missing"
