-- Transformer state: the intra-EU B2C sales counted towards the EUR 10,000 OSS threshold
-- (auto OSS mode). One row per order, so replaying an order never counts it twice.
CREATE TABLE oss_sales (
    tenant_id   text NOT NULL,
    year        integer NOT NULL,
    source_id   text NOT NULL,
    net_cents   bigint NOT NULL,
    counted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source_id)
);
CREATE INDEX oss_sales_tenant_year ON oss_sales (tenant_id, year);

-- A record replayed after a crash must not become a second open dead letter.
CREATE UNIQUE INDEX dead_letters_open_once
    ON dead_letters (tenant_id, stage, source_topic, source_id, md5(payload), md5(reason))
    WHERE state = 'open';
