"""What the app and its stream reader process say to each other over their pipes.

Frames are a 4-byte big-endian length and a pickle. Pickle is safe here: both ends are this
package, the pipes are private to the two processes, and no model text is ever unpickled as
code (it travels as ``str`` inside the events). Errors cross as (class name, message, the
attributes the retry policy reads), since exceptions with keyword-only constructors do not
survive pickling as they are.

App → reader: ``("open", sid, ProviderConfig, api_key, ModelInfo, ChatRequest)`` and
``("cancel", sid)``. Reader → app: a batch, a list of ``(sid, events, end)``, where ``end`` is
None while the stream goes on, ``DONE`` when it ended well, or an encoded error.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

from workbench.providers import errors
from workbench.providers.events import ReasoningDelta, StreamEvent, TextDelta

HEADER = struct.Struct(">I")
DONE = "done"
#: the attributes of a ProviderError that survive the crossing (retry.py reads them)
ERROR_ATTRS = ("retry_after", "retryable")


def frame(message: Any) -> bytes:
    """One message, ready to write."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def unframe(body: bytes) -> Any:
    """The message of a frame's body (the bytes after its header)."""
    return pickle.loads(body)


def encode_error(exc: errors.ProviderError) -> tuple[str, str, int | None, dict[str, Any]]:
    """A ProviderError as plain data."""
    attrs = {name: getattr(exc, name) for name in ERROR_ATTRS if hasattr(exc, name)}
    return type(exc).__name__, exc.message, exc.http_status, attrs


def decode_error(data: tuple[str, str, int | None, dict[str, Any]]) -> errors.ProviderError:
    """The ProviderError ``encode_error`` described (the base class for a name it does not know)."""
    name, message, http_status, attrs = data
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.ProviderError)):
        cls = errors.ProviderError
    exc = cls(message, http_status=http_status)
    for key, value in attrs.items():
        setattr(exc, key, value)
    return exc


def coalesce(events: list[StreamEvent]) -> list[StreamEvent]:
    """The events with each run of text deltas of one kind joined into one: the app then handles
    one delta per batch, not one per token (the meter counts the joined text the same way, and
    panes draw at most once a frame anyway)."""
    out: list[StreamEvent] = []
    run: list[str] = []
    run_type: type | None = None
    for event in events:
        if type(event) in (TextDelta, ReasoningDelta):
            if type(event) is not run_type and run:
                out.append(run_type("".join(run)))  # type: ignore[misc]
                run = []
            run_type = type(event)
            run.append(event.text)  # type: ignore[union-attr]
            continue
        if run:
            out.append(run_type("".join(run)))  # type: ignore[misc]
            run, run_type = [], None
        out.append(event)
    if run:
        out.append(run_type("".join(run)))  # type: ignore[misc]
    return out
