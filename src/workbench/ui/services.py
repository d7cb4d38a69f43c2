"""What the app's screens share, handed to each screen when it is made (never fished off ``self.app``).

The HTTP client and the stream reader are made on first use, not with the app: httpx and a TLS
context cost about 60 ms, and the first frame needs neither (Q2). The app warms them up right
after its first frame (``WorkbenchApp._after_first_frame``), so a prompt does not wait for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workbench.config import Settings
from workbench.rounds import StoreAccess
from workbench.tokens import TokenCounter

if TYPE_CHECKING:
    import httpx

    from workbench.providers.reader_process import ReaderProcess

#: the shared client's connection pool, per host
MAX_CONNECTIONS = 10


@dataclass
class Services:
    """The settings, the store (reached off the event loop), the token counter, and the HTTP
    client or stream reader process the model calls go through (each made when first asked for)."""

    settings: Settings
    store: StoreAccess
    token_counter: TokenCounter
    _http_client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _stream_reader: ReaderProcess | None = field(default=None, init=False, repr=False)
    _reader_off: bool = field(default=False, init=False, repr=False)
    # the app warms the client up in a thread while a prompt may already ask for it: one client
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The shared HTTP client (made now if it was not yet)."""
        with self._client_lock:
            if self._http_client is None:
                from workbench.providers.http import make_client

                self._http_client = make_client(MAX_CONNECTIONS)
            return self._http_client

    @property
    def has_http_client(self) -> bool:
        """True once the client was made (so there is one to close)."""
        return self._http_client is not None

    @property
    def stream_reader(self) -> ReaderProcess | None:
        """The stream reader process when streams are read in one (``[ui] stream_reader``),
        else None; made, not started, on first use (it starts itself on its first stream)."""
        if self._stream_reader is None and not self._reader_off and self.settings.ui.reads_in_a_process():
            from workbench.paths import cache_dir
            from workbench.providers.reader_process import ReaderProcess

            self._stream_reader = ReaderProcess(cache_dir() / "stream-reader.log")
        return self._stream_reader

    @property
    def has_stream_reader(self) -> bool:
        """True once the reader was made (so there may be a process to close)."""
        return self._stream_reader is not None

    def read_inline(self) -> None:
        """Read streams in the app's own process from now on (the reader could not start)."""
        self._stream_reader, self._reader_off = None, True
