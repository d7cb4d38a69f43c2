"""A small OpenAI chat-completions server that streams synthetic Markdown at a set rate.

Used by ``stream_bench.py``; also runs on its own::

    python benchmarks/stream_server.py --tokens 4000 --rate 200 --doc prose
    # prints {"port": ..., "base_url": "http://127.0.0.1:PORT/v1"} and serves until killed

Every ``POST …/chat/completions`` gets a real HTTP/1.1 chunked ``text/event-stream``:
a role chunk, one ``chat.completion.chunk`` per token (``data: {json}\\n\\n``, with the
``model`` field), a finish chunk, a usage chunk with ``choices: []``, then ``data: [DONE]``.

Pacing is by wall clock: every tick (5 ms by default) the handler sends, in one write, all
tokens that are due by then (``floor(elapsed × rate) + 1``), so the stream keeps its rate even
when a tick runs late, and the batching looks like a real provider's (several events per TCP
segment at high rates, one at low rates).

The text is deterministic: the seed comes from the request's ``model`` (``bench-3`` → seed 3,
anything else → CRC-32 of the name), so the checker can call ``make_tokens`` and know the
expected answer. The server is asyncio in its own process, so it never shares an event loop
(or the GIL) with the app being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import time
import zlib
from functools import lru_cache
from pathlib import Path

DOCS = ("prose", "fence")

WORDS = (
    "the model streams tokens into a pane while the terminal renders markdown output quickly "
    "and smoothly with careful batching of updates so that the event loop stays responsive even "
    "when several providers answer at once latency throughput render compositor widget layout "
    "refresh cursor scroll python async await queue buffer chunk paragraph heading list code "
    "fence request response client server cache index value error retry timeout budget"
).split()

# Code the generator draws from; NAME is replaced so repeated snippets differ.
SNIPPETS = [
    [
        "def NAME(items: list[int], limit: int = 10) -> list[int]:",
        '    """Return the largest values, at most ``limit`` of them."""',
        "    if limit <= 0:",
        "        raise ValueError(f\"limit must be positive, got {limit}\")",
        "    ordered = sorted(items, reverse=True)",
        "    return ordered[:limit]",
    ],
    [
        "class NAMECache:",
        '    """A tiny LRU cache keyed by string."""',
        "",
        "    def __init__(self, size: int = 128) -> None:",
        "        self.size = size",
        "        self._data: OrderedDict[str, bytes] = OrderedDict()",
        "",
        "    def get(self, key: str) -> bytes | None:",
        "        value = self._data.pop(key, None)",
        "        if value is not None:",
        "            self._data[key] = value  # most recently used goes last",
        "        return value",
    ],
    [
        "async def NAME(client: httpx.AsyncClient, url: str) -> dict:",
        "    for attempt in range(3):",
        "        try:",
        "            response = await client.get(url, timeout=10.0)",
        "            response.raise_for_status()",
        "            return response.json()",
        "        except httpx.TransportError:",
        "            await asyncio.sleep(0.5 * 2 ** attempt)",
        '    raise RuntimeError(f"{url}: no answer after 3 attempts")',
    ],
    [
        "def NAME(path: Path) -> Iterator[tuple[int, str]]:",
        '    with path.open(encoding="utf-8") as handle:',
        "        for number, line in enumerate(handle, start=1):",
        '            if line.strip() and not line.startswith("#"):',
        "                yield number, line.rstrip()",
    ],
]
SHELL = ["python -m venv .venv", ". .venv/bin/activate", "pip install -e '.[dev]'", "pytest -q"]


def _sentence(rnd: random.Random, low: int, high: int) -> str:
    words = [rnd.choice(WORDS) for _ in range(rnd.randint(low, high))]
    # inline markup, as models use it: some bold, some code spans
    if len(words) > 6:
        i = rnd.randrange(len(words))
        words[i] = f"**{words[i]}**"
        j = rnd.randrange(len(words))
        if j != i:
            words[j] = f"`{words[j]}()`"
    return " ".join(words).capitalize() + "."


def _snippet(rnd: random.Random, counter: int) -> list[str]:
    name = f"{rnd.choice(WORDS)}_{rnd.choice(WORDS)}_{counter}"
    return [line.replace("NAME", name) for line in rnd.choice(SNIPPETS)]


def _prose(n_chars: int, rnd: random.Random) -> str:
    """Sections of headings, paragraphs, bullet and numbered lists, short fences, a table."""
    parts: list[str] = [_sentence(rnd, 12, 24) + "\n\n"]
    total, section = len(parts[0]), 0
    while total < n_chars:
        section += 1
        level = "##" if section % 3 else "###"
        block = [f"{level} {section}. {rnd.choice(WORDS).title()} and {rnd.choice(WORDS)}\n\n"]
        for _ in range(rnd.randint(1, 2)):
            block.append(" ".join(_sentence(rnd, 8, 22) for _ in range(rnd.randint(2, 4))) + "\n\n")
        marker = rnd.choice(("- ", "* ", "1. "))
        for k in range(rnd.randint(3, 6)):
            bullet = f"{k + 1}. " if marker == "1. " else marker
            block.append(bullet + _sentence(rnd, 4, 14) + "\n")
        block.append("\n")
        kind = section % 4
        if kind in (0, 1):
            block.append("```python\n" + "\n".join(_snippet(rnd, section)) + "\n```\n\n")
        elif kind == 2:
            block.append("```bash\n" + "\n".join(SHELL[: rnd.randint(2, 4)]) + "\n```\n\n")
        else:
            block.append("| option | default | effect |\n|---|---|---|\n")
            for _ in range(rnd.randint(2, 4)):
                block.append(f"| `{rnd.choice(WORDS)}` | {rnd.randint(1, 500)} | {_sentence(rnd, 3, 6)} |\n")
            block.append("\n")
        if rnd.random() < 0.3:
            block.append("> " + _sentence(rnd, 10, 20) + "\n\n")
        text = "".join(block)
        parts.append(text)
        total += len(text)
    return "".join(parts)


def _fence(n_chars: int, rnd: random.Random) -> str:
    """What a coding model sends: one line of intro, then one long Python fence."""
    lines = ["Here is the complete implementation:", "", "```python",
             "from __future__ import annotations", "", "import asyncio", "import httpx", ""]
    total, counter = sum(len(line) + 1 for line in lines), 0
    while total < n_chars:
        counter += 1
        for line in _snippet(rnd, counter) + [""]:
            lines.append(line)
            total += len(line) + 1
    return "\n".join(lines)


_TOKEN_RE = re.compile(r"\s?[A-Za-z]{1,6}|\s?[0-9]{1,3}|\s+|[^\sA-Za-z0-9]{1,3}")


def tokenize(text: str) -> list[str]:
    """Split text into LLM-sized pieces (about 4 characters each, like a BPE tokenizer)."""
    tokens = _TOKEN_RE.findall(text)
    assert "".join(tokens) == text
    return tokens


def _fence_open(text: str) -> bool:
    return sum(1 for line in text.split("\n") if line.lstrip().startswith("```")) % 2 == 1


def final_sentence(seed: int, n_tokens: int) -> str:
    """The last paragraph of every answer (the checker looks for it on screen)."""
    return f"End of answer {seed}: all {n_tokens} tokens were sent."


@lru_cache(maxsize=64)
def make_tokens(doc: str, n_tokens: int, seed: int) -> tuple[str, ...]:
    """Exactly ``n_tokens`` tokens of ``doc`` Markdown; any open fence is closed before the end."""
    if doc not in DOCS:
        raise ValueError(f"doc must be one of {DOCS}")
    rnd = random.Random(f"{doc}:{seed}")
    body = tokenize((_prose if doc == "prose" else _fence)(n_tokens * 6, rnd))
    final = tokenize("\n\n" + final_sentence(seed, n_tokens))
    closer = tokenize("\n```")
    if n_tokens < len(final) + len(closer) + 1:
        return tuple(tokenize(" ".join(["word"] * n_tokens))[:n_tokens])
    cut = body[: n_tokens - len(final)]
    if not _fence_open("".join(cut)):
        return tuple(cut + final)
    cut = body[: n_tokens - len(final) - len(closer)]
    if _fence_open("".join(cut)):
        return tuple(cut + closer + final)
    # Trimming removed the fence's opening line: pad with words instead of re-opening a fence.
    return tuple(cut + [" and"] * len(closer) + final)


def expected_text(doc: str, n_tokens: int, seed: int) -> str:
    """The answer a request for model seed ``seed`` streams."""
    return "".join(make_tokens(doc, n_tokens, seed))


def seed_for_model(model: str) -> int:
    """``bench-3`` → 3; any other name → a stable CRC-32."""
    match = re.fullmatch(r"bench-(\d+)", model or "")
    return int(match.group(1)) if match else zlib.crc32((model or "").encode())


def _event(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    return _event({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1727346168,
                   "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


@lru_cache(maxsize=64)
def _events(doc: str, n_tokens: int, seed: int, model: str) -> tuple[bytes, ...]:
    # Encoded once per answer, before pacing starts, so JSON work never delays a tick.
    return tuple(_chunk(model, {"content": tok}) for tok in make_tokens(doc, n_tokens, seed))


class BenchServer:
    """asyncio HTTP/1.1 server: keep-alive, chunked SSE responses, wall-clock pacing."""

    def __init__(self, tokens: int, rate: float, doc: str, tick_s: float = 0.005) -> None:
        self.tokens, self.rate, self.doc, self.tick_s = tokens, rate, doc, tick_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                if method == "POST" and path.rstrip("/").endswith("/chat/completions"):
                    await self._stream(writer, body)
                elif method == "GET" and path == "/health":
                    self._plain(writer, 200, b"ok")
                else:
                    self._plain(writer, 404, b'{"error":{"message":"not found"}}')
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _plain(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def _stream(self, writer: asyncio.StreamWriter, body: bytes) -> None:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        model = str(payload.get("model") or "bench-0")
        events = _events(self.doc, self.tokens, seed_for_model(model), model)
        prompt = "".join(str(m.get("content", "")) for m in payload.get("messages") or [] if isinstance(m, dict))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")
        self._send(writer, _chunk(model, {"role": "assistant", "content": ""}))
        await writer.drain()
        n, sent, t0 = len(events), 0, time.perf_counter()
        while sent < n:
            due = min(n, int((time.perf_counter() - t0) * self.rate) + 1)
            if due > sent:
                # everything due goes out in one write: a late tick catches up, it never slows the rate
                self._send(writer, b"".join(events[sent:due]))
                sent = due
                await writer.drain()
            if sent < n:
                # one tick, or longer when the next token is due later (slow rates wake less)
                next_due = sent / self.rate - (time.perf_counter() - t0)
                await asyncio.sleep(max(self.tick_s, next_due))
        usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": n, "total_tokens": max(1, len(prompt) // 4) + n}
        tail = (_chunk(model, {}, "stop")
                + _event({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1727346168,
                          "model": model, "choices": [], "usage": usage})
                + b"data: [DONE]\n\n")
        self._send(writer, tail)
        writer.write(b"0\r\n\r\n")

    async def serve(self, port: int = 0, prebuild: int = 0, ready=None) -> None:
        """Bind 127.0.0.1:port (0 = a free port), call ``ready(port)``, serve forever."""
        for seed in range(prebuild):
            _events(self.doc, self.tokens, seed, f"bench-{seed}")
        server = await asyncio.start_server(self.handle, "127.0.0.1", port)
        bound = server.sockets[0].getsockname()[1]
        if ready is not None:
            ready(bound)
        async with server:
            await server.serve_forever()


def start_server_process(tokens: int, rate: float, doc: str, *, tick_ms: float = 5.0,
                         prebuild: int = 0) -> tuple[subprocess.Popen, str]:
    """Start the server in a child interpreter; return (process, base_url). Kill it when done."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--tokens", str(tokens), "--rate", str(rate),
         "--doc", doc, "--tick-ms", str(tick_ms), "--prebuild", str(prebuild)],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    try:
        info = json.loads(line)
    except ValueError:
        proc.kill()
        raise RuntimeError(f"the stream server did not start (said {line!r})") from None
    return proc, info["base_url"]


def main(argv: list[str] | None = None) -> None:
    """Command line: serve until killed; the first stdout line is JSON with the port."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=4000, help="tokens per answer")
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second per stream")
    parser.add_argument("--doc", choices=DOCS, default="prose")
    parser.add_argument("--tick-ms", type=float, default=5.0, help="pacing tick (ms)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prebuild", type=int, default=0, help="encode answers for bench-0..N-1 at start")
    args = parser.parse_args(argv)
    server = BenchServer(args.tokens, args.rate, args.doc, args.tick_ms / 1000)

    def ready(port: int) -> None:
        print(json.dumps({"port": port, "base_url": f"http://127.0.0.1:{port}/v1"}), flush=True)

    try:
        asyncio.run(server.serve(args.port, args.prebuild, ready))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
