"""Suite sessions: progress read back from the store, resume, the cost estimate of the rest,
and `suite run` in-process."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from workbench import paths
from workbench.config import load_settings
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo
from workbench.meter import estimate_prompt_tokens
from workbench.providers import errors
from workbench.providers.events import UsageReport
from workbench.runner import new_result
from workbench.cli.common import CommandError
from workbench.store import Store, open_store
from workbench.domain import RunRecord
from workbench.store.answers import create_run, finish_answer, get_run, recover_orphans, start_answer
from workbench.store.suite_sessions import (
    Step,
    finish_session,
    get_session,
    latest_unfinished,
    list_sessions,
    next_steps,
    session_progress,
    start_session,
    typical_output_tokens,
)
from workbench.suites import (
    DEFAULT_OUTPUT_TOKENS,
    estimate_remaining_cost,
    parse_suite,
)
from workbench.tokens import TokenCounter

from suite_data import GOOD, NO_INPUT, PRICED, PROVIDER, suite_args, write_user_suite  # noqa: E402


@pytest.fixture
def store() -> Store:
    opened = open_store(paths.store_file())
    yield opened
    opened.close()


def add_answer(store: Store, run_id: int, model: ModelInfo, status: AnswerStatus, *,
               output_tokens: int = 100, usage: bool = True) -> int:
    result = new_result(model, PROVIDER, ChatRequest(prompt="p"), TokenCounter())
    answer_id = start_answer(store, run_id, result.start_record())
    result.meter.start()
    if status == AnswerStatus.ERROR:
        result.error = errors.ProviderError("boom")
    else:
        result.text_parts.append("answer text")
    if usage:
        result.meter.add_usage(UsageReport(input_tokens=10, output_tokens=output_tokens))
    result.status = status
    result.meter.finish(status.value)
    finish_answer(store, answer_id, result.final_record())
    return answer_id


def step_run(store: Store, session, task: str, repeat: int = 0) -> int:
    return create_run(store, RunRecord("p", task=task, suite=session.suite_id, source="suite", kind="structural", session_id=session.id, repeat=repeat))


def test_runs_carry_session_repeat_and_kind(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"], repeats=2, blind=True)
    assert get_session(store, session.id) == session
    assert (session.models, session.repeats, session.blind, session.finished) == (("priced", "no-input"), 2, True, False)
    run = get_run(store, step_run(store, session, "one", 1))
    assert (run.session_id, run.repeat, run.kind, run.source) == (session.id, 1, "structural", "suite")
    plain = get_run(store, create_run(store, RunRecord("free form")))
    assert (plain.session_id, plain.repeat, plain.kind) == (None, 0, None)
    with pytest.raises(ValueError):
        start_session(store, suite, [], repeats=1)


def test_latest_unfinished_matches_suite_models_version_and_repeats(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    old = start_session(store, suite, ["a", "b"])
    new = start_session(store, suite, ["b", "a"])
    start_session(store, suite, ["a"])
    assert latest_unfinished(store, "mini", ["a", "b"]) == new  # newest; model order does not matter
    finish_session(store, new.id)
    assert latest_unfinished(store, "mini", ["a", "b"]) == old
    assert latest_unfinished(store, "mini", ["a", "b"], sha256="0" * 64) is None
    assert latest_unfinished(store, "mini", ["a", "b"], repeats=3) is None
    assert latest_unfinished(store, "other", ["a", "b"]) is None
    assert [s.id for s in list_sessions(store, "mini", unfinished_only=True)] == [3, old.id]


def test_progress_counts_ok_and_error_as_done_and_redoes_interrupted_answers(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"], repeats=2)
    one = step_run(store, session, "one")
    add_answer(store, one, PRICED, AnswerStatus.OK)
    add_answer(store, one, NO_INPUT, AnswerStatus.ERROR)  # a definitive failure: done
    two = step_run(store, session, "two")
    add_answer(store, two, PRICED, AnswerStatus.OK)
    add_answer(store, two, NO_INPUT, AnswerStatus.CANCELLED)
    # no-input's answer to "two" left streaming by a process that is gone (kill -9)
    orphan = start_answer(store, two, new_result(NO_INPUT, PROVIDER, ChatRequest(prompt="p"), TokenCounter()).start_record())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    with store.transaction() as conn:
        conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (dead.pid, orphan))
    assert recover_orphans(store) == 1

    progress = session_progress(store, session, suite)
    assert progress.total_steps == 6 and progress.done_steps == 1 and progress.tasks_total == 3
    assert progress.tasks_done == 0  # "one" still has its second repeat to do
    assert progress.steps[1].statuses == {"priced": "ok", "no-input": "interrupted"}
    assert next_steps(progress) == [
        Step("two", 0, ("no-input",)), Step("dijkstra", 0, ("priced", "no-input")),
        Step("one", 1, ("priced", "no-input")), Step("two", 1, ("priced", "no-input")),
        Step("dijkstra", 1, ("priced", "no-input")),
    ]
    assert next_steps(progress, retry_errors=True)[0] == Step("one", 0, ("no-input",))
    assert progress.answers == 5 and progress.failed == 1 and not progress.complete

    # A redo of the interrupted model is added to the same run, and the step is done.
    add_answer(store, two, NO_INPUT, AnswerStatus.OK)
    progress = session_progress(store, session, suite)
    assert progress.steps[1].done and progress.steps[1].run_id == two
    assert next_steps(progress)[0] == Step("dijkstra", 0, ("priced", "no-input"))


def test_an_answer_cut_off_by_the_provider_or_the_deadline_is_done_but_a_stopped_one_is_not(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"])
    one = step_run(store, session, "one")
    add_answer(store, one, PRICED, AnswerStatus.INTERRUPTED)  # `suite run --timeout` cut it: kept as is
    orphan = start_answer(store, one, new_result(NO_INPUT, PROVIDER, ChatRequest(prompt="p"), TokenCounter()).start_record())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    with store.transaction() as conn:
        conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (dead.pid, orphan))
    assert recover_orphans(store) == 1  # its workbench died: asked again
    progress = session_progress(store, session, suite)
    assert progress.steps[0].statuses == {"priced": "error", "no-input": "interrupted"}
    assert next_steps(progress)[0] == Step("one", 0, ("no-input",))


def test_progress_spend_is_the_known_part_and_time_leaves_out_pauses(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced", "no-input"])
    first, second = step_run(store, session, "one"), step_run(store, session, "two")
    add_answer(store, first, PRICED, AnswerStatus.OK, output_tokens=1000)  # 10 × $1/M + 1000 × $2/M
    add_answer(store, second, NO_INPUT, AnswerStatus.OK, output_tokens=1000)  # input price unknown
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET created_at = ? WHERE id = ?", ("2026-01-01T10:00:00.000+00:00", first))
        conn.execute("UPDATE answers SET updated_at = ? WHERE run_id = ?", ("2026-01-01T10:00:30.000+00:00", first))
        conn.execute("UPDATE runs SET created_at = ? WHERE id = ?", ("2026-01-02T09:00:00.000+00:00", second))
        conn.execute("UPDATE answers SET updated_at = ? WHERE run_id = ?", ("2026-01-02T09:00:12.500+00:00", second))
    progress = session_progress(store, session, suite)
    assert progress.spend_known_usd == Decimal("0.00201") + Decimal("0.003")
    assert progress.spend_unknown
    assert progress.elapsed_s == pytest.approx(42.5)


def test_a_session_streamed_by_a_live_process_is_busy(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    session = start_session(store, suite, ["priced"])
    answer = start_answer(store, step_run(store, session, "one"), new_result(PRICED, PROVIDER, ChatRequest(prompt="p"), TokenCounter()).start_record())
    assert session_progress(store, session, suite).busy_pids == ()  # our own answer in flight
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with store.transaction() as conn:
            conn.execute("UPDATE answers SET pid = ? WHERE id = ?", (other.pid, answer))
        assert session_progress(store, session, suite).busy_pids == (other.pid,)
    finally:
        other.kill()
        other.wait(timeout=60)


# --- the estimate of the rest --------------------------------------------------------------


def test_estimate_uses_prices_the_default_length_and_never_prices_unknown_as_zero(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    counter = TokenCounter()
    est = estimate_remaining_cost(store, suite, [PRICED, NO_INPUT], [("one", 0), ("two", 0)], counter)
    ins = [estimate_prompt_tokens(counter, suite.task(t).message, suite.system) for t in ("one", "two")]
    million = Decimal(1_000_000)
    priced = sum((Decimal(i) * 1 + DEFAULT_OUTPUT_TOKENS * 2 for i in ins), Decimal(0)) / million
    no_input_output = 2 * DEFAULT_OUTPUT_TOKENS * Decimal(3) / million
    assert est.known_usd == priced + no_input_output
    assert est.per_model == {"priced": priced, "no-input": None}
    assert est.unknown == ("no-input: input price unknown",) and not est.complete
    assert est.output_tokens["priced"] == (DEFAULT_OUTPUT_TOKENS, "default")
    assert est.calls == 4
    assert est.text().startswith("≈ $") and est.text().endswith("(no-input: input price unknown) for 4 call(s)")
    nothing_priced = estimate_remaining_cost(store, suite, [ModelInfo(id="free", provider="gw", name="F",
                                                                      upstream="f")], [("one", 0)], counter)
    assert nothing_priced.text() == "unknown (free: input & output price unknown) for 1 call(s)"  # never "$0"


def test_estimate_uses_the_median_of_past_answers_and_only_the_models_a_step_lists(store: Store) -> None:
    suite = parse_suite(GOOD, "mini.toml")
    run = create_run(store, RunRecord("p", task="two"))
    for tokens in (100, 300, 2000):
        add_answer(store, run, PRICED, AnswerStatus.OK, output_tokens=tokens)
    add_answer(store, create_run(store, RunRecord("p", task="one")), PRICED, AnswerStatus.OK, output_tokens=50)
    add_answer(store, run, PRICED, AnswerStatus.ERROR, output_tokens=9999)  # not an ok answer: ignored
    typical = typical_output_tokens(store, ["priced", "no-input"], ["two"])
    assert typical == {("priced", None): 200, ("priced", "two"): 300}
    counter = TokenCounter()
    est = estimate_remaining_cost(store, suite, [PRICED, NO_INPUT], [Step("two", 0, ("priced",))], counter)
    tokens_in = estimate_prompt_tokens(counter, suite.task("two").message, suite.system)
    assert est.known_usd == (Decimal(tokens_in) + 300 * 2) / Decimal(1_000_000)
    assert est.output_tokens == {"priced": (300, "median of this task's past answers")}
    assert est.complete and est.calls == 1
    est = estimate_remaining_cost(store, suite, [PRICED], [("dijkstra", 0)], counter)
    assert est.output_tokens == {"priced": (200, "median of past answers")}


def test_no_store_means_default_lengths() -> None:
    suite = parse_suite(GOOD, "mini.toml")
    est = estimate_remaining_cost(None, suite, [PRICED], [("one", 0)], TokenCounter())
    assert est.output_tokens == {"priced": (DEFAULT_OUTPUT_TOKENS, "default")}


# --- suite run in this process (the subprocess tests are in tests/integration) -------------


def stub_settings(openai_stub, isolated_home: Path, models=("stub-a", "stub-b"), **kw):
    from servers.fixtures import write_stub_config

    return load_settings(write_stub_config(isolated_home, openai_stub.base_url, list(models), **kw))


def run_suite(settings, *argv: str) -> int:
    from workbench.cli.suite import run_suite_command

    return run_suite_command(settings, suite_args("run", *argv))


def test_a_failed_call_counts_as_answered_and_retry_failed_asks_only_it(
        openai_stub, isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    from servers.openai_stub import SSE, completion, error_status

    write_user_suite("mini.toml", GOOD)
    settings = stub_settings(openai_stub, isolated_home)
    openai_stub.script = {"stub-a": SSE(completion("fine", model="stub-a")),
                          "stub-b": error_status(400, "bad request for stub-b")}
    assert run_suite(settings, "mini", "-m", "stub-a", "-m", "stub-b") == 1
    out = capsys.readouterr().out
    assert "session 1 started" in out and "stub-b error (HTTP 400 Bad Request: bad request for stub-b)" in out
    assert "session 1 finished: 6 answer(s), 3 failed" in out
    assert len(openai_stub.requests) == 6

    openai_stub.script = {"stub-a": SSE(completion("again", model="stub-a")),
                          "stub-b": SSE(completion("now fine", model="stub-b"))}
    assert run_suite(settings, "mini", "--session", "1", "--retry-failed") == 0
    assert [r.json["model"] for r in openai_stub.requests[6:]] == ["stub-b"] * 3
    store = open_store(paths.store_file())
    try:
        progress = session_progress(store, get_session(store, 1), parse_suite(GOOD, "x"))
    finally:
        store.close()
    assert all(s.statuses == {"stub-a": "ok", "stub-b": "ok"} for s in progress.steps)
    assert progress.steps[0].run_id == 1 and progress.answers == 9  # the retries joined the runs


def test_run_refuses_mismatched_sessions_and_missing_keys(openai_stub, isolated_home: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    write_user_suite("mini.toml", GOOD)
    settings = stub_settings(openai_stub, isolated_home)
    assert run_suite(settings, "mini", "-m", "stub-a", "--blind") == 0
    assert "Model A ok" in capsys.readouterr().out  # blind: no names in the output
    with pytest.raises(CommandError, match="give --new or --session, not both"):
        run_suite(settings, "mini", "--new", "--session", "1")
    with pytest.raises(CommandError, match=r"session 1 asks stub-a; leave out -m"):
        run_suite(settings, "mini", "--session", "1", "-m", "stub-b")
    with pytest.raises(CommandError, match=r"no suite session 7"):
        run_suite(settings, "mini", "--session", "7")
    with pytest.raises(CommandError, match=r"session 1 is a session of suite 'mini', not 'coding-2026'"):
        run_suite(settings, "coding-2026", "--session", "1")
    with pytest.raises(CommandError, match="--repeat must be at least 1"):
        run_suite(settings, "mini", "-m", "stub-a", "--repeat", "0")
    from servers.fixtures import write_stub_config

    # a remote provider (never called: the run is refused before any request)
    keyed = load_settings(write_stub_config(isolated_home, "https://gw.invalid/v1", ["stub-a"],
                                            api_key_env="WB_TEST_STUB_KEY"))
    with pytest.raises(CommandError, match="stub-a: no API key: set the environment variable WB_TEST_STUB_KEY"):
        run_suite(keyed, "mini", "-m", "stub-a", "--new")
    store = open_store(paths.store_file())
    try:
        assert [s.id for s in list_sessions(store)] == [1]  # nothing was started for the refused runs
    finally:
        store.close()
