-- Suite sessions: one walk through a suite with a fixed set of models, k repeats per task.
-- Its progress is not stored as a counter: it is read from the runs that carry its id, so a
-- session killed at any point resumes exactly where its saved answers stop.
-- No semicolons inside comments: the migration runner splits statements on them.
CREATE TABLE suite_sessions (
    id            INTEGER PRIMARY KEY,
    suite_id      TEXT NOT NULL,
    suite_sha256  TEXT NOT NULL,
    title         TEXT NOT NULL DEFAULT '',
    models_json   TEXT NOT NULL,
    repeats       INTEGER NOT NULL DEFAULT 1 CHECK (repeats >= 1),
    blind         INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    finished_at   TEXT
);

CREATE INDEX suite_sessions_suite ON suite_sessions(suite_id, finished_at);

-- A run of a session is one (task, repeat) step, asked of the session's models.
ALTER TABLE runs ADD COLUMN session_id INTEGER REFERENCES suite_sessions(id);
ALTER TABLE runs ADD COLUMN repeat INTEGER NOT NULL DEFAULT 0;
-- The task's kind (structural, algorithmic …) as it was when the run was made: routing advice
-- groups scores by it.
ALTER TABLE runs ADD COLUMN kind TEXT;

CREATE INDEX runs_session ON runs(session_id, task, repeat);
