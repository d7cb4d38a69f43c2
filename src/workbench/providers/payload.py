"""Reading the fields of a provider's JSON payloads, whatever type a server sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def json_count(value: Any) -> int | None:
    """A token count from JSON, or None when it is missing or not a number.

    Decimal is accepted because the OpenAI adapter parses floats as Decimal (for exact costs).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        return int(value)
    except (ValueError, OverflowError, ArithmeticError):  # NaN or Infinity (Python's json accepts both)
        return None


def json_table(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one in place of null or a value of another type."""
    return value if isinstance(value, dict) else {}
