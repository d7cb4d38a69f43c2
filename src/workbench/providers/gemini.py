"""Google Gemini `streamGenerateContent?alt=sse` (PROTOCOLS §3, usage per §10).

Wire facts this adapter is built around:

* Each SSE ``data:`` is one GenerateContentResponse; there is no ``[DONE]``: the stream is
  complete after a chunk with ``finishReason``, so a stream that ends without one was cut off.
* Errors can arrive as raw (often pretty-printed) JSON *outside* SSE, mid-stream or as the
  whole body, sometimes wrapped in a JSON array, and so can a whole chunk (python-genai's own
  test stream). A spec-compliant SSE decoder drops those lines, so the decoder hands them back
  in order (``inline_strays``) and ``_StrayJSON`` joins them into JSON, as python-genai does.
* ``usageMetadata`` may ride on several chunks; only the last one is complete.

Decisions:

* The key goes in the ``x-goog-api-key`` header, never ``?key=``: URLs end up in exception
  texts, proxies' logs and error messages (Q5).
* Thoughts are not requested (no ``thinkingConfig``): PROTOCOLS only says what parts look like
  *with* ``includeThoughts``, not that every model accepts it, and a model without thinking may
  refuse the whole request. Parts marked ``thought: true`` are still shown as reasoning, and
  thought tokens are always counted (``thoughtsTokenCount``), so cost stays exact.
* A filter's finish (SAFETY, RECITATION, …) or a blocked prompt is a ``RefusalError``, not a
  normal end: an empty or filter-truncated answer saved as "ok" would be scored as if the model
  had answered. The usage is reported first (the prompt is billed), and the runner keeps any
  partial text (status ``interrupted``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

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

# Finish reasons that mean "the answer was withheld or cut by Gemini's filters": a refusal, as
# Anthropic's stop_reason "refusal" or OpenAI's content_filter (python-genai FinishReason), with
# what to tell the user. RECITATION is here too: Gemini withholds the rest of the answer on its
# own policy (quoting a source), which is what OpenAI's content_filter covers as well.
REFUSAL_FINISH = {
    "SAFETY": "blocked by Gemini's safety filters",
    "RECITATION": "stopped for reciting training data",
    "BLOCKLIST": "blocked for a forbidden term",
    "PROHIBITED_CONTENT": "blocked as prohibited content",
    "SPII": "blocked for sensitive personal information",
    "IMAGE_SAFETY": "blocked by Gemini's image safety filters",
    "IMAGE_PROHIBITED_CONTENT": "blocked as prohibited image content",
    "IMAGE_RECITATION": "stopped for reciting a source image",
}
# Finish reasons that end the answer abnormally without being a refusal. Others (STOP,
# MAX_TOKENS, unknown future ones) end the stream normally.
BLOCKING_FINISH = {
    "LANGUAGE": "stopped: the language is not supported",
}


class GeminiProvider:
    """`POST {base_url}/models/{model}:streamGenerateContent?alt=sse`, key in `x-goog-api-key`."""

    kind = "gemini"
    reports_usage = True

    def __init__(self, config: ProviderConfig, api_key: str | None) -> None:
        self.config = config
        self._key = api_key

    def url(self, model: ModelInfo) -> str:
        """The stream URL without its query (``alt=sse`` is sent as a parameter)."""
        name = model.upstream
        # "models/gemini-2.5-flash" (as Google's docs write it) and "tunedModels/x" are full
        # resource names already; a bare id gets the "models/" collection.
        if "/" not in name:
            name = f"models/{name}"
        return f"{self.config.base_url.rstrip('/')}/{quote(name, safe='/')}:streamGenerateContent"

    def build_payload(self, model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
        """The JSON body for one streamed request."""
        payload: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": request.prompt}]}]}
        if request.system:
            payload["systemInstruction"] = {"parts": [{"text": request.system}]}
        generation: dict[str, Any] = {}
        temperature = model.temperature if model.temperature is not None else request.temperature
        if temperature is not None:
            generation["temperature"] = temperature
        if request.max_tokens is not None:
            generation["maxOutputTokens"] = request.max_tokens
        if generation:
            payload["generationConfig"] = generation
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self._key:
            headers["x-goog-api-key"] = self._key
        return headers

    async def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the typed events of one streamed answer."""
        cfg = self.config
        async with open_stream(
            client,
            self.url(model),
            params={"alt": "sse"},
            json=self.build_payload(model, request),
            headers=self._headers(),
            timeout=request_timeout(cfg),
            read_timeout=cfg.read_timeout,
            status_error=self._status_error,
        ) as response:
            await reject_html(response, self._key, "an event stream")
            if is_whole_json(response):
                # Without alt=sse (a gateway dropping the query) Gemini sends one JSON array.
                for event in self._whole_response(await response.aread()):
                    yield event
                return
            async for event in self._events(response):
                yield event

    async def _status_error(self, response: httpx.Response) -> errors.ProviderError:
        status = response.status_code
        body, message = await error_body(response, self._key)
        google = _google_error(body.decode("utf-8", errors="replace"))
        if google is not None:
            # Google's own status name (RESOURCE_EXHAUSTED, …) says more than the reason phrase.
            reason = google.status or httpx.codes.get_reason_phrase(status) or "error"
            message = f"HTTP {status} {reason}: {one_line(google.message)}"
        if status == 404 and "model" not in message.lower():
            message += " (check the base_url and the model id)"
        message = redact(message, self._key)
        if google is not None and google.bad_key and status < 500:
            # Gemini answers a wrong key with 400 INVALID_ARGUMENT; it is an auth failure all
            # the same, and another try will not fix it.
            auth = errors.AuthError(message, http_status=status)
            auth.retryable = False  # type: ignore[attr-defined]
            return auth
        exc = http_status_error(status, message, response.headers, body)
        if google is not None:
            if getattr(exc, "retry_after", None) is None:
                # Gemini's hint is RetryInfo.retryDelay in the body, seldom a Retry-After header.
                exc.retry_after = google.retry_delay  # type: ignore[attr-defined]
            if status == 429:
                # Gemini words every 429 "You exceeded your current quota", which the retry
                # policy's fallback reads as "credit used up": decide here instead. A per-day
                # quota will not refill in seconds; a per-minute one will.
                exc.retryable = not google.daily_quota  # type: ignore[attr-defined]
        return exc

    async def _events(self, response: httpx.Response) -> AsyncIterator[StreamEvent]:
        # Stray lines come back in order among the events: a chunk sent without `data:` keeps
        # its place in the answer, and an error outside SSE is raised where it arrives.
        decoder = SSEDecoder(inline_strays=True)
        state = _StreamState(self._key)
        strays = _StrayJSON()
        async for raw in response.aiter_bytes():
            for sse in decoder.feed(raw):
                for event in _handle(sse, state, strays):
                    yield event
        # Gemini may end on a `data:` line with no blank line after it (or no newline at all);
        # the SSE rules would drop that event, but it is complete JSON and often the one with
        # the finishReason and the final usage, so close it off by hand.
        for sse in decoder.feed(b"\n\n"):
            for event in _handle(sse, state, strays, at_eof=True):
                yield event
        strays.at_eof(self._key)
        for event in state.finish(decoder):
            yield event

    def _whole_response(self, body: bytes) -> Iterator[StreamEvent]:
        """A 200 JSON body: one GenerateContentResponse or an array of them (no alt=sse)."""
        state = _StreamState(self._key)
        try:
            data = json.loads(body)
        except ValueError:
            raise errors.DecodeError("the server sent a body that is neither SSE nor JSON") from None
        for obj in data if isinstance(data, list) else [data]:
            yield from state.parse_obj(obj)
        yield from state.finish(None)


