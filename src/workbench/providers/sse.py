"""Server-sent events decoded from bytes, by the WHATWG rules.

Our own (about 100 lines) rather than httpx-sse, because that library loses the first event
after a BOM, dispatches empty events, and hides the raw lines a provider needs to spot an error
that arrives outside SSE. Rules: a leading BOM is stripped; lines end at CRLF, LF or CR (a CR at
the end of one read may pair with an LF at the start of the next); ``:`` lines are comments;
``data`` lines join with ``\\n``; an event with no data is not dispatched; an event cut off by
the end of the stream is not dispatched. Lines are decoded whole, so a multibyte character split
across network reads is never broken.

Lines that are not SSE fields (a raw JSON error, a proxy's text) are kept in ``stray_lines``;
with ``inline_strays=True`` they are also returned in order among the events, as ``SSEEvent``s
with ``stray=True``, for a provider (Gemini) whose server sends JSON outside SSE mid-stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.providers.errors import DecodeError

MAX_EVENT_BYTES = 16 * 1024 * 1024
MAX_STRAY_LINES = 20


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event."""

    event: str
    data: str
    id: str = ""
    #: a line that is not an SSE field, as it came (only with ``inline_strays=True``)
    stray: bool = False


class SSEDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the events completed by those bytes."""

    def __init__(self, *, inline_strays: bool = False) -> None:
        self._inline_strays = inline_strays
        self._buffer = bytearray()
        self._started = False
        self._pending_cr = False
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._last_id = ""
        self._has_data = False
        self.stray_lines: list[str] = []
        """Lines that are not SSE fields (e.g. a raw JSON error body), kept for diagnosis."""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode more bytes; return the events they complete."""
        if not chunk:
            return []
        if not self._started:
            self._buffer += chunk
            if len(self._buffer) < 3 and b"\xef\xbb\xbf".startswith(bytes(self._buffer)):
                return []
            self._started = True
            if self._buffer.startswith(b"\xef\xbb\xbf"):
                del self._buffer[:3]
            chunk, self._buffer = bytes(self._buffer), bytearray()
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        self._buffer += chunk
        events: list[SSEEvent] = []
        start = 0
        buf = self._buffer
        n = len(buf)
        while start < n:
            cr = buf.find(b"\r", start)
            lf = buf.find(b"\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                end, nxt = cr, cr + 1
                if nxt < n and buf[nxt] == 0x0A:
                    nxt += 1
                elif nxt == n:
                    self._pending_cr = True
            else:
                end, nxt = lf, lf + 1
            event = self._line(bytes(buf[start:end]).decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
            start = nxt
        del buf[:start]
        if len(buf) > MAX_EVENT_BYTES:
            raise DecodeError(f"an event line exceeded {MAX_EVENT_BYTES // (1024 * 1024)} MB")
        return events

    @property
    def tail(self) -> str:
        """Bytes left after the last complete line (an unterminated line), decoded."""
        return bytes(self._buffer).decode("utf-8", errors="replace")

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_size += len(value)
            self._has_data = True
            if self._data_size > MAX_EVENT_BYTES:
                raise DecodeError(f"an event exceeded {MAX_EVENT_BYTES // (1024 * 1024)} MB")
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            pass
        else:
            if len(self.stray_lines) < MAX_STRAY_LINES:
                self.stray_lines.append(line)
            if self._inline_strays:
                return SSEEvent("", line, stray=True)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._has_data:
            self._event = ""
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data), self._last_id)
        self._data, self._data_size, self._event, self._has_data = [], 0, "", False
        return event
