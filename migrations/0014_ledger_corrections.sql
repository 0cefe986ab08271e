-- Corrections after booking (issue 13 item 2, docs/loader.md "After booking"): what a
-- document booked, line by line with the shop's line keys, and the shop revision it booked,
-- so a correction mirrors the original whatever the rules say today; corrections are ledger
-- documents of their own (credit notes) that name the GUID of the document they correct.
ALTER TABLE ledger ADD COLUMN booked_head jsonb;     -- the posted header, GUIDs, no lines
ALTER TABLE ledger ADD COLUMN booked_lines jsonb;    -- [{"key", "line", "id"}]: posted lines
ALTER TABLE ledger ADD COLUMN shop_revision text;    -- the shop revision booked (sha256:...)
-- the Kafka timestamp (ms) of the command that booked that revision: a replayed older command
-- of another revision is not an edit
ALTER TABLE ledger ADD COLUMN revision_at bigint;
-- the revisions booked before the current one: a command of one of them again is a replay
-- (or a change back), left for a person rather than booked twice over
ALTER TABLE ledger ADD COLUMN past_revisions jsonb NOT NULL DEFAULT '[]';
ALTER TABLE ledger ADD COLUMN corrects text;         -- GUID of the corrected document
ALTER TABLE ledger ADD COLUMN cancelled boolean NOT NULL DEFAULT false;  -- sales order deleted
ALTER TABLE ledger ADD COLUMN revisions integer NOT NULL DEFAULT 0;      -- edits after invoicing

ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('account', 'contact', 'item', 'sales_order', 'sales_invoice',
                    'address', 'item_price', 'invoice_print', 'order_invoice', 'credit_note'));
