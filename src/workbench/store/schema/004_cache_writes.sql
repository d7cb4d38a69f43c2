-- Prompt-cache writes, the parts of an answer's input cost, the prices they were billed at and
-- why a failed call costs what it does. Money is TEXT holding a Decimal, as in 001.
-- input_cost_usd (001) now holds every input token's cost (uncached, cache reads, cache writes),
-- so that input_cost_usd + output_cost_usd = cost_usd. Rows written before this migration keep
-- 0 cache writes and NULL parts, which reads back as "not recorded".
-- No semicolons inside comments: the migration runner splits statements on them.
ALTER TABLE answers ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answers ADD COLUMN cached_input_cost_usd TEXT;
ALTER TABLE answers ADD COLUMN cache_write_cost_usd TEXT;
-- e.g. "not billed: failed before the answer" (meter.NOT_BILLED), NULL when usage or an estimate says
ALTER TABLE answers ADD COLUMN billing_note TEXT;
-- the prices in force when the answer started, beside input_per_m and the others of 001
ALTER TABLE answers ADD COLUMN cache_write_per_m TEXT;
ALTER TABLE answers ADD COLUMN above_tokens INTEGER;
ALTER TABLE answers ADD COLUMN input_above_per_m TEXT;
ALTER TABLE answers ADD COLUMN output_above_per_m TEXT;
ALTER TABLE answers ADD COLUMN cached_input_above_per_m TEXT;
ALTER TABLE answers ADD COLUMN cache_write_above_per_m TEXT;
