/*
 * vies_fake.c - vies-fake: a stand-in for the EU's VIES REST API (docs/fakes-vies.md), as
 * strict as docs/research/vies.md describes the real one: both answer shapes (POST `valid`,
 * GET `isValid` + `userError`), the `errorWrappers` error shape, consultation numbers only for
 * a valid requester, member states that are unavailable or slow, a per-state concurrency cap,
 * the test service's number table, and a request counter for the tests.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (64 * 1024)

struct fake {
        pthread_mutex_t mu;
        json_t *numbers;  /* "DE136695976" -> valid | invalid | <error code> | slow */
        json_t *states;   /* "DE" -> unavailable | timeout | slow */
        json_t *calls;    /* "DE136695976" -> number of check calls */
        json_t *inflight; /* "DE" -> calls being answered */
        long long requests, checks, next_id;
        const char *dflt; /* answer for numbers not scripted */
        long slow_ms;
        int max_concurrent; /* per member state; 0 = no cap */
};

static struct fake F;
static volatile sig_atomic_t stop;

struct req {
        char *body;
        size_t len;
        bool too_big;
};

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

/* "2026-12-02T08:15:00.000Z" */
static void now_iso(char out[32])
{
        struct timespec ts;
        struct tm tm;
        char sec[24];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, 32, "%.19s.%03dZ", sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* The EC's input patterns: [A-Z]{2} and [0-9A-Za-z+*.]{2,12}. */
static bool input_ok(const char *cc, const char *num)
{
        size_t n = num ? strlen(num) : 0;

        if (!cc || strlen(cc) != 2 || !isupper((unsigned char)cc[0]) ||
            !isupper((unsigned char)cc[1]) || n < 2 || n > 12)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!isalnum((unsigned char)num[i]) && !strchr("+*.", num[i]))
                        return false;
        }
        return true;
}

static json_t *error_body(const char *code)
{
        return json_pack("{s:b, s:[{s:s, s:s}]}", "actionSucceed", 0, "errorWrappers", "error",
                         code, "message", "the fake's scripted answer");
}

/* What the fake says about cc+num: "valid", "invalid", "slow" or an error code. */
static const char *script_of(const char *cc, const char *num)
{
        char key[32];
        const char *s, *st;

        snprintf(key, sizeof(key), "%s%s", cc, num);
        pthread_mutex_lock(&F.mu);
        json_object_set_new(F.calls, key,
                            json_integer(json_integer_value(json_object_get(F.calls, key)) + 1));
        F.checks++;
        s = json_string_value(json_object_get(F.numbers, key));
        st = json_string_value(json_object_get(F.states, cc));
        pthread_mutex_unlock(&F.mu);
        if (st && !strcmp(st, "unavailable"))
                return "MS_UNAVAILABLE";
        if (st && !strcmp(st, "timeout"))
                return "TIMEOUT";
        if (st && !strcmp(st, "slow"))
                return "slow";
        return s ? s : F.dflt;
}

/* Counts a call in flight for @p cc; false when the cap is reached. */
static bool enter_state(const char *cc, int delta)
{
        bool ok = true;
        json_int_t n;

        pthread_mutex_lock(&F.mu);
        n = json_integer_value(json_object_get(F.inflight, cc));
        if (delta > 0 && F.max_concurrent > 0 && n >= F.max_concurrent)
                ok = false;
        else
                json_object_set_new(F.inflight, cc, json_integer(n + delta));
        pthread_mutex_unlock(&F.mu);
        return ok;
}

/* Name and address as the member state gives them: Germany never does ("---"). */
static void trader_of(const char *cc, const char *num, json_t *o, const char *name_key)
{
        char name[64];

        snprintf(name, sizeof(name), "FAKE TRADER %s%s", cc, num);
        json_object_set_new(o, name_key, json_string(!strcmp(cc, "DE") ? "---" : name));
        json_object_set_new(o, "address",
                            json_string(!strcmp(cc, "DE") ? "---" : "MAIN STREET 1\n1000 CITY"));
}

/* A requester is valid when it follows the input patterns and is not scripted invalid. */
static int requester_state(const char *rcc, const char *rnum)
{
        char key[32];
        const char *s;

        if (!rcc && !rnum)
                return 0; /* none given */
        if (!input_ok(rcc, rnum))
                return -1;
        snprintf(key, sizeof(key), "%s%s", rcc, rnum);
        pthread_mutex_lock(&F.mu);
        s = json_string_value(json_object_get(F.numbers, key));
        pthread_mutex_unlock(&F.mu);
        return s && !strcmp(s, "invalid") ? -1 : 1;
}

