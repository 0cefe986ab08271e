#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_program[64] = "connector";
static cx_log_level log_min = CX_LOG_INFO;

/* Every registered secret, as it is and JSON-escaped (as it appears in a dumped line): any
 * number of them, one per tenant and more. A pattern is found by its first byte, so a line
 * is redacted in one pass whatever the number of secrets. */
typedef struct pattern {
        char *text;
        size_t len;
        size_t secret; /* index into secrets */
} pattern;

static char **secrets;
static size_t n_secrets, cap_secrets;
/* Buckets by the first two bytes (every pattern has at least 4). */
#define N_BUCKETS 4096
static pattern *by_prefix[N_BUCKETS];
static size_t n_by_prefix[N_BUCKETS], cap_by_prefix[N_BUCKETS];

static size_t bucket_of(const char *p)
{
        return (((size_t)(unsigned char)p[0] << 4) ^ (unsigned char)p[1]) % N_BUCKETS;
}

static const char *level_names[] = { "debug", "info", "warn", "error" };

void cx_log_init(const char *program, cx_log_level min_level)
{
        pthread_mutex_lock(&log_lock);
        snprintf(log_program, sizeof(log_program), "%s", program);
        log_min = min_level;
        pthread_mutex_unlock(&log_lock);
}

int cx_log_level_parse(const char *text, cx_log_level *out)
{
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (!strcmp(text, level_names[i])) {
                        *out = (cx_log_level)i;
                        return 0;
                }
        }
        return -1;
}

/* Caller holds log_lock. */
static int pattern_add(const char *text, size_t len, size_t secret)
{
        size_t b = bucket_of(text);
        pattern *p;

        if (n_by_prefix[b] == cap_by_prefix[b]) {
                size_t nc = cap_by_prefix[b] ? cap_by_prefix[b] * 2 : 4;
                pattern *np = realloc(by_prefix[b], nc * sizeof(*np));

                if (!np)
                        return -1;
                by_prefix[b] = np;
                cap_by_prefix[b] = nc;
        }
        p = &by_prefix[b][n_by_prefix[b]];
        p->text = strndup(text, len);
        if (!p->text)
                return -1;
        p->len = len;
        p->secret = secret;
        n_by_prefix[b]++;
        return 0;
}

/* Caller holds log_lock. */
static bool secret_known(const char *secret)
{
        size_t b = bucket_of(secret);

        for (size_t i = 0; i < n_by_prefix[b]; i++)
                if (!strcmp(by_prefix[b][i].text, secret))
                        return true;
        return false;
}

void cx_log_add_secret(const char *secret)
{
        json_t *s;
        char *escaped;

        if (!secret || strlen(secret) < 4)
                return; /* too short to redact without mangling ordinary words */
        s = json_string(secret);
        escaped = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        pthread_mutex_lock(&log_lock);
        if (secret_known(secret))
                goto out;
        if (n_secrets == cap_secrets) {
                size_t nc = cap_secrets ? cap_secrets * 2 : 64;
                char **ns = realloc(secrets, nc * sizeof(*ns));

                if (!ns)
                        goto out;
                secrets = ns;
                cap_secrets = nc;
        }
        secrets[n_secrets] = strdup(secret);
        if (!secrets[n_secrets] || pattern_add(secret, strlen(secret), n_secrets) < 0) {
                free(secrets[n_secrets]);
                goto out;
        }
        /* The JSON-escaped form without its quotes, when it differs. */
        if (escaped && strlen(escaped) > 2 && strncmp(escaped + 1, secret, strlen(escaped) - 2))
                pattern_add(escaped + 1, strlen(escaped) - 2, n_secrets);
        n_secrets++;
out:
        pthread_mutex_unlock(&log_lock);
        free(escaped);
}

void cx_log_forget_secret(const char *secret)
{
        size_t idx = (size_t)-1;

        if (!secret || strlen(secret) < 4)
                return;
        pthread_mutex_lock(&log_lock);
        for (size_t i = 0; i < n_secrets; i++)
                if (!strcmp(secrets[i], secret))
                        idx = i;
        if (idx == (size_t)-1) {
                pthread_mutex_unlock(&log_lock);
                return;
        }
        /* Drop its patterns; the last secret takes its index. */
        for (size_t b = 0; b < N_BUCKETS; b++) {
                for (size_t i = 0; i < n_by_prefix[b];) {
                        pattern *p = &by_prefix[b][i];

                        if (p->secret == idx) {
                                free(p->text);
                                *p = by_prefix[b][--n_by_prefix[b]];
                                continue;
                        }
                        if (p->secret == n_secrets - 1)
                                p->secret = idx;
                        i++;
                }
        }
        free(secrets[idx]);
        secrets[idx] = secrets[--n_secrets];
        pthread_mutex_unlock(&log_lock);
}

