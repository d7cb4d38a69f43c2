-- Runs and answers. Money is stored as TEXT holding a Decimal, never a float.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    created_at    TEXT NOT NULL,
    prompt        TEXT NOT NULL,
    system        TEXT NOT NULL DEFAULT '',
    params_json   TEXT NOT NULL DEFAULT '{}',
    task          TEXT,
    suite         TEXT,
    source        TEXT NOT NULL DEFAULT 'tui'
);

CREATE TABLE answers (
    id                  INTEGER PRIMARY KEY,
    run_id              INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model_id            TEXT NOT NULL,
    model_name          TEXT NOT NULL,
    provider            TEXT NOT NULL,
    upstream_model      TEXT NOT NULL,
    served_model        TEXT,
    status              TEXT NOT NULL,
    text                TEXT NOT NULL DEFAULT '',
    reasoning           TEXT NOT NULL DEFAULT '',
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    reasoning_tokens    INTEGER,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    tokens_exact        INTEGER NOT NULL DEFAULT 0,
    cost_usd            TEXT,
    input_cost_usd      TEXT,
    output_cost_usd     TEXT,
    reported_cost_usd   TEXT,
    input_per_m         TEXT,
    output_per_m        TEXT,
    cached_input_per_m  TEXT,
    temperature         REAL,
    ttft_ms             INTEGER,
    duration_ms         INTEGER,
    error_kind          TEXT,
    error_message       TEXT,
    http_status         INTEGER,
    pid                 INTEGER,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE INDEX answers_run ON answers(run_id);
CREATE INDEX answers_model ON answers(model_id);
