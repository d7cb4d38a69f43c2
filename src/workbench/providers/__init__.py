"""Streaming adapters, one per API dialect, behind one interface (see base.py)."""
