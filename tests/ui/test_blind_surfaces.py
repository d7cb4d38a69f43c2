"""A blind round tells nothing on any surface the user reads (C3, issue 19), where the models do
their best to give themselves away: every server names the model it served with its id, name and
price, and one model fails with an error that names it ("The model `nimbus-3` … does not exist").

Read as painted, not as widget state: each pane zoomed (so that nothing a leak would add is
clipped away), the top bar, the notifications, F7's history and the run reopened from it, F6's
leaderboard; then `workbench history` and `rank` in every format. Two regressions this must
catch: the served-model note shown in a blind pane, and a failed blind pane's error unredacted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, completion, error_status
from ui.helpers import painted_lines, painted_text, send, wait_round, wait_until
from workbench import paths
from workbench.catalog import resolve_models
from workbench.cli import main
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp

MODELS = {
    "zephyr-1": {"name": "Zephyr Coder", "vendor": "Zephyrsoft", "input_per_m": 0.17, "output_per_m": 0.37},
    "quasar-2": {"name": "Quasar Chat", "vendor": "Quasarware", "input_per_m": 1.7, "output_per_m": 3.7},
    "nimbus-3": {"name": "Nimbus Pro", "vendor": "Nimbus Labs", "input_per_m": 17.0, "output_per_m": 37.0},
}
FAILS = "nimbus-3"
NAMES = ("zephyr", "quasar", "nimbus")
# as a price is written ("$0.37", "0.37/M", "37.00"); a bare "0.37" could be a timing
PRICES = tuple(form for spec in MODELS.values() for p in (spec["input_per_m"], spec["output_per_m"])
               for form in (f"${p:.2f}", f"{p:.2f}/M", f"{p:.2f}" if p >= 1 else f"${p}"))
PROMPT_TOKENS = {"zephyr-1": 1301, "quasar-2": 1717}  # each tokenizer counts the prompt its own way
MONEY = re.compile(r"\$\s?\d")
SPEND = re.compile(r"\$\s?[0.,]*[1-9]")  # a sum that is not zero: "$0 over 0 answers" tells nothing


def served_name(model_id: str) -> str:
    """What the server says it served: the id, the name and the price, as a gateway might."""
    spec = MODELS[model_id]
    return f"{model_id}:{spec['name'].replace(' ', '-')}@${spec['output_per_m']:.2f}/M"


def script(error: str | None = None) -> dict:
    """Two answers whose servers name what they served; ``FAILS`` fails with ``error``."""
    replies: dict = {m: SSE(completion("A neutral answer, nothing more.", model=served_name(m),
                                        prompt_tokens=PROMPT_TOKENS[m], completion_tokens=40))
                     for m in MODELS if m != FAILS}
    replies[FAILS] = error_status(404, error or f"The model `{FAILS}` (Nimbus Pro by Nimbus Labs) does not exist",
                                  type_="invalid_request_error")
    return replies


def assert_nothing_tells(text: str, where: str, *, money: bool = True) -> None:
    """No model's name, id, vendor, price or input count in ``text``."""
    low = text.lower()
    for word in NAMES:
        assert word not in low, f"{where} names a model ({word!r}):\n{text}"
    for price in PRICES:
        assert price not in text, f"{where} shows a price ({price!r}):\n{text}"
    for count in PROMPT_TOKENS.values():
        assert str(count) not in text and f"{count / 1000:.1f}k" not in text, f"{where} shows an input count:\n{text}"
    if money:
        assert not MONEY.search(text), f"{where} shows money:\n{text}"


async def read_each_pane_zoomed(pilot, where: str) -> dict[str, str]:
    """Every pane zoomed in turn, its painted rows (title, text, notice, meter, subtitle)."""
    app, screen = pilot.app, pilot.app.screen
    seen = {}
    for i, pane in enumerate(screen.grid.panes):
        screen.grid.show_pane(i)
        await pilot.pause()
        await pilot.press("z")
        await wait_until(pilot, lambda: screen.grid.mode == "zoom", f"pane {i + 1} zoomed ({where})")
        shown = painted_text(app)
        assert_nothing_tells(shown, f"{where}, pane {pane.blind_label} zoomed")
        # the whole meter line too, where a narrow pane would clip a leak off the screen
        assert_nothing_tells(pane.meter.render().plain, f"{where}, the meter of pane {pane.blind_label}")
        seen[pane.blind_label] = shown
        await pilot.press("z")
        await wait_until(pilot, lambda: screen.grid.mode != "zoom", f"pane {i + 1} unzoomed ({where})")
    return seen


