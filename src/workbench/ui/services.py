"""What the app's screens share, handed to each screen when it is made (never fished off ``self.app``)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from workbench.config import Settings
from workbench.providers.reader_process import ReaderProcess
from workbench.rounds import StoreAccess
from workbench.tokens import TokenCounter


@dataclass
class Services:
    """The settings, the store (reached off the event loop), the token counter, and the HTTP
    client or stream reader process the model calls go through (set when the app mounts)."""

    settings: Settings
    store: StoreAccess
    token_counter: TokenCounter
    http_client: httpx.AsyncClient | None = None
    stream_reader: ReaderProcess | None = None
