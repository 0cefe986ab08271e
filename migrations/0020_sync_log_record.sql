-- A record's own history (panel, admin CLI) and the replay check in cx_sync_log: the latest
-- line for one tenant, stage, entity and source id is found without reading the whole log.
CREATE INDEX sync_log_record ON sync_log (tenant_id, stage, entity, source_id, id DESC);
