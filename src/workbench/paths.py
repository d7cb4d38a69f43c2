"""Where workbench keeps its config and data (I2).

One seam for tests: ``WORKBENCH_HOME`` moves config and data under one directory, and
``WORKBENCH_CONFIG`` (or ``--config``) picks another config file. Nothing is created at import.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "workbench"


def home_override() -> Path | None:
    """The directory named by WORKBENCH_HOME, if set."""
    value = os.environ.get("WORKBENCH_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Directory of config.toml and user themes."""
    home = home_override()
    if home is not None:
        return home / "config"
    import platformdirs

    return platformdirs.user_config_path(APP_NAME)


def data_dir() -> Path:
    """Directory of the SQLite store and other data."""
    home = home_override()
    if home is not None:
        return home / "data"
    import platformdirs

    return platformdirs.user_data_path(APP_NAME)


def cache_dir() -> Path:
    """Directory for caches (tokenizer files, the assembled local model)."""
    home = home_override()
    if home is not None:
        return home / "cache"
    import platformdirs

    return platformdirs.user_cache_path(APP_NAME)


def config_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file in force: --config, then WORKBENCH_CONFIG, then the default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("WORKBENCH_CONFIG")
    if env:
        return Path(env).expanduser()
    return config_dir() / "config.toml"


def store_file() -> Path:
    """The SQLite ranking store."""
    return data_dir() / "workbench.sqlite3"
