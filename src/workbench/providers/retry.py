"""Sending a model call again when it failed before its answer began (Q3, PROTOCOLS §1.5, §9).

Wraps any adapter's ``stream()`` from the outside, so adapters need no retry code of their own.
The rules, after openai-python's (§1.5) with two deliberate differences noted below:

* Only before the body has started: once the adapter has yielded any event, a failure is final
  (the partial answer is already billed and a replay would double it).
* Retried: connection failures (refused, reset, connect timeout), a read timeout while waiting
  for the response headers, and HTTP 408, 409, 429 and 5xx (Anthropic's 529 included).
* Never retried: 400, 401, 403, 404 and other 4xx; a 429 that says the quota or credit is used
  up (``insufficient_quota``: waiting does not refill it); TLS failures; an unknown host. DNS
  failure is final on purpose: in practice it is a typo in ``base_url`` or a machine that is
  offline, and three tries only delay the message. (``EAI_AGAIN``, "temporary failure in name
  resolution", is the exception and is retried.) Malformed bodies, HTML pages and error events
  on a 200 stream are not retried either: the server answered, just badly.
* The wait: the server's ``retry-after-ms`` / ``Retry-After`` when it is > 0 and at most
  ``max_retry_after`` (60 s, as the Anthropic SDK; openai-python now allows 120 s). Beyond the
  cap the call fails at once and its message says when to try again, instead of a pane frozen
  for minutes. Otherwise ``min(0.5 · 2^n, 8) · (1 − 0.25 · random())`` for the n-th retry.
* At most ``max_retries`` retries (default 2: three tries), and never a wait that would end
  after the answer's deadline.

The contract for an adapter (what lets this module decide without knowing the dialect):

1. Raise a ``ProviderError`` before yielding anything when the request fails before its body.
2. Give HTTP errors ``http_status`` and a ``retry_after`` attribute in seconds (``None`` if the
   server sent no hint) — ``base.http_status_error`` does both from the response headers and
   also reads ``x-should-retry`` and ``insufficient_quota``.
3. Optionally set ``retryable = True/False`` on an error to override the rules above (e.g.
   Gemini's daily-quota 429, or an Anthropic ``overloaded_error`` it knows is safe to replay).
   ``base.transport_error`` sets it for httpx failures.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from workbench.providers import errors
from workbench.providers.events import RetryNotice, StreamEvent

DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429})

Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait (the defaults are the official SDKs')."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0


def is_retryable(exc: errors.ProviderError) -> bool:
    """Whether a failure before the body started is worth sending again."""
    override = getattr(exc, "retryable", None)
    if isinstance(override, bool):
        return override
    if isinstance(exc, errors.HTTPStatusError):
        status = exc.http_status or 0
        if status == 429 and _says_quota(exc.message):
            return False
        return status in RETRY_STATUSES or status >= 500
    if isinstance(exc, errors.ConnectError):
        low = exc.message.lower()
        if low.startswith(("unknown host", "tls failure")):
            return "temporary failure" in low
        return True
    return isinstance(exc, errors.ReadTimeoutError)


def _says_quota(message: str) -> bool:
    # Fallback for adapters that do not set ``retryable``: OpenAI's wording and error code.
    low = message.lower()
    return "insufficient_quota" in low or "exceeded your current quota" in low


def retry_after_of(exc: errors.ProviderError) -> float | None:
    """The server's requested wait in seconds, if it sent a usable one."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if value > 0 else None


def backoff(retries_taken: int, policy: RetryPolicy, rand: float) -> float:
    """Exponential backoff with jitter (openai-python's ``_calculate_retry_timeout``)."""
    delay = min(policy.initial_delay * 2 ** min(retries_taken, 1000), policy.max_delay)
    return delay * (1 - 0.25 * rand)