static void set_request_id(json_t *o, bool with_requester)
{
        char id[32] = "";

        if (with_requester) {
                pthread_mutex_lock(&F.mu);
                snprintf(id, sizeof(id), "WAPIFAKE%08lld", ++F.next_id);
                pthread_mutex_unlock(&F.mu);
        }
        json_object_set_new(o, "requestIdentifier", json_string(id));
}

/* POST /check-vat-number. */
static json_t *check_post(const json_t *in, int *status)
{
        const char *cc = json_string_value(json_object_get(in, "countryCode"));
        const char *num = json_string_value(json_object_get(in, "vatNumber"));
        int rq = requester_state(json_string_value(json_object_get(in, "requesterMemberStateCode")),
                                 json_string_value(json_object_get(in, "requesterNumber")));
        const char *s;
        char date[32];
        json_t *o;

        if (!input_ok(cc, num)) {
                *status = 400;
                return error_body("INVALID_INPUT");
        }
        if (rq < 0) {
                *status = 400;
                return error_body("INVALID_REQUESTER_INFO");
        }
        if (!enter_state(cc, 1)) {
                *status = 500;
                return error_body("MS_MAX_CONCURRENT_REQ");
        }
        s = script_of(cc, num);
        if (!strcmp(s, "slow")) {
                usleep((useconds_t)F.slow_ms * 1000);
                s = "valid";
        }
        enter_state(cc, -1);
        if (strcmp(s, "valid") && strcmp(s, "invalid")) {
                *status = 500; /* UNCONFIRMED: the status that comes with errorWrappers */
                return error_body(s);
        }
        now_iso(date);
        o = json_pack("{s:s, s:s, s:s, s:b}", "countryCode", cc, "vatNumber", num, "requestDate",
                      date, "valid", !strcmp(s, "valid"));
        set_request_id(o, rq > 0);
        if (!strcmp(s, "valid"))
                trader_of(cc, num, o, "name");
        else {
                json_object_set_new(o, "name", json_string("---"));
                json_object_set_new(o, "address", json_string("---"));
        }
        json_object_set_new(o, "traderNameMatch", json_string("NOT_PROCESSED"));
        json_object_set_new(o, "traderStreetMatch", json_string("NOT_PROCESSED"));
        json_object_set_new(o, "traderPostalCodeMatch", json_string("NOT_PROCESSED"));
        json_object_set_new(o, "traderCityMatch", json_string("NOT_PROCESSED"));
        json_object_set_new(o, "traderCompanyTypeMatch", json_string("NOT_PROCESSED"));
        *status = 200;
        return o;
}

/* GET /ms/{cc}/vat/{number}: HTTP 200 with the error, if any, in userError. */
static json_t *check_get(const char *url, int *status)
{
        char cc[8] = "", num[32] = "", date[32];
        const char *s;
        json_t *o;

        *status = 200;
        if (sscanf(url, "/ms/%7[^/]/vat/%31s", cc, num) != 2 || !input_ok(cc, num)) {
                *status = 400;
                return error_body("INVALID_INPUT");
        }
        s = script_of(cc, num);
        if (!strcmp(s, "slow")) {
                usleep((useconds_t)F.slow_ms * 1000);
                s = "valid";
        }
        now_iso(date);
        o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "isValid", !strcmp(s, "valid"),
                      "requestDate", date, "userError",
                      !strcmp(s, "valid")     ? "VALID"
                      : !strcmp(s, "invalid") ? "INVALID"
                                              : s,
                      "requestIdentifier", "", "originalVatNumber", num, "vatNumber", num);
        trader_of(cc, num, o, "name");
        json_object_set_new(o, "viesApproximate",
                            json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "name",
                                      "---", "street", "---", "postalCode", "---", "city", "---",
                                      "companyType", "---", "matchName", 3, "matchStreet", 3,
                                      "matchPostalCode", 3, "matchCity", 3, "matchCompanyType", 3));
        return o;
}

/* GET /check-status. */
static json_t *check_status(void)
{
        static const char *const ms[] = { "AT", "BE", "BG", "CY", "CZ", "DE", "DK",
                                          "EE", "EL", "ES", "FI", "FR", "HR", "HU",
                                          "IE", "IT", "LT", "LU", "LV", "MT", "NL",
                                          "PL", "PT", "RO", "SE", "SI", "SK", "XI" };
        json_t *list = json_array();

        pthread_mutex_lock(&F.mu);
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
                const char *st = json_string_value(json_object_get(F.states, ms[i]));

                json_array_append_new(
                        list, json_pack("{s:s, s:s}", "countryCode", ms[i], "availability",
                                        st && strcmp(st, "slow") ? "Unavailable" : "Available"));
        }
        pthread_mutex_unlock(&F.mu);
        return json_pack("{s:{s:b}, s:o}", "vow", "available", 1, "countries", list);
}

