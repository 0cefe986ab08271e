/* batch.c: the publish batch of one slice (see batch.h). */
#include "extractor/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/iso8601.h"
#include "common/journal.h"
#include "common/metrics.h"

void ex_content_hash(const json_t *j, char out[65])
{
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

        cx_sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
        free(text);
}

static void batch_free(ex_batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->w[i].source_id);
        free(b->w);
        memset(b, 0, sizeof(*b));
}

static int batch_add(ex_batch *b, int entity, const char *source_id, const char *hash,
                     const char *head, const char *event)
{
        ex_write *w;

        if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 32;
                ex_write *nw = realloc(b->w, cap * sizeof(*nw));

                if (!nw)
                        return -1;
                b->w = nw;
                b->cap = cap;
        }
        w = &b->w[b->n];
        w->source_id = strdup(source_id);
        if (!w->source_id)
                return -1;
        w->entity = entity;
        snprintf(w->hash, sizeof(w->hash), "%s", hash);
        snprintf(w->head, sizeof(w->head), "%s", head ? head : "");
        w->event = event;
        b->n++;
        return 0;
}

int ex_known_get(extractor *x, const ex_tenant *t, const ex_batch *b, int entity,
                 const char *source_id, char hash[65], char head[65], char event[12], cx_err *err)
{
        const char *params[3] = { t->id, ex_ent_names[entity], source_id };
        PGresult *r;

        for (size_t i = b->n; i-- > 0;) {
                if (b->w[i].entity == entity && !strcmp(b->w[i].source_id, source_id)) {
                        snprintf(hash, 65, "%s", b->w[i].hash);
                        snprintf(head, 65, "%s", b->w[i].head);
                        snprintf(event, 12, "%s", b->w[i].event);
                        return 1;
                }
        }
        r = cx_db_query(x->db,
                        "SELECT content_hash, head_hash, event FROM extract_hashes "
                        "WHERE tenant_id = $1 AND entity = $2 AND source_id = $3",
                        3, params, err);
        if (!r)
                return -1;
        if (PQntuples(r) == 0) {
                PQclear(r);
                return 0;
        }
        snprintf(hash, 65, "%s", PQgetvalue(r, 0, 0));
        snprintf(head, 65, "%s", PQgetvalue(r, 0, 1));
        snprintf(event, 12, "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        return 1;
}

static const char *topic_of(int entity)
{
        return cx_topic(entity == ENT_ORDER     ? CX_TOPIC_SHOP_ORDERS
                        : entity == ENT_PRODUCT ? CX_TOPIC_SHOP_PRODUCTS
                                                : CX_TOPIC_SHOP_CUSTOMERS);
}

int ex_publish(extractor *x, ex_tenant *t, ex_batch *b, int entity, const char *event,
               const char *source_id, json_t *payload, const char *head, cx_err *err)
{
        char hash[65], khash[65], khead[65], kevent[12], trace[33], now[32];
        json_t *env;
        char *text;
        int known, rc;

        ex_content_hash(payload, hash);
        known = ex_known_get(x, t, b, entity, source_id, khash, khead, kevent, err);
        if (known < 0)
                return -1;
        if (known && !strcmp(khash, hash) && !strcmp(kevent, event)) {
                /* same content; remember the order head so the next re-read is cheap */
                if (head && strcmp(head, khead) &&
                    batch_add(b, entity, source_id, hash, head, event) < 0)
                        return cx_fail(err, CX_ERR_IO, false, "out of memory");
                b->counts[entity][C_SAME]++;
                return 0;
        }
        if (cx_random_id(trace, err) < 0)
                return -1;
        cx_iso8601_format((long long)time(NULL), now, sizeof(now));
        env = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "v", 1, "tenant", t->id,
                        "entity", ex_ent_names[entity], "event", event, "source_id", source_id,
                        "content_hash", hash, "extracted_at", now, "trace_id", trace, "payload",
                        payload);
        text = env ? json_dumps(env, JSON_COMPACT) : NULL;
        json_decref(env);
        if (!text)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        rc = cx_producer_send(x->producer, topic_of(entity), t->id, text, strlen(text), err);
        free(text);
        if (rc < 0)
                return -1;
        b->sent++;
        if (batch_add(b, entity, source_id, hash, head, event) < 0)
                return cx_fail(err, CX_ERR_IO, false, "out of memory");
        b->counts[entity][C_PUB]++;
        return 1;
}

/* Wait for Kafka, then record hashes, the cursor and handled hints in one transaction that
 * also proves the lease is still ours. @returns 0, or -1 (nothing recorded). */
