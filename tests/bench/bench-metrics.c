/* bench-metrics: GET /metrics of an instance holding 1,000 tenants, over the real metrics
 * listener (common/http_server.c), while another thread keeps updating counters as the
 * workers do. The series per tenant are those a loader and an extractor create (requests,
 * lag, published per entity, calls per endpoint, ...). Not a test; run on demand:
 *   build/tests/bench-metrics [tenants] [scrapes]
 * Its last line is JSON: the median scrape against the bound of 50 ms (ratio <= 1 meets it;
 * ratio_max is the slowest one's, which on a loaded machine is mostly the scheduler), the
 * render alone, and the slowest counter update seen during the scrapes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/metrics.h"

#define BOUND_MS 50.0

static const char *const endpoints[] = { "salesorders", "accounts",          "contacts",
                                         "items",       "salesinvoices",     "vatcodes",
                                         "gljournals",  "paymentconditions", "costcenters",
                                         "me" };
static const char *const entities[] = { "order", "product", "customer" };

static atomic_bool stop;
static atomic_long add_max_ns, adds;
static int n_tenants;

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tenant_series(int i, double v)
{
        char id[32], l[128], l2[320];

        snprintf(id, sizeof(id), "bench-shop-%04d", i);
        cx_metrics_label(l, sizeof(l), "tenant", id);
        cx_counter_add("cx_extractor_requests_total", "Requests sent to CCV Shop, per tenant", l,
                       v);
        cx_counter_add("cx_extractor_throttled_total", "429 answers from CCV Shop, per tenant", l,
                       v);
        cx_gauge_set("cx_extractor_lag_seconds", "Seconds since caught up", l, v);
        cx_counter_add("cx_extractor_failures_total", "Failures", l, v);
        for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
                cx_metrics_label2(l2, sizeof(l2), "tenant", id, "entity", entities[e]);
                cx_counter_add("cx_extractor_published_total", "Records published", l2, v);
        }
        cx_counter_add("cx_loader_commands_total", "Commands handled", l, v);
        cx_counter_add("cx_loader_dead_letters_total", "Commands dead-lettered", l, v);
        cx_counter_add("cx_loader_documents_total", "Documents booked", l, v);
        for (size_t e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++) {
                cx_metrics_label2(l2, sizeof(l2), "tenant", id, "endpoint", endpoints[e]);
                cx_counter_add("cx_loader_exact_calls_total", "Calls to Exact", l2, v);
                cx_counter_add("cx_loader_exact_errors_total", "Errors from Exact", l2, v);
        }
}

/* The workers: counter updates through the shorthand, timed, at about 37,000 a second (far
 * more than a loader and an extractor make, but not a busy loop that would only measure the
 * machine's scheduler). */
static void *updater(void *arg)
{
        struct timespec gap = { 0, 1000000 };
        long i = 0;

        (void)arg;
        while (!atomic_load(&stop)) {
                nanosleep(&gap, NULL);
                double t0 = now();
                long ns;

                tenant_series((int)(i++ % n_tenants), 1);
                ns = (long)((now() - t0) * 1e9 / 37); /* 37 series per call */
                if (ns > atomic_load(&add_max_ns))
                        atomic_store(&add_max_ns, ns);
                atomic_fetch_add(&adds, 37);
        }
        return NULL;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        int scrapes = argc > 2 ? atoi(argv[2]) : 20;
        cx_http_client *hc;
        cx_http_server *srv;
        cx_err err = { 0 };
        char url[64];
        double *ms, *render_ms, fill_s, t0;
        size_t bytes = 0, series;
        pthread_t th;
        int failed = 0;

        n_tenants = argc > 1 ? atoi(argv[1]) : 1000;
        if (n_tenants < 1 || scrapes < 1) {
                fprintf(stderr, "usage: bench-metrics [tenants] [scrapes]\n");
                return 2;
        }
        cx_http_global_init();
        t0 = now();
        for (int i = 0; i < n_tenants; i++)
                tenant_series(i, 1);
        fill_s = now() - t0;
        series = cx_metrics_count();
        srv = cx_http_metrics_start("127.0.0.1", 0, &err);
        hc = cx_http_client_new(10000, false);
        ms = calloc((size_t)scrapes, sizeof(*ms));
        render_ms = calloc((size_t)scrapes, sizeof(*render_ms));
        if (!srv || !hc || !ms || !render_ms) {
                fprintf(stderr, "bench-metrics: %s\n", err.msg[0] ? err.msg : "set-up failed");
                return 1;
        }
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", cx_http_server_port(srv));
        pthread_create(&th, NULL, updater, NULL);
        for (int k = 0; k < scrapes; k++) {
                cx_http_client_request req = { .method = "GET", .url = url };
                cx_http_response resp = { 0 };

                t0 = now();
                if (cx_http_do(hc, &req, &resp, &err) < 0 || resp.status != 200)
                        failed++;
                ms[k] = (now() - t0) * 1000;
                bytes = resp.body_len;
                cx_http_response_free(&resp);
        }
        atomic_store(&stop, true);
        pthread_join(th, NULL);
        /* the render alone, in the process, without HTTP */
        for (int k = 0; k < scrapes; k++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);

                t0 = now();
                cx_metrics_render(f);
                fclose(f);
                render_ms[k] = (now() - t0) * 1000;
                free(buf);
        }
        qsort(ms, (size_t)scrapes, sizeof(*ms), cmp);
        qsort(render_ms, (size_t)scrapes, sizeof(*render_ms), cmp);
        printf("tenants:          %d\n", n_tenants);
        printf("series:           %zu (%.1f per tenant)\n", series, (double)series / n_tenants);
        printf("body:             %zu bytes\n", bytes);
        printf("fill:             %.3f s\n", fill_s);
        printf("scrape ms:        min %.2f, median %.2f, max %.2f (%d scrapes)\n", ms[0],
               ms[scrapes / 2], ms[scrapes - 1], scrapes);
        printf("render alone ms:  min %.2f, median %.2f, max %.2f\n", render_ms[0],
               render_ms[scrapes / 2], render_ms[scrapes - 1]);
        printf("counter update:   max %.1f us during the scrapes (%ld updates)\n",
               (double)atomic_load(&add_max_ns) / 1000, atomic_load(&adds));
        printf("{\"bench\":\"metrics\",\"tenants\":%d,\"series\":%zu,\"bytes\":%zu,"
               "\"scrapes\":%d,\"failed\":%d,\"scrape_ms_min\":%.2f,\"scrape_ms_median\":%.2f,"
               "\"scrape_ms_max\":%.2f,\"render_ms_median\":%.2f,\"bound_ms\":%.0f,"
               "\"ratio\":%.3f,\"ratio_max\":%.3f,\"update_us_max\":%.1f}\n",
               n_tenants, series, bytes, scrapes, failed, ms[0], ms[scrapes / 2], ms[scrapes - 1],
               render_ms[scrapes / 2], BOUND_MS, ms[scrapes / 2] / BOUND_MS,
               ms[scrapes - 1] / BOUND_MS, (double)atomic_load(&add_max_ns) / 1000);
        free(ms);
        free(render_ms);
        cx_http_client_free(hc);
        cx_http_server_stop(srv);
        cx_metrics_free();
        cx_http_global_cleanup();
        return failed ? 1 : 0;
}
