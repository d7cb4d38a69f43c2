"""Connection, pragmas and migrations of the store.

Migrations are the numbered files in ``schema/`` (``001_init.sql`` …); ``PRAGMA user_version``
records the last one applied. WAL mode and a busy timeout let two processes write at once.
One connection per process, guarded by a lock so thread workers can share it.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """The store cannot be opened or written."""


#: What SQLite says of a file whose pages are damaged (or that is not a database at all).
DAMAGE_WORDS = ("malformed", "not a database", "file is encrypted", "database corrupt")


def is_damage(exc: BaseException) -> bool:
    """True when ``exc`` says the store file itself is damaged."""
    return isinstance(exc, sqlite3.DatabaseError) and any(w in str(exc).lower() for w in DAMAGE_WORDS)


def damage_message(path: Path, exc: BaseException, *, opening: bool = False) -> str:
    """One line for a damaged store: which file, what SQLite said, how to recover; nothing was written."""
    what = f"cannot open the store at {path}: it is damaged" if opening else f"the store {path} is damaged"
    return (f"{what} ({exc}); it was left as it is. Recover what it holds with "
            f"`sqlite3 {path} .recover | sqlite3 recovered.sqlite3`, then put that file in its place")


def migrations() -> list[tuple[int, str]]:
    """(version, sql) for every schema file, in order."""
    out = []
    for entry in resources.files("workbench.store.schema").iterdir():
        match = re.fullmatch(r"(\d{3})_\w+\.sql", entry.name)
        if match:
            out.append((int(match.group(1)), entry.read_text("utf-8")))
    return sorted(out)


class Store:
    """The open store; answer and run helpers live in ``store.answers``."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE, so writers queue on the busy timeout)."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()

    @property
    def schema_version(self) -> int:
        """The applied migration number."""
        return self.conn.execute("PRAGMA user_version").fetchone()[0]


def open_store(path: Path) -> Store:
    """Open (creating and migrating as needed) the store at ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn)
    except (sqlite3.Error, OSError) as exc:  # OSError: e.g. the data dir's parent is a file
        if is_damage(exc):
            raise StoreError(damage_message(path, exc, opening=True)) from None
        raise StoreError(f"cannot open the store at {path}: {exc}") from None
    return Store(path, conn)


def _migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    known = migrations()
    latest = known[-1][0] if known else 0
    if current > latest:
        raise sqlite3.DatabaseError(f"schema version {current} is newer than this workbench knows ({latest})")
    for version, sql in known:
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check inside the lock: another process may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.rollback()
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements (executescript would commit on its own)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]
