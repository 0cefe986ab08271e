-- Invoicing after booking (issue 13 item 3): processing a sales invoice through
-- PrintedSalesInvoices is a second write after the invoice's POST, with a ledger row of its
-- own, so a crash between the two never processes twice nor leaves the invoice open; so is
-- invoicing a sales order on Exact's side (InvoiceSalesOrders), with the invoice's GUID.
ALTER TABLE ledger DROP CONSTRAINT ledger_kind_check;
ALTER TABLE ledger ADD CONSTRAINT ledger_kind_check
    CHECK (kind IN ('account', 'contact', 'item', 'sales_order', 'sales_invoice',
                    'address', 'item_price', 'invoice_print', 'order_invoice'));
