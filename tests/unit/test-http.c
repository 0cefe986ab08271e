/* The HTTP listener and client together on loopback: health, readiness, metrics text,
 * custom routes, response headers, body cap, transport errors. No external services. */
#include <stdbool.h>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "tests/testlib.h"

static bool ready_flag;

static bool is_ready(void *ud, char *why, size_t n)
{
        if (!ready_flag)
                snprintf(why, n, "still starting");
        return ready_flag;
}

static void echo(void *ud, const cx_http_request *req, cx_http_reply *reply)
{
        size_t len;
        const char *body = cx_http_request_body(req, &len);
        char out[256];

        snprintf(out, sizeof(out), "{\"len\":%zu,\"x\":\"%s\"}", len,
                 cx_http_request_header(req, "X-Test") ? cx_http_request_header(req, "X-Test")
                                                       : "");
        (void)body;
        cx_http_reply_set(reply, 201, "application/json", out);
        reply->extra_headers[0] = strdup("X-RateLimit-Remaining: 59");
}

static int port, metrics_port;

static long get(cx_http_client *c, const char *method, const char *path, const char *body,
                cx_http_response *r)
{
        char url[128];
        const char *hdrs[] = { "X-Test: hello", NULL };
        cx_http_client_request req = { method, url, hdrs, body, body ? strlen(body) : 0, 5000 };
        cx_err err;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        if (cx_http_do(c, &req, r, &err) < 0)
                return -1;
        return r->status;
}

static long get_at(cx_http_client *c, int at, const char *path, cx_http_response *r)
{
        int main_port = port;
        long status;

        port = at;
        status = get(c, "GET", path, NULL, r);
        port = main_port;
        return status;
}

static void test_http_health_ready_metrics(cx_http_client *c)
{
        cx_http_response r;

        T_EQ_INT(get(c, "GET", "/healthz", NULL, &r), 200);
        cx_http_response_free(&r);
        T_EQ_INT(get(c, "GET", "/readyz", NULL, &r), 503);
        T_CONTAINS(r.body, "still starting");
        cx_http_response_free(&r);
        ready_flag = true;
        T_EQ_INT(get(c, "GET", "/readyz", NULL, &r), 200);
        cx_http_response_free(&r);
        cx_counter_add("cx_test_events_total", "events", "kind=\"a\"", 2);
        cx_counter_add("cx_test_events_total", "events", "kind=\"b\"", 1);
        cx_gauge_set("cx_test_level", "level", NULL, 7.5);
        /* the public listener has no /metrics: only the internal one serves it */
        T_EQ_INT(get(c, "GET", "/metrics", NULL, &r), 404);
        cx_http_response_free(&r);
        T_EQ_INT(get_at(c, metrics_port, "/metrics", &r), 200);
        T_CONTAINS(r.body, "# TYPE cx_test_events_total counter");
        T_CONTAINS(r.body, "cx_test_events_total{kind=\"a\"} 2");
        T_CONTAINS(r.body, "cx_test_events_total{kind=\"b\"} 1");
        T_CONTAINS(r.body, "cx_test_level 7.5");
        T_CONTAINS(cx_http_header(&r, "content-type"), "text/plain");
        cx_http_response_free(&r);
        T_EQ_INT(get_at(c, metrics_port, "/readyz", &r), 404);
        cx_http_response_free(&r);
}

static void test_http_routes_and_headers(cx_http_client *c)
{
        cx_http_response r;

        T_EQ_INT(get(c, "POST", "/hooks/abc", "{\"a\":1}", &r), 201);
        T_CONTAINS(r.body, "\"len\":7");
        T_CONTAINS(r.body, "\"x\":\"hello\"");
        T_EQ_STR(cx_http_header(&r, "x-ratelimit-remaining"), "59");
        cx_http_response_free(&r);
        T_EQ_INT(get(c, "GET", "/hooks/abc", NULL, &r), 404);
        cx_http_response_free(&r);
        T_EQ_INT(get(c, "GET", "/nothing", NULL, &r), 404);
        cx_http_response_free(&r);
}

static void test_http_body_cap(cx_http_client *c)
{
        size_t n = CX_HTTP_MAX_BODY + 10;
        char *big = malloc(n + 1);
        cx_http_response r;

        memset(big, 'a', n);
        big[n] = '\0';
        T_EQ_INT(get(c, "POST", "/hooks/big", big, &r), 413);
        cx_http_response_free(&r);
        free(big);
}

static void test_http_transport_error_is_retriable(cx_http_client *c)
{
        const char *url = "http://127.0.0.1:1/none";
        cx_http_client_request req = { "POST", url, NULL, "{}", 2, 2000 };
        cx_http_response r;
        cx_err err;

        T_EQ_INT(cx_http_do(c, &req, &r, &err), -1);
        T_ASSERT(err.retriable, "connection refused should be retriable");
        T_ASSERT(!r.ambiguous, "nothing was sent, so nothing is ambiguous");
        cx_http_response_free(&r);
}

int main(void)
{
        cx_err err;
        cx_http_server *srv, *msrv;
        cx_http_client *c;

        cx_http_global_init();
        srv = cx_http_server_start("127.0.0.1", 0, is_ready, NULL, &err);
        T_FATAL(srv != NULL, "%s", err.msg);
        port = cx_http_server_port(srv);
        T_ASSERT(port > 0, "port %d", port);
        T_EQ_INT(cx_http_server_route(srv, "POST", "/hooks/", echo, NULL), 0);
        msrv = cx_http_metrics_start("127.0.0.1", 0, &err);
        T_FATAL(msrv != NULL, "%s", err.msg);
        metrics_port = cx_http_server_port(msrv);
        c = cx_http_client_new(5000, false);
        test_http_health_ready_metrics(c);
        test_http_routes_and_headers(c);
        test_http_body_cap(c);
        test_http_transport_error_is_retriable(c);
        T_ASSERT(cx_http_server_start("127.0.0.1", port, NULL, NULL, &err) == NULL,
                 "second listener on a used port");
        T_CONTAINS(err.msg, "cannot listen");
        cx_http_client_free(c);
        cx_http_server_stop(msrv);
        cx_http_server_stop(srv);
        cx_metrics_free();
        cx_http_global_cleanup();
        return t_done();
}
