"""One prompt, four API dialects at once (issue 5's "done when"): an OpenAI-style, an
Anthropic-style, a Gemini-style and an Ollama-style local server, each a stub on 127.0.0.1
speaking its own wire format byte for byte, stream into four panes with exact meters; a fifth
pane pointed at a port where nothing listens fails with a short message while the four finish.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from servers.anthropic_fixtures import AnthropicStub, message
from servers.openai_stub import SSE, Status, StubServer, completion
from ui.helpers import pane_texts, send, wait_round
from workbench.catalog import format_usd, resolve_models
from workbench.config import load_settings
from workbench.ui.app import WorkbenchApp

ANT_KEY = "sk-ant-four-dialects-0123456789"
GEMINI_KEY = "AIzaFourDialects-0123456789abcdef"


@dataclass(frozen=True)
class Dialect:
    """One provider of the round: its stub, the usage that stub reports, and the model's prices."""

    kind: str
    stub: StubServer
    answer: str
    input_tokens: int
    output_tokens: int
    input_per_m: Decimal
    output_per_m: Decimal

    @property
    def model_id(self) -> str:
        return f"{self.kind}-model"

    @property
    def cost(self) -> Decimal:
        """What the meter must show: the reported tokens at the configured prices."""
        return (self.input_tokens * self.input_per_m + self.output_tokens * self.output_per_m) / 10**6


def gemini_stream(text: str, prompt_tokens: int, output_tokens: int) -> list[bytes]:
    """Gemini's `alt=sse` stream: two chunks, usage and finishReason on the last, no [DONE]."""
    def chunk(part: str, **extra) -> bytes:
        candidate = {"content": {"parts": [{"text": part}], "role": "model"}, **extra}
        obj = {"candidates": [candidate], "modelVersion": "gemini-model"}
        if extra:
            obj["usageMetadata"] = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": output_tokens,
                                    "totalTokenCount": prompt_tokens + output_tokens}
        return b"data: " + json.dumps(obj, separators=(",", ": ")).encode() + b"\r\n\r\n"

    head, _, tail = text.partition(" ")
    return [chunk(head + " "), chunk(tail, finishReason="STOP")]


def ollama_stream(text: str, prompt_tokens: int, output_tokens: int) -> list[bytes]:
    """Ollama's NDJSON: one line per piece, then `done: true` with the counts."""
    head, _, tail = text.partition(" ")
    lines = [{"model": "ollama-model", "message": {"role": "assistant", "content": piece}, "done": False}
             for piece in (head + " ", tail)]
    lines.append({"model": "ollama-model", "message": {"role": "assistant", "content": ""}, "done": True,
                  "done_reason": "stop", "prompt_eval_count": prompt_tokens, "eval_count": output_tokens})
    return [json.dumps(line).encode() + b"\n" for line in lines]


