-- Admin state: the OAuth state of a consent an operator started, so the answer can be checked
-- against it (one open consent per tenant; a new start replaces the old state).
CREATE TABLE admin_consents (
    tenant_id   text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    state       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
