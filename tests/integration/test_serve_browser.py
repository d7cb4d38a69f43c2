"""`workbench serve` in a real browser: Debian's headless Chromium, driven over DevTools.

Needs the `serve` extra (textual-serve, which brings aiohttp: its websocket client speaks the
DevTools protocol here) and a Chromium binary (`apt-get install chromium`). Skipped on a
developer machine without them; on CI (CI=true) either missing is a failure, so the browser
test can never silently vanish.

Why DevTools and not `chromium --screenshot`: the page textual-serve sends is only a shell; it
opens a websocket, the server starts the app, and the app paints into xterm.js on a canvas. A
one-shot screenshot races that, and the canvas has no DOM text to check. Over DevTools the test
waits until the terminal's own buffer (what the browser shows) holds the app, then screenshots.
The browser reaches nothing but 127.0.0.1 (every other host name fails to resolve).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from servers.fixtures import write_stub_config

MODEL_NAME = "Stub Alpha"  # the pane title proves the config and -m reached the app in the browser
VIEWPORT = (1280, 800)
# A hang guard, not a performance limit: start-up on a busy 2-core machine takes a few seconds.
GUARD_S = 180

# xterm.js keeps its Terminal in a closure. textual-serve's client stores it as `this.terminal`
# on its own object; a setter on Object.prototype catches that one assignment (and, for any
# other object, just makes the property an ordinary own one, as the assignment would have).
HOOK_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && typeof value.open === "function") window.__wbTerminal = value;
  },
});
"""
# The visible rows of the terminal, as text; null until the terminal exists.
READ_SCREEN = """(() => {
  const t = window.__wbTerminal;
  if (!t) return null;
  const buf = t.buffer.active, rows = [];
  for (let i = 0; i < t.rows; i++) {
    const line = buf.getLine(buf.viewportY + i);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""


def _chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    problem = None
    if importlib.util.find_spec("textual_serve") is None:
        problem = "the `serve` extra is not installed (pip install -e '.[serve]')"
    elif not found:
        problem = "no Chromium binary (apt-get install chromium, or set CHROMIUM=/path)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}: the browser test must run on CI")
        pytest.skip(problem)
    return found


class DevTools:
    """A minimal DevTools-protocol client for one page, over aiohttp's websocket client."""

    def __init__(self, ws) -> None:
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params) -> dict:
        """Send a command; return its result (events that arrive meanwhile are skipped)."""
        self.next_id += 1
        ident = self.next_id
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        async for message in self.ws:
            reply = json.loads(message.data)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise AssertionError(f"DevTools {method}: {reply['error']}")
                return reply["result"]
        raise AssertionError(f"DevTools closed the connection during {method}")


def served_url(out: Path) -> str | None:
    """The URL `workbench serve` printed, token included, once it has."""
    found = re.search(r"serving the app at (http://127\.0\.0\.1:\d+/\?token=\S+)", out.read_text())
    return found and found.group(1)


def _start_serve(home: Path, config: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "WORKBENCH_HOME": str(home), "WORKBENCH_CONFIG": str(config)}
    with out.open("w") as stdout:
        return subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", "0", "-m", "stub-a"],
                                stdout=stdout, stderr=subprocess.STDOUT, env=env)


def _start_chromium(binary: str, profile: Path) -> subprocess.Popen:
    env = {**os.environ, "HOME": str(profile), "XDG_CONFIG_HOME": str(profile / "config"),
           "XDG_CACHE_HOME": str(profile / "cache")}
    return subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-proxy-server",
         # no test reaches the internet: the page links a web font; only 127.0.0.1 resolves
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


async def _wait_for(what: str, check, proc: subprocess.Popen, log: Path | None = None):
    """Poll ``check()`` until it returns something; fail early if ``proc`` died."""
    while True:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            said = f"; it said:\n{log.read_text()}" if log else ""
            raise AssertionError(f"{what}: {' '.join(map(str, proc.args[:4]))} exited with {proc.returncode}{said}")
        await asyncio.sleep(0.1)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    return struct.unpack(">II", data[16:24])


