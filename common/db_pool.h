/* db_pool.h: a few PostgreSQL connections shared by the threads of one daemon. A libpq
 * connection is not thread-safe, so each concurrent user takes a connection of its own and
 * gives it back; connections are opened when first needed, up to the pool's size, and a
 * taker waits a bounded time for one when all are busy. */
#ifndef CX_DB_POOL_H
#define CX_DB_POOL_H

#include "common/db.h"
#include "common/error.h"

typedef struct cx_db_pool cx_db_pool;

/**
 * @brief A pool of up to @p size connections to @p dsn; each new connection first runs
 *        @p session_sql (may be NULL), also after a reconnect (cx_db_set_session).
 */
cx_db_pool *cx_db_pool_new(const char *dsn, int size, const char *session_sql, cx_err *err);

/** @brief Close every connection. All must have been given back. */
void cx_db_pool_free(cx_db_pool *pool);

/**
 * @brief Take a connection, waiting up to @p wait_ms for one to be given back.
 * @returns the connection, or NULL: CX_ERR_LIMIT (retriable) when every connection stayed
 *          busy, CX_ERR_DB when a new one cannot be opened.
 */
cx_db *cx_db_pool_take(cx_db_pool *pool, long wait_ms, cx_err *err);

/** @brief Give @p db back (NULL is ignored); a transaction left open is rolled back. */
void cx_db_pool_give(cx_db_pool *pool, cx_db *db);

#endif
