"""A few SVG snapshots of the compare screen (layout and theme regressions, not behaviour).

Deterministic by construction: the stub's streams finish before the picture, the meters' clock
is frozen, and the input cursor does not blink. Approve changes with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

import workbench.meter
from servers.openai_stub import SSE, completion
from ui.helpers import make_app, wait_round

ANSWER = """Here is a **recursive** solution:

```python
def flatten(items: list) -> list:
    out = []
    for item in items:
        out.extend(flatten(item) if isinstance(item, list) else [item])
    return out
```

- handles arbitrary depth
- ignores non-list iterables
"""


@pytest.fixture
def frozen_meters(monkeypatch):
    monkeypatch.setattr(workbench.meter, "clock_source", lambda: (lambda: 100.0))


def _app(home, stub, models):
    stub.script = SSE(completion(ANSWER, prompt_tokens=31, completion_tokens=64))
    priced = {m: {"name": f"Model {m[-1].upper()}", "input_per_m": 0.5, "output_per_m": 1.25} for m in models}
    return make_app(home, stub.base_url, priced)


async def _run_round(pilot):
    app = pilot.app
    app.screen.prompt_bar.input.cursor_blink = False
    app.screen.prompt_bar.input.value = "Flatten a nested list"
    await pilot.press("enter")
    await wait_round(pilot)


def test_three_panes_at_80x24(snap_compare, isolated_home, openai_stub, frozen_meters):
    app = _app(isolated_home, openai_stub, ["stub-a", "stub-b", "stub-c"])
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_round)


def test_four_panes_wide(snap_compare, isolated_home, openai_stub, frozen_meters):
    app = _app(isolated_home, openai_stub, ["stub-a", "stub-b", "stub-c", "stub-d"])
    assert snap_compare(app, terminal_size=(200, 50), run_before=_run_round)


def test_six_panes_one_at_a_time_at_80x24(snap_compare, isolated_home, openai_stub, frozen_meters):
    app = _app(isolated_home, openai_stub, [f"stub-{c}" for c in "abcdef"])
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_round)
