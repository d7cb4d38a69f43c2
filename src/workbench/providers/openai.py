"""OpenAI-compatible chat completions, streamed (the gateway of the notes, OpenRouter,
DeepSeek, xAI, Ollama's /v1, llama.cpp, vLLM, LM Studio).

Usage is normalised to ``UsageReport``'s convention (output includes reasoning): see ``_usage``
for the vendors whose ``completion_tokens`` leave reasoning out. A refusal (OpenAI's structured
``refusal`` text, or a ``content_filter`` finish) ends the stream with ``RefusalError`` once the
usage has arrived, so the meter still bills the prompt.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
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
from workbench.providers.sse import SSEDecoder
from workbench.providers.text import one_line, redact


def fresh_seed() -> int:
    """A new sampling seed for one request to a server on this machine."""
    return secrets.randbelow(2**31)


class OpenAIProvider:
    """`POST {base_url}/chat/completions` with `stream: true` and usage requested."""

    kind = "openai"
    reports_usage = True

    def __init__(self, config: ProviderConfig, api_key: str | None) -> None:
        self.config = config
        self._key = api_key

    def build_payload(self, model: ModelInfo, request: ChatRequest) -> dict[str, Any]:
        """The JSON body for one streamed request."""
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        payload: dict[str, Any] = {
            "model": model.upstream,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        temperature = model.temperature if model.temperature is not None else request.temperature
        if temperature is not None:
            payload["temperature"] = temperature
        if request.max_tokens is not None:
            payload["max_tokens"] = request.max_tokens
        if self.config.is_local:
            # llama-cpp-python derives an unseeded request's seed from the previous one, starting
            # from a fixed value: every fresh server (each `ask --local`) gave the same answers.
            # llama.cpp, Ollama's /v1, vLLM and LM Studio take `seed`; cloud APIs vary by themselves.
            payload["seed"] = fresh_seed()
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    async def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the typed events of one streamed completion."""
        cfg = self.config
        async with open_stream(
            client,
            f"{cfg.base_url}/chat/completions",
            json=self.build_payload(model, request),
            headers=self._headers(),
            timeout=request_timeout(cfg),
            read_timeout=cfg.read_timeout,
            status_error=self._status_error,
        ) as response:
            await reject_html(response, self._key, "an event stream")
            if is_whole_json(response):
                body = await response.aread()
                for event in self._whole_response(body):
                    yield event
                return
            async for event in self._events(response):
                yield event

    async def _status_error(self, response: httpx.Response) -> errors.ProviderError:
        body, message = await error_body(response, self._key)
        if response.status_code == 404 and "model" not in message.lower():
            message += " (check the base_url and the model id)"
        # The headers and body also decide whether the runner may retry (Retry-After on any
        # status, x-should-retry, insufficient_quota): see providers/retry.py.
        return http_status_error(response.status_code, redact(message, self._key), response.headers, body)

    async def _events(self, response: httpx.Response) -> AsyncIterator[StreamEvent]:
        decoder = SSEDecoder()
        state = _ChunkState()
        dispatched = False
        async for raw in response.aiter_bytes():
            for sse in decoder.feed(raw):
                dispatched = True
                data = sse.data.strip()
                if not data:
                    continue
                if data.startswith("[DONE]"):
                    state.done = True
                    break
                for event in state.parse(data, self._key):
                    yield event
            if state.done:
                break
        refusal = state.refusal_error(self._key)
        if refusal is not None:
            # Checked before the cut: a refusal cut short is still the answer the user needs.
            raise refusal
        if state.done or state.finish_reason is not None:
            yield StreamEnd(state.finish_reason)
            return
        stray = _stray_error(decoder.stray_lines + [decoder.tail])
        if stray:
            raise errors.StreamErrorEvent(one_line(redact(stray, self._key)))
        junk = [line for line in decoder.stray_lines + [decoder.tail] if line.strip()]
        if not dispatched and junk:
            # Not one SSE event, only other text (a proxy's plain-text error): say what came.
            first = one_line(redact(junk[0], self._key), 120)
            raise errors.DecodeError(f"the server sent text that is not an event stream: {first!r}")
        raise errors.StreamCutError("the stream ended before it was complete (no finish reason, no [DONE])")

    def _whole_response(self, body: bytes) -> Iterator[StreamEvent]:
        """A server that ignored `stream: true` and sent one JSON completion.

        A generator, so the usage is yielded before a refusal raises (the prompt is billed).
        """
        state = _ChunkState()
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise errors.DecodeError("the server sent a body that is neither SSE nor JSON") from None
        yield from state.parse_obj(data, self._key)
        choices = data.get("choices") if isinstance(data, dict) else None
        if choices and isinstance(choices[0], dict):
            message = json_table(choices[0].get("message"))
            if isinstance(message.get("reasoning_content") or message.get("reasoning"), str):
                yield ReasoningDelta(message.get("reasoning_content") or message.get("reasoning"))
            if isinstance(message.get("content"), str):
                yield TextDelta(message["content"])
            state.add_refusal(message.get("refusal"))
        refusal = state.refusal_error(self._key)
        if refusal is not None:
            raise refusal
        yield StreamEnd(state.finish_reason)


