#include "common/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"

#define MAX_ROUTES 16

struct route {
        char method[8];
        char prefix[128];
        cx_http_handler fn;
        void *ud;
};

struct cx_http_server {
        struct MHD_Daemon *mhd;
        int port;
        cx_ready_fn ready;
        void *ready_ud;
        bool metrics; /* the internal listener: /metrics, nothing else */
        pthread_mutex_t lock;
        struct route routes[MAX_ROUTES];
        size_t n_routes;
};

struct cx_http_request {
        struct MHD_Connection *conn;
        const char *method;
        const char *path;
        char *body;
        size_t len;
        bool too_big;
};

const char *cx_http_request_method(const cx_http_request *req)
{
        return req->method;
}

const char *cx_http_request_path(const cx_http_request *req)
{
        return req->path;
}

const char *cx_http_request_header(const cx_http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *cx_http_request_peer(const cx_http_request *req, char *out, size_t size)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
                req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(out, size, "unknown");
        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                          (socklen_t)size);
        else if (sa && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                          out, (socklen_t)size);
        return out;
}

const char *cx_http_request_query(const cx_http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *cx_http_request_body(const cx_http_request *req, size_t *len)
{
        if (len)
                *len = req->len;
        return req->body ? req->body : "";
}

void cx_http_reply_set(cx_http_reply *reply, int status, const char *content_type, const char *body)
{
        free(reply->body);
        reply->status = status;
        reply->content_type = content_type;
        reply->body = strdup(body ? body : "");
        reply->len = reply->body ? strlen(reply->body) : 0;
}

static void serve_metrics(cx_http_reply *reply)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f) {
                cx_http_reply_set(reply, 500, "text/plain", "out of memory\n");
                return;
        }
        cx_metrics_render(f);
        fclose(f);
        reply->status = 200;
        reply->content_type = "text/plain; version=0.0.4";
        reply->body = buf;
        reply->len = len;
}

static void dispatch(cx_http_server *srv, cx_http_request *req, cx_http_reply *reply)
{
        struct route *found = NULL;

        if (srv->metrics) {
                if (!strcmp(req->path, "/metrics"))
                        serve_metrics(reply);
                else
                        cx_http_reply_set(reply, 404, "application/json",
                                          "{\"error\":\"no such resource\"}\n");
                return;
        }
        if (!strcmp(req->path, "/healthz")) {
                cx_http_reply_set(reply, 200, "application/json", "{\"status\":\"ok\"}\n");
                return;
        }
        if (!strcmp(req->path, "/readyz")) {
                char why[256] = "";
                bool ok = srv->ready ? srv->ready(srv->ready_ud, why, sizeof(why)) : true;
                json_t *j = json_pack("{s:s}", "status", ok ? "ready" : "not ready");
                char *text;

                if (!ok)
                        json_object_set_new(j, "reason", json_string(why));
                text = json_dumps(j, JSON_COMPACT);
                cx_http_reply_set(reply, ok ? 200 : 503, "application/json", text);
                free(text);
                json_decref(j);
                return;
        }
        pthread_mutex_lock(&srv->lock);
        for (size_t i = 0; i < srv->n_routes; i++) {
                struct route *r = &srv->routes[i];

                if (strncmp(req->path, r->prefix, strlen(r->prefix)) != 0)
                        continue;
                if (r->method[0] && strcmp(r->method, req->method) != 0)
                        continue;
                found = r;
                break;
        }
        pthread_mutex_unlock(&srv->lock);
        if (!found) {
                cx_http_reply_set(reply, 404, "application/json",
                                  "{\"error\":\"no such resource\"}\n");
                return;
        }
        found->fn(found->ud, req, reply);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
        cx_http_server *srv = cls;
        cx_http_request *req = *state;
        cx_http_reply reply = { 0 };
        struct MHD_Response *resp;
        enum MHD_Result ret;

        if (!req) {
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                *state = req;
                return MHD_YES;
        }
        if (*upload_size) {
                /* Collect the body, refusing (later) anything over the cap. */
                if (!req->too_big && req->len + *upload_size <= CX_HTTP_MAX_BODY) {
                        char *grown = realloc(req->body, req->len + *upload_size + 1);

                        if (grown) {
                                req->body = grown;
                                memcpy(req->body + req->len, upload_data, *upload_size);
                                req->len += *upload_size;
                                req->body[req->len] = '\0';
                        } else {
                                req->too_big = true;
                        }
                } else {
                        req->too_big = true;
                }
                *upload_size = 0;
                return MHD_YES;
        }
        req->conn = conn;
        req->method = method;
        req->path = url;
        reply.content_type = "application/json";
        if (req->too_big)
                cx_http_reply_set(&reply, 413, "application/json",
                                  "{\"error\":\"request body too large\"}\n");
        else
                dispatch(srv, req, &reply);
        resp = MHD_create_response_from_buffer(reply.len, reply.body ? reply.body : (void *)"",
                                               reply.body ? MHD_RESPMEM_MUST_FREE
                                                          : MHD_RESPMEM_PERSISTENT);
        reply.body = NULL;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply.content_type ? reply.content_type : "application/json");
        for (size_t i = 0; i < sizeof(reply.extra_headers) / sizeof(reply.extra_headers[0]); i++) {
                char *h = reply.extra_headers[i];
                char *colon = h ? strchr(h, ':') : NULL;

                if (colon) {
                        *colon = '\0';
                        MHD_add_response_header(resp, h, colon + 1 + (colon[1] == ' '));
                }
                free(h);
        }
        ret = MHD_queue_response(conn, (unsigned)(reply.status ? reply.status : 500), resp);
        MHD_destroy_response(resp);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode code)
{
        cx_http_request *req = *state;

        if (req) {
                free(req->body);
                free(req);
        }
        *state = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char msg[512];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        msg[strcspn(msg, "\n")] = '\0';
        cx_log(CX_LOG_WARN, "http_server", "%s", msg);
}

