"""What every command shares: the exit codes (I1), the two kinds of user mistake, and the
prompt argument."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_MODEL_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments: printed as one line, exit code 2."""


class CommandError(Exception):
    """A user mistake a command finds while it runs (no such answer, a bad date): one line, exit 2."""


def prompt_from(value: str) -> str:
    """The prompt argument, or standard input for `-`."""
    if value == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise UsageError("the prompt from standard input is empty")
        return text
    if not value.strip():
        raise UsageError("the prompt is empty")
    return value
