-- VIES checks of customers' VAT numbers before 0% intra-community supplies (issue 18 item 1):
-- docs/vat-engine.md "VIES". Three tables: the answers VIES gave (a cache, per requester,
-- because a consultation number proves that requester's check), the consultation kept with
-- each order as evidence, and the orders waiting for VIES (held, or booked to be re-checked).

-- What VIES answered for a number. Only answers about the number are cached (valid or
-- invalid); "could not ask" never is. expires_at is set by the caller's policy.
CREATE TABLE vies_cache (
    country            text NOT NULL,          -- VIES country code (EL, XI, ...)
    number             text NOT NULL,          -- without the country prefix
    requester          text NOT NULL DEFAULT '', -- the tenant's own VAT number, or ''
    valid              boolean NOT NULL,
    request_identifier text NOT NULL DEFAULT '', -- the consultation number, '' without requester
    request_date       text NOT NULL DEFAULT '', -- as VIES wrote it (ISO 8601 UTC)
    name               text NOT NULL DEFAULT '',
    address            text NOT NULL DEFAULT '',
    checked_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    PRIMARY KEY (country, number, requester)
);

-- The VIES consultation behind an order's booking (or its refusal), newest per order.
CREATE TABLE vies_consultations (
    tenant_id          text NOT NULL,
    source_id          text NOT NULL,
    vat_number         text NOT NULL,          -- normalised, with prefix
    outcome            text NOT NULL CHECK (outcome IN ('valid', 'invalid', 'unavailable')),
    request_identifier text NOT NULL DEFAULT '',
    request_date       text NOT NULL DEFAULT '',
    error              text NOT NULL DEFAULT '', -- VIES's code when it could not answer
    policy             text NOT NULL DEFAULT '', -- vies_policy applied when unavailable
    from_cache         boolean NOT NULL DEFAULT false,
    at                 timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id)
);

-- Orders that wait for VIES: 'hold' (not booked; the shop event is produced again once VIES
-- answers) and 'recheck' (booked as ICP on the offline check; asked again for the record).
CREATE TABLE vies_pending (
    tenant_id   text NOT NULL,
    source_id   text NOT NULL,
    action      text NOT NULL CHECK (action IN ('hold', 'recheck')),
    vat_number  text NOT NULL,
    topic       text NOT NULL DEFAULT '',
    payload     bytea,                          -- the shop event as received (hold only)
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    next_at     timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id)
);
CREATE INDEX vies_pending_due ON vies_pending (next_at);