static cx_http_server *start(const char *addr, int port, cx_ready_fn ready, void *ready_ud,
                             bool metrics, unsigned threaded_conns, cx_err *err)
{
        cx_http_server *srv = calloc(1, sizeof(*srv));
        struct sockaddr_in sin;
        const union MHD_DaemonInfo *info;

        if (!srv) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                return NULL;
        }
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
                free(srv);
                cx_fail(err, CX_ERR_CONFIG, false, "HTTP listen address \"%s\" is not IPv4", addr);
                return NULL;
        }
        pthread_mutex_init(&srv->lock, NULL);
        srv->ready = ready;
        srv->ready_ud = ready_ud;
        srv->metrics = metrics;
        /* One polling thread serves every connection in turn; a listener whose handlers may
         * block (the panel: password hashing, calls to Exact) gets a thread per connection
         * instead, so that one slow request holds up only its own client. */
        srv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                            (threaded_conns ? MHD_USE_THREAD_PER_CONNECTION : 0),
                                    0, NULL, NULL, on_request, srv,
                                    /* first, so that no message goes to MHD's own logger */
                                    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
                                    MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_NOTIFY_COMPLETED,
                                    on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                    MHD_OPTION_CONNECTION_LIMIT,
                                    threaded_conns ? threaded_conns : 256u, MHD_OPTION_END);
        if (!srv->mhd) {
                pthread_mutex_destroy(&srv->lock);
                free(srv);
                cx_fail(err, CX_ERR_IO, false, "cannot listen on %s:%d (in use?)", addr, port);
                return NULL;
        }
        info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = info ? info->port : port;
        return srv;
}

cx_http_server *cx_http_server_start(const char *addr, int port, cx_ready_fn ready, void *ready_ud,
                                     cx_err *err)
{
        return start(addr, port, ready, ready_ud, false, 0, err);
}

cx_http_server *cx_http_server_start_threaded(const char *addr, int port, unsigned max_conns,
                                              cx_ready_fn ready, void *ready_ud, cx_err *err)
{
        return start(addr, port, ready, ready_ud, false, max_conns ? max_conns : 64, err);
}

cx_http_server *cx_http_metrics_start(const char *addr, int port, cx_err *err)
{
        return start(addr, port, NULL, NULL, true, 0, err);
}

int cx_http_server_route(cx_http_server *srv, const char *method, const char *prefix,
                         cx_http_handler fn, void *ud)
{
        struct route *r;

        pthread_mutex_lock(&srv->lock);
        if (srv->n_routes == MAX_ROUTES) {
                pthread_mutex_unlock(&srv->lock);
                return -1;
        }
        r = &srv->routes[srv->n_routes++];
        snprintf(r->method, sizeof(r->method), "%s", method ? method : "");
        snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
        r->fn = fn;
        r->ud = ud;
        pthread_mutex_unlock(&srv->lock);
        return 0;
}

int cx_http_server_port(const cx_http_server *srv)
{
        return srv->port;
}

void cx_http_server_stop(cx_http_server *srv)
{
        if (!srv)
                return;
        MHD_stop_daemon(srv->mhd);
        pthread_mutex_destroy(&srv->lock);
        free(srv);
}
