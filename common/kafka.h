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
