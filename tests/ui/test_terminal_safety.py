"""Terminal safety (Q4, issue 5 item 5) through the real rendering paths.

Model text (and what else a server controls: the served model name, error messages) carries
OSC 52 clipboard writes, OSC 0/2 titles, screen clears, cursor moves, BEL and C1 controls
(U+009B CSI, U+009D OSC), some of them split across deltas. None of it may reach a terminal
raw: not the TUI (a pane's rendered lines, the screenshot, the border title, the meter, the
notifications), not `ask`'s plain and live output, not `rank`/`history`/`models` output built
from a hostile note or a model name from config. Ordinary Unicode (CJK, emoji, combining marks),
tabs and newlines survive. The store keeps the original, and `ask --json` carries it escaped.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path

import pytest

from servers.fixtures import write_stub_config
from servers.openai_stub import SSE, StubServer, chunk, usage_chunk
from ui.helpers import make_app, send, wait_round
from workbench import paths
from workbench.cli import main
from workbench.store import open_store
from workbench.store.answers import get_answer

# The pieces arrive as separate deltas: three sequences are cut in two between deltas.
PIECES = [
    "Start 漢字 🎉👩‍💻 cafe\u0301 ok\tTabbed\n\n",
    "clip\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07board ",
    "title\x1b]0;pwned-title\x07 ",
    "title2\x1b]2;pwned-two\x1b\\ ",
    "clear\x1b[2J\x1b[H\x1b[3J ",
    "move\x1b[10;20H\x1b[5A\x1b7\x1b8 ",
    "bell\x07 ",
    "csi\x9b31m ",
    "osc\x9d0;pwned-c1\x9c ",
    "split\x1b]5", "2;c;c3BsaXQ=\x07 ",
    "splittwo\x1b", "[2J ",
    "splitthree\x9b", "1;1H ",
    "end.\n\nSecond paragraph 中文 👍🏽 naïve.",
]
HOSTILE = "".join(PIECES)
VISIBLE = ["Start", "漢字", "🎉", "ok", "Tabbed", "clip", "board", "title", "title2", "clear", "move", "bell",
           "csi", "osc", "split", "splittwo", "splitthree", "end.", "Second paragraph", "中文", "👍🏽", "naïve"]
#: what must never show: payloads of the sequences
PAYLOADS = ["pwned", "52;c", "Y3VybCBl", "c3BsaXQ", "[2J", "10;20H", "31m", "1;1H"]
#: a score note is cleaned when it is saved (store/scores.py drops what is not printable), so the
#: harmless rest of its sequence ("]52;c;…") may show as text: check controls and the name's payloads
NAME_PAYLOADS = ["pwned", "[2J"]
EVIL_NAME = "Evil\x1b]0;pwned-name\x07\x1b[2J\x9b2JModel"
EVIL_SERVED = "served\x1b]52;c;cHduZWQ=\x07\x9d0;pwned-served\x9c-model"
EVIL_ERROR = "upstream said \x1b]0;pwned-error\x07\x1b[2J\x9b31m no"

C0 = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F)]  # not \t, \n
C1 = [chr(c) for c in range(0x80, 0xA0)]


def assert_terminal_safe(text: str, *, allow_cr: bool = False, payloads: list[str] = PAYLOADS) -> None:
    """No ESC, BEL, other C0 controls (but tab and newline), DEL or C1 controls, and none of
    the sequences' payloads left behind as text."""
    bad = [ch for ch in C0 + C1 if ch in text and not (allow_cr and ch == "\r")]
    assert not bad, f"control characters {bad!r} in {text[:400]!r}"
    for payload in payloads:
        assert payload not in text, payload


def assert_ordinary_text(text: str) -> None:
    flat = unicodedata.normalize("NFC", text)
    for word in VISIBLE + ["café"]:
        assert unicodedata.normalize("NFC", word) in flat, word


def hostile_stream(model: str = "stub-model", served: str | None = None) -> SSE:
    name = served or model
    return SSE([chunk("", role="assistant", model=name), *(chunk(p, model=name) for p in PIECES),
                chunk(finish="stop", model=name), usage_chunk(10, 60, model=name), b"data: [DONE]\n\n"])


def toml_string(text: str) -> str:
    """A TOML basic string (control characters as \\uXXXX escapes)."""
    return json.dumps(text)


