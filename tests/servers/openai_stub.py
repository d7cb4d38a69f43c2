"""A scriptable OpenAI chat-completions server: real sockets, real HTTP/1.1, on 127.0.0.1.

Tests (and the UI tests and the benchmark) stream from it instead of a mock transport, so
chunk boundaries, pauses, stalls and dropped connections are the network's, not a fake's.

    base_url, stop = start_stub(SSE(completion("Hello!")))
    ...                                   # point a provider's base_url at base_url
    stop()

or, keeping the recorded requests::

    with StubServer(script) as stub:
        stub.base_url, stub.requests, stub.script = ...

The same server speaks the other dialects' routes (its replies are raw bytes, so the dialect
is in the script)::

    StubServer(script, routes=("/messages",))                                   # Anthropic
    StubServer(script, routes=(":streamGenerateContent",), base_path="/v1beta")  # Gemini
    StubServer(script, routes=("/api/chat",), base_path="")                     # Ollama

A POST whose path (query string aside) ends in none of ``routes`` gets ``not_found(path)``
(by default an OpenAI-shaped 404), so a wrong base_url fails as it would in real life.

A *script* says what each routed POST gets:

* one reply (``SSE``, ``Status``, ``Hang``) for every request;
* a list of replies, used in order (the last one repeats once the list is used up);
* a dict ``{model: reply or list}`` keyed by the request body's ``"model"``;
* a callable ``(Recorded) -> reply``.

An ``SSE`` reply streams its items as HTTP chunks: ``bytes`` are sent as they are (so an item
may end mid-line or mid-character), a ``float`` pauses that many seconds. Then, by ``then``:
``"end"`` closes the body properly, ``"stall"`` sends nothing more until the client leaves or
the server stops, ``"cut"`` drops the connection without ending the chunked body.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DONE = b"data: [DONE]\n\n"
DEFAULT_MODEL = "stub-model"
# How long a test waits for a request that an event should announce: a backstop against a hung
# run, not a limit a slow machine comes near.
WAIT_GUARD_S = 120.0


# --- replies -------------------------------------------------------------------------------


@dataclass
class SSE:
    """A 200 (or ``status``) event stream made of raw byte items and pauses."""

    items: list[bytes | float] = field(default_factory=list)
    then: str = "end"  # "end" | "stall" | "cut"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream"


@dataclass
class Status:
    """A whole (non-streamed) response: a status, a body and headers."""

    status: int
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


@dataclass
class Hang:
    """Read the request, then never answer (not even headers)."""


Reply = SSE | Status | Hang


def stall(items: Iterable[bytes | float] = ()) -> SSE:
    """Headers and ``items``, then silence: a read stall."""
    return SSE(list(items), then="stall")


def cut(items: Iterable[bytes | float] = ()) -> SSE:
    """Headers and ``items``, then the connection drops mid-body."""
    return SSE(list(items), then="cut")


def error_status(status: int, message: str, *, headers: dict[str, str] | None = None, type_: str = "error") -> Status:
    """An OpenAI-shaped JSON error response."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": None}}
    return Status(status, body, headers=headers or {})


# --- chunk builders ------------------------------------------------------------------------


def event(obj: Any) -> bytes:
    """One ``data:`` event (JSON-encoded unless ``obj`` is already a str) and its blank line."""
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def chunk(
    content: str | None = None,
    *,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    finish: str | None = None,
    model: str = DEFAULT_MODEL,
    role: str | None = None,
    usage: dict | None = None,
) -> bytes:
    """A ``chat.completion.chunk`` event with one choice."""
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta[reasoning_field] = reasoning
    obj: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 1727346168,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        obj["usage"] = usage
    return event(obj)


def usage_chunk(prompt_tokens: int, completion_tokens: int, *, model: str = DEFAULT_MODEL, **extra: Any) -> bytes:
    """The final ``choices: []`` chunk carrying usage (``extra`` merges into ``usage``)."""
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens, **extra}
    return event({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1727346168,
                  "model": model, "choices": [], "usage": usage})


