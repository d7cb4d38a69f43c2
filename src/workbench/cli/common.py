"""What every command shares: the exit codes (I1), the two kinds of user mistake, and the
prompt argument."""

from __future__ import annotations

import argparse
import sys

#: SQLite's largest integer: an id above it can name no row (and sqlite3 refuses to bind it)
MAX_ROW_ID = 2**63 - 1

EXIT_OK, EXIT_MODEL_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments: printed as one line, exit code 2."""


class CommandError(Exception):
    """A user mistake a command finds while it runs (no such answer, a bad date): one line, exit 2."""


def row_id(value: str) -> int:
    """argparse type of a run, answer or session id: a whole number SQLite can hold."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {value!r} is not an id (a whole number)") from None
    if not 1 <= number <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"{value} is not an id: ids run from 1 to {MAX_ROW_ID}")
    return number


def read_stdin_text() -> str:
    """Standard input as text: UTF-8, with any byte that is not replaced by U+FFFD (and said)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "replace")
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" in text and "\ufffd".encode() not in data:
        print("workbench: standard input is not UTF-8: the bytes that are not were replaced by \ufffd",
              file=sys.stderr)
    return text


def prompt_from(value: str) -> str:
    """The prompt argument, or standard input for `-`."""
    if value == "-":
        text = read_stdin_text()
        if not text.strip():
            raise UsageError("the prompt from standard input is empty")
        return text
    if not value.strip():
        raise UsageError("the prompt is empty")
    return value
