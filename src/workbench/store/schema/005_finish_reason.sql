-- Why an answer's stream ended, in one spelling whatever the vendor (domain.normalise_finish_reason):
-- "length" for an answer cut off at the max-tokens cap, "context_window" for one that filled the
-- context, "stop" for a natural end. The status stays "ok" for a cut-off answer (SPEC I4 fixes
-- the statuses), so this column is what tells the two apart. NULL: not reported, or a row
-- written before this migration.
-- No semicolons inside comments: the migration runner splits statements on them.
ALTER TABLE answers ADD COLUMN finish_reason TEXT;
