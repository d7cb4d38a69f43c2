"""Ollama's native chat API, streamed: `POST {base_url}/api/chat`, NDJSON (PROTOCOLS §4.1).

One JSON object per line: content in ``message.content``, reasoning in ``message.thinking``,
an ``{"error": "…"}`` line when the model fails mid-stream (status stays 200), and a last
object with ``done: true``, ``done_reason`` and the token counts (``eval_count`` output,
``prompt_eval_count`` input — absent when zero, e.g. a fully cached prompt on old builds).

``base_url`` is the server's root (``http://127.0.0.1:11434``). A trailing ``/api``,
``/api/chat`` or ``/v1`` is tolerated and dropped: users copy URLs from Ollama's docs, whose
OpenAI-compatible examples end in ``/v1``, and this kind always speaks the native API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import (
    ReasoningDelta,
    ServedModel,
    StreamEnd,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from workbench.providers.http import error_body, http_status_error, open_stream, reject_html, request_timeout
from workbench.providers.payload import json_count
from workbench.providers.text import one_line, redact

# A line longer than this is not a chat chunk but a runaway body; stop before memory does.
MAX_LINE = 16 * 1024 * 1024

# (base_url, upstream) of models that answered 400 "does not support thinking": asked again
# without `think`, and not offered it again in this process (saves a round trip per answer).
_NO_THINKING: set[tuple[str, str]] = set()


def api_root(base_url: str) -> str:
    """The server root for a configured base_url (drops a trailing /api, /api/chat or /v1)."""
    root = base_url.rstrip("/")
    for suffix in ("/api/chat", "/api", "/v1"):
        if root.endswith(suffix):
            return root[: -len(suffix)]
    return root


class _ThinkingUnsupported(Exception):
    """Raised by the status check of ``OllamaProvider.stream`` to ask again without ``think``
    (a 400 "does not support thinking"); caught there, never seen by callers."""


class OllamaProvider:
    """`POST {root}/api/chat` with `stream: true`; usage from the final `done: true` line."""

    kind = "ollama"
    # True although `prompt_eval_count` may be missing: then the report's input is None and the
    # meter keeps its input estimate while the output count is still exact.
    reports_usage = True

    def __init__(self, config: ProviderConfig, api_key: str | None) -> None:
        self.config = config
        self._key = api_key

    @property
    def url(self) -> str:
        """The endpoint every request goes to."""
        return f"{api_root(self.config.base_url)}/api/chat"

    def build_payload(self, model: ModelInfo, request: ChatRequest, *, think: bool = True) -> dict[str, Any]:
        """The JSON body for one streamed request (``think`` asks for separate reasoning)."""
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        payload: dict[str, Any] = {"model": model.upstream, "messages": messages, "stream": True}
        if think:
            # Without it, older servers inline a thinking model's reasoning as <think> tags in
            # the answer; with it, reasoning arrives apart in `message.thinking`.
            payload["think"] = True
        options: dict[str, Any] = {}
        temperature = model.temperature if model.temperature is not None else request.temperature
        if temperature is not None:
            options["temperature"] = temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if options:
            payload["options"] = options
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/x-ndjson", "Content-Type": "application/json"}
        if self._key:
            # Plain Ollama ignores it; hosted Ollama behind an auth proxy needs it.
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    async def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the typed events of one streamed chat."""
        cfg = self.config
        timeout = request_timeout(cfg)
        think_key = (cfg.base_url, model.upstream)
        think = think_key not in _NO_THINKING

        async def status_error(response: httpx.Response) -> errors.ProviderError:
            error = await self._status_error(response, model)
            if think and response.status_code == 400 and "support thinking" in error.message:
                raise _ThinkingUnsupported
            return error

        while True:
            try:
                async with open_stream(
                    client, self.url, json=self.build_payload(model, request, think=think),
                    headers=self._headers(), timeout=timeout, read_timeout=cfg.read_timeout,
                    status_error=status_error, on_transport_error=self._connection_hint,
                ) as response:
                    async for event in self._body(response):
                        yield event
                    return
            except _ThinkingUnsupported:
                # Not a failure of the answer: this model cannot think, so ask plainly.
                _NO_THINKING.add(think_key)
                think = False

    def _connection_hint(self, exc: httpx.HTTPError, error: errors.ProviderError) -> errors.ProviderError:
        """A refused connection reworded to say which server and how to start it."""
        if isinstance(exc, httpx.ConnectError) and (_refused(exc) or "refused" in error.message):
            # Reworded in place, so the error keeps the ``retryable`` that transport_error
            # set: a server that is still starting up may answer the next try.
            error.message = f"connection refused by {self._host()} (is `ollama serve` running?)"
            error.args = (error.message,)
        return error

    def _host(self) -> str:
        # host:port only: a URL may carry user:password, which must not reach a message (Q5).
        parts = urlsplit(self.config.base_url)
        return f"{parts.hostname or '?'}:{parts.port}" if parts.port else (parts.hostname or "the server")

    async def _status_error(self, response: httpx.Response, model: ModelInfo) -> errors.ProviderError:
        body, message = await error_body(response, self._key)
        if response.status_code == 404:
            if "model" in message.lower():
                message += f" (pull it with `ollama pull {model.upstream}`)"
            else:
                message += " (check the base_url: the Ollama server's root, e.g. http://127.0.0.1:11434)"
        # Headers and body decide whether the runner may retry (Retry-After on any status, e.g.
        # a 503 while the model loads): see providers/retry.py.
        return http_status_error(response.status_code, redact(message, self._key), response.headers, body)

    async def _body(self, response: httpx.Response) -> AsyncIterator[StreamEvent]:
        await reject_html(response, self._key, "an NDJSON stream")
        if "text/event-stream" in response.headers.get("content-type", ""):
            raise errors.DecodeError(
                "the server sent an SSE stream, not Ollama's NDJSON; for an OpenAI-compatible "
                'server use kind = "openai"'
            )
        state = _ChatState(self._key)
        lines = NDJSONLines()
        async for raw in response.aiter_bytes():
            for line in lines.feed(raw):
                for event in state.parse_line(line):
                    yield event
                if state.done:
                    break
            if state.done:
                break
        if not state.done and lines.tail.strip():
            # The body ended without a newline after its last line: use it if it is whole.
            for event in state.parse_tail(lines.tail):
                yield event
        if not state.done:
            raise errors.StreamCutError("the stream ended before it was complete (no `done: true` line)")
        yield StreamEnd(state.done_reason)


