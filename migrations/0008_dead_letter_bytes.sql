-- Dead letters keep the record's exact bytes. A Kafka message need not be valid UTF-8, which
-- neither JSON nor a text column can hold: payload_base64 is the message as received, and
-- payload a readable rendering of it (bytes that are not UTF-8 written as \xNN).
ALTER TABLE dead_letters ADD COLUMN payload_base64 text NOT NULL DEFAULT '';

-- A failure is one open item per record, stage and reason, whatever is replayed. The old key
-- held md5(payload), and a re-extraction gives the same order a new envelope (trace id), so a
-- replay opened it a second time. Records without a source id (messages that could not be
-- parsed) are still told apart by their bytes. Duplicates already open are dropped, keeping
-- the oldest.
UPDATE dead_letters d
   SET state = 'dropped', resolved_at = now(),
       resolution = 'duplicate of dead letter ' || k.keep || ' (migration 0008)'
  FROM (SELECT id, min(id) OVER (PARTITION BY tenant_id, stage, source_topic, source_id,
                                              md5(reason)) AS keep
          FROM dead_letters WHERE state = 'open' AND source_id <> '') k
 WHERE d.id = k.id AND k.id <> k.keep;

DROP INDEX dead_letters_open_once;
CREATE UNIQUE INDEX dead_letters_open_once_per_record
    ON dead_letters (tenant_id, stage, source_topic, source_id, md5(reason))
    WHERE state = 'open' AND source_id <> '';
CREATE UNIQUE INDEX dead_letters_open_once_per_bytes
    ON dead_letters (tenant_id, stage, source_topic, md5(payload), md5(payload_base64),
                     md5(reason))
    WHERE state = 'open' AND source_id = '';
