"""Token counting for the live meter, offline-first (Q7).

Exact provider usage always wins; this only estimates while a stream runs. Order of trust:

1. a tiktoken encoding file (o200k_base, else cl100k_base) that is already on disk — in
   tiktoken's own cache (``$TIKTOKEN_CACHE_DIR``, ``$DATA_GYM_CACHE_DIR`` or
   ``<tmp>/data-gym-cache``) or in workbench's cache dir under ``tiktoken/`` — named by the
   SHA-1 of its URL, as tiktoken names them, and checked against its SHA-256;
2. otherwise the documented rule: **one token per 4 characters, rounded up** (the usual ratio
   for English and code), labelled as a rough estimate.

Nothing is ever downloaded, and loading happens off the UI thread (``load_in_background``).
"""

from __future__ import annotations

import base64
import math
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from workbench.paths import cache_dir

CHARS_PER_TOKEN = 4

# encoding → (URL whose SHA-1 names the cached file, expected SHA-256 of its content)
ENCODING_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


def rule_estimate(text: str) -> int:
    """The fallback rule: ceil(characters / 4)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def candidate_dirs() -> list[Path]:
    """Where cached tokenizer files are looked for, in order."""
    dirs: list[Path] = []
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if os.environ.get(var):
            dirs.append(Path(os.environ[var]))
            break
    else:
        dirs.append(Path(tempfile.gettempdir()) / "data-gym-cache")
    dirs.append(cache_dir() / "tiktoken")
    return dirs


def find_encoding_file(name: str, dirs: list[Path] | None = None) -> Path | None:
    """The cached file for an encoding, if present (content is checked when loaded)."""
    import hashlib  # here: the app imports this module before its first frame, which needs no hash (Q2)

    url, _ = ENCODING_FILES[name]
    file_name = hashlib.sha1(url.encode()).hexdigest()
    for directory in dirs if dirs is not None else candidate_dirs():
        path = directory / file_name
        if path.is_file():
            return path
    return None


def load_ranks(path: Path, expected_sha256: str | None) -> dict[bytes, int]:
    """Parse a ``.tiktoken`` file (``base64(token) rank`` per line), checking its hash."""
    import hashlib

    data = path.read_bytes()
    if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ValueError(f"{path} does not match the expected SHA-256")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


# The split patterns of the two encodings, as tiktoken_ext.openai_public defines them (inline
# there, so copied here to build an Encoding from a local file without a download).
CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
SPECIAL_TOKENS = {
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    "cl100k_base": {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276},
}


def build_encoding(name: str, ranks: dict[bytes, int]) -> Any:
    """A tiktoken Encoding from local ranks, with the official pattern and special tokens."""
    import tiktoken

    pattern = O200K_PATTERN if name == "o200k_base" else CL100K_PATTERN
    return tiktoken.Encoding(name=name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=SPECIAL_TOKENS[name])


class TokenCounter:
    """Counts tokens with tiktoken when its file is on disk, else by the 4-characters rule.

    ``method`` is "tiktoken:<encoding>" or "rule: 4 chars/token"; thread-safe to load.
    """

    def __init__(self) -> None:
        self._encoding: Any = None
        self.method = f"rule: {CHARS_PER_TOKEN} chars/token"
        self._lock = threading.Lock()
        self._loading = False

    @property
    def uses_tokenizer(self) -> bool:
        """True once a real tokenizer is loaded."""
        return self._encoding is not None

    def count(self, text: str) -> int:
        """Tokens in ``text`` by the best method available right now."""
        if not text:
            return 0
        encoding = self._encoding
        if encoding is not None:
            return len(encoding.encode(text, disallowed_special=()))
        return rule_estimate(text)

    def load(self, dirs: list[Path] | None = None) -> bool:
        """Load a cached tiktoken file if one is on disk; never downloads. True if loaded."""
        for name, (_, sha) in ENCODING_FILES.items():
            path = find_encoding_file(name, dirs)
            if path is None:
                continue
            try:
                encoding = build_encoding(name, load_ranks(path, sha))
            except Exception:  # a corrupt cache file must not break the meter
                continue
            with self._lock:
                self._encoding = encoding
                self.method = f"tiktoken:{name}"
            return True
        return False

    def load_in_background(self) -> None:
        """Start ``load`` in a daemon thread (at most once)."""
        with self._lock:
            if self._loading or self._encoding is not None:
                return
            self._loading = True
        threading.Thread(target=self.load, name="tiktoken-load", daemon=True).start()