def write_config_with_name(home: Path, base_url: str, name: str, model: str = "stub-a") -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[providers.stub]\nkind = "openai"\nbase_url = "{base_url}"\n\n'
                    f'[[models]]\nid = "{model}"\nprovider = "stub"\nname = {toml_string(name)}\n'
                    f"input_per_m = 1.0\noutput_per_m = 2.0\n", "utf-8")
    return path


# --- the TUI ---------------------------------------------------------------------------------


async def test_pane_and_screenshot_show_text_without_controls(isolated_home: Path, openai_stub: StubServer) -> None:
    openai_stub.script = hostile_stream()
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 60)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        pane = app.screen.grid.panes[0]
        assert pane.status == "ok"
        shown = pane.view.rendered_text()
        assert_terminal_safe(shown)
        assert_ordinary_text(shown)
        # the two paragraphs stay two: newlines survive
        assert shown.index("Start") < shown.index("Second paragraph")
        assert any(line.strip().startswith("Second paragraph") for line in shown.splitlines())
        screenshot = app.export_screenshot()
        assert_terminal_safe(screenshot)
        for word in ("Start", "Second", "漢字", "splitthree"):
            assert word in screenshot
        answer_id = pane.result.answer_id
        assert pane.result.text == HOSTILE
    store = open_store(isolated_home / "data" / "test.sqlite3")
    try:
        assert get_answer(store, answer_id).text == HOSTILE  # the store keeps what the model sent
    finally:
        store.close()


