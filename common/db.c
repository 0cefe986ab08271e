#include "common/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/migrations.h"

/* Any constant will do, as long as nothing else in the database uses it. */
#define MIGRATION_LOCK_KEY "4242017001"

struct cx_db {
        PGconn *conn;
        char *dsn;
        char *session_sql; /* run on every new connection (cx_db_set_session) */
        bool in_tx;
        unsigned long generation; /* raised by every reconnect: session state is gone */
};

static void on_notice(void *arg, const char *message)
{
        char copy[512];

        snprintf(copy, sizeof(copy), "%s", message);
        copy[strcspn(copy, "\n")] = '\0';
        cx_log(CX_LOG_INFO, "pg.notice", "%s", copy);
}

static PGconn *connect_once(const char *dsn, char *why, size_t why_size)
{
        PGconn *c = PQconnectdb(dsn);

        if (PQstatus(c) == CONNECTION_OK) {
                PQsetNoticeProcessor(c, on_notice, NULL);
                /* Our promises (a cursor moves only after Kafka's acknowledgement, an intent is
                 * on disk before Exact sees the POST) need every commit to be durable when
                 * COMMIT returns, whatever the server's default: the chaos test doubled an
                 * order when a crashed server had dropped an acknowledged intent. */
                PQclear(PQexec(c, "SET synchronous_commit TO on"));
                return c;
        }
        snprintf(why, why_size, "%s", PQerrorMessage(c));
        why[strcspn(why, "\n")] = '\0';
        PQfinish(c);
        return NULL;
}

cx_db *cx_db_open(const char *dsn, int timeout_s, cx_err *err)
{
        cx_db *db = calloc(1, sizeof(*db));
        time_t deadline = time(NULL) + timeout_s;
        unsigned delay_ms = 200;
        char why[512] = "";

        if (!db || !(db->dsn = strdup(dsn))) {
                free(db);
                cx_fail(err, CX_ERR_DB, false, "out of memory");
                return NULL;
        }
        for (;;) {
                db->conn = connect_once(dsn, why, sizeof(why));
                if (db->conn)
                        return db;
                if (time(NULL) >= deadline)
                        break;
                cx_log(CX_LOG_WARN, "pg.connect_retry", "PostgreSQL not reachable yet: %s", why);
                usleep(delay_ms * 1000);
                delay_ms = delay_ms < 2000 ? delay_ms * 2 : 2000;
        }
        free(db->dsn);
        free(db);
        cx_fail(err, CX_ERR_DB, true, "cannot connect to PostgreSQL: %s", why);
        return NULL;
}

void cx_db_close(cx_db *db)
{
        if (!db)
                return;
        PQfinish(db->conn);
        free(db->session_sql);
        free(db->dsn);
        free(db);
}

int cx_db_set_session(cx_db *db, const char *sql, cx_err *err)
{
        char *copy = strdup(sql);

        if (!copy)
                return cx_fail(err, CX_ERR_DB, false, "out of memory");
        free(db->session_sql);
        db->session_sql = copy;
        return cx_db_exec(db, sql, 0, NULL, err);
}

static bool reconnect(cx_db *db)
{
        char why[512];
        PGconn *c;

        PQfinish(db->conn);
        db->conn = NULL;
        db->in_tx = false;
        c = connect_once(db->dsn, why, sizeof(why));
        if (!c) {
                cx_log(CX_LOG_WARN, "pg.reconnect_failed", "%s", why);
                return false;
        }
        db->conn = c;
        db->generation++;
        if (db->session_sql)
                PQclear(PQexec(c, db->session_sql));
        cx_log(CX_LOG_INFO, "pg.reconnected", "PostgreSQL connection re-established");
        return true;
}

static bool retriable_state(const char *state)
{
        /* 40001 serialization, 40P01 deadlock, 55P03 lock not available, 57P01 admin shutdown,
         * 08xxx connection exceptions. */
        return state &&
               (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03") ||
                !strncmp(state, "57P", 3) || !strncmp(state, "08", 2));
}

