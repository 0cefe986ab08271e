-- Retention (issue 15): the sync log and the resolved dead letters are pruned by age
-- (common/retention.c), across every tenant; these indexes let the pruner find the old rows
-- without reading the tables whole.
CREATE INDEX sync_log_at ON sync_log (at);
CREATE INDEX dead_letters_resolved_at ON dead_letters (resolved_at) WHERE state <> 'open';
