-- A copy of each administration's items and relations as the loader matches them (issue 15):
-- read once through Exact's sync endpoints (pages of 1000), then only what changed since the
-- highest Timestamp seen, at most every CX_LOADER_SNAPSHOT_REFRESH_S; the loader's own creates
-- and PUTs are written in as they happen. Look-ups before a write read these tables, not Exact.
CREATE TABLE exact_snapshot (
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    division     bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('account', 'item')),
    watermark    bigint NOT NULL DEFAULT 0, -- the highest Exact Timestamp of a complete read
    refreshed_at timestamptz,                -- when a read last completed (NULL: never)
    -- a read under way (more pages than one command's budget): where it goes on, and the
    -- highest Timestamp it has seen so far
    next_page    text,
    reading_mark bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, division, kind)
);

CREATE TABLE exact_snapshot_items (
    tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    division  bigint NOT NULL,
    id        text NOT NULL,
    code      text NOT NULL,
    PRIMARY KEY (tenant_id, division, id)
);
CREATE INDEX exact_snapshot_items_code ON exact_snapshot_items (tenant_id, division, code);

-- The members relation matching compares (loader/relations.c), as Exact holds them.
CREATE TABLE exact_snapshot_accounts (
    tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    division  bigint NOT NULL,
    id        text NOT NULL,
    code      text NOT NULL DEFAULT '',
    name      text NOT NULL DEFAULT '',
    email     text NOT NULL DEFAULT '',
    vat       text NOT NULL DEFAULT '',
    coc       text NOT NULL DEFAULT '',
    postcode  text NOT NULL DEFAULT '',
    blocked   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, division, id)
);
CREATE INDEX exact_snapshot_accounts_code ON exact_snapshot_accounts (tenant_id, division, code);
CREATE INDEX exact_snapshot_accounts_vat ON exact_snapshot_accounts (tenant_id, division, vat);
CREATE INDEX exact_snapshot_accounts_coc ON exact_snapshot_accounts (tenant_id, division, coc);
CREATE INDEX exact_snapshot_accounts_email ON exact_snapshot_accounts (tenant_id, division, email);
