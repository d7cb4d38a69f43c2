"""tokens (Q7): the 4-characters rule, and tiktoken built from a local ranks file, never downloaded."""

from __future__ import annotations

import base64
import hashlib
import tempfile
import threading
from pathlib import Path

import pytest

from workbench import tokens
from workbench.tokens import (
    TokenCounter,
    build_encoding,
    candidate_dirs,
    find_encoding_file,
    load_ranks,
    rule_estimate,
)

MERGES = [b"he", b"ll", b"hell", b"hello"]


def ranks_file(path: Path) -> tuple[Path, str]:
    """A tiny byte-level BPE: every byte, then merges up to b"hello" (ranks 256…259)."""
    ranks = {bytes([i]): i for i in range(256)}
    for i, token in enumerate(MERGES):
        ranks[token] = 256 + i
    text = "".join(f"{base64.b64encode(tok).decode()} {rank}\n" for tok, rank in ranks.items())
    path.write_bytes(text.encode())
    return path, hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("text", "n"), [("", 0), ("a", 1), ("abcd", 1), ("abcde", 2), ("x" * 400, 100), ("漢字", 1)])
def test_rule_estimate_is_ceil_chars_over_4(text: str, n: int) -> None:
    assert rule_estimate(text) == n


def test_counter_without_files_uses_the_rule(tmp_path: Path) -> None:
    counter = TokenCounter()
    assert counter.load([tmp_path]) is False
    assert counter.uses_tokenizer is False
    assert counter.method == "rule: 4 chars/token"
    assert counter.count("") == 0
    assert counter.count("hello world!") == 3


def test_load_ranks(tmp_path: Path) -> None:
    path, sha = ranks_file(tmp_path / "tiny.tiktoken")
    ranks = load_ranks(path, None)
    assert len(ranks) == 260
    assert ranks[b"hello"] == 259 and ranks[b"a"] == 97
    assert load_ranks(path, sha) == ranks


def test_load_ranks_rejects_a_wrong_hash(tmp_path: Path) -> None:
    path, sha = ranks_file(tmp_path / "tiny.tiktoken")
    with pytest.raises(ValueError, match="SHA-256"):
        load_ranks(path, "0" * 64)


def test_build_encoding_from_local_ranks(tmp_path: Path) -> None:
    path, _ = ranks_file(tmp_path / "tiny.tiktoken")
    encoding = build_encoding("cl100k_base", load_ranks(path, None))
    ids = encoding.encode("hello hello")
    assert ids == [259, 32, 259]
    assert encoding.decode(ids) == "hello hello"
    assert encoding.encode("<|endoftext|>", allowed_special="all") == [100257]


def test_build_encoding_o200k_pattern(tmp_path: Path) -> None:
    path, _ = ranks_file(tmp_path / "tiny.tiktoken")
    encoding = build_encoding("o200k_base", load_ranks(path, None))
    assert encoding.decode(encoding.encode("hello, world")) == "hello, world"
    assert encoding.encode("<|endoftext|>", allowed_special="all") == [199999]


def cached_name(name: str) -> str:
    return hashlib.sha1(tokens.ENCODING_FILES[name][0].encode()).hexdigest()


def test_find_encoding_file_by_sha1_of_url(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert find_encoding_file("cl100k_base", [first, second]) is None
    target = second / cached_name("cl100k_base")
    target.write_bytes(b"x")
    assert cached_name("cl100k_base") == "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # tiktoken's own name
    assert find_encoding_file("cl100k_base", [first, second]) == target


def test_a_corrupt_cached_file_falls_back_to_the_rule(tmp_path: Path) -> None:
    path, _ = ranks_file(tmp_path / cached_name("o200k_base"))  # right name, wrong content
    counter = TokenCounter()
    assert counter.load([tmp_path]) is False
    assert counter.method.startswith("rule")
    assert path.exists()  # never deleted or re-downloaded


def test_a_valid_cached_file_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.invalid/tiny.tiktoken"
    path = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    _, sha = ranks_file(path)
    monkeypatch.setattr(tokens, "ENCODING_FILES", {"cl100k_base": (url, sha)})
    counter = TokenCounter()
    assert counter.load([tmp_path]) is True
    assert counter.uses_tokenizer
    assert counter.method == "tiktoken:cl100k_base"
    assert counter.count("hello hello") == 3
    assert counter.count("<|endoftext|>") > 1  # special tokens in model text are counted as text


def test_load_in_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.invalid/tiny.tiktoken"
    _, sha = ranks_file(tmp_path / "tiktoken-cache-file")
    (tmp_path / "tiktoken-cache-file").rename(tmp_path / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setattr(tokens, "ENCODING_FILES", {"cl100k_base": (url, sha)})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    counter = TokenCounter()
    real_load, gate, calls = counter.load, threading.Event(), []

    def held_load(dirs=None) -> bool:  # the loader stays alive until the test has counted
        calls.append(dirs)
        gate.wait()
        return real_load(dirs)

    counter.load = held_load
    counter.load_in_background()
    counter.load_in_background()  # at most one loader, also while the first is still loading
    loaders = [t for t in threading.enumerate() if t.name == "tiktoken-load"]
    assert len(loaders) == 1
    gate.set()
    loaders[0].join(timeout=60)  # a backstop: the load reads one small file
    assert not loaders[0].is_alive()
    assert len(calls) == 1 and counter.method == "tiktoken:cl100k_base"
    counter.load_in_background()  # loaded: no loader any more
    assert not [t for t in threading.enumerate() if t.name == "tiktoken-load"] and len(calls) == 1


def test_candidate_dirs(monkeypatch: pytest.MonkeyPatch, isolated_home: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path / "dg"))
    assert candidate_dirs() == [tmp_path / "tk", isolated_home / "cache" / "tiktoken"]
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    assert candidate_dirs()[0] == tmp_path / "dg"
    monkeypatch.delenv("DATA_GYM_CACHE_DIR")
    assert candidate_dirs()[0] == Path(tempfile.gettempdir()) / "data-gym-cache"


def test_nothing_is_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken.load

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    counter = TokenCounter()
    counter.load([tmp_path])
    assert counter.count("some text") == 3
