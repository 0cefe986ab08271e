/* ledger: what the loader created in Exact, per tenant, in PostgreSQL (migration 0004).
 *
 * Every write to Exact is preceded by an intent (state pending, intent_at set) and followed
 * by its outcome (done with the GUID, or failed with Exact's message). A pending row with an
 * intent is a write whose outcome is unknown: the entity must be looked up in Exact before
 * anything is written again. Also the budget and endpoint-block rows the status command
 * reads. */
#ifndef LOADER_LEDGER_H
#define LOADER_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/db.h"
#include "common/error.h"
#include "exact/ratelimit.h"

typedef enum ledger_state {
        LEDGER_ABSENT,
        LEDGER_PENDING,
        LEDGER_DONE,
        LEDGER_FAILED,
} ledger_state;

typedef struct ledger_row {
        ledger_state state;
        char guid[64];
        long long number;
        char content_hash[80];
        bool in_doubt; /**< an intent is recorded: a write's outcome is unknown */
        /** the latest moment that write may still have been on its way to Exact: when the
         *  loader gave up on its answer, else its intent plus the request timeout */
        int64_t intent_ms;
        int attempts;
} ledger_row;

/** @brief The content hash of a definition as the ledger stores it ("sha256:<hex>"). */
void ledger_content_hash(const json_t *def, char out[80]);

/** @brief Read one row. @returns 0 (state LEDGER_ABSENT when there is none) or -1. */
int ledger_get(cx_db *db, const char *tenant, const char *kind, const char *key, ledger_row *row,
               cx_err *err);

/**
 * @brief The row of the shop order @p key under whichever document kind it was booked
 *        (sales_order or sales_invoice): a tenant that switched kinds books an order once.
 *        A done row wins, then one in doubt, then the row of @p kind. @p booked_kind receives
 *        the row's kind (@p kind when there is none).
 */
int ledger_get_document(cx_db *db, const char *tenant, const char *kind, const char *key,
                        ledger_row *row, char booked_kind[32], cx_err *err);

/**
 * @brief Record the intent to write (pending, intent_at = now, attempts + 1), which may be
 *        on its way for up to @p timeout_ms; only while @p fence is the tenant's current
 *        fencing token (see ledger_try_lock_tenant).
 * @returns 0, 1 when the token is no longer current (another loader took the tenant: write
 *          nothing), or -1 with @p err.
 */
int ledger_intent(cx_db *db, const char *tenant, const char *kind, const char *key,
                  const char *lookup_ref, const char *trace, long long fence, long timeout_ms,
                  cx_err *err);

/** @brief The loader gave up on the answer of the write in doubt: it is on its way no more. */
int ledger_gave_up(cx_db *db, const char *tenant, const char *kind, const char *key, cx_err *err);

/** @brief The write did not happen (429, refused before sending): clear the intent. */
int ledger_clear_intent(cx_db *db, const char *tenant, const char *kind, const char *key,
                        const char *why, cx_err *err);

/** @brief The entity exists in Exact as @p guid (number may be < 0 for none). */
int ledger_done(cx_db *db, const char *tenant, const char *kind, const char *key, const char *guid,
                long long number, const char *hash, const char *trace, cx_err *err);

/** @brief Exact refused the write for good (4xx, or retries exhausted). */
int ledger_failed(cx_db *db, const char *tenant, const char *kind, const char *key, const char *why,
                  cx_err *err);

/**
 * @brief Serialize work on @p tenant across loader instances: a session advisory lock, and
 *        the tenant's fencing token raised into @p fence. The lock goes with the session (a
 *        reconnect loses it, cx_db_generation() tells); the token keeps a loader that lost
 *        it from recording intents once another loader took the tenant.
 */
bool ledger_try_lock_tenant(cx_db *db, const char *tenant, long long *fence);
void ledger_unlock_tenant(cx_db *db, const char *tenant);

/** @brief Store the budget and parking state of @p tenant for the status command. */
int ledger_save_budget(cx_db *db, const char *tenant, long division, const exact_budget *b,
                       int64_t parked_until_ms, const char *parked_reason, cx_err *err);

/** @brief Record that the loader stopped calling @p endpoint for @p tenant until a time. */
int ledger_save_block(cx_db *db, const char *tenant, const char *endpoint, int errors,
                      int64_t until_ms, const char *last_error, cx_err *err);

#endif
