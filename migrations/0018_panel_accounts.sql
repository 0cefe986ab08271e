-- Control panel accounts a shop owner can run alone: an e-mail address per user (invites and
-- password resets go there), invited users who have not chosen a password yet, sessions with
-- an absolute end that activity never extends, and single-use links (invite, reset) stored
-- only as SHA-256 hashes.

ALTER TABLE panel_users ADD COLUMN email text
    CHECK (email IS NULL OR email ~ '^[^@[:space:]<>]+@[^@[:space:]<>]+$');
-- NULL: invited, no password chosen yet (no password matches)
ALTER TABLE panel_users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE panel_users ADD COLUMN invited_by text;
CREATE UNIQUE INDEX panel_users_email ON panel_users (lower(email)) WHERE email IS NOT NULL;

ALTER TABLE panel_sessions ADD COLUMN ends_at timestamptz NOT NULL
    DEFAULT now() + interval '12 hours';

CREATE TABLE panel_links (
    token_hash  text PRIMARY KEY,          -- sha256 hex of the token in the link
    purpose     text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    user_name   text NOT NULL REFERENCES panel_users(name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX panel_links_user ON panel_links (user_name);

-- E-mail notifications the panel sent (a new Exact consent needed, failures, the daily
-- summary): claimed here before sending, so that several replicas send each one once.
CREATE TABLE panel_notices (
    tenant_id  text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('consent', 'failures', 'summary')),
    key        text NOT NULL,     -- what it was about: the token's change, the last dead letter, the day
    last_id    bigint,            -- failures: the highest dead letter id it named
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, key)
);
