#include "common/kafka.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "common/log.h"
#include "common/metrics.h"

struct cx_producer {
        rd_kafka_t *rk;
        bool transactional;
        pthread_mutex_t lock;
        long failed; /**< failed deliveries since the last flush */
        char last_error[256];
};

struct cx_consumer {
        rd_kafka_t *rk;
        atomic_ulong revocations; /* partitions taken away by rebalances so far */
};

/* The last refused login (SASL or TLS), for start-up messages. */
static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static char auth_error[512];

/* The client properties from the environment (cx_kafka_properties_load()). */
struct kafka_property {
        char *env;  /**< the variable it came from */
        char *name; /**< librdkafka's name */
        char *value;
};
static struct kafka_property *props;
static size_t n_props;
static atomic_bool props_logged;

/* Properties the connector sets itself and relies on (exactly once, its own offsets). */
static const char *const owned_properties[] = {
        "bootstrap.servers",
        "metadata.broker.list",
        "group.id",
        "transactional.id",
        "enable.idempotence",
        "acks",
        "request.required.acks",
        "isolation.level",
        "enable.auto.commit",
        "auto.commit.enable",
        "enable.auto.offset.store",
        "auto.offset.reset",
        NULL,
};

bool cx_kafka_property_is_secret(const char *name)
{
        return strstr(name, "password") || strstr(name, "secret") || !strcmp(name, "ssl.key.pem") ||
               !strcmp(name, "sasl.oauthbearer.config");
}

static void free_properties(struct kafka_property *list, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(list[i].env);
                free(list[i].name);
                free(list[i].value);
        }
        free(list);
}

/* CX_KAFKA_PROPERTY_SASL_MECHANISM -> sasl.mechanism; "__" is a literal '_'. */
static int property_name(const char *var, size_t len, char *out, size_t size)
{
        size_t o = 0;

        if (!len || var[0] == '_' || var[len - 1] == '_')
                return -1;
        for (size_t i = 0; i < len; i++) {
                char c = var[i];

                if (o + 1 >= size)
                        return -1;
                if (c == '_' && i + 1 < len && var[i + 1] == '_') {
                        out[o++] = '_';
                        i++;
                } else if (c == '_') {
                        out[o++] = '.';
                } else if (isalnum((unsigned char)c)) {
                        out[o++] = (char)tolower((unsigned char)c);
                } else {
                        return -1;
                }
        }
        out[o] = '\0';
        return 0;
}

static char *read_value_file(const char *var, const char *path, cx_err *err)
{
        FILE *f = fopen(path, "r");
        char *buf;
        size_t n;

        if (!f) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s: cannot read %s: %s", var, path,
                        strerror(errno));
                return NULL;
        }
        buf = malloc(65537);
        n = buf ? fread(buf, 1, 65537, f) : 0;
        fclose(f);
        if (!buf || n > 65536) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s: %s is larger than 64 KiB", var, path);
                free(buf);
                return NULL;
        }
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = '\0';
        if (!n || memchr(buf, '\0', n)) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s: %s %s", var, path,
                        n ? "holds a NUL byte" : "is empty");
                free(buf);
                return NULL;
        }
        return buf;
}

static const char *env_value(char **envp, const char *name)
{
        size_t len = strlen(name);

        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}

/* Check one NAME=VALUE against librdkafka; the message never shows a secret value. */
static int check_property(rd_kafka_conf_t *scratch, const struct kafka_property *p, cx_err *err)
{
        char errstr[512];
        rd_kafka_conf_res_t r;

        for (const char *const *o = owned_properties; *o; o++)
                if (!strcmp(p->name, *o))
                        return cx_fail(err, CX_ERR_CONFIG, false,
                                       "%s: %s is set by the connector itself and cannot be "
                                       "overridden%s",
                                       p->env, p->name,
                                       strstr(p->name, "broker") || strstr(p->name, "bootstrap")
                                               ? " (use CX_KAFKA_BROKERS)"
                                               : "");
        r = rd_kafka_conf_set(scratch, p->name, p->value, errstr, sizeof(errstr));
        if (r == RD_KAFKA_CONF_UNKNOWN)
                return cx_fail(err, CX_ERR_CONFIG, false,
                               "%s: librdkafka has no property \"%s\" (write each '.' as '_' "
                               "and each '_' as '__')",
                               p->env, p->name);
        if (r != RD_KAFKA_CONF_OK) {
                size_t n = strlen(errstr);

                while (n && isspace((unsigned char)errstr[n - 1]))
                        errstr[--n] = '\0';
                if (cx_kafka_property_is_secret(p->name) && *p->value && strstr(errstr, p->value))
                        snprintf(errstr, sizeof(errstr), "invalid value");
                return cx_fail(err, CX_ERR_CONFIG, false, "%s: librdkafka refuses %s: %s", p->env,
                               p->name, errstr);
        }
        return 0;
}

