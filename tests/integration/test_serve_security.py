"""Nobody but its owner drives `workbench serve` (SPEC Q8): a per-start token, our own Host/Origin.

The real server runs as a subprocess on 127.0.0.1 and is probed with aiohttp's client, as an
attacker would: a page on another site opening the websocket, DNS rebinding (a foreign Host),
another local user without the token. The last tests drive the app through the websocket with
the token, as the browser does, so a refusal can never pass for a broken server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers.fixtures import write_stub_config
from test_serve_browser import _stop

if importlib.util.find_spec("textual_serve") is None:  # as the browser test: never silently gone on CI
    if os.environ.get("CI"):
        pytest.fail("the `serve` extra is not installed: the serve security tests must run on CI", pytrace=False)
    pytest.skip("the `serve` extra is not installed (pip install -e '.[serve]')", allow_module_level=True)

import aiohttp  # textual-serve brings it

MODEL_NAME = "Stub Alpha"
START_GUARD_S = 60  # a hang guard: start-up on a busy 2-core machine takes a few seconds
EVIL = "http://evil.example"
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


class Served:
    """A running `workbench serve` and what it printed."""

    def __init__(self, proc: subprocess.Popen, out: Path, url: str) -> None:
        self.proc, self.out, self.url = proc, out, url
        self.base, _, query = url.partition("/?")
        self.token = query.removeprefix("token=") if query.startswith("token=") else None
        self.port = int(self.base.rsplit(":", 1)[1])
        self.origin = self.base

    def need_token(self) -> str:
        """The printed token; a clear failure when the server printed none."""
        assert self.token, f"`workbench serve` printed no token in its URL: {self.url}"
        return self.token


def _serve_env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_SERVE_TOKEN"}
    return {**env, "WORKBENCH_HOME": str(home), "WORKBENCH_CONFIG": str(config), "NO_PROXY": "127.0.0.1", **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the module: each start costs seconds on a 2-core machine."""
    home = tmp_path_factory.mktemp("wbhome")
    config = write_stub_config(home, "http://127.0.0.1:9/v1", {"stub-a": {"name": MODEL_NAME}})
    out = home / "serve.out"
    with out.open("w") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", "0", "-m", "stub-a"],
                                stdout=stdout, stderr=subprocess.STDOUT, env=_serve_env(home, config))
    try:
        deadline = time.monotonic() + START_GUARD_S
        while not (found := re.search(r"serving the app at (http://127\.0\.0\.1:\d+\S*)", out.read_text())):
            assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{out.read_text()}"
            assert time.monotonic() < deadline, f"serve printed no URL:\n{out.read_text()}"
            time.sleep(0.1)
        yield Served(proc, out, found.group(1).rstrip("/"))
    finally:
        _stop(proc)


async def _get(served: Served, path: str, **kw) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http, http.get(served.base + path, allow_redirects=False, **kw) as reply:
        return reply.status, await reply.text(), reply


async def _ws_status(served: Served, path: str = "/ws", **kw) -> int:
    """The handshake's status: 101 when the websocket opened (it is closed again at once)."""
    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(served.base + path, **kw):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def _cookie(served: Served) -> str:
    status, _, reply = await _get(served, f"/?token={served.need_token()}")
    assert status == 303, status
    morsel = next(iter(reply.cookies.values()))
    return f"{morsel.key}={morsel.value}"


# --- the page -------------------------------------------------------------------------------


async def test_the_page_without_the_token_is_401_and_says_how_to_get_in(served):
    status, text, reply = await _get(served, "/")
    assert status == 401
    assert "workbench serve" in text and "?token=" in text and len(text) < 400
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert served.need_token() not in text


async def test_the_page_with_a_wrong_token_is_403(served):
    token = served.need_token()
    status, text, _ = await _get(served, f"/?token={token[:-1]}x")
    assert status == 403 and "?token=" in text and token not in text
    assert (await _get(served, "/", headers={"Authorization": "Bearer not-the-token"}))[0] == 403


async def test_a_foreign_host_or_origin_is_403_even_with_the_token(served):
    token = served.need_token()
    assert (await _get(served, f"/?token={token}", headers={"Host": "evil.example"}))[0] == 403
    assert (await _get(served, f"/?token={token}", headers={"Host": f"evil.example:{served.port}"}))[0] == 403
    assert (await _get(served, f"/?token={token}", headers={"Origin": EVIL}))[0] == 403
    # static assets are public, but not to a rebound host name either
    assert (await _get(served, "/static/js/textual.js"))[0] == 200
    assert (await _get(served, "/static/js/textual.js", headers={"Host": "evil.example"}))[0] == 403


