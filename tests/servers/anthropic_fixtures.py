"""Anthropic Messages streams for the tests: captured payloads, builders, and a local server.

The captured streams are the SDK's own test fixtures byte for byte (PROTOCOLS.md §2 quotes
them); ``recorded()`` turns a recording kept one JSON event per line (vercel/ai's
``*.chunks.txt``) back into the event stream it was read from. The server is
the OpenAI stub (``openai_stub.py``: real sockets, chunked HTTP/1.1, pauses, stalls, cuts)
routed at ``POST …/messages`` instead of ``…/chat/completions``; its scripts are the same
``SSE``/``Status``/``Hang`` replies, here carrying Anthropic's raw event-stream bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from servers.openai_stub import SSE, Status, StubServer

# anthropic-sdk-python tests/lib/streaming/fixtures/basic_response.txt, verbatim: note that it
# ends without a blank line (nor a newline) after the last `data:` line.
BASIC_RESPONSE = b"""event: message_start
data: {"type":"message_start","message":{"id":"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK","type":"message","role":"assistant","content":[],"model":"claude-3-opus-latest","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}

event: message_stop
data: {"type":"message_stop"}"""

# anthropic-sdk-python (009b0353) tests/fixtures/fable-fallback/stream-a-refusal.sse, verbatim:
# trailing spaces inside data lines, a thinking block with a signature_delta, a text block,
# then stop_reason "refusal" with stop_details that name no category, and usage repeated in
# message_delta (with an `iterations` list).
SDK_REFUSAL_AFTER_THINKING = (
    b'event: message_start\n'
    b'data: {"type":"message_start","message":{"model":"claude-fable-5","id":"msg_fixture_a_0001","typ'
    b'e":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"stop_detai'
    b'ls":null,"usage":{"input_tokens":28,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,'
    b'"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":5'
    b',"service_tier":"standard","inference_geo":"global"}}               }\n'
    b'\n'
    b'event: content_block_start\n'
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","'
    b'signature":""}  }\n'
    b'\n'
    b'event: ping\n'
    b'data: {"type": "ping"}\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Simpl'
    b'e educ"}             }\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"ation'
    b'al question about what a solar eclipse is. This is benign general knowledge \xe2\x80\x94 definitions are '
    b'fine. Also the user called"}          }\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" me \\'
    b'"claudius\\" \xe2\x80\x94 I\'m Claude. Minor correction or just roll with it politely."}          }\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":""}   '
    b'            }\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"c3l'
    b'udGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU="} }\n'
    b'\n'
    b'event: content_block_stop\n'
    b'data: {"type":"content_block_stop","index":0  }\n'
    b'\n'
    b'event: content_block_start\n'
    b'data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}\n'
    b'\n'
    b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"} }\n'
    b'\n'
    b'event: content_block_stop\n'
    b'data: {"type":"content_block_stop","index":1      }\n'
    b'\n'
    b'event: message_delta\n'
    b'data: {"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_detail'
    b's":{"type":"refusal","category":null,"explanation":null,"fallback_credit_token":"tok_synthetic_f'
    b'ixture_a","fallback_has_prefill_claim":true}},"usage":{"input_tokens":28,"cache_creation_input_t'
    b'okens":0,"cache_read_input_tokens":0,"output_tokens":106,"output_tokens_details":{"thinking_toke'
    b'ns":67},"iterations":[{"input_tokens":28,"output_tokens":106,"cache_read_input_tokens":0,"cache_'
    b'creation_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tok'
    b'ens":0},"type":"message"}]}    }\n'
    b'\n'
    b'event: message_stop\n'
    b'data: {"type":"message_stop"      }\n'
    b'\n'
)

# anthropic-sdk-python (009b0353) tests/lib/streaming/fixtures/refusal_response.txt, verbatim: a
# refusal before any text, with stop_details' category and explanation.
SDK_REFUSAL = (
    b'event: message_start\n'
    b'data: {"type":"message_start","message":{"id":"msg_01RefusalTestMessage123456789","type":"messag'
    b'e","role":"assistant","content":[],"model":"claude-opus-4-7","stop_reason":null,"stop_sequence":'
    b'null,"usage":{"input_tokens":20,"output_tokens":1}}}\n'
    b'\n'
    b'event: content_block_start\n'
    b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n'
    b'\n'
    b'event: content_block_stop\n'
    b'data: {"type":"content_block_stop","index":0}\n'
    b'\n'
    b'event: message_delta\n'
    b'data: {"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null,"stop_detail'
    b's":{"type":"refusal","category":"cyber","explanation":"This request was refused due to policy."}'
    b'},"usage":{"output_tokens":0}}\n'
    b'\n'
    b'event: message_stop\n'
    b'data: {"type":"message_stop"}\n'
)

# The official streaming doc's error event (HTTP 529's counterpart inside a stream).
OVERLOADED_EVENT = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'

PING = b'event: ping\ndata: {"type": "ping"}\n\n'


# --- builders ------------------------------------------------------------------------------


def recorded(lines: str) -> bytes:
    """One JSON event a line, as Anthropic sent it: `event: <its "type">`, `data: <the line>`."""
    out = []
    for line in lines.strip().splitlines():
        out.append(f"event: {json.loads(line)['type']}\ndata: {line}\n\n".encode())
    return b"".join(out)


def ev(name: str, obj: Any) -> bytes:
    """One event with its `event:` name, its JSON data, and the blank line."""
    return f"event: {name}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def message_start(model: str = "claude-stub-1", **usage: int) -> bytes:
    """`message_start` with the given usage (default: 11 input, the placeholder 1 output)."""
    usage = {"input_tokens": 11, "output_tokens": 1, **usage}
    message = {"id": "msg_stub", "type": "message", "role": "assistant", "content": [], "model": model,
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    return ev("message_start", {"type": "message_start", "message": message})


def block_start(index: int, block_type: str = "text") -> bytes:
    """`content_block_start` of an empty text or thinking block."""
    block = {"type": "text", "text": ""} if block_type == "text" else {"type": block_type, block_type: ""}
    return ev("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def text_delta(text: str, index: int = 0) -> bytes:
    """A `text_delta`."""
    return ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                      "delta": {"type": "text_delta", "text": text}})


def thinking_delta(text: str, index: int = 0) -> bytes:
    """A `thinking_delta`."""
    return ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                      "delta": {"type": "thinking_delta", "thinking": text}})


def block_stop(index: int = 0) -> bytes:
    """`content_block_stop`."""
    return ev("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(output_tokens: int, stop_reason: str | None = "end_turn", **usage: Any) -> bytes:
    """`message_delta`: ``output_tokens`` is the cumulative total, as the API sends it."""
    return ev("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                "usage": {"output_tokens": output_tokens, **usage}})


MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def message(text: str, *, model: str = "claude-stub-1", input_tokens: int = 11, output_tokens: int = 7,
            stop: bool = True, **usage: int) -> list[bytes]:
    """The items of a normal one-block text answer (one delta per word)."""
    words = text.split(" ")
    pieces = [w + " " for w in words[:-1]] + words[-1:]
    items = [message_start(model, input_tokens=input_tokens, **usage), block_start(0)]
    items += [text_delta(p) for p in pieces if p]
    items += [block_stop(0), message_delta(output_tokens)]
    if stop:
        items.append(MESSAGE_STOP)
    return items


def anthropic_error(status: int, error_type: str, message: str, *, headers: dict[str, str] | None = None) -> Status:
    """An Anthropic-shaped JSON error response."""
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_stub"}
    return Status(status, body, headers=headers or {})


# --- the server ----------------------------------------------------------------------------


class AnthropicStub(StubServer):
    """A `StubServer` routed at `…/messages`, with Anthropic's 404 elsewhere; scripts as in
    ``openai_stub``."""

    def __init__(self, script: Any = None) -> None:
        super().__init__(script if script is not None else SSE(message("Hello from the stub.")),
                         routes=("/messages",),
                         not_found=lambda path: anthropic_error(404, "not_found_error", f"no route {path}"))


@pytest.fixture
def anthropic_stub() -> Iterator[AnthropicStub]:
    """A started Anthropic stub; set ``.script`` in the test, read ``.requests`` after."""
    with AnthropicStub() as server:
        yield server
