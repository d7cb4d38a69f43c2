"""Pytest fixtures and helpers around the stub servers (imported by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.openai_stub import StubServer


@pytest.fixture
def openai_stub() -> Iterator[StubServer]:
    """A started stub server; set ``.script`` in the test, read ``.requests`` after."""
    with StubServer() as server:
        yield server


def stub_config_toml(
    base_url: str,
    models: dict[str, dict] | list[str] = ("stub-a",),
    *,
    provider: str = "stub",
    api_key_env: str | None = None,
    read_timeout: float | None = None,
) -> str:
    """Config text with one openai provider at ``base_url`` and the given models.

    ``models`` maps an id to extra keys (e.g. ``{"input_per_m": 1, "output_per_m": 2}``).
    """
    if not isinstance(models, dict):
        models = {m: {} for m in models}
    lines = [f"[providers.{provider}]", 'kind = "openai"', f'base_url = "{base_url}"']
    if api_key_env:
        lines.append(f'api_key_env = "{api_key_env}"')
    if read_timeout is not None:
        lines.append(f"read_timeout = {read_timeout}")
    for model_id, extra in models.items():
        lines += ["", "[[models]]", f'id = "{model_id}"', f'provider = "{provider}"']
        for key, value in extra.items():
            lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def write_stub_config(home: Path, base_url: str, models: dict[str, dict] | list[str] = ("stub-a",), **kw) -> Path:
    """Write ``config.toml`` where WORKBENCH_HOME=home makes workbench look; returns its path."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stub_config_toml(base_url, models, **kw), "utf-8")
    return path
