"""The compare screen driven by keys against a real local stub server."""

from __future__ import annotations

import json
import sqlite3

from servers.openai_stub import SSE, chunk, completion, error_status, stall, usage_chunk
from ui.helpers import make_app, pane_texts, send, wait_round, wait_until

PRICED = {"input_per_m": 1.0, "output_per_m": 2.0}


async def test_prompt_streams_into_three_panes_and_meters_turn_exact(isolated_home, openai_stub):
    openai_stub.script = {
        # a stalled stream: deterministic "mid-stream" without timing
        "stub-a": stall([chunk("", role="assistant"), chunk("Alpha answer so far")]),
        "stub-b": SSE(completion("Bravo says `hello` in code.", prompt_tokens=12, completion_tokens=40)),
        "stub-c": SSE(completion("Charlie wins.", prompt_tokens=12, completion_tokens=3)),
    }
    app = make_app(isolated_home, openai_stub.base_url, {m: PRICED for m in ("stub-a", "stub-b", "stub-c")})
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Say something")
        pane_a, pane_b, pane_c = app.screen.grid.panes
        await wait_until(pilot, lambda: "Alpha answer so far" in pane_a.view.rendered_text()
                         and pane_b.status == pane_c.status == "ok")
        # mid-stream: text shown, meter an estimate
        assert pane_a.status == "streaming" and pane_a.border_subtitle == "streaming…"
        assert "est." in pane_a.meter.summary and not pane_a.result.reading().exact
        assert "Bravo says hello in code." in pane_b.view.rendered_text()
        assert "Charlie wins." in pane_c.view.rendered_text()
        for pane in (pane_b, pane_c):
            assert "exact" in pane.meter.summary and "~" not in pane.meter.summary
        reading = pane_b.result.reading()
        assert (reading.input_tokens, reading.output_tokens) == (12, 40)
        assert str(reading.cost.total_usd) == "0.000092"  # 12 × $1/M + 40 × $2/M
        assert "$0.000092" in pane_b.meter.summary
        await pilot.press("escape")
        await wait_round(pilot)
        # the session total sums every pane, the cancelled one's estimate included
        total = sum((p.result.reading().cost.total_usd for p in (pane_a, pane_b, pane_c)), start=type(reading.cost.total_usd)(0))
        assert f"total ${total:.6f}".rstrip("0") in app.screen.session_bar.render().plain
    sent = [r.json for r in openai_stub.requests]
    assert {b["model"] for b in sent} == {"stub-a", "stub-b", "stub-c"}
    assert all(b["temperature"] == 0.2 and b["stream"] and b["stream_options"] == {"include_usage": True} for b in sent)


async def test_escape_stops_streams_and_keeps_partial_text(isolated_home, openai_stub):
    openai_stub.script = stall([chunk("", role="assistant"), chunk("Partial words so far")])
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Go")
        panes = app.screen.grid.panes
        await wait_until(pilot, lambda: all("Partial words" in p.view.rendered_text() for p in panes))
        assert app.screen.streaming
        await pilot.press("escape")
        await wait_round(pilot)
        for pane in panes:
            assert pane.status == "cancelled"
            text = pane.view.rendered_text()
            assert "Partial words so far" in text and "Cancelled" in text
        answer_ids = [p.result.answer_id for p in panes]
    rows = sqlite3.connect(isolated_home / "data" / "test.sqlite3").execute(
        f"SELECT status, text FROM answers WHERE id IN ({','.join('?' * len(answer_ids))})", answer_ids).fetchall()
    assert rows == [("cancelled", "Partial words so far")] * 2


