"""The SQLite ranking store (C4): runs, answers and, later, scores."""

from workbench.store.db import Store, open_store

__all__ = ["Store", "open_store"]