class _StreamState:
    """What one stream has said so far; turns GenerateContentResponse chunks into events."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.served: str | None = None
        self.finish_reason: str | None = None
        #: the candidate's ``finishMessage``, Gemini's words on why it stopped
        self.finish_message: str | None = None
        self.block_reason: str | None = None
        self.block_message: str | None = None
        self.usage: dict[str, Any] | None = None
        self.had_text = False
        self.dispatched = False

    def parse(self, data: str, *, at_eof: bool = False) -> list[StreamEvent]:
        self.dispatched = True
        data = data.strip()
        # Gemini sends no [DONE]; a gateway in front of it may add one out of OpenAI habit.
        if not data or data == "[DONE]":
            return []
        try:
            obj = json.loads(data)
        except ValueError:
            if at_eof:
                # The last line stopped mid-JSON: the body ended early, not a garbled event.
                raise errors.StreamCutError("the stream ended in the middle of an event") from None
            # Redact before cutting: a key echoed by the server must not leak, even in part (Q5).
            snippet = redact(data, self.key)[:80].replace("\n", " ")
            raise errors.DecodeError(f"malformed event from the server: {snippet!r}") from None
        return self.parse_obj(obj)

    def parse_stray(self, value: Any) -> list[StreamEvent]:
        """The events of a JSON value that came outside SSE: a chunk, an error, or a list of them."""
        self.dispatched = True
        out: list[StreamEvent] = []
        for obj in value if isinstance(value, list) else [value]:
            if isinstance(obj, dict):  # other JSON outside SSE is not Gemini's: ignored
                out += self.parse_obj(obj)
        return out

    def parse_obj(self, obj: Any) -> list[StreamEvent]:
        try:
            return self._parse_obj(obj)
        except (AttributeError, TypeError, ValueError):
            # Valid JSON of an unexpected shape: adapters raise only ProviderError, so the pane
            # shows a message instead of the worker crashing.
            raise errors.DecodeError("malformed event from the server (unexpected JSON shape)") from None

    def _parse_obj(self, obj: Any) -> list[StreamEvent]:
        if isinstance(obj, list) and len(obj) == 1:
            obj = obj[0]  # an error (or a chunk) wrapped in an array
        if not isinstance(obj, dict):
            raise errors.DecodeError("malformed event from the server (not a JSON object)")
        if obj.get("error"):
            google = _GoogleError.of(obj)
            raise _mid_stream_error(google.message if google else str(obj["error"]), google, self.key)
        out: list[StreamEvent] = []
        version = obj.get("modelVersion")
        if isinstance(version, str) and version and version != self.served:
            self.served = version
            out.append(ServedModel(version))
        candidates = obj.get("candidates") or []
        for candidate in candidates:
            # One candidate is asked for (candidateCount defaults to 1); `index` may be omitted.
            if not isinstance(candidate, dict) or candidate.get("index", 0) != 0:
                continue
            for part in json_table(candidate.get("content")).get("parts") or ():
                text = json_table(part).get("text")
                if isinstance(text, str) and text:
                    if part.get("thought") is True:
                        out.append(ReasoningDelta(text))
                    else:
                        self.had_text = True
                        out.append(TextDelta(text))
            reason = candidate.get("finishReason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason
            if isinstance(candidate.get("finishMessage"), str):
                self.finish_message = candidate["finishMessage"]
        feedback = json_table(obj.get("promptFeedback"))
        block = feedback.get("blockReason")
        if isinstance(block, str) and block and not candidates:
            self.block_reason = block
            if isinstance(feedback.get("blockReasonMessage"), str):
                self.block_message = feedback["blockReasonMessage"]
        usage = obj.get("usageMetadata")
        if isinstance(usage, dict):
            self.usage = usage  # the last one is the complete one (PROTOCOLS §3)
        return out

    def _refusal(self, why: str) -> errors.RefusalError:
        # Redact, then cut to one line: the block messages are the server's text.
        return errors.RefusalError(one_line(redact(f"the model refused: {why}", self.key), 300))

    def finish(self, decoder: SSEDecoder | None) -> Iterator[StreamEvent]:
        """The closing events once the body has ended; raises if the end was not normal.

        A generator, so the usage is yielded (and applied by the runner: the prompt is billed)
        before a blocked answer raises.
        """
        reason = self.finish_reason
        if reason is None and self.block_reason is None:
            junk = [line for line in decoder.stray_lines if line.strip()] if decoder else []
            if not self.dispatched and junk:
                first = one_line(redact(junk[0], self.key), 120)
                raise errors.DecodeError(f"the server sent text that is not an event stream: {first!r}")
            raise errors.StreamCutError("the stream ended before Gemini sent a finish reason")
        if self.usage is not None:
            yield normalise_usage(self.usage)
        if self.block_reason is not None:
            said = _said(self.block_message)
            raise self._refusal(f"Gemini blocked the prompt{said} (blockReason {self.block_reason})")
        if reason in REFUSAL_FINISH:
            cut = ", the answer was cut off" if self.had_text else ""
            said = _said(self.finish_message)
            raise self._refusal(f"{REFUSAL_FINISH[reason]}{cut}{said} (finishReason {reason})")
        if reason in BLOCKING_FINISH:
            where = "the answer was cut off:" if self.had_text else "no answer:"
            raise errors.StreamErrorEvent(f"{where} {BLOCKING_FINISH[reason]} (finishReason {reason})")
        yield StreamEnd(reason)


def _said(message: str | None) -> str:
    """Gemini's own words on a block (``finishMessage``, ``blockReasonMessage``), if any."""
    return f": {message.strip()}" if message and message.strip() else ""


