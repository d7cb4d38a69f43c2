"""The one interface every provider adapter implements, and helpers they share."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Protocol

import httpx

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import StreamEvent

MAX_ERROR_BODY = 64 * 1024


class Provider(Protocol):
    """A streaming chat adapter for one API dialect.

    ``stream`` yields typed events and raises only ``ProviderError`` subclasses (and
    ``CancelledError``). Leaving the iterator early closes the HTTP response.
    """

    kind: str
    #: False when the server is known not to report usage (the meter stays an estimate).
    reports_usage: bool

    def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        ...


# kind → (module, class); imported on first use so one dialect's code loads only when needed
ADAPTERS = {
    "openai": ("workbench.providers.openai", "OpenAIProvider"),
    "anthropic": ("workbench.providers.anthropic", "AnthropicProvider"),
    "gemini": ("workbench.providers.gemini", "GeminiProvider"),
    "ollama": ("workbench.providers.ollama", "OllamaProvider"),
}


def make_provider(config: ProviderConfig, api_key: str | None) -> Provider:
    """The adapter for a provider config."""
    import importlib

    entry = ADAPTERS.get(config.kind)
    if entry is None:
        raise errors.ProviderError(f"provider kind {config.kind!r} is not supported ({', '.join(ADAPTERS)})")
    try:
        module = importlib.import_module(entry[0])
    except ImportError:
        raise errors.ProviderError(f"provider kind {config.kind!r} is not available in this build") from None
    return getattr(module, entry[1])(config, api_key)


def redact(text: str, secret: str | None) -> str:
    """Text with the secret (and Bearer tokens) masked."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def error_message_from_body(status: int, content_type: str, body: bytes) -> str:
    """A short message for an HTTP error body: the JSON error's message, or a page title."""
    text = body.decode("utf-8", errors="replace").strip()
    reason = httpx.codes.get_reason_phrase(status) or "error"
    if "json" in content_type or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        message = _json_error_message(data)
        if message:
            return f"HTTP {status} {reason}: {_one_line(message)}"
    if "html" in content_type or text.lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        detail = f" ({_one_line(title.group(1))})" if title else ""
        return f"HTTP {status} {reason}: the server sent an HTML error page{detail}"
    if text:
        return f"HTTP {status} {reason}: {_one_line(text)}"
    return f"HTTP {status} {reason}"


def _json_error_message(data: object) -> str | None:
    if not isinstance(data, dict):
        return None
    err = data.get("error", data)
    if isinstance(err, str):
        return err
    if isinstance(err, dict):
        for key in ("message", "detail", "error"):
            if isinstance(err.get(key), str):
                return err[key]
    for key in ("message", "detail"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def transport_error(exc: httpx.HTTPError, *, started: bool, read_timeout: float) -> errors.ProviderError:
    """The typed error for an httpx exception (``started``: the body had begun)."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return errors.ConnectError("connection timed out")
    if isinstance(exc, httpx.ReadTimeout):
        return errors.ReadTimeoutError(f"no data from the server for {read_timeout:g} s (read timeout)")
    if isinstance(exc, httpx.TimeoutException):
        return errors.ReadTimeoutError(f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        low = detail.lower()
        if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low or "getaddrinfo" in low:
            return errors.ConnectError(f"unknown host ({_one_line(detail, 120)})")
        if "ssl" in low or "certificate" in low or "tls" in low:
            return errors.ConnectError(f"TLS failure ({_one_line(detail, 120)})")
        if "refused" in low:
            return errors.ConnectError("connection refused (is the server running?)")
        return errors.ConnectError(f"cannot connect ({_one_line(detail, 120)})")
    if started and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return errors.StreamCutError(f"the connection closed mid-stream ({_one_line(detail, 120)})")
    return errors.ConnectError(f"network error ({type(exc).__name__}: {_one_line(detail, 120)})")
