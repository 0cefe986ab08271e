-- The shop's webhook key of a tenant, sealed like every *_sealed column (CX_SECRET_KEY, the
-- tenant id as context). Deliveries are verified with it when the webhooks were made by hand in
-- the shop backend; the webhooks the extractor registers keep their own key in
-- extract_webhooks.hook_key_sealed. Set with connector-admin tenants set-credentials
-- --webhook-key-file.
ALTER TABLE tenants ADD COLUMN webhook_key_sealed text NOT NULL DEFAULT '';
