"""Shared test set-up: no test touches the real home, the real config or a real key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/ on sys.path, so `servers.*` imports whatever pytest's import mode is.
_TESTS = str(Path(__file__).parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from servers.fixtures import openai_stub  # noqa: E402,F401  (a fixture, re-exported)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WORKBENCH_HOME in a temp dir; no config override, no key, no proxy for 127.0.0.1."""
    home = tmp_path / "wbhome"
    home.mkdir()
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    monkeypatch.delenv("GLOBAL_APIS_KEY", raising=False)
    # An empty tokenizer cache: estimates use the documented rule, whatever this machine has.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry backoff waits no wall-clock time in tests; the waits asked for are recorded."""
    import workbench.providers.retry as retry

    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(retry, "_sleep", no_wait)
    return waits
