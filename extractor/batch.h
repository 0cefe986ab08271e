/* batch.h: the publish batch of one slice. Messages go to Kafka as the slice runs; what they
 * change (content hashes, the cursor, handled hints) is written only once Kafka acknowledged
 * all of them, in one transaction that also proves the lease is still ours. */
#ifndef CX_EXTRACTOR_BATCH_H
#define CX_EXTRACTOR_BATCH_H

#include "extractor/engine.h"

typedef struct ex_write {
        int entity;
        char *source_id;
        char hash[65];
        char head[65];
        const char *event;
} ex_write;

/* What a slice will write once Kafka has acknowledged what it sent. */
typedef struct ex_batch {
        ex_write *w;
        size_t n, cap;
        long long hint_ids[EX_HINTS_PER_SLICE];
        int n_hints;
        const char *cursor_entity; /* "orders" or "products", or NULL */
        char cursor[32];
        int sent;
        int counts[ENT_COUNT][4];
} ex_batch;

/** @brief The content hash of @p j: SHA-256 hex of its compact form with sorted keys. */
void ex_content_hash(const json_t *j, char out[65]);

/**
 * @brief What was last published for a resource: the batch first (not yet written), then
 *        the table.
 * @returns 1 found, 0 not found, -1 database error (err set).
 */
int ex_known_get(extractor *x, const ex_tenant *t, const ex_batch *b, int entity,
                 const char *source_id, char hash[65], char head[65], char event[12], cx_err *err);

/**
 * @brief Publish @p payload (borrowed) unless the same content was published last; @p head
 *        (orders: the hash of the order without rows) may be NULL.
 * @returns 1 published, 0 unchanged, -1 error (err set).
 */
int ex_publish(extractor *x, ex_tenant *t, ex_batch *b, int entity, const char *event,
               const char *source_id, json_t *payload, const char *head, cx_err *err);

/** @brief Send @p item (may be NULL) to the dead letters with @p reason; failures are logged. */
void ex_dead_letter(extractor *x, ex_tenant *t, int entity, const char *source_id,
                    const json_t *item, const char *reason);

/**
 * @brief Finish a slice: commit @p b (then freed), account, and say how it went.
 * @returns @p r when committed (*committed set; EX_DONE resets the backoff), else the
 *          failure reported against @p entity and @p resource.
 */
ex_rc ex_slice_end(extractor *x, ex_tenant *t, ex_batch *b, ex_rc r, const char *entity,
                   const char *resource, bool *committed);

#endif