def blind_app(home: Path, stub: StubServer, error: str | None = None) -> WorkbenchApp:
    """The app on the store the commands read, the three models, ``FAILS`` failing with ``error``."""
    stub.script = script(error)
    settings = load_settings(write_stub_config(home, stub.base_url, MODELS))
    return WorkbenchApp(settings, resolve_models(settings, list(MODELS)), store_path=paths.store_file())


async def play_blind_round(pilot):
    """F5, a prompt, the round to its end; returns the failed pane (the servers said it all)."""
    app, screen = pilot.app, pilot.app.screen
    await wait_until(pilot, lambda: app.store is not None, "the store to open")
    await pilot.press("f5")
    await send(pilot, "Write a function")
    await wait_round(pilot)
    panes = screen.grid.panes
    assert sorted(p.blind_label for p in panes) == ["A", "B", "C"]
    failed = next(p for p in panes if p.model.id == FAILS)
    assert failed.status == "error" and FAILS in failed.result.error.message
    # were anything shown as it came, the reads that follow would fail
    assert all(p.result.served_model == served_name(p.model.id) for p in panes if p is not failed)
    return failed


async def test_a_blind_round_with_telltale_servers_tells_nothing(isolated_home: Path, openai_stub: StubServer,
                                                                 capsys: pytest.CaptureFixture) -> None:
    app = blind_app(isolated_home, openai_stub)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = app.screen
        failed = await play_blind_round(pilot)
        run_id = screen.run_id
        assert_nothing_tells(painted_text(app), "the compare screen")
        top = painted_lines(app)[0]
        assert "hidden" in top, top
        notes = " ".join(f"{n.title} {n.message}" for n in app._notifications)
        assert_nothing_tells(notes, "the notifications")
        zoomed = await read_each_pane_zoomed(pilot, "the round")
        # the failed pane says that it failed, and why, in words that name nobody
        failed_view = zoomed[failed.blind_label]
        assert "Failed: HTTP 404" in failed_view and "does not exist" in failed_view, failed_view

        await pilot.press("f7")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen", "the history screen (F7)")
        history = app.screen
        await wait_until(pilot, lambda: len(history.runs) == 1, "the blind run listed in F7")
        assert_nothing_tells(painted_text(app), "F7's history")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "F7 closed (Esc)")

        await pilot.press("f6")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LeaderboardScreen", "the leaderboard (F6)")
        await pilot.pause()
        # no blind run is ranked, nor counted in the spend, before its reveal
        board = painted_text(app)
        assert_nothing_tells(board, "F6's leaderboard", money=False)
        assert "1 blind round(s) left out" in board and not SPEND.search(board), board
    capsys.readouterr()

    for argv in (["history"], ["history", "--json"], ["history", "--show", str(run_id)],
                 ["history", "--show", str(run_id), "--json"], ["rank"], ["rank", "--format", "markdown"],
                 ["rank", "--format", "csv"], ["rank", "--format", "json"], ["rank", "--format", "table"]):
        assert main(argv) == 0, argv
        out = capsys.readouterr()
        shown = out.out + out.err
        assert_nothing_tells(shown, "workbench " + " ".join(argv), money=argv[0] == "history")
        assert not SPEND.search(shown), f"{argv}: {shown}"
    assert main(["history", "--show", str(run_id), "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    errors = [a for a in detail["answers"] if a.get("status") == "error"]
    assert len(errors) == 1 and "does not exist" in json.dumps(errors[0]), errors


async def test_a_blind_run_reopened_from_history_stays_blind(isolated_home: Path, openai_stub: StubServer) -> None:
    app = blind_app(isolated_home, openai_stub)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = app.screen
        await play_blind_round(pilot)
        run_id = screen.run_id
        await pilot.press("f7")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen", "the history screen (F7)")
        history = app.screen
        await wait_until(pilot, lambda: len(history.runs) == 1, "the blind run listed in F7")
        history.query_one("#history-table").focus()
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen and screen.run_id == run_id
                         and all(p.blind_label for p in screen.grid.panes), "the blind run reopened from F7")
        assert_nothing_tells(painted_text(app), "the reopened run")
        failed = next(p for p in screen.grid.panes if p.model.id == FAILS)
        reopened = await read_each_pane_zoomed(pilot, "the reopened run")
        assert "does not exist" in reopened[failed.blind_label]


async def test_a_blind_error_that_quotes_its_price_shows_no_price(isolated_home: Path,
                                                                  openai_stub: StubServer) -> None:
    error = f"The model `{FAILS}` costs $37.00/M output on this plan; upgrade to use it"
    app = blind_app(isolated_home, openai_stub, error)
    async with app.run_test(size=(200, 50)) as pilot:
        failed = await play_blind_round(pilot)
        zoomed = await read_each_pane_zoomed(pilot, "the round")
        assert "upgrade to use it" in zoomed[failed.blind_label]
