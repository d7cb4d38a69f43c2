"""A day-long session keeps a flat widget count (issue: memory across hundreds of rounds). The
footer no longer rebuilds its keys (Textualize/textual#6666 leaked a row of FooterKey widgets at
every change of the bindings); nothing else may grow per round either."""

from __future__ import annotations

import gc
from collections import Counter

from textual.widget import Widget

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, send, wait_round

MODELS = {"zephyr-1": {"name": "Zephyr Coder"}, "quasar-2": {"name": "Quasar Chat"}, "nimbus-3": {}}


def _live_widgets() -> Counter:
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, Widget))


async def test_forty_rounds_leave_as_many_widgets_as_ten(isolated_home, openai_stub):
    openai_stub.script = {m: SSE(completion(f"Answer {i}: `code`.", prompt_tokens=5, completion_tokens=6))
                          for i, m in enumerate(MODELS)}
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        counts = {}
        for n in range(1, 41):
            await send(pilot, f"Round {n}")
            await wait_round(pilot)
            await pilot.press("alt+right", "escape")  # focus moves: the footer's keys change
            if n in (10, 40):
                counts[n] = _live_widgets()
        grown = {k: (counts[10][k], v) for k, v in counts[40].items() if v > counts[10][k]}
        assert not grown, f"widgets that grew from round 10 to 40 (count at 10, at 40): {grown}"
        assert counts[40]["FooterKey"] == 0
