"""Neutralise terminal control in model text before it is displayed (Q4).

Model output is untrusted: an escape sequence in it could write the clipboard (OSC 52), set the
title, clear the screen or move the cursor. For display, whole escape sequences (CSI, OSC, DCS,
SOS/PM/APC and two-byte ESC forms) are removed, and any remaining C0 control (except newline and
tab), DEL and C1 control (U+0080–U+009F, e.g. U+009B, the one-character CSI) becomes a visible
placeholder. Ordinary Unicode, tabs and newlines survive. The store keeps the original text.
"""

from __future__ import annotations

import re

_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?              # CSI … final byte
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])        # OSC, DCS, SOS, PM, APC …
    [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?          # … up to BEL or ST
  | \x1b[ -/]*[0-~]?                               # other ESC forms (ESC c, ESC 7, ESC ( B …)
    """,
    re.VERBOSE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _placeholder(match: re.Match[str]) -> str:
    return "\ufffd"


def sanitize(text: str) -> str:
    """Text safe to show in a terminal (escape sequences dropped, controls replaced)."""
    if not text or (text.isprintable() and "\x1b" not in text):
        return text
    text = _SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(_placeholder, text)


_INTRODUCERS = "\x1b\x90\x98\x9b\x9d\x9e\x9f"
MAX_HELD = 256


class StreamSanitizer:
    """``sanitize`` for text that arrives in pieces: an escape sequence split across two pieces
    is held back until it is complete (at most 256 characters), so no fragment of it shows."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """Safe text for this piece (possibly holding back its tail)."""
        text = self._held + piece
        self._held = ""
        cut = max(text.rfind(c) for c in _INTRODUCERS)
        if cut != -1 and len(text) - cut <= MAX_HELD and _unfinished(text[cut:]):
            text, self._held = text[:cut], text[cut:]
        return sanitize(text)

    def flush(self) -> str:
        """What is still held (the stream ended)."""
        text, self._held = self._held, ""
        return sanitize(text)


def _unfinished(tail: str) -> bool:
    """True when ``tail`` (starting at an introducer) may still grow into a longer sequence."""
    if tail == "\x1b":
        return True
    if tail[0] == "\x1b" and tail[1] in "]PX^_" or tail[0] in "\x90\x98\x9d\x9e\x9f":
        return not any(end in tail for end in ("\x07", "\x1b\\", "\x9c"))
    if tail.startswith("\x1b[") or tail[0] == "\x9b":
        body = tail[2:] if tail[0] == "\x1b" else tail[1:]
        return not any("@" <= ch <= "~" for ch in body)
    return False
