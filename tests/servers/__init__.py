"""Real HTTP servers of our own that tests, UI tests and the benchmark stream from."""