/* POST /check-vat-test-service: the EC's fixed numbers (research §6). */
static json_t *test_service(const json_t *in, int *status)
{
        static const char *const table[][2] = {
                { "100", "valid" },
                { "200", "invalid" },
                { "201", "INVALID_INPUT" },
                { "202", "INVALID_REQUESTER_INFO" },
                { "300", "SERVICE_UNAVAILABLE" },
                { "301", "MS_UNAVAILABLE" },
                { "302", "TIMEOUT" },
                { "400", "VAT_BLOCKED" },
                { "401", "IP_BLOCKED" },
                { "500", "GLOBAL_MAX_CONCURRENT_REQ" },
                { "501", "GLOBAL_MAX_CONCURRENT_REQ_TIME" },
                { "600", "MS_MAX_CONCURRENT_REQ" },
                { "601", "MS_MAX_CONCURRENT_REQ_TIME" },
        };
        const char *num = json_string_value(json_object_get(in, "vatNumber"));
        const char *cc = json_string_value(json_object_get(in, "countryCode"));
        const char *s = "SERVICE_UNAVAILABLE";
        char date[32];

        for (size_t i = 0; num && i < sizeof(table) / sizeof(table[0]); i++) {
                if (!strcmp(num, table[i][0]))
                        s = table[i][1];
        }
        if (strcmp(s, "valid") && strcmp(s, "invalid")) {
                *status = strstr(s, "INVALID_") ? 400 : 500;
                return error_body(s);
        }
        now_iso(date);
        *status = 200;
        return json_pack("{s:s, s:s, s:s, s:b, s:s}", "countryCode", cc ? cc : "", "vatNumber", num,
                         "requestDate", date, "valid", !strcmp(s, "valid"), "requestIdentifier",
                         "");
}

/* POST /_fake/numbers {"DE136695976": "invalid", ...} or /_fake/states {"DE": "unavailable"}:
 * merged into the script; null removes an entry. */
static json_t *script(json_t *table, const json_t *in, int *status)
{
        const char *k;
        json_t *v;

        if (!json_is_object(in)) {
                *status = 400;
                return json_pack("{s:s}", "error", "expected a JSON object");
        }
        pthread_mutex_lock(&F.mu);
        json_object_foreach ((json_t *)in, k, v) {
                if (json_is_string(v))
                        json_object_set(table, k, v);
                else
                        json_object_del(table, k);
        }
        pthread_mutex_unlock(&F.mu);
        *status = 200;
        return json_pack("{s:b}", "ok", 1);
}

static json_t *stats(void)
{
        json_t *o;

        pthread_mutex_lock(&F.mu);
        o = json_pack("{s:I, s:I, s:O, s:O, s:O}", "requests", (json_int_t)F.requests, "checks",
                      (json_int_t)F.checks, "by_number", F.calls, "numbers", F.numbers, "states",
                      F.states);
        pthread_mutex_unlock(&F.mu);
        return o;
}

static json_t *reset(int *status)
{
        pthread_mutex_lock(&F.mu);
        json_object_clear(F.numbers);
        json_object_clear(F.states);
        json_object_clear(F.calls);
        F.checks = 0;
        pthread_mutex_unlock(&F.mu);
        *status = 200;
        return json_pack("{s:b}", "ok", 1);
}

