"""The compare screen and its helpers: scoring, the suite driver, the answer tools (C1, C3, C6)."""