class _ChunkState:
    """What one stream has said so far; turns chunks into events."""

    def __init__(self) -> None:
        self.served: str | None = None
        self.finish_reason: str | None = None
        self.done = False
        #: pieces of OpenAI's structured refusal (``delta.refusal``), in place of an answer
        self.refusal: list[str] = []

    def add_refusal(self, piece: Any) -> None:
        """Keep a piece of refusal text (the first chunk carries an empty one: not a refusal)."""
        if isinstance(piece, str) and piece:
            self.refusal.append(piece)

    def refusal_error(self, key: str | None) -> errors.RefusalError | None:
        """The error for a refused answer, once the stream has ended; None if there was none."""
        said = "".join(self.refusal).strip()
        if said:
            return errors.RefusalError(one_line(redact(f"the model refused: {said}", key)))
        if self.finish_reason == "content_filter":
            return errors.RefusalError(
                "the model refused: the provider's content filter withheld the answer (finish_reason content_filter)")
        return None

    def parse(self, data: str, key: str | None) -> list[StreamEvent]:
        try:
            # Decimal, not float: OpenRouter's usage.cost must reach the meter digit for digit.
            obj = json.loads(data, parse_float=Decimal)
        except ValueError:
            # Redact before cutting: a key echoed by the server must not leak, even in part (Q5).
            snippet = redact(data, key)[:80].replace("\n", " ")
            raise errors.DecodeError(f"malformed event from the server: {snippet!r}") from None
        return self.parse_obj(obj, key)

    def parse_obj(self, obj: Any, key: str | None) -> list[StreamEvent]:
        try:
            return self._parse_obj(obj, key)
        except (AttributeError, TypeError, ValueError):
            # Valid JSON of an unexpected shape (e.g. "delta": "text"): adapters raise only
            # ProviderError, so the pane shows a message instead of the worker crashing.
            raise errors.DecodeError("malformed event from the server (unexpected JSON shape)") from None

    def _parse_obj(self, obj: Any, key: str | None) -> list[StreamEvent]:
        if not isinstance(obj, dict):
            raise errors.DecodeError("malformed event from the server (not a JSON object)")
        out: list[StreamEvent] = []
        err = obj.get("error")
        if err:
            message = err.get("message") if isinstance(err, dict) else str(err)
            # Redact, then cut to one line: a server may put a whole traceback in the message.
            text = redact(f"the server reported an error mid-stream: {message or err}", key)
            raise errors.StreamErrorEvent(one_line(text))
        model = obj.get("model")
        if isinstance(model, str) and model and model != self.served:
            self.served = model
            out.append(ServedModel(model))
        for choice in obj.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                out.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(content))
            self.add_refusal(delta.get("refusal"))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                if self.finish_reason == "error":
                    raise errors.StreamErrorEvent("the server ended the stream with an error")
        usage = obj.get("usage")
        if isinstance(usage, dict):
            out.append(_usage(usage))
        return out


