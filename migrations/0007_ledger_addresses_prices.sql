-- Ledger kinds for delivery addresses (crm/Addresses, Type 4; key: account code + address
-- hash) and item prices (the usual logistics/SalesItemPrices row of an item; key: item code).
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('account', 'contact', 'item', 'sales_order', 'sales_invoice',
                    'address', 'item_price'));