/* Routes one complete request; returns the reply body (new reference). */
static json_t *route(const char *method, const char *url, const char *body, int *status)
{
        bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
        json_t *in = post ? json_loads(body ? body : "", 0, NULL) : NULL, *out;

        *status = 404;
        if (post && !json_is_object(in) && strncmp(url, "/_fake/reset", 12)) {
                *status = 400;
                out = error_body("INVALID_INPUT");
        } else if (post && !strcmp(url, "/check-vat-number"))
                out = check_post(in, status);
        else if (post && !strcmp(url, "/check-vat-test-service"))
                out = test_service(in, status);
        else if (get && !strncmp(url, "/ms/", 4))
                out = check_get(url, status);
        else if (get && !strcmp(url, "/check-status")) {
                out = check_status();
                *status = 200;
        } else if (post && !strcmp(url, "/_fake/numbers"))
                out = script(F.numbers, in, status);
        else if (post && !strcmp(url, "/_fake/states"))
                out = script(F.states, in, status);
        else if (post && !strcmp(url, "/_fake/reset"))
                out = reset(status);
        else if (get && (!strcmp(url, "/_fake/stats") || !strcmp(url, "/_fake/health"))) {
                out = stats();
                *status = 200;
        } else
                out = json_pack("{s:s}", "error", "no such resource in the VIES fake");
        json_decref(in);
        return out;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct req *rq = *con_cls;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        json_t *out;
        char *text;
        int status;

        (void)cls;
        (void)version;
        if (!rq) {
                rq = calloc(1, sizeof(*rq));
                *con_cls = rq;
                return rq ? MHD_YES : MHD_NO;
        }
        if (*upload_data_size) {
                if (rq->len + *upload_data_size > MAX_BODY) {
                        rq->too_big = true;
                } else {
                        char *nb = realloc(rq->body, rq->len + *upload_data_size + 1);

                        if (!nb)
                                return MHD_NO;
                        rq->body = nb;
                        memcpy(rq->body + rq->len, upload_data, *upload_data_size);
                        rq->len += *upload_data_size;
                        rq->body[rq->len] = '\0';
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&F.mu);
        F.requests++;
        pthread_mutex_unlock(&F.mu);
        if (rq->too_big) {
                status = 413;
                out = error_body("INVALID_INPUT");
        } else {
                out = route(method, url, rq->body, &status);
        }
        text = json_dumps(out, JSON_COMPACT);
        json_decref(out);
        resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : (char *)"",
                                               text ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        ret = MHD_queue_response(c, (unsigned int)status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
        struct req *rq = *con_cls;

        (void)cls;
        (void)c;
        (void)toe;
        if (rq) {
                free(rq->body);
                free(rq);
        }
        *con_cls = NULL;
}

static void usage(FILE *out)
{
        fputs("usage: vies-fake [--listen ADDR:PORT] [--default valid|invalid|CODE]\n"
              "         [--number CCNUMBER=valid|invalid|slow|CODE]... [--state CC=unavailable|"
              "timeout|slow]...\n"
              "         [--slow-ms MS] [--max-concurrent N]\n"
              "Prints {\"listen\": URL} on stdout when it is up; see docs/fakes-vies.md.\n",
              out);
}

/* "KEY=VALUE" into @p table. */
static int add_pair(json_t *table, const char *arg)
{
        const char *eq = arg ? strchr(arg, '=') : NULL;
        char key[32];

        if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key) || !eq[1])
                return -1;
        snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
        json_object_set_new(table, key, json_string(eq + 1));
        return 0;
}

static int parse_args(int argc, char **argv, char *host, size_t hlen, int *port)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                int rc = 0;

                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        usage(stdout);
                        exit(0);
                } else if (!strcmp(a, "--listen") && v) {
                        const char *colon = strrchr(v, ':');

                        if (!colon)
                                return -1;
                        snprintf(host, hlen, "%.*s", (int)(colon - v), v);
                        *port = atoi(colon + 1);
                } else if (!strcmp(a, "--default") && v) {
                        F.dflt = v;
                } else if (!strcmp(a, "--number") && v) {
                        rc = add_pair(F.numbers, v);
                } else if (!strcmp(a, "--state") && v) {
                        rc = add_pair(F.states, v);
                } else if (!strcmp(a, "--slow-ms") && v) {
                        F.slow_ms = atol(v);
                } else if (!strcmp(a, "--max-concurrent") && v) {
                        F.max_concurrent = atoi(v);
                } else {
                        return -1;
                }
                if (rc < 0)
                        return -1;
                i++;
        }
        return 0;
}

int main(int argc, char **argv)
{
        char host[64] = "127.0.0.1";
        int port = 0;
        struct sockaddr_in sa;
        struct MHD_Daemon *d;
        const union MHD_DaemonInfo *info;

        pthread_mutex_init(&F.mu, NULL);
        F.numbers = json_object();
        F.states = json_object();
        F.calls = json_object();
        F.inflight = json_object();
        F.dflt = "valid";
        F.slow_ms = 15000;
        if (parse_args(argc, argv, host, sizeof(host), &port) < 0) {
                usage(stderr);
                return 2;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                fprintf(stderr, "vies-fake: --listen needs an IPv4 address, not %s\n", host);
                return 2;
        }
        d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                             NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "vies-fake: cannot listen on %s:%d: %s\n", host, port,
                        strerror(errno));
                return 1;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        printf("{\"listen\": \"http://%s:%u\"}\n", host, info ? info->port : (unsigned)port);
        fflush(stdout);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        while (!stop)
                pause();
        MHD_stop_daemon(d);
        return 0;
}
