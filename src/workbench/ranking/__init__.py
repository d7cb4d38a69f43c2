"""The leaderboard from the evidence (C5, C7): scores and answers in, rows, intervals and per-task
tables out. ``evidence`` is what the store hands over; ``stats`` and ``tasks`` compute; ``scoring``
parses scores as people give them."""
