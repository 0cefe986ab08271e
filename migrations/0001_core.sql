-- Core state shared by every daemon: tenants, their credentials, the sync log and dead letters.
-- Secrets are stored sealed (AES-256-GCM, see common/crypto.h) with the tenant id as context.

CREATE TABLE tenants (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                text NOT NULL DEFAULT '',
    enabled             boolean NOT NULL DEFAULT true,
    -- CCV Shop: the shop's API root is shop_base_url || '/api/rest/v1'
    shop_base_url       text NOT NULL,
    shop_public_key     text NOT NULL,
    shop_secret_sealed  text NOT NULL,
    sync_entities       text[] NOT NULL DEFAULT '{orders,products,customers}',
    -- which orders may be booked: completed, and paid unless the tenant books unpaid ones
    bookable_require_paid boolean NOT NULL DEFAULT true,
    bookable_statuses   integer[] NOT NULL DEFAULT '{}',   -- empty: any status of a completed order
    extract_from        timestamptz,                      -- first order date to extract
    -- Exact Online: one division per tenant
    exact_base_url      text NOT NULL DEFAULT 'https://start.exactonline.nl',
    exact_division      integer,
    exact_client_id     text,
    exact_client_secret_sealed text,
    exact_redirect_uri  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Exact tokens; the loader refreshes under SELECT ... FOR UPDATE on this row.
CREATE TABLE exact_tokens (
    tenant_id             text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    access_token_sealed   text,
    refresh_token_sealed  text,
    access_expires_at     timestamptz,
    state                 text NOT NULL DEFAULT 'needs_consent'
                          CHECK (state IN ('ok', 'needs_consent')),
    state_reason          text NOT NULL DEFAULT '',
    refreshed_at          timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Mapping rules per tenant, in the rules-file format of docs (validated by the transformer's
-- rules module before they are stored). version grows with every change.
CREATE TABLE mapping_rules (
    tenant_id   text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    rules       jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What happened, per tenant, for operators, the admin CLI and the control panel.
CREATE TABLE sync_log (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    stage       text NOT NULL CHECK (stage IN ('extract', 'transform', 'load', 'admin')),
    entity      text NOT NULL DEFAULT '',
    source_id   text NOT NULL DEFAULT '',
    status      text NOT NULL CHECK (status IN ('ok', 'failed', 'skipped', 'info')),
    message     text NOT NULL DEFAULT '',
    trace_id    text NOT NULL DEFAULT ''
);
CREATE INDEX sync_log_tenant_at ON sync_log (tenant_id, at DESC);
CREATE INDEX sync_log_tenant_status ON sync_log (tenant_id, status, at DESC);

-- Records no stage could use, with the reason; the same record went to the dead-letter topic.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    tenant_id     text NOT NULL,
    stage         text NOT NULL,
    source_topic  text NOT NULL DEFAULT '',
    source_id     text NOT NULL DEFAULT '',
    reason        text NOT NULL,
    payload       text NOT NULL,
    trace_id      text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'redriven', 'dropped')),
    resolved_at   timestamptz,
    resolution    text NOT NULL DEFAULT ''
);
CREATE INDEX dead_letters_tenant_state ON dead_letters (tenant_id, state, created_at DESC);
