/* ops_synclog: reading a tenant's sync log (the per-tenant events every stage and every
 * operator action write): a filtered, paged search, and the latest successful entry. Read
 * only; the callers check and convert their input (see ops_synclog_filter). */
#ifndef OPS_SYNCLOG_H
#define OPS_SYNCLOG_H

#include <jansson.h>

#include "ops/ops.h"

/* What to look for; NULL members do not filter. */
typedef struct ops_synclog_filter {
        const char *status; /**< ok, failed, skipped or info */
        const char *stage;  /**< extract, transform, load or admin */
        const char *entity;
        const char *text;   /**< a source id, a trace id, or words in the message */
        const char *before; /**< entries with a smaller id than this (paging) */
        const char *since;  /**< at or after this time (ISO 8601, see ops_parse_time()) */
        const char *until;  /**< before this time */
        long long limit;    /**< at most this many entries */
} ops_synclog_filter;

/**
 * @brief The entries of @p tenant that match @p f, newest first: [{id, at, stage, entity,
 *        source_id, status, message, trace_id, warnings, vies}]: warnings = the VAT engine's
 *        review warnings of the message, vies = the order's VIES consultation
 *        {vat_number, outcome, consultation, date, error, policy} on transform entries of
 *        orders (null otherwise).
 * @returns a new array, or NULL with a database error.
 */
json_t *ops_synclog_list(ops_ctx *ctx, const char *tenant, const ops_synclog_filter *f,
                         cx_err *err);

/** @brief When @p tenant last had an `ok` entry: a new string, or JSON null (none, or error). */
json_t *ops_synclog_last_ok(ops_ctx *ctx, const char *tenant);

#endif
