"""Anthropic Messages API, streamed: `POST {base_url}/messages` (PROTOCOLS §2, §10).

The stream is SSE with an ``event:`` name and a matching ``"type"`` in every data object:
``message_start`` (model, input usage) → per content block ``content_block_start`` /
``content_block_delta``* / ``content_block_stop`` → ``message_delta`` (stop reason, usage) →
``message_stop``, with ``ping`` anywhere and ``error`` (e.g. ``overloaded_error``) possible
mid-stream. Anthropic may add event types and says clients must ignore unknown ones, so we do.

Usage is normalised to the convention of ``UsageReport`` (input includes cache reads and cache
writes, output includes reasoning); see ``_Usage.report`` for how each field maps.

``stop_reason: "refusal"`` (with ``stop_details`` giving a category and an explanation) ends the
stream with ``RefusalError`` after the usage: the runner keeps any text that came first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

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
from workbench.providers.http import (
    error_body,
    http_status_error,
    is_whole_json,
    open_stream,
    reject_html,
    request_timeout,
)
from workbench.providers.payload import json_count, json_table
from workbench.providers.sse import SSEDecoder, SSEEvent
from workbench.providers.text import one_line, redact

ANTHROPIC_VERSION = "2023-06-01"

# The API rejects a request without max_tokens. 4096 is the smallest output limit of any
# Claude model still served (Claude 3 Haiku), so this default is valid for every model;
# `--max-tokens` or `[defaults] max_tokens` raises it.
DEFAULT_MAX_TOKENS = 4096

# Anthropic accepts temperatures 0–1 (400 otherwise), while our settings follow OpenAI's 0–2.
# We clamp rather than rescale: a 0.2 means the same thing to both, and a 1.5 meant for
# OpenAI becomes Anthropic's most random setting instead of a failed request.
MAX_TEMPERATURE = 1.0


class AnthropicProvider:
    """`POST {base_url}/messages` with `stream: true` (base_url like https://api.anthropic.com/v1)."""

    kind = "anthropic"
    reports_usage = True

    def __init__(self, config: ProviderConfig, api_key: str | None) -> None:
        self.config = config
        self._key = api_key

    def build_payload(self, model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
        """The JSON body for one streamed request (the system prompt is top-level, not a message)."""
        payload: dict[str, Any] = {
            "model": model.upstream,
            "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": request.prompt}],
            "stream": True,
        }
        if request.system:
            payload["system"] = request.system
        temperature = model.temperature if model.temperature is not None else request.temperature
        if temperature is not None:
            payload["temperature"] = min(max(float(temperature), 0.0), MAX_TEMPERATURE)
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if self._key:
            headers["x-api-key"] = self._key
        return headers

    async def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the typed events of one streamed message."""
        cfg = self.config
        state = _MessageState(self._key)
        async with open_stream(
            client,
            f"{cfg.base_url.rstrip('/')}/messages",
            json=self.build_payload(model, request),
            headers=self._headers(),
            timeout=request_timeout(cfg),
            read_timeout=cfg.read_timeout,
            status_error=self._status_error,
        ) as response:
            await reject_html(response, self._key, "an event stream")
            if is_whole_json(response):
                events, refusal = _whole_message(await response.aread(), self._key)
                for event in events:
                    yield event
                if refusal is not None:
                    raise refusal
                return
            try:
                async for event in self._events(response, state):
                    yield event
            except (httpx.HTTPError, errors.ProviderError) as exc:
                # The answer failed after message_delta: its output count is Anthropic's
                # "authoritative total used for billing", so the meter keeps exact numbers
                # for what was paid for even though the answer is interrupted.
                if state.usage.final and not state.reported:
                    yield state.usage.report()
                refusal = state.refusal_error()
                if refusal is not None and not isinstance(exc, errors.RefusalError):
                    # message_delta said "refusal" before the connection failed: that is
                    # what happened to the answer, the cut only came after.
                    raise refusal from None
                raise

    async def _status_error(self, response: httpx.Response) -> errors.ProviderError:
        status = response.status_code
        body, message = await error_body(response, self._key)
        if status == 529:
            # Anthropic's own status, which httpx has no reason phrase for.
            message = message.replace("HTTP 529 error", "HTTP 529 overloaded", 1)
        if status == 404 and "model" not in message.lower():
            message += " (check the base_url, e.g. https://api.anthropic.com/v1, and the model id)"
        # The headers and body also decide whether the runner may retry (Retry-After on any
        # status, so a 529 or 503 keeps its wait; x-should-retry, which Anthropic sends; a 429
        # whose error type is billing_error): see providers/retry.py.
        return http_status_error(status, redact(message, self._key), response.headers, body)

    async def _events(self, response: httpx.Response, state: _MessageState) -> AsyncIterator[StreamEvent]:
        decoder = SSEDecoder()
        async for raw in response.aiter_bytes():
            for sse in decoder.feed(raw):
                for event in state.handle(sse):
                    yield event
                if state.stopped:
                    _raise_refusal(state)
                    return
        # The body ended without message_stop's blank line (the SDK's own fixture does this):
        # a spec-strict decoder would drop that last event, so end its line and event here.
        for sse in decoder.feed(b"\n\n"):
            try:
                events = state.handle(sse)
            except errors.DecodeError:
                # Half an event: the connection ended mid-line, not a malformed server.
                raise errors.StreamCutError("the stream ended in the middle of an event") from None
            for event in events:
                yield event
            if state.stopped:
                _raise_refusal(state)
                return
        # A refusal whose message_stop never came is still a refusal, not merely a cut.
        _raise_refusal(state)
        stray = _stray_error(decoder.stray_lines)
        if stray:
            raise errors.StreamErrorEvent(one_line(redact(stray, self._key)))
        junk = [line for line in decoder.stray_lines if line.strip()]
        if not state.dispatched and junk:
            # Not one SSE event, only other text (a proxy's plain-text error): say what came.
            first = one_line(redact(junk[0], self._key), 120)
            raise errors.DecodeError(f"the server sent text that is not an event stream: {first!r}")
        raise errors.StreamCutError("the stream ended before it was complete (no message_stop)")


class _Usage:
    """The usage fields seen so far; later values replace earlier ones (they are cumulative)."""

    FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.thinking_tokens: int | None = None
        #: cache writes with the one-hour lifetime (``cache_creation.ephemeral_1h_input_tokens``)
        self.write_1h_tokens: int | None = None
        self.seen = False
        #: True once a message_delta carried usage: its output count is the final one.
        self.final = False

    def update(self, usage: Any, *, final: bool) -> None:
        if not isinstance(usage, dict):
            return
        self.seen = True
        self.final = self.final or final
        for name in self.FIELDS:
            value = json_count(usage.get(name))
            if value is not None:
                # Replace, never add: message_delta's counts are totals so far, not increments.
                self.counts[name] = value
        thinking = json_count(json_table(usage.get("output_tokens_details")).get("thinking_tokens"))
        if thinking is not None:
            self.thinking_tokens = thinking
        # The 5-minute/1-hour split rides on message_start; message_delta often repeats only the
        # total (recorded streams), so a split once seen is kept.
        write_1h = json_count(json_table(usage.get("cache_creation")).get("ephemeral_1h_input_tokens"))
        if write_1h is not None:
            self.write_1h_tokens = write_1h

    def report(self) -> UsageReport:
        """The usage in our convention (PROTOCOLS §10).

        Anthropic's ``input_tokens`` excludes the cache, so billable input is
        ``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``: input_tokens
        includes both cache reads and cache writes. Cached input is the cache reads (billed at
        about 0.1× input). Cache writes, which cost a premium (1.25× input for the 5-minute
        cache, 2× for the 1-hour one), are ``cache_write_tokens`` (``cache_creation_input_tokens``),
        of which ``cache_write_1h_tokens`` from ``cache_creation.ephemeral_1h_input_tokens``; the
        5-minute part is the rest. Output is taken as reported; it includes thinking tokens, as
        our convention wants.
        """
        counts = self.counts
        base = counts.get("input_tokens")
        created = counts.get("cache_creation_input_tokens", 0)
        read = counts.get("cache_read_input_tokens", 0)
        # Unknown stays unknown (None), unless the cache fields alone say what was sent.
        total_input = None if base is None and not (created or read) else (base or 0) + created + read
        # The split cannot exceed the total it splits (a stale message_start value, say).
        write_1h = min(self.write_1h_tokens or 0, created)
        return UsageReport(
            input_tokens=total_input,
            output_tokens=counts.get("output_tokens", 0),
            reasoning_tokens=self.thinking_tokens,
            cached_input_tokens=read,
            cache_write_tokens=created,
            cache_write_1h_tokens=write_1h,
        )


class _MessageState:
    """What one stream has said so far; turns SSE events into typed events."""

    def __init__(self, key: str | None) -> None:
        self._key = key
        self.usage = _Usage()
        self.served: str | None = None
        self.stop_reason: str | None = None
        #: ``delta.stop_details`` of a refusal: its category and explanation
        self.stop_details: dict[str, Any] = {}
        self.stopped = False
        self.dispatched = False
        #: the usage report has been yielded (a refusal raises after it: not twice)
        self.reported = False

    def handle(self, sse: SSEEvent) -> list[StreamEvent]:
        """The events for one SSE event (raises ``StreamErrorEvent`` on an ``error`` event)."""
        self.dispatched = True
        data = sse.data.strip()
        if not data:
            return []
        try:
            obj = json.loads(data)
        except ValueError:
            # Redact before cutting: a key echoed by the server must not leak, even in part (Q5).
            snippet = redact(data, self._key)[:80].replace("\n", " ")
            raise errors.DecodeError(f"malformed event from the server: {snippet!r}") from None
        if not isinstance(obj, dict):
            raise errors.DecodeError("malformed event from the server (not a JSON object)")
        # The data's "type" is authoritative; the SSE name covers a server that omits it.
        kind = obj.get("type") if isinstance(obj.get("type"), str) else sse.event
        try:
            return self._handle(kind, obj, sse.event)
        except (AttributeError, TypeError, ValueError):
            # Valid JSON of an unexpected shape: adapters raise only ProviderError, so the pane
            # shows a message instead of the worker crashing.
            raise errors.DecodeError("malformed event from the server (unexpected JSON shape)") from None

    def _handle(self, kind: str, obj: dict[str, Any], sse_name: str) -> list[StreamEvent]:
        if kind == "error" or sse_name == "error":
            raise errors.StreamErrorEvent(_error_event_message(obj, self._key))
        if kind == "message_start":
            message = json_table(obj.get("message"))
            out: list[StreamEvent] = []
            model = message.get("model")
            if isinstance(model, str) and model and model != self.served:
                self.served = model
                out.append(ServedModel(model))
            # message_start's output_tokens is a placeholder (1–5); message_delta replaces it.
            self.usage.update(message.get("usage"), final=False)
            return out
        if kind == "content_block_start":
            block = json_table(obj.get("content_block"))
            # Blocks start empty today; text here (allowed by the schema) is not dropped.
            return _block_text(block.get("type"), block.get("text"), block.get("thinking"))
        if kind == "content_block_delta":
            delta = json_table(obj.get("delta"))
            # signature_delta, input_json_delta (tool input), citations_delta: nothing to show.
            return _block_text(
                {"text_delta": "text", "thinking_delta": "thinking"}.get(delta.get("type")),
                delta.get("text"),
                delta.get("thinking"),
            )
        if kind == "message_delta":
            delta = json_table(obj.get("delta"))
            stop = delta.get("stop_reason")
            if isinstance(stop, str) and stop:
                self.stop_reason = stop
            if isinstance(delta.get("stop_details"), dict):
                self.stop_details = delta["stop_details"]
            self.usage.update(obj.get("usage"), final=True)
            return []
        if kind == "message_stop":
            self.stopped = True
            # One report, at the end, with the last (cumulative) numbers.
            report = [self.usage.report()] if self.usage.seen else []
            self.reported = bool(report)
            if self.stop_reason == "refusal":
                # No StreamEnd: once the report is out (the prompt and any output are billed),
                # the caller raises ``refusal_error()``.
                return report
            return [*report, StreamEnd(self.stop_reason)]
        # ping, content_block_stop, and event types added after this was written.
        return []

    def refusal_error(self) -> errors.RefusalError | None:
        """The error for ``stop_reason: "refusal"``, with the category and explanation if sent."""
        if self.stop_reason != "refusal":
            return None
        return _refusal(self.stop_details, self._key)


def _raise_refusal(state: _MessageState) -> None:
    refusal = state.refusal_error()
    if refusal is not None:
        raise refusal


def _refusal(details: dict[str, Any], key: str | None) -> errors.RefusalError:
    """`stop_details` `{"type":"refusal","category":"cyber","explanation":"…"}` as one line."""
    explanation = details.get("explanation")
    category = details.get("category")
    said = f": {explanation}" if isinstance(explanation, str) and explanation.strip() else ""
    where = f"category {category}; " if isinstance(category, str) and category else ""
    # Redact, then cut to one line: the explanation is the server's text.
    return errors.RefusalError(one_line(redact(f"the model refused{said} ({where}stop_reason refusal)", key), 300))


def _block_text(block_type: Any, text: Any, thinking: Any) -> list[StreamEvent]:
    if block_type == "text" and isinstance(text, str) and text:
        return [TextDelta(text)]
    if block_type == "thinking" and isinstance(thinking, str) and thinking:
        return [ReasoningDelta(thinking)]
    # redacted_thinking (encrypted), tool_use and server tool blocks carry no readable text.
    return []


def _error_event_message(obj: dict[str, Any], key: str | None) -> str:
    """`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` in one line."""
    err = obj.get("error")
    if isinstance(err, dict):
        err_type, message = err.get("type"), err.get("message")
        detail = ": ".join(str(part) for part in (err_type, message) if part) or "unknown error"
    else:
        detail = str(err) if err else "unknown error"
    # Redact, then cut to one line: a server may put a whole traceback in the message.
    return one_line(redact(f"the server reported an error mid-stream: {detail}", key))


def _whole_message(body: bytes, key: str | None) -> tuple[list[StreamEvent], errors.RefusalError | None]:
    """A JSON body in place of a stream (a proxy that ignored `stream: true`, or an error): its
    events, and the refusal to raise after them, if it was one."""
    try:
        data = json.loads(body)
    except ValueError:
        raise errors.DecodeError("the server sent a body that is neither SSE nor JSON") from None
    if not isinstance(data, dict):
        raise errors.DecodeError("the server sent JSON that is not a message")
    if data.get("type") == "error" or "error" in data:
        raise errors.StreamErrorEvent(_error_event_message(data, key).replace(" mid-stream", "", 1))
    if data.get("type") != "message":
        raise errors.DecodeError("the server sent JSON that is not a message")
    events: list[StreamEvent] = []
    if isinstance(data.get("model"), str) and data["model"]:
        events.append(ServedModel(data["model"]))
    for block in data.get("content") or ():
        block = json_table(block)
        events += _block_text(block.get("type"), block.get("text"), block.get("thinking"))
    usage = _Usage()
    usage.update(data.get("usage"), final=True)
    if usage.seen:
        events.append(usage.report())
    stop = data.get("stop_reason")
    if stop == "refusal":
        # The caller yields the events before it raises this (the prompt is billed).
        details = data.get("stop_details")
        return events, _refusal(details if isinstance(details, dict) else {}, key)
    events.append(StreamEnd(stop if isinstance(stop, str) else None))
    return events, None


def _stray_error(lines: list[str]) -> str | None:
    """An error body that arrived outside SSE (a proxy's raw JSON after or instead of events)."""
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and (obj.get("type") == "error" or obj.get("error")):
            err = obj.get("error")
            message = err.get("message") if isinstance(err, dict) else err
            return f"the server reported an error: {message or 'unknown error'}"
    return None