def normalise_usage(meta: dict[str, Any]) -> UsageReport:
    """Gemini `usageMetadata` in the OpenAI convention (PROTOCOLS §10).

    ``promptTokenCount`` already includes cached content; ``candidatesTokenCount`` excludes
    thoughts, which are billed as output, so output = candidates + thoughts.
    """
    thoughts = json_count(meta.get("thoughtsTokenCount"))
    return UsageReport(
        input_tokens=json_count(meta.get("promptTokenCount")),
        output_tokens=(json_count(meta.get("candidatesTokenCount")) or 0) + (thoughts or 0),
        reasoning_tokens=thoughts,
        cached_input_tokens=json_count(meta.get("cachedContentTokenCount")) or 0,
    )


class _GoogleError:
    """The parts of a `{"error": {code, message, status, details}}` body we use."""

    def __init__(self, message: str, status: str | None = None, bad_key: bool = False,
                 retry_delay: float | None = None, daily_quota: bool = False) -> None:
        self.message = message
        self.status = status
        self.bad_key = bad_key
        self.retry_delay = retry_delay
        self.daily_quota = daily_quota

    @classmethod
    def of(cls, data: Any) -> _GoogleError | None:
        if isinstance(data, list) and data:
            data = data[0]
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, str):
            return cls(err)
        if not isinstance(err, dict):
            return None
        message = err.get("message") if isinstance(err.get("message"), str) else json.dumps(err)[:200]
        status = err.get("status") if isinstance(err.get("status"), str) else None
        bad_key, delay, daily = False, None, False
        for detail in err.get("details") or ():
            detail = json_table(detail)
            kind = str(detail.get("@type", ""))
            # google.rpc.ErrorInfo: API_KEY_INVALID, API_KEY_EXPIRED, API_KEY_SERVICE_BLOCKED…
            if str(detail.get("reason", "")).startswith("API_KEY"):
                bad_key = True
            if kind.endswith("google.rpc.RetryInfo"):
                delay = _duration(detail.get("retryDelay"))
            if kind.endswith("google.rpc.QuotaFailure"):
                # e.g. quotaId "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
                # (PROTOCOLS §3 marks the exact shape unverified; a miss only means a retry)
                for violation in detail.get("violations") or ():
                    v = json_table(violation)
                    if "perday" in f"{v.get('quotaId', '')} {v.get('quotaMetric', '')}".lower():
                        daily = True
        if "api key not valid" in message.lower():
            bad_key = True
        return cls(message, status, bad_key, delay, daily)


