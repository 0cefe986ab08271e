-- Orders paid "on account" (bank transfer, pay later, B2B invoice terms) are completed sales
-- whose invoice is exactly what the customer pays against, so they must reach Exact unpaid:
-- an open receivable is the truth until the payment arrives (issue 13 item 3). New tenants
-- therefore book completed orders whether paid or not; abandoned baskets stay excluded by
-- is_completed, cancellations by status 8. Existing tenants keep the value they have (it may
-- have been chosen, and a change of what gets booked is the operator's decision):
--   connector-admin tenants update TENANT --require-paid false
ALTER TABLE tenants ALTER COLUMN bookable_require_paid SET DEFAULT false;
