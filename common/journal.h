/* journal.h: what every stage tells the operator: sync-log rows and dead letters.
 *
 * A dead letter goes to the Kafka topic (CX_TOPIC_DEAD_LETTERS) with its reason and the
 * original payload, and to the dead_letters table, from which the admin CLI and the control
 * panel redrive it; both also leave a "failed" row in the tenant's sync log. */
#ifndef CX_JOURNAL_H
#define CX_JOURNAL_H

#include "common/db.h"
#include "common/error.h"
#include "common/kafka.h"

#define CX_TOPIC_SHOP_ORDERS "shop.orders"
#define CX_TOPIC_SHOP_PRODUCTS "shop.products"
#define CX_TOPIC_SHOP_CUSTOMERS "shop.customers"
#define CX_TOPIC_EXACT_COMMANDS "exact.commands"
#define CX_TOPIC_DEAD_LETTERS "dead.letters"

/** @brief Set the prefix that cx_topic() puts before every topic name (once, at start). */
void cx_topics_init(const char *prefix);

/** @brief The full name of topic @p base (one of the CX_TOPIC_* names), prefix included. */
const char *cx_topic(const char *base);

typedef struct cx_dead_letter {
        const char *tenant; /**< may be "" when the record named no tenant */
        const char *stage;  /**< "extract", "transform" or "load" */
        const char *source_topic;
        const char *source_id;
        const char *reason;  /**< what a person must fix */
        const char *payload; /**< the record as received: any bytes, not only UTF-8 */
        const char *trace_id;
        size_t payload_len; /**< bytes of @c payload; 0 means strlen(payload) */
} cx_dead_letter;

/** @brief @p len bytes as valid UTF-8 (malloc'd): bytes that are not UTF-8, and NUL, become
 *        "\xNN". NULL when out of memory. */
char *cx_readable_text(const void *bytes, size_t len);

/** @brief Base64 (RFC 4648, padded) of @p len bytes, malloc'd; NULL when out of memory. */
char *cx_base64(const void *bytes, size_t len);

/** @brief Decode base64 @p text into @p *out (malloc'd, caller frees).
 *  @returns the number of bytes, or -1 when @p text is empty, not base64, or memory ran out. */
long cx_base64_decode(const char *text, unsigned char **out);

/** @brief Add a row to the tenant's sync log (status "ok", "failed", "skipped", "info"). */
int cx_sync_log(cx_db *db, const char *tenant, const char *stage, const char *entity,
                const char *source_id, const char *status, const char *message,
                const char *trace_id, cx_err *err);

/**
 * @brief cx_sync_log(), unless the record's latest line is this same line with the same trace
 *        id. The transformer's batch is consumed again after an aborted Kafka transaction and
 *        decides the same again: the shop owner reads "booked" once, not once per attempt.
 */
int cx_sync_log_once(cx_db *db, const char *tenant, const char *stage, const char *entity,
                     const char *source_id, const char *status, const char *message,
                     const char *trace_id, cx_err *err);

/**
 * @brief Publish @p dl to the dead-letter topic (and wait for the broker's acknowledgement
 *        when @p producer is not transactional), then record it in PostgreSQL with a
 *        sync-log row. @p producer may be NULL to record in PostgreSQL only. The payload's
 *        exact bytes travel as "payload_base64"; "payload" and the text fields are made
 *        readable UTF-8, so any record can be dead-lettered. A record already open for the
 *        same tenant, stage, topic, source id and reason is not opened again.
 */
int cx_dead_letter_publish(cx_producer *producer, bool wait_ack, cx_db *db,
                           const cx_dead_letter *dl, cx_err *err);

#endif
