-- Payments (issue 13 item 4): a paid order's payment, and a refund's repayment, booked once as
-- a general journal entry (ledger kind 'payment', keyed by the order, or <order>/R<refund id>).
-- The refund's credit note is the ledger kind 'credit_note' (migration 0014 adds it too).
-- The constraint is extended rather than restated, so kinds other migrations add survive
-- whatever order they were merged in.
DO $$
DECLARE
    def text;
    kinds text[];
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
     WHERE conname = 'ledger_kind_check' AND conrelid = 'ledger'::regclass;
    SELECT array_agg(m[1]) INTO kinds FROM regexp_matches(def, '''([a-z_]+)''', 'g') AS m;
    kinds := kinds || ARRAY['payment', 'credit_note'];
    ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
    EXECUTE (SELECT 'ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('
                    || string_agg(DISTINCT quote_literal(k), ', ') || '))'
               FROM unnest(kinds) AS k);
END
$$;
