/* metrics.h: counters and gauges, rendered in the Prometheus text format.
 *
 * A metric is found or created by name and label set through a hash map; a scrape is one pass
 * over the series (O(n)). A handle stays valid until cx_metrics_remove_tenant() removes its
 * series, so only series without a tenant label may be kept across calls; the shorthands
 * (cx_counter_add, cx_gauge_set) are always safe. Updates through a handle are atomic and
 * lock-free; look-up, creation, removal and rendering take the registry lock. Names follow
 * cx_<program>_<thing>_<unit>, counters end in _total; labels must stay low-cardinality. */
#ifndef CX_METRICS_H
#define CX_METRICS_H

#include <stddef.h>
#include <stdio.h>

typedef struct cx_metric cx_metric;

typedef enum cx_metric_type {
        CX_COUNTER,
        CX_GAUGE,
        CX_HISTOGRAM, /* seconds; buckets 5 ms to 60 s (common/metrics.c) */
} cx_metric_type;

/**
 * @brief Find or create a metric.
 * @param labels Prometheus label text without braces (`tenant="a",code="200"`) or NULL.
 *        Label values are escaped by the caller with cx_metrics_label().
 */
cx_metric *cx_metric_get(cx_metric_type type, const char *name, const char *help,
                         const char *labels);

void cx_metric_add(cx_metric *m, double delta);
void cx_metric_set(cx_metric *m, double value);
double cx_metric_value(const cx_metric *m);

/** @brief Shorthand: add @p delta to a counter found by name and labels. */
void cx_counter_add(const char *name, const char *help, const char *labels, double delta);
/** @brief Shorthand: set a gauge found by name and labels. */
void cx_gauge_set(const char *name, const char *help, const char *labels, double value);

/** @brief Count one observation of @p seconds in a histogram found by name and labels
 *  (rendered as _bucket{le=...}, _sum and _count). Keep its labels few: 15 series each. */
void cx_histogram_observe(const char *name, const char *help, const char *labels, double seconds);

/** @brief Write `key="value"` with the value escaped for the text format into @p out. */
void cx_metrics_label(char *out, size_t size, const char *key, const char *value);

/** @brief Two labels, `k1="v1",k2="v2"` (each value up to 255 bytes once escaped). */
void cx_metrics_label2(char *out, size_t size, const char *k1, const char *v1, const char *k2,
                       const char *v2);

/** @brief Render every metric, grouped by name with one HELP/TYPE header each. */
void cx_metrics_render(FILE *out);

/**
 * @brief Remove every series labelled `tenant="@p tenant"` (the tenant left this instance:
 *        its lease went elsewhere, it was disabled or deleted). @returns how many were removed.
 */
size_t cx_metrics_remove_tenant(const char *tenant);

/**
 * @brief Remove the series of every tenant not among @p ids (the tenants that still exist),
 *        for daemons that meet tenants through their records (cx_tenants_sweep_metrics).
 * @returns how many series were removed.
 */
size_t cx_metrics_keep_tenants(const char *const *ids, size_t n);

/** @brief How many series the registry holds. */
size_t cx_metrics_count(void);

/** @brief Free the registry (at exit, to keep leak checkers quiet). */
void cx_metrics_free(void);

#endif
