"""The fault matrix (Q3, issue 5 item 4), end to end: a misbehaving server of our own
(servers/faulty_server.py) behind one model, a healthy stream behind the other, driven through
`ask --json` (in-process and as a real process) and through the TUI (Pilot).

For every fault: the I4 fields (`status`, `error.kind`, `error.http_status`, `error.message`:
short, one line, no HTML, no traceback), the answer row in the store (status, text, error), the
retries (how many requests reached the server, and the waits the backoff asked for — the
autouse ``instant_retries`` fixture records them), and in the TUI the faulty pane's status and
message while the healthy pane, held back by the server until the faulty reply was written,
still finishes "ok".
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from servers import faulty_server as fs
from servers.faulty_server import FaultyServer
from workbench import paths
from workbench.cli import main
from workbench.store import open_store
from workbench.store.answers import get_answer

HEALTHY_TEXT = "All fine on this side, answered in full."
PARTIAL = "Partial answer, kept. "
MULTIBYTE = "Grüße — 漢字とかな, emoji 🎉🧪👩‍💻, combining e\u0301 and n\u0303, Ω≈ç√ done."
BURST_N = 20_000
BURST_WORDS = [f"w{i}" for i in range(BURST_N)]
BIG_LINE = "x" * 50
BIG_TEXT = "".join(f"line {i:06d} {BIG_LINE}\n" for i in range(1_048_576 // 63 + 1)) + "END-OF-BIG"
assert len(BIG_TEXT.encode()) > 1_048_576


# Two host names whose lookups fail as glibc's do, whatever this machine's resolver, network or
# /etc/hosts: a name that does not exist (EAI_NONAME) and a DNS server out of reach (EAI_AGAIN).
NO_SUCH_HOST = "no-such-host.workbench-test.invalid"
DNS_DOWN_HOST = "dns-down.workbench-test.invalid"
FAILING_NAMES = {NO_SUCH_HOST: (socket.EAI_NONAME, "Name or service not known"),
                 DNS_DOWN_HOST: (socket.EAI_AGAIN, "Temporary failure in name resolution")}
# The resolver, as source: installed here and, as sitecustomize, in the stream reader process the
# app starts (it inherits PYTHONPATH). Every other name goes to the real resolver.
RESOLVER = f"""
import socket

_real_getaddrinfo = socket.getaddrinfo
_FAILING = {FAILING_NAMES!r}


def getaddrinfo(host, *args, **kwargs):
    name = (host.decode() if isinstance(host, bytes) else host or "").rstrip(".").lower()
    if name in _FAILING:
        raise socket.gaierror(*_FAILING[name])
    return _real_getaddrinfo(host, *args, **kwargs)
