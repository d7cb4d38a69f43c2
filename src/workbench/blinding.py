"""Blind rounds (C3): letters instead of names, a shuffled order, and the answers that give
their model away.

A blind round hides which model wrote which answer until every answer that can be scored
has a score. Arena tools discard or flag votes on answers that name their own model
("As Claude, …", "I'm DeepSeek"): such an answer breaks blindness, so it is flagged.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterable, Sequence
from typing import TypeVar

from workbench.domain import ModelInfo

T = TypeVar("T")

# Words too common to show that an answer names its model ("Standard", "Turbo", "Pro" …).
_GENERIC = {
    "standard", "turbo", "pro", "flash", "coder", "code", "chat", "mini", "max", "plus", "lite",
    "instruct", "preview", "latest", "model", "base", "large", "small", "medium", "fast", "routing",
    "gateway", "global", "apis", "local",
}


def blind_labels(count: int) -> list[str]:
    """'A', 'B', … for ``count`` panes (AA, AB … past Z, though a round has at most 10)."""
    letters = string.ascii_uppercase
    out = []
    for i in range(count):
        label, n = "", i
        while True:
            label = letters[n % 26] + label
            n = n // 26 - 1
            if n < 0:
                break
        out.append(label)
    return out


def shuffled(items: Sequence[T], rng: random.Random | None = None) -> list[T]:
    """A new list in random order (``rng`` lets tests fix the order)."""
    out = list(items)
    (rng or random.SystemRandom()).shuffle(out)
    return out


def identity_words(model: ModelInfo) -> set[str]:
    """The words that would name this model or its maker in an answer (lower case)."""
    words: set[str] = set()
    for source in (model.name, model.vendor or "", model.upstream, model.id):
        for part in re.split(r"[^0-9A-Za-z]+", source):
            # sizes and versions ("30B", "270M", "v4") are not names
            if len(part) >= 3 and part.lower() not in _GENERIC and not re.fullmatch(r"v?\d+[bmk]?", part.lower()):
                words.add(part.lower())
    # Joined forms as people write them: "DeepSeek-R1", "Qwen3", "GLM-5".
    for source in (model.name, model.upstream):
        joined = re.sub(r"\s+", "-", source.strip().lower())
        if len(joined) >= 3:
            words.add(joined)
    return words


def names_itself(text: str, model: ModelInfo) -> str | None:
    """The word by which ``text`` names its own model or vendor, or None."""
    if not text:
        return None
    for word in sorted(identity_words(model), key=len, reverse=True):
        if re.search(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", text, flags=re.IGNORECASE):
            return word
    return None


#: A dollar amount, with its unit when it has one.
PRICE = re.compile(r"(?:US)?\$\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:/\s?(?:1?M|1K|mtok|token)\b|per (?:million|thousand|token)))?",
                   re.IGNORECASE)


def redact(text: str, models: Iterable[ModelInfo], replacement: str = "[model]") -> str:
    """``text`` with every model's names and ids replaced, and dollar amounts (for errors shown in a
    blind round)."""
    out = text
    words: set[str] = set()
    for model in models:
        words |= {model.id.lower(), model.upstream.lower(), model.name.lower()} | identity_words(model)
    for word in sorted(words, key=len, reverse=True):
        out = re.sub(rf"(?<![0-9a-z]){re.escape(word)}(?![0-9a-z])", replacement, out, flags=re.IGNORECASE)
    # a price ("$37.00/M", "$0.28 per million") tells the model apart as surely as its name
    return PRICE.sub("$…", out)