int cx_kafka_properties_load(char **envp, cx_err *err)
{
        const size_t plen = strlen(CX_KAFKA_PROPERTY_PREFIX);
        struct kafka_property *list = NULL;
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        size_t n = 0;

        for (char **e = envp; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                size_t len;
                bool from_file;
                char name[256], var[256];
                struct kafka_property *grown, *p;

                if (strncmp(*e, CX_KAFKA_PROPERTY_PREFIX, plen) != 0 || !eq || !eq[1])
                        continue;
                snprintf(var, sizeof(var), "%.*s", (int)(eq - *e), *e);
                len = strlen(var) - plen;
                from_file = len > 5 && !strcmp(var + strlen(var) - 5, "_FILE");
                if (property_name(var + plen, from_file ? len - 5 : len, name, sizeof(name)) < 0) {
                        cx_fail(err, CX_ERR_CONFIG, false,
                                "%s: not a property name (capitals, digits, '_' for '.', '__' "
                                "for '_')",
                                var);
                        goto fail;
                }
                if (from_file) {
                        char plain[256];
                        const char *both;

                        snprintf(plain, sizeof(plain), "%.*s", (int)(strlen(var) - 5), var);
                        both = env_value(envp, plain);
                        if (both && *both) {
                                cx_fail(err, CX_ERR_CONFIG, false,
                                        "%s and %s are both set: use one", plain, var);
                                goto fail;
                        }
                }
                grown = realloc(list, (n + 1) * sizeof(*list));
                if (!grown) {
                        cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
                        goto fail;
                }
                list = grown;
                p = &list[n++];
                p->env = strdup(var);
                p->name = strdup(name);
                p->value = from_file ? read_value_file(var, eq + 1, err) : strdup(eq + 1);
                if (!p->value && from_file)
                        goto fail;
                if (!p->env || !p->name || !p->value) {
                        cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
                        goto fail;
                }
                if (check_property(scratch, p, err) < 0)
                        goto fail;
        }
        rd_kafka_conf_destroy(scratch);
        for (size_t i = 0; i < n; i++)
                if (cx_kafka_property_is_secret(list[i].name))
                        cx_log_add_secret(list[i].value);
        free_properties(props, n_props);
        props = list;
        n_props = n;
        atomic_store(&props_logged, false);
        return 0;
fail:
        rd_kafka_conf_destroy(scratch);
        free_properties(list, n);
        return -1;
}