def _google_error(text: str) -> _GoogleError | None:
    text = text.strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return _GoogleError.of(json.loads(text))
    except ValueError:
        return None


def _handle(sse: SSEEvent, state: _StreamState, strays: _StrayJSON, *, at_eof: bool = False) -> list[StreamEvent]:
    """The events of one decoded item: a `data:` event, or a line that came outside SSE."""
    if not sse.stray:
        return state.parse(sse.data, at_eof=at_eof)
    obj = strays.feed(sse.data)
    return [] if obj is _INCOMPLETE else state.parse_stray(obj)


_INCOMPLETE = object()


class _StrayJSON:
    """JSON that arrived outside SSE, put back together from its lines.

    Gemini sends errors as raw, often pretty-printed JSON mid-stream, and may send a whole chunk
    without `data:` (python-genai's own test stream: a chunk with the text "test", then a 500
    INTERNAL error). Like python-genai's reader (``_iter_response_stream``), lines that start a
    JSON value are joined until they parse, and the value is then read like a `data:` event. A
    value too long to keep still yields its `"message"` by pattern at the end.
    """

    MAX_CHARS = 1024 * 1024

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.depth = 0

    def feed(self, line: str) -> Any:
        """The JSON value this line completes, or ``_INCOMPLETE``."""
        if not self.lines and not line.lstrip().startswith(("{", "[")):
            return _INCOMPLETE  # a proxy's text, not JSON: the decoder keeps it for diagnosis
        if self.size < self.MAX_CHARS:
            self.lines.append(line)
            self.size += len(line)
        # Brackets counted as python-genai does (strings not skipped), only to decide when a
        # parse is worth trying; the parse itself decides. A bracket inside a string can keep
        # the count above zero, so a line that may close the value (a one-line value, or a
        # pretty-printed one's last line) is tried too: a few parses per value, not one per line.
        self.depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
        closes = line.rstrip().endswith(("}", "]")) and (len(self.lines) == 1 or line[:1] in ("}", "]"))
        if (self.depth > 0 and not closes) or self.size >= self.MAX_CHARS:
            return _INCOMPLETE
        try:
            value = json.loads("\n".join(self.lines))
        except ValueError:
            return _INCOMPLETE  # a bracket inside a string: wait for more lines
        self.lines, self.size, self.depth = [], 0, 0
        return value

    def at_eof(self, key: str | None) -> None:
        """Raise the error of a value the body ended inside, if its message can be read."""
        text = "\n".join(self.lines)
        if not text:
            return
        google = _google_error(text)
        message = google.message if google else None
        if message is None:
            found = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
            if found:
                try:
                    message = json.loads(f'"{found.group(1)}"')
                except ValueError:
                    message = found.group(1)
        if message is not None:
            raise _mid_stream_error(message, google, key)


def _mid_stream_error(message: str, google: _GoogleError | None, key: str | None) -> errors.StreamErrorEvent:
    label = f" ({google.status})" if google and google.status else ""
    # Redact, then cut to one line: a server may put a whole traceback in the message.
    return errors.StreamErrorEvent(one_line(redact(f"Gemini reported an error mid-stream{label}: {message}", key)))


def _duration(value: Any) -> float | None:
    """Seconds from a protobuf Duration in JSON ("32s", "1.5s")."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None