static int batch_commit(extractor *x, ex_tenant *t, ex_batch *b, cx_err *err)
{
        char lease[24];
        const char *p2[3] = { t->id, x->d->instance_id, lease };
        double now = ccv_now();
        PGresult *r;

        snprintf(lease, sizeof(lease), "%d", x->set.lease_s);
        if (b->n == 0 && !b->cursor_entity && b->n_hints == 0)
                return 0;
        if (b->sent > 0 && cx_producer_flush(x->producer, 30000, err) < 0)
                return -1;
        if (cx_db_begin(x->db, err) < 0)
                return -1;
        /* proves the lease is ours, and renews it: the next slice starts with a full one */
        r = cx_db_query(x->db,
                        "UPDATE extract_leases SET expires_at = now() + $3 * interval '1 second'"
                        " WHERE tenant_id = $1 AND owner = $2 RETURNING 1",
                        3, p2, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                PQclear(r);
                t->held = false;
                cx_fail(err, CX_ERR_INVALID, false, "lease lost to another instance");
                goto fail;
        }
        PQclear(r);
        for (size_t i = 0; i < b->n; i++) {
                const ex_write *w = &b->w[i];
                const char *p[6] = { t->id,        ex_ent_names[w->entity],
                                     w->source_id, w->hash,
                                     w->head,      w->event };

                if (cx_db_exec(x->db,
                               "INSERT INTO extract_hashes (tenant_id, entity, source_id,"
                               " content_hash, head_hash, event) VALUES ($1,$2,$3,$4,$5,$6)"
                               " ON CONFLICT (tenant_id, entity, source_id) DO UPDATE SET"
                               " content_hash = $4, head_hash = $5, event = $6,"
                               " published_at = CASE WHEN extract_hashes.content_hash = $4"
                               " THEN extract_hashes.published_at ELSE now() END",
                               6, p, err) < 0)
                        goto fail;
        }
        if (b->cursor_entity) {
                const char *p[3] = { t->id, b->cursor_entity, b->cursor };

                if (cx_db_exec(x->db,
                               "INSERT INTO extract_cursors (tenant_id, entity, cursor)"
                               " VALUES ($1,$2,$3) ON CONFLICT (tenant_id, entity) DO UPDATE"
                               " SET cursor = $3, updated_at = now()",
                               3, p, err) < 0)
                        goto fail;
        }
        for (int i = 0; i < b->n_hints; i++) {
                char id[24];
                const char *p[1] = { id };

                snprintf(id, sizeof(id), "%lld", b->hint_ids[i]);
                if (cx_db_exec(x->db, "DELETE FROM extract_hints WHERE id = $1", 1, p, err) < 0)
                        goto fail;
        }
        if (cx_db_commit(x->db, err) < 0)
                goto fail;
        t->lease_renewed = now;
        for (int e = 0; e < ENT_COUNT; e++) {
                char label[200], tl[100], el[60];

                for (int c = 0; c < 4; c++)
                        t->counts[e][c] += b->counts[e][c];
                if (!b->counts[e][C_PUB])
                        continue;
                cx_metrics_label(tl, sizeof(tl), "tenant", t->id);
                cx_metrics_label(el, sizeof(el), "entity", ex_ent_names[e]);
                snprintf(label, sizeof(label), "%s,%s", tl, el);
                cx_counter_add("cx_extractor_published_total",
                               "Resources published (acknowledged by Kafka)", label,
                               b->counts[e][C_PUB]);
        }
        return 0;
fail:
        cx_db_rollback(x->db);
        return -1;
}

void ex_dead_letter(extractor *x, ex_tenant *t, int entity, const char *source_id,
                    const json_t *item, const char *reason)
{
        char *text = item ? json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        cx_dead_letter dl = { 0 };
        cx_err err = { 0 };
        char trace[33];

        /* The record matters more than its trace id: dead-letter it without one. */
        if (cx_random_id(trace, &err) < 0)
                ex_log(CX_LOG_ERROR, "trace_id.failed", t, ex_ent_names[entity], "%s", err.msg);
        dl.tenant = t->id;
        dl.stage = "extract";
        dl.source_topic = topic_of(entity);
        dl.source_id = source_id ? source_id : "";
        dl.reason = reason;
        dl.payload = text ? text : "";
        dl.trace_id = trace;
        if (cx_dead_letter_publish(x->producer, true, x->db, &dl, &err) < 0)
                ex_log(CX_LOG_ERROR, "dead_letter.failed", t, ex_ent_names[entity], "%s", err.msg);
        free(text);
}

ex_rc ex_slice_end(extractor *x, ex_tenant *t, ex_batch *b, ex_rc r, const char *entity,
                   const char *resource, bool *committed)
{
        cx_err err = { 0 };

        *committed = false;
        if (batch_commit(x, t, b, &err) < 0) {
                batch_free(b);
                return ex_failed(x, t, entity, resource, &err);
        }
        *committed = true;
        batch_free(b);
        if (r == EX_DONE)
                t->fails = 0;
        return r;
}
