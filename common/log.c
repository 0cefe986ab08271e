#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECRETS 64

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_program[64] = "connector";
static cx_log_level log_min = CX_LOG_INFO;
static char *secrets[MAX_SECRETS];
static size_t n_secrets;

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

void cx_log_add_secret(const char *secret)
{
        if (!secret || strlen(secret) < 4)
                return; /* too short to redact without mangling ordinary words */
        pthread_mutex_lock(&log_lock);
        for (size_t i = 0; i < n_secrets; i++) {
                if (!strcmp(secrets[i], secret)) {
                        pthread_mutex_unlock(&log_lock);
                        return;
                }
        }
        if (n_secrets == MAX_SECRETS) {
                /* Forget the oldest: rotating tokens would otherwise fill the table. */
                free(secrets[0]);
                memmove(secrets, secrets + 1, (MAX_SECRETS - 1) * sizeof(secrets[0]));
                n_secrets--;
        }
        secrets[n_secrets] = strdup(secret);
        if (secrets[n_secrets])
                n_secrets++;
        pthread_mutex_unlock(&log_lock);
}

bool cx_log_enabled(cx_log_level level)
{
        return level >= log_min;
}

/* Replace every occurrence of @p needle in the malloc'd *text. */
static void replace_all(char **text, const char *needle)
{
        size_t nlen = strlen(needle);
        char *hit = strstr(*text, needle);

        while (hit) {
                size_t off = (size_t)(hit - *text);
                size_t tail = strlen(hit + nlen);
                char *out = malloc(off + 3 + tail + 1);

                if (!out)
                        return;
                memcpy(out, *text, off);
                memcpy(out + off, "***", 3);
                memcpy(out + off + 3, hit + nlen, tail + 1);
                free(*text);
                *text = out;
                hit = strstr(*text + off + 3, needle);
        }
}

/* Caller holds log_lock. */
static char *redact_locked(const char *text)
{
        char *out = strdup(text);

        for (size_t i = 0; out && i < n_secrets; i++) {
                json_t *s = json_string(secrets[i]);
                char *escaped = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;

                replace_all(&out, secrets[i]);
                /* The JSON-escaped form, without its quotes, as it appears in a dumped line. */
                if (escaped && strlen(escaped) > 2) {
                        escaped[strlen(escaped) - 1] = '\0';
                        replace_all(&out, escaped + 1);
                }
                free(escaped);
                json_decref(s);
        }
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
