#include "common/journal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"

static char topic_prefix[64];
static char topic_names[8][128];
static const char *topic_bases[8];

void cx_topics_init(const char *prefix)
{
        snprintf(topic_prefix, sizeof(topic_prefix), "%s", prefix ? prefix : "");
        memset(topic_bases, 0, sizeof(topic_bases));
}

const char *cx_topic(const char *base)
{
        size_t i;

        /* A handful of fixed names: cache each full name the first time it is asked for. */
        for (i = 0; i < 8 && topic_bases[i]; i++)
                if (!strcmp(topic_bases[i], base))
                        return topic_names[i];
        if (i == 8)
                return base;
        snprintf(topic_names[i], sizeof(topic_names[i]), "%s%s", topic_prefix, base);
        topic_bases[i] = base;
        return topic_names[i];
}

int cx_sync_log(cx_db *db, const char *tenant, const char *stage, const char *entity,
                const char *source_id, const char *status, const char *message,
                const char *trace_id, cx_err *err)
{
        const char *params[7] = { tenant ? tenant : "",       stage,  entity ? entity : "",
                                  source_id ? source_id : "", status, message ? message : "",
                                  trace_id ? trace_id : "" };

        return cx_db_exec(db,
                          "INSERT INTO sync_log (tenant_id, stage, entity, source_id, status,"
                          " message, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                          7, params, err);
}

int cx_dead_letter_publish(cx_producer *producer, bool wait_ack, cx_db *db,
                           const cx_dead_letter *dl, cx_err *err)
{
        json_t *rec = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "tenant", dl->tenant ? dl->tenant : "",
                "stage", dl->stage, "source_topic", dl->source_topic ? dl->source_topic : "",
                "source_id", dl->source_id ? dl->source_id : "", "reason", dl->reason, "payload",
                dl->payload ? dl->payload : "", "trace_id", dl->trace_id ? dl->trace_id : "");
        char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        const char *params[7] = { dl->tenant ? dl->tenant : "",
                                  dl->stage,
                                  dl->source_topic ? dl->source_topic : "",
                                  dl->source_id ? dl->source_id : "",
                                  dl->reason,
                                  dl->payload ? dl->payload : "",
                                  dl->trace_id ? dl->trace_id : "" };
        int rc = -1;
        char label[160];

        json_decref(rec);
        if (!text) {
                /* Payloads that are not valid UTF-8 cannot travel as JSON strings. */
                return cx_fail(err, CX_ERR_PARSE, false, "dead letter is not valid UTF-8");
        }
        if (producer) {
                if (cx_producer_send(producer, cx_topic(CX_TOPIC_DEAD_LETTERS), dl->tenant, text,
                                     strlen(text), err) < 0)
                        goto out;
                if (wait_ack && cx_producer_flush(producer, 30000, err) < 0)
                        goto out;
        }
        if (cx_db_exec(db,
                       "INSERT INTO dead_letters (tenant_id, stage, source_topic, source_id,"
                       " reason, payload, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                       " ON CONFLICT DO NOTHING",
                       7, params, err) < 0)
                goto out;
        if (cx_sync_log(db, dl->tenant, dl->stage, dl->source_topic, dl->source_id, "failed",
                        dl->reason, dl->trace_id, err) < 0)
                goto out;
        cx_metrics_label(label, sizeof(label), "stage", dl->stage);
        cx_counter_add("cx_dead_letters_total", "Records sent to the dead-letter topic", label, 1);
        cx_log_fields(CX_LOG_WARN, "dead_letter",
                      json_pack("{s:s, s:s}", "tenant", dl->tenant ? dl->tenant : "", "source_id",
                                dl->source_id ? dl->source_id : ""),
                      "%s", dl->reason);
        rc = 0;
out:
        free(text);
        return rc;
}