class NDJSONLines:
    """Splits a byte stream into text lines, whatever the network's read boundaries.

    Lines are cut at the byte ``\\n`` (which never occurs inside a UTF-8 multibyte sequence)
    and decoded only once whole, so a character split across reads is reassembled intact.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already known to hold no newline

    def feed(self, data: bytes) -> list[str]:
        """The complete, non-blank lines that ``data`` finishes."""
        if self._scanned > MAX_LINE:
            # Checked before the next read, so the lines completed so far were already used.
            raise errors.DecodeError(f"a line of the stream is longer than {MAX_LINE // (1024 * 1024)} MB")
        self._buf += data
        out: list[str] = []
        start = 0
        while True:
            end = self._buf.find(b"\n", max(start, self._scanned))
            if end < 0:
                break
            line = self._buf[start:end].decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if line:
                out.append(line)
            start = end + 1
        del self._buf[:start]
        # Remember how far the unfinished line was searched: a huge line arriving in many
        # small reads is then scanned once, not once per read.
        self._scanned = len(self._buf)
        return out

    @property
    def tail(self) -> str:
        """What came after the last newline."""
        return self._buf.decode("utf-8", errors="replace").strip().lstrip("\ufeff")


class _ChatState:
    """What one stream has said so far; turns NDJSON objects into events."""

    def __init__(self, key: str | None) -> None:
        self._key = key
        self.served: str | None = None
        self.done = False
        self.done_reason: str | None = None
        self.generated = False  # any text or thinking arrived

    def parse_line(self, line: str) -> list[StreamEvent]:
        """The events of one complete line (DecodeError if it is not a JSON object)."""
        try:
            obj = json.loads(line)
        except ValueError:
            # Redact before cutting: a key echoed by the server must not leak, even in part (Q5).
            snippet = redact(line, self._key)[:80]
            raise errors.DecodeError(f"malformed line from the server: {snippet!r}") from None
        return self.parse_obj(obj)

    def parse_tail(self, tail: str) -> list[StreamEvent]:
        """The events of an unterminated last line; one that does not parse was cut short."""
        try:
            obj = json.loads(tail)
        except ValueError:
            raise errors.StreamCutError("the stream ended in the middle of a line (no `done: true` line)") from None
        return self.parse_obj(obj)

    def parse_obj(self, obj: Any) -> list[StreamEvent]:
        """The events of one decoded object."""
        if not isinstance(obj, dict):
            raise errors.DecodeError("malformed line from the server (not a JSON object)")
        try:
            return self._parse_obj(obj)
        except (AttributeError, TypeError, ValueError):
            # Valid JSON of an unexpected shape (e.g. "message": "text"): adapters raise only
            # ProviderError, so the pane shows a message instead of the worker crashing.
            raise errors.DecodeError("malformed line from the server (unexpected JSON shape)") from None

    def _parse_obj(self, obj: dict[str, Any]) -> list[StreamEvent]:
        err = obj.get("error")
        if err:
            message = err.get("message") if isinstance(err, dict) else err
            # Redact, then cut to one line: a server may put a whole traceback in the message.
            text = redact(f"the server reported an error mid-stream: {message or err}", self._key)
            raise errors.StreamErrorEvent(one_line(text))
        out: list[StreamEvent] = []
        model = obj.get("model")
        if isinstance(model, str) and model and model != self.served:
            self.served = model
            out.append(ServedModel(model))
        message = obj.get("message")
        if message is not None:
            if not isinstance(message, dict):
                raise TypeError("message is not an object")
            thinking = message.get("thinking")
            if isinstance(thinking, str) and thinking:
                out.append(ReasoningDelta(thinking))
            content = message.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(content))
            self.generated = self.generated or bool(thinking or content)
        if obj.get("done") is True:
            self.done = True
            reason = obj.get("done_reason")
            self.done_reason = reason if isinstance(reason, str) and reason else None
            usage = self._usage(obj)
            if usage is not None:
                out.append(usage)
        return out

    def _usage(self, obj: dict[str, Any]) -> UsageReport | None:
        # Ollama omits zero counts. A missing eval_count after generated text is therefore not
        # "0 tokens" but an unreported count: no report, and the meter keeps its estimates.
        output = _count(obj.get("eval_count"))
        if output is None and self.generated:
            return None
        inputs = _count(obj.get("prompt_eval_count"))
        # prompt_eval_count is the whole prompt, cache hits included (ollama PR #17943): the
        # UsageReport convention. A cached count without a total would exceed the estimate.
        cached = _count(obj.get("prompt_eval_cached_count")) if inputs is not None else None
        return UsageReport(input_tokens=inputs, output_tokens=output or 0, cached_input_tokens=cached or 0)


def _refused(exc: BaseException) -> bool:
    """True when a ConnectionRefusedError lies under ``exc``.

    httpx on anyio words a refusal "All connection attempts failed"; the errno is only on the
    OSError it wraps.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ConnectionRefusedError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _count(value: Any) -> int | None:
    """A token count from JSON, or None; a negative one (a broken server) counts as 0."""
    count = json_count(value)
    return None if count is None else max(0, count)
