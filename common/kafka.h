/* kafka.h: the producer and consumer every daemon uses (librdkafka).
 *
 * Producer: idempotent (no duplicates or reordering from retries), every delivery report
 * checked; cx_producer_flush() tells the caller whether everything sent so far is
 * acknowledged, which is the only moment a cursor may move. Optionally transactional, for
 * consume-transform-produce with the consumer's offsets inside the transaction.
 * Consumer: a consumer group with automatic commits off; the caller commits offsets once
 * the work behind them is done. Client logs go to common/log. */
#ifndef CX_KAFKA_H
#define CX_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "common/error.h"

/* Client properties from the environment: CX_KAFKA_PROPERTY_<NAME>=VALUE sets librdkafka's
 * property NAME on every client, for TLS and SASL against a managed Kafka. NAME is the
 * property in capitals with each '.' written '_' and each '_' written '__'
 * (CX_KAFKA_PROPERTY_SASL_PASSWORD is sasl.password, CX_KAFKA_PROPERTY_LOG__LEVEL is
 * log_level); CX_KAFKA_PROPERTY_<NAME>_FILE=PATH reads the value from a file instead. The
 * properties the connector relies on for exactly-once (bootstrap.servers, group.id,
 * transactional.id, enable.idempotence, acks, isolation.level, the commit settings) are
 * refused; every other one is applied after the connector's own defaults. */
#define CX_KAFKA_PROPERTY_PREFIX "CX_KAFKA_PROPERTY_"

/**
 * @brief Read every CX_KAFKA_PROPERTY_* variable of @p envp, check each against librdkafka
 *        and keep them for every client created afterwards (replacing any earlier set).
 *        Secret-looking values (passwords, secrets, private keys) are redacted from logs.
 * @returns 0, or -1 with @p err naming the variable and why it is refused.
 */
int cx_kafka_properties_load(char **envp, cx_err *err);

/** @brief Whether property @p name holds a secret (never logged). */
bool cx_kafka_property_is_secret(const char *name);

/**
 * @brief Apply the loaded properties to @p conf (for clients not made here, such as the
 *        replay tool's); call after setting the client's own defaults.
 */
int cx_kafka_apply_properties(rd_kafka_conf_t *conf, cx_err *err);

/** @brief The last authentication failure a client reported ("" when none), for start-up
 *         messages: a wrong SASL password must not read as "brokers not reachable". */
const char *cx_kafka_last_auth_error(void);

typedef struct cx_producer cx_producer;
typedef struct cx_consumer cx_consumer;

/**
 * @brief Create a producer. @p transactional_id non-NULL makes it transactional (and
 *        initialises transactions, fencing any older instance with the same id).
 */
cx_producer *cx_producer_new(const char *brokers, const char *transactional_id, cx_err *err);

/** @brief Queue one message (copied). Waits for room when the local queue is full. */
int cx_producer_send(cx_producer *p, const char *topic, const char *key, const void *value,
                     size_t len, cx_err *err);

/**
 * @brief Wait until every queued message is acknowledged.
 * @returns 0 when all deliveries since the previous flush succeeded; -1 when any failed or
 *          the time ran out (the caller must not advance anything that depends on them).
 */
int cx_producer_flush(cx_producer *p, int timeout_ms, cx_err *err);

/** @brief Begin a transaction (transactional producers only). */
int cx_producer_begin(cx_producer *p, cx_err *err);

/**
 * @brief Add @p c's current positions to the open transaction and commit it.
 *        On failure the transaction is aborted; err->retriable says whether to rewind and
 *        try again (an abortable error) or stop (fenced or fatal).
 */
int cx_producer_commit(cx_producer *p, cx_consumer *c, cx_err *err);

/** @brief Abort the open transaction. */
int cx_producer_abort(cx_producer *p, cx_err *err);

/** @brief Whether the producer hit a fatal error (for a transactional one: it was fenced);
 *         no transaction can succeed on it any more. */
bool cx_producer_fatal(cx_producer *p);

/** @brief Flush (up to 10 s, reporting what was not delivered) and destroy. */
void cx_producer_free(cx_producer *p);

rd_kafka_t *cx_producer_handle(cx_producer *p);

/**
 * @brief Join consumer group @p group on @p topics (NULL-terminated).
 * @param read_committed read only committed transactional messages.
 * @param from_beginning where a group without committed offsets starts.
 */
cx_consumer *cx_consumer_new(const char *brokers, const char *group, const char *const *topics,
                             bool read_committed, bool from_beginning, cx_err *err);

/**
 * @brief Next message, or NULL after @p timeout_ms. Consumer errors are logged and
 *        counted, not returned. The caller destroys the message with rd_kafka_message_destroy().
 */
rd_kafka_message_t *cx_consumer_poll(cx_consumer *c, int timeout_ms);

/**
 * @brief How many times a rebalance has taken partitions from @p c (logged as
 *        kafka.rebalance). A batch that saw this change must not commit: the messages it
 *        holds from a revoked partition are another instance's now.
 */
unsigned long cx_consumer_revocations(cx_consumer *c);

/** @brief Commit the offset after @p msg (synchronously). */
int cx_consumer_commit_message(cx_consumer *c, const rd_kafka_message_t *msg, cx_err *err);

/** @brief Commit explicit offsets (each the next offset to read). */
int cx_consumer_commit_offsets(cx_consumer *c, rd_kafka_topic_partition_list_t *offsets,
                               cx_err *err);

/** @brief Seek every assigned partition back to its committed offset (after an abort). */
int cx_consumer_rewind(cx_consumer *c, cx_err *err);

/** @brief Leave the group cleanly and destroy. */
void cx_consumer_close(cx_consumer *c);

rd_kafka_t *cx_consumer_handle(cx_consumer *c);

/** @brief Whether the client has seen broker metadata lately (for /readyz). */
bool cx_kafka_ready(rd_kafka_t *rk, int timeout_ms);

#endif