"""


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy from this machine's environment: the failing names must reach the resolver."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def failing_resolver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The resolver above, in this process and in any Python process a test starts."""
    namespace: dict = {}
    exec(compile(RESOLVER, "<failing resolver>", "exec"), namespace)  # noqa: S102 (our own source)
    monkeypatch.setattr(socket, "getaddrinfo", namespace["getaddrinfo"])
    site = tmp_path / "failing-resolver"
    site.mkdir()
    (site / "sitecustomize.py").write_text(RESOLVER + "\nsocket.getaddrinfo = getaddrinfo\n", "utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))


# --- the cases -----------------------------------------------------------------------------


def _backoff_waits(waits: list[float]) -> None:
    # two retries: 0.5 s and 1 s, each less up to 25 % jitter (providers/retry.py)
    assert len(waits) == 2, waits
    assert 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0, waits


def _no_waits(waits: list[float]) -> None:
    assert waits == []


@dataclass(frozen=True)
class Case:
    id: str
    behaviour: Callable[[], fs.Behaviour | list[fs.Behaviour]] | None
    status: str  # ok | error | interrupted
    kind: str | None
    http_status: int | None = None
    text: str = ""
    says: tuple[str, ...] = ()  # words the message must contain (any case); one tuple = any of them
    requests: int | None = 1  # requests the faulty model sends (None: none reach the server)
    waits: Callable[[list[float]], None] = _no_waits
    url: str = "server"  # server | refused | unknown | dns-down
    read_timeout: float | None = None
    exact: bool | None = None


def _big() -> fs.Behaviour:
    # the whole 1 MB answer in one event, one HTTP chunk, one write
    return fs.stream([fs.delta("", role="assistant"), fs.delta(BIG_TEXT), fs.delta(finish="stop"),
                      fs.usage(9, 250_000), fs.DONE])


def _multibyte() -> fs.Behaviour:
    whole = b"".join(fs.answer_events([MULTIBYTE[:20], MULTIBYTE[20:]]))
    assert any(b >= 0x80 for b in whole)
    return fs.stream(fs.split_bytes(whole, 1))  # every byte its own chunk and TCP write


def _burst() -> fs.Behaviour:
    return fs.stream(fs.answer_events([w + " " for w in BURST_WORDS]), burst=True)


def _retry_after_waits(waits: list[float]) -> None:
    assert waits == [3.0, 3.0]  # the server's Retry-After, not the backoff


CASES = [
    Case("401", lambda: fs.status(401, "Incorrect API key provided."), "error", "auth", 401, says=("401",)),
    Case("403", lambda: fs.status(403, "Project does not have access to this model."), "error", "auth", 403,
         says=("403", "access")),
    Case("404", lambda: fs.status(404, "The model `faulty` does not exist."), "error", "not_found", 404,
         says=("404", "does not exist")),
    Case("429-retry-after", lambda: fs.status(429, "Please wait before sending more.", headers={"Retry-After": "3"}),
         "error", "rate_limited", 429, says=("429", ("rate limit", "too many requests")), requests=3,
         waits=_retry_after_waits),
    Case("500", lambda: fs.status(500, "The server had an error while processing your request."), "error",
         "server", 500, says=("500",), requests=3, waits=_backoff_waits),
    Case("503", lambda: fs.status(503, "The engine is currently overloaded."), "error", "server", 503,
         says=("503", "overloaded"), requests=3, waits=_backoff_waits),
    Case("html-502", lambda: fs.html_page(502), "error", "server", 502, says=("502", "html"), requests=3,
         waits=_backoff_waits),
    Case("html-200-portal", lambda: fs.html_page(200, "Sign in to the hotel Wi-Fi"), "error", "decode", None,
         says=("html", "not an event stream")),
    Case("connection-refused", None, "error", "connect", None, says=("refused",), requests=None,
         waits=_backoff_waits, url="refused"),
    Case("unknown-host", None, "error", "connect", None, says=("unknown host", "not known"), requests=None,
         url="unknown"),
    # EAI_AGAIN: the DNS server may answer on the next try, so it is retried (providers/retry.py)
    Case("dns-down", None, "error", "connect", None, says=("unknown host", "temporary failure"), requests=None,
         waits=_backoff_waits, url="dns-down"),
    # 2 s, not less: the partial text (and the headers before it) must come within the read
    # timeout, or a busy machine would turn "interrupted" into a plain timeout
    Case("read-stall-mid-stream", lambda: fs.stream(fs.answer_events([PARTIAL], finish=False, with_usage=False,
                                                                      done=False), then="stall"),
         "interrupted", "timeout", None, text=PARTIAL, says=("read timeout", "for 2 s"), read_timeout=2.0),
    Case("stall-before-headers", fs.hang, "error", "timeout", None, says=("read timeout",), requests=3,
         waits=_backoff_waits, read_timeout=0.5),
    Case("disconnect-mid-stream", lambda: fs.stream(fs.answer_events([PARTIAL, "and then"], finish=False,
                                                                      with_usage=False, done=False), then="cut"),
         "interrupted", "cut_off", None, text=PARTIAL + "and then", says=("closed mid-stream",)),
    Case("malformed-event", lambda: fs.stream([fs.delta("", role="assistant"), fs.delta(PARTIAL),
                                               b'data: {"choices": [{"delta": {"content": "x"\n\n', fs.DONE]),
         "interrupted", "decode", None, text=PARTIAL, says=("malformed event",)),
    Case("error-event-mid-stream", lambda: fs.stream([
        fs.delta("", role="assistant"), fs.delta(PARTIAL),
        fs.event({"error": {"message": "The server is overloaded.\nPlease try again\r\nin a moment.", "type": "server_error"}})]),
        "interrupted", "stream_error", None, text=PARTIAL, says=("overloaded",)),
    Case("missing-done-after-finish", lambda: fs.stream(fs.answer_events(["Complete ", "answer."], done=False)),
         "ok", None, None, text="Complete answer.", exact=True),
    Case("missing-done-and-finish", lambda: fs.stream(fs.answer_events([PARTIAL], finish=False, with_usage=False,
                                                                        done=False)),
         "interrupted", "cut_off", None, text=PARTIAL, says=("ended before",)),
    Case("one-mb-chunk", _big, "ok", None, None, text=BIG_TEXT, exact=True),
    Case("multibyte-split", _multibyte, "ok", None, None, text=MULTIBYTE, exact=True),
    Case("burst-20000-chunks", _burst, "ok", None, None, text=" ".join(BURST_WORDS) + " ", exact=True),
]
BY_ID = {c.id: c for c in CASES}


# --- set-up ----------------------------------------------------------------------------------


def write_config(home: Path, healthy_url: str, faulty_url: str, *, read_timeout: float | None = None) -> Path:
    """Two providers: `good` for the healthy model, `bad` for the faulty one."""
    lines = ["[providers.good]", 'kind = "openai"', f'base_url = "{healthy_url}"', "",
             "[providers.bad]", 'kind = "openai"', f'base_url = "{faulty_url}"']
    if read_timeout is not None:
        lines.append(f"read_timeout = {read_timeout}")
    for model, provider in (("healthy", "good"), ("faulty", "bad")):
        lines += ["", "[[models]]", f'id = "{model}"', f'provider = "{provider}"',
                  "input_per_m = 1.0", "output_per_m = 2.0"]
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as srv:
        yield srv


def arm(server: FaultyServer, case: Case, home: Path) -> Path:
    """Script the server for ``case`` and write the config; returns the config path."""
    if case.url == "server":
        assert case.behaviour is not None
        server.script["faulty"] = case.behaviour()
        server.gate_models = {"faulty"}
        gate = server.served
        faulty_url = server.base_url
    else:
        gate = None  # nothing of the faulty model reaches this server
        faulty_url = {"refused": fs.refused_url, "unknown": lambda: f"http://{NO_SUCH_HOST}/v1",
                      "dns-down": lambda: f"http://{DNS_DOWN_HOST}/v1"}[case.url]()
    server.script["healthy"] = fs.ok_stream(HEALTHY_TEXT, gate=gate)
    return write_config(home, server.base_url, faulty_url, read_timeout=case.read_timeout)


CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))]


