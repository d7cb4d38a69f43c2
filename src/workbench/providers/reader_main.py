"""The stream reader process: ``python -m workbench.providers.reader_main``.

The app starts one (providers/reader_process.py) so that reading and parsing the model streams
(httpx, h11, SSE, JSON: about 0.2 ms of CPU per event, 2,000 events a second with 10 panes at
200 tok/s) happens on another core than the one drawing the screen (Q1). It runs each adapter's
``stream()`` exactly as the app would and sends the events back in batches, at most one every
``BATCH_INTERVAL_S``; the first event after a quiet spell goes at once, so time to first token
is not delayed. Retries stay in the app (providers/retry.py): one ``open`` here is one try.

It exits when its stdin closes, i.e. when the app ends, however it ends.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from typing import Any

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.base import make_provider
from workbench.providers.events import StreamEvent
from workbench.providers.http import client_for, make_client
from workbench.providers.reader_wire import DONE, HEADER, coalesce, encode_error, frame, unframe
from workbench.providers.text import redact

BATCH_INTERVAL_S = 0.02


class Outbox:
    """Events waiting to be sent, per stream; written in one frame at most every interval."""

    def __init__(self, fd: int, interval: float = BATCH_INTERVAL_S) -> None:
        self.fd = fd
        self.interval = interval
        self.pending: dict[int, list[StreamEvent]] = {}
        self.ends: dict[int, Any] = {}
        self._loop = asyncio.get_running_loop()
        self._sent_at = -1e9
        self._handle: asyncio.TimerHandle | None = None

    def add(self, sid: int, event: StreamEvent) -> None:
        self.pending.setdefault(sid, []).append(event)
        self._schedule()

    def end(self, sid: int, end: Any) -> None:
        self.pending.setdefault(sid, [])
        self.ends[sid] = end
        self._schedule()

    def drop(self, sid: int) -> None:
        """Forget a cancelled stream: the app no longer listens to it."""
        self.pending.pop(sid, None)
        self.ends.pop(sid, None)

    def _schedule(self) -> None:
        if self._handle is None:
            delay = max(0.0, self._sent_at + self.interval - self._loop.time())
            self._handle = self._loop.call_later(delay, self.flush)

    def flush(self) -> None:
        self._handle = None
        if not self.pending:
            return
        batch = [(sid, coalesce(events), self.ends.pop(sid, None)) for sid, events in self.pending.items()]
        self.pending.clear()
        self._sent_at = self._loop.time()
        # A blocking write: if the app is slow to read, this process waits too, and TCP slows
        # the servers down, rather than events piling up here.
        data = memoryview(frame(batch))
        while data:
            data = data[os.write(self.fd, data):]


class Reader:
    """Runs the streams the app opens, until stdin closes."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.client = make_client(10)
        self.tasks: dict[int, asyncio.Task] = {}

    def handle(self, message: tuple) -> None:
        if message[0] == "open":
            _, sid, config, key, model, request = message
            task = asyncio.get_running_loop().create_task(self.run(sid, config, key, model, request))
            self.tasks[sid] = task
            task.add_done_callback(lambda _t, sid=sid: self.tasks.pop(sid, None))
        elif message[0] == "cancel":
            task = self.tasks.get(message[1])
            if task is not None:
                task.cancel()
            self.outbox.drop(message[1])

    async def run(self, sid: int, config: ProviderConfig, key: str | None, model: ModelInfo,
                  request: ChatRequest) -> None:
        outbox = self.outbox
        try:
            provider = make_provider(config, key)
            async with client_for(self.client, config) as http:
                async for event in provider.stream(http, model, request):
                    outbox.add(sid, event)
            outbox.end(sid, DONE)
        except asyncio.CancelledError:
            outbox.drop(sid)
            raise
        except errors.ProviderError as exc:
            outbox.end(sid, encode_error(exc))
        except Exception as exc:  # a bug: say so in the pane, keep the details in the log
            sys.stderr.write(redact(traceback.format_exc(), key))
            error = errors.ProviderError(redact(f"internal error in the stream reader ({type(exc).__name__}: {exc})", key))
            error.retryable = False  # type: ignore[attr-defined]
            outbox.end(sid, encode_error(error))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.client.aclose()


async def serve(commands_fd: int, out_fd: int) -> None:
    """Read commands until EOF; run them."""
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), os.fdopen(commands_fd, "rb", 0))
    reader = Reader(Outbox(out_fd))
    try:
        while True:
            try:
                header = await commands.readexactly(HEADER.size)
                body = await commands.readexactly(HEADER.unpack(header)[0])
            except asyncio.IncompleteReadError:
                return  # the app closed our stdin: it is ending
            reader.handle(unframe(body))
    finally:
        await reader.close()


def main() -> None:
    """Entry point: frames go out on the original stdout; anything else printed goes to stderr
    (the app's log file), so a stray print cannot corrupt the stream of frames."""
    out_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        asyncio.run(serve(0, out_fd))
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group; the app decides
        pass
    except BrokenPipeError:  # the app is gone
        pass
    sys.stderr.flush()


if __name__ == "__main__":
    main()