int cx_kafka_apply_properties(rd_kafka_conf_t *conf, cx_err *err)
{
        char errstr[512];

        if (n_props && !atomic_exchange(&props_logged, true)) {
                json_t *fields = json_object();

                for (size_t i = 0; i < n_props; i++)
                        json_object_set_new(fields, props[i].name,
                                            json_string(cx_kafka_property_is_secret(props[i].name)
                                                                ? "***"
                                                                : props[i].value));
                cx_log_fields(CX_LOG_INFO, "kafka.properties",
                              json_pack("{s:o}", "properties", fields),
                              "%zu Kafka client properties from the environment", n_props);
        }
        for (size_t i = 0; i < n_props; i++)
                if (rd_kafka_conf_set(conf, props[i].name, props[i].value, errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        return cx_fail(err, CX_ERR_CONFIG, false, "%s: librdkafka refuses %s",
                                       props[i].env, props[i].name);
        return 0;
}

const char *cx_kafka_last_auth_error(void)
{
        static char copy[512];

        pthread_mutex_lock(&auth_lock);
        snprintf(copy, sizeof(copy), "%s", auth_error);
        pthread_mutex_unlock(&auth_lock);
        return copy;
}

static void note_auth_error(const char *reason)
{
        pthread_mutex_lock(&auth_lock);
        snprintf(auth_error, sizeof(auth_error), "%s", reason);
        pthread_mutex_unlock(&auth_lock);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        cx_log_level lvl = level <= 3   ? CX_LOG_ERROR
                           : level <= 4 ? CX_LOG_WARN
                           : level <= 6 ? CX_LOG_INFO
                                        : CX_LOG_DEBUG;

        /* The client's own threads log a refused login at once; the error callback only
         * comes when the application polls, which nobody does while waiting at start. */
        if (!strcmp(fac, "FAIL") &&
            (strstr(buf, "SASL authentication error") || strstr(buf, "SSL handshake failed")))
                note_auth_error(buf);

        cx_log_fields(lvl, "kafka.client", json_pack("{s:s}", "facility", fac), "%s", buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
        bool auth = err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL;

        /* Wrong credentials or certificates: the client retries, but it is an error. */
        if (auth)
                note_auth_error(reason);
        /* Transport errors (broker down) are retried by the client; they are worth a warn. */
        cx_log_fields(fatal || auth ? CX_LOG_ERROR : CX_LOG_WARN,
                      auth ? "kafka.auth_failed" : "kafka.error",
                      json_pack("{s:s}", "code", rd_kafka_err2name((rd_kafka_resp_err_t)err)), "%s",
                      reason);
        cx_counter_add("cx_kafka_errors_total", "Kafka client errors", NULL, 1);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        cx_producer *p = opaque;

        if (!m->err) {
                cx_counter_add("cx_kafka_messages_delivered_total",
                               "Messages acknowledged by the broker", NULL, 1);
                return;
        }
        pthread_mutex_lock(&p->lock);
        p->failed++;
        snprintf(p->last_error, sizeof(p->last_error), "%s", rd_kafka_err2str(m->err));
        pthread_mutex_unlock(&p->lock);
        cx_counter_add("cx_kafka_delivery_failures_total", "Messages the broker did not accept",
                       NULL, 1);
        cx_log_fields(CX_LOG_ERROR, "kafka.delivery_failed",
                      json_pack("{s:s}", "topic", rd_kafka_topic_name(m->rkt)), "%s",
                      rd_kafka_err2str(m->err));
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, cx_err *err)
{
        char errstr[512];

        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
                return cx_fail(err, CX_ERR_CONFIG, false, "kafka %s=%s: %s", name, value, errstr);
        return 0;
}

static rd_kafka_conf_t *base_conf(const char *brokers, cx_err *err)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();

        rd_kafka_conf_set_log_cb(conf, on_log);
        rd_kafka_conf_set_error_cb(conf, on_error);
        if (set(conf, "bootstrap.servers", brokers, err) < 0 ||
            set(conf, "log.connection.close", "false", err) < 0 ||
            set(conf, "socket.keepalive.enable", "true", err) < 0) {
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        return conf;
}

static int txn_error(rd_kafka_error_t *e, const char *what, cx_err *err)
{
        bool retriable;
        int rc;

        if (!e)
                return 0;
        retriable = rd_kafka_error_is_retriable(e) || rd_kafka_error_txn_requires_abort(e);
        rc = cx_fail(err, CX_ERR_KAFKA, retriable && !rd_kafka_error_is_fatal(e), "%s: %s", what,
                     rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return rc;
}

bool cx_producer_fatal(cx_producer *p)
{
        return p && rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

cx_producer *cx_producer_new(const char *brokers, const char *transactional_id, cx_err *err)
{
        cx_producer *p = calloc(1, sizeof(*p));
        rd_kafka_conf_t *conf = base_conf(brokers, err);
        char errstr[512];

        if (!p || !conf)
                goto fail;
        pthread_mutex_init(&p->lock, NULL);
        rd_kafka_conf_set_opaque(conf, p);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        if (set(conf, "enable.idempotence", "true", err) < 0 || set(conf, "acks", "all", err) < 0 ||
            set(conf, "linger.ms", "5", err) < 0 || set(conf, "compression.type", "lz4", err) < 0)
                goto fail;
        if (transactional_id && (set(conf, "transactional.id", transactional_id, err) < 0 ||
                                 set(conf, "transaction.timeout.ms", "60000", err) < 0))
                goto fail;
        if (cx_kafka_apply_properties(conf, err) < 0)
                goto fail;
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!p->rk) {
                cx_fail(err, CX_ERR_KAFKA, false, "kafka producer: %s", errstr);
                goto fail;
        }
        conf = NULL; /* owned by p->rk now */
        if (transactional_id) {
                p->transactional = true;
                if (txn_error(rd_kafka_init_transactions(p->rk, 30000), "init transactions", err) <
                    0) {
                        rd_kafka_destroy(p->rk);
                        p->rk = NULL;
                        goto fail;
                }
        }
        return p;
fail:
        if (conf)
                rd_kafka_conf_destroy(conf);
        if (p)
                pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

int cx_producer_send(cx_producer *p, const char *topic, const char *key, const void *value,
                     size_t len, cx_err *err)
{
        for (;;) {
                rd_kafka_resp_err_t e = rd_kafka_producev(
                        p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                        RD_KAFKA_V_VALUE((void *)value, len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

                if (!e)
                        break;
                if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        return cx_fail(err, CX_ERR_KAFKA, false, "produce to %s: %s", topic,
                                       rd_kafka_err2str(e));
                /* Local queue full: serve delivery reports to make room, then try again. */
                rd_kafka_poll(p->rk, 100);
        }
        rd_kafka_poll(p->rk, 0);
        return 0;
}

int cx_producer_flush(cx_producer *p, int timeout_ms, cx_err *err)
{
        rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
        long failed;
        char last[256];

        pthread_mutex_lock(&p->lock);
        failed = p->failed;
        p->failed = 0;
        snprintf(last, sizeof(last), "%s", p->last_error);
        pthread_mutex_unlock(&p->lock);
        if (e)
                return cx_fail(err, CX_ERR_KAFKA, true,
                               "flush: %d message(s) not acknowledged in %d ms",
                               rd_kafka_outq_len(p->rk), timeout_ms);
        if (failed)
                return cx_fail(err, CX_ERR_KAFKA, true, "%ld message(s) not delivered: %s", failed,
                               last);
        return 0;
}

int cx_producer_begin(cx_producer *p, cx_err *err)
{
        return txn_error(rd_kafka_begin_transaction(p->rk), "begin transaction", err);
}

int cx_producer_commit(cx_producer *p, cx_consumer *c, cx_err *err)
{
        rd_kafka_topic_partition_list_t *assigned = NULL;
        rd_kafka_consumer_group_metadata_t *meta;
        rd_kafka_error_t *e;
        rd_kafka_resp_err_t re;

        re = rd_kafka_assignment(c->rk, &assigned);
        if (re) {
                cx_fail(err, CX_ERR_KAFKA, true, "assignment: %s", rd_kafka_err2str(re));
                goto abort;
        }
        rd_kafka_position(c->rk, assigned);
        meta = rd_kafka_consumer_group_metadata(c->rk);
        e = rd_kafka_send_offsets_to_transaction(p->rk, assigned, meta, -1);
        rd_kafka_consumer_group_metadata_destroy(meta);
        rd_kafka_topic_partition_list_destroy(assigned);
        if (txn_error(e, "send offsets to transaction", err) < 0)
                goto abort;
        if (txn_error(rd_kafka_commit_transaction(p->rk, -1), "commit transaction", err) < 0)
                goto abort;
        return 0;
abort:
        cx_producer_abort(p, NULL);
        return -1;
}

int cx_producer_abort(cx_producer *p, cx_err *err)
{
        return txn_error(rd_kafka_abort_transaction(p->rk, -1), "abort transaction", err);
}

void cx_producer_free(cx_producer *p)
{
        if (!p)
                return;
        if (p->rk) {
                rd_kafka_flush(p->rk, 10000);
                if (rd_kafka_outq_len(p->rk) > 0)
                        cx_log(CX_LOG_ERROR, "kafka.undelivered",
                               "%d message(s) were not delivered before shutdown",
                               rd_kafka_outq_len(p->rk));
                rd_kafka_destroy(p->rk);
        }
        pthread_mutex_destroy(&p->lock);
        free(p);
}

rd_kafka_t *cx_producer_handle(cx_producer *p)
{
        return p->rk;
}

/* librdkafka's statistics (statistics.interval.ms): each partition's consumer_lag, the
 * messages between the committed offset and the partition's end, as a gauge per topic and
 * partition (-1, not known, is not reported). */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        json_t *root = json_loadb(json, len, 0, NULL);
        json_t *topics = json_object_get(root, "topics"), *t;
        const char *tname;

        (void)rk;
        (void)opaque;
        json_object_foreach (topics, tname, t) {
                json_t *parts = json_object_get(t, "partitions"), *pv;
                const char *pname;

                json_object_foreach (parts, pname, pv) {
                        json_t *lag = json_object_get(pv, "consumer_lag");
                        char l[400];

                        if (!strcmp(pname, "-1") || !json_is_integer(lag) ||
                            json_integer_value(lag) < 0)
                                continue;
                        cx_metrics_label2(l, sizeof(l), "topic", tname, "partition", pname);
                        cx_gauge_set("cx_kafka_consumer_lag",
                                     "Messages between the committed offset and the end of the "
                                     "partition (librdkafka statistics)",
                                     l, (double)json_integer_value(lag));
                }
        }
        json_decref(root);
        return 0; /* librdkafka frees the text */
}

/* Each assignment and revocation is logged (operators and tests place events by them) and
 * counted, so that a transaction holding messages of revoked partitions is never committed
 * (cx_consumer_revocations). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        cx_consumer *c = opaque;
        bool cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
        bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        json_t *list = json_array();
        rd_kafka_error_t *e = NULL;
        rd_kafka_resp_err_t re = RD_KAFKA_RESP_ERR_NO_ERROR;

        for (int i = 0; parts && i < parts->cnt; i++) {
                char name[300];

                snprintf(name, sizeof(name), "%s[%d]", parts->elems[i].topic,
                         (int)parts->elems[i].partition);
                json_array_append_new(list, json_string(name));
        }
        if (!assign)
                atomic_fetch_add(&c->revocations, 1);
        cx_log_fields(CX_LOG_INFO, "kafka.rebalance",
                      json_pack("{s:s, s:o, s:s}", "phase", assign ? "assign" : "revoke",
                                "partitions", list, "reason", rd_kafka_err2name(err)),
                      "%s %d partition(s)", assign ? "assigned" : "revoked",
                      parts ? parts->cnt : 0);
        cx_counter_add("cx_kafka_rebalances_total", "Partition assignments and revocations", NULL,
                       1);
        if (cooperative)
                e = assign ? rd_kafka_incremental_assign(rk, parts)
                           : rd_kafka_incremental_unassign(rk, parts);
        else
                re = rd_kafka_assign(rk, assign ? parts : NULL);
        if (e || re)
                cx_log(CX_LOG_ERROR, "kafka.rebalance_failed", "%s",
                       e ? rd_kafka_error_string(e) : rd_kafka_err2str(re));
        if (e)
                rd_kafka_error_destroy(e);
}

unsigned long cx_consumer_revocations(cx_consumer *c)
{
        return atomic_load(&c->revocations);
}

cx_consumer *cx_consumer_new(const char *brokers, const char *group, const char *const *topics,
                             bool read_committed, bool from_beginning, cx_err *err)
{
        cx_consumer *c = calloc(1, sizeof(*c));
        rd_kafka_conf_t *conf = base_conf(brokers, err);
        rd_kafka_topic_partition_list_t *subs;
        rd_kafka_resp_err_t e;
        char errstr[512];

        if (!c || !conf)
                goto fail;
        if (set(conf, "group.id", group, err) < 0 ||
            set(conf, "enable.auto.commit", "false", err) < 0 ||
            set(conf, "enable.auto.offset.store", "false", err) < 0 ||
            set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest", err) < 0 ||
            set(conf, "isolation.level", read_committed ? "read_committed" : "read_uncommitted",
                err) < 0 ||
            set(conf, "session.timeout.ms", "10000", err) < 0 ||
            set(conf, "heartbeat.interval.ms", "1000", err) < 0 ||
            set(conf, "topic.metadata.refresh.interval.ms", "10000", err) < 0 ||
            set(conf, "statistics.interval.ms", "15000", err) < 0 ||
            cx_kafka_apply_properties(conf, err) < 0)
                goto fail;
        rd_kafka_conf_set_stats_cb(conf, on_stats);
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_opaque(conf, c);
        c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!c->rk) {
                cx_fail(err, CX_ERR_KAFKA, false, "kafka consumer: %s", errstr);
                goto fail;
        }
        conf = NULL;
        rd_kafka_poll_set_consumer(c->rk);
        subs = rd_kafka_topic_partition_list_new(4);
        for (const char *const *t = topics; *t; t++)
                rd_kafka_topic_partition_list_add(subs, *t, RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(c->rk, subs);
        rd_kafka_topic_partition_list_destroy(subs);
        if (e) {
                cx_fail(err, CX_ERR_KAFKA, false, "subscribe: %s", rd_kafka_err2str(e));
                rd_kafka_destroy(c->rk);
                goto fail;
        }
        return c;
fail:
        if (conf)
                rd_kafka_conf_destroy(conf);
        free(c);
        return NULL;
}

rd_kafka_message_t *cx_consumer_poll(cx_consumer *c, int timeout_ms)
{
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);

        if (!m)
                return NULL;
        if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        cx_log(CX_LOG_WARN, "kafka.consume_error", "%s",
                               rd_kafka_message_errstr(m));
                        cx_counter_add("cx_kafka_consume_errors_total",
                                       "Errors returned by the consumer", NULL, 1);
                }
                rd_kafka_message_destroy(m);
                return NULL;
        }
        return m;
}

int cx_consumer_commit_message(cx_consumer *c, const rd_kafka_message_t *msg, cx_err *err)
{
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        int rc;

        rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(msg->rkt), msg->partition)
                ->offset = msg->offset + 1;
        rc = cx_consumer_commit_offsets(c, l, err);
        rd_kafka_topic_partition_list_destroy(l);
        return rc;
}

int cx_consumer_commit_offsets(cx_consumer *c, rd_kafka_topic_partition_list_t *offsets,
                               cx_err *err)
{
        rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, offsets, 0);

        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
                return cx_fail(err, CX_ERR_KAFKA, true, "commit offsets: %s", rd_kafka_err2str(e));
        return 0;
}

int cx_consumer_rewind(cx_consumer *c, cx_err *err)
{
        rd_kafka_topic_partition_list_t *assigned = NULL;
        rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &assigned);

        if (e)
                return cx_fail(err, CX_ERR_KAFKA, true, "assignment: %s", rd_kafka_err2str(e));
        e = rd_kafka_committed(c->rk, assigned, 10000);
        if (!e) {
                for (int i = 0; i < assigned->cnt; i++) {
                        rd_kafka_topic_partition_t *tp = &assigned->elems[i];
                        rd_kafka_topic_t *rkt;

                        /* No committed offset yet: go back to where the group starts. */
                        if (tp->offset < 0)
                                tp->offset = RD_KAFKA_OFFSET_BEGINNING;
                        rkt = rd_kafka_topic_new(c->rk, tp->topic, NULL);
                        rd_kafka_seek(rkt, tp->partition, tp->offset, 10000);
                        rd_kafka_topic_destroy(rkt);
                }
        }
        rd_kafka_topic_partition_list_destroy(assigned);
        if (e)
                return cx_fail(err, CX_ERR_KAFKA, true, "committed offsets: %s",
                               rd_kafka_err2str(e));
        return 0;
}

void cx_consumer_close(cx_consumer *c)
{
        if (!c)
                return;
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
        free(c);
}

rd_kafka_t *cx_consumer_handle(cx_consumer *c)
{
        return c->rk;
}

bool cx_kafka_ready(rd_kafka_t *rk, int timeout_ms)
{
        const struct rd_kafka_metadata *md = NULL;
        bool ok = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR;

        if (md)
                rd_kafka_metadata_destroy(md);
        return ok && md;
}