async def test_one_failing_model_leaves_the_others_running(isolated_home, openai_stub):
    openai_stub.script = {
        "stub-a": stall([chunk("", role="assistant"), chunk("first part")]),
        "stub-b": error_status(500, "upstream exploded"),
    }
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Go")
        pane_a, pane_b = app.screen.grid.panes
        await wait_until(pilot, lambda: pane_b.status == "error")
        await wait_until(pilot, lambda: "first part" in pane_a.view.rendered_text())
        assert pane_a.is_streaming  # still going while b has failed
        await pilot.press("escape")
        await wait_round(pilot)
        assert pane_a.status == "cancelled" and "first part" in pane_a.view.rendered_text()
        failed = pane_b.view.rendered_text()
        assert "Failed: HTTP 500" in failed and "upstream exploded" in failed
        assert pane_b.has_class("-failed")
        assert pane_b.border_subtitle == "failed"


async def test_retry_reruns_only_the_focused_pane(isolated_home, openai_stub):
    openai_stub.script = {
        "stub-a": SSE(completion("A is fine.")),
        # a 400 is not retried by itself (a 503 would be): the r key retries it
        "stub-b": [error_status(400, "bad request"), SSE(completion("B on the second try."))],
    }
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        pane_a, pane_b = app.screen.grid.panes
        assert pane_b.status == "error"
        pane_b.view.focus()
        await pilot.press("r")
        await wait_round(pilot)
        assert pane_b.status == "ok" and "B on the second try." in pane_b.view.rendered_text()
        assert "Failed" not in pane_b.view.rendered_text()
    assert [r.json["model"] for r in openai_stub.requests].count("stub-a") == 1


async def test_reasoning_is_shown_apart_and_collapsed(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("The answer is 4.", reasoning="First I add two and two."))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "2+2?")
        await wait_round(pilot)
        view = app.screen.grid.panes[0].view
        text = view.rendered_text()
        assert "▸ reasoning" in text and "First I add" not in text and "The answer is 4." in text
        view.focus()
        await pilot.press("t")
        text = view.rendered_text()
        assert "▾ reasoning" in text and "First I add two and two." in text
        assert text.index("First I add") < text.index("The answer is 4.")


async def test_model_text_cannot_drive_the_terminal(isolated_home, openai_stub):
    hostile = "Safe\x1b]52;c;cm0gLXJmIH4=\x07 text\x1b[2J\x1b]0;pwned\x07 end\x9b31m done\x07"
    openai_stub.script = SSE(completion(hostile, pieces=5))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        pane = app.screen.grid.panes[0]
        shown = pane.view.rendered_text()
        assert "Safe" in shown and "end" in shown
        assert not any(ch in shown for ch in ("\x1b", "\x07", "\x9b"))
        assert "52;c" not in shown and "pwned" not in shown
        assert pane.result.text == hostile  # the store keeps what the model sent


async def test_options_change_temperature_and_system_prompt(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("ok"))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press(*"Be terse.")
        app.screen.query_one("#option-temperature").value = "0.7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await send(pilot, "Hi")
        await wait_round(pilot)
        assert "temp 0.7" in app.screen.session_bar.render().plain
    body = openai_stub.requests[-1].json
    assert body["temperature"] == 0.7
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


async def test_multiline_prompt_sends_with_ctrl_s(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("ok"))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"line one", "enter", *"line two")
        await pilot.press("ctrl+s")
        await wait_round(pilot)
    assert openai_stub.requests[-1].json["messages"][-1]["content"] == "line one\nline two"


async def test_model_picker_changes_the_panes(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("ok"))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a", "stub-b", "stub-c"])
    app.initial_models = app.initial_models[:1]
    async with app.run_test(size=(160, 40)) as pilot:
        assert len(app.screen.grid.panes) == 1
        await pilot.press("f3")
        await pilot.pause()
        picker = app.screen.query_one("SelectionList")
        picker.select("stub-b")
        picker.select("stub-c")
        await pilot.press("enter")
        await pilot.pause()
        assert [p.model.id for p in app.screen.grid.panes] == ["stub-a", "stub-b", "stub-c"]