def _usage(usage: dict[str, Any]) -> UsageReport:
    """A usage object in our convention: input includes cache hits, output includes reasoning.

    Output is the larger of ``completion_tokens`` and ``total_tokens - prompt_tokens``. Every
    vendor in the recordings (OpenAI, DeepSeek, OpenRouter, Groq, Alibaba, llama.cpp, xAI: see
    tests/unit/test_recorded_openai.py) has total = prompt + output, but xAI's
    ``completion_tokens`` leave the reasoning out (grok-3-mini: prompt 12, completion 1,
    reasoning 290, total 303) while xAI bills reasoning as output: completion alone would count
    1 output token for 291 paid. Without a total, a reasoning count above the completion count
    can only mean the same split, so the two are added.
    """
    # Odd values (a string count, a details list) are skipped, not fatal: the answer itself
    # arrived fine, and a bad usage object only leaves the meter an estimate.
    details = json_table(usage.get("prompt_tokens_details"))
    hit = json_count(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    miss = json_count(usage.get("prompt_cache_miss_tokens"))
    cached = json_count(details.get("cached_tokens")) or hit or 0
    prompt = json_count(usage.get("prompt_tokens"))
    if prompt is None and hit is not None and miss is not None:
        prompt = hit + miss  # DeepSeek: prompt_tokens = hit + miss (PROTOCOLS §1.6)
    reasoning = json_count(json_table(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    completion = max(json_count(usage.get("completion_tokens")) or 0, 0)
    output = completion
    total = json_count(usage.get("total_tokens"))
    if total is not None and prompt is not None and total - prompt > output:
        output = total - prompt
    if reasoning is not None and reasoning > output:
        output = completion + reasoning  # reasoning ≤ output, UsageReport's invariant
    return UsageReport(
        input_tokens=prompt,
        output_tokens=output,
        reasoning_tokens=reasoning,
        cached_input_tokens=cached,
        cost_usd=_cost(usage.get("cost")) or _ticks(usage.get("cost_in_usd_ticks")),
    )


# xAI's usage.cost_in_usd_ticks: "the total cost to perform the inference, in
# 1/10,000,000,000 US dollar" (docs.x.ai). Exact as a Decimal power of ten.
TICK_EXPONENT = -10


def _cost(value: Any) -> str | None:
    """OpenRouter's ``usage.cost`` (credits, 1 credit = 1 US$) as the exact decimal string."""
    amount = _amount(value)
    return None if amount is None else format(amount, "f")


def _ticks(value: Any) -> str | None:
    """xAI's ``usage.cost_in_usd_ticks`` (1 tick = 1e-10 US$) as an exact decimal string of US$."""
    if isinstance(value, str):
        return None  # a count of ticks is a JSON number; a string is something else
    amount = _amount(value)
    if amount is None:
        return None
    # normalize() drops the trailing zeros the shift leaves (1466250 ticks → 0.000146625).
    return format(amount.scaleb(TICK_EXPONENT).normalize(), "f")


def _amount(value: Any) -> Decimal | None:
    """A non-negative finite amount from JSON (floats arrive as Decimal), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        return None
    try:
        amount = Decimal(value)
    except ArithmeticError:  # decimal.InvalidOperation: a string that is not a number
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount


def _stray_error(lines: list[str]) -> str | None:
    """An error body that arrived outside SSE (a proxy's JSON, legacy `error:` lines)."""
    for line in lines:
        text = line.strip()
        if text.startswith("error:"):
            text = text[len("error:"):].strip()
        if not text.startswith("{"):
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("error"):
            err = obj["error"]
            message = err.get("message") if isinstance(err, dict) else str(err)
            return f"the server reported an error: {message}"
    return None
