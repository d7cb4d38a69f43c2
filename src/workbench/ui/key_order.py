"""Keys keep their order whatever the typing speed.

Textual routes a key to the widget focused when the app reads it, not when the keys before it have
been handled: a quick typist or a paste (`s Tab 6 Tab 5…` to score, `n s 8 Enter`) outruns a focus
move still queued or a screen still opening, and keys land in the wrong field or nowhere. So:

- after a key goes to a widget, the next keys wait until that widget and its ancestors up to the
  screen have handled it (and what it set off along that path), or a short limit passes;
- an action that opens or closes a screen holds the keys until the new focus is set
  (``hold_keys()`` … ``release_keys()``).
"""

from __future__ import annotations

import asyncio
import time

from textual import events

#: A hold that nobody releases (a screen that failed to open) must not swallow the keyboard.
HOLD_LIMIT_S = 2.0
#: A key's handlers that run longer than this are waiting on something else (the store, the
#: network): the next keys go on rather than feel dead.
KEY_SETTLE_LIMIT_S = 0.3


class OrderedKeys:
    """Mixin for the App (before ``App`` in the bases): keys are handled one after the other."""

    _held_keys: list[events.Key] | None = None
    _hold_timer = None
    _key_watch: asyncio.Task | None = None
    _explicit_holds = 0  # counts hold_keys() calls: a key's watch must not end a screen's hold

    def hold_keys(self) -> None:
        """Keys read from now on wait until ``release_keys()`` (or a short safety limit)."""
        self._explicit_holds += 1
        if self._held_keys is None:
            self._held_keys = []
        if self._hold_timer is not None:
            self._hold_timer.stop()
        self._hold_timer = self.set_timer(HOLD_LIMIT_S, self._replay_held_keys, name="key-hold-limit")

    @property
    def holding_keys(self) -> bool:
        """True while keys are being held."""
        return self._held_keys is not None

    def release_keys(self) -> None:
        """Replay the held keys after every callback queued so far (focus moves among them)."""
        if self._held_keys is not None:
            self.call_later(self._replay_held_keys)

    async def _replay_held_keys(self) -> None:
        held, self._held_keys = self._held_keys or [], None
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        while held:
            if self._held_keys is not None:  # the last key is still on its way: the rest wait again
                self._held_keys[:0] = held
                return
            await self._dispatch_key(held.pop(0))

    async def _dispatch_key(self, event: events.Key) -> None:
        target = self.focused or self.screen
        await super().on_event(event)  # type: ignore[misc]
        if event.is_forwarded and self._held_keys is None:
            # the key went to ``target``'s queue: the next ones wait until it has been handled
            self._held_keys = []
            chain = []
            node = target
            while node is not None and node is not self:
                chain.append(node)
                node = node._parent
            watch = self._release_when_handled(chain, self._explicit_holds)
            self._key_watch = asyncio.get_running_loop().create_task(watch)

    async def _release_when_handled(self, chain: list, holds: int) -> None:
        # A callback queued behind the key runs once the key has been handled; repeated while
        # more arrived meanwhile (a message the key's action posted), then one level up, where
        # the key bubbled.
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + KEY_SETTLE_LIMIT_S
        try:
            for node in chain:
                while True:
                    reached = loop.create_future()
                    if not node.call_later(lambda f=reached: f.done() or f.set_result(None)):
                        break  # the node is closing: nothing more will happen there
                    await asyncio.wait_for(reached, max(0.0, deadline - time.monotonic()))
                    if node._message_queue.empty():
                        break
        except TimeoutError:
            pass
        if self._explicit_holds == holds:  # else a screen opening holds the keys and will release them
            self.release_keys()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is not None:
                self._held_keys.append(event)
            else:
                await self._dispatch_key(event)
            return
        await super().on_event(event)  # type: ignore[misc]


async def keys_handled(*widgets, limit_s: float = HOLD_LIMIT_S) -> None:
    """Return once each widget has handled the events queued to it so far (keys forwarded to an
    input before a save key, say); gives up after ``limit_s`` rather than hang."""
    loop = asyncio.get_running_loop()
    waits = []
    for widget in widgets:
        done = loop.create_future()
        widget.call_later(done.set_result, None)
        waits.append(done)
    try:
        await asyncio.wait_for(asyncio.gather(*waits), limit_s)
    except TimeoutError:
        pass
