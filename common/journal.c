#include "common/journal.h"

#include <jansson.h>
#include <openssl/evp.h>
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

static int sync_log_insert(cx_db *db, const char *sql, const char *tenant, const char *stage,
                           const char *entity, const char *source_id, const char *status,
                           const char *message, const char *trace_id, cx_err *err)
{
        const char *params[7] = { tenant ? tenant : "",       stage,  entity ? entity : "",
                                  source_id ? source_id : "", status, message ? message : "",
                                  trace_id ? trace_id : "" };

        return cx_db_exec(db, sql, 7, params, err);
}

int cx_sync_log(cx_db *db, const char *tenant, const char *stage, const char *entity,
                const char *source_id, const char *status, const char *message,
                const char *trace_id, cx_err *err)
{
        return sync_log_insert(db,
                               "INSERT INTO sync_log (tenant_id, stage, entity, source_id, status,"
                               " message, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               tenant, stage, entity, source_id, status, message, trace_id, err);
}

int cx_sync_log_once(cx_db *db, const char *tenant, const char *stage, const char *entity,
                     const char *source_id, const char *status, const char *message,
                     const char *trace_id, cx_err *err)
{
        return sync_log_insert(
                db,
                "INSERT INTO sync_log (tenant_id, stage, entity, source_id, status, message,"
                " trace_id) SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM"
                " (SELECT status, message, trace_id FROM sync_log WHERE tenant_id = $1 AND stage"
                " = $2 AND entity = $3 AND source_id = $4 ORDER BY id DESC LIMIT 1) latest WHERE"
                " latest.status = $5 AND latest.message = $6 AND latest.trace_id = $7)",
                tenant, stage, entity, source_id, status, message, trace_id, err);
}

/* Length of the valid UTF-8 sequence at @p s (at most @p n bytes), or 0 when it is not one:
 * overlong forms, surrogates and code points above U+10FFFF are refused, as JSON needs. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        size_t len, i;
        unsigned cp;

        if (s[0] < 0x80)
                return s[0] ? 1 : 0;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

char *cx_readable_text(const void *bytes, size_t len)
{
        const unsigned char *s = bytes ? bytes : (const unsigned char *)"";
        char *out = malloc(len * 4 + 1), *o = out;
        size_t i = 0, k;

        if (!out)
                return NULL;
        while (i < len) {
                k = utf8_seq(s + i, len - i);
                if (k) {
                        memcpy(o, s + i, k);
                        o += k;
                        i += k;
                } else {
                        o += sprintf(o, "\\x%02x", s[i++]);
                }
        }
        *o = '\0';
        return out;
}

char *cx_base64(const void *bytes, size_t len)
{
        char *out = malloc((len + 2) / 3 * 4 + 1);

        if (out)
                EVP_EncodeBlock((unsigned char *)out, bytes ? bytes : (const void *)"", (int)len);
        return out;
}

long cx_base64_decode(const char *text, unsigned char **out)
{
        size_t len = text ? strlen(text) : 0;
        int n;

        *out = NULL;
        if (!len || len % 4 || len > (size_t)1 << 30)
                return -1;
        *out = malloc(len / 4 * 3 + 1);
        if (!*out)
                return -1;
        n = EVP_DecodeBlock(*out, (const unsigned char *)text, (int)len);
        if (n < 0) {
                free(*out);
                *out = NULL;
                return -1;
        }
        /* EVP_DecodeBlock counts the padding as zero bytes. */
        n -= (text[len - 1] == '=') + (text[len - 2] == '=');
        return n;
}

/* The dead letter's text fields, each readable UTF-8 (they may come from a message key). */
struct dl_text {
        char *f[7]; /* tenant, stage, source_topic, source_id, reason, payload, trace_id */
        char *b64;
};

static void dl_text_free(struct dl_text *t)
{
        for (int i = 0; i < 7; i++)
                free(t->f[i]);
        free(t->b64);
}

static int dl_text_make(const cx_dead_letter *dl, struct dl_text *t)
{
        const char *src[7] = { dl->tenant, dl->stage,   dl->source_topic, dl->source_id,
                               dl->reason, dl->payload, dl->trace_id };
        size_t plen = dl->payload_len ? dl->payload_len : (dl->payload ? strlen(dl->payload) : 0);

        memset(t, 0, sizeof(*t));
        for (int i = 0; i < 7; i++) {
                t->f[i] = cx_readable_text(src[i], i == 5 ? plen : (src[i] ? strlen(src[i]) : 0));
                if (!t->f[i])
                        return -1;
        }
        t->b64 = cx_base64(dl->payload, plen);
        return t->b64 ? 0 : -1;
}

int cx_dead_letter_publish(cx_producer *producer, bool wait_ack, cx_db *db,
                           const cx_dead_letter *dl, cx_err *err)
{
        struct dl_text t;
        json_t *rec = NULL;
        char *text = NULL;
        int rc = -1;
        char label[160];

        if (dl_text_make(dl, &t) < 0) {
                cx_fail(err, CX_ERR_LIMIT, true, "out of memory");
                goto out;
        }
        rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "tenant", t.f[0], "stage",
                        t.f[1], "source_topic", t.f[2], "source_id", t.f[3], "reason", t.f[4],
                        "payload", t.f[5], "payload_base64", t.b64, "trace_id", t.f[6]);
        text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        json_decref(rec);
        if (!text) {
                cx_fail(err, CX_ERR_LIMIT, true, "cannot serialise the dead letter");
                goto out;
        }
        if (producer) {
                if (cx_producer_send(producer, cx_topic(CX_TOPIC_DEAD_LETTERS), t.f[0], text,
                                     strlen(text), err) < 0)
                        goto out;
                if (wait_ack && cx_producer_flush(producer, 30000, err) < 0)
                        goto out;
        }
        {
                const char *params[8] = { t.f[0], t.f[1], t.f[2], t.f[3],
                                          t.f[4], t.f[5], t.b64,  t.f[6] };

                if (cx_db_exec(db,
                               "INSERT INTO dead_letters (tenant_id, stage, source_topic,"
                               " source_id, reason, payload, payload_base64, trace_id)"
                               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                               8, params, err) < 0)
                        goto out;
        }
        if (cx_sync_log(db, t.f[0], t.f[1], t.f[2], t.f[3], "failed", t.f[4], t.f[6], err) < 0)
                goto out;
        cx_metrics_label(label, sizeof(label), "stage", t.f[1]);
        cx_counter_add("cx_dead_letters_total", "Records sent to the dead-letter topic", label, 1);
        cx_log_fields(CX_LOG_WARN, "dead_letter",
                      json_pack("{s:s, s:s}", "tenant", t.f[0], "source_id", t.f[3]), "%s", t.f[4]);
        rc = 0;
out:
        free(text);
        dl_text_free(&t);
        return rc;
}
