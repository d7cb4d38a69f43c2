"""The app's side of the stream reader process (providers/reader_main.py).

With 10 panes at 200 tok/s, reading and parsing the streams took 8 of the 20 CPU seconds the
app spent on one core, and the screen's event loop lagged 70–90 ms at p95 (Q1 asks ≤ 50). The
reader process does that work on the other core and hands over events in batches. To the
runner it is just another ``Provider`` (``RemoteProvider``): the retry policy, deadlines,
cancellation and meters stay where they were.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.base import Provider, make_provider
from workbench.providers.events import StreamEvent
from workbench.providers.reader_wire import DONE, HEADER, decode_error, frame, unframe

if TYPE_CHECKING:  # the app makes a reader before it needs httpx (Q2: not before the first frame)
    import httpx

#: how long ``close`` waits for the process to end by itself before it is killed
CLOSE_GRACE_S = 2.0
#: the reader's log (tracebacks of its own bugs only) starts afresh beyond this size
LOG_LIMIT = 1_000_000


class ReaderProcess:
    """One stream reader process, started on first use (or by ``start``) and again if it died."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._streams: dict[int, asyncio.Queue] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the process is up."""
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        """Start the process if it is not running; raises ``ProviderError`` if it cannot be."""
        async with self._lock:
            if self.running and self._pump is not None and not self._pump.done():
                return
            await self._stop_process()
            self._open_log()
            env = dict(os.environ)
            # The child imports this very package, also when it runs from a source checkout.
            package_root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
            try:
                self.process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "workbench.providers.reader_main",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    stderr=self._log if self._log is not None else asyncio.subprocess.DEVNULL,
                    env=env, start_new_session=True,  # Ctrl+C and job control are the app's to handle
                )
            except OSError as exc:
                raise errors.ProviderError(f"cannot start the stream reader process ({exc})") from None
            self._pump = asyncio.get_running_loop().create_task(self._read_frames(self.process))

    def _open_log(self) -> None:
        if self._log is not None or self.log_path is None:
            return
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            big = self.log_path.exists() and self.log_path.stat().st_size > LOG_LIMIT
            self._log = open(self.log_path, "wb" if big else "ab")  # noqa: SIM115  (kept open for the child's life)
        except OSError:
            self._log = None

    async def _read_frames(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                header = await process.stdout.readexactly(HEADER.size)
                batch = unframe(await process.stdout.readexactly(HEADER.unpack(header)[0]))
                for sid, events, end in batch:
                    queue = self._streams.get(sid)
                    if queue is not None:
                        queue.put_nowait((events, end))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as exc:  # a frame that does not unpickle: the process is of no more use
            self._fail_all(f"the stream reader process sent a bad frame ({type(exc).__name__})")
            await self._stop_process()
            return
        code = await process.wait()
        self._fail_all(f"the stream reader process ended unexpectedly (exit code {code})"
                       + (f"; see {self.log_path}" if self.log_path else ""))

    def _fail_all(self, message: str) -> None:
        error = errors.StreamCutError(message)
        error.retryable = False  # type: ignore[attr-defined]
        for queue in self._streams.values():
            queue.put_nowait(([], error))

    def _send(self, message: Any) -> None:
        process = self.process
        if process is None or process.stdin is None or process.stdin.is_closing():
            raise errors.StreamCutError("the stream reader process is not running")
        process.stdin.write(frame(message))

    async def stream(self, config: ProviderConfig, key: str | None, model: ModelInfo,
                     request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """One try of one model call, run in the reader process; the same events and errors as
        the adapter's own ``stream``. Leaving early cancels it there."""
        await self.start()
        sid = next(self._ids)
        queue: asyncio.Queue = asyncio.Queue()
        self._streams[sid] = queue
        ended = False
        try:
            self._send(("open", sid, config, key, model, request))
            while True:
                events, end = await queue.get()
                for event in events:
                    yield event
                if end is None:
                    continue
                ended = True
                if end == DONE:
                    return
                raise end if isinstance(end, errors.ProviderError) else decode_error(end)
        finally:
            del self._streams[sid]
            if not ended and self.running:
                try:
                    self._send(("cancel", sid))
                except errors.ProviderError:
                    pass

    def provider(self, config: ProviderConfig, key: str | None) -> Provider:
        """A Provider whose streams run in this process (``make_provider`` still checks the kind here,
        so an unknown one fails at once, as it would inline)."""
        return RemoteProvider(make_provider(config, key), self, config, key)

    async def close(self) -> None:
        """End the process: close its stdin (it exits by itself), kill it if it does not."""
        await self._stop_process()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def _stop_process(self) -> None:
        process, self.process = self.process, None
        pump, self._pump = self._pump, None
        # the pump first, so that an exit asked for here is not reported as a crash
        if pump is not None and pump is not asyncio.current_task() and not pump.done():
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
        if process is None:
            return
        self._fail_all("the stream reader process was stopped")
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), CLOSE_GRACE_S)
        except TimeoutError:
            process.kill()
            await process.wait()


class RemoteProvider:
    """An adapter whose ``stream`` runs in the reader process (the ``client`` argument is unused:
    the reader has its own)."""

    def __init__(self, local: Provider, reader: ReaderProcess, config: ProviderConfig, key: str | None) -> None:
        self.kind = local.kind
        self.reports_usage = local.reports_usage
        self._reader, self._config, self._key = reader, config, key

    def stream(self, client: httpx.AsyncClient | None, model: ModelInfo, request: ChatRequest
               ) -> AsyncIterator[StreamEvent]:
        return self._reader.stream(self._config, self._key, model, request)
