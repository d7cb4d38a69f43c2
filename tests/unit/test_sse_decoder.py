"""The bytes-level SSE decoder (providers/sse.py) against the WHATWG rules (PROTOCOLS §6)."""

from __future__ import annotations

import pytest

from workbench.providers.errors import DecodeError
from workbench.providers.sse import SSEDecoder, SSEEvent


def feed_all(*chunks: bytes) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for c in chunks:
        events += decoder.feed(c)
    return events, decoder


def datas(events: list[SSEEvent]) -> list[str]:
    return [e.data for e in events]


def every_split(raw: bytes) -> list[tuple[bytes, bytes]]:
    return [(raw[:i], raw[i:]) for i in range(len(raw) + 1)]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_line_endings(eol: bytes) -> None:
    raw = b"data: {\"a\":1}" + eol + eol + b"data: [DONE]" + eol + eol
    events, _ = feed_all(raw)
    assert datas(events) == ['{"a":1}', "[DONE]"]
    assert all(e.event == "message" for e in events)


def test_cr_at_end_of_one_feed_and_lf_at_start_of_next_is_one_line_end() -> None:
    # If the CR and LF were two line ends, the blank line would dispatch "a" early and
    # "b" would become a second event.
    events, _ = feed_all(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")
    assert datas(events) == ["a\nb"]


def test_lone_cr_at_end_of_feed_still_ends_the_line() -> None:
    events, _ = feed_all(b"data: a\r", b"\r")
    assert datas(events) == ["a"]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_every_split_point_gives_the_same_events(eol: bytes) -> None:
    raw = (": ping" + "\n" + "data: héllo ✓\ndata: 二\n\nevent: x\ndata: 🙂\n\n").encode().replace(b"\n", eol)
    for a, b in every_split(raw):
        events, _ = feed_all(a, b)
        assert [(e.event, e.data) for e in events] == [("message", "héllo ✓\n二"), ("x", "🙂")], (a, b)


def test_byte_at_a_time() -> None:
    raw = "\ufeffdata: ünï\r\n\r\ndata: [DONE]\r\n\r\n".encode()
    events, _ = feed_all(*[raw[i:i + 1] for i in range(len(raw))])
    assert datas(events) == ["ünï", "[DONE]"]


def test_comments_are_ignored() -> None:
    events, decoder = feed_all(b": keep-alive\n\n: OPENROUTER PROCESSING\n\ndata: x\n\n")
    assert datas(events) == ["x"]
    assert decoder.stray_lines == []


def test_multi_line_data_joins_with_newline() -> None:
    events, _ = feed_all(b'data: {"a":\ndata: 1}\n\n')
    assert datas(events) == ['{"a":\n1}']


def test_only_one_leading_space_is_stripped_and_no_space_is_fine() -> None:
    events, _ = feed_all(b"data:x\n\ndata:  two\n\n")
    assert datas(events) == ["x", " two"]


def test_leading_bom_is_stripped() -> None:
    events, _ = feed_all(b"\xef\xbb\xbfdata: first\n\n")
    assert datas(events) == ["first"]


@pytest.mark.parametrize("split", [1, 2])
def test_bom_split_across_feeds(split: int) -> None:
    bom = b"\xef\xbb\xbf"
    events, _ = feed_all(bom[:split], bom[split:] + b"data: first\n\n")
    assert datas(events) == ["first"]


def test_bom_split_byte_by_byte_then_data() -> None:
    events, _ = feed_all(b"\xef", b"\xbb", b"\xbf", b"data: first\n\n")
    assert datas(events) == ["first"]


def test_only_one_bom_is_stripped() -> None:
    # A second BOM is part of the field name, so that line is not a data line.
    events, decoder = feed_all(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n")
    assert datas(events) == ["y"]
    assert decoder.stray_lines == ["\ufeffdata: x"]


def test_first_bytes_that_only_look_like_a_bom_start_are_kept() -> None:
    events, decoder = feed_all(b"\xef", b"data: x\n\ndata: y\n\n")
    # b"\xef" + "data…" is not a BOM: the first line is garbage, the second event is intact.
    assert datas(events) == ["y"]
    assert len(decoder.stray_lines) == 1


def test_empty_data_line_dispatches_an_empty_event() -> None:
    events, _ = feed_all(b"data:\n\ndata\n\n")
    assert datas(events) == ["", ""]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    events, _ = feed_all(b"\n\n\r\n\n", b"event: ping\n\n", b"id: 7\n\nretry: 3000\n\n")
    assert events == []


def test_event_type_and_id() -> None:
    events, _ = feed_all(b"event: message_start\nid: 42\ndata: {}\n\ndata: next\n\n")
    assert events[0] == SSEEvent("message_start", "{}", "42")
    # the type resets after dispatch; the last event id persists
    assert events[1] == SSEEvent("message", "next", "42")


def test_id_with_nul_is_ignored() -> None:
    events, _ = feed_all(b"id: 1\n\nid: a\x00b\ndata: x\n\n")
    assert events == [SSEEvent("message", "x", "1")]


def test_no_trailing_blank_line_means_not_dispatched() -> None:
    events, decoder = feed_all(b"data: one\n\ndata: two\n")
    assert datas(events) == ["one"]
    events, decoder = feed_all(b"data: one\n\ndata: two")
    assert datas(events) == ["one"]
    assert decoder.tail == "data: two"


def test_multibyte_utf8_split_across_feeds() -> None:
    raw = "data: {\"t\":\"é漢🙂\"}\n\n".encode()
    for a, b in every_split(raw):
        events, _ = feed_all(a, b)
        assert datas(events) == ['{"t":"é漢🙂"}']


def test_invalid_utf8_is_replaced_not_raised() -> None:
    events, _ = feed_all(b"data: a\xffb\n\n")
    assert datas(events) == ["a\ufffdb"]


def test_stray_non_sse_lines_are_kept_for_diagnosis() -> None:
    raw = b'data: ok\n\n{"error": {"message": "upstream down"}}\nerror: {"code": 400}\nplain garbage\n'
    events, decoder = feed_all(raw)
    assert datas(events) == ["ok"]
    assert decoder.stray_lines == ['{"error": {"message": "upstream down"}}', 'error: {"code": 400}', "plain garbage"]


def test_stray_lines_are_bounded() -> None:
    _, decoder = feed_all(b"junk\n" * 100)
    assert len(decoder.stray_lines) == 20


def test_stray_lines_do_not_break_the_surrounding_event() -> None:
    events, _ = feed_all(b"data: a\nnonsense\ndata: b\n\n")
    assert datas(events) == ["a\nb"]


def test_empty_feed_is_harmless_everywhere() -> None:
    events, _ = feed_all(b"", b"data: a\r", b"", b"\n", b"", b"\n", b"")
    assert datas(events) == ["a"]


def test_oversized_line_raises_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.providers.sse as sse

    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 1024)
    decoder = SSEDecoder()
    with pytest.raises(DecodeError):
        decoder.feed(b"data: " + b"x" * 2000)


def test_oversized_event_over_many_lines_raises_decode_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.providers.sse as sse

    monkeypatch.setattr(sse, "MAX_EVENT_BYTES", 1024)
    decoder = SSEDecoder()
    with pytest.raises(DecodeError):
        decoder.feed(b"data: " + b"y" * 100 + b"\n")
        for _ in range(20):
            decoder.feed(b"data: " + b"y" * 100 + b"\n")
