/* guard: the endpoint error guard. Exact blocks an app that gets 10 errors (400, 401, 403,
 * 404...) on one endpoint of a division within an hour, so the loader counts them per tenant
 * and endpoint in a sliding window and stops calling that endpoint itself, earlier, for the
 * window, and tells the operator (log line, sync-log row, exact_endpoint_blocks row, metric).
 * The count lives in memory per instance. */
#ifndef LOADER_GUARD_H
#define LOADER_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/db.h"

/** @brief Is @p endpoint blocked for @p tenant now? Then its end goes to @p until_ms. */
bool guard_blocked(const char *tenant, const char *endpoint, int64_t *until_ms);

/**
 * @brief Count an error answer of @p endpoint for @p tenant; at @p limit errors within
 *        @p window_ms the endpoint is blocked for the window (recorded through @p db).
 */
void guard_error(cx_db *db, const char *tenant, const char *endpoint, const char *message,
                 int limit, long window_ms);

/** @brief Forget every count and block (at exit). */
void guard_free(void);

#endif
