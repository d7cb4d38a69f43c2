"""The one interface every provider adapter implements, and helpers they share."""

from __future__ import annotations

import email.utils
import json
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, Protocol

import httpx

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import StreamEvent

MAX_ERROR_BODY = 64 * 1024


class Provider(Protocol):
    """A streaming chat adapter for one API dialect.

    ``stream`` yields typed events and raises only ``ProviderError`` subclasses (and
    ``CancelledError``). Leaving the iterator early closes the HTTP response. The runner sends
    the request again after a failure raised before the first event (providers/retry.py says
    which; ``http_status_error`` and ``transport_error`` give errors what it reads).
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
    text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)
    # the other ways keys travel: x-api-key (Anthropic), x-goog-api-key and ?key= (Gemini)
    text = re.sub(r"(?i)((?:x-api-key|x-goog-api-key|api[-_]?key)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}",
                  r"\1[redacted]", text)
    return re.sub(r"(?i)([?&]key=)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)


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


#: Hosts never sent through a proxy, whatever NO_PROXY says: a local model server (Ollama,
#: llama.cpp, vLLM, the test stubs) behind a corporate HTTP_PROXY would otherwise be asked for
#: through the proxy, which cannot reach this machine's loopback.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "*.localhost", "[::1]")

#: Environment variables naming a CA bundle, first found wins (SSL_CERT_FILE is OpenSSL's and
#: httpx's; REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are what corporate setups usually export).
CA_ENV_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def loopback_mounts() -> dict[str, None]:
    """httpx ``mounts`` that send loopback hosts direct (None = the client's own transport)."""
    return {f"all://{host}": None for host in LOOPBACK_HOSTS}


def tls_context(ca_bundle: str | None = None, environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The certificates to trust: a bundle from the environment (it replaces the default, as
    for curl and requests) or certifi's; plus ``ca_bundle``, a provider's extra CA (added, so a
    file with just the company's root is enough).

    A variable naming a missing or unreadable file is skipped rather than fatal here: the app must still
    start, and a wrong bundle shows as a "TLS failure" message on the call that needs it.
    """
    env = os.environ if environ is None else environ
    context: ssl.SSLContext | None = None
    for name in CA_ENV_VARS:
        path = env.get(name)
        if path and os.path.isfile(path):
            try:
                context = ssl.create_default_context(cafile=path)
                break
            except ssl.SSLError:  # not a PEM bundle: as if unset (see above)
                continue
    if context is None and env.get("SSL_CERT_DIR") and os.path.isdir(env["SSL_CERT_DIR"]):
        context = ssl.create_default_context(capath=env["SSL_CERT_DIR"])
    if context is None:
        import certifi  # httpx's own default bundle (a dependency of httpx)

        context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def request_timeout(config: ProviderConfig) -> httpx.Timeout:
    """The per-request timeouts of a provider: ``read`` bounds the gap between two reads (a
    stall between chunks as well as a wait for the headers); the answer's deadline, applied by
    the runner, bounds the whole, since keep-alive comments re-arm ``read``."""
    return httpx.Timeout(connect=config.connect_timeout, read=config.read_timeout, write=30.0, pool=30.0)


def http_status_error(status: int, message: str, headers: httpx.Headers, body: bytes = b"") -> errors.HTTPStatusError:
    """The typed error for an HTTP error response, with what the retry policy needs.

    Every status gets ``retry_after`` (a 503 or 529 may carry Retry-After too, not only a
    429); ``retryable`` is set from ``x-should-retry`` (the OpenAI and Anthropic servers send
    it) and to False for a 429 that says the quota is used up, which waiting does not fix.
    """
    retry_after = parse_retry_after(headers)
    exc = errors.error_for_status(status, message, retry_after)
    exc.retry_after = retry_after  # type: ignore[attr-defined]  # RateLimitError has it already
    should = (headers.get("x-should-retry") or "").strip().lower()
    if should in ("true", "false"):
        exc.retryable = should == "true"  # type: ignore[attr-defined]
    if status == 429 and _is_quota_error(body):
        exc.retryable = False  # type: ignore[attr-defined]
    return exc


_QUOTA_CODES = {"insufficient_quota", "billing_error", "quota_exceeded"}


def _is_quota_error(body: bytes) -> bool:
    """True for a 429 whose body's error code or type says the credit or quota is used up."""
    try:
        data = json.loads(body)
    except ValueError:
        return b"insufficient_quota" in body
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return False
    return any(isinstance(err.get(k), str) and err[k].lower() in _QUOTA_CODES for k in ("code", "type"))


def transport_error(exc: httpx.HTTPError, *, started: bool, read_timeout: float) -> errors.ProviderError:
    """The typed error for an httpx exception (``started``: the response headers had come).

    Sets ``retryable`` for the retry policy: a failure before the response is worth a new try,
    except an unknown host or a TLS failure, which another try will not fix.
    """
    error = _transport_error(exc, started=started, read_timeout=read_timeout)
    if started:
        error.retryable = False  # type: ignore[attr-defined]
    elif isinstance(error, errors.ConnectError):
        low = error.message.lower()
        permanent = low.startswith(("unknown host", "tls failure")) and "temporary failure" not in low
        error.retryable = not permanent  # type: ignore[attr-defined]
    else:
        error.retryable = True  # type: ignore[attr-defined]
    return error


def _transport_error(exc: httpx.HTTPError, *, started: bool, read_timeout: float) -> errors.ProviderError:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return errors.ConnectError("connection timed out")
    if isinstance(exc, httpx.ReadTimeout):
        return errors.ReadTimeoutError(f"no data from the server for {read_timeout:g} s (read timeout)")
    if isinstance(exc, httpx.TimeoutException):
        return errors.ReadTimeoutError(f"timed out ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        # anyio reports only "All connection attempts failed"; the reason is in the chain.
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return errors.ConnectError("connection refused (is the server running?)")
        low = " | ".join(str(c) for c in causes).lower()
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return errors.ConnectError(f"TLS failure ({_one_line(_last_detail(causes), 120)})")
        if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low or "getaddrinfo" in low:
            return errors.ConnectError(f"unknown host ({_one_line(_last_detail(causes), 120)})")
        if "ssl" in low or "certificate" in low or "tls" in low:
            return errors.ConnectError(f"TLS failure ({_one_line(detail, 120)})")
        if "refused" in low:
            return errors.ConnectError("connection refused (is the server running?)")
        return errors.ConnectError(f"cannot connect ({_one_line(_last_detail(causes), 120)})")
    if started and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return errors.StreamCutError(f"the connection closed mid-stream ({_one_line(detail, 120)})")
    return errors.ConnectError(f"network error ({type(exc).__name__}: {_one_line(detail, 120)})")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from, outermost first (a few levels at most)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _last_detail(causes: list[BaseException]) -> str:
    """The innermost non-empty message: the one that says what really failed."""
    for cause in reversed(causes):
        if str(cause):
            return str(cause)
    return type(causes[0]).__name__


# --- scaffolding the four adapters share: opening the stream and reading what came back ---


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    read_timeout: float,
    status_error: Callable[[httpx.Response], Awaitable[errors.ProviderError]],
    on_transport_error: Callable[[httpx.HTTPError, errors.ProviderError], errors.ProviderError] | None = None,
    **request: Any,
) -> AsyncIterator[httpx.Response]:
    """``POST url`` as a stream (``request``: httpx's ``json``, ``headers``, ``timeout``, …) and
    yield the open response once its status is below 400.

    An error status raises what ``await status_error(response)`` returns (the adapter words it;
    it may raise instead, e.g. to ask again differently). Any httpx error, while opening or while
    the caller reads the body inside the ``with``, becomes ``transport_error``'s typed error,
    passed through ``on_transport_error`` when given (for a dialect's hint). Leaving the
    ``with`` early (cancellation, closing the adapter's generator) closes the response.
    """
    # False until the headers came with a good status: transport_error retries only before it.
    started = False
    try:
        async with client.stream("POST", url, **request) as response:
            if response.status_code >= 400:
                raise await status_error(response)
            started = True
            yield response
    except httpx.HTTPError as exc:
        error = transport_error(exc, started=started, read_timeout=read_timeout)
        if on_transport_error is not None:
            error = on_transport_error(exc, error)
        raise error from None


async def capped_body(response: httpx.Response, key: str | None) -> bytes:
    """The start of an error body (at most about ``MAX_ERROR_BODY``), with the key redacted."""
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # the status already says it failed; a body cut short only shortens the message
    # Redact the whole body before a message is cut from it: a key straddling the cut
    # would otherwise survive in part (Q5).
    return redact(body.decode("utf-8", errors="replace"), key).encode()


async def error_body(response: httpx.Response, key: str | None) -> tuple[bytes, str]:
    """The redacted start of an error response's body, and the message ``error_message_from_body``
    makes of it (not yet redacted: callers add their hints, then redact the whole)."""
    body = await capped_body(response, key)
    return body, error_message_from_body(response.status_code, response.headers.get("content-type", ""), body)


async def reject_html(response: httpx.Response, key: str | None, expected: str) -> None:
    """Raise ``DecodeError`` when an HTML page came in place of the stream (``expected``, e.g.
    "an event stream"): a proxy or captive portal answering in the API's place, often 200 OK."""
    content_type = response.headers.get("content-type", "")
    if "html" in content_type:
        body = await capped_body(response, key)
        message = error_message_from_body(response.status_code, content_type, body)
        raise errors.DecodeError(f"{message}, not {expected}")


def is_whole_json(response: httpx.Response) -> bool:
    """True when a JSON body came in place of an event stream (a server or gateway that
    ignored the request to stream); the adapter reads it whole."""
    content_type = response.headers.get("content-type", "")
    return "text/event-stream" not in content_type and "json" in content_type


def json_count(value: Any) -> int | None:
    """A token count from JSON, or None when it is missing or not a number.

    Decimal is accepted because the OpenAI adapter parses floats as Decimal (for exact costs).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        return int(value)
    except (ValueError, OverflowError, ArithmeticError):  # NaN or Infinity (Python's json accepts both)
        return None


def json_table(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one in place of null or a value of another type."""
    return value if isinstance(value, dict) else {}
