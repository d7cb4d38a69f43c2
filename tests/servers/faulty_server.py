"""A misbehaving OpenAI-style server of our own, on raw sockets (127.0.0.1 only).

``openai_stub`` speaks HTTP through ``http.server``, which keeps it honest; this one writes the
bytes itself, so it can do what a well-behaved server cannot: one 1 MB chunk, 20,000 tiny
chunks in one ``sendall``, a UTF-8 character cut between two TCP writes, a connection dropped
mid-body or before any answer, an HTML error page, a malformed event, an ``{"error": …}`` event
mid-stream, a stream without ``[DONE]``, a read stall, 401/403/404/429/5xx, and error bodies
that echo the ``Authorization`` header back (the key-leak tests).

    with FaultyServer({"healthy": ok_stream("Fine."), "faulty": status(500, "boom")}) as server:
        server.base_url            # http://127.0.0.1:PORT/v1
        server.count("faulty")     # requests received for that model
        server.requests            # every request, headers and body

A *behaviour* is a callable ``(conn: Conn, request: Request) -> None`` that writes the whole
reply (or none). The script maps a request body's ``"model"`` to a behaviour, or a list of
behaviours used in turn (the last repeats). Every reply is ``Connection: close``: one request per
connection, so what one behaviour does to its socket never touches another request.
"""

from __future__ import annotations

import json
import select
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

DONE = b"data: [DONE]\n\n"
#: Hang guard for a stalled reply: long enough for any test, short enough to never wedge a run.
STALL_GUARD_S = 120.0


@dataclass
class Request:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def model(self) -> str | None:
        data = self.json
        return data.get("model") if isinstance(data, dict) else None


class Conn:
    """The client socket, with the writes a behaviour needs."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping

    def send(self, data: bytes) -> None:
        """One TCP write (TCP_NODELAY is set: it leaves as its own segment)."""
        self.sock.sendall(data)

    def head(self, status: int, headers: dict[str, str] | None = None, *, reason: str | None = None) -> None:
        """The status line and headers of a chunked, ``Connection: close`` reply."""
        reason = reason or _REASONS.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}"]
        merged = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                  "Transfer-Encoding": "chunked", "Connection": "close", **(headers or {})}
        lines += [f"{k}: {v}" for k, v in merged.items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def chunk(self, data: bytes) -> None:
        """One HTTP chunk in its own TCP write."""
        if data:
            self.send(chunk_frame(data))

    def end(self) -> None:
        """The last chunk: the body ended properly."""
        self.send(b"0\r\n\r\n")

    def pause(self, seconds: float) -> bool:
        """Wait (True if the server is stopping meanwhile)."""
        return self.stopping.wait(seconds)

    def cut(self) -> None:
        """Drop the connection without ending the body."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def wait_until_gone(self, guard: float = STALL_GUARD_S) -> None:
        """Send nothing until the client leaves, the server stops or the hang guard passes."""
        waited = 0.0
        while not self.stopping.is_set() and waited < guard:
            readable, _, _ = select.select([self.sock], [], [], 0.05)
            waited += 0.05
            if readable:
                try:
                    if not self.sock.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return


Behaviour = Callable[[Conn, Request], None]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


