/* Migrations against the real PostgreSQL: applied twice, and from four processes at once,
 * leave exactly one schema with every version recorded once. */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/log.h"
#include "common/migrations.h"
#include "tests/testlib.h"

static char dsn[512];

static void make_database(const char *admin_dsn)
{
        char id[33], name[48], sql[128];
        cx_err err;
        cx_db *db = cx_db_open(admin_dsn, 10, &err);

        T_FATAL(db != NULL, "%s", err.msg);
        T_FATAL(cx_random_id(id, &err) == 0, "%s", err.msg);
        snprintf(name, sizeof(name), "t_migrate_%.12s", id);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
        T_FATAL(cx_db_exec(db, sql, 0, NULL, &err) == 0, "%s", err.msg);
        cx_db_close(db);
        snprintf(dsn, sizeof(dsn), "%s dbname=%s", admin_dsn, name);
}

static long count(cx_db *db, const char *sql)
{
        PGresult *r = cx_db_query(db, sql, 0, NULL, NULL);
        long n = r ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;

        PQclear(r);
        return n;
}

static void test_migrate_concurrently_and_twice(void)
{
        cx_err err;
        cx_db *db;
        pid_t kids[4];
        int status, total;

        for (int i = 0; i < 4; i++) {
                kids[i] = fork();
                if (kids[i] == 0) {
                        cx_db *mine = cx_db_open(dsn, 10, NULL);
                        int n = mine ? cx_db_migrate(mine, NULL) : -1;

                        cx_db_close(mine);
                        _exit(n < 0 ? 100 : n);
                }
        }
        total = 0;
        for (int i = 0; i < 4; i++) {
                waitpid(kids[i], &status, 0);
                T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) != 100, "child failed");
                total += WEXITSTATUS(status);
        }
        /* Exactly one process did the work, the others found nothing to do. */
        T_EQ_INT(total, cx_migrations_count);
        db = cx_db_open(dsn, 10, &err);
        T_FATAL(db != NULL, "%s", err.msg);
        T_EQ_INT(count(db, "SELECT count(*) FROM schema_migrations"), total);
        T_EQ_INT(cx_db_migrate(db, &err), 0);
        T_EQ_INT(count(db, "SELECT count(*) FROM schema_migrations"), total);
        T_EQ_INT(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenants'"), 1);
        T_EQ_INT(count(db, "SELECT max(version) FROM schema_migrations"), cx_db_schema_version());
        cx_db_close(db);
}

static void test_db_bad_sql_and_parameters(void)
{
        cx_err err;
        cx_db *db = cx_db_open(dsn, 10, &err);
        const char *evil[] = { "x'); DROP TABLE tenants; --" };
        PGresult *r;

        r = cx_db_query(db, "SELECT $1::text", 1, evil, &err);
        T_FATAL(r != NULL, "%s", err.msg);
        T_EQ_STR(PQgetvalue(r, 0, 0), evil[0]);
        PQclear(r);
        T_ASSERT(cx_db_query(db, "SELEC nonsense", 0, NULL, &err) == NULL, "bad SQL ran");
        T_CONTAINS(err.msg, "42601");
        T_ASSERT(!err.retriable, "syntax errors are not retriable");
        T_EQ_INT(count(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenants'"), 1);
        cx_db_close(db);
}

static void test_db_commits_are_durable_whatever_the_server_default(void)
{
        cx_err err;
        cx_db *db = cx_db_open(dsn, 10, &err);
        PGresult *r;

        T_FATAL(db != NULL, "%s", err.msg);
        /* The test cluster runs with synchronous_commit=off; our sessions must not. */
        r = cx_db_query(db, "SHOW synchronous_commit", 0, NULL, &err);
        T_FATAL(r != NULL, "%s", err.msg);
        T_EQ_STR(PQgetvalue(r, 0, 0), "on");
        PQclear(r);
        cx_db_close(db);
}

static void test_db_unreachable_fails_within_timeout(void)
{
        cx_err err;
        time_t start = time(NULL);

        T_ASSERT(cx_db_open("host=127.0.0.1 port=1 dbname=x connect_timeout=1", 2, &err) == NULL,
                 "connected to nothing");
        T_ASSERT(time(NULL) - start < 10, "took too long");
        T_CONTAINS(err.msg, "cannot connect");
}

int main(void)
{
        cx_log_init("test-migrate", CX_LOG_ERROR);
        make_database(t_need_env("TEST_PG_DSN"));
        T_RUN(test_migrate_concurrently_and_twice);
        T_RUN(test_db_bad_sql_and_parameters);
        T_RUN(test_db_commits_are_durable_whatever_the_server_default);
        T_RUN(test_db_unreachable_fails_within_timeout);
        return t_done();
}