def assert_clear_message(message: str, case: Case) -> None:
    """Short, one line, no HTML, no traceback, no control characters; names the fault."""
    assert message, "an error needs a message"
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= 240, (len(message), message)
    low = message.lower()
    assert "<html" not in low and "<!doctype" not in low and "<" not in message, message
    assert "traceback" not in low and 'file "' not in low, message
    assert not any(ch in message for ch in CONTROL), repr(message)
    for word in case.says:
        options = word if isinstance(word, tuple) else (word,)
        assert any(o.lower() in low for o in options), (options, message)


def check_result(result: dict, case: Case) -> None:
    """One `ask --json` entry against the case."""
    assert result["status"] == case.status, result["error"]
    assert result["text"] == case.text
    if case.kind is None:
        assert result["error"] is None
    else:
        err = result["error"]
        assert set(err) == {"kind", "message", "http_status"}
        assert (err["kind"], err["http_status"]) == (case.kind, case.http_status)
        assert_clear_message(err["message"], case)
    if case.exact is not None:
        assert result["tokens_exact"] is case.exact


def check_row(answer_id: int, case: Case, store_path: Path | None = None, message: str | None = None) -> None:
    """The answer row in the store: status, the (partial) text, the error."""
    store = open_store(store_path or paths.store_file())
    try:
        row = get_answer(store, answer_id)
    finally:
        store.close()
    assert row is not None
    assert (row.status, row.text) == (case.status, case.text)
    assert (row.error_kind, row.http_status) == (case.kind, case.http_status)
    if message is not None:
        assert row.error_message == message


def check_requests(server: FaultyServer, case: Case) -> None:
    assert server.count("healthy") == 1
    if case.requests is not None:
        assert server.count("faulty") == case.requests
    else:
        assert server.count("faulty") == 0


def check_healthy(result: dict) -> None:
    assert (result["status"], result["text"], result["error"]) == ("ok", HEALTHY_TEXT, None)
    assert result["tokens_exact"] is True


# --- ask --json, in-process ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ask_json(case: Case, server: FaultyServer, isolated_home: Path, instant_retries: list[float],
                  capsys: pytest.CaptureFixture) -> None:
    arm(server, case, isolated_home)
    code = main(["ask", "--json", "-m", "healthy", "-m", "faulty", "Say something"])
    captured = capsys.readouterr()
    assert code == (0 if case.status == "ok" else 1), captured.err
    assert "Traceback" not in captured.err
    healthy, faulty = json.loads(captured.out)["results"]
    check_healthy(healthy)
    check_result(faulty, case)
    check_row(faulty["answer_id"], case, message=faulty["error"]["message"] if faulty["error"] else None)
    check_row(healthy["answer_id"], Case("healthy", None, "ok", None, text=HEALTHY_TEXT))
    check_requests(server, case)
    case.waits(instant_retries)


# --- ask --json, as a real process -----------------------------------------------------------
# Cases that retry nothing: a real process has no instant backoff, and no test waits on a clock.

PROCESS_CASES = ["401", "html-200-portal", "disconnect-mid-stream", "malformed-event", "error-event-mid-stream",
                 "missing-done-after-finish", "multibyte-split", "one-mb-chunk"]


