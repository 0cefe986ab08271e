#include "common/db_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define POOL_MAX 64

struct cx_db_pool {
        pthread_mutex_t lock;
        pthread_cond_t freed;
        char *dsn;
        char *session_sql;
        int size;
        int opened; /* connections made so far (idle + taken) */
        int n_idle;
        cx_db *idle[POOL_MAX];
};

cx_db_pool *cx_db_pool_new(const char *dsn, int size, const char *session_sql, cx_err *err)
{
        cx_db_pool *pool = calloc(1, sizeof(*pool));

        if (size < 1 || size > POOL_MAX) {
                free(pool);
                cx_fail(err, CX_ERR_CONFIG, false, "a database pool holds 1 to %d connections",
                        POOL_MAX);
                return NULL;
        }
        if (!pool || !(pool->dsn = strdup(dsn)) ||
            (session_sql && !(pool->session_sql = strdup(session_sql)))) {
                if (pool)
                        free(pool->dsn);
                free(pool);
                cx_fail(err, CX_ERR_DB, false, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&pool->lock, NULL);
        pthread_cond_init(&pool->freed, NULL);
        pool->size = size;
        return pool;
}

void cx_db_pool_free(cx_db_pool *pool)
{
        if (!pool)
                return;
        for (int i = 0; i < pool->n_idle; i++)
                cx_db_close(pool->idle[i]);
        pthread_cond_destroy(&pool->freed);
        pthread_mutex_destroy(&pool->lock);
        free(pool->session_sql);
        free(pool->dsn);
        free(pool);
}

static cx_db *open_one(cx_db_pool *pool, cx_err *err)
{
        cx_db *db = cx_db_open(pool->dsn, 0, err);

        if (db && pool->session_sql && cx_db_set_session(db, pool->session_sql, err) < 0) {
                cx_db_close(db);
                db = NULL;
        }
        return db;
}

cx_db *cx_db_pool_take(cx_db_pool *pool, long wait_ms, cx_err *err)
{
        struct timespec until;
        cx_db *db = NULL;
        int rc = 0;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&pool->lock);
        while (pool->n_idle == 0 && pool->opened == pool->size && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&pool->freed, &pool->lock, &until);
        if (pool->n_idle > 0) {
                db = pool->idle[--pool->n_idle];
                pthread_mutex_unlock(&pool->lock);
                return db;
        }
        if (pool->opened == pool->size) {
                pthread_mutex_unlock(&pool->lock);
                cx_fail(err, CX_ERR_LIMIT, true,
                        "all %d database connections stayed busy for %ld ms", pool->size, wait_ms);
                return NULL;
        }
        pool->opened++; /* reserve the place, then connect without holding the lock */
        pthread_mutex_unlock(&pool->lock);
        db = open_one(pool, err);
        if (!db) {
                pthread_mutex_lock(&pool->lock);
                pool->opened--;
                pthread_cond_signal(&pool->freed);
                pthread_mutex_unlock(&pool->lock);
        }
        return db;
}

void cx_db_pool_give(cx_db_pool *pool, cx_db *db)
{
        if (!db)
                return;
        if (PQtransactionStatus(cx_db_conn(db)) != PQTRANS_IDLE)
                cx_db_rollback(db); /* a handler that failed half-way */
        pthread_mutex_lock(&pool->lock);
        pool->idle[pool->n_idle++] = db;
        pthread_cond_signal(&pool->freed);
        pthread_mutex_unlock(&pool->lock);
}