@pytest.fixture
def dialects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Dialect]]:
    """The four stubs, started, each scripted with a normal answer in its own dialect."""
    monkeypatch.setenv("FOUR_ANT_KEY", ANT_KEY)
    monkeypatch.setenv("FOUR_GEMINI_KEY", GEMINI_KEY)
    with ExitStack() as stack:
        def start(stub: StubServer) -> StubServer:
            return stack.enter_context(stub)

        yield [
            Dialect("openai", start(StubServer(SSE(completion("OpenAI says hi.", model="openai-model",
                                                               prompt_tokens=12, completion_tokens=5)))),
                    "OpenAI says hi.", 12, 5, Decimal("1"), Decimal("2")),
            Dialect("anthropic", start(AnthropicStub(SSE(message("Claude says hi.", model="anthropic-model",
                                                                 input_tokens=14, output_tokens=6)))),
                    "Claude says hi.", 14, 6, Decimal("3"), Decimal("15")),
            Dialect("gemini", start(StubServer(SSE(gemini_stream("Gemini says hi.", 9, 4)),
                                               routes=(":streamGenerateContent",), base_path="/v1beta")),
                    "Gemini says hi.", 9, 4, Decimal("1.25"), Decimal("10")),
            Dialect("ollama", start(StubServer(SSE(ollama_stream("Llama says hi.", 21, 7),
                                                   content_type="application/x-ndjson"),
                                               routes=("/api/chat",), base_path="",
                                               not_found=lambda path: Status(404, "404 page not found"))),
                    "Llama says hi.", 21, 7, Decimal("0.5"), Decimal("1")),
        ]


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_app(home: Path, dialects: list[Dialect], dead_port: int | None = None) -> WorkbenchApp:
    """An app whose config has one provider per dialect (and one at ``dead_port``), as a user writes it."""
    keys = {"anthropic": "FOUR_ANT_KEY", "gemini": "FOUR_GEMINI_KEY"}
    text = ""
    for d in dialects:
        text += f'[providers.local_{d.kind}]\nkind = "{d.kind}"\nbase_url = "{d.stub.base_url}"\n'
        if d.kind in keys:
            text += f'api_key_env = "{keys[d.kind]}"\n'
        text += "\n"
    ids = [d.model_id for d in dialects]
    for d in dialects:
        text += (f'[[models]]\nid = "{d.model_id}"\nprovider = "local_{d.kind}"\nmodel = "{d.model_id}"\n'
                 f"input_per_m = {d.input_per_m}\noutput_per_m = {d.output_per_m}\n\n")
    if dead_port is not None:
        text += (f'[providers.nowhere]\nkind = "openai"\nbase_url = "http://127.0.0.1:{dead_port}/v1"\n\n'
                 '[[models]]\nid = "nowhere-model"\nprovider = "nowhere"\ninput_per_m = 1\noutput_per_m = 1\n')
        ids.append("nowhere-model")
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    settings = load_settings(path)
    return WorkbenchApp(settings, resolve_models(settings, ids), store_path=home / "data" / "test.sqlite3")


def assert_exact_and_priced(app: WorkbenchApp, dialects: list[Dialect]) -> None:
    panes = {p.model.id: p for p in app.screen.grid.panes}
    texts = pane_texts(app)
    for d in dialects:
        pane = panes[d.model_id]
        assert pane.status == "ok", (d.kind, texts[d.model_id])
        assert d.answer in texts[d.model_id], d.kind
        reading = pane.result.reading()
        assert reading.exact, d.kind
        assert (reading.input_tokens, reading.output_tokens) == (d.input_tokens, d.output_tokens), d.kind
        assert reading.cost.total_usd == d.cost, d.kind
        summary = pane.meter.summary
        assert "exact" in summary and format_usd(d.cost) in summary, (d.kind, summary)
        assert len(d.stub.requests) == 1, d.kind  # one try each: nothing was retried


async def test_one_prompt_streams_into_four_dialects_with_exact_meters(isolated_home: Path, dialects) -> None:
    app = make_app(isolated_home, dialects)
    async with app.run_test(size=(200, 50)) as pilot:
        await send(pilot, "Say hi")
        await wait_round(pilot)
        assert_exact_and_priced(app, dialects)
    openai, anthropic, gemini, ollama = (d.stub.requests[0] for d in dialects)
    assert openai.path == "/v1/chat/completions" and openai.json["messages"][-1]["content"] == "Say hi"
    assert anthropic.path == "/v1/messages" and anthropic.headers["x-api-key"] == ANT_KEY
    assert gemini.path == "/v1beta/models/gemini-model:streamGenerateContent?alt=sse"
    assert gemini.headers["x-goog-api-key"] == GEMINI_KEY
    assert ollama.path == "/api/chat" and ollama.json["model"] == "ollama-model"


async def test_a_pane_at_a_dead_port_fails_briefly_while_the_four_finish(isolated_home: Path, dialects) -> None:
    app = make_app(isolated_home, dialects, dead_port=free_port())
    async with app.run_test(size=(200, 50)) as pilot:
        await send(pilot, "Say hi")
        await wait_round(pilot)
        assert_exact_and_priced(app, dialects)
        dead = next(p for p in app.screen.grid.panes if p.model.id == "nowhere-model")
        assert dead.status == "error"
        assert dead.result.error.kind == "connect"
        assert dead.result.error.message == "connection refused (is the server running?)"
        assert dead.result.retries == 2  # the policy's two retries (instant here), then the message
        shown = " ".join(pane_texts(app)["nowhere-model"].split())  # as wrapped to the pane's width
        assert shown == "Failed: connection refused (is the server running?)"