async def test_layout_adapts_and_panes_switch_and_zoom(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("ok"))
    models = [f"stub-{i}" for i in range(6)]
    app = make_app(isolated_home, openai_stub.base_url, models)
    async with app.run_test(size=(200, 50)) as pilot:
        grid = app.screen.grid
        assert grid.mode == "grid" and all(p.display for p in grid.panes)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert grid.mode == "single"
        assert [p.display for p in grid.panes] == [True] + [False] * 5
        await pilot.press("alt+right")
        await pilot.pause()
        assert grid.active == 1 and grid.panes[1].display and not grid.panes[0].display
        assert app.focused is grid.panes[1].view
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        assert grid.mode == "zoom" and [p.display for p in grid.panes].count(True) == 1
        await pilot.press("z")
        await pilot.pause()
        assert grid.mode == "grid"


async def test_answers_and_run_are_saved(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("Saved text.", model="served-xyz"))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "Persist me")
        await wait_round(pilot)
    conn = sqlite3.connect(isolated_home / "data" / "test.sqlite3")
    run = conn.execute("SELECT prompt, params_json FROM runs").fetchone()
    assert run[0] == "Persist me" and json.loads(run[1])["temperature"] == 0.2
    row = conn.execute("SELECT status, text, served_model, tokens_exact FROM answers").fetchone()
    assert row == ("ok", "Saved text.", "served-xyz", 1)


async def test_keys_can_be_remapped_in_config(isolated_home, openai_stub):
    from servers.fixtures import write_stub_config

    config = write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    config.write_text(config.read_text() + '\n[keys]\npick-models = "f6"\n')
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    settings = load_settings(config)
    app = WorkbenchApp(settings, resolve_models(settings, ["stub-a"]), store_path=isolated_home / "db.sqlite3")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert type(app.screen).__name__ == "CompareScreen"  # f3 no longer opens the picker
        await pilot.press("f6")
        await pilot.pause()
        assert type(app.screen).__name__ == "ModelPicker"


async def test_command_palette_offers_what_makes_sense_now(isolated_home, openai_stub):
    openai_stub.script = stall([chunk("", role="assistant"), chunk("thinking")])
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Choose models" in titles and "Stop all streams" not in titles
        assert not any(t.startswith("Retry") for t in titles)  # nothing sent yet
        await send(pilot, "Go")
        await wait_until(pilot, lambda: "thinking" in app.screen.grid.panes[0].view.rendered_text())
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Stop all streams" in titles and not any(t.startswith("Retry") for t in titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"stop all")
        # not workers.wait_for_complete(): that would also wait for the stalled stream
        from textual.command import CommandList

        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count
                         and "Stop all streams" in str(commands.get_option_at_index(0).prompt))
        await pilot.press("enter")
        await wait_round(pilot)
        assert app.screen.grid.panes[0].status == "cancelled"
        assert "Retry 1 stub-a" in [c.title for c in app.get_system_commands(app.screen)]


async def test_empty_panes_say_what_to_do_until_a_prompt_is_sent(isolated_home, openai_stub):
    openai_stub.script = SSE(completion("Hello there."))
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = app.screen.grid.panes[0].view
        assert "Waiting for a prompt" in view.rendered_text()
        assert "ready" in app.screen.session_bar.render().plain
        await send(pilot, "Hi")
        await wait_round(pilot)
        assert "Waiting for a prompt" not in view.rendered_text() and "Hello there." in view.rendered_text()
        assert "round 1" in app.screen.session_bar.render().plain


async def test_a_retry_is_said_in_its_pane(isolated_home, openai_stub, instant_retries):
    from servers.openai_stub import chunk

    openai_stub.script = {"stub-a": [error_status(429, "slow down", headers={"Retry-After": "2"}),
                                     stall([chunk("", role="assistant")])]}
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 30)) as pilot:
        await send(pilot, "Go")
        pane = app.screen.grid.panes[0]
        await wait_until(pilot, lambda: "retrying in 2 s" in pane.view.rendered_text())
        assert "try 2 of 3" in pane.view.rendered_text() and instant_retries == [2.0]
        await pilot.press("escape")
        await wait_round(pilot)