async def test_the_token_moves_into_a_strict_cookie_and_out_of_the_url(served):
    token = served.need_token()
    status, _, reply = await _get(served, f"/?token={token}&fontsize=18")
    assert status == 303 and reply.headers["Location"] == "./?fontsize=18"
    set_cookie = reply.headers["Set-Cookie"]
    assert all(attr in set_cookie for attr in ("HttpOnly", "SameSite=Strict", "Path=/"))
    assert token not in set_cookie  # the browser's cookie jar gets a derived value, not the token
    cookie = await _cookie(served)
    status, page, reply = await _get(served, "/", headers={"Cookie": cookie})
    assert status == 200 and f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
    assert token not in page and reply.headers["X-Frame-Options"] == "DENY"
    # the page names the host it was loaded from, so its websocket gets the cookie and passes Origin
    status, page, _ = await _get(served, "/", headers={"Cookie": cookie, "Host": f"localhost:{served.port}"})
    assert status == 200 and f"ws://localhost:{served.port}/ws" in page
    assert (await _get(served, "/", headers={"Cookie": cookie.split("=")[0] + "=forged"}))[0] == 403


# --- the websocket --------------------------------------------------------------------------


async def test_the_websocket_without_the_token_is_refused(served):
    assert await _ws_status(served, origin=served.origin) == 401


async def test_the_websocket_from_another_origin_is_refused_even_with_the_token(served):
    token, cookie = served.need_token(), await _cookie(served)
    assert await _ws_status(served, f"/ws?token={token}", origin=EVIL) == 403
    assert await _ws_status(served, origin=EVIL, headers={"Cookie": cookie}) == 403
    assert await _ws_status(served, origin="null", headers={"Cookie": cookie}) == 403
    assert await _ws_status(served, headers={"Cookie": cookie}) == 403  # no Origin: not our page
    # DNS rebinding: evil.example resolving to 127.0.0.1, its page and websocket on our port
    rebound = f"evil.example:{served.port}"
    assert await _ws_status(served, origin=f"http://{rebound}",
                            headers={"Cookie": cookie, "Host": rebound}) == 403


async def test_the_websocket_with_the_token_in_its_url_opens(served):
    assert await _ws_status(served, f"/ws?token={served.need_token()}&width=80&height=24",
                            origin=served.origin) == 101


async def test_the_browsers_websocket_with_the_cookie_drives_the_app(served):
    cookie = await _cookie(served)
    screen = b""

    async def read_until(text: bytes, ws) -> None:
        nonlocal screen
        while text not in ANSI.sub(b"", screen):
            message = await ws.receive()
            assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message
            if message.type == aiohttp.WSMsgType.BINARY:
                screen += message.data

    # with the Origin a browser sends for the page's own websocket
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{served.base}/ws?width=100&height=30", origin=served.origin, headers={"Cookie": cookie}) as ws:
        await asyncio.wait_for(read_until(MODEL_NAME.encode(), ws), START_GUARD_S)
        await ws.send_str(json.dumps(["stdin", "zqxwv"]))  # typed into the prompt bar
        await asyncio.wait_for(read_until(b"zqxwv", ws), START_GUARD_S)


# --- what the server says -------------------------------------------------------------------


async def test_the_token_is_shown_only_in_the_printed_url(served):
    token = served.need_token()
    assert await _ws_status(served, f"/ws?token={token}x", origin=served.origin) == 403
    await _get(served, f"/?token={token}")
    await _get(served, f"/nowhere?token={token}")
    lines = [line for line in served.out.read_text().splitlines() if token in line]
    assert lines == [f"workbench: serving the app at {served.base}/?token={token}"]


@pytest.mark.parametrize(("argv", "env", "says"), [
    (["--token", ""], {}, "--token is empty"),
    (["--token", "short"], {}, "--token must be at least 16"),
    ([], {"WORKBENCH_SERVE_TOKEN": ""}, "WORKBENCH_SERVE_TOKEN is empty"),
])
def test_a_bad_token_ends_in_one_line_and_exit_2(tmp_path, argv, env, says):
    config = write_stub_config(tmp_path, "http://127.0.0.1:9/v1")
    done = subprocess.run([sys.executable, "-m", "workbench", "serve", "--port", "0", *argv],
                          check=False, capture_output=True, text=True, timeout=60, env=_serve_env(tmp_path, config, **env))
    assert done.returncode == 2, done
    assert done.stdout == "" and done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "short" not in done.stderr  # the value itself is never echoed


