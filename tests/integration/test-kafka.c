/* The Kafka wrappers against the real broker: produce, flush with acknowledgement, consume in
 * a group, commit, and a transaction that is only visible to read_committed once committed. */
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/kafka.h"
#include "common/log.h"
#include "tests/testlib.h"

static const char *brokers;

static int consume_all(cx_consumer *c, const char *expect_key, int want, int timeout_s, bool commit)
{
        time_t deadline = time(NULL) + timeout_s;
        int got = 0;

        while (got < want && time(NULL) < deadline) {
                rd_kafka_message_t *m = cx_consumer_poll(c, 200);

                if (!m)
                        continue;
                if (m->key_len == strlen(expect_key) && !memcmp(m->key, expect_key, m->key_len))
                        got++;
                if (commit)
                        cx_consumer_commit_message(c, m, NULL);
                rd_kafka_message_destroy(m);
        }
        return got;
}

static void test_kafka_produce_then_consume(void)
{
        char topic[64], group[64], id[33];
        const char *topics[] = { topic, NULL };
        cx_err err;
        cx_producer *p;
        cx_consumer *c;

        T_FATAL(cx_random_id(id, &err) == 0, "%s", err.msg);
        snprintf(topic, sizeof(topic), "t-%s", id);
        snprintf(group, sizeof(group), "g-%s", id);
        p = cx_producer_new(brokers, NULL, &err);
        T_FATAL(p != NULL, "%s", err.msg);
        for (int i = 0; i < 100; i++) {
                char v[32];

                snprintf(v, sizeof(v), "{\"n\":%d}", i);
                T_EQ_INT(cx_producer_send(p, topic, "tenant-a", v, strlen(v), &err), 0);
        }
        T_ASSERT(cx_producer_flush(p, 30000, &err) == 0, "flush: %s", err.msg);
        c = cx_consumer_new(brokers, group, topics, true, true, &err);
        T_FATAL(c != NULL, "%s", err.msg);
        T_EQ_INT(consume_all(c, "tenant-a", 100, 60, true), 100);
        cx_consumer_close(c);
        /* Committed: the same group sees nothing new. */
        T_EQ_INT(cx_producer_send(p, topic, "tenant-a", "{\"n\":100}", 9, &err), 0);
        T_EQ_INT(cx_producer_flush(p, 30000, &err), 0);
        c = cx_consumer_new(brokers, group, topics, true, true, &err);
        T_EQ_INT(consume_all(c, "tenant-a", 2, 15, false), 1);
        cx_consumer_close(c);
        cx_producer_free(p);
}

static void test_kafka_transaction_visibility(void)
{
        char topic[64], id[33], group[64], txid[64];
        const char *topics[] = { topic, NULL };
        cx_err err;
        cx_producer *p;
        cx_consumer *c;

        T_FATAL(cx_random_id(id, &err) == 0, "%s", err.msg);
        snprintf(topic, sizeof(topic), "tx-%s", id);
        snprintf(txid, sizeof(txid), "txid-%s", id);
        p = cx_producer_new(brokers, txid, &err);
        T_FATAL(p != NULL, "%s", err.msg);
        /* Aborted messages never reach a read_committed reader. */
        T_EQ_INT(cx_producer_begin(p, &err), 0);
        T_EQ_INT(cx_producer_send(p, topic, "aborted", "x", 1, &err), 0);
        T_EQ_INT(cx_producer_flush(p, 30000, &err), 0);
        T_EQ_INT(cx_producer_abort(p, &err), 0);
        T_EQ_INT(cx_producer_begin(p, &err), 0);
        T_EQ_INT(cx_producer_send(p, topic, "committed", "y", 1, &err), 0);
        T_ASSERT(rd_kafka_commit_transaction(cx_producer_handle(p), 30000) == NULL, "commit");
        snprintf(group, sizeof(group), "g-%s", id);
        c = cx_consumer_new(brokers, group, topics, true, true, &err);
        T_EQ_INT(consume_all(c, "committed", 1, 60, false), 1);
        cx_consumer_close(c);
        snprintf(group, sizeof(group), "g2-%s", id);
        c = cx_consumer_new(brokers, group, topics, true, true, &err);
        T_EQ_INT(consume_all(c, "aborted", 1, 8, false), 0);
        cx_consumer_close(c);
        cx_producer_free(p);
}

static void test_kafka_unreachable_broker_fails_flush(void)
{
        cx_err err;
        cx_producer *p = cx_producer_new("127.0.0.1:1", NULL, &err);

        T_FATAL(p != NULL, "%s", err.msg);
        T_EQ_INT(cx_producer_send(p, "nowhere", "k", "v", 1, &err), 0);
        T_EQ_INT(cx_producer_flush(p, 1500, &err), -1);
        T_CONTAINS(err.msg, "not acknowledged");
        rd_kafka_purge(cx_producer_handle(p), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        cx_producer_free(p);
}

int main(void)
{
        brokers = t_need_env("TEST_KAFKA_BROKERS");
        cx_log_init("test-kafka", CX_LOG_ERROR);
        T_RUN(test_kafka_produce_then_consume);
        T_RUN(test_kafka_transaction_visibility);
        T_RUN(test_kafka_unreachable_broker_fails_flush);
        return t_done();
}
