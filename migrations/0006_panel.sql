-- Control panel state: who may sign in, their sessions, and the failed sign-ins that slow
-- down and lock out password guessing. Passwords are stored only as Argon2id hashes
-- (libsodium crypto_pwhash_str); session cookies only as SHA-256 hashes.

CREATE TABLE panel_users (
    name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('operator', 'owner')),
    -- a shop owner sees exactly one tenant; an operator sees all of them
    tenant_id       text REFERENCES tenants(id) ON DELETE CASCADE,
    failed_logins   integer NOT NULL DEFAULT 0,
    last_failed_at  timestamptz,
    locked_until    timestamptz,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'owner') = (tenant_id IS NOT NULL))
);

CREATE TABLE panel_sessions (
    token_hash    text PRIMARY KEY,          -- sha256 hex of the cookie value
    user_name     text NOT NULL REFERENCES panel_users(name) ON DELETE CASCADE,
    csrf_token    text NOT NULL,             -- sent back in X-CSRF-Token on every change
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX panel_sessions_expires ON panel_sessions (expires_at);
CREATE INDEX panel_sessions_user ON panel_sessions (user_name);