PGresult *cx_db_query(cx_db *db, const char *sql, int n, const char *const *params, cx_err *err)
{
        for (int attempt = 0; attempt < 2; attempt++) {
                PGresult *r;
                ExecStatusType st;
                const char *state;

                if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
                        if (db->in_tx || !reconnect(db)) {
                                db->in_tx = false;
                                cx_fail(err, CX_ERR_DB, true, "PostgreSQL connection lost");
                                return NULL;
                        }
                }
                r = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
                st = PQresultStatus(r);
                if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                        return r;
                state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                if (PQstatus(db->conn) != CONNECTION_OK && !db->in_tx && attempt == 0) {
                        PQclear(r);
                        continue; /* lost between statements: one more try on a new link */
                }
                cx_fail(err, CX_ERR_DB,
                        retriable_state(state) || PQstatus(db->conn) != CONNECTION_OK, "%s%s%s",
                        state ? state : "", state ? ": " : "", PQerrorMessage(db->conn));
                err ? (void)(err->msg[strcspn(err->msg, "\n")] = '\0') : (void)0;
                if (PQstatus(db->conn) != CONNECTION_OK)
                        db->in_tx = false;
                PQclear(r);
                return NULL;
        }
        return NULL;
}

int cx_db_exec(cx_db *db, const char *sql, int n, const char *const *params, cx_err *err)
{
        PGresult *r = cx_db_query(db, sql, n, params, err);

        if (!r)
                return -1;
        PQclear(r);
        return 0;
}

int cx_db_begin(cx_db *db, cx_err *err)
{
        if (cx_db_exec(db, "BEGIN", 0, NULL, err) < 0)
                return -1;
        db->in_tx = true;
        return 0;
}

int cx_db_commit(cx_db *db, cx_err *err)
{
        int rc = cx_db_exec(db, "COMMIT", 0, NULL, err);

        db->in_tx = false;
        return rc;
}

void cx_db_rollback(cx_db *db)
{
        if (db->conn && PQstatus(db->conn) == CONNECTION_OK)
                PQclear(PQexec(db->conn, "ROLLBACK"));
        db->in_tx = false;
}

bool cx_db_ping(cx_db *db)
{
        PGresult *r = cx_db_query(db, "SELECT 1", 0, NULL, NULL);

        if (!r)
                return false;
        PQclear(r);
        return true;
}

PGconn *cx_db_conn(cx_db *db)
{
        return db->conn;
}

unsigned long cx_db_generation(const cx_db *db)
{
        return db->generation;
}

int cx_db_schema_version(void)
{
        return cx_migrations_count ? cx_migrations[cx_migrations_count - 1].version : 0;
}

int cx_db_migrate(cx_db *db, cx_err *err)
{
        int applied = 0;

        if (cx_db_exec(db, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", 0, NULL, err) < 0)
                return -1;
        if (cx_db_exec(db,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       0, NULL, err) < 0)
                goto fail;
        for (size_t i = 0; i < cx_migrations_count; i++) {
                const struct cx_migration *m = &cx_migrations[i];
                char version[16];
                const char *params[2] = { version, m->name };
                PGresult *r;
                bool done;

                snprintf(version, sizeof(version), "%d", m->version);
                r = cx_db_query(db, "SELECT 1 FROM schema_migrations WHERE version = $1::int", 1,
                                params, err);
                if (!r)
                        goto fail;
                done = PQntuples(r) > 0;
                PQclear(r);
                if (done)
                        continue;
                if (cx_db_begin(db, err) < 0)
                        goto fail;
                /* A migration file may hold several statements: simple query protocol. */
                r = PQexec(db->conn, m->sql);
                if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
                        cx_fail(err, CX_ERR_DB, false, "migration %04d_%s: %s", m->version, m->name,
                                PQerrorMessage(db->conn));
                        PQclear(r);
                        cx_db_rollback(db);
                        goto fail;
                }
                PQclear(r);
                if (cx_db_exec(db,
                               "INSERT INTO schema_migrations (version, name) VALUES "
                               "($1::int, $2)",
                               2, params, err) < 0 ||
                    cx_db_commit(db, err) < 0) {
                        cx_db_rollback(db);
                        goto fail;
                }
                cx_log(CX_LOG_INFO, "pg.migrated", "applied migration %04d_%s", m->version,
                       m->name);
                applied++;
        }
        cx_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", 0, NULL, NULL);
        return applied;
fail:
        cx_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", 0, NULL, NULL);
        return -1;
}