async def test_every_line_the_pane_paints_is_clean(isolated_home: Path, openai_stub: StubServer) -> None:
    """What Textual would write: every segment of every painted line of the pane."""
    openai_stub.script = hostile_stream()
    app = make_app(isolated_home, openai_stub.base_url, ["stub-a"])
    async with app.run_test(size=(120, 60)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        view = app.screen.grid.panes[0].view
        texts = []
        for y in range(view.size.height):
            for segment in view.render_line(y):
                assert not segment.control
                texts.append(segment.text)
        painted = "".join(texts)
        assert "Start" in painted
        assert_terminal_safe(painted)


async def test_hostile_name_served_model_and_error_stay_clean(isolated_home: Path, openai_stub: StubServer) -> None:
    """A model name from config, a served model name and an error event from the server,
    in the border title, the meter, the pane's notice and the notification."""
    error_event = ("data: " + json.dumps({"error": {"message": EVIL_ERROR}}) + "\n\n").encode()
    openai_stub.script = SSE([chunk("", role="assistant", model=EVIL_SERVED), chunk("Partial 漢字 text", model=EVIL_SERVED),
                              error_event])
    path = write_config_with_name(isolated_home, openai_stub.base_url, EVIL_NAME)
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    settings = load_settings(path)
    app = WorkbenchApp(settings, resolve_models(settings, ["stub-a"]), store_path=isolated_home / "data" / "t.sqlite3")
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        pane = app.screen.grid.panes[0]
        assert pane.status == "interrupted" and pane.result.error.kind == "stream_error"
        assert pane.result.served_model == EVIL_SERVED
        assert_terminal_safe(str(pane.border_title))
        assert_terminal_safe(pane.meter.summary)
        assert "served" in pane.meter.summary
        shown = pane.view.rendered_text()
        assert_terminal_safe(shown)
        assert "Partial 漢字 text" in shown and "upstream said" in shown
        assert_terminal_safe(app.export_screenshot())


async def test_notifications_of_a_hostile_error_are_clean(isolated_home: Path, openai_stub: StubServer) -> None:
    from textual.widgets._toast import Toast

    from ui.helpers import wait_until

    error_event = ("data: " + json.dumps({"error": {"message": EVIL_ERROR}}) + "\n\n").encode()
    openai_stub.script = SSE([chunk("", role="assistant"), chunk("Partial"), error_event])
    path = write_config_with_name(isolated_home, openai_stub.base_url, EVIL_NAME)
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    settings = load_settings(path)
    app = WorkbenchApp(settings, resolve_models(settings, ["stub-a"]), store_path=isolated_home / "data" / "t.sqlite3")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await send(pilot, "Go")
        await wait_round(pilot)
        await wait_until(pilot, lambda: len(app.screen.query(Toast)) > 0)
        notes = [n.message for n in app._notifications]
        assert any("upstream said" in n for n in notes), notes
        painted = "".join(seg.text for toast in app.screen.query(Toast)
                          for y in range(toast.size.height) for seg in toast.render_line(y))
        assert "upstream said" in painted
        assert_terminal_safe(painted, payloads=[])
        assert_terminal_safe(app.export_screenshot(), payloads=[])
        for note in notes:
            assert_terminal_safe(note, payloads=[])


# --- ask: plain, live, --json ------------------------------------------------------------------


def test_ask_plain_one_model_streams_clean_text(isolated_home: Path, openai_stub: StubServer,
                                               capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = hostile_stream()
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    assert main(["ask", "-m", "stub-a", "Go"]) == 0
    out, err = capsys.readouterr()
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    assert_ordinary_text(out)
    assert "ok\tTabbed\n\nclip" in out  # tabs and newlines as sent


def test_ask_plain_several_models_print_clean_text(isolated_home: Path, openai_stub: StubServer,
                                                  capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = hostile_stream()
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    assert main(["ask", "-m", "stub-a", "-m", "stub-b", "Go"]) == 0
    out, err = capsys.readouterr()
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    assert out.count("Second paragraph 中文 👍🏽 naïve.") == 2
    assert_ordinary_text(out)


def test_ask_plain_served_model_name_is_clean(isolated_home: Path, openai_stub: StubServer,
                                             capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = hostile_stream(served=EVIL_SERVED)
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    assert main(["ask", "-m", "stub-a", "-m", "stub-b", "Go"]) == 0
    out, err = capsys.readouterr()
    assert "served by" in out
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    assert main(["ask", "-m", "stub-a", "Go"]) == 0  # one model: the meter line goes to stderr
    out, err = capsys.readouterr()
    assert "served by" in err
    assert_terminal_safe(out)
    assert_terminal_safe(err)


def test_ask_plain_error_message_is_clean(isolated_home: Path, openai_stub: StubServer,
                                         capsys: pytest.CaptureFixture) -> None:
    error_event = ("data: " + json.dumps({"error": {"message": EVIL_ERROR}}) + "\n\n").encode()
    openai_stub.script = SSE([chunk("", role="assistant"), chunk("Partial\x1b[2J text"), error_event])
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a", "stub-b"])
    assert main(["ask", "-m", "stub-a", "-m", "stub-b", "Go"]) == 1
    out, err = capsys.readouterr()
    assert out.count("upstream said") == 2 and out.count("Partial text") == 2
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    assert main(["ask", "-m", "stub-a", "Go"]) == 1
    out, err = capsys.readouterr()
    assert "upstream said" in err and "Partial text" in out
    assert_terminal_safe(out)
    assert_terminal_safe(err)


def _result_with(text: str, *, served: str | None = None, name: str = "Model", error: str | None = None):
    from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, ProviderConfig
    from workbench.providers import errors
    from workbench.runner import new_result
    from workbench.tokens import TokenCounter

    model = ModelInfo(id="m", provider="p", name=name, upstream="m")
    provider = ProviderConfig(name="p", kind="openai", base_url="http://127.0.0.1:9/v1")
    result = new_result(model, provider, ChatRequest(prompt="Go"), TokenCounter())
    result.meter.start()
    for piece in PIECES if text == HOSTILE else [text]:
        result.text_parts.append(piece)
        result.meter.add_text(piece)
    result.served_model = served
    if error is not None:
        result.error = errors.StreamErrorEvent(error)
        result.status = AnswerStatus.INTERRUPTED
    else:
        result.status = AnswerStatus.OK
    result.meter.finish(result.status.value)
    return result


def _render(renderable) -> tuple[str, list[str]]:
    """The renderable as a plain (non-terminal) console prints it, and its segment texts."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None, force_terminal=False, legacy_windows=False)
    segments = [s.text for s in console.render(renderable) if not s.control]
    console.print(renderable)
    return buffer.getvalue(), segments


def test_ask_live_view_renderables_are_clean() -> None:
    from workbench.render.ask_view import render_live

    results = [_result_with(HOSTILE), _result_with("Partial", error=EVIL_ERROR)]
    printed, segments = _render(render_live(results))
    assert_terminal_safe(printed)
    assert_terminal_safe("".join(segments))
    assert "Second paragraph" in printed and "upstream said" in printed


def test_ask_live_view_with_a_hostile_served_model_is_clean() -> None:
    from workbench.render.ask_view import render_live

    printed, segments = _render(render_live([_result_with("fine", served=EVIL_SERVED)]))
    assert "served by" in printed
    assert_terminal_safe(printed)


def test_ask_final_view_is_clean(capsys: pytest.CaptureFixture) -> None:
    from rich.console import Console

    from workbench.render.ask_view import render_final

    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None, force_terminal=False)
    render_final(console, [_result_with(HOSTILE), _result_with("Partial", name=EVIL_NAME, error=EVIL_ERROR)])
    printed = buffer.getvalue()
    assert_terminal_safe(printed)
    assert "Second paragraph" in printed and "upstream said" in printed and "EvilModel" in printed


def test_ask_json_returns_the_exact_text(isolated_home: Path, openai_stub: StubServer,
                                         capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = hostile_stream()
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    assert main(["ask", "--json", "-m", "stub-a", "Go"]) == 0
    out = capsys.readouterr().out
    (result,) = json.loads(out)["results"]
    assert result["text"] == HOSTILE
    assert "\x1b" not in out and "\x07" not in out  # C0 controls are \u-escaped by JSON
    store = open_store(paths.store_file())
    try:
        assert get_answer(store, result["answer_id"]).text == HOSTILE
    finally:
        store.close()


def test_ask_json_escapes_c1_controls_too(isolated_home: Path, openai_stub: StubServer,
                                         capsys: pytest.CaptureFixture) -> None:
    openai_stub.script = hostile_stream()
    write_stub_config(isolated_home, openai_stub.base_url, ["stub-a"])
    assert main(["ask", "--json", "-m", "stub-a", "Go"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["results"][0]["text"] == HOSTILE
    assert_terminal_safe(out, allow_cr=True, payloads=[])  # escaped payloads are fine


# --- rank, history, models: notes and names from the user's own files -------------------------


@pytest.fixture
def scored_hostile_run(isolated_home: Path, openai_stub: StubServer, capsys: pytest.CaptureFixture) -> int:
    """A run of a model whose config name is hostile, answered with hostile text and scored with
    a hostile note and task label; returns the run id."""
    openai_stub.script = hostile_stream(served=EVIL_SERVED)
    write_config_with_name(isolated_home, openai_stub.base_url, EVIL_NAME)
    assert main(["ask", "--json", "-m", "stub-a", "--task", "task\x1b]0;pwned-task\x07one", "Go"]) == 0
    data = json.loads(capsys.readouterr().out)
    answer_id = data["results"][0]["answer_id"]
    assert main(["score", str(answer_id), "8", "--note", "good\x1b]52;c;cHduZWQ=\x07 note\x9b2J"]) == 0
    capsys.readouterr()
    return data["run_id"]


def test_rank_markdown_is_clean(scored_hostile_run: int, capsys: pytest.CaptureFixture) -> None:
    assert main(["rank", "--format", "markdown"]) == 0
    out, err = capsys.readouterr()
    assert "Evil" in out and "good" in out
    assert_terminal_safe(out, payloads=NAME_PAYLOADS)
    assert_terminal_safe(err)


def test_rank_table_is_clean(scored_hostile_run: int, capsys: pytest.CaptureFixture) -> None:
    assert main(["rank"]) == 0
    out, err = capsys.readouterr()
    assert "EvilModel" in out and "good" in out
    assert_terminal_safe(out, payloads=NAME_PAYLOADS)
    assert_terminal_safe(err)


def test_history_show_and_list_are_clean(scored_hostile_run: int, capsys: pytest.CaptureFixture) -> None:
    assert main(["history", "--show", str(scored_hostile_run)]) == 0
    out, err = capsys.readouterr()
    assert "Second paragraph" in out and "good" in out and "EvilModel" in out
    assert_terminal_safe(out, payloads=NAME_PAYLOADS)
    assert_terminal_safe(err)
    assert main(["history"]) == 0
    out, err = capsys.readouterr()
    assert "Evil" in out
    assert_terminal_safe(out)
    assert_terminal_safe(err)


def test_models_table_is_clean(isolated_home: Path, capsys: pytest.CaptureFixture) -> None:
    write_config_with_name(isolated_home, "http://127.0.0.1:9/v1", EVIL_NAME)
    assert main(["models"]) == 0
    out, err = capsys.readouterr()
    assert "Evil" in out
    assert_terminal_safe(out)
    assert_terminal_safe(err)


def test_stored_text_keeps_every_byte(scored_hostile_run: int) -> None:
    store = open_store(paths.store_file())
    try:
        (text,) = store.conn.execute("SELECT text FROM answers WHERE run_id = ?", (scored_hostile_run,)).fetchone()
    finally:
        store.close()
    assert text == HOSTILE
    assert re.search("\x1b\\]52;c;", text) and "\x9b" in text
