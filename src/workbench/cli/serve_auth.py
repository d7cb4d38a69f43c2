"""Who may use `workbench serve` (SPEC Q8): a per-start secret token, and only our own address.

Each browser tab drives a full app with the owner's API keys, store and files, so the page, the
websocket and downloads are refused without the token, and every request is refused whose
`Host` (DNS rebinding) or `Origin` (a page on another site opening our websocket) is not the
address the server was started on. Static assets (textual-serve's JS, CSS and fonts) hold
nothing private and stay public, but still need the right `Host`.

The token reaches the browser once, in the printed URL (as Jupyter does). The first page load
with a valid ``?token=`` moves it into an HttpOnly, SameSite=Strict cookie and redirects to the
same page without it, so the token leaves the address bar, history and Referer; the page's own
websocket (whose URL textual-serve's JS builds, appending ``?width=…``) then carries the cookie.
Scripts may send ``?token=`` or ``Authorization: Bearer`` on any request instead.

Nothing here imports aiohttp at module level: ``Guard`` is plain logic, ``middleware`` wraps it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

TOKEN_ENV = "WORKBENCH_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# textual-serve's route names: the guard goes by the route aiohttp matched, not by the path
PAGE, WEBSOCKET, STATIC = "index", "websocket", "static"


class TokenError(ValueError):
    """A token given by the user that cannot be used (the message never contains it)."""


def check_token(token: str, source: str) -> str:
    """The token if usable; ``source`` names where it came from, for the one-line error."""
    if not token:
        raise TokenError(f"{source} is empty: give a secret of at least {MIN_TOKEN_CHARS} characters, "
                         "or leave it out for a random one")
    if len(token) < MIN_TOKEN_CHARS or not token.isprintable() or any(c.isspace() for c in token):
        raise TokenError(f"{source} must be at least {MIN_TOKEN_CHARS} printable characters without spaces")
    return token


def bracketed(host: str) -> str:
    """``host`` as it goes in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def is_wildcard(host: str) -> bool:
    """Whether ``host`` means every address of this machine (0.0.0.0, ::)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def browse_url(host: str, port: int) -> str:
    """The base URL a browser on this machine uses (a wildcard bind is reached over loopback)."""
    if is_wildcard(host):
        host = "::1" if ":" in host else "127.0.0.1"
    return f"http://{bracketed(host)}:{port}"


def _canonical(host: str) -> str:
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))  # so [0:0::1] is [::1]
    except ValueError:
        return host


def _host_port(value: str) -> tuple[str, int | None] | None:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as (canonical host, port or None); None if malformed."""
    value = value.strip()
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else ""
    elif value.count(":") > 1:
        return None  # an unbracketed IPv6 address cannot carry a port
    else:
        host, _, port_text = value.partition(":")
    if not host or (port_text and not (port_text.isdigit() and int(port_text) <= 65535)):
        return None
    return _canonical(host), int(port_text) if port_text else None


def _ports(port: int | None) -> tuple[int, ...]:
    # a Host header leaves out the scheme's default port, and behind a proxy we cannot tell which
    return (80, 443) if port is None else (port,)


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away: an HTTP status and a short plain-text body."""

    status: int
    text: str


class Addresses:
    """The host:port pairs that name this server, for the `Host` and `Origin` checks."""

    def __init__(self, bind_host: str, port: int, public_url: str | None = None) -> None:
        self.port = port
        names = {_canonical(bind_host)}
        # an IP literal cannot be rebound, so a wildcard bind accepts any (the LAN or NAT address)
        self.any_ip = is_wildcard(bind_host)
        if self.any_ip or is_loopback(bind_host):
            names.update(_canonical(n) for n in LOOPBACK_NAMES)
        if self.any_ip:
            names.update(_canonical(n) for n in (socket.gethostname(), socket.getfqdn()) if n)
        self.allowed = {(name, port) for name in names}
        if public_url:
            parts = urlsplit(public_url)
            found = _host_port(parts.netloc.rpartition("@")[2])
            if found:
                self.allowed.add((found[0], found[1] or (443 if parts.scheme == "https" else 80)))

    def host_ok(self, host_header: str | None) -> bool:
        """Whether a request's `Host` header names this server."""
        found = _host_port(host_header or "")
        if found is None:
            return False
        host, port = found
        if any((host, p) in self.allowed for p in _ports(port)):
            return True
        if self.any_ip and self.port in _ports(port):
            try:
                ipaddress.ip_address(host)
                return True
            except ValueError:
                return False
        return False

    def origin_ok(self, origin: str, host_header: str | None) -> bool:
        """Whether a page at ``origin`` is ours: one of our names, or the very host it asks."""
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or parts.path or parts.query or "@" in parts.netloc:
            return False  # "null" (a sandboxed frame, a file) among others
        found = _host_port(parts.netloc)
        if found is None:
            return False
        origin_pair = (found[0], found[1] or (443 if parts.scheme == "https" else 80))
        if origin_pair in self.allowed:
            return True
        asked = _host_port(host_header or "")
        return (self.host_ok(host_header) and asked is not None and asked[0] == origin_pair[0]
                and origin_pair[1] in _ports(asked[1]))


