-- Products (issue 13 item 2): which item a shop product was booked as. Ledger kind 'product',
-- keyed by the CCV product id, holds the item's GUID (exact_guid) and code (booked_head
-- {"Code"}), so a product deleted in the shop, which arrives as its id only, deactivates the
-- item it really is (docs/loader.md "After booking"). The constraint is extended as 0015
-- does, so kinds other migrations add survive.
DO $$
DECLARE
    def text;
    kinds text[];
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
     WHERE conname = 'ledger_kind_check' AND conrelid = 'ledger'::regclass;
    SELECT array_agg(m[1]) INTO kinds FROM regexp_matches(def, '''([a-z_]+)''', 'g') AS m;
    kinds := kinds || ARRAY['product'];
    ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
    EXECUTE (SELECT 'ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check CHECK (kind IN ('
                    || string_agg(DISTINCT quote_literal(k), ', ') || '))'
               FROM unnest(kinds) AS k);
END
$$;