# --- the pieces, without a server -----------------------------------------------------------


def _server(tmp_path, monkeypatch, *argv: str):
    from test_serve_browser import _serve_args, _settings

    from workbench.cli.serve import _make_server

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    return _make_server(_settings(tmp_path), _serve_args("-m", "stub-a", *argv))


def test_the_token_comes_from_the_option_else_the_environment_else_at_random(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SERVE_TOKEN", "from-the-environment-0123")
    server = _server(tmp_path, monkeypatch, "--port", "52251")
    assert server.guard.url(server.base_url) == "http://127.0.0.1:52251/?token=from-the-environment-0123"
    assert "WORKBENCH_SERVE_TOKEN" not in os.environ  # so the app processes do not inherit it
    monkeypatch.setenv("WORKBENCH_SERVE_TOKEN", "from-the-environment-0123")
    server = _server(tmp_path, monkeypatch, "--port", "52251", "--token", "from-the-option-0123456")
    assert server.guard.url(server.base_url).endswith("?token=from-the-option-0123456")
    first, second = (_server(tmp_path, monkeypatch, "--port", "52251") for _ in range(2))
    tokens = [s.guard.url(s.base_url).split("token=")[1] for s in (first, second)]
    assert tokens[0] != tokens[1] and min(map(len, tokens)) >= 40


def test_ipv6_and_wildcard_binds_print_a_usable_url(tmp_path, monkeypatch):
    from workbench.cli.serve_auth import browse_url

    assert browse_url("::1", 52251) == "http://[::1]:52251"
    assert browse_url("::", 52251) == "http://[::1]:52251"
    assert browse_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    server = _server(tmp_path, monkeypatch, "--host", "::1", "--port", "52251", "--token", "x" * 20)
    assert server.guard.url(server.base_url) == f"http://[::1]:52251/?token={'x' * 20}"


def test_only_the_served_address_passes_the_host_and_origin_checks():
    from workbench.cli.serve_auth import Addresses

    loop = Addresses("127.0.0.1", 8000)
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST:8000", "[0:0::1]:8000"):
        assert loop.host_ok(host) and loop.origin_ok(f"http://{host}", host), host
    for host in ("evil.example:8000", "127.0.0.1:8001", "127.0.0.1", "10.0.0.2:8000", "::1:8000", "", None,
                 "127.0.0.1:80:80", "[::1"):
        assert not loop.host_ok(host), host
    assert not loop.origin_ok("http://evil.example:8000", "127.0.0.1:8000")
    assert not loop.origin_ok("null", "127.0.0.1:8000")
    assert not loop.origin_ok("http://127.0.0.1:8000/path", "127.0.0.1:8000")

    lan = Addresses("0.0.0.0", 8000)  # reached by whatever address the machine has
    assert lan.host_ok("192.168.1.5:8000") and lan.origin_ok("http://192.168.1.5:8000", "192.168.1.5:8000")
    assert not lan.host_ok("evil.example:8000") and not lan.host_ok("192.168.1.5:8001")
    assert not lan.origin_ok("http://192.168.1.6:8000", "192.168.1.5:8000")  # another machine's page

    proxied = Addresses("127.0.0.1", 8000, "https://wb.example.org")
    assert proxied.host_ok("wb.example.org") and proxied.origin_ok("https://wb.example.org", "127.0.0.1:8000")
    assert not proxied.origin_ok("http://wb.example.org", "127.0.0.1:8000")  # port 80, not 443


def test_refusals_never_contain_the_token():
    from workbench.cli.serve_auth import Addresses, Guard

    token = "the-secret-token-0123456789"
    guard = Guard(token, Addresses("127.0.0.1", 8000), "http://127.0.0.1:8000")
    host = {"Host": "127.0.0.1:8000"}
    cases = [({"Host": "evil.example"}, {"token": token}), (host, {}), (host, {"token": token[:-1]}),
             ({**host, "Origin": EVIL}, {"token": token})]
    for headers, query in cases:
        refusal = guard.check("index", headers, query, {})
        assert refusal is not None and token not in refusal.text and token[:-1] not in refusal.text
    assert guard.check("index", host, {"token": token}, {}) is None
    assert guard.check("index", host, {"token": "é" * 30}, {}).status == 403  # not ASCII: still just wrong