def completion(
    text: str,
    *,
    model: str = DEFAULT_MODEL,
    pieces: int | None = None,
    reasoning: str | None = None,
    prompt_tokens: int | None = 11,
    completion_tokens: int | None = None,
    done: bool = True,
    finish: str = "stop",
) -> list[bytes]:
    """The items of a normal stream: role chunk, text pieces, finish chunk, usage, ``[DONE]``.

    ``pieces`` splits the text into that many deltas (default: one per word-ish piece);
    ``prompt_tokens=None`` leaves the usage chunk out; ``finish`` is the finish chunk's
    ``finish_reason`` (``"length"``: an answer cut off at max tokens).
    """
    items = [chunk("", role="assistant", model=model)]
    if reasoning:
        items.append(chunk(reasoning=reasoning, model=model))
    if pieces is None:
        parts = [p for p in text.split(" ")]
        parts = [p + " " for p in parts[:-1]] + parts[-1:]
    else:
        size = max(1, -(-len(text) // pieces))
        parts = [text[i:i + size] for i in range(0, len(text), size)]
    items += [chunk(p, model=model) for p in parts if p]
    items.append(chunk(finish=finish, model=model))
    if prompt_tokens is not None:
        out = completion_tokens if completion_tokens is not None else max(1, len(text) // 4)
        items.append(usage_chunk(prompt_tokens, out, model=model))
    if done:
        items.append(DONE)
    return items


# --- the server ----------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON (None if it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def _openai_not_found(path: str) -> Reply:
    return error_status(404, f"no route {path}")


class StubServer:
    """The server; ``start()`` binds a free port on 127.0.0.1 and serves from a thread.

    ``routes``: the POST path endings the script answers; ``base_path``: what ``base_url``
    adds after the host; ``not_found``: the reply to any other POST, given its path.
    """

    def __init__(
        self,
        script: Any = None,
        *,
        routes: Iterable[str] = ("/chat/completions",),
        base_path: str = "/v1",
        not_found: Callable[[str], Reply] = _openai_not_found,
    ) -> None:
        self.script: Any = script if script is not None else SSE(completion("Hello from the stub."))
        self.routes = tuple(routes)
        self.base_path = base_path
        self.not_found = not_found
        self.requests: list[Recorded] = []
        self._counters: dict[Any, int] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified as each request is recorded
        self._stopping = threading.Event()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the stub is not started"
        return self._httpd.server_address[1]

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``, no path."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What a provider's ``base_url`` should be (the root and ``base_path``, e.g. ``…/v1``)."""
        return self.root + self.base_path

    def routed(self, path: str) -> bool:
        """Whether a POST to ``path`` is answered by the script."""
        route = path.partition("?")[0].rstrip("/")
        return route.endswith(self.routes)

    def wait_for_requests(self, count: int = 1, *, unless: Callable[[], bool] | None = None,
                          guard: float = WAIT_GUARD_S) -> bool:
        """Block until ``count`` requests have arrived (True), or until ``unless()`` holds when
        checked: on each request and on each ``wake()`` (False). No polling."""
        def done() -> bool:
            return len(self.requests) >= count or (unless is not None and unless())
        with self._arrived:
            self._arrived.wait_for(done, timeout=guard)
            return len(self.requests) >= count

    def wake(self) -> None:
        """Make ``wait_for_requests`` check its ``unless`` again (e.g. a client thread ended)."""
        with self._arrived:
            self._arrived.notify_all()

    def start(self) -> StubServer:
        """Bind and serve in a daemon thread."""
        handler = type("_BoundHandler", (_Handler,), {"stub": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled handlers are released."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StubServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply_for(self, request: Recorded) -> Reply:
        """The reply the script gives this request."""
        script = self.script
        key: Any = None
        if isinstance(script, dict):
            model = (request.json or {}).get("model") if isinstance(request.json, dict) else None
            if model not in script:
                return error_status(404, f"The model `{model}` does not exist", type_="invalid_request_error")
            key, script = model, script[model]
        if callable(script) and not isinstance(script, (SSE, Status, Hang)):
            return script(request)
        if isinstance(script, list):
            with self._lock:
                n = self._counters.get(key, 0)
                self._counters[key] = n + 1
            return script[min(n, len(script) - 1)]
        return script


def start_stub(script: Any = None) -> tuple[str, Callable[[], None]]:
    """Start a stub server; returns ``(base_url, stop)``."""
    server = StubServer(script).start()
    return server.base_url, server.stop


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that resets an idle keep-alive connection is normal here, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub: StubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._whole(Status(200, {"object": "list", "data": [{"id": DEFAULT_MODEL, "object": "model"}]}))
        else:
            self._whole(error_status(404, f"no route {self.path}"))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.stub._arrived:
            self.stub.requests.append(recorded)
            self.stub._arrived.notify_all()
        routed = self.stub.routed(self.path)
        reply = self.stub.reply_for(recorded) if routed else self.stub.not_found(self.path.partition("?")[0])
        try:
            if isinstance(reply, Hang):
                self._wait_until_gone()
                self.close_connection = True
            elif isinstance(reply, Status):
                self._whole(reply)
            else:
                self._stream(reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client left; nothing to tell it

    def _whole(self, reply: Status) -> None:
        body = reply.body
        content_type = reply.content_type
        if isinstance(body, (dict, list)):
            body, content_type = json.dumps(body).encode(), content_type or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type or "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, reply: SSE) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for item in reply.items:
            if isinstance(item, (int, float)):
                if self.stub._stopping.wait(item):
                    return
                continue
            if item:
                self.wfile.write(f"{len(item):x}\r\n".encode() + item + b"\r\n")
        if reply.then == "stall":
            self._wait_until_gone()
            self.close_connection = True
        elif reply.then == "cut":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _wait_until_gone(self) -> None:
        """Block until the client closes the connection or the server stops."""
        while not self.stub._stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return
