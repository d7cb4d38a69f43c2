"""Scores as people give them (C3): a score of 1–10 in half points, the four criteria whose
mean is the overall score, a one-line note, and who gave it. Parsing only: saving is the store's."""

from __future__ import annotations

import getpass
import math
import os
import re
from dataclasses import dataclass, fields
from decimal import Decimal

NOTE_MAX = 500
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class ScoreError(ValueError):
    """A score that cannot be saved; the message is one line, fit to show to users."""


def parse_score(value: str | float | int | Decimal, what: str = "score", *, half_points: bool = True) -> float:
    """A score from user input ("8", "8.5", " 8,5 ", 8.5): 1–10 in half points.

    ``half_points=False`` accepts any value from 1 to 10: a published score is often an average
    (the notes' overall 8.7), and importing it must keep it as published.
    """
    if isinstance(value, bool):  # bool is an int: True would pass as 1
        raise ScoreError(f"{what} must be a number from 1 to 10, got {value!r}")
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        if not _NUMBER.fullmatch(text):
            raise ScoreError(f"{what} must be a number from 1 to 10 (half points allowed), got {value.strip()!r}")
        number, shown = float(text), text
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ScoreError(f"{what} must be a number from 1 to 10, got {value!r}") from None
        shown = f"{number:g}"
    if not math.isfinite(number) or not 1 <= number <= 10:
        raise ScoreError(f"{what} must be from 1 to 10, got {shown}")
    if half_points and number * 2 != round(number * 2):
        raise ScoreError(f"{what} must be 1–10 in half points, got {shown}")
    return number


@dataclass(frozen=True)
class Criteria:
    """The four things the notes judge an answer on; each 1–10 in half points."""

    correctness: float
    code_quality: float
    documentation: float
    edge_cases: float

    def __post_init__(self) -> None:
        for f in fields(self):
            # frozen: normalise ("8,5" → 8.5) through object.__setattr__
            object.__setattr__(self, f.name, parse_score(getattr(self, f.name), f.name.replace("_", " ")))

    @property
    def mean(self) -> float:
        """The overall score (the notes: the mean of the four). Quarter-eighths such as 8.625
        are exact in binary floating point, so nothing is rounded."""
        return (self.correctness + self.code_quality + self.documentation + self.edge_cases) / 4


def default_scorer() -> str:
    """Who is scoring: $WORKBENCH_SCORER, else the login name, else "me"."""
    env = os.environ.get("WORKBENCH_SCORER", "").strip()
    if env:
        return env
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers (OSError, or KeyError before 3.13)
        user = ""
    return user.strip() or "me"


def one_line(text: str, limit: int = NOTE_MAX) -> str:
    """A note as one trimmed line: whitespace runs collapsed, control characters dropped."""
    line = " ".join((text or "").split())
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
