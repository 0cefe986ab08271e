-- Extractor state: cursors, what was published (content hashes), leases shared by the
-- extractor instances, webhook registrations and the webhook hints waiting to be fetched.

-- Where each tenant's incremental reads stand. entity: 'orders' (create_date of the last
-- order published, ISO 8601) or 'products' (highest modifydate seen in a completed pass).
CREATE TABLE extract_cursors (
    tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity      text NOT NULL,
    cursor      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity)
);

-- The last content published per resource, written only after Kafka acknowledged it.
-- head_hash is the hash of the order object alone, so an unchanged order is recognised
-- without fetching its rows again. event is the last event published ('upsert'/'cancelled').
CREATE TABLE extract_hashes (
    tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity        text NOT NULL CHECK (entity IN ('order', 'product', 'customer')),
    source_id     text NOT NULL,
    content_hash  text NOT NULL,
    head_hash     text NOT NULL DEFAULT '',
    event         text NOT NULL DEFAULT 'upsert' CHECK (event IN ('upsert', 'cancelled')),
    published_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, source_id)
);

-- One row per enabled tenant; the owner extracts it until expires_at. Free or expired rows
-- are taken with SELECT ... FOR UPDATE SKIP LOCKED.
CREATE TABLE extract_leases (
    tenant_id    text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    owner        text,
    expires_at   timestamptz NOT NULL DEFAULT '-infinity',
    acquired_at  timestamptz
);

-- Live extractor instances (heartbeat), so each takes a fair share of the tenants.
CREATE TABLE extract_instances (
    instance_id  text PRIMARY KEY,
    seen_at      timestamptz NOT NULL DEFAULT now()
);

-- Webhooks registered on the shop for a tenant (so a restart does not register them again).
CREATE TABLE extract_webhooks (
    tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event           text NOT NULL,
    address         text NOT NULL,
    hook_id         text NOT NULL DEFAULT '',
    hook_key_sealed text NOT NULL DEFAULT '',
    registered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event, address)
);

-- Webhook deliveries are hints: the lease owner re-fetches the resource and deletes the row
-- once what it published is acknowledged. Stored so any instance may receive the delivery.
CREATE TABLE extract_hints (
    id           bigserial PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity       text NOT NULL CHECK (entity IN ('order', 'product')),
    source_id    text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, entity, source_id)
);
