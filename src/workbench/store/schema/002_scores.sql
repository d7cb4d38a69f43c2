-- Scores and blind rounds. Re-scoring inserts a new row: the history is kept and the latest
-- row (highest id) of an answer is the one that counts.
-- No semicolons inside comments: the migration runner splits statements on them.
ALTER TABLE runs ADD COLUMN blind INTEGER NOT NULL DEFAULT 0;

-- The pane label ("A", "B" …) shown instead of the model name while a blind run is hidden.
ALTER TABLE answers ADD COLUMN blind_label TEXT;

CREATE TABLE scores (
    id             INTEGER PRIMARY KEY,
    answer_id      INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    score          REAL NOT NULL CHECK (score BETWEEN 1 AND 10),
    correctness    REAL CHECK (correctness IS NULL OR correctness BETWEEN 1 AND 10),
    code_quality   REAL CHECK (code_quality IS NULL OR code_quality BETWEEN 1 AND 10),
    documentation  REAL CHECK (documentation IS NULL OR documentation BETWEEN 1 AND 10),
    edge_cases     REAL CHECK (edge_cases IS NULL OR edge_cases BETWEEN 1 AND 10),
    note           TEXT NOT NULL DEFAULT '',
    blind          INTEGER NOT NULL DEFAULT 0,
    scorer         TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    pid            INTEGER
);

CREATE INDEX scores_answer ON scores(answer_id);
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_task ON runs(task);