size_t cx_log_secret_count(void)
{
        size_t n;

        pthread_mutex_lock(&log_lock);
        n = n_secrets;
        pthread_mutex_unlock(&log_lock);
        return n;
}

void cx_log_free_secrets(void)
{
        pthread_mutex_lock(&log_lock);
        for (size_t i = 0; i < n_secrets; i++)
                free(secrets[i]);
        free(secrets);
        secrets = NULL;
        n_secrets = cap_secrets = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
                for (size_t i = 0; i < n_by_prefix[b]; i++)
                        free(by_prefix[b][i].text);
                free(by_prefix[b]);
                by_prefix[b] = NULL;
                n_by_prefix[b] = cap_by_prefix[b] = 0;
        }
        pthread_mutex_unlock(&log_lock);
}

bool cx_log_enabled(cx_log_level level)
{
        return level >= log_min;
}

/* Caller holds log_lock. One pass: at each byte, the longest secret starting there (if
 * any) becomes "***"; only the patterns of the bucket of the next two bytes are compared. */
static char *redact_locked(const char *text)
{
        size_t len = strlen(text), off = 0, cap = len + 1;
        char *out = malloc(cap);

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                size_t b = i + 1 < len ? bucket_of(text + i) : 0, best = 0;

                for (size_t k = 0; i + 1 < len && k < n_by_prefix[b]; k++) {
                        const pattern *p = &by_prefix[b][k];

                        if (p->len > best && p->len <= len - i &&
                            !memcmp(text + i, p->text, p->len))
                                best = p->len;
                }
                if (best) {
                        /* "***" is never longer than a secret (at least 4 bytes) */
                        memcpy(out + off, "***", 3);
                        off += 3;
                        i += best;
                } else {
                        out[off++] = text[i++];
                }
        }
        out[off] = '\0';
        return out;
}

char *cx_log_redact(const char *text)
{
        char *out;

        pthread_mutex_lock(&log_lock);
        out = redact_locked(text);
        pthread_mutex_unlock(&log_lock);
        return out;
}

static void log_emit(cx_log_level level, const char *event, json_t *fields, const char *fmt,
                     va_list ap)
{
        char msg[2048], ts[80];
        struct timespec now;
        struct tm tm;
        json_t *line;
        char *text, *clean;

        if (level < log_min) {
                json_decref(fields);
                return;
        }
        vsnprintf(msg, sizeof(msg), fmt, ap);
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 now.tv_nsec / 1000000);
        line = json_object();
        json_object_set_new(line, "ts", json_string(ts));
        json_object_set_new(line, "level", json_string(level_names[level]));
        pthread_mutex_lock(&log_lock);
        json_object_set_new(line, "program", json_string(log_program));
        pthread_mutex_unlock(&log_lock);
        json_object_set_new(line, "event", json_string(event ? event : "log"));
        /* Messages from libraries may hold invalid UTF-8; keep the line valid JSON regardless. */
        {
                json_t *m = json_string(msg);

                json_object_set_new(line, "msg", m ? m : json_string("(non-UTF-8 message)"));
        }
        if (fields && json_is_object(fields))
                json_object_update_missing(line, fields);
        json_decref(fields);
        text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(line);
        if (!text)
                return;
        pthread_mutex_lock(&log_lock);
        clean = redact_locked(text);
        pthread_mutex_unlock(&log_lock);
        free(text);
        if (!clean)
                return;
        {
                size_t len = strlen(clean);
                char *buf = malloc(len + 2);

                if (buf) {
                        memcpy(buf, clean, len);
                        buf[len] = '\n';
                        /* One write per line; a short write to a pipe of this size is rare
                         * and not worth a loop that could interleave lines. */
                        if (write(STDERR_FILENO, buf, len + 1) < 0) {
                                /* nowhere left to report it */
                        }
                        free(buf);
                }
        }
        free(clean);
}

void cx_log(cx_log_level level, const char *event, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_emit(level, event, NULL, fmt, ap);
        va_end(ap);
}

void cx_log_fields(cx_log_level level, const char *event, json_t *fields, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_emit(level, event, fields, fmt, ap);
        va_end(ap);
}
