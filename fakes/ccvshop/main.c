/*
 * main.c - ccvshop-fake: command line, listening socket, dump mode, signals.
 * See docs/fakes-ccvshop.md for every option.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ccv_data.h"
#include "ccv_server.h"

struct cli {
        char host[64];
        int port;
        struct ccv_gen_opts gen;
        struct ccv_fake_opts fake;
        const char *fixtures;
        bool dump_orders;
        bool dump_shops;
};

static void usage(FILE *out)
{
        fputs("usage: ccvshop-fake [--listen ADDR:PORT] [--seed N] [--shops N] [--orders N]\n"
              "         [--products N] [--fixtures FILE] [--rate-limit N] [--write-rate-limit N]\n"
              "         [--total-rate-limit N] [--minute SECONDS] [--auth-window SECONDS]\n"
              "         [--auth-status 401|403] [--no-auth] [--retry-after] [--sign-errors]\n"
              "         [--max-body BYTES] [--hook-timeout-ms MS] [--latency-ms MS] [--threads N]\n"
              "         [--oss alternate|all|none] [--epoch ISO8601]\n"
              "       ccvshop-fake --dump-orders|--dump-shops [--seed N] [--shops N] "
              "[--orders N] ...\n",
              out);
}

static int int_arg(const char *v, int64_t lo, int64_t hi, int64_t *ret)
{
        if (!v || ccv_parse_i64(v, ret) < 0 || *ret < lo || *ret > hi)
                return -EINVAL;
        return 0;
}

/* Returns 0, 1 (help printed) or -EINVAL. */
static int parse_args(int argc, char **argv, struct cli *c)
{
        int i;

        snprintf(c->host, sizeof(c->host), "127.0.0.1");
        c->port = 0;
        c->gen.seed = 1;
        c->gen.shops = 2;
        c->gen.orders = 50;
        c->gen.products = 20;
        c->gen.epoch = 1736150400; /* 2025-01-06T08:00:00Z */
        c->gen.oss_mode = CCV_OSS_ALTERNATE;
        c->fake.rate_get = 150;
        c->fake.rate_write = 100;
        c->fake.rate_total = 0;
        c->fake.minute = 60;
        c->fake.auth_window = 300;
        c->fake.auth_status = 401;
        c->fake.max_body = 256 * 1024;
        c->fake.hook_timeout_ms = 2000;
        c->fake.threads = 2;
        for (i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                int64_t n = 0;
                bool used = true;

                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 1;
                } else if (strcmp(a, "--no-auth") == 0) {
                        c->fake.no_auth = true;
                        used = false;
                } else if (strcmp(a, "--retry-after") == 0) {
                        c->fake.retry_after = true;
                        used = false;
                } else if (strcmp(a, "--sign-errors") == 0) {
                        c->fake.sign_errors = true;
                        used = false;
                } else if (strcmp(a, "--dump-orders") == 0) {
                        c->dump_orders = true;
                        used = false;
                } else if (strcmp(a, "--dump-shops") == 0) {
                        c->dump_shops = true;
                        used = false;
                } else if (!v) {
                        fprintf(stderr, "ccvshop-fake: %s needs a value\n", a);
                        return -EINVAL;
                } else if (strcmp(a, "--listen") == 0) {
                        const char *colon = strrchr(v, ':');

                        if (!colon || (size_t)(colon - v) >= sizeof(c->host) ||
                            int_arg(colon + 1, 0, 65535, &n) < 0)
                                goto bad;
                        snprintf(c->host, sizeof(c->host), "%.*s", (int)(colon - v), v);
                        c->port = (int)n;
                } else if (strcmp(a, "--seed") == 0) {
                        if (int_arg(v, 0, INT64_MAX, &n) < 0)
                                goto bad;
                        c->gen.seed = (uint64_t)n;
                } else if (strcmp(a, "--shops") == 0) {
                        if (int_arg(v, 1, 1000, &n) < 0)
                                goto bad;
                        c->gen.shops = (int)n;
                } else if (strcmp(a, "--orders") == 0) {
                        if (int_arg(v, 0, 1000000, &n) < 0)
                                goto bad;
                        c->gen.orders = (int)n;
                } else if (strcmp(a, "--products") == 0) {
                        if (int_arg(v, 1, 100000, &n) < 0)
                                goto bad;
                        c->gen.products = (int)n;
                } else if (strcmp(a, "--fixtures") == 0) {
                        c->fixtures = v;
                } else if (strcmp(a, "--rate-limit") == 0) {
                        if (int_arg(v, 0, INT32_MAX, &n) < 0)
                                goto bad;
                        c->fake.rate_get = (int)n;
                } else if (strcmp(a, "--write-rate-limit") == 0) {
                        if (int_arg(v, 0, INT32_MAX, &n) < 0)
                                goto bad;
                        c->fake.rate_write = (int)n;
                } else if (strcmp(a, "--total-rate-limit") == 0) {
                        if (int_arg(v, 0, INT32_MAX, &n) < 0)
                                goto bad;
                        c->fake.rate_total = (int)n;
                } else if (strcmp(a, "--minute") == 0) {
                        char *end = NULL;
                        double d = strtod(v, &end);

                        if (!end || *end || !(d > 0 && d < 86400))
                                goto bad;
                        c->fake.minute = d;
                } else if (strcmp(a, "--auth-window") == 0) {
                        if (int_arg(v, 0, 86400 * 365, &n) < 0)
                                goto bad;
                        c->fake.auth_window = (int)n;
                } else if (strcmp(a, "--auth-status") == 0) {
                        if (int_arg(v, 401, 403, &n) < 0 || n == 402)
                                goto bad;
                        c->fake.auth_status = (int)n;
                } else if (strcmp(a, "--max-body") == 0) {
                        if (int_arg(v, 16, 64 * 1024 * 1024, &n) < 0)
                                goto bad;
                        c->fake.max_body = (size_t)n;
                } else if (strcmp(a, "--hook-timeout-ms") == 0) {
                        if (int_arg(v, 1, 60000, &n) < 0)
                                goto bad;
                        c->fake.hook_timeout_ms = (long)n;
                } else if (strcmp(a, "--latency-ms") == 0) {
                        if (int_arg(v, 0, 600000, &n) < 0)
                                goto bad;
                        c->fake.latency_ms = (long)n;
                } else if (strcmp(a, "--threads") == 0) {
                        if (int_arg(v, 1, 64, &n) < 0)
                                goto bad;
                        c->fake.threads = (int)n;
                } else if (strcmp(a, "--oss") == 0) {
                        if (strcmp(v, "alternate") == 0)
                                c->gen.oss_mode = CCV_OSS_ALTERNATE;
                        else if (strcmp(v, "all") == 0)
                                c->gen.oss_mode = CCV_OSS_ALL;
                        else if (strcmp(v, "none") == 0)
                                c->gen.oss_mode = CCV_OSS_NONE;
                        else
                                goto bad;
                } else if (strcmp(a, "--epoch") == 0) {
                        if (ccv_time_parse(v, true, &c->gen.epoch, NULL) < 0)
                                goto bad;
                } else {
                        fprintf(stderr, "ccvshop-fake: unknown option %s\n", a);
                        usage(stderr);
                        return -EINVAL;
                }
                if (used)
                        i++;
                continue;
        bad:
                fprintf(stderr, "ccvshop-fake: bad value for %s: %s\n", a, v);
                return -EINVAL;
        }
        return 0;
}

