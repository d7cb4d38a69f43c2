"""HTTP for every adapter: the shared client (proxies, CA bundles, loopback direct), timeouts,
opening a stream, and turning an error status or a transport failure into a typed error with
what the retry policy reads."""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from workbench.domain import ProviderConfig
from workbench.providers import errors
from workbench.providers.text import one_line, redact

MAX_ERROR_BODY = 64 * 1024


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
            return errors.ConnectError(f"TLS failure ({one_line(_last_detail(causes), 120)})")
        if "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low or "getaddrinfo" in low:
            return errors.ConnectError(f"unknown host ({one_line(_last_detail(causes), 120)})")
        if "ssl" in low or "certificate" in low or "tls" in low:
            return errors.ConnectError(f"TLS failure ({one_line(detail, 120)})")
        if "refused" in low:
            return errors.ConnectError("connection refused (is the server running?)")
        return errors.ConnectError(f"cannot connect ({one_line(_last_detail(causes), 120)})")
    if started and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return errors.StreamCutError(f"the connection closed mid-stream ({one_line(detail, 120)})")
    return errors.ConnectError(f"network error ({type(exc).__name__}: {one_line(detail, 120)})")


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
            return f"HTTP {status} {reason}: {one_line(message)}"
    if "html" in content_type or text.lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        detail = f" ({one_line(title.group(1))})" if title else ""
        return f"HTTP {status} {reason}: the server sent an HTML error page{detail}"
    if text:
        return f"HTTP {status} {reason}: {one_line(text)}"
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


def make_client(max_streams: int = 10, *, ca_bundle: str | None = None) -> httpx.AsyncClient:
    """The one shared AsyncClient: enough connections for every pane at once.

    Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY: httpx's
    ``trust_env``), but loopback hosts always go direct. The CA bundle is SSL_CERT_FILE,
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE if set, else certifi's, plus ``ca_bundle`` if given.
    """
    limits = httpx.Limits(max_connections=max(20, max_streams * 2), max_keepalive_connections=max_streams)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=30.0),
        limits=limits,
        verify=tls_context(ca_bundle),
        trust_env=True,
        mounts=loopback_mounts(),
    )


def client_for(client: httpx.AsyncClient, provider: ProviderConfig) -> contextlib.AbstractAsyncContextManager:
    """The shared client, or one of its own for a provider that trusts an extra CA: the CA is a
    property of the TLS context, which httpx fixes per client."""
    if provider.ca_bundle:
        try:
            return make_client(1, ca_bundle=provider.ca_bundle)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a file gone or not PEM
            raise errors.ConnectError(f"TLS failure (cannot use ca_bundle {provider.ca_bundle}: {exc})") from None
    return contextlib.nullcontext(client)
