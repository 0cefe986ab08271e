-- Loader: writes in doubt and the tenant lock (docs/reliability.md, "Loader and Exact").

-- The latest moment a write recorded as an intent may still be on its way to Exact: the
-- intent plus the loader's request timeout, or when the loader gave up on the answer. A write
-- in doubt is looked up only CX_LOADER_DOUBT_GRACE_MS after it.
ALTER TABLE ledger ADD COLUMN write_until timestamptz;

-- A fencing token per tenant, raised by every loader that takes the tenant's advisory lock.
-- An intent is recorded only with the current token, so a loader whose lock went with its
-- database session (a reconnect) cannot start a write after another one took over.
CREATE TABLE loader_fences (
    tenant_id  text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    token      bigint NOT NULL
);