def _stop(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


async def test_serve_shows_the_app_in_headless_chromium(isolated_home, tmp_path, openai_stub):
    binary = _chromium()
    import aiohttp

    config = write_stub_config(isolated_home, openai_stub.base_url, {"stub-a": {"name": MODEL_NAME}})
    serve_out, profile = tmp_path / "serve.out", tmp_path / "chromium"
    profile.mkdir()
    serve = _start_serve(isolated_home, config, serve_out)
    browser = None
    sessions: list[psutil.Process] = []
    try:
        async def run() -> tuple[str, bytes]:
            nonlocal browser
            url = await _wait_for("serve printed no URL", lambda: served_url(serve_out), serve, serve_out)
            browser = _start_chromium(binary, profile)
            port_file = profile / "DevToolsActivePort"
            port = await _wait_for("no DevTools port", lambda: port_file.is_file() and
                                   port_file.read_text().split("\n")[0].strip(), browser)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/json/list") as reply:
                    page = next(t for t in await reply.json() if t["type"] == "page")
                async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    tools = DevTools(ws)
                    await tools.call("Page.enable")
                    await tools.call("Page.addScriptToEvaluateOnNewDocument", source=HOOK_TERMINAL)
                    await tools.call("Page.navigate", url=url)
                    while True:  # the app paints a few frames; wait for the last piece we check
                        found = await tools.call("Runtime.evaluate", expression=READ_SCREEN, returnByValue=True)
                        screen = found["result"].get("value") or ""
                        if "Type a prompt" in screen and MODEL_NAME in screen:
                            break
                        for proc in (serve, browser):
                            assert proc.poll() is None, f"{proc.args[0]} exited; the screen was:\n{screen}"
                        await asyncio.sleep(0.2)
                    # the token moved into a cookie: it is not left in the address bar
                    where = await tools.call("Runtime.evaluate", expression="location.href", returnByValue=True)
                    assert where["result"]["value"] == url.split("?")[0], where
                    shot = await tools.call("Page.captureScreenshot", format="png")
                    # the sessions textual-serve started for this tab, while it is still open
                    sessions.extend(psutil.Process(serve.pid).children(recursive=True))
            return screen, base64.b64decode(shot["data"])

        screen, png = await asyncio.wait_for(run(), GUARD_S)
        (tmp_path / "serve.png").write_bytes(png)
        print(f"screenshot: {tmp_path / 'serve.png'}\n{screen}")

        assert "workbench" in screen  # the status line starts with the app's name
        assert "Type a prompt" in screen  # the prompt bar's hint
        assert MODEL_NAME in screen  # a pane for the -m model, named by the config
        width, height = _png_size(png)
        assert width == VIEWPORT[0] and height > 200
        commands = [" ".join(p.cmdline()) for p in sessions if p.is_running()]
        assert any("-m workbench" in c and "-m stub-a" in c for c in commands), commands
        assert openai_stub.requests == []  # rendering the app calls no model

        assert _stop(serve) == 0, serve_out.read_text()
        _, alive = psutil.wait_procs(sessions, timeout=30)
        assert not alive, f"app processes outlived `workbench serve`: {alive}"
    finally:
        for proc in (browser, serve):
            if proc is not None:
                _stop(proc)
        for leftover in sessions:
            if leftover.is_running():
                leftover.kill()


# --- without a browser: the command's own checks (these run everywhere) ---------------------


def _serve_args(*argv: str):
    import argparse

    from workbench.cli import _add_common
    from workbench.cli.serve import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"), _add_common)
    return parser.parse_args(["serve", *argv])


def _settings(home: Path):
    from workbench.config import load_settings

    return load_settings(write_stub_config(home, "http://127.0.0.1:9/v1", {"stub-a": {"name": MODEL_NAME}}))


def test_each_session_runs_the_app_with_the_options_given_to_serve(tmp_path, monkeypatch):
    from workbench.cli.serve import app_command

    monkeypatch.chdir(tmp_path)
    command = app_command(_serve_args("--config", "my.toml", "--local", "-m", "a", "-m", "b"))
    assert command[:3] == [sys.executable, "-m", "workbench"]
    assert command[3:] == ["--config", str(tmp_path / "my.toml"), "--local", "-m", "a", "-m", "b"]
    assert app_command(_serve_args())[3:] == []
    args = _serve_args()
    assert (args.host, args.port) == ("127.0.0.1", 8000)  # only this machine, unless asked


def test_serve_without_the_extra_says_how_to_install_it(isolated_home, monkeypatch, capsys):
    from workbench.cli import serve

    for name in ("textual_serve", "textual_serve.server"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: importing it fails
    assert serve.run_serve(_settings(isolated_home), _serve_args("-m", "stub-a")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'workbench[serve]'" in err


def test_serve_rejects_an_unknown_model_before_listening(isolated_home, capsys):
    if importlib.util.find_spec("textual_serve") is None:
        pytest.skip("the `serve` extra is not installed")
    from workbench.cli.serve import run_serve

    assert run_serve(_settings(isolated_home), _serve_args("-m", "nope", "--port", "0")) == 2
    captured = capsys.readouterr()
    assert "nope" in captured.err and "serving" not in captured.out
