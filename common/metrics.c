#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Series are found through a hash map on name and labels; each family (one name) keeps its
 * series in a list, and the families are kept in creation order, so a scrape is one pass. */
typedef struct family {
        char *name;
        char *help;
        cx_metric_type type;
        struct cx_metric *first, *last;
        struct family *next;      /* creation order */
        struct family *hash_next; /* bucket chain */
} family;

struct cx_metric {
        family *fam;
        char *labels;
        uint64_t hash;
        _Atomic double value;          /* histograms: the sum of the observations */
        unsigned long long *counts;    /* histograms: per bucket (not cumulative), then +Inf */
        struct cx_metric *prev, *next; /* in the family */
        struct cx_metric *hash_next;   /* bucket chain */
};

/* Histogram buckets, in seconds: from a fast local call to a slow Exact answer. */
static const double hist_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define N_LE (sizeof(hist_le) / sizeof(hist_le[0]))
static const char *const hist_le_text[N_LE] = { "0.005", "0.01", "0.025", "0.05", "0.1",
                                                "0.25",  "0.5",  "1",     "2.5",  "5",
                                                "10",    "30",   "60" };

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static family *families, *families_last;
static family **fam_buckets;
static size_t n_fam_buckets, n_families;
static cx_metric **buckets;
static size_t n_buckets, n_series;

