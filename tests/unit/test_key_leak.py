"""Secrets (Q5, issue 5 item 6): a planted key never shows anywhere.

A distinctive random key sits in the environment variable of a provider whose server (our own
misbehaving one, servers/faulty_server.py) echoes the ``Authorization`` header back in every way
a server can: in a JSON 401 message, in an HTML page's title and body, in an ``{"error": …}``
event mid-stream, in a malformed event, in a line that is not SSE, in a 429 that is retried;
other models drop the connection before answering (an error raised inside the provider) or
mid-stream. Then everything is searched for the key and for its first 12 characters: stdout and
stderr of `ask` (--json and plain, in-process and as a process), the TUI (screenshot,
notifications, panes), `history`, `rank` in every format (and a Markdown file it writes),
`models`, and the bytes of every file under WORKBENCH_HOME — the SQLite file and its -wal while
the app still has it open.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import faulty_server as fs
from servers.faulty_server import FaultyServer
from workbench.cli import main
from workbench.providers.text import redact

KEY_ENV = "WB_LEAKTEST_API_KEY"

ECHOES = {
    "echo-json": fs.echo_auth_json(401),
    "echo-json-403": fs.echo_auth_json(403),
    "echo-html": fs.echo_auth_html(401),
    "echo-html-ok": fs.echo_auth_html(200),
    "echo-event": fs.echo_auth_in_stream("error"),
    "echo-malformed": fs.echo_auth_in_stream("malformed"),
    "echo-stray": fs.echo_auth_in_stream("stray"),
    "fine": fs.ok_stream("A perfectly ordinary answer."),
    "cut": fs.stream(fs.answer_events(["Half an answer "], finish=False, with_usage=False, done=False), then="cut"),
}
RETRIED = {
    "echo-429": fs.echo_auth_json(429),
    "closes": fs.close_at_once(),  # the provider raises before any answer: retried, then fails
}
ALL_MODELS = [*ECHOES, *RETRIED]


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "sk-wbleak-" + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
    monkeypatch.setenv(KEY_ENV, value)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return value


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer({**ECHOES, **RETRIED}) as srv:
        yield srv


@pytest.fixture
def config(isolated_home: Path, server: FaultyServer) -> Path:
    lines = ["[providers.leaky]", 'kind = "openai"', f'base_url = "{server.base_url}"', f'api_key_env = "{KEY_ENV}"']
    for model in ALL_MODELS:
        lines += ["", "[[models]]", f'id = "{model}"', 'provider = "leaky"', "input_per_m = 1.0", "output_per_m = 2.0"]
    path = isolated_home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def needles(key: str) -> list[str]:
    return [key, key[:12]]


def assert_no_key(where: str, text: str | bytes, key: str) -> None:
    """Neither the key nor its first 12 characters, also once whitespace is taken out (a pane
    or a table may wrap a long token over two lines)."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    for blob in (data, b"".join(data.split())):
        for needle in needles(key):
            assert needle.encode() not in blob, f"the key ({needle[:12]}…) leaked into {where}"


def assert_home_clean(home: Path, key: str) -> list[Path]:
    """Every file under WORKBENCH_HOME, byte for byte; returns the files searched."""
    files = [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        assert_no_key(str(path.relative_to(home)), path.read_bytes(), key)
    return files


def assert_key_was_sent(server: FaultyServer, key: str, models: list[str]) -> None:
    """The planted key really went out (so each echo really carried it back)."""
    for model in models:
        sent = [r.headers.get("authorization") for r in server.requests if r.model == model]
        assert sent and all(h == f"Bearer {key}" for h in sent), (model, sent)


# --- redact ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Authorization: Bearer {key}",
    "authorization: bearer {key}",
    '{{"error": "invalid token Bearer {key} for this org"}}',
    "x-api-key: {key}",
    "X-Goog-Api-Key: {key}",
    "GET /v1beta/models/gemini:streamGenerateContent?alt=sse&key={key} 400",
    "key {key}{key} twice",
])
def test_redact_masks_the_key_in_any_header_style(text: str) -> None:
    key = "sk-wbleak-" + secrets.token_hex(24)
    out = redact(text.format(key=key), key)
    assert key not in out and key[:12] not in out and key[-12:] not in out
    assert "[redacted]" in out


def test_redact_masks_any_bearer_token_even_without_the_key() -> None:
    other = "sk-proj-" + secrets.token_hex(20)
    assert other not in redact(f"Authorization: Bearer {other}", None)
    assert other not in redact(f"authorization: BEARER {other}", "some-other-key")
    assert redact("Bearer", None) == "Bearer"  # no token, nothing to mask
    assert redact("plain words, no secret", "short") == "plain words, no secret"


@pytest.mark.parametrize("template", ["x-api-key: {k}", "X-Goog-Api-Key: {k}", "…:streamGenerateContent?alt=sse&key={k}"])
def test_redact_masks_api_key_headers_without_the_key(template: str) -> None:
    other = "AIzaSy" + secrets.token_hex(16)
    assert other not in redact(template.format(k=other), None)


# --- ask -----------------------------------------------------------------------------------


