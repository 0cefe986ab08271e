-- Orders the extractor saw completed but not yet bookable (unpaid while the tenant books only
-- paid orders, or a status outside its list): re-read until they become bookable or reach
-- CX_EXTRACT_WATCH_DAYS, beyond the CX_EXTRACT_REREAD_DAYS window (issue 13, item 5).
CREATE TABLE extract_watch (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    order_id    text NOT NULL,
    created_at  timestamptz NOT NULL,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX extract_watch_due ON extract_watch (tenant_id, checked_at);

-- A product deleted in the shop is published once as event 'deleted'.
ALTER TABLE extract_hashes DROP CONSTRAINT extract_hashes_event_check;
ALTER TABLE extract_hashes ADD CONSTRAINT extract_hashes_event_check
    CHECK (event IN ('upsert', 'cancelled', 'deleted'));
