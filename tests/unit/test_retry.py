"""The retry policy (providers/retry.py): what is retried, how long it waits, and that a call is
never replayed once its answer began. Backoff runs on a fake sleep: no test waits for it."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from servers.openai_stub import SSE, StubServer, Status, chunk, completion, cut, error_status
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, Prices, ProviderConfig
from workbench.providers import errors
from workbench.providers.http import http_status_error, transport_error
from workbench.providers.events import RetryNotice, ServedModel, StreamEvent, TextDelta
from workbench.providers.retry import (
    RetryPolicy,
    backoff,
    is_retryable,
    notice,
    plan_retry,
    stream_with_retries,
)
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

REQUEST = ChatRequest(prompt="Say hi.")
QUOTA_BODY = (b'{"error": {"message": "You exceeded your current quota, please check your plan and billing '
              b'details.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}')


class FakeSleep:
    """Records each wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def status_error(status: int, headers: dict | None = None, body: bytes = b"") -> errors.HTTPStatusError:
    return http_status_error(status, f"HTTP {status}", httpx.Headers(headers or {}), body)


# --- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_transient_statuses_are_retried(status: int) -> None:
    assert is_retryable(status_error(status))


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    assert not is_retryable(status_error(status))


def test_insufficient_quota_is_not_retried() -> None:
    assert not is_retryable(status_error(429, body=QUOTA_BODY))
    # the same wording from an adapter that does not set ``retryable`` (fallback on the message)
    assert not is_retryable(errors.RateLimitError("HTTP 429: You exceeded your current quota, please check"))
    assert is_retryable(errors.RateLimitError("HTTP 429: Rate limit reached for requests"))


def test_x_should_retry_header_overrides_the_status() -> None:
    assert not is_retryable(status_error(503, {"x-should-retry": "false"}))
    assert is_retryable(status_error(400, {"x-should-retry": "true"}))


@pytest.mark.parametrize(("exc", "started", "retried"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), False, True),
    (httpx.ConnectTimeout("timed out"), False, True),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), False, True),
    (httpx.ReadTimeout("timed out"), False, True),  # waiting for the headers
    (httpx.ReadTimeout("timed out"), True, False),  # between chunks: the body had begun
    (httpx.ReadError("reset"), True, False),
    (httpx.ConnectError("[Errno -2] Name or service not known"), False, False),
    (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), False, True),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), False, False),
])
def test_transport_failures(exc: httpx.HTTPError, started: bool, retried: bool) -> None:
    assert is_retryable(transport_error(exc, started=started, read_timeout=5)) is retried


@pytest.mark.parametrize("exc", [
    errors.StreamCutError("cut"), errors.DecodeError("bad"), errors.StreamErrorEvent("error event"),
    errors.MissingKeyError("no key"),
])
def test_failures_of_an_answered_call_are_not_retried(exc: errors.ProviderError) -> None:
    assert not is_retryable(exc)


# --- how long it waits ------------------------------------------------------------------------


def test_backoff_is_openai_pythons() -> None:
    policy = RetryPolicy()
    assert [backoff(n, policy, 0.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert [backoff(n, policy, 1.0) for n in range(3)] == [0.375, 0.75, 1.5]  # jitter: up to −25 %


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after": "2.5"}, 2.5),
    ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
    ({"retry-after": "0"}, 0.5),  # 0 is not a usable hint: backoff
    ({"retry-after": "soon"}, 0.5),
    ({}, 0.5),
])
def test_server_wait_is_honoured(headers: dict, expected: float) -> None:
    assert plan_retry(status_error(503, headers), 0, RetryPolicy(), rand=0.0) == expected


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    delay = plan_retry(status_error(429, {"retry-after": when}), 0, RetryPolicy(), rand=0.0)
    assert delay is not None and 25 <= delay <= 31


def test_a_wait_beyond_the_cap_fails_at_once_and_says_when() -> None:
    exc = status_error(429, {"retry-after": "300"})
    assert plan_retry(exc, 0, RetryPolicy(), rand=0.0) is None
    assert "wait 5 min" in exc.message and str(exc) == exc.message


def test_a_wait_past_the_deadline_is_not_started() -> None:
    exc = status_error(503, {"retry-after": "20"})
    assert plan_retry(exc, 0, RetryPolicy(), rand=0.0, remaining=10.0) is None
    assert "deadline" in exc.message


def test_retries_stop_at_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert plan_retry(status_error(503), 1, policy, rand=0.0) == 1.0
    assert plan_retry(status_error(503), 2, policy, rand=0.0) is None