def test_ask_json_and_plain_never_show_the_key(key: str, config: Path, server: FaultyServer, isolated_home: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    assert main(["ask", "--json", *sum((["-m", m] for m in ALL_MODELS), []), "Hello"]) == 1
    out, err = capsys.readouterr()
    assert_no_key("ask --json stdout", out, key)
    assert_no_key("ask --json stderr", err, key)
    results = {r["model"]: r for r in json.loads(out)["results"]}
    # the echoes did arrive, as errors, redacted
    assert results["echo-json"]["error"]["kind"] == "auth" and "[redacted]" in results["echo-json"]["error"]["message"]
    assert results["echo-event"]["status"] == "interrupted" and "[redacted]" in results["echo-event"]["error"]["message"]
    assert results["echo-429"]["error"]["kind"] == "rate_limited"
    assert results["closes"]["status"] == "error" and results["fine"]["status"] == "ok"
    assert_key_was_sent(server, key, ALL_MODELS)
    assert server.count("echo-429") == 3 and server.count("closes") == 3

    assert main(["ask", *sum((["-m", m] for m in ALL_MODELS), []), "Hello"]) == 1  # plain, several models
    out, err = capsys.readouterr()
    assert "[redacted]" in out
    assert_no_key("ask plain stdout", out, key)
    assert_no_key("ask plain stderr", err, key)
    for model in ("echo-json", "echo-event", "echo-html"):
        assert main(["ask", "-m", model, "Hello"]) == 1  # plain, one model: the error goes to stderr
        out, err = capsys.readouterr()
        assert err.strip()
        assert_no_key(f"ask -m {model} stdout", out, key)
        assert_no_key(f"ask -m {model} stderr", err, key)
    assert len(assert_home_clean(isolated_home, key)) >= 2  # config and store at least


def test_ask_as_a_process_never_shows_the_key(key: str, config: Path, server: FaultyServer,
                                              isolated_home: Path) -> None:
    models = list(ECHOES)  # nothing retried: a real process has no instant backoff
    env = dict(os.environ)
    for args in (["--json", *sum((["-m", m] for m in models), [])], sum((["-m", m] for m in models), []),
                 ["-m", "echo-json"]):
        proc = subprocess.run([sys.executable, "-m", "workbench", "ask", *args, "Hello"], capture_output=True,
                              timeout=300, env=env)
        assert proc.returncode == 1, proc.stderr
        assert b"Traceback" not in proc.stderr
        assert_no_key(f"ask {args[:2]} stdout", proc.stdout, key)
        assert_no_key(f"ask {args[:2]} stderr", proc.stderr, key)
    assert_key_was_sent(server, key, models)
    assert_home_clean(isolated_home, key)


# --- the TUI -------------------------------------------------------------------------------


async def test_tui_round_never_shows_the_key(key: str, config: Path, server: FaultyServer,
                                             isolated_home: Path) -> None:
    from textual.widgets._toast import Toast

    from ui.helpers import send, wait_round, wait_until
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    models = [m for m in ALL_MODELS if m != "fine"][:9] + ["fine"]  # ten panes at most
    settings = load_settings(config)
    app = WorkbenchApp(settings, resolve_models(settings, models), store_path=isolated_home / "data" / "tui.sqlite3")
    async with app.run_test(size=(220, 70), notifications=True) as pilot:
        await send(pilot, "Hello")
        await wait_round(pilot)
        panes = app.screen.grid.panes
        assert {p.model.id: p.status for p in panes}["fine"] == "ok"
        assert sum(p.status in ("error", "interrupted") for p in panes) == len(panes) - 1
        shown = "\n".join(p.view.rendered_text() for p in panes)
        assert "[redacted]" in shown
        assert_no_key("the panes", shown, key)
        assert_no_key("the meters", "\n".join(p.meter.summary for p in panes), key)
        await wait_until(pilot, lambda: len(app.screen.query(Toast)) > 0)
        notes = [n.message for n in app._notifications]
        assert any("[redacted]" in n for n in notes)
        assert_no_key("the notifications", "\n".join(notes), key)
        assert_no_key("the screenshot", app.export_screenshot(), key)
        # the store is still open here: its -wal holds the latest writes
        files = assert_home_clean(isolated_home, key)
        assert {"tui.sqlite3", "tui.sqlite3-wal"} <= {p.name for p in files}, files
        await pilot.press("ctrl+q")
    assert_key_was_sent(server, key, models)
    assert_home_clean(isolated_home, key)


# --- history, rank, models -----------------------------------------------------------------


def test_reports_and_exports_never_show_the_key(key: str, config: Path, server: FaultyServer, isolated_home: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    assert main(["ask", "--json", "--task", "leak", *sum((["-m", m] for m in ALL_MODELS), []), "Hello"]) == 1
    data = json.loads(capsys.readouterr().out)
    run_id = data["run_id"]
    for result in data["results"]:
        if result["text"]:  # fine, and the partial answers (echo-event, cut, …)
            assert main(["score", str(result["answer_id"]), "7", "--note", "scored in the leak test"]) == 0
    capsys.readouterr()
    export = isolated_home / "exports" / "rank.md"
    export.parent.mkdir()
    commands = [["history"], ["history", "--json"], ["history", "--show", str(run_id)],
                ["history", "--show", str(run_id), "--json"], ["rank"], ["rank", "--format", "markdown"],
                ["rank", "--format", "csv"], ["rank", "--format", "json"], ["rank", "--task", "leak"],
                ["rank", "--format", "markdown", "--output", str(export)], ["models"], ["models", "--json"]]
    for command in commands:
        assert main(command) == 0, command
        out, err = capsys.readouterr()
        assert_no_key(" ".join(command) + " stdout", out, key)
        assert_no_key(" ".join(command) + " stderr", err, key)
        if command == ["history", "--show", str(run_id)]:
            assert "[redacted]" in out  # the errors are there, redacted
        if command == ["models"]:
            assert "set" in out  # the key's status, not the key
    assert export.read_text().startswith("## Overall")
    files = assert_home_clean(isolated_home, key)
    assert export in files
    assert_key_was_sent(server, key, ALL_MODELS)
