"""Short, safe texts for error messages: one line, and no secret in it (Q5)."""

from __future__ import annotations

import re


def redact(text: str, secret: str | None) -> str:
    """Text with the secret (and Bearer tokens) masked."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    text = re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)
    # the other ways keys travel: x-api-key (Anthropic), x-goog-api-key and ?key= (Gemini)
    text = re.sub(r"(?i)((?:x-api-key|x-goog-api-key|api[-_]?key)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._\-]{8,}",
                  r"\1[redacted]", text)
    return re.sub(r"(?i)([?&]key=)[A-Za-z0-9._\-]{8,}", r"\1[redacted]", text)


def one_line(text: str, limit: int = 200) -> str:
    """``text`` with its whitespace runs collapsed, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
