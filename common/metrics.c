#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cx_metric {
        cx_metric_type type;
        char *name;
        char *help;
        char *labels;
        _Atomic double value;
        struct cx_metric *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cx_metric *registry;

static int same_labels(const char *a, const char *b)
{
        return !strcmp(a ? a : "", b ? b : "");
}

cx_metric *cx_metric_get(cx_metric_type type, const char *name, const char *help,
                         const char *labels)
{
        cx_metric *m, **tail;

        pthread_mutex_lock(&registry_lock);
        for (tail = &registry; *tail; tail = &(*tail)->next) {
                m = *tail;
                if (!strcmp(m->name, name) && same_labels(m->labels, labels)) {
                        pthread_mutex_unlock(&registry_lock);
                        return m;
                }
        }
        m = calloc(1, sizeof(*m));
        if (m) {
                m->type = type;
                m->name = strdup(name);
                m->help = strdup(help ? help : "");
                m->labels = strdup(labels ? labels : "");
                atomic_init(&m->value, 0.0);
                /* Appending keeps series of one name next to each other in most cases;
                 * rendering groups them anyway. */
                *tail = m;
        }
        pthread_mutex_unlock(&registry_lock);
        return m;
}

void cx_metric_add(cx_metric *m, double delta)
{
        double old;

        if (!m)
                return;
        old = atomic_load(&m->value);
        while (!atomic_compare_exchange_weak(&m->value, &old, old + delta))
                ;
}

void cx_metric_set(cx_metric *m, double value)
{
        if (m)
                atomic_store(&m->value, value);
}

double cx_metric_value(const cx_metric *m)
{
        return m ? atomic_load(&((cx_metric *)m)->value) : 0.0;
}

void cx_counter_add(const char *name, const char *help, const char *labels, double delta)
{
        cx_metric_add(cx_metric_get(CX_COUNTER, name, help, labels), delta);
}

void cx_gauge_set(const char *name, const char *help, const char *labels, double value)
{
        cx_metric_set(cx_metric_get(CX_GAUGE, name, help, labels), value);
}

void cx_metrics_label(char *out, size_t size, const char *key, const char *value)
{
        size_t n = 0;
        int w = snprintf(out, size, "%s=\"", key);

        if (w < 0 || (size_t)w >= size)
                return;
        n = (size_t)w;
        for (const char *p = value ? value : ""; *p && n + 3 < size; p++) {
                if (*p == '\\' || *p == '"' || *p == '\n') {
                        out[n++] = '\\';
                        out[n++] = *p == '\n' ? 'n' : *p;
                } else {
                        out[n++] = *p;
                }
        }
        if (n + 2 <= size) {
                out[n++] = '"';
                out[n] = '\0';
        }
}

void cx_metrics_label2(char *out, size_t size, const char *k1, const char *v1, const char *k2,
                       const char *v2)
{
        char a[256], b[256];

        cx_metrics_label(a, sizeof(a), k1, v1);
        cx_metrics_label(b, sizeof(b), k2, v2);
        snprintf(out, size, "%.255s,%.255s", a, b);
}

void cx_metrics_render(FILE *out)
{
        pthread_mutex_lock(&registry_lock);
        for (cx_metric *m = registry; m; m = m->next) {
                int first = 1;

                /* Print each name once, at its first series, with all its series. */
                for (cx_metric *p = registry; p != m; p = p->next)
                        if (!strcmp(p->name, m->name))
                                first = 0;
                if (!first)
                        continue;
                fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                        m->type == CX_COUNTER ? "counter" : "gauge");
                for (cx_metric *s = m; s; s = s->next) {
                        if (strcmp(s->name, m->name))
                                continue;
                        if (*s->labels)
                                fprintf(out, "%s{%s} %.17g\n", s->name, s->labels,
                                        atomic_load(&s->value));
                        else
                                fprintf(out, "%s %.17g\n", s->name, atomic_load(&s->value));
                }
        }
        pthread_mutex_unlock(&registry_lock);
}

void cx_metrics_free(void)
{
        pthread_mutex_lock(&registry_lock);
        while (registry) {
                cx_metric *m = registry;

                registry = m->next;
                free(m->name);
                free(m->help);
                free(m->labels);
                free(m);
        }
        pthread_mutex_unlock(&registry_lock);
}
