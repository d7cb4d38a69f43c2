"""An answer cut off at the token cap (issue 13, item 4): every vendor's spelling of it becomes
one finish reason, kept in the store beside the status (which stays ``ok``, I4), said as
"cut off (max tokens)" by the meter, `ask`'s meter line and `workbench history`, and counted
apart on the leaderboard in every format (I5's keys kept). Also `workbench history` at 80
columns (item 5): the prompt gets the room."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from rank_data import answer, score
from rich.console import Console

from servers.anthropic_fixtures import (
    MESSAGE_STOP,
    AnthropicStub,
    block_start,
    block_stop,
    message_delta,
    message_start,
    text_delta,
)
from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, completion
from workbench import paths
from workbench.cli import EXIT_OK, main
from workbench.domain import (
    AnswerStatus,
    ChatRequest,
    ModelInfo,
    Prices,
    ProviderConfig,
    RunRecord,
    cut_off_label,
    normalise_finish_reason,
)
from workbench.meter import saved_reading
from workbench.providers.http import make_client
from workbench.ranking.evidence import RankFilter
from workbench.ranking.stats import build_leaderboard
from workbench.render.meter_text import meter_line, meter_summary
from workbench.render.rank_report import CSV_COLUMNS, to_csv, to_json, to_markdown, to_rich_table
from workbench.runner import AnswerResult, new_result, stream_answer
from workbench.store.answers import create_run, finish_answer, get_answer, start_answer
from workbench.store.db import migrations, open_store
from workbench.store.history import get_run_detail, list_runs, split_room
from workbench.store.scores import answer_stats
from workbench.tokens import TokenCounter

CUT = "cut off (max tokens)"
TEXT = "def flatten(items):\n    for item in items:"
PROMPT = "Write a Python function that flattens a nested list of arbitrary depth"


# --- the vendors' spellings ----------------------------------------------------------------


@pytest.mark.parametrize(("raw", "normal"), [
    ("length", "length"),  # OpenAI, Ollama
    ("max_tokens", "length"),  # Anthropic
    ("MAX_TOKENS", "length"),  # Gemini
    ("model_context_window_exceeded", "context_window"),  # Anthropic, a full context
    ("stop", "stop"), ("end_turn", "stop"), ("STOP", "stop"), ("stop_sequence", "stop"),
    ("tool_calls", "tool_calls"), ("tool_use", "tool_calls"), ("unload", "unload"),
    (None, None), ("", None), ("  ", None), (42, None),
])
def test_every_vendors_finish_reason_has_one_spelling(raw, normal) -> None:
    assert normalise_finish_reason(raw) == normal


def test_only_a_limit_is_called_cut_off() -> None:
    assert cut_off_label("length") == CUT
    assert cut_off_label("context_window") == "cut off (context window)"
    assert [cut_off_label(r) for r in ("stop", "tool_calls", None)] == [None, None, None]


# --- four dialects, streamed from a real server, into the result, the meter and the store ---


def _gemini(finish: str) -> list[bytes]:
    def chunk(part: str, **extra) -> bytes:
        obj = {"candidates": [{"content": {"parts": [{"text": part}], "role": "model"}, **extra}],
               "modelVersion": "gemini-model"}
        if extra:
            obj["usageMetadata"] = {"promptTokenCount": 9, "candidatesTokenCount": 64, "totalTokenCount": 73}
        return b"data: " + json.dumps(obj).encode() + b"\r\n\r\n"

    head, _, tail = TEXT.partition(" ")
    return [chunk(head + " "), chunk(tail, finishReason=finish)]


def _ollama(finish: str) -> list[bytes]:
    lines = [{"model": "m", "message": {"role": "assistant", "content": TEXT}, "done": False},
             {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": finish,
              "prompt_eval_count": 9, "eval_count": 64}]
    return [json.dumps(line).encode() + b"\n" for line in lines]


def _anthropic(finish: str) -> list[bytes]:
    return [message_start("claude-stub-1", input_tokens=9), block_start(0), text_delta(TEXT), block_stop(0),
            message_delta(64, stop_reason=finish), MESSAGE_STOP]


# kind, the stub's routes and base path, the vendor's cap and natural end, the stream
DIALECTS = {
    "openai": ((("/chat/completions",), "/v1"), "length", "stop",
               lambda f: completion(TEXT, prompt_tokens=9, completion_tokens=64, finish=f)),
    "anthropic": ((("/messages",), "/v1"), "max_tokens", "end_turn", _anthropic),
    "gemini": (((":streamGenerateContent",), "/v1beta"), "MAX_TOKENS", "STOP", _gemini),
    "ollama": ((("/api/chat",), ""), "length", "stop", _ollama),
}


async def _stream(kind: str, finish: str) -> AnswerResult:
    (routes, base), _, _, stream = DIALECTS[kind]
    reply = SSE(stream(finish), content_type="application/x-ndjson" if kind == "ollama" else "text/event-stream")
    stub = AnthropicStub(reply) if kind == "anthropic" else StubServer(reply, routes=routes, base_path=base)
    with stub:
        provider = ProviderConfig(name="p", kind=kind, base_url=stub.base_url)
        model = ModelInfo(id="m", provider="p", name="M", upstream="m",
                          prices=Prices(Decimal("1"), Decimal("2")))
        result = new_result(model, provider, ChatRequest(prompt=PROMPT, max_tokens=64), TokenCounter())
        async with make_client() as client:
            return await stream_answer(client, result)


@pytest.mark.parametrize("kind", list(DIALECTS))
async def test_a_cut_off_answer_is_ok_and_cut_off_in_every_dialect(kind: str) -> None:
    result = await _stream(kind, DIALECTS[kind][1])
    assert result.status is AnswerStatus.OK, result.error
    assert result.text == TEXT
    assert result.finish_reason == DIALECTS[kind][1]  # as the vendor spelled it (ask --json prints it)
    assert (result.stop_reason, result.cut_off) == ("length", True)
    reading = result.reading()
    assert (reading.status, reading.shown_status) == ("ok", CUT)
    assert CUT in meter_line(result) and " · ok" not in meter_line(result)
    final = result.final_record()
    assert (final.status, final.finish_reason, final.cut_off) == (AnswerStatus.OK, "length", True)


@pytest.mark.parametrize("kind", list(DIALECTS))
async def test_a_natural_end_is_not_cut_off(kind: str) -> None:
    result = await _stream(kind, DIALECTS[kind][2])
    assert result.status is AnswerStatus.OK
    assert (result.stop_reason, result.cut_off) == ("stop", False)
    assert result.reading().shown_status == "ok" and CUT not in meter_line(result)


def test_a_failed_answer_is_never_cut_off() -> None:
    # the finish reason comes with the stream's normal end: a later failure outranks it
    result = new_result(ModelInfo("m", "p", "M", "m"), ProviderConfig("p", "openai", "http://127.0.0.1:9"),
                        ChatRequest(prompt="x"), TokenCounter())
    result.finish_reason, result.status = "length", AnswerStatus.INTERRUPTED
    assert result.stop_reason is None and not result.cut_off and result.final_record().finish_reason is None


# --- the store -----------------------------------------------------------------------------


def _store_answer(store, run_id: int, model: ModelInfo, *, cut: bool, text: str = TEXT) -> int:
    result = new_result(model, ProviderConfig("p", "openai", "http://127.0.0.1:9"), ChatRequest(prompt=PROMPT),
                        TokenCounter())
    result.text_parts.append(text)
    result.status, result.finish_reason = AnswerStatus.OK, ("length" if cut else "stop")
    result.meter.start()
    result.meter.finish("ok", finish_reason=result.stop_reason)
    answer_id = start_answer(store, run_id, result.start_record())
    finish_answer(store, answer_id, result.final_record())
    return answer_id


MODELS = [ModelInfo("stub-a", "stub", "Stub Alpha", "stub-a", Prices(Decimal(1), Decimal(2))),
          ModelInfo("stub-b", "stub", "Stub Beta", "stub-b", Prices(Decimal(1), Decimal(4)))]


def _seed(path: Path) -> tuple[int, int, int]:
    """A run with one cut-off answer (stub-a) and one whole one (stub-b)."""
    store = open_store(path)
    try:
        run_id = create_run(store, RunRecord(PROMPT, task="flatten"))
        cut = _store_answer(store, run_id, MODELS[0], cut=True)
        whole = _store_answer(store, run_id, MODELS[1], cut=False)
    finally:
        store.close()
    return run_id, cut, whole


def test_the_store_keeps_the_finish_reason_and_the_status_stays_ok(tmp_path: Path) -> None:
    run_id, cut, whole = _seed(tmp_path / "s.sqlite3")
    store = open_store(tmp_path / "s.sqlite3")
    try:
        a, b = get_answer(store, cut), get_answer(store, whole)
        assert (a.status, a.finish_reason, a.cut_off) == ("ok", "length", True)
        assert (b.status, b.finish_reason, b.cut_off) == ("ok", "stop", False)
        (summary,) = list_runs(store)
        assert (summary.cut_off, summary.scored_text) == (1, "0/2 ✂1")
        assert [x.cut_off for x in get_run_detail(store, run_id).answers] == [True, False]
        stats = {s.model_id: s.cut_off for s in answer_stats(store, RankFilter())}
        assert stats == {"stub-a": True, "stub-b": False}
    finally:
        store.close()


def test_a_store_from_before_the_finish_reason_is_migrated_and_reads_none(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for version, sql in migrations():
        if version <= 4:
            conn.executescript(sql)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO runs (created_at, prompt) VALUES ('2026-01-01T00:00:00Z', 'old')")
    conn.execute("INSERT INTO answers (run_id, model_id, model_name, provider, upstream_model, status, text,"
                 " created_at, updated_at) VALUES (1, 'm', 'M', 'p', 'm', 'ok', 'old text', 'x', 'x')")
    conn.commit()
    conn.close()
    store = open_store(path)
    try:
        assert store.schema_version == migrations()[-1][0] >= 5
        old = get_answer(store, 1)
        assert (old.status, old.finish_reason, old.cut_off) == ("ok", None, False)
        assert list_runs(store)[0].cut_off == 0
    finally:
        store.close()


def test_a_reopened_answers_reading_says_cut_off() -> None:
    reading = saved_reading(input_tokens=9, output_tokens=64, reasoning_tokens=None, exact=True,
                            cost_usd=Decimal("0.0001"), ttft_ms=100, duration_ms=900, status="ok",
                            finish_reason="length")
    assert reading.shown_status == CUT and meter_summary(reading).endswith(CUT)
    failed = saved_reading(input_tokens=9, output_tokens=0, reasoning_tokens=None, exact=True, cost_usd=None,
                           ttft_ms=None, duration_ms=900, status="error", finish_reason="length")
    assert failed.shown_status == "error"


# --- workbench history ---------------------------------------------------------------------


@pytest.fixture
def seeded(isolated_home: Path) -> int:
    write_stub_config(isolated_home, "http://127.0.0.1:9", {"stub-a": {"name": "Stub Alpha"},
                                                            "stub-b": {"name": "Stub Beta"}})
    return _seed(paths.store_file())[0]


def _cli(capsys, monkeypatch, columns: int, *args: str) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(list(args)) == EXIT_OK
    return capsys.readouterr().out


def test_history_at_80_columns_gives_the_prompt_the_room(seeded, capsys, monkeypatch) -> None:
    out = _cli(capsys, monkeypatch, 80, "history")
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    header = next(line for line in lines if "Prompt" in line)
    row = next(line for line in lines if "flatten:" in line)
    # the prompt starts before the middle and runs to the edge: it has more room than the rest
    assert header.index("Prompt") < 40 and row.rstrip().endswith("…")
    shown = row[row.index("flatten: ") + len("flatten: "):].rstrip().rstrip("…")
    assert len(shown) >= 30 and PROMPT.startswith(shown), row
    assert "0/2 ✂1" in row and "✂N: N answers cut off at max tokens" in out


def test_history_wide_names_the_models_too(seeded, capsys, monkeypatch) -> None:
    out = _cli(capsys, monkeypatch, 200, "history")
    assert "Stub Alpha, Stub Beta" in out and f"flatten: {PROMPT}" in out


def test_history_show_and_json_say_cut_off(seeded, capsys, monkeypatch) -> None:
    out = _cli(capsys, monkeypatch, 120, "history", "--show", str(seeded))
    assert f"Stub Alpha · {CUT} · not scored" in out and "Stub Beta · ok · not scored" in out
    data = json.loads(_cli(capsys, monkeypatch, 120, "history", "--show", str(seeded), "--json"))
    assert [(a["status"], a["finish_reason"], a["cut_off"]) for a in data["answers"]] == [
        ("ok", "length", True), ("ok", "stop", False)]
    assert json.loads(_cli(capsys, monkeypatch, 120, "history", "--json"))[0]["cut_off"] == 1


@pytest.mark.parametrize(("room", "models", "prompt", "split"), [
    (120, 30, 70, (30, 89)),  # both fit: the prompt column takes the rest
    (47, 40, 70, (0, 47)),  # 80 columns: a quarter for the models would leave the prompt < 40
    (67, 40, 70, (16, 50)),  # 100 columns: a quarter (at least 12) for the models
    (47, 10, 30, (10, 36)),  # short prompts: the models keep their room
])
def test_split_room_puts_the_prompt_first(room, models, prompt, split) -> None:
    assert split_room(room, models, prompt) == split


# --- the leaderboard -----------------------------------------------------------------------


def _board():
    answers = [replace(answer("a", cost="0.001"), cut_off=True), answer("a", cost="0.001"),
               answer("b", cost="0.002")]
    return build_leaderboard([score("a", 8.0), score("b", 7.0)], answers, {})


def test_the_leaderboard_counts_cut_off_answers_apart_in_every_format() -> None:
    board = _board()
    assert {r.model_id: (r.answers, r.cut_off) for r in board.rows} == {"a": (2, 1), "b": (1, 0)}
    assert board.totals.cut_off == 1
    rows = json.loads(to_json(board))
    assert {"model", "score", "n", "price_per_m", "value", "flag"} <= set(rows[0])  # I5
    assert {r["model"]: r["cut_off"] for r in rows} == {"a": 1, "b": 0}
    records = list(csv.DictReader(io.StringIO(to_csv(board))))
    assert CSV_COLUMNS[-1] == "cut_off" and {r["model"]: r["cut_off"] for r in records} == {"a": "1", "b": "0"}
    md = to_markdown(board)
    assert "Cut off (max tokens): a 1 of 2 answers" in md and "over 3 answers, 1 cut off (max tokens)" in md
    console = Console(width=80, record=True, color_system=None, file=io.StringIO())
    console.print(to_rich_table(board))
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    row_a = next(line for line in text.splitlines() if line.startswith("1"))
    row_b = next(line for line in text.splitlines() if line.startswith("2"))
    assert "✂" in row_a and "✂" not in row_b
    assert "✂ Cut off (max tokens): a 1 of 2 answers" in text


def test_a_board_without_cut_off_answers_says_nothing_of_them() -> None:
    board = build_leaderboard([score("a", 8.0)], [answer("a", cost="0.001")], {})
    assert "Cut off" not in to_markdown(board) and "cut off" not in to_markdown(board)
    assert json.loads(to_json(board))[0]["cut_off"] == 0
