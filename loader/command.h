/* command: one exact.commands message from Kafka to Exact Online, exactly once.
 *
 * A command names its tenant, its kind (sales_order, sales_invoice, account_upsert,
 * item_upsert) and carries the account and item definitions and the document, which refers
 * to accounts and items by code (docs/commands.md). The loader validates it, resolves the
 * codes to GUIDs through the ledger (creating what is missing), and posts the document with
 * its lines in one call. Whatever stops a command (budget, a block, a write in doubt) makes it
 * wait and start over: every step is idempotent through the ledger. */
#ifndef LOADER_COMMAND_H
#define LOADER_COMMAND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/http_client.h"
#include "common/kafka.h"
#include "exact/token.h"
#include "loader/scheduler.h"

typedef struct loader_cfg {
        long http_timeout_ms;  /**< REST calls */
        long token_timeout_ms; /**< token calls (long: an answer lost may burn a token) */
        int max_attempts;      /**< tries of a command before it is dead-lettered */
        long backoff_base_ms;
        long backoff_max_ms;
        long skew_ms;             /**< margin after a rate-limit reset time */
        long grace_ms;            /**< wait after a write in doubt before looking it up */
        int endpoint_error_limit; /**< errors per endpoint per window before we stop calling */
        long error_window_ms;
        bool tls_insecure;
        bool snapshot;           /**< look-ups read the snapshot of Exact's master data */
        long snapshot_refresh_s; /**< how old a snapshot may be before it is refreshed */
} loader_cfg;

typedef struct loader_shared {
        loader_cfg cfg;
        cx_producer *producer; /**< dead letters; may be NULL (PostgreSQL only) */
        pthread_mutex_t dl_lock;
        cx_keyring *key; /**< CX_SECRET_KEY's keys or NULL */
} loader_shared;

typedef struct worker {
        loader_shared *sh;
        cx_db *db;
        cx_http_client *http;
        exact_token_ctx tok;
} worker;

/**
 * @brief Process job @p j. Sets @p outcome: JOB_DONE (loaded, skipped or dead-lettered), or
 *        JOB_LATER with @p until_ms and a short @p reason (budget spent, endpoint blocked,
 *        write in doubt, backoff). Never fails: every problem ends in one of those.
 */
void command_run(worker *w, job *j, job_outcome *outcome, int64_t *until_ms, char *reason,
                 size_t reason_size);

/** @brief Free the per-division caches (VAT codes, item groups, G/L accounts) at exit. */
void command_caches_free(void);

#endif
