"""`workbench ask` (I4) against the real stub server: JSON fields, exit codes, the store, Q4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, chunk, completion, cut, error_status, stall
from workbench import paths
from workbench.cli import main
from workbench.store import open_store
from workbench.store.answers import answers_of_run, get_answer

I4_FIELDS = {"model", "served_model", "status", "text", "reasoning", "input_tokens", "output_tokens",
             "tokens_exact", "cost_usd", "ttft_ms", "duration_ms", "error", "answer_id"}
PRICED = {"input_per_m": 1.5, "output_per_m": 2}


def ask_json(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, dict]:
    code = main(["ask", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def stored(answer_id: int):
    store = open_store(paths.store_file())
    try:
        return get_answer(store, answer_id)
    finally:
        store.close()


def test_ask_json_returns_every_i4_field(openai_stub: StubServer, isolated_home: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED})
    openai_stub.script = SSE(completion("Hello, world!", model="stub-a-2026-01", reasoning="Greeting.",
                                        prompt_tokens=11, completion_tokens=7))
    code, data = ask_json(capsys, "-m", "stub-a", "--task", "t1", "Say hello")
    assert code == 0
    (result,) = data["results"]
    assert I4_FIELDS <= set(result)
    assert result["model"] == "stub-a"
    assert result["served_model"] == "stub-a-2026-01"
    assert result["status"] == "ok"
    assert result["text"] == "Hello, world!"
    assert result["reasoning"] == "Greeting."
    assert (result["input_tokens"], result["output_tokens"]) == (11, 7)
    assert result["tokens_exact"] is True
    assert result["cost_usd"] == pytest.approx(11 * 1.5e-6 + 7 * 2e-6)
    assert isinstance(result["ttft_ms"], int) and result["ttft_ms"] >= 0
    assert isinstance(result["duration_ms"], int) and result["duration_ms"] >= result["ttft_ms"]
    assert result["error"] is None
    assert isinstance(result["answer_id"], int)

    row = stored(result["answer_id"])
    assert row is not None
    assert (row.model_id, row.status, row.text, row.reasoning) == ("stub-a", "ok", "Hello, world!", "Greeting.")
    assert row.served_model == "stub-a-2026-01"
    assert (row.input_tokens, row.output_tokens, row.tokens_exact) == (11, 7, True)
    assert row.cost_usd == Decimal("0.0000305")  # exact Decimal in the store
    assert row.ttft_ms == result["ttft_ms"]
    store = open_store(paths.store_file())
    try:
        run = store.conn.execute("SELECT * FROM runs WHERE id = ?", (data["run_id"],)).fetchone()
    finally:
        store.close()
    assert (run["prompt"], run["task"], run["source"]) == ("Say hello", "t1", "ask")


def test_ask_sends_prompt_options(openai_stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = SSE(completion("ok"))
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("Prompt from stdin\n"))
    code, _ = ask_json(capsys, "-m", "stub-a", "--system", "Be terse.", "--temperature", "0.7",
                       "--max-tokens", "64", "-")
    assert code == 0
    body = openai_stub.requests[0].json
    assert body["messages"] == [{"role": "system", "content": "Be terse."},
                                {"role": "user", "content": "Prompt from stdin\n"}]
    assert (body["temperature"], body["max_tokens"]) == (0.7, 64)
    assert body["stream_options"] == {"include_usage": True}


def test_one_of_two_models_fails(openai_stub: StubServer, isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED, "stub-b": PRICED})
    openai_stub.script = {
        "stub-a": SSE(completion("Fine.", model="stub-a")),
        "stub-b": error_status(500, "The server had an error while processing your request"),
    }
    code, data = ask_json(capsys, "-m", "stub-a", "-m", "stub-b", "hi")
    assert code == 1
    a, b = data["results"]
    assert (a["model"], a["status"], a["text"], a["error"]) == ("stub-a", "ok", "Fine.", None)
    assert (b["model"], b["status"], b["text"]) == ("stub-b", "error", "")
    assert b["error"]["kind"] == "server" and b["error"]["http_status"] == 500
    assert "The server had an error" in b["error"]["message"]
    assert b["served_model"] == "stub-b"  # nothing served: the requested upstream id
    store = open_store(paths.store_file())
    try:
        rows = answers_of_run(store, data["run_id"])
    finally:
        store.close()
    assert [(r.model_id, r.status, r.error_kind, r.http_status) for r in rows] == [
        ("stub-a", "ok", None, None), ("stub-b", "error", "server", 500)]


def test_cut_stream_keeps_partial_text_everywhere(openai_stub: StubServer, isolated_home: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED})
    openai_stub.script = cut([chunk("def f("), chunk("x):")])
    code, data = ask_json(capsys, "-m", "stub-a", "write f")
    assert code == 1
    (result,) = data["results"]
    assert (result["status"], result["text"], result["error"]["kind"]) == ("interrupted", "def f(x):", "cut_off")
    assert result["tokens_exact"] is False
    row = stored(result["answer_id"])
    assert (row.status, row.text, row.error_kind) == ("interrupted", "def f(x):", "cut_off")


def test_unknown_input_price_is_null_cost(openai_stub: StubServer, isolated_home: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": {"output_per_m": 0.25}})
    openai_stub.script = SSE(completion("ok", prompt_tokens=1000, completion_tokens=4000))
    code, data = ask_json(capsys, "-m", "stub-a", "hi")
    assert code == 0
    (result,) = data["results"]
    assert result["cost_usd"] is None
    assert result["cost_unknown_parts"] == ["input"]
    assert result["cost_known_usd"] == pytest.approx(0.001)
    assert stored(result["answer_id"]).cost_usd is None


def test_timeout_flag_ends_a_stalled_answer(openai_stub: StubServer, isolated_home: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = stall([chunk("partial")])
    code, data = ask_json(capsys, "-m", "stub-a", "--timeout", "2", "hi")
    assert code == 1
    (result,) = data["results"]
    assert (result["status"], result["text"], result["error"]["kind"]) == ("interrupted", "partial", "timeout")


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))


def test_ask_json_as_a_process(openai_stub: StubServer, isolated_home: Path) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": PRICED, "stub-b": PRICED})
    openai_stub.script = {
        "stub-a": SSE(completion("From A.", model="stub-a", prompt_tokens=5, completion_tokens=3)),
        "stub-b": cut([chunk("From B, cut", model="stub-b")]),
    }
    proc = run_cli("ask", "--json", "-m", "stub-a", "-m", "stub-b", "hi")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    a, b = json.loads(proc.stdout)["results"]
    assert I4_FIELDS <= set(a) and I4_FIELDS <= set(b)
    assert (a["status"], a["text"], a["tokens_exact"]) == ("ok", "From A.", True)
    assert (b["status"], b["text"]) == ("interrupted", "From B, cut")
    assert stored(a["answer_id"]).text == "From A."
    assert stored(b["answer_id"]).status == "interrupted"


def test_ask_all_ok_as_a_process_exits_0(openai_stub: StubServer, isolated_home: Path) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    openai_stub.script = SSE(completion("fine"))
    proc = run_cli("ask", "--json", "-m", "stub-a", "hi")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["status"] == "ok"


HOSTILE = "Hi \x1b]52;c;cm0gLXJmIH4=\x07there\x1b[2J\x1b[H\x1b]0;pwned\x1b\\ \x9b31mred\x07 ok\x1bc 漢字\ttab"


def test_plain_output_of_one_model_is_sanitized(openai_stub: StubServer, isolated_home: Path) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    # One delta cuts the OSC 52 sequence in two: neither half may reach the terminal raw.
    openai_stub.script = SSE([chunk(HOSTILE[:12]), chunk(HOSTILE[12:]), chunk(finish="stop")])
    proc = run_cli("ask", "-m", "stub-a", "hi")
    assert proc.returncode == 0, proc.stderr
    for bad in ("\x1b", "\x07", "\x9b"):
        assert bad not in proc.stdout and bad not in proc.stderr
    assert "there" in proc.stdout and "漢字\ttab" in proc.stdout
    assert "pwned" not in proc.stdout


def test_plain_output_of_several_models_is_sanitized(openai_stub: StubServer, isolated_home: Path) -> None:
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    openai_stub.script = SSE([chunk(HOSTILE), chunk(finish="stop")])
    proc = run_cli("ask", "-m", "stub-a", "-m", "stub-b", "hi")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x9b" not in proc.stdout
    assert proc.stdout.count("Hi there") == 2
    assert "(stub-a)" in proc.stdout and "(stub-b)" in proc.stdout


def test_ask_routed_sends_to_the_policys_pick_and_says_why(openai_stub: StubServer, isolated_home: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = {m: SSE(completion(f"from {m}")) for m in ("stub-a", "stub-b")}
    path = write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    path.write_text(path.read_text() + '\n[routing]\neasy = "stub-a"\nmedium = "stub-a"\nhard = "stub-b"\n')
    code = main(["ask", "--json", "-m", "routed", "Implement Dijkstra's shortest path in TypeScript."])
    captured = capsys.readouterr()
    assert code == 0
    assert [r["model"] for r in json.loads(captured.out)["results"]] == ["stub-b"]
    assert "routed: algorithm request" in captured.err and "hard → stub-b" in captured.err


def test_ask_x_prints_only_the_code_blocks(openai_stub: StubServer, isolated_home: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    answer = "Sure:\n\n```python\ndef f():\n    return '\x1b]0;pwned\x07'\n```\n\nand prose after.\n"
    openai_stub.script = {"stub-a": SSE(completion(answer)), "stub-b": SSE(completion("No code, sorry."))}
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    assert main(["ask", "-x", "-m", "stub-a", "hi"]) == 0
    out = capsys.readouterr().out
    assert out == "def f():\n    return ''\n"  # the title-setting escape is gone, the code kept
    assert main(["ask", "-x", "-m", "stub-a", "-m", "stub-b", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# stub-a\ndef f():")
    assert "stub-b: no code block in the answer" in captured.err
    assert main(["ask", "-x", "--json", "-m", "stub-a", "hi"]) == 2