static int cmp_order(const void *a, const void *b)
{
        const struct ccv_order *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/*
 * Replace the generated content of each shop with the fixture file's
 * (format in docs/fakes-ccvshop.md).  Returns 0 or -EINVAL with a message.
 */
static int load_fixtures(const char *path, struct cli *c, struct ccv_shop **ret, int *ret_n)
{
        json_error_t jerr;
        json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        json_t *arr = json_object_get(root, "shops"), *js, *v;
        struct ccv_shop *shops = NULL;
        size_t i, k;
        int n, r = -EINVAL;

        if (!root || !json_is_array(arr) || json_array_size(arr) == 0) {
                fprintf(stderr, "ccvshop-fake: %s: %s\n", path,
                        root ? "needs a non-empty \"shops\" array" : jerr.text);
                goto out;
        }
        n = (int)json_array_size(arr);
        shops = calloc((size_t)n, sizeof(*shops));
        if (!shops)
                goto out;
        json_array_foreach (arr, i, js) {
                struct ccv_shop *s = &shops[i];
                struct ccv_gen_opts g = c->gen;
                json_t *orders = json_object_get(js, "orders"), *o;

                g.orders = 0;
                g.products = json_is_array(json_object_get(js, "products")) ? 0 : g.products;
                if (ccv_gen_shop(s, &g, (int)i + 1) < 0)
                        goto out;
                v = json_object_get(js, "public_key");
                if (json_is_string(v))
                        snprintf(s->public_key, sizeof(s->public_key), "%s", json_string_value(v));
                v = json_object_get(js, "secret");
                if (json_is_string(v))
                        snprintf(s->secret, sizeof(s->secret), "%s", json_string_value(v));
                v = json_object_get(js, "name");
                if (json_is_string(v))
                        snprintf(s->name, sizeof(s->name), "%s", json_string_value(v));
                v = json_object_get(js, "oss_registered");
                if (json_is_boolean(v))
                        s->oss = json_is_true(v);
                v = json_object_get(js, "products");
                if (json_is_array(v)) {
                        json_decref(s->products);
                        s->products = json_incref(v);
                }
                v = json_object_get(js, "users");
                if (json_is_array(v)) {
                        json_decref(s->users);
                        s->users = json_incref(v);
                }
                v = json_object_get(js, "categories");
                if (json_is_array(v)) {
                        json_decref(s->categories);
                        s->categories = json_incref(v);
                }
                if (orders && !json_is_array(orders)) {
                        fprintf(stderr, "ccvshop-fake: %s: shop %zu: orders must be an array\n",
                                path, i + 1);
                        goto out;
                }
                s->orders = calloc(json_array_size(orders) + 1, sizeof(*s->orders));
                if (!s->orders)
                        goto out;
                s->cap_orders = json_array_size(orders) + 1;
                json_array_foreach (orders, k, o) {
                        struct ccv_order *d = &s->orders[s->n_orders];
                        json_t *id = json_object_get(o, "id");

                        if (!json_is_object(o) || !json_is_integer(id)) {
                                fprintf(stderr,
                                        "ccvshop-fake: %s: shop %zu order %zu: needs an "
                                        "integer id\n",
                                        path, i + 1, k);
                                goto out;
                        }
                        d->obj = json_copy(o);
                        if (!d->obj)
                                goto out;
                        d->id = json_integer_value(id);
                        d->rows = json_incref(json_object_get(o, "orderrows"));
                        if (!json_is_array(d->rows)) {
                                json_decref(d->rows);
                                d->rows = json_array();
                        }
                        d->expect = json_incref(json_object_get(o, "_fake_expect"));
                        if (!d->expect)
                                d->expect = json_object();
                        json_object_del(d->obj, "_fake_expect");
                        json_object_del(d->obj, "shop");
                        /* Keep the orderrows href object if present, else add one. */
                        if (!json_is_object(json_object_get(d->obj, "orderrows")))
                                json_object_del(d->obj, "orderrows");
                        if (ccv_time_parse(
                                    json_string_value(json_object_get(d->obj, "create_date")), true,
                                    &d->created, NULL) < 0)
                                d->created = 0;
                        s->n_orders++;
                        if (d->id >= s->next_order_id)
                                s->next_order_id = d->id + 1;
                }
                qsort(s->orders, s->n_orders, sizeof(*s->orders), cmp_order);
        }
        *ret = shops;
        *ret_n = n;
        shops = NULL;
        r = 0;
out:
        if (shops) {
                for (i = 0; i < (size_t)n; i++)
                        ccv_shop_deinit(&shops[i]);
                free(shops);
        }
        json_decref(root);
        return r;
}

static int make_shops(struct cli *c, struct ccv_shop **ret, int *ret_n)
{
        struct ccv_shop *shops;
        int i;

        if (c->fixtures)
                return load_fixtures(c->fixtures, c, ret, ret_n);
        shops = calloc((size_t)c->gen.shops, sizeof(*shops));
        if (!shops)
                return -ENOMEM;
        for (i = 0; i < c->gen.shops; i++) {
                if (ccv_gen_shop(&shops[i], &c->gen, i + 1) < 0) {
                        for (; i >= 0; i--)
                                ccv_shop_deinit(&shops[i]);
                        free(shops);
                        return -ENOMEM;
                }
        }
        *ret = shops;
        *ret_n = c->gen.shops;
        return 0;
}

static json_t *shop_line(const struct ccv_shop *s)
{
        return json_pack("{s:i,s:I,s:s,s:s,s:s,s:s,s:b,s:s?}", "n", s->n, "id", (json_int_t)s->id,
                         "name", s->name, "base_url", s->base_url, "public_key", s->public_key,
                         "secret", s->secret, "oss_registered", s->oss, "ordernumber_prefix",
                         s->ordernumber_prefix[0] ? s->ordernumber_prefix : NULL);
}

static int dump(struct cli *c)
{
        struct ccv_shop *shops = NULL;
        int n = 0, i, r;
        size_t k;

        c->gen.base_fmt = "http://ccvshop-fake.invalid/shop/%d/api/rest/v1/";
        r = make_shops(c, &shops, &n);
        if (r < 0)
                return r;
        for (i = 0; i < n; i++) {
                struct ccv_shop *s = &shops[i];

                if (c->dump_shops) {
                        json_t *j = shop_line(s);
                        char *t = j ? json_dumps(j, CCV_JSON_FLAGS) : NULL;

                        if (t)
                                printf("%s\n", t);
                        free(t);
                        json_decref(j);
                }
                if (!c->dump_orders)
                        continue;
                for (k = 0; k < s->n_orders; k++) {
                        json_t *j = json_copy(s->orders[k].obj);
                        json_t *e = json_copy(s->orders[k].expect);
                        char *t;

                        if (!j || !e) {
                                json_decref(j);
                                json_decref(e);
                                r = -ENOMEM;
                                break;
                        }
                        json_object_set_new(e, "oss_registered", json_boolean(s->oss));
                        json_object_set(j, "orderrows", s->orders[k].rows);
                        json_object_set_new(j, "shop", json_integer(s->n));
                        json_object_set_new(j, "_fake_expect", e);
                        t = json_dumps(j, CCV_JSON_FLAGS);
                        if (t)
                                printf("%s\n", t);
                        free(t);
                        json_decref(j);
                }
        }
        for (i = 0; i < n; i++)
                ccv_shop_deinit(&shops[i]);
        free(shops);
        if (fflush(stdout) != 0)
                return -EIO;
        return r;
}

static int open_listener(struct cli *c, int *ret_fd, int *ret_port)
{
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        int fd, one = 1;

        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)c->port);
        if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1) {
                fprintf(stderr, "ccvshop-fake: --listen needs an IPv4 address\n");
                return -EINVAL;
        }
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0 ||
            getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
                int e = errno;

                fprintf(stderr, "ccvshop-fake: cannot listen on %s:%d: %s\n", c->host, c->port,
                        strerror(e));
                close(fd);
                return -e;
        }
        *ret_fd = fd;
        *ret_port = ntohs(sa.sin_port);
        return 0;
}

