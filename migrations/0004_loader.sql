-- Loader state: the ledger of what exists in Exact Online, the per-tenant API budget the
-- admin status command shows, and endpoints the loader stopped calling after errors.

-- One row per thing the loader creates in Exact for a tenant. A row in state 'pending' with
-- intent_at set records a write whose outcome is not known yet: before writing again the
-- loader looks the entity up in Exact (Code for accounts and items, YourRef for documents).
CREATE TABLE ledger (
    tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind          text NOT NULL
                  CHECK (kind IN ('account', 'contact', 'item', 'sales_order', 'sales_invoice')),
    source_key    text NOT NULL,         -- account or item code, or the shop order id
    exact_guid    text,
    exact_number  bigint,                -- OrderNumber / InvoiceNumber when Exact gave one
    lookup_ref    text NOT NULL DEFAULT '',  -- YourRef or Code used to find it again
    content_hash  text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'done', 'failed')),
    intent_at     timestamptz,           -- set while a write's outcome is unknown
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text NOT NULL DEFAULT '',
    trace_id      text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, source_key)
);
CREATE INDEX ledger_pending ON ledger (tenant_id, state) WHERE state <> 'done';

-- Rate-limit budget per tenant as last seen in Exact's X-RateLimit-* headers, and whether
-- the loader parked the tenant (daily budget spent, endpoint blocked, waiting for consent).
CREATE TABLE exact_budget (
    tenant_id           text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    division            integer,
    minutely_limit      integer,
    minutely_remaining  integer,
    minutely_reset_at   timestamptz,
    daily_limit         integer,
    daily_remaining     integer,
    daily_reset_at      timestamptz,
    parked_until        timestamptz,
    parked_reason       text NOT NULL DEFAULT '',
    calls_total         bigint NOT NULL DEFAULT 0,
    rate_limited_total  bigint NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Endpoints the loader stopped calling for a tenant because errors piled up (Exact blocks
-- an app for an hour after 10 errors per endpoint per hour).
CREATE TABLE exact_endpoint_blocks (
    tenant_id      text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    endpoint       text NOT NULL,
    errors         integer NOT NULL,
    blocked_until  timestamptz NOT NULL,
    last_error     text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, endpoint)
);