@pytest.mark.parametrize("case_id", PROCESS_CASES)
def test_ask_json_as_a_process(case_id: str, server: FaultyServer, isolated_home: Path) -> None:
    case = BY_ID[case_id]
    arm(server, case, isolated_home)
    proc = subprocess.run([sys.executable, "-m", "workbench", "ask", "--json", "-m", "healthy", "-m", "faulty",
                           "Say something"], capture_output=True, timeout=300, env=dict(os.environ))
    stdout, stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert proc.returncode == (0 if case.status == "ok" else 1), stderr
    assert "Traceback" not in stderr
    healthy, faulty = json.loads(stdout)["results"]
    check_healthy(healthy)
    check_result(faulty, case)
    check_row(faulty["answer_id"], case, message=faulty["error"]["message"] if faulty["error"] else None)
    check_requests(server, case)


# --- the TUI -------------------------------------------------------------------------------

STATUS_SUBTITLE = {"ok": "done", "error": "failed", "interrupted": "interrupted"}


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_tui_round(case: Case, server: FaultyServer, isolated_home: Path,
                         instant_retries: list[float]) -> None:
    from ui.helpers import send, wait_round
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    settings = load_settings(arm(server, case, isolated_home))
    store_path = isolated_home / "data" / "tui.sqlite3"
    app = WorkbenchApp(settings, resolve_models(settings, ["healthy", "faulty"]), store_path=store_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await send(pilot, "Say something")
        await wait_round(pilot)
        healthy, faulty = app.screen.grid.panes
        # the healthy pane, held back until the faulty reply was written, finishes normally
        assert healthy.status == "ok" and healthy.border_subtitle == "done"
        assert HEALTHY_TEXT in _flat(healthy.view.rendered_text())
        assert "Failed" not in healthy.view.rendered_text()
        result = faulty.result
        assert result is not None
        assert faulty.status == case.status and faulty.border_subtitle == STATUS_SUBTITLE[case.status]
        assert result.text == case.text
        shown = faulty.view.rendered_text()
        if case.kind is None:
            assert result.error is None
            assert "Failed" not in shown and "Stopped" not in shown
            if case.text:
                _assert_text_shown(case, shown)
        else:
            error = result.error
            assert error is not None and (error.kind, error.http_status) == (case.kind, case.http_status)
            assert_clear_message(error.message, case)
            prefix = "Failed" if case.status == "error" else "Stopped"
            assert _flat(f"{prefix}: {error.message}") in _flat(shown)
            if case.text:
                assert _flat(case.text) in _flat(shown)  # the partial text stays on screen
            notes = [n.message for n in app._notifications]
            assert any(error.message in n for n in notes), notes
        answer_id = result.answer_id
        assert answer_id is not None
    check_row(answer_id, case, store_path, message=error.message if case.kind else None)
    check_requests(server, case)
    case.waits(instant_retries)


def _assert_text_shown(case: Case, shown: str) -> None:
    # every character arrived and is on screen, in order (wrapping only adds whitespace)
    assert "".join(case.text.split()) == "".join(shown.split())


async def test_tui_429_says_what_it_is_waiting_for(server: FaultyServer, isolated_home: Path,
                                                   instant_retries: list[float]) -> None:
    """While a 429 is retried the pane says so, with the server's Retry-After, before it fails."""
    from ui.helpers import send, wait_round, wait_until
    from workbench.catalog import resolve_models
    from workbench.config import load_settings
    from workbench.ui.app import WorkbenchApp

    hold = __import__("threading").Event()

    def slow_429(conn: fs.Conn, request: fs.Request) -> None:
        hold.wait(60)  # the second try waits here until the test has read the pane
        fs.status(429, "Please wait.", headers={"Retry-After": "3"})(conn, request)

    server.script = {"faulty": [fs.status(429, "Please wait.", headers={"Retry-After": "3"}), slow_429],
                     "healthy": fs.ok_stream(HEALTHY_TEXT)}
    settings = load_settings(write_config(isolated_home, server.base_url, server.base_url))
    app = WorkbenchApp(settings, resolve_models(settings, ["healthy", "faulty"]),
                       store_path=isolated_home / "data" / "tui.sqlite3")
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await send(pilot, "Go")
            faulty = app.screen.grid.panes[1]
            await wait_until(pilot, lambda: "retrying in 3 s" in _flat(faulty.view.rendered_text()))
            shown = _flat(faulty.view.rendered_text())
            assert "429 rate limited — retrying in 3 s (try 2 of 3)" in shown
            hold.set()
            await wait_round(pilot)
            assert faulty.status == "error" and faulty.result.error.kind == "rate_limited"
            assert "retrying" not in faulty.view.rendered_text()
    finally:
        hold.set()
    assert instant_retries == [3.0, 3.0]
