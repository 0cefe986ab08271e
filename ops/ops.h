/* ops: what every admin operation shares: the context (database, Kafka, the secret key),
 * the mapping from errors to the exit codes scripts rely on, and small helpers.
 *
 * The operations (ops_tenants, ops_mappings, ops_status, ops_replay, ops_deadletters,
 * ops_keys) are a library so that the CLI and a control panel run the same code. Each
 * returns 0/-1 or a new JSON reference/NULL and fills a cx_err whose code says what went
 * wrong: CX_ERR_PARSE or CX_ERR_CONFIG for bad input (exit 2), CX_ERR_INVALID for a request
 * refused in the current state (exit 3), CX_ERR_NOT_FOUND (exit 4), anything else 1. */
#ifndef OPS_H
#define OPS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "common/keyring.h"
#include "common/db.h"
#include "common/error.h"

/* A timestamptz column as "YYYY-MM-DDTHH:MM:SSZ" text, in SQL. */
#define OPS_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

enum {
        OPS_EXIT_OK = 0,
        OPS_EXIT_FAILURE = 1,
        OPS_EXIT_USAGE = 2,
        OPS_EXIT_REFUSED = 3,
        OPS_EXIT_NOT_FOUND = 4,
};

typedef struct ops_ctx {
        cx_db *db;
        const char *brokers;    /**< Kafka bootstrap servers; "" when not configured */
        cx_keyring *key;        /**< CX_SECRET_KEY's keys; NULL when not set */
        long http_timeout_ms;   /**< calls to Exact (consent, propose) */
        long token_timeout_ms;  /**< the token call of ops_exchange_code() */
        bool tls_insecure;      /**< ops_exchange_code() skips TLS verification (tests) */
        const char *http_hosts; /**< hosts tenant URLs may reach over plain http:// (demo) */
} ops_ctx;

/** @brief The exit code for an operation that failed with @p err. */
int ops_exit_code(const cx_err *err);

/**
 * @brief Rows of @p r as a JSON array of objects keyed by column name; integers, booleans,
 *        numerics and json/jsonb columns keep their types, NULL becomes null.
 * @returns a new reference, or NULL when out of memory.
 */
json_t *ops_rows_json(const PGresult *r);

/** @brief Row @p row of @p r as one object (as in ops_rows_json). */
json_t *ops_row_json(const PGresult *r, int row);

/**
 * @brief Fail with CX_ERR_PARSE unless @p id is a valid tenant id (lower-case letters,
 *        digits, '_' and '-', starting with a letter or digit, at most 63 characters).
 */
int ops_check_tenant_id(const char *id, cx_err *err);

/** @brief 0 when tenant @p id exists; -1 with CX_ERR_NOT_FOUND (or a database error). */
int ops_tenant_exists(ops_ctx *ctx, const char *id, cx_err *err);

/**
 * @brief Parse "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[Z|+HH:MM]" into seconds
 *        since the epoch and, when @p iso is not NULL, its "YYYY-MM-DDTHH:MM:SSZ" form.
 * @returns 0, or -1 with CX_ERR_PARSE naming the expected form.
 */
int ops_parse_time(const char *text, long long *epoch, char iso[32], cx_err *err);

/** @brief Record an operator action in the tenant's sync log (stage admin, status info). */
int ops_audit(ops_ctx *ctx, const char *tenant, const char *entity, const char *source_id,
              const char *message, cx_err *err);

/** @brief Fail with CX_ERR_CONFIG unless CX_SECRET_KEY was given. */
int ops_need_key(const ops_ctx *ctx, cx_err *err);

#endif