static uint64_t fnv(uint64_t h, const char *s)
{
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

static uint64_t series_hash(const char *name, const char *labels)
{
        uint64_t h = fnv(14695981039346656037ULL, name);

        h = fnv(h ^ 0xff, labels);
        return h;
}

/* Double a bucket array when its chains grow past two entries on average; when memory is
 * short the chains grow longer instead, which is still correct. */
#define REHASH(arr, n, count, type, link, keyexpr)                     \
        do {                                                           \
                size_t nn_ = (n) ? (n)*2 : 256;                        \
                type **na_;                                            \
                if ((count) < (n)*2)                                   \
                        break;                                         \
                na_ = calloc(nn_, sizeof(*na_));                       \
                if (!na_)                                              \
                        break;                                         \
                for (size_t i_ = 0; i_ < (n); i_++) {                  \
                        type *e = (arr)[i_], *following_;              \
                        for (; e; e = following_) {                    \
                                size_t b_ = (size_t)((keyexpr) % nn_); \
                                following_ = e->link;                  \
                                e->link = na_[b_];                     \
                                na_[b_] = e;                           \
                        }                                              \
                }                                                      \
                free(arr);                                             \
                (arr) = na_;                                           \
                (n) = nn_;                                             \
        } while (0)

static uint64_t name_hash(const char *name)
{
        return fnv(14695981039346656037ULL, name);
}

/* Caller holds registry_lock. */
static family *family_find(const char *name, bool create, cx_metric_type type, const char *help)
{
        uint64_t h = name_hash(name);
        family *f;

        if (n_fam_buckets)
                for (f = fam_buckets[h % n_fam_buckets]; f; f = f->hash_next)
                        if (!strcmp(f->name, name))
                                return f;
        if (!create)
                return NULL;
        REHASH(fam_buckets, n_fam_buckets, n_families + 1, family, hash_next, name_hash(e->name));
        f = calloc(1, sizeof(*f));
        if (!f || !n_fam_buckets)
                goto fail;
        f->name = strdup(name);
        f->help = strdup(help ? help : "");
        if (!f->name || !f->help)
                goto fail;
        f->type = type;
        f->hash_next = fam_buckets[h % n_fam_buckets];
        fam_buckets[h % n_fam_buckets] = f;
        if (families_last)
                families_last->next = f;
        else
                families = f;
        families_last = f;
        n_families++;
        return f;
fail:
        if (f) {
                free(f->name);
                free(f->help);
                free(f);
        }
        return NULL;
}

/* Caller holds registry_lock. */
static cx_metric *series_find(cx_metric_type type, const char *name, const char *help,
                              const char *labels)
{
        uint64_t h;
        family *f;
        cx_metric *m;

        labels = labels ? labels : "";
        h = series_hash(name, labels);
        if (n_buckets)
                for (m = buckets[h % n_buckets]; m; m = m->hash_next)
                        if (m->hash == h && !strcmp(m->fam->name, name) &&
                            !strcmp(m->labels, labels))
                                return m;
        f = family_find(name, true, type, help);
        if (!f)
                return NULL;
        REHASH(buckets, n_buckets, n_series + 1, cx_metric, hash_next, e->hash);
        m = n_buckets ? calloc(1, sizeof(*m)) : NULL;
        if (m)
                m->labels = strdup(labels);
        if (m && f->type == CX_HISTOGRAM)
                m->counts = calloc(N_LE + 1, sizeof(*m->counts));
        if (!m || !m->labels || (f->type == CX_HISTOGRAM && !m->counts)) {
                if (m)
                        free(m->labels);
                free(m);
                return NULL;
        }
        m->fam = f;
        m->hash = h;
        atomic_init(&m->value, 0.0);
        m->hash_next = buckets[h % n_buckets];
        buckets[h % n_buckets] = m;
        m->prev = f->last;
        if (f->last)
                f->last->next = m;
        else
                f->first = m;
        f->last = m;
        n_series++;
        return m;
}

cx_metric *cx_metric_get(cx_metric_type type, const char *name, const char *help,
                         const char *labels)
{
        cx_metric *m;

        pthread_mutex_lock(&registry_lock);
        m = series_find(type, name, help, labels);
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

/* The shorthands update under the lock, so a concurrent cx_metrics_remove_tenant() never
 * frees a series between its look-up and its update. */
void cx_counter_add(const char *name, const char *help, const char *labels, double delta)
{
        pthread_mutex_lock(&registry_lock);
        cx_metric_add(series_find(CX_COUNTER, name, help, labels), delta);
        pthread_mutex_unlock(&registry_lock);
}

void cx_gauge_set(const char *name, const char *help, const char *labels, double value)
{
        pthread_mutex_lock(&registry_lock);
        cx_metric_set(series_find(CX_GAUGE, name, help, labels), value);
        pthread_mutex_unlock(&registry_lock);
}

void cx_histogram_observe(const char *name, const char *help, const char *labels, double v)
{
        cx_metric *m;
        size_t b = 0;
        double old;

        while (b < N_LE && v > hist_le[b])
                b++;
        pthread_mutex_lock(&registry_lock);
        m = series_find(CX_HISTOGRAM, name, help, labels);
        if (m && m->counts) {
                m->counts[b]++;
                old = atomic_load(&m->value);
                atomic_store(&m->value, old + v);
        }
        pthread_mutex_unlock(&registry_lock);
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

/* The text of a scrape, built in memory: one fwrite instead of a formatted print per
 * series keeps the time under the lock short. */
typedef struct text {
        char *buf;
        size_t len, cap;
        bool failed;
} text;

static char *text_room(text *t, size_t n)
{
        if (t->failed)
                return NULL;
        if (t->len + n > t->cap) {
                size_t nc = t->cap ? t->cap : 65536;
                char *nb;

                while (nc < t->len + n)
                        nc *= 2;
                nb = realloc(t->buf, nc);
                if (!nb) {
                        t->failed = true;
                        return NULL;
                }
                t->buf = nb;
                t->cap = nc;
        }
        return t->buf + t->len;
}

static void text_put(text *t, const char *s, size_t n)
{
        char *p = text_room(t, n);

        if (p) {
                memcpy(p, s, n);
                t->len += n;
        }
}

static void text_str(text *t, const char *s)
{
        text_put(t, s, strlen(s));
}

/* Whole numbers (most counters and gauges) without printf; the rest as %.17g. */
static void text_value(text *t, double v)
{
        char tmp[40];
        int n;

        if (v == (double)(long long)v && v > -9007199254740992.0 && v < 9007199254740992.0) {
                long long i = (long long)v;
                unsigned long long u = i < 0 ? (unsigned long long)-i : (unsigned long long)i;
                char *e = tmp + sizeof(tmp), *p = e;

                do {
                        *--p = (char)('0' + u % 10);
                        u /= 10;
                } while (u);
                if (i < 0)
                        *--p = '-';
                text_put(t, p, (size_t)(e - p));
                return;
        }
        n = snprintf(tmp, sizeof(tmp), "%.17g", v);
        if (n > 0)
                text_put(t, tmp, (size_t)n);
}

/* name_bucket{labels,le="x"} (cumulative), name_sum, name_count. */
static void render_histogram(text *t, const char *name, size_t nl, const cx_metric *s)
{
        unsigned long long cum = 0;

        for (size_t b = 0; b <= N_LE; b++) {
                cum += s->counts[b];
                text_put(t, name, nl);
                text_str(t, "_bucket{");
                if (*s->labels) {
                        text_str(t, s->labels);
                        text_str(t, ",");
                }
                text_str(t, "le=\"");
                text_str(t, b < N_LE ? hist_le_text[b] : "+Inf");
                text_str(t, "\"} ");
                text_value(t, (double)cum);
                text_str(t, "\n");
        }
        for (int k = 0; k < 2; k++) {
                text_put(t, name, nl);
                text_str(t, k ? "_count" : "_sum");
                if (*s->labels) {
                        text_str(t, "{");
                        text_str(t, s->labels);
                        text_str(t, "}");
                }
                text_str(t, " ");
                text_value(t, k ? (double)cum : atomic_load(&s->value));
                text_str(t, "\n");
        }
}

void cx_metrics_render(FILE *out)
{
        text t = { 0 };

        pthread_mutex_lock(&registry_lock);
        for (family *f = families; f; f = f->next) {
                size_t nl;

                if (!f->first)
                        continue; /* every series was removed */
                nl = strlen(f->name);
                text_str(&t, "# HELP ");
                text_put(&t, f->name, nl);
                text_str(&t, " ");
                text_str(&t, f->help);
                text_str(&t, "\n# TYPE ");
                text_put(&t, f->name, nl);
                text_str(&t, f->type == CX_COUNTER     ? " counter\n"
                             : f->type == CX_HISTOGRAM ? " histogram\n"
                                                       : " gauge\n");
                for (cx_metric *s = f->first; s; s = s->next) {
                        if (s->counts) {
                                render_histogram(&t, f->name, nl, s);
                                continue;
                        }
                        text_put(&t, f->name, nl);
                        if (*s->labels) {
                                text_str(&t, "{");
                                text_str(&t, s->labels);
                                text_str(&t, "}");
                        }
                        text_str(&t, " ");
                        text_value(&t, atomic_load(&s->value));
                        text_str(&t, "\n");
                }
        }
        pthread_mutex_unlock(&registry_lock);
        if (t.len && !t.failed)
                fwrite(t.buf, 1, t.len, out);
        free(t.buf);
}

/* Whether @p labels holds exactly the label text @p want (one whole `k="v"` member). */
static bool has_label(const char *labels, const char *want, size_t wlen)
{
        for (const char *p = strstr(labels, want); p; p = strstr(p + 1, want))
                if ((p == labels || p[-1] == ',') && (p[wlen] == '\0' || p[wlen] == ','))
                        return true;
        return false;
}

/* Caller holds registry_lock. */
static void series_unlink(cx_metric *m)
{
        cx_metric **link = &buckets[m->hash % n_buckets];

        while (*link != m)
                link = &(*link)->hash_next;
        *link = m->hash_next;
        if (m->prev)
                m->prev->next = m->next;
        else
                m->fam->first = m->next;
        if (m->next)
                m->next->prev = m->prev;
        else
                m->fam->last = m->prev;
        n_series--;
        free(m->counts);
        free(m->labels);
        free(m);
}

size_t cx_metrics_remove_tenant(const char *tenant)
{
        char want[300];
        size_t wlen, removed = 0;

        if (!tenant || !*tenant)
                return 0;
        cx_metrics_label(want, sizeof(want), "tenant", tenant);
        wlen = strlen(want);
        pthread_mutex_lock(&registry_lock);
        for (family *f = families; f; f = f->next) {
                cx_metric *s = f->first;

                while (s) {
                        cx_metric *following = s->next;

                        if (has_label(s->labels, want, wlen)) {
                                series_unlink(s);
                                removed++;
                        }
                        s = following;
                }
        }
        pthread_mutex_unlock(&registry_lock);
        return removed;
}

/* The value of the series' tenant label into @p out; false when it has none. */
static bool tenant_of(const char *labels, char *out, size_t size)
{
        for (const char *p = strstr(labels, "tenant=\""); p; p = strstr(p + 1, "tenant=\"")) {
                size_t n = 0;

                if (p != labels && p[-1] != ',')
                        continue;
                for (p += 8; *p && *p != '"' && n + 1 < size; p++) {
                        if (*p == '\\' && p[1])
                                p++;
                        out[n++] = *p;
                }
                out[n] = '\0';
                return true;
        }
        return false;
}

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t cx_metrics_keep_tenants(const char *const *ids, size_t n)
{
        const char **sorted = malloc((n ? n : 1) * sizeof(*sorted));
        size_t removed = 0;
        char t[300];

        if (!sorted)
                return 0;
        memcpy(sorted, ids, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), str_cmp);
        pthread_mutex_lock(&registry_lock);
        for (family *f = families; f; f = f->next) {
                cx_metric *s = f->first;

                while (s) {
                        cx_metric *following = s->next;
                        const char *key = t;

                        if (tenant_of(s->labels, t, sizeof(t)) &&
                            !bsearch(&key, sorted, n, sizeof(*sorted), str_cmp)) {
                                series_unlink(s);
                                removed++;
                        }
                        s = following;
                }
        }
        pthread_mutex_unlock(&registry_lock);
        free(sorted);
        return removed;
}

size_t cx_metrics_count(void)
{
        size_t n;

        pthread_mutex_lock(&registry_lock);
        n = n_series;
        pthread_mutex_unlock(&registry_lock);
        return n;
}

void cx_metrics_free(void)
{
        pthread_mutex_lock(&registry_lock);
        while (families) {
                family *f = families;

                families = f->next;
                while (f->first) {
                        cx_metric *m = f->first;

                        f->first = m->next;
                        free(m->counts);
                        free(m->labels);
                        free(m);
                }
                free(f->name);
                free(f->help);
                free(f);
        }
        families_last = NULL;
        free(buckets);
        free(fam_buckets);
        buckets = NULL;
        fam_buckets = NULL;
        n_buckets = n_fam_buckets = n_series = n_families = 0;
        pthread_mutex_unlock(&registry_lock);
}