def test_notice_text() -> None:
    assert notice(status_error(429), 2.0, 2, 3) == RetryNotice(
        "429 rate limited — retrying in 2 s (try 2 of 3)", 2, 3, 2.0)
    assert notice(status_error(503), 0.4, 3, 3).message == "503 server error — retrying in 0.4 s (try 3 of 3)"
    refused = transport_error(httpx.ConnectError("Connection refused"), started=False, read_timeout=1)
    assert notice(refused, 1.0, 2, 3).message.startswith("connection refused — retrying in 1 s")


# --- the wrapper, with a scripted provider ----------------------------------------------------


def scripted(*outcomes: list[StreamEvent] | errors.ProviderError | tuple):
    """open_stream for stream_with_retries: each call plays the next outcome. A tuple is
    (events, error): the events, then the error."""
    calls: list[int] = []

    def open_stream() -> AsyncIterator[StreamEvent]:
        outcome = outcomes[min(len(calls), len(outcomes) - 1)]
        calls.append(1)

        async def gen():
            events, error = outcome if isinstance(outcome, tuple) else (
                ([], outcome) if isinstance(outcome, errors.ProviderError) else (outcome, None))
            for e in events:
                yield e
            if error is not None:
                raise error
        return gen()

    return open_stream, calls


async def collect(open_stream, policy=RetryPolicy(), sleep=None, **kw):
    sleep = sleep or FakeSleep()
    seen: list[StreamEvent] = []
    try:
        async for e in stream_with_retries(open_stream, policy, sleep=sleep, rand=lambda: 0.0, **kw):
            seen.append(e)
    except errors.ProviderError as exc:
        return seen, exc, sleep
    return seen, None, sleep


async def test_retries_until_the_call_succeeds() -> None:
    open_stream, calls = scripted(status_error(503), status_error(502), [TextDelta("hi")])
    seen, err, sleep = await collect(open_stream)
    assert err is None and len(calls) == 3
    assert sleep.calls == [0.5, 1.0]
    assert [type(e) for e in seen] == [RetryNotice, RetryNotice, TextDelta]
    assert [(n.attempt, n.attempts) for n in seen[:2]] == [(2, 3), (3, 3)]


async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    last = status_error(500)
    open_stream, calls = scripted(status_error(503), status_error(503), last)
    seen, err, _ = await collect(open_stream)
    assert err is last and len(calls) == 3 and len(seen) == 2


async def test_max_retries_zero_sends_once() -> None:
    open_stream, calls = scripted(status_error(503), [TextDelta("never")])
    seen, err, sleep = await collect(open_stream, RetryPolicy(max_retries=0))
    assert isinstance(err, errors.ServerError) and len(calls) == 1 and seen == [] and sleep.calls == []


async def test_never_replayed_once_an_event_came() -> None:
    retryable = transport_error(httpx.ConnectError("refused"), started=False, read_timeout=1)
    assert is_retryable(retryable)
    open_stream, calls = scripted(([ServedModel("m")], retryable), [TextDelta("x")])
    seen, err, _ = await collect(open_stream)
    assert err is retryable and len(calls) == 1 and seen == [ServedModel("m")]


async def test_deadline_is_read_from_the_clock() -> None:
    open_stream, calls = scripted(status_error(503, {"retry-after": "5"}), [TextDelta("x")])
    seen, err, _ = await collect(open_stream, clock=lambda: 100.0, deadline_at=104.0)
    assert isinstance(err, errors.ServerError) and len(calls) == 1 and seen == []
    open_stream, calls = scripted(status_error(503, {"retry-after": "5"}), [TextDelta("x")])
    seen, err, _ = await collect(open_stream, clock=lambda: 100.0, deadline_at=106.0)
    assert err is None and len(calls) == 2


# --- end to end: the runner against the stub server ------------------------------------------


def result_for(stub: StubServer, **provider_kw):
    provider = ProviderConfig(name="stub", kind="openai", base_url=stub.base_url, **provider_kw)
    model = ModelInfo(id="stub-a", provider="stub", name="A", upstream="stub-a",
                      prices=Prices(input_per_m=Decimal(1), output_per_m=Decimal(1)))
    return new_result(model, provider, REQUEST, TokenCounter())


