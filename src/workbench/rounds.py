"""Recording rounds in the store (C4, Q6): the ONLY way the TUI, `ask` and suite runs write one.

A ``RoundRecorder`` opens a run, starts an answer row when its stream starts, saves the
partial text of every streaming answer on one timer (``CHECKPOINT_PERIOD_S``: a kill loses at
most that much text, however the stream stalls), and finishes each answer as it ends. Every
write runs in a thread (``StoreAccess``): SQLite blocks, and the event loop draws the screen.
What is written is read on the loop first (an ``AnswerResult`` is not thread-safe) and handed
over as a frozen record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from workbench.domain import AnswerPartial, AnswerStatus, RunRecord
from workbench.runner import AnswerResult
from workbench.store.answers import checkpoint_answers, create_run, finish_answer, recover_orphans, start_answer
from workbench.store.db import Store, StoreError, open_store

#: How often the partial text of streaming answers is saved, in the TUI, `ask` and suites alike.
CHECKPOINT_PERIOD_S = 1.0

P = ParamSpec("P")
T = TypeVar("T")


class StoreAccess:
    """The store, reached off the event loop: opened in a thread on first use (answers left
    'streaming' by a dead process are marked interrupted then), every call run in a thread."""

    def __init__(self, path: Path | None = None, *, store: Store | None = None) -> None:
        if path is None and store is None:
            raise ValueError("StoreAccess needs a path or an open store")
        self.path = path if path is not None else store.path  # type: ignore[union-attr]
        self.store: Store | None = None
        self._given = store
        self._failure: StoreError | None = None
        self._opening: asyncio.Lock | None = None

    @property
    def failed(self) -> bool:
        """True once opening the store failed (the error was raised to the first caller)."""
        return self._failure is not None

    async def open(self) -> Store:
        """The open store; raises ``StoreError`` when it cannot be opened (every time after)."""
        if self.store is not None:
            return self.store
        if self._failure is not None:
            raise self._failure
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self.store is None and self._failure is None:
                try:
                    self.store = await asyncio.to_thread(self._open_now)
                except StoreError as exc:
                    self._failure = exc
        if self._failure is not None:
            raise self._failure
        assert self.store is not None
        return self.store

    def _open_now(self) -> Store:
        store = self._given if self._given is not None else open_store(self.path)
        recover_orphans(store)
        return store

    async def call(self, func: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``func(store, *args, **kwargs)`` in a thread; ``StoreError`` if the store is unavailable."""
        store = await self.open()
        return await asyncio.to_thread(func, store, *args, **kwargs)

    def call_now(self, func: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``func(store, …)`` right here, for when no event loop runs (after Ctrl+C ended it)."""
        if self.store is None:
            if self._failure is not None:
                raise self._failure
            self.store = self._open_now()
        return func(self.store, *args, **kwargs)

    def close(self) -> None:
        """Close the store if it was opened."""
        if self.store is not None:
            self.store.close()
            self.store = None


class RoundRecorder:
    """Writes the rounds of one front-end session: ``open_run`` (or ``adopt_run``) → ``start``
    per answer → checkpoints on a timer → ``finish`` per answer.

    With ``on_error``, a write that fails is reported there and the method returns None (the
    app keeps streaming); an unavailable store is skipped quietly, since opening it already
    said so. Without it, errors propagate (the command line reports them and exits).
    """

    def __init__(self, access: StoreAccess, *, on_error: Callable[[str], None] | None = None,
                 period_s: float = CHECKPOINT_PERIOD_S) -> None:
        self.access = access
        self.on_error = on_error
        self.period_s = period_s
        self.run_id: int | None = None
        self._live: dict[int, AnswerResult] = {}  # answer id → streaming answer
        self._saved: dict[int, tuple[int, int]] = {}  # answer id → (text, reasoning) lengths saved
        self._ticker: asyncio.Task[None] | None = None

    async def open_run(self, run: RunRecord) -> int | None:
        """Record a new round; it becomes the current run. None if it could not be saved."""
        self.run_id = await self._write(create_run, run)
        return self.run_id

    def adopt_run(self, run_id: int | None) -> None:
        """Make a stored run the current one (a run reopened from history, a suite step resumed)."""
        self.run_id = run_id

    async def start(self, result: AnswerResult, blind_label: str | None = None) -> int | None:
        """Record an answer of the current run as it starts to stream; sets ``result.answer_id``."""
        if self.run_id is None:
            return None
        answer_id = await self._write(start_answer, self.run_id, result.start_record(blind_label))
        result.answer_id = answer_id
        if answer_id is not None:
            self._live[answer_id] = result
            self._saved[answer_id] = (0, 0)
            if self._ticker is None or self._ticker.done():
                self._ticker = asyncio.create_task(self._tick(), name="round-checkpoints")
        return answer_id

    async def finish(self, result: AnswerResult) -> None:
        """Record how an answer ended (a still 'streaming' one is saved as cancelled)."""
        if result.answer_id is None:
            return
        self._forget(result.answer_id)
        if result.status == AnswerStatus.STREAMING:
            result.status = AnswerStatus.CANCELLED
        await self._write(finish_answer, result.answer_id, result.final_record())

    def finish_unfinished(self) -> list[AnswerResult]:
        """Without an event loop (after Ctrl+C): record every answer not yet finished, as
        cancelled if it was still streaming; returns them."""
        left = list(self._live.values())
        for result in left:
            self._forget(result.answer_id)  # type: ignore[arg-type]
            if result.status == AnswerStatus.STREAMING:
                result.status = AnswerStatus.CANCELLED
            self.access.call_now(finish_answer, result.answer_id, result.final_record())
        return left

    async def checkpoint(self) -> None:
        """Save the partial text of every streaming answer that grew since its last save."""
        changed = []
        for answer_id, result in list(self._live.items()):
            if result.status != AnswerStatus.STREAMING:
                continue
            sizes = (sum(map(len, result.text_parts)), sum(map(len, result.reasoning_parts)))
            if sizes != self._saved.get(answer_id):
                changed.append(AnswerPartial(answer_id, result.text, result.reasoning))
                self._saved[answer_id] = sizes
        if changed:
            await self._write(checkpoint_answers, changed)

    async def aclose(self) -> None:
        """Stop the checkpoint timer (answers still live are left for ``finish``)."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick(self) -> None:
        while self._live:
            await asyncio.sleep(self.period_s)
            await self.checkpoint()

    def _forget(self, answer_id: int) -> None:
        self._live.pop(answer_id, None)
        self._saved.pop(answer_id, None)

    async def _write(self, func: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        if self.on_error is None:
            return await self.access.call(func, *args, **kwargs)
        try:
            return await self.access.call(func, *args, **kwargs)
        except StoreError:
            return None  # the store could not be opened: said once, when it was tried
        except Exception as exc:  # sqlite: keep streaming, say it was not saved
            self.on_error(f"Could not save to the store: {exc}")
            return None
