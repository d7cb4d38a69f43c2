"""`workbench serve`: the same terminal app in a browser, through textual-serve (C9).

textual-serve runs a small aiohttp web server; every browser tab that connects gets its own
`python -m workbench [options]` process driven over a websocket. So the app in the browser is
exactly the TUI, with the same config, store and keys: the environment (WORKBENCH_HOME,
WORKBENCH_CONFIG, the API key variables) is inherited by every app process.

Nobody but the owner may drive it (SPEC Q8): serve_auth.py checks a per-start token and the
Host and Origin headers on every request.

textual-serve is an extra (`pip install 'workbench[serve]'`): aiohttp and friends are not
something a terminal-only user should carry, and nothing here is imported by `--help`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.config import Settings

from workbench.cli.common import EXIT_OK, EXIT_USAGE

INSTALL_HINT = "install with: pip install 'workbench[serve]'"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
SHUTDOWN_WAIT_S = 15.0  # for the apps to quit on Ctrl+C; a stuck one is left to its closed stdin

DESCRIPTION = """\
Serve the workbench app to a web browser (through textual-serve; needs the `serve` extra).
Each browser tab runs its own copy of the app with the same config, store and API keys as
`workbench` in this shell, and the same options: -m, --config, --local.

The URL it prints carries a secret token (http://127.0.0.1:8000/?token=...), as Jupyter's does:
without it the page and the app are refused (401, or 403 for a wrong one), because whoever
drives the app spends your API keys and reads your history, and any local user or any web page
in your browser can reach a port on 127.0.0.1. A new random token is made at every start; to
keep one across restarts, set WORKBENCH_SERVE_TOKEN (better than --token, which other users of
this machine can see in `ps`). The browser keeps a cookie after the first load. Requests whose
Host or Origin header is not this server's address are refused too (DNS rebinding, other sites).

It listens on 127.0.0.1 only by default. Binding another address (--host 0.0.0.0) lets anyone
who can reach that address try, and plain http shows the token to anyone on the way: prefer an
SSH tunnel (ssh -L 8000:127.0.0.1:8000 host) to exposing it.
"""

EPILOG = """\
examples:
  workbench serve                              # then open the printed http://127.0.0.1:8000/?token=...
  workbench serve -m deepseek-v4-flash -m qwen3-coder-30b --port 8080
  workbench serve --port 0                     # any free port; the URL is printed
  WORKBENCH_SERVE_TOKEN=$(cat ~/.wb-token) workbench serve   # the same token at every start
"""


class ServeError(Exception):
    """A set-up problem reported in one line (exit 2)."""


def add_parser(sub, add_common) -> None:
    """The `serve` sub-command; ``add_common`` adds --config and --local as for every command."""
    serve = sub.add_parser("serve", help="serve the app to a web browser on 127.0.0.1 (needs the `serve` extra)",
                           description=DESCRIPTION, epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(serve)
    serve.add_argument("-m", "--model", dest="models", action="append", metavar="MODEL",
                       help="a model id for the app (repeat for up to 10); default: [defaults].models of the config")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help="address to listen on (default 127.0.0.1). Anything else exposes the app, and the use "
                            "of your API keys, to whoever can reach that address and has the URL; over plain "
                            "http anyone on the way sees the URL")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"port to listen on (default {DEFAULT_PORT}; 0 = a free port)")
    serve.add_argument("--public-url", metavar="URL",
                       help="the address browsers use, when it differs from http://HOST:PORT "
                            "(a reverse proxy, or a name for --host 0.0.0.0); its host is accepted in Host/Origin")
    serve.add_argument("--token", metavar="TOKEN",
                       help="the secret the URL must carry (at least 16 characters); default: "
                            "$WORKBENCH_SERVE_TOKEN, else a new random one at each start. Other local users "
                            "can read --token in `ps`: prefer the environment variable")


def app_command(args: argparse.Namespace) -> list[str]:
    """The command each browser session runs: the TUI with the options given to `serve`."""
    command = [sys.executable, "-m", "workbench"]
    if getattr(args, "config", None):
        # absolute, so the app process finds it whatever directory textual-serve runs it in
        command += ["--config", str(Path(args.config).expanduser().resolve())]
    if getattr(args, "local", False):
        command.append("--local")
    for model in getattr(args, "models", None) or []:
        command += ["-m", model]
    return command


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Check the options, then serve until Ctrl+C; prints the URL with its token once listening."""
    try:
        server = _make_server(settings, args)
    except ServeError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        from workbench.cli.serve_auth import bracketed

        print(f"workbench: cannot listen on {bracketed(server.host)}:{server.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _make_server(settings: Settings, args: argparse.Namespace):
    from urllib.parse import urlsplit

    from workbench.cli import serve_auth

    token = _token(args)  # first: a bad token is refused before anything slow
    try:
        server_class = _server_class()
    except ImportError:
        raise ServeError(f"`workbench serve` needs the `serve` extra: {INSTALL_HINT}") from None
    _check_models(settings, args)
    if getattr(args, "local", False) and importlib.util.find_spec("llama_cpp") is None:
        from workbench.local import INSTALL_HINT as LOCAL_HINT

        raise ServeError(f"--local needs the `local` extra: {LOCAL_HINT}")
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port must be between 0 and 65535, not {args.port}")
    public_url = getattr(args, "public_url", None)
    if public_url is not None and (not public_url.startswith(("http://", "https://"))
                                   or not urlsplit(public_url).hostname):
        raise ServeError(f"--public-url must be an http:// or https:// URL with a host, not {public_url!r}")
    try:
        port = args.port or _free_port(args.host)
    except OSError as exc:  # an unknown host name, or an address not on this machine
        raise ServeError(f"cannot listen on {args.host}: {exc.strerror or exc}") from None
    base_url = (public_url or serve_auth.browse_url(args.host, port)).rstrip("/")
    guard = serve_auth.Guard(token, serve_auth.Addresses(args.host, port, public_url), base_url,
                             secure_cookie=base_url.startswith("https://"))
    return server_class(shlex.join(app_command(args)), guard=guard, base_url=base_url,
                        explicit_public_url=public_url is not None, host=args.host, port=port)


def _token(args: argparse.Namespace) -> str:
    """--token, else $WORKBENCH_SERVE_TOKEN, else a new random one; checked, never echoed."""
    import secrets

    from workbench.cli.serve_auth import TOKEN_ENV, TokenError, check_token

    # the app processes inherit this environment: they have no use for the token
    from_env = os.environ.pop(TOKEN_ENV, None)
    given = getattr(args, "token", None)
    try:
        if given is not None:
            return check_token(given, "--token")
        if from_env is not None:
            return check_token(from_env, TOKEN_ENV)
    except TokenError as exc:
        raise ServeError(str(exc)) from None
    return secrets.token_urlsafe(32)


def _check_models(settings: Settings, args: argparse.Namespace) -> None:
    # Fail here, once, in the shell, rather than in every browser tab that opens.
    from workbench.catalog import UnknownModelError
    from workbench.routing import resolve_with_routed

    if getattr(args, "local", False):
        return  # --local adds its models in the app process, where the server starts
    try:
        models = resolve_with_routed(settings, args.models or list(settings.defaults.models))
    except UnknownModelError as exc:
        raise ServeError(str(exc)) from None
    if len(models) > 10:
        raise ServeError("at most 10 models take part in a round")


def _free_port(host: str) -> int:
    # The port is needed before binding (the printed URL, the Host/Origin checks and the cookie
    # name hold it), so --port 0 picks one now; another process could take it in between, rarely.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _server_class():
    """textual-serve's Server, guarded by serve_auth and printing our one line instead of its banner."""
    import asyncio
    import logging
    import signal

    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server, to_int

    from workbench.cli.serve_auth import is_loopback, is_wildcard, middleware

    class WorkbenchServer(Server):
        """Prints the URL once the socket is bound (not before), so a script can wait for it."""

        def __init__(self, command: str, *, guard, base_url: str, explicit_public_url: bool, **kwargs) -> None:
            # textual-serve's own public_url would be http://::1:PORT for IPv6: give it ours
            super().__init__(command, title="workbench", public_url=base_url, **kwargs)
            self.guard, self.base_url, self.explicit_public_url = guard, base_url, explicit_public_url

        async def _make_app(self) -> web.Application:
            """textual-serve's app with the guard in front of every route."""
            app = await super()._make_app()
            app.middlewares.append(middleware(self.guard))
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            """The page, with its websocket and assets on the very host:port it was loaded from.

            textual-serve builds them from public_url: a page opened as localhost would open its
            websocket on 127.0.0.1, another site for the cookie and for the Origin check. The
            guard has already checked the Host header used here."""
            base = self.base_url if self.explicit_public_url else f"http://{request.host}"
            scheme, rest = base.split(":", 1)
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": f"{'wss' if scheme == 'https' else 'ws'}:{rest}/ws",
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        def initialize_logging(self) -> None:
            # textual-serve logs every request at INFO through Rich; keep the terminal quiet
            # apart from warnings (a crashed app process still shows).
            logging.basicConfig(level="WARNING", format="textual-serve: %(message)s")

        async def on_startup(self, app) -> None:
            """No banner: the URL line is printed by ``_announce`` after binding."""
            self._sessions: set[asyncio.Task] = set()

        async def handle_websocket(self, request):
            """One browser tab's app session, in a task of our own so shutdown can end it."""
            session = asyncio.ensure_future(super().handle_websocket(request))
            self._sessions.add(session)
            try:
                return await session
            finally:
                self._sessions.discard(session)

        async def on_shutdown(self, app) -> None:
            """Ctrl+C: end every session now. textual-serve answers a cancel by closing the tab's
            websocket and telling its app to quit; without this aiohttp would wait up to 60 s
            for the open websockets."""
            sessions = list(self._sessions)
            for session in sessions:
                session.cancel()
            if sessions:
                await asyncio.wait(sessions, timeout=SHUTDOWN_WAIT_S)

        def _announce(self, *_args) -> None:
            # the only place the token is ever shown
            print(f"workbench: serving the app at {self.guard.url(self.base_url)}", flush=True)
            if not is_loopback(self.host):
                where = "on every address of this machine" if is_wildcard(self.host) else f"on {self.host}"
                print(f"workbench: listening {where}: other machines can reach it (over plain http, which shows "
                      "the token to anyone on the way); whoever has the URL uses your API keys", flush=True)
            print("workbench: open it in a browser (the token is in the URL); Ctrl+C stops", flush=True)

        def serve(self, debug: bool = False) -> None:
            """Server.serve, with ``print`` hooked: aiohttp calls it once every site is listening."""
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.request_exit)
                except NotImplementedError:  # not on this platform: Ctrl+C still interrupts
                    pass
            # no access log: the first request's line would hold the token
            web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                        print=self._announce, access_log=None)

    return WorkbenchServer