int main(int argc, char **argv)
{
        struct cli c;
        struct ccv_shop *shops = NULL;
        struct ccv_fake *f = NULL;
        char base[160];
        const char *host;
        sigset_t set;
        int r, fd = -1, port = 0, n = 0, sig = 0;

        memset(&c, 0, sizeof(c));
        r = parse_args(argc, argv, &c);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (c.dump_orders || c.dump_shops)
                return dump(&c) < 0 ? 1 : 0;

        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;
        r = open_listener(&c, &fd, &port);
        if (r < 0)
                goto out;
        host = strcmp(c.host, "0.0.0.0") == 0 ? "127.0.0.1" : c.host;
        snprintf(base, sizeof(base), "http://%s:%d/shop/%%d/api/rest/v1/", host, port);
        c.gen.base_fmt = base;
        r = make_shops(&c, &shops, &n);
        if (r < 0)
                goto out;

        /* Block the stop signals in every thread; main collects them with sigwait. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);

        f = ccv_fake_new(&c.fake, shops, n);
        if (!f) {
                r = -ENOMEM;
                goto out;
        }
        shops = NULL;
        r = ccv_fake_start(f, fd);
        if (r < 0) {
                fprintf(stderr, "ccvshop-fake: cannot start the HTTP server\n");
                goto out;
        }
        printf("{\"listen\":\"http://%s:%d\"}\n", host, port);
        fflush(stdout);
        while (sigwait(&set, &sig) == 0) {
                if (sig == SIGTERM || sig == SIGINT)
                        break;
        }
        r = 0;
out:
        ccv_fake_free(f);
        if (shops) {
                int i;

                for (i = 0; i < n; i++)
                        ccv_shop_deinit(&shops[i]);
                free(shops);
        }
        if (fd >= 0)
                close(fd);
        curl_global_cleanup();
        return r < 0 ? 1 : 0;
}
