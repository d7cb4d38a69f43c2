"""Selection reads without colour (issue 13 item 7): F3's model list and F8's blind box mark a
chosen row [x] and the others [ ], on the painted screen, also under NO_COLOR; keys as before."""

from __future__ import annotations

import pytest

from servers.openai_stub import SSE, completion
from ui.helpers import make_app, painted_lines, wait_until
from workbench.ui.screens.model_picker import ModelPicker
from workbench.ui.screens.suite_picker import SuitePicker

MODELS = ["stub-a", "stub-b", "stub-c"]
TEXTUAL_BOX = ("▐", "▌")  # Textual's toggle: the same glyphs whatever the state


def _row(app, model_id: str) -> str:
    rows = [line for line in painted_lines(app) if f"·  {model_id}  ·" in line]
    assert len(rows) == 1, (model_id, painted_lines(app))
    return rows[0]


def _mark(row: str) -> str:
    start = row.index("[")
    return row[start:start + 3]


def _no_textual_box(app) -> None:
    shown = "\n".join(painted_lines(app))
    assert not any(glyph in shown for glyph in TEXTUAL_BOX), shown


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_model_picker_marks_chosen_rows(isolated_home, openai_stub, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    openai_stub.script = SSE(completion("ok"))
    app = make_app(isolated_home, openai_stub.base_url, MODELS)
    app.initial_models = app.initial_models[:1]
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.no_color is no_color
        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), "the model picker (F3)")
        assert [_mark(_row(app, m)) for m in MODELS] == ["[x]", "[ ]", "[ ]"]
        _no_textual_box(app)
        rows = app.screen.query_one("SelectionList")

        async def space_on(model_id: str) -> None:  # move there by keys, then Space
            target = next(i for i in range(rows.option_count) if rows.get_option_at_index(i).value == model_id)
            step = "down" if target > rows.highlighted else "up"
            await pilot.press(*[step] * abs(target - rows.highlighted), "space")
            await pilot.pause()

        await space_on("stub-b")
        assert [_mark(_row(app, m)) for m in MODELS] == ["[x]", "[x]", "[ ]"]
        await space_on("stub-c")
        await space_on("stub-c")  # a second Space unticks
        assert _mark(_row(app, "stub-c")) == "[ ]"
        await space_on("stub-a")
        assert [_mark(_row(app, m)) for m in MODELS] == ["[ ]", "[x]", "[ ]"]
        _no_textual_box(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ModelPicker), "the picker to apply (Enter)")
        assert [p.model.id for p in app.screen.grid.panes] == ["stub-b"]


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_suite_picker_blind_box_reads_as_text(isolated_home, openai_stub, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(isolated_home, openai_stub.base_url, MODELS[:2])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f8")
        await wait_until(pilot, lambda: isinstance(app.screen, SuitePicker), "the suite picker (F8)")
        picker = app.screen

        def blind_row() -> str:
            rows = [line for line in painted_lines(app) if "blind" in line and "time(s)" in line]
            assert len(rows) == 1, painted_lines(app)
            return rows[0]

        assert "[ ] blind" in blind_row()
        _no_textual_box(app)
        box = picker.query_one("#suite-blind")
        box.focus()
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        assert box.value is True and "[x] blind" in blind_row()
        await pilot.press("enter")  # Enter toggles a focused box, as in Textual
        await pilot.pause()
        assert box.value is False and "[ ] blind" in blind_row()
        _no_textual_box(app)
