/* db.h: PostgreSQL access with reconnect, and the versioned schema migrations.
 *
 * Every statement is parameterized. A statement outside a transaction that fails because
 * the connection broke is retried once on a fresh connection; inside a transaction the
 * error is returned as retriable and the caller redoes its unit of work. Notices from the
 * server go to common/log. */
#ifndef CX_DB_H
#define CX_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/error.h"

typedef struct cx_db cx_db;

/**
 * @brief Connect, retrying with backoff for up to @p timeout_s seconds (services come up
 *        in any order), logging each failed attempt.
 */
cx_db *cx_db_open(const char *dsn, int timeout_s, cx_err *err);

void cx_db_close(cx_db *db);

/**
 * @brief Run @p sql (session settings such as "SET statement_timeout = 5000") now and again
 *        on every reconnect, so that the setting outlives a replaced connection.
 */
int cx_db_set_session(cx_db *db, const char *sql, cx_err *err);

/**
 * @brief Run @p sql with @p n text parameters (NULL entries are SQL NULL).
 * @returns the result (caller PQclear()s it) when it is COMMAND_OK or TUPLES_OK; NULL with
 *          @p err otherwise (retriable for lost connections, serialization failures,
 *          deadlocks and lock timeouts).
 */
PGresult *cx_db_query(cx_db *db, const char *sql, int n, const char *const *params, cx_err *err);

/** @brief cx_db_query() for statements whose result is not needed. */
int cx_db_exec(cx_db *db, const char *sql, int n, const char *const *params, cx_err *err);

int cx_db_begin(cx_db *db, cx_err *err);
int cx_db_commit(cx_db *db, cx_err *err);
/** @brief Roll back if a transaction is open; never fails loudly. */
void cx_db_rollback(cx_db *db);

/** @brief Whether the connection is up (reconnecting first if it is not). */
bool cx_db_ping(cx_db *db);

PGconn *cx_db_conn(cx_db *db);

/**
 * @brief A number that changes whenever the connection was replaced by a new one: session
 *        state (advisory locks, SET) held under an older number is gone.
 */
unsigned long cx_db_generation(const cx_db *db);

/**
 * @brief Apply the migrations compiled in from migrations/ that are not applied yet, each in
 *        its own transaction, under an advisory lock so that two processes can run it at
 *        once and the second finds nothing to do. Safe to run any number of times.
 * @returns number of migrations applied, or -1.
 */
int cx_db_migrate(cx_db *db, cx_err *err);

/** @brief Highest migration version compiled into this binary. */
int cx_db_schema_version(void);

#endif
