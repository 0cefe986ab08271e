/* Metrics: the hash map keeps every series of 2,000 tenants apart, a scrape prints each name
 * once with all its series, and a tenant's series go when the tenant leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "tests/testlib.h"

#define N_TENANTS 2000

static char *render(void)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cx_metrics_render(f);
        fclose(f);
        return buf;
}

/* How many lines of @p text start with @p prefix. */
static int count_lines(const char *text, const char *prefix)
{
        int n = 0;
        size_t pl = strlen(prefix);

        for (const char *p = text; p && *p;) {
                if (!strncmp(p, prefix, pl))
                        n++;
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
        return n;
}

static void fill(void)
{
        for (int i = 0; i < N_TENANTS; i++) {
                char id[32], lab[128], lab2[256];

                snprintf(id, sizeof(id), "shop-%04d", i);
                cx_metrics_label(lab, sizeof(lab), "tenant", id);
                cx_counter_add("cx_test_requests_total", "Requests", lab, (double)i);
                cx_counter_add("cx_test_requests_total", "Requests", lab, 1);
                cx_gauge_set("cx_test_lag_seconds", "Lag", lab, (double)(i * 2));
                cx_metrics_label2(lab2, sizeof(lab2), "tenant", id, "endpoint", "salesorders");
                cx_counter_add("cx_test_calls_total", "Calls", lab2, 3);
        }
        cx_gauge_set("cx_test_tenants", "Tenants", NULL, N_TENANTS);
}

static void test_values_per_tenant(void)
{
        char *out;

        fill();
        T_EQ_INT(cx_metrics_count(), 3 * N_TENANTS + 1);
        for (int i = 0; i < N_TENANTS; i += 97) {
                char id[32], lab[128];

                snprintf(id, sizeof(id), "shop-%04d", i);
                cx_metrics_label(lab, sizeof(lab), "tenant", id);
                T_ASSERT(cx_metric_value(cx_metric_get(CX_COUNTER, "cx_test_requests_total", "",
                                                       lab)) == i + 1,
                         "requests of %s", id);
                T_ASSERT(cx_metric_value(cx_metric_get(CX_GAUGE, "cx_test_lag_seconds", "", lab)) ==
                                 i * 2,
                         "lag of %s", id);
        }
        out = render();
        T_EQ_INT(count_lines(out, "# HELP cx_test_requests_total Requests"), 1);
        T_EQ_INT(count_lines(out, "# TYPE cx_test_requests_total counter"), 1);
        T_EQ_INT(count_lines(out, "# TYPE cx_test_lag_seconds gauge"), 1);
        T_EQ_INT(count_lines(out, "cx_test_requests_total{"), N_TENANTS);
        T_EQ_INT(count_lines(out, "cx_test_calls_total{"), N_TENANTS);
        T_CONTAINS(out, "\ncx_test_requests_total{tenant=\"shop-1999\"} 2000\n");
        T_CONTAINS(out, "\ncx_test_calls_total{tenant=\"shop-0007\",endpoint=\"salesorders\"} 3\n");
        T_CONTAINS(out, "\ncx_test_tenants 2000\n");
        free(out);
}

static void test_remove_tenant(void)
{
        char *out;

        /* shop-0001 must not take shop-00010's or shop-0001x's series with it */
        cx_counter_add("cx_test_requests_total", "Requests", "tenant=\"shop-00010\"", 5);
        T_EQ_INT(cx_metrics_remove_tenant("shop-0001"), 3);
        T_EQ_INT(cx_metrics_remove_tenant("shop-0001"), 0);
        T_EQ_INT(cx_metrics_remove_tenant("shop-1500"), 3);
        T_EQ_INT(cx_metrics_count(), 3 * N_TENANTS + 2 - 6);
        out = render();
        T_ASSERT(!strstr(out, "\"shop-0001\""), "removed tenant still rendered");
        T_ASSERT(!strstr(out, "\"shop-1500\""), "removed tenant still rendered");
        T_CONTAINS(out, "cx_test_requests_total{tenant=\"shop-00010\"} 5\n");
        T_CONTAINS(out, "cx_test_requests_total{tenant=\"shop-0010\"} 11\n");
        T_EQ_INT(count_lines(out, "cx_test_requests_total{"), N_TENANTS + 1 - 2);
        free(out);
        /* the series comes back from zero when the tenant returns */
        cx_counter_add("cx_test_requests_total", "Requests", "tenant=\"shop-0001\"", 1);
        T_ASSERT(cx_metric_value(cx_metric_get(CX_COUNTER, "cx_test_requests_total", "",
                                               "tenant=\"shop-0001\"")) == 1,
                 "a returning tenant's counter starts again");
        /* a family whose every series went prints no header */
        cx_gauge_set("cx_test_lonely", "One", "tenant=\"gone\"", 1);
        T_EQ_INT(cx_metrics_remove_tenant("gone"), 1);
        out = render();
        T_ASSERT(!strstr(out, "cx_test_lonely"), "empty family rendered");
        free(out);
}

/* The loader's sweep: keep the tenants that still exist, drop the rest. */
static void test_keep_tenants(void)
{
        const char *keep[N_TENANTS / 2];
        char ids[N_TENANTS / 2][32];
        char *out;

        for (int i = 0; i < N_TENANTS / 2; i++) {
                snprintf(ids[i], sizeof(ids[i]), "shop-%04d", N_TENANTS - 1 - 2 * i);
                keep[i] = ids[i];
        }
        cx_metrics_keep_tenants(keep, N_TENANTS / 2);
        /* odd shops stay (3 series each, shop-0001 only the 1 it got back), shop-00010 and
         * the even ones go; the untenanted gauge stays */
        T_EQ_INT(cx_metrics_count(), 3 * (N_TENANTS / 2) - 2 + 1);
        out = render();
        T_CONTAINS(out, "cx_test_requests_total{tenant=\"shop-0011\"} 12\n");
        T_ASSERT(!strstr(out, "\"shop-0010\""), "an even shop was kept");
        T_ASSERT(!strstr(out, "\"shop-00010\""), "shop-00010 was kept");
        T_CONTAINS(out, "\ncx_test_tenants 2000\n");
        free(out);
        cx_metrics_free();
        fill();
}

static void test_histogram(void)
{
        const double obs[] = { 0.001, 0.005, 0.2, 0.2, 3, 100 };
        char *out;

        for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
                cx_histogram_observe("cx_test_call_seconds", "Calls", "tenant=\"h1\"", obs[i]);
        cx_histogram_observe("cx_test_call_seconds", "Calls", NULL, 0.02);
        out = render();
        T_EQ_INT(count_lines(out, "# TYPE cx_test_call_seconds histogram"), 1);
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"0.005\"} 2\n");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"0.1\"} 2\n");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"0.25\"} 4\n");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"5\"} 5\n");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"60\"} 5\n");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{tenant=\"h1\",le=\"+Inf\"} 6\n");
        T_CONTAINS(out, "cx_test_call_seconds_count{tenant=\"h1\"} 6\n");
        T_CONTAINS(out, "cx_test_call_seconds_sum{tenant=\"h1\"} 103.40");
        T_CONTAINS(out, "cx_test_call_seconds_bucket{le=\"0.025\"} 1\n");
        T_CONTAINS(out, "cx_test_call_seconds_count 1\n");
        free(out);
        T_EQ_INT(cx_metrics_remove_tenant("h1"), 1);
        out = render();
        T_ASSERT(!strstr(out, "h1"), "histogram of a removed tenant rendered");
        free(out);
}

static void test_remove_every_tenant(void)
{
        for (int i = 0; i < N_TENANTS; i++) {
                char id[32];

                snprintf(id, sizeof(id), "shop-%04d", i);
                cx_metrics_remove_tenant(id);
        }
        T_EQ_INT(cx_metrics_count(), 2); /* the untenanted gauge and histogram */
        cx_metrics_free();
        T_EQ_INT(cx_metrics_count(), 0);
        fill(); /* usable again after free */
        T_EQ_INT(cx_metrics_count(), 3 * N_TENANTS + 1);
        cx_metrics_free();
}

int main(void)
{
        T_RUN(test_values_per_tenant);
        T_RUN(test_remove_tenant);
        T_RUN(test_keep_tenants);
        T_RUN(test_histogram);
        T_RUN(test_remove_every_tenant);
        return t_done();
}