def plan_retry(
    exc: errors.ProviderError,
    retries_taken: int,
    policy: RetryPolicy,
    *,
    rand: float,
    remaining: float | None = None,
) -> float | None:
    """Seconds to wait before the next try, or None to give up (with ``exc`` then final).

    When the server's wait is beyond the cap or the deadline comes first, the message of
    ``exc`` is extended to say so, since that is what the user sees.
    """
    if retries_taken >= policy.max_retries or not is_retryable(exc):
        return None
    after = retry_after_of(exc)
    if after is not None and after > policy.max_retry_after:
        _amend(exc, f"the server asks to wait {format_seconds(after)} before trying again")
        return None
    delay = after if after is not None else backoff(retries_taken, policy, rand)
    if remaining is not None and delay >= remaining:
        _amend(exc, f"not retried: the wait of {format_seconds(delay)} would pass the answer's deadline")
        return None
    return delay


def _amend(exc: errors.ProviderError, note: str) -> None:
    exc.message = f"{exc.message} ({note})"
    exc.args = (exc.message,)


def describe(exc: errors.ProviderError) -> str:
    """A few words for what went wrong, as a retry notice starts: '429 rate limited'."""
    status = exc.http_status
    if isinstance(exc, errors.RateLimitError) or status == 429:
        return f"{status or 429} rate limited"
    if status == 529:
        return "529 overloaded"
    if status is not None and status >= 500:
        return f"{status} server error"
    if status == 408:
        return "408 request timeout"
    if status == 409:
        return "409 conflict"
    if status is not None:
        return f"HTTP {status}"
    if isinstance(exc, errors.ReadTimeoutError):
        return "no response (timeout)"
    low = exc.message.lower()
    if "refused" in low:
        return "connection refused"
    if "timed out" in low:
        return "connection timed out"
    return "network error"


def format_seconds(seconds: float) -> str:
    """'0.4 s', '2 s', '45 s', '3 min', '2 h' — how long a wait is, for a person."""
    if seconds < 1:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{round(seconds)} s"
    if seconds < 7200:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def notice(exc: errors.ProviderError, delay: float, attempt: int, attempts: int) -> RetryNotice:
    """The event a pane shows while waiting: '429 rate limited — retrying in 2 s (try 2 of 3)'."""
    text = f"{describe(exc)} — retrying in {format_seconds(delay)} (try {attempt} of {attempts})"
    return RetryNotice(text, attempt, attempts, delay)


async def stream_with_retries(
    open_stream: Callable[[], AsyncIterator[StreamEvent]],
    policy: RetryPolicy,
    *,
    sleep: Sleep | None = None,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] | None = None,
    deadline_at: float | None = None,
    on_attempt: Callable[[int], object] | None = None,
) -> AsyncIterator[StreamEvent]:
    """The events of ``open_stream()``, opened again after a retryable failure before its first
    event; a ``RetryNotice`` is yielded before each wait.

    ``sleep``, ``rand`` and ``clock`` are seams for tests (a fake sleep makes backoff instant);
    ``deadline_at`` is on ``clock``'s scale (default: the event loop's clock). ``on_attempt(n)``
    is called as try n (from 1) is sent, after any wait.
    """
    do_sleep = sleep or _sleep
    now = clock or asyncio.get_running_loop().time
    attempts = policy.max_retries + 1
    retries = 0
    while True:
        started = False
        if on_attempt is not None:
            on_attempt(retries + 1)
        try:
            async for event in open_stream():
                started = True
                yield event
            return
        except errors.ProviderError as exc:
            if started:
                raise
            remaining = None if deadline_at is None else deadline_at - now()
            delay = plan_retry(exc, retries, policy, rand=rand(), remaining=remaining)
            if delay is None:
                raise
            retries += 1
            yield notice(exc, delay, retries + 1, attempts)
            await do_sleep(delay)


async def _sleep(seconds: float) -> None:
    # Looked up at call time, so a test suite can make every backoff instant in one place
    # (monkeypatch ``workbench.providers.retry._sleep``) without touching each call.
    await asyncio.sleep(seconds)