def chunk_frame(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# --- SSE payloads --------------------------------------------------------------------------


def event(obj: Any) -> bytes:
    """One ``data:`` event and its blank line (``obj`` is JSON-encoded unless it is a str)."""
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def delta(content: str | None = None, *, finish: str | None = None, model: str = "faulty-upstream",
          role: str | None = None) -> bytes:
    """A ``chat.completion.chunk`` event."""
    d: dict[str, Any] = {}
    if role:
        d["role"] = role
    if content is not None:
        d["content"] = content
    return event({"id": "chatcmpl-faulty", "object": "chat.completion.chunk", "created": 1727346168,
                  "model": model, "choices": [{"index": 0, "delta": d, "finish_reason": finish}]})


def usage(prompt_tokens: int = 9, completion_tokens: int = 5, *, model: str = "faulty-upstream") -> bytes:
    """The final ``choices: []`` chunk with usage."""
    return event({"id": "chatcmpl-faulty", "object": "chat.completion.chunk", "created": 1727346168,
                  "model": model, "choices": [],
                  "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens}})


def answer_events(pieces: Iterable[str], *, finish: bool = True, with_usage: bool = True,
                  done: bool = True, model: str = "faulty-upstream") -> list[bytes]:
    """The events of a normal answer made of ``pieces``."""
    items = [delta("", role="assistant", model=model)]
    items += [delta(p, model=model) for p in pieces]
    if finish:
        items.append(delta(finish="stop", model=model))
    if with_usage:
        items.append(usage(model=model))
    if done:
        items.append(DONE)
    return items


# --- behaviours ------------------------------------------------------------------------------


def status(code: int, message: str | None = None, *, body: bytes | None = None,
           content_type: str = "application/json", headers: dict[str, str] | None = None) -> Behaviour:
    """A whole error (or other) response: an OpenAI-shaped JSON error unless ``body`` is given."""
    if body is None:
        body = json.dumps({"error": {"message": message or "error", "type": "error", "code": None}}).encode()

    def reply(conn: Conn, request: Request) -> None:
        _whole(conn, code, body, content_type, headers)

    return reply


def _whole(conn: Conn, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
    lines = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; background: #fafafa; }} .box {{ margin: 4em auto; }}</style>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head><body><div class="box"><h1>{title}</h1>
<p>The web server reported a bad gateway error.</p>
{extra}
<hr><address>nginx/1.25.3</address>{padding}</div></body></html>
"""


def html_page(code: int, title: str = "502 Bad Gateway", *, extra: str = "", padding: int = 4000) -> Behaviour:
    """A proxy's HTML error page (a long one: ``padding`` bytes of markup)."""
    filler = "<!-- a padding comment of the kind error pages carry -->\n" * (padding // 56 + 1)

    def reply(conn: Conn, request: Request) -> None:
        page = HTML_PAGE.format(title=title, extra=extra.format(**_echo_fields(request)), padding=filler)
        _whole(conn, code, page.encode(), "text/html; charset=utf-8")

    return reply


def _echo_fields(request: Request) -> dict[str, str]:
    auth = request.headers.get("authorization", "")
    key = auth.split(" ", 1)[1] if " " in auth else auth
    return {"auth": auth, "key": key}


def echo_auth_json(code: int = 401) -> Behaviour:
    """An error whose JSON message repeats the Authorization header and the bare key."""

    def reply(conn: Conn, request: Request) -> None:
        f = _echo_fields(request)
        body = {"error": {"message": f"Incorrect API key provided: {f['key']}. You sent "
                                     f"'Authorization: {f['auth']}'.",
                          "type": "invalid_request_error", "code": "invalid_api_key",
                          "echo": {"authorization": f["auth"]}}}
        _whole(conn, code, json.dumps(body).encode(), "application/json")

    return reply


def echo_auth_html(code: int = 401) -> Behaviour:
    """An HTML error page with the key in its title and its body."""

    def reply(conn: Conn, request: Request) -> None:
        f = _echo_fields(request)
        page = HTML_PAGE.format(title=f"Unauthorized: {f['key']}",
                                extra=f"<pre>Authorization: {f['auth']}</pre>", padding="")
        _whole(conn, code, page.encode(), "text/html; charset=utf-8")

    return reply


def echo_auth_in_stream(kind: str) -> Behaviour:
    """A 200 stream that echoes the key after some text: as an ``{"error": …}`` event
    (``kind="error"``), inside a malformed event (``"malformed"``), or as a line that is not
    SSE at all (``"stray"``, with no event before it)."""

    def reply(conn: Conn, request: Request) -> None:
        f = _echo_fields(request)
        conn.head(200)
        if kind == "stray":
            conn.chunk(f'{{"error": {{"message": "bad key {f["key"]} ({f["auth"]})"}}}}\n'.encode())
        else:
            conn.chunk(delta("Some text before the echo. "))
            if kind == "error":
                conn.chunk(event({"error": {"message": f"key {f['key']} was revoked; header {f['auth']}"}}))
            else:
                conn.chunk(f'data: {{"key": "{f["key"]}", broken\n\n'.encode())
        conn.end()

    return reply


def stream(items: Iterable[bytes | float], then: str = "end", *, headers: dict[str, str] | None = None,
           burst: bool = False) -> Behaviour:
    """A 200 event stream: each ``bytes`` item one chunk in its own TCP write, a ``float`` a pause.
    ``burst``: every chunk frame in one ``sendall`` instead. ``then``: ``"end"`` ends the body,
    ``"cut"`` drops the connection mid-body, ``"stall"`` sends nothing more."""
    items = list(items)

    def reply(conn: Conn, request: Request) -> None:
        conn.head(200, headers)
        if burst:
            conn.send(b"".join(chunk_frame(i) for i in items if isinstance(i, bytes) and i))
        else:
            for item in items:
                if isinstance(item, (int, float)):
                    if conn.pause(item):
                        return
                else:
                    conn.chunk(item)
        if then == "end":
            conn.end()
        elif then == "cut":
            conn.cut()
        else:
            conn.wait_until_gone()

    return reply


def ok_stream(text: str, *, pieces: int = 4, gate: threading.Event | None = None) -> Behaviour:
    """A healthy answer. With ``gate``: the first piece, then the rest only once ``gate`` is
    set (or a generous hang guard passed) — a stream still running while another pane fails."""
    size = max(1, -(-len(text) // pieces))
    parts = [text[i:i + size] for i in range(0, len(text), size)]
    events = answer_events(parts)

    def reply(conn: Conn, request: Request) -> None:
        conn.head(200)
        conn.chunk(events[0])
        conn.chunk(events[1])
        if gate is not None:
            gate.wait(60)
        for item in events[2:]:
            conn.chunk(item)
        conn.end()

    return reply


def split_bytes(data: bytes, size: int = 1) -> list[bytes]:
    """``data`` in pieces of ``size`` bytes (1: every multibyte character is cut)."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def close_at_once() -> Behaviour:
    """Read the request, then close the connection without a byte of answer."""

    def reply(conn: Conn, request: Request) -> None:
        conn.cut()

    return reply


def hang() -> Behaviour:
    """Read the request, then send nothing at all (not even headers)."""

    def reply(conn: Conn, request: Request) -> None:
        conn.wait_until_gone()

    return reply


# --- the server ------------------------------------------------------------------------------


class FaultyServer:
    """Serves ``script`` on a free 127.0.0.1 port from a thread; ``stop()`` releases stalls."""

    def __init__(self, script: dict[str, Behaviour | list[Behaviour]] | None = None) -> None:
        self.script: dict[str, Behaviour | list[Behaviour]] = dict(script or {})
        self.requests: list[Request] = []
        #: set after a reply to a request for a model in ``gate_models`` has been written
        self.served = threading.Event()
        self.gate_models: set[str] = set()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def count(self, model: str) -> int:
        """Requests received for ``model``."""
        with self._lock:
            return sum(1 for r in self.requests if r.model == model)

    def start(self) -> FaultyServer:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        server.handle_error = lambda request, address: None  # a client that left is no failure
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="faulty-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.served.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FaultyServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = _read_request(sock)
        if request is None:
            return
        with self._lock:
            self.requests.append(request)
        behaviour = self._behaviour_for(request)
        conn = Conn(sock, self._stopping)
        try:
            behaviour(conn, request)
        except OSError:
            pass  # the client went away (what several behaviours provoke)
        finally:
            if request.model in self.gate_models:
                self.served.set()
            try:
                sock.close()
            except OSError:
                pass

    def _behaviour_for(self, request: Request) -> Behaviour:
        if not request.path.rstrip("/").endswith("/chat/completions"):
            return status(404, f"no route {request.path}")
        model = request.model or ""
        entry = self.script.get(model)
        if entry is None:
            return status(404, f"The model `{model}` does not exist")
        if isinstance(entry, list):
            with self._lock:
                n = self._counts.get(model, 0)
                self._counts[model] = n + 1
            return entry[min(n, len(entry) - 1)]
        return entry


def _read_request(sock: socket.socket) -> Request | None:
    """One HTTP/1.1 request with a Content-Length body (what httpx sends for JSON)."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            piece = sock.recv(65536)
        except OSError:
            return None
        if not piece:
            return None
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        try:
            piece = sock.recv(65536)
        except OSError:
            return None
        if not piece:
            return None
        rest += piece
    return Request(method, path, headers, rest[:length])


def refused_url() -> str:
    """A base_url on a 127.0.0.1 port where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


#: A host that never resolves (RFC 6761 reserves .invalid), so no request leaves this machine.
UNKNOWN_HOST_URL = "http://workbench-fault-test.invalid/v1"