async def run(stub: StubServer, deadline_s: float | None = None, sleep=None, **provider_kw):
    seen: list[StreamEvent] = []
    sleep = sleep or FakeSleep()
    async with make_client() as client:
        result = await stream_answer(client, result_for(stub, **provider_kw), seen.append, deadline_s,
                                     sleep=sleep, rand=lambda: 0.0)
    return result, [e for e in seen if isinstance(e, RetryNotice)], sleep


async def test_429_then_503_then_ok(openai_stub: StubServer) -> None:
    openai_stub.script = [
        error_status(429, "Rate limit reached for requests", headers={"Retry-After": "2"}),
        Status(503, "<html><title>busy</title></html>", content_type="text/html"),
        SSE(completion("Third time lucky.")),
    ]
    result, notices, sleep = await run(openai_stub)
    assert result.status is AnswerStatus.OK and result.text == "Third time lucky."
    assert [n.message for n in notices] == [
        "429 rate limited — retrying in 2 s (try 2 of 3)",
        "503 server error — retrying in 1 s (try 3 of 3)",
    ]
    assert sleep.calls == [2.0, 1.0]
    assert len(openai_stub.requests) == 3 and result.retries == 2
    assert result.reading().exact  # the meter holds only the successful try's usage


async def test_retries_exhausted_keeps_the_servers_message(openai_stub: StubServer) -> None:
    openai_stub.script = error_status(500, "The server had an error while processing your request")
    result, notices, _ = await run(openai_stub, max_retries=1)
    assert result.status is AnswerStatus.ERROR and isinstance(result.error, errors.ServerError)
    assert "while processing your request" in result.error.message
    assert len(openai_stub.requests) == 2 and len(notices) == 1


@pytest.mark.parametrize("reply", [
    Status(429, QUOTA_BODY, content_type="application/json"),
    error_status(401, "Incorrect API key provided"),
    error_status(404, "The model `stub-a` does not exist"),
    error_status(400, "max_tokens is too large"),
])
async def test_final_errors_are_sent_once(openai_stub: StubServer, reply) -> None:
    openai_stub.script = [reply, SSE(completion("must not be reached"))]
    result, notices, sleep = await run(openai_stub)
    assert result.status is AnswerStatus.ERROR
    assert len(openai_stub.requests) == 1 and notices == [] and sleep.calls == []


async def test_retry_after_beyond_the_cap_is_not_waited_for(openai_stub: StubServer) -> None:
    openai_stub.script = [error_status(429, "slow down", headers={"Retry-After": "3600"}), SSE(completion("no"))]
    result, notices, sleep = await run(openai_stub)
    assert isinstance(result.error, errors.RateLimitError)
    assert "wait 60 min" in result.error.message
    assert len(openai_stub.requests) == 1 and sleep.calls == []


async def test_no_retry_once_text_arrived(openai_stub: StubServer) -> None:
    openai_stub.script = [cut([chunk("partial ")]), SSE(completion("replayed"))]
    result, notices, _ = await run(openai_stub)
    assert result.status is AnswerStatus.INTERRUPTED and result.text == "partial "
    assert len(openai_stub.requests) == 1 and notices == []


async def test_connection_refused_is_retried_then_reported() -> None:
    from types import SimpleNamespace

    with StubServer() as stub:
        base_url = stub.base_url
    # the stub is stopped: nothing listens on its port now
    result, notices, sleep = await run(SimpleNamespace(base_url=base_url))
    assert isinstance(result.error, errors.ConnectError) and "refused" in result.error.message
    assert [n.message.split(" — ")[0] for n in notices] == ["connection refused"] * 2
    assert sleep.calls == [0.5, 1.0]


async def test_deadline_too_near_for_the_servers_wait(openai_stub: StubServer) -> None:
    openai_stub.script = [error_status(503, "busy", headers={"Retry-After": "50"}), SSE(completion("no"))]
    result, notices, sleep = await run(openai_stub, deadline_s=30)
    assert result.status is AnswerStatus.ERROR and "deadline" in result.error.message
    assert len(openai_stub.requests) == 1 and sleep.calls == []


async def test_deadline_ends_a_wait_in_progress(openai_stub: StubServer) -> None:
    import asyncio

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    openai_stub.script = [error_status(429, "slow", headers={"Retry-After": "0.1"}), SSE(completion("no"))]
    result, notices, _ = await run(openai_stub, deadline_s=0.5, sleep=never)
    assert result.status is AnswerStatus.ERROR and len(notices) == 1
    assert isinstance(result.error, errors.ReadTimeoutError) and "deadline" in result.error.message
    assert len(openai_stub.requests) == 1
