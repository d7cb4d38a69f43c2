"""The stream reader process (providers/reader_process.py, reader_main.py): a real child process
reading from the stub server on 127.0.0.1, driven through ``runner.stream_answer`` as the app
drives it."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal
from pathlib import Path

import pytest

from servers.openai_stub import SSE, StubServer, chunk, completion, error_status, stall
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import RetryNotice, StreamEvent, TextDelta
from workbench.providers.reader_process import ReaderProcess
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

REQUEST = ChatRequest(prompt="Say hi.")


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def reader(tmp_path: Path):
    process = ReaderProcess(tmp_path / "reader.log")
    yield process
    await process.close()


def result_for(stub: StubServer, **provider_kw):
    provider = ProviderConfig(name="stub", kind="openai", base_url=stub.base_url, **provider_kw)
    model = ModelInfo(id="stub-a", provider="stub", name="A", upstream="stub-a",
                      prices=Prices(input_per_m=Decimal(1), output_per_m=Decimal(2)))
    return new_result(model, provider, REQUEST, TokenCounter())


async def run(stub: StubServer, reader: ReaderProcess, **kw):
    seen: list[StreamEvent] = []
    sleep = FakeSleep()
    async with make_client() as client:
        result = await stream_answer(client, result_for(stub), seen.append, sleep=sleep, rand=lambda: 0.0,
                                     reader=reader, **kw)
    return result, seen, sleep


def connections_to(pid: int, port: int) -> int:
    """How many TCP connections a process holds open to ``port`` (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            count += remote_port == port and fields[9] in inodes
    return count


async def until(predicate, steps: int = 200, delay: float = 0.05) -> None:
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(delay)
    raise AssertionError("never happened")


async def test_an_answer_read_in_the_reader_equals_the_inline_one(openai_stub: StubServer, reader) -> None:
    openai_stub.script = SSE(completion("Hello from **another** process.", model="stub-a-2026", reasoning="hmm"))
    remote, _, _ = await run(openai_stub, reader)
    async with make_client() as client:
        inline = await stream_answer(client, result_for(openai_stub), None)
    assert remote.status is inline.status is AnswerStatus.OK
    assert (remote.text, remote.reasoning, remote.served_model, remote.finish_reason) == (
        inline.text, inline.reasoning, inline.served_model, inline.finish_reason)
    assert remote.text == "Hello from **another** process." and remote.served_model == "stub-a-2026"
    assert remote.reading().exact and remote.reading().cost == inline.reading().cost
    assert reader.running and reader.process.pid != os.getpid()


async def test_text_comes_in_batches_not_one_event_per_token(openai_stub: StubServer, reader) -> None:
    words = [f"w{i} " for i in range(400)]
    openai_stub.script = SSE([chunk("", role="assistant"), *(chunk(w) for w in words), chunk(finish="stop")])
    result, seen, _ = await run(openai_stub, reader)
    deltas = [e for e in seen if isinstance(e, TextDelta)]
    assert result.text == "".join(words)
    assert len(deltas) < 200  # 400 deltas were sent; the reader joins what came within 20 ms


async def test_a_retryable_error_crosses_typed_and_the_apps_retry_policy_applies(openai_stub: StubServer, reader) -> None:
    openai_stub.script = [error_status(429, "Rate limit reached", headers={"Retry-After": "2"}),
                          SSE(completion("Second try."))]
    result, seen, sleep = await run(openai_stub, reader)
    assert result.status is AnswerStatus.OK and result.text == "Second try." and result.retries == 1
    assert sleep.calls == [2.0]
    assert [e.message for e in seen if isinstance(e, RetryNotice)] == [
        "429 rate limited — retrying in 2 s (try 2 of 3)"]


async def test_a_final_error_crosses_typed_and_is_sent_once(openai_stub: StubServer, reader) -> None:
    openai_stub.script = [error_status(401, "Incorrect API key provided"), SSE(completion("never"))]
    result, _, sleep = await run(openai_stub, reader)
    assert isinstance(result.error, errors.AuthError) and result.error.http_status == 401
    assert "Incorrect API key" in result.error.message
    assert len(openai_stub.requests) == 1 and sleep.calls == []


async def test_a_deadline_or_a_cancel_closes_the_connection_in_the_reader(openai_stub: StubServer, reader) -> None:
    openai_stub.script = stall([chunk("partial ")])
    await reader.start()
    pid, port = reader.process.pid, openai_stub.port
    result, _, _ = await run(openai_stub, reader, deadline_s=1.0)
    assert result.status is AnswerStatus.INTERRUPTED and result.text == "partial "
    assert "deadline" in result.error.message
    await until(lambda: connections_to(pid, port) == 0)

    result = result_for(openai_stub)
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result, None, reader=reader))
        await until(lambda: result.text == "partial ")
        assert connections_to(pid, port) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert result.status is AnswerStatus.CANCELLED and result.text == "partial "
    await until(lambda: connections_to(pid, port) == 0)
    openai_stub.script = SSE(completion("Still serving."))
    again, _, _ = await run(openai_stub, reader)
    assert again.text == "Still serving." and reader.process.pid == pid


async def test_a_reader_that_dies_fails_its_streams_and_the_next_one_restarts_it(
        openai_stub: StubServer, reader, tmp_path: Path) -> None:
    openai_stub.script = stall([chunk("partial ")])
    result = result_for(openai_stub)
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result, None, reader=reader))
        await until(lambda: result.text == "partial ")
        old_pid = reader.process.pid
        os.kill(old_pid, signal.SIGKILL)
        await task
    assert result.status is AnswerStatus.INTERRUPTED and result.text == "partial "
    assert "stream reader process ended unexpectedly" in result.error.message
    assert str(tmp_path / "reader.log") in result.error.message
    openai_stub.script = SSE(completion("Back again."))
    again, _, _ = await run(openai_stub, reader)
    assert again.status is AnswerStatus.OK and again.text == "Back again."
    assert reader.process.pid != old_pid


async def test_close_ends_the_process_and_fails_what_still_streams(openai_stub: StubServer, reader) -> None:
    openai_stub.script = stall([chunk("partial ")])
    result = result_for(openai_stub)
    async with make_client() as client:
        task = asyncio.create_task(stream_answer(client, result, None, reader=reader))
        await until(lambda: result.text == "partial ")
        process = reader.process
        await reader.close()
        await task
    assert process.returncode is not None and not reader.running
    assert result.status is AnswerStatus.INTERRUPTED and "stream reader process was stopped" in result.error.message
    await reader.close()  # twice is harmless


async def test_a_large_log_starts_afresh(tmp_path: Path) -> None:
    log = tmp_path / "reader.log"
    log.write_bytes(b"x" * 1_000_001)
    process = ReaderProcess(log)
    await process.start()
    await process.close()
    assert log.stat().st_size == 0


async def test_an_unknown_provider_kind_fails_in_the_app_before_any_process_work(reader) -> None:
    with pytest.raises(errors.ProviderError, match="not supported"):
        reader.provider(ProviderConfig(name="x", kind="smoke-signals", base_url="http://127.0.0.1:1"), None)
    assert not reader.running
