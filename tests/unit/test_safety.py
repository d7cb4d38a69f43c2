"""safety.sanitize (Q4): model text never drives the terminal; ordinary text survives."""

from __future__ import annotations

import re

import pytest

from workbench.safety import sanitize

# Anything that can start or end a terminal control sequence, raw.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def assert_inert(text: str) -> None:
    assert not RAW_CONTROL.search(text), repr(text)


@pytest.mark.parametrize(("raw", "expected"), [
    ("copy\x1b]52;c;cm0gLXJmIH4=\x07done", "copydone"),  # OSC 52 clipboard write, BEL-terminated
    ("a\x1b]52;c;cm0gLXJmIH4=\x1b\\b", "ab"),  # … ST-terminated
    ("\x1b]0;you have been pwned\x07title", "title"),  # window title, BEL
    ("\x1b]2;pwned\x1b\\title", "title"),  # window title, ST
    ("\x9d0;pwned\x9ctitle", "title"),  # 8-bit OSC … ST
    ("\x1b[2J\x1b[3J\x1b[Hclear", "clear"),  # clear screen and scrollback, home
    ("up\x1b[10A\x1b[5;5Hdown\x1b[2K", "updown"),  # cursor moves, erase line
    ("\x1b[31mred\x1b[0m", "red"),  # colours too: the UI styles text itself
    ("\x9b2Jeight-bit CSI", "eight-bit CSI"),  # U+009B: one-character CSI
    ("\x1bcreset", "reset"),  # ESC c: full terminal reset
    ("\x1b7save\x1b8", "save"),  # save/restore cursor
    ("\x1b(0line", "line"),  # charset switch
    ("\x1bP1$qm\x1b\\dcs", "dcs"),  # DCS query
    ("\x1b_apc payload\x1b\\x", "x"),  # APC
])
def test_sequences_are_removed(raw: str, expected: str) -> None:
    out = sanitize(raw)
    assert out == expected
    assert_inert(out)


@pytest.mark.parametrize("raw", ["ding\x07", "nul\x00", "bs\x08", "del\x7f", "cr\roverwrite", "c1\x85", "vt\x0b", "ff\x0c"])
def test_lone_controls_become_visible_placeholders(raw: str) -> None:
    out = sanitize(raw)
    assert_inert(out)
    assert "\ufffd" in out


def test_unterminated_osc_swallows_to_the_end_but_nothing_raw() -> None:
    out = sanitize("before\x1b]52;c;AAAA never ends")
    assert out == "before"


def test_lone_escape_at_the_end() -> None:
    assert sanitize("text\x1b") == "text"


def test_crlf_becomes_newline() -> None:
    assert sanitize("a\r\nb") == "a\nb"


@pytest.mark.parametrize("text", [
    "plain ascii",
    "unicode: é ñ 漢字 🙂 — “quotes” ≤ ≥ λ",
    "tabs\tand\nnewlines\n\n  indented",
    "```python\ndef f():\n\treturn 1\n```\n",
    "",
    "box drawing ┌─┐ and emoji 👍🏽 and RTL שלום",
])
def test_ordinary_text_survives_unchanged(text: str) -> None:
    assert sanitize(text) == text


def test_mixed() -> None:
    raw = "# Title\x1b]0;x\x07\n\tcode 漢字\x1b[2J\n\x9b1mend"
    assert sanitize(raw) == "# Title\n\tcode 漢字\nend"


def test_sanitized_pieces_stay_inert_when_joined() -> None:
    # Streaming output is sanitized per delta: every split of an attack must stay inert.
    attack = "A\x1b]52;c;cm0gLXJmIH4=\x07B\x1b[2JC\x9b31mD\x1bcE"
    for i in range(len(attack) + 1):
        assert_inert(sanitize(attack[:i]) + sanitize(attack[i:]))


def test_stream_sanitizer_hides_sequences_split_at_every_point() -> None:
    from workbench.safety import StreamSanitizer

    hostile = "Safe\x1b]52;c;cm0gLXJmIH4=\x07 text\x1b[2J end\x9b31m done \x1b]0;t\x1b\\ ok"
    for k in range(1, len(hostile)):
        clean = StreamSanitizer()
        out = clean.feed(hostile[:k]) + clean.feed(hostile[k:]) + clean.flush()
        assert out == "Safe text end done  ok", k


def test_stream_sanitizer_does_not_hold_back_forever() -> None:
    from workbench.safety import StreamSanitizer

    clean = StreamSanitizer()
    # an unterminated OSC longer than the hold limit is released (dropped as a sequence), not
    # buffered: what follows is shown again
    assert clean.feed("a\x1b]" + "x" * 300) == "a"
    assert clean.feed("more text") == "more text"
