"""The error tree of a model call. Every failure of a stream is one of these.

    ProviderError                 kind            when
    ├── MissingKeyError           "auth"          the key's environment variable is not set
    ├── HTTPStatusError           "http"          an HTTP error status not listed below
    │   ├── AuthError             "auth"          401, 403
    │   ├── NotFoundError         "not_found"     404 (often a wrong model id)
    │   ├── RateLimitError        "rate_limited"  429 (``retry_after`` seconds, if sent)
    │   └── ServerError           "server"        5xx
    ├── ConnectError              "connect"       refused, unknown host, TLS failure
    ├── ReadTimeoutError          "timeout"       no bytes for ``read_timeout`` seconds
    ├── StreamCutError            "cut_off"       the connection ended before the stream did
    ├── DecodeError               "decode"        a malformed event or non-JSON body
    ├── StreamErrorEvent          "stream_error"  the server sent an error event mid-stream
    └── RefusalError              "refusal"       the model declined to answer, or the
                                                  provider's filter withheld the answer

Messages are short, one line, and never contain an API key or an HTML page.

A refusal is an error, not a normal end, whichever provider says it (Anthropic's
``stop_reason: "refusal"``, OpenAI's ``refusal`` text or ``content_filter`` finish, Gemini's
SAFETY finish or blocked prompt): an answer saved as "ok" would be scored as if the model had
answered. Its message starts with who refused and carries the provider's own reason.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of all model-call failures."""

    kind = "error"

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status

    def as_dict(self) -> dict:
        """The I4 `error` object."""
        return {"kind": self.kind, "message": self.message, "http_status": self.http_status}


class MissingKeyError(ProviderError):
    kind = "auth"


class HTTPStatusError(ProviderError):
    kind = "http"


class AuthError(HTTPStatusError):
    kind = "auth"


class NotFoundError(HTTPStatusError):
    kind = "not_found"


class RateLimitError(HTTPStatusError):
    kind = "rate_limited"

    def __init__(self, message: str, *, http_status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    kind = "server"


class ConnectError(ProviderError):
    kind = "connect"


class ReadTimeoutError(ProviderError):
    kind = "timeout"


class StreamCutError(ProviderError):
    kind = "cut_off"


class DecodeError(ProviderError):
    kind = "decode"


class StreamErrorEvent(ProviderError):
    kind = "stream_error"


class RefusalError(ProviderError):
    kind = "refusal"


def error_for_status(status: int, message: str, retry_after: float | None = None) -> HTTPStatusError:
    """The typed error for an HTTP status."""
    if status in (401, 403):
        return AuthError(message, http_status=status)
    if status == 404:
        return NotFoundError(message, http_status=status)
    if status == 429:
        return RateLimitError(message, http_status=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, http_status=status)
    return HTTPStatusError(message, http_status=status)
