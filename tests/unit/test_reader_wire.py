"""What crosses the pipe between the app and its stream reader process (providers/reader_wire.py)."""

from __future__ import annotations

import pytest

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.http import http_status_error
from workbench.providers.events import (
    ReasoningDelta,
    RetryNotice,
    ServedModel,
    StreamEnd,
    TextDelta,
    UsageReport,
)
from workbench.providers.reader_wire import HEADER, coalesce, decode_error, encode_error, frame, unframe


def test_runs_of_text_are_joined_and_everything_else_keeps_its_place() -> None:
    events = [ServedModel("m"), ReasoningDelta("think "), ReasoningDelta("hard"), TextDelta("Hel"),
              TextDelta("lo"), UsageReport(3, 2), TextDelta("!"), StreamEnd("stop")]
    assert coalesce(events) == [ServedModel("m"), ReasoningDelta("think hard"), TextDelta("Hello"),
                                UsageReport(3, 2), TextDelta("!"), StreamEnd("stop")]


def test_alternating_kinds_are_not_merged_across_each_other() -> None:
    events = [TextDelta("a"), ReasoningDelta("b"), TextDelta("c"), TextDelta("d")]
    assert coalesce(events) == [TextDelta("a"), ReasoningDelta("b"), TextDelta("cd")]
    assert coalesce([]) == []


def test_a_frame_is_its_length_and_the_message() -> None:
    message = ("open", 7, ProviderConfig(name="p", kind="openai", base_url="http://127.0.0.1:1/v1"), "sk-x",
               ModelInfo(id="m", provider="p", name="M", upstream="m-1"), ChatRequest(prompt="hi ✓"))
    data = frame(message)
    (length,) = HEADER.unpack(data[:HEADER.size])
    assert length == len(data) - HEADER.size
    assert unframe(data[HEADER.size:]) == message
    batch = [(7, [TextDelta("x\x1b[31m"), RetryNotice("429", 2, 3, 1.0)], None)]
    assert unframe(frame(batch)[HEADER.size:]) == batch


@pytest.mark.parametrize("exc", [
    http_status_error(429, "429 slow down", __import__("httpx").Headers({"retry-after": "2"})),
    http_status_error(401, "401 bad key", __import__("httpx").Headers({})),
    http_status_error(503, "503 busy", __import__("httpx").Headers({"x-should-retry": "false"})),
    errors.StreamCutError("the connection closed mid-stream"),
    errors.DecodeError("not JSON"),
    errors.StreamErrorEvent("Gemini reported an error mid-stream (INTERNAL): Error"),
    # a refusal keeps its class, so its kind "refusal" reaches the pane and the store
    errors.RefusalError("the model refused: I'm sorry, I can't assist with that request."),
])
def test_errors_keep_their_class_status_and_retry_hints(exc: errors.ProviderError) -> None:
    back = decode_error(encode_error(exc))
    assert type(back) is type(exc)
    assert (back.message, back.http_status, back.kind) == (exc.message, exc.http_status, exc.kind)
    for name in ("retry_after", "retryable"):
        assert getattr(back, name, "absent") == getattr(exc, name, "absent")


def test_an_unknown_error_name_becomes_the_base_class() -> None:
    back = decode_error(("NoSuchError", "odd", None, {"retryable": False}))
    assert type(back) is errors.ProviderError and back.message == "odd" and back.retryable is False
    assert type(decode_error(("ValueError", "not ours", None, {}))) is errors.ProviderError