class Guard:
    """The per-start token and the address checks, applied to one request at a time."""

    def __init__(self, token: str, addresses: Addresses, base_url: str, *, secure_cookie: bool = False) -> None:
        self._token = token.encode("utf-8")
        # the cookie holds a value derived from the token, so a browser's cookie jar on disk
        # never holds the token itself; it is as good as the token for this server only
        self._cookie_value = hmac.new(self._token, b"workbench serve cookie", hashlib.sha256).hexdigest()
        self.addresses = addresses
        # cookies ignore the port: two servers on one host must not overwrite each other's
        self.cookie_name = f"workbench_serve_{addresses.port}"
        self.secure_cookie = secure_cookie
        self.hint = f"Open the URL that `workbench serve` printed ({base_url.rstrip('/')}/?token=…)."

    def url(self, base_url: str) -> str:
        """The URL to print: ``base_url`` with the token."""
        return f"{base_url.rstrip('/')}/?token={quote(self._token.decode('utf-8'), safe='')}"

    def _matches(self, given: str, expected: bytes) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)

    def token_status(self, query_token: str | None, authorization: str | None, cookie: str | None) -> int:
        """200 when a presented credential is right, 401 when none is presented, else 403."""
        presented = False
        ok = False
        bearer = None
        if authorization and authorization[:7].lower() == "bearer ":
            bearer = authorization[7:].strip()
        for given, expected in ((query_token, self._token), (bearer, self._token),
                                (cookie, self._cookie_value.encode())):
            if given is not None:
                presented = True
                ok |= self._matches(given, expected)  # no early exit: every check costs the same
        return 200 if ok else 403 if presented else 401

    def check(self, route: str, headers, query, cookies) -> Refusal | None:
        """None if a request for ``route`` (a route name) may go on, else why not; the rest are mappings."""
        host = headers.get("Host")
        if not self.addresses.host_ok(host):
            return Refusal(403, f"Forbidden: this server does not answer to that host name. {self.hint}\n")
        origin = headers.get("Origin")
        if route == WEBSOCKET and origin is None:
            # every browser sends Origin on a websocket; a missing one is not a browser page of ours
            return Refusal(403, f"Forbidden: the websocket needs an Origin header. {self.hint}\n")
        if origin is not None and not self.addresses.origin_ok(origin, host):
            return Refusal(403, f"Forbidden: requests from another site are refused. {self.hint}\n")
        if route == STATIC:
            return None
        status = self.token_status(query.get("token"), headers.get("Authorization"), cookies.get(self.cookie_name))
        if status == 401:
            return Refusal(401, f"Unauthorized: this app needs the token of this `workbench serve`. {self.hint} "
                                "The browser then keeps a cookie for this address.\n")
        if status == 403:
            return Refusal(403, f"Forbidden: wrong token. {self.hint}\n")
        return None

    def redirect_without_token(self, route: str, query) -> str | None:
        """Where a page load with ``?token=`` goes next (the same page without it), or None."""
        if route != PAGE or "token" not in query:
            return None
        rest = [(k, v) for k, v in query.items() if k != "token"]
        # relative, so a proxy that serves us under a path prefix keeps it
        return "./" + (f"?{urlencode(rest)}" if rest else "")

    def cookie(self) -> tuple[str, str, dict]:
        """Name, value and attributes of the cookie that replaces the token after the first load."""
        return self.cookie_name, self._cookie_value, {"httponly": True, "samesite": "Strict", "path": "/",
                                                       "secure": self.secure_cookie}


def middleware(guard: Guard):
    """An aiohttp middleware that applies ``guard`` to every request before its handler."""
    from aiohttp import web

    @web.middleware
    async def guard_requests(request: web.Request, handler):
        resource = request.match_info.route.resource
        route = (resource.name if resource is not None else None) or ""
        refusal = guard.check(route, request.headers, request.query, request.cookies)
        if refusal is not None:
            headers = {"Cache-Control": "no-store"}
            if refusal.status == 401:
                headers["WWW-Authenticate"] = 'Bearer realm="workbench serve"'
            return web.Response(status=refusal.status, text=refusal.text, headers=headers)
        location = guard.redirect_without_token(route, request.query)
        if location is not None:
            response = web.HTTPSeeOther(location, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
            name, value, attributes = guard.cookie()
            response.set_cookie(name, value, **attributes)
            return response
        response = await handler(request)
        if route == PAGE and not response.prepared:
            # the app in someone else's frame would take clicks meant for their page
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Cache-Control"] = "no-store"
        return response

    return guard_requests
