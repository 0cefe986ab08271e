/*
 * fakes/exact/xf_server.c — request handling of exact-fake: OAuth2 endpoints, bearer
 * checks, division scoping, rate and error limits, fault injection, the REST routes and
 * the /_fake/ inspection endpoints.
 *
 * Every request takes the one state mutex; only injected latency sleeps outside it.
 */
#include "xf_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define TOKEN_PREFIX "stampNL001."
#define MAX_HDRS 12

struct chain {
        long id;
        char *client;
        char *user;
        long division;
        char *access[2]; /* current, previous */
        int64_t access_exp[2];
        int64_t issued_ms;
        char *refresh;
        int64_t refresh_exp;
        bool revoked;
};

struct auth_code {
        char *value;
        char *client;
        char *user;
        char *redirect;
        long division;
        int64_t exp;
        bool used;
};

struct bucket {
        char *client;
        long division;
        int64_t min_idx;
        int64_t day_idx;
        long min_count;
        long day_count;
};

struct err_bucket {
        char *key;      /* client \n user \n division \n endpoint */
        int64_t *times; /* ring of the last error_limit error times */
        size_t n;
        size_t head;
        int64_t blocked_until;
};

struct tok_cap {
        char *key; /* client \n user */
        int64_t day_idx;
        long count;
};

struct xf_server {
        const struct xf_config *cfg;
        int64_t day_origin_ms; /* day windows count from here: the epoch (00:00 UTC) or start */
        struct MHD_Daemon *mhd;
        unsigned port;
        pthread_mutex_t lock;
        struct xf_div **divs;
        size_t n_divs;
        struct chain **chains;
        size_t n_chains;
        struct auth_code **codes;
        size_t n_codes;
        struct bucket **buckets;
        size_t n_buckets;
        struct err_bucket **errs;
        size_t n_errs;
        struct tok_cap **caps;
        size_t n_caps;
        json_t *stats;
};

struct conn_ctx {
        char *buf;
        size_t len;
        size_t cap;
        bool too_big;
};

struct reply {
        int status;
        char *body;
        size_t len;
        const char *ctype;
        char *hn[MAX_HDRS];
        char *hv[MAX_HDRS];
        int nh;
        bool drop;
};

struct req {
        struct xf_server *s;
        struct MHD_Connection *c;
        const char *method;
        const char *url;
        const char *body;
        size_t body_len;
        bool too_big;
        json_t *args; /* array of [name, value-or-null] in request order */
};

/* ---- small helpers ------------------------------------------------------------------ */

static void *grow(void *arr, size_t n, size_t elem)
{
        /* doubling on powers of two keeps the amortised cost low without a cap field */
        if (n == 0 || (n & (n - 1)) == 0)
                return realloc(arr, (n ? n * 2 : 4) * elem);
        return arr;
}

static void hdr(struct reply *r, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void hdr(struct reply *r, const char *name, const char *fmt, ...)
{
        va_list ap;
        char *v = NULL;

        if (r->nh >= MAX_HDRS)
                return;
        va_start(ap, fmt);
        if (vasprintf(&v, fmt, ap) < 0)
                v = NULL;
        va_end(ap);
        if (v == NULL)
                return;
        r->hn[r->nh] = strdup(name);
        r->hv[r->nh] = v;
        r->nh++;
}

static void set_body(struct reply *r, int status, const char *ctype, char *body)
{
        free(r->body);
        r->status = status;
        r->ctype = ctype;
        r->body = body;
        r->len = body ? strlen(body) : 0;
}

static void set_json(struct reply *r, int status, json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));

        json_decref(j);
        set_body(r, status, "application/json; charset=utf-8", s);
}

static void set_error(struct reply *r, int status, const char *msg)
{
        set_json(r, status, xf_error_body(msg));
}

static void set_empty(struct reply *r, int status)
{
        set_body(r, status, NULL, NULL);
}

static void set_text(struct reply *r, int status, const char *text)
{
        set_body(r, status, "text/plain; charset=utf-8", strdup(text));
}

static void reply_clear(struct reply *r)
{
        int i;

        free(r->body);
        for (i = 0; i < r->nh; i++) {
                free(r->hn[i]);
                free(r->hv[i]);
        }
        memset(r, 0, sizeof(*r));
}

static const char *arg(const struct req *q, const char *name)
{
        size_t i;
        json_t *p;
        const char *found = NULL;

        json_array_foreach (q->args, i, p) {
                if (strcmp(json_string_value(json_array_get(p, 0)), name) == 0)
                        found = json_string_value(json_array_get(p, 1));
        }
        return found;
}

static bool has_arg(const struct req *q, const char *name)
{
        size_t i;
        json_t *p;

        json_array_foreach (q->args, i, p) {
                if (strcmp(json_string_value(json_array_get(p, 0)), name) == 0)
                        return true;
        }
        return false;
}

static const char *header(const struct req *q, const char *name)
{
        return MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, name);
}

static json_t *obj_child(json_t *parent, const char *key)
{
        json_t *o = json_object_get(parent, key);

        if (o == NULL) {
                o = json_object();
                json_object_set_new(parent, key, o);
        }
        return o;
}

static void stat_inc(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static bool parse_long(const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        if (s == NULL || *s == '\0')
                return false;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

static struct xf_div *div_get(struct xf_server *s, long number)
{
        size_t i;

        for (i = 0; i < s->n_divs; i++) {
                if (s->divs[i]->number == number)
                        return s->divs[i];
        }
        return NULL;
}

static struct xf_div *div_ensure(struct xf_server *s, long number)
{
        struct xf_div *d = div_get(s, number);
        struct xf_div **arr;

        if (d != NULL)
                return d;
        arr = grow(s->divs, s->n_divs, sizeof(*arr));
        if (arr == NULL)
                return NULL;
        s->divs = arr;
        d = xf_div_new(number);
        if (d == NULL)
                return NULL;
        s->divs[s->n_divs++] = d;
        return d;
}

static json_t *div_stats(struct xf_div *d)
{
        return d->stats;
}

static double minute_ms(const struct xf_server *s)
{
        return s->cfg->minute_s * 1000.0;
}

static int64_t window_idx(int64_t now, double len_ms)
{
        return (int64_t)floor((double)now / len_ms);
}

static int64_t window_end(int64_t idx, double len_ms)
{
        return (int64_t)llround((double)(idx + 1) * len_ms);
}

static int64_t day_idx(const struct xf_server *s, int64_t now)
{
        return window_idx(now - s->day_origin_ms, minute_ms(s) * 1440.0);
}

static int64_t day_end(const struct xf_server *s, int64_t idx)
{
        return s->day_origin_ms + window_end(idx, minute_ms(s) * 1440.0);
}

/* ---- OAuth2 ------------------------------------------------------------------------- */

static bool client_ok(const struct xf_server *s, const char *id, const char *secret)
{
        size_t i;

        if (id == NULL)
                return false;
        for (i = 0; i < s->cfg->n_clients; i++) {
                if (strcmp(s->cfg->client_ids[i], id) == 0)
                        return secret == NULL || strcmp(s->cfg->client_secrets[i], secret) == 0;
        }
        return false;
}

/* Finds the chain a token names: tokens carry "<prefix><kind><hex id>!" up front. */
static struct chain *chain_of(struct xf_server *s, const char *token, char kind)
{
        size_t plen = strlen(TOKEN_PREFIX);
        char *end;
        unsigned long id;

        if (token == NULL || strncmp(token, TOKEN_PREFIX, plen) != 0 || token[plen] != kind)
                return NULL;
        errno = 0;
        id = strtoul(token + plen + 1, &end, 16);
        if (errno != 0 || *end != '!' || id >= s->n_chains)
                return NULL;
        return s->chains[id];
}

static char *make_token(char kind, long id, size_t nbytes)
{
        char prefix[64];
        char *t = NULL;

        snprintf(prefix, sizeof(prefix), "%s%c%lx!", TOKEN_PREFIX, kind, (unsigned long)id);
        if (xf_random_token(prefix, nbytes, &t) != 0)
                return NULL;
        return t;
}

static void chain_issue(struct xf_server *s, struct chain *ch, int64_t now)
{
        free(ch->access[1]);
        ch->access[1] = ch->access[0];
        ch->access_exp[1] = s->cfg->revoke_old_access ? 0 : ch->access_exp[0];
        ch->access[0] = make_token('A', ch->id, 640);
        ch->access_exp[0] = now + (int64_t)llround(s->cfg->token_ttl * 1000.0);
        free(ch->refresh);
        ch->refresh = make_token('R', ch->id, 240);
        ch->refresh_exp = now + (int64_t)llround(s->cfg->refresh_ttl * 1000.0);
        ch->issued_ms = now;
}

static void token_reply(struct xf_server *s, struct chain *ch, struct reply *r)
{
        char ttl[32];

        snprintf(ttl, sizeof(ttl), "%ld", (long)llround(s->cfg->token_ttl));
        set_json(r, 200,
                 json_pack("{s:s,s:s,s:s,s:s}", "access_token", ch->access[0], "token_type",
                           "bearer", "expires_in", ttl, "refresh_token", ch->refresh));
}

static void oauth_error(struct reply *r, int status, const char *error, const char *desc)
{
        if (desc != NULL)
                set_json(r, status,
                         json_pack("{s:s,s:s}", "error", error, "error_description", desc));
        else
                set_json(r, status, json_pack("{s:s}", "error", error));
}

/* Per (client, user) daily budget of token calls; true when this call is still allowed. */
static bool token_cap_take(struct xf_server *s, const char *client, const char *user)
{
        int64_t day = day_idx(s, xf_now_ms());
        struct tok_cap *c = NULL;
        char *key = NULL;
        size_t i;

        if (asprintf(&key, "%s\n%s", client, user) < 0)
                return true;
        for (i = 0; i < s->n_caps; i++) {
                if (strcmp(s->caps[i]->key, key) == 0) {
                        c = s->caps[i];
                        break;
                }
        }
        if (c == NULL) {
                struct tok_cap **arr = grow(s->caps, s->n_caps, sizeof(*arr));

                c = calloc(1, sizeof(*c));
                if (arr == NULL || c == NULL) {
                        free(c);
                        free(key);
                        if (arr != NULL)
                                s->caps = arr;
                        return true;
                }
                s->caps = arr;
                c->key = key;
                key = NULL;
                s->caps[s->n_caps++] = c;
        }
        free(key);
        if (c->day_idx != day) {
                c->day_idx = day;
                c->count = 0;
        }
        if (s->cfg->no_limits || s->cfg->token_daily_cap <= 0)
                return true;
        if (c->count >= s->cfg->token_daily_cap)
                return false;
        c->count++;
        return true;
}

static void form_parse(const char *body, size_t len, json_t *out)
{
        size_t i = 0;

        while (i < len) {
                size_t j = i, eq = (size_t)-1;
                char *k, *v;

                while (j < len && body[j] != '&') {
                        if (body[j] == '=' && eq == (size_t)-1)
                                eq = j;
                        j++;
                }
                if (eq != (size_t)-1) {
                        k = xf_url_decode(body + i, eq - i);
                        v = xf_url_decode(body + eq + 1, j - eq - 1);
                        if (k != NULL && v != NULL)
                                json_object_set_new(out, k, json_string(v));
                        free(k);
                        free(v);
                }
                i = j + 1;
        }
}

static void us_date(int64_t ms, char *buf, size_t len)
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        int h;

        gmtime_r(&t, &tm);
        h = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
        snprintf(buf, len, "%d/%d/%d %d:%02d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900,
                 h, tm.tm_min, tm.tm_sec, tm.tm_hour < 12 ? "AM" : "PM");
}

static void handle_token(struct req *q, struct reply *r)
{
        struct xf_server *s = q->s;
        json_t *form = json_object();
        json_t *ts = obj_child(s->stats, "token");
        const char *grant, *cid, *secret;
        int64_t now = xf_now_ms();
        struct chain *ch = NULL;

        stat_inc(ts, "calls");
        if (strcmp(q->method, "POST") != 0) {
                set_text(r, 405, "Method Not Allowed");
                goto out;
        }
        form_parse(q->body, q->body_len, form);
        grant = json_string_value(json_object_get(form, "grant_type"));
        cid = json_string_value(json_object_get(form, "client_id"));
        secret = json_string_value(json_object_get(form, "client_secret"));
        if (secret == NULL || !client_ok(s, cid, secret)) {
                stat_inc(ts, "invalid_client");
                oauth_error(r, 400, "invalid_request", NULL);
                goto out;
        }
        if (grant != NULL && strcmp(grant, "authorization_code") == 0) {
                const char *code = json_string_value(json_object_get(form, "code"));
                const char *redir = json_string_value(json_object_get(form, "redirect_uri"));
                struct auth_code *ac = NULL;
                size_t i;
                struct chain **arr;

                for (i = 0; code != NULL && i < s->n_codes; i++) {
                        if (strcmp(s->codes[i]->value, code) == 0) {
                                ac = s->codes[i];
                                break;
                        }
                }
                if (ac != NULL && !token_cap_take(s, cid, ac->user)) {
                        stat_inc(ts, "daily_cap");
                        set_empty(r, 429);
                        goto out;
                }
                if (ac == NULL || ac->used || now > ac->exp || strcmp(ac->client, cid) != 0 ||
                    redir == NULL || strcmp(ac->redirect, redir) != 0) {
                        if (ac != NULL)
                                ac->used = true;
                        stat_inc(ts, "bad_code");
                        set_text(r, 400, "Bad Request");
                        goto out;
                }
                ac->used = true;
                arr = grow(s->chains, s->n_chains, sizeof(*arr));
                ch = calloc(1, sizeof(*ch));
                if (arr == NULL || ch == NULL) {
                        free(ch);
                        if (arr != NULL)
                                s->chains = arr;
                        set_text(r, 500, "Internal Server Error");
                        goto out;
                }
                s->chains = arr;
                ch->id = (long)s->n_chains;
                ch->client = strdup(cid);
                ch->user = strdup(ac->user);
                ch->division = ac->division;
                s->chains[s->n_chains++] = ch;
                if (s->cfg->single_token_set) {
                        for (i = 0; i + 1 < s->n_chains; i++) {
                                struct chain *o = s->chains[i];

                                if (strcmp(o->client, ch->client) == 0 &&
                                    strcmp(o->user, ch->user) == 0)
                                        o->revoked = true;
                        }
                }
                chain_issue(s, ch, now);
                stat_inc(ts, "code_exchanged");
                token_reply(s, ch, r);
        } else if (grant != NULL && strcmp(grant, "refresh_token") == 0) {
                const char *rt = json_string_value(json_object_get(form, "refresh_token"));

                ch = chain_of(s, rt, 'R');
                if (ch != NULL && strcmp(ch->client, cid) == 0 &&
                    !token_cap_take(s, cid, ch->user)) {
                        stat_inc(ts, "daily_cap");
                        set_empty(r, 429);
                        goto out;
                }
                if (ch == NULL || ch->revoked || strcmp(ch->refresh, rt) != 0 ||
                    strcmp(ch->client, cid) != 0) {
                        stat_inc(ts, "old_refresh_token");
                        oauth_error(r, 401, "unauthorized_client", "Old refresh token used.");
                        ch = NULL;
                        goto out;
                }
                if (now > ch->refresh_exp) {
                        char exp[64], nowtxt[64], msg[200];

                        us_date(ch->refresh_exp, exp, sizeof(exp));
                        us_date(now, nowtxt, sizeof(nowtxt));
                        snprintf(msg, sizeof(msg),
                                 "The refresh token expired at %s and it is now %s.", exp, nowtxt);
                        stat_inc(ts, "expired_refresh_token");
                        oauth_error(r, 400, "invalid_request", msg);
                        ch = NULL;
                        goto out;
                }
                if ((double)now < (double)ch->issued_ms + (s->cfg->token_ttl - 30.0) * 1000.0) {
                        stat_inc(ts, "too_early");
                        oauth_error(r, 400, "access_denied",
                                    "Rate limit exceeded: access_token not expired");
                        hdr(r, "Reason",
                            "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not "
                            "expired");
                        ch = NULL;
                        goto out;
                }
                chain_issue(s, ch, now);
                stat_inc(ts, "refreshed");
                token_reply(s, ch, r);
        } else {
                stat_inc(ts, "unsupported_grant");
                oauth_error(r, 400, "unsupported_grant_type", NULL);
                goto out;
        }
        /* lost-response fault: tokens rotated server side, the client never sees them */
        {
                struct xf_div *d = div_get(s, ch->division);

                if (d != NULL && d->token_fail_after_write > 0 &&
                    xf_rng_unit() < d->token_fail_after_write) {
                        stat_inc(ts, "faults");
                        if (d->drop_connection) {
                                r->drop = true;
                        } else {
                                set_json(r, 500,
                                         json_pack("{s:{s:s,s:{s:s}}}", "fault", "faultstring",
                                                   "Failed to execute the ExtractVariables: "
                                                   "ExtractAccessToken",
                                                   "detail", "errorcode",
                                                   "steps.extractvariables.ExecutionFailed"));
                        }
                }
        }
out:
        json_decref(form);
}

static void handle_authorize(struct req *q, struct reply *r)
{
        struct xf_server *s = q->s;
        const char *cid = arg(q, "client_id");
        const char *redir = arg(q, "redirect_uri");
        const char *rtype = arg(q, "response_type");
        const char *state = arg(q, "state");
        const char *divs = arg(q, "division");
        const char *user = arg(q, "user");
        long division = s->cfg->default_division;
        struct auth_code *ac;
        struct auth_code **arr;
        char userbuf[64];
        char *enc_code = NULL, *enc_state = NULL;
        char *loc = NULL;

        stat_inc(obj_child(s->stats, "token"), "authorize");
        if (!client_ok(s, cid, NULL) || redir == NULL ||
            (strncmp(redir, "http://", 7) != 0 && strncmp(redir, "https://", 8) != 0) ||
            rtype == NULL || strcmp(rtype, "code") != 0) {
                set_text(r, 400, "Bad Request");
                return;
        }
        if (divs != NULL && !parse_long(divs, 1, 2147483647L, &division)) {
                set_text(r, 400, "Bad Request");
                return;
        }
        if (user == NULL || *user == '\0') {
                snprintf(userbuf, sizeof(userbuf), "user%ld", division);
                user = userbuf;
        }
        if (div_ensure(s, division) == NULL) {
                set_text(r, 500, "Internal Server Error");
                return;
        }
        arr = grow(s->codes, s->n_codes, sizeof(*arr));
        ac = calloc(1, sizeof(*ac));
        if (arr == NULL || ac == NULL) {
                free(ac);
                if (arr != NULL)
                        s->codes = arr;
                set_text(r, 500, "Internal Server Error");
                return;
        }
        s->codes = arr;
        ac->value = make_token('C', (long)s->n_codes, 120);
        ac->client = strdup(cid);
        ac->user = strdup(user);
        ac->redirect = strdup(redir);
        ac->division = division;
        ac->exp = xf_now_ms() + 180000;
        s->codes[s->n_codes++] = ac;
        enc_code = xf_url_encode(ac->value);
        enc_state = xf_url_encode(state ? state : "");
        if (asprintf(&loc, "%s%scode=%s%s%s", redir, strchr(redir, '?') ? "&" : "?",
                     enc_code ? enc_code : "", state ? "&state=" : "",
                     state ? (enc_state ? enc_state : "") : "") < 0)
                loc = NULL;
        set_text(r, 302, "Found");
        if (loc != NULL)
                hdr(r, "Location", "%s", loc);
        free(loc);
        free(enc_code);
        free(enc_state);
}

/* ---- limits ------------------------------------------------------------------------- */

struct rl_state {
        bool counted;
        long day_limit, day_left, min_limit, min_left;
        int64_t day_reset, min_reset;
};

static struct bucket *bucket_get(struct xf_server *s, const char *client, long division)
{
        size_t i;
        struct bucket *b;
        struct bucket **arr;

        for (i = 0; i < s->n_buckets; i++) {
                b = s->buckets[i];
                if (b->division == division && strcmp(b->client, client) == 0)
                        return b;
        }
        arr = grow(s->buckets, s->n_buckets, sizeof(*arr));
        if (arr == NULL)
                return NULL;
        s->buckets = arr;
        b = calloc(1, sizeof(*b));
        if (b == NULL)
                return NULL;
        b->client = strdup(client);
        b->division = division;
        b->min_idx = -1;
        b->day_idx = -1;
        s->buckets[s->n_buckets++] = b;
        return b;
}

/* Returns 0 when the call may go ahead (and counts it), or 429 with @r filled. */
static int rate_take(struct xf_server *s, const char *client, struct xf_div *d, struct rl_state *rl,
                     struct reply *r)
{
        int64_t now = xf_now_ms();
        double mlen = minute_ms(s);
        int64_t mi = window_idx(now, mlen), di = day_idx(s, now);
        struct bucket *b = bucket_get(s, client, d->number);
        json_t *st = obj_child(div_stats(d), "rate_limited");

        if (s->cfg->no_limits || b == NULL)
                return 0;
        if (b->min_idx != mi) {
                b->min_idx = mi;
                b->min_count = 0;
        }
        if (b->day_idx != di) {
                b->day_idx = di;
                b->day_count = 0;
        }
        rl->day_limit = s->cfg->daily_limit;
        rl->min_limit = s->cfg->minutely_limit;
        rl->day_reset = day_end(s, di);
        rl->min_reset = window_end(mi, mlen);
        if (b->day_count >= rl->day_limit) {
                stat_inc(st, "daily");
                set_empty(r, 429);
                hdr(r, "X-RateLimit-Limit", "%ld", rl->day_limit);
                hdr(r, "X-RateLimit-Remaining", "0");
                hdr(r, "X-RateLimit-Reset", "%lld", (long long)rl->day_reset);
                return 429;
        }
        if (b->min_count >= rl->min_limit) {
                stat_inc(st, "minutely");
                set_empty(r, 429);
                hdr(r, "X-RateLimit-Minutely-Limit", "%ld", rl->min_limit);
                hdr(r, "X-RateLimit-Minutely-Remaining", "0");
                hdr(r, "X-RateLimit-Minutely-Reset", "%lld", (long long)rl->min_reset);
                return 429;
        }
        b->day_count++;
        b->min_count++;
        rl->counted = true;
        rl->day_left = rl->day_limit - b->day_count;
        rl->min_left = rl->min_limit - b->min_count;
        return 0;
}

static void rate_headers(const struct rl_state *rl, struct reply *r)
{
        if (!rl->counted)
                return;
        hdr(r, "X-RateLimit-Limit", "%ld", rl->day_limit);
        hdr(r, "X-RateLimit-Remaining", "%ld", rl->day_left);
        hdr(r, "X-RateLimit-Reset", "%lld", (long long)rl->day_reset);
        hdr(r, "X-RateLimit-Minutely-Limit", "%ld", rl->min_limit);
        hdr(r, "X-RateLimit-Minutely-Remaining", "%ld", rl->min_left);
        hdr(r, "X-RateLimit-Minutely-Reset", "%lld", (long long)rl->min_reset);
}

static struct err_bucket *err_bucket_get(struct xf_server *s, const struct chain *ch, long division,
                                         const char *endpoint)
{
        char *key = NULL;
        size_t i;
        struct err_bucket *e;
        struct err_bucket **arr;

        if (asprintf(&key, "%s\n%s\n%ld\n%s", ch->client, ch->user, division, endpoint) < 0)
                return NULL;
        for (i = 0; i < s->n_errs; i++) {
                if (strcmp(s->errs[i]->key, key) == 0) {
                        free(key);
                        return s->errs[i];
                }
        }
        arr = grow(s->errs, s->n_errs, sizeof(*arr));
        e = calloc(1, sizeof(*e));
        if (arr == NULL || e == NULL || s->cfg->error_limit <= 0) {
                free(e);
                free(key);
                if (arr != NULL)
                        s->errs = arr;
                return NULL;
        }
        s->errs = arr;
        e->key = key;
        e->times = calloc((size_t)s->cfg->error_limit, sizeof(int64_t));
        if (e->times == NULL) {
                free(e->key);
                free(e);
                return NULL;
        }
        s->errs[s->n_errs++] = e;
        return e;
}

static bool err_blocked(struct xf_server *s, const struct chain *ch, long division,
                        const char *endpoint)
{
        struct err_bucket *e;

        if (s->cfg->no_limits || s->cfg->error_limit <= 0)
                return false;
        e = err_bucket_get(s, ch, division, endpoint);
        return e != NULL && xf_now_ms() < e->blocked_until;
}

static void err_record(struct xf_server *s, const struct chain *ch, long division,
                       const char *endpoint)
{
        int64_t now = xf_now_ms();
        int64_t hour = (int64_t)llround(minute_ms(s) * 60.0);
        struct err_bucket *e;
        size_t lim = (size_t)s->cfg->error_limit;
        size_t i, recent = 0;

        if (s->cfg->no_limits || s->cfg->error_limit <= 0)
                return;
        e = err_bucket_get(s, ch, division, endpoint);
        if (e == NULL)
                return;
        e->times[e->head] = now;
        e->head = (e->head + 1) % lim;
        if (e->n < lim)
                e->n++;
        for (i = 0; i < e->n; i++) {
                if (e->times[i] > now - hour)
                        recent++;
        }
        if (recent >= lim)
                e->blocked_until = now + hour;
}

/* ---- REST API ----------------------------------------------------------------------- */

static int find_entity(const char *service, const char *name)
{
        int i;

        for (i = 0; i < XF_E_COUNT; i++) {
                if (strcmp(xf_entities[i].service, service) == 0 &&
                    strcmp(xf_entities[i].name, name) == 0)
                        return i;
        }
        if ((strcmp(service, "system") == 0 || strcmp(service, "hrm") == 0) &&
            (strcmp(name, "Divisions") == 0 || strcmp(name, "AllDivisions") == 0))
                return XF_E_DIVISIONS;
        return -1;
}

static char *base_url(const struct req *q)
{
        const char *host = header(q, MHD_HTTP_HEADER_HOST);
        char *out = NULL;

        if (host == NULL || *host == '\0' || strpbrk(host, " \r\n/\"") != NULL) {
                if (asprintf(&out, "http://127.0.0.1:%u", q->s->port) < 0)
                        return NULL;
                return out;
        }
        if (asprintf(&out, "http://%s", host) < 0)
                return NULL;
        return out;
}

static char *next_prefix(const struct req *q, const char *base)
{
        size_t cap = strlen(base) + strlen(q->url) + 8;
        size_t i;
        json_t *p;
        char *out;

        json_array_foreach (q->args, i, p) {
                const char *v = json_string_value(json_array_get(p, 1));

                cap += strlen(json_string_value(json_array_get(p, 0))) * 3 +
                       (v ? strlen(v) * 3 : 0) + 2;
        }
        out = malloc(cap);
        if (out == NULL)
                return NULL;
        snprintf(out, cap, "%s%s?", base, q->url);
        json_array_foreach (q->args, i, p) {
                const char *k = json_string_value(json_array_get(p, 0));
                const char *v = json_string_value(json_array_get(p, 1));
                char *ek, *ev;
                size_t o = strlen(out);

                if (strcmp(k, "$skiptoken") == 0 || strcmp(k, "$top") == 0)
                        continue;
                ek = xf_url_encode(k);
                ev = v ? xf_url_encode(v) : NULL;
                snprintf(out + o, cap - o, "%s%s%s&", ek ? ek : "", ev ? "=" : "", ev ? ev : "");
                free(ek);
                free(ev);
        }
        return out;
}

static void build_virtual(struct xf_server *s, int ent, const struct chain *ch, json_t *set)
{
        struct xf_div *d = div_get(s, ch->division);
        char guid[64];
        char name[160];
        unsigned long h = 5381;
        const char *p;

        for (p = ch->user; *p != '\0'; p++)
                h = h * 33 + (unsigned char)*p;
        if (ent == XF_E_ME) {
                snprintf(guid, sizeof(guid), "%08lx-0000-4000-8000-%012lx", h & 0xffffffffUL,
                         (unsigned long)ch->division);
                snprintf(name, sizeof(name), "Fake User %s", ch->user);
                json_array_append_new(
                        set, json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "UserID", guid,
                                       "CurrentDivision", (json_int_t)ch->division, "FullName",
                                       name, "UserName", ch->user, "Email", "user@example.invalid",
                                       "LanguageCode", "nl-NL", "Language", "NL",
                                       "DivisionCustomer", "00000000-0000-4000-8000-000000000001",
                                       "DivisionCustomerName", "Fake Customer", "IsClientUser", 0));
                return;
        }
        snprintf(name, sizeof(name), "Administratie %ld", ch->division);
        json_array_append_new(set, json_pack("{s:i,s:s,s:i,s:s,s:s,s:b,s:s,s:s,s:b,s:i}", "Code",
                                             (json_int_t)ch->division, "Description", name, "HID",
                                             (json_int_t)ch->division, "Country", "NL", "Currency",
                                             "EUR", "Current", 1, "Customer",
                                             "00000000-0000-4000-8000-000000000001", "CustomerName",
                                             "Fake Customer", "IsMainDivision", 1, "Status",
                                             (json_int_t)(d ? d->division_status : 1)));
}

static bool accept_json(const struct req *q)
{
        const char *a = header(q, MHD_HTTP_HEADER_ACCEPT);

        return a != NULL && strstr(a, "application/json") != NULL;
}

/* Query options this fake knows; anything else starting with '$' is refused. */
static bool known_option(const char *k)
{
        static const char *const opts[] = { "$filter",      "$select",    "$top",
                                            "$orderby",     "$skiptoken", "$expand",
                                            "$inlinecount", "$format",    NULL };
        size_t i;

        for (i = 0; opts[i] != NULL; i++) {
                if (strcmp(opts[i], k) == 0)
                        return true;
        }
        return false;
}

static void api_get(struct req *q, struct reply *r, struct xf_div *d, int ent, const char *key,
                    bool count_only, const struct chain *ch, const char *base)
{
        struct xf_query qq;
        json_t *set = NULL;
        json_t *body = NULL;
        char err[XF_MSG_MAX];
        char *uri_base = NULL, *prefix = NULL;
        const char *top = arg(q, "$top");
        const char *inl = arg(q, "$inlinecount");
        long topv = -1;
        long count = 0;
        size_t i;
        json_t *p;
        int st;

        json_array_foreach (q->args, i, p) {
                const char *k = json_string_value(json_array_get(p, 0));

                if (k[0] == '$' && !known_option(k)) {
                        snprintf(err, sizeof(err), "The query parameter '%s' is not supported.", k);
                        set_error(r, 400, err);
                        return;
                }
        }
        if (has_arg(q, "$format") &&
            strcmp(arg(q, "$format") ? arg(q, "$format") : "", "json") != 0) {
                set_error(r, 400, "Only $format=json is supported.");
                return;
        }
        if (top != NULL && !parse_long(top, 0, 2147483647L, &topv)) {
                set_error(r, 400, "Invalid $top value.");
                return;
        }
        if (inl != NULL && strcmp(inl, "allpages") != 0 && strcmp(inl, "none") != 0) {
                set_error(r, 400, "Invalid $inlinecount value.");
                return;
        }
        if (ent < XF_E_COUNT && xf_pay_derived(ent))
                xf_pay_refresh(d);
        if (ent >= XF_E_COUNT) {
                set = json_array();
                build_virtual(q->s, ent, ch, set);
        } else if (ent == XF_E_RECEIVABLESLISTBYACCOUNT) {
                set = xf_pay_by_account(d, arg(q, "accountId"), err, sizeof(err));
                if (set == NULL) {
                        set_error(r, 400, err);
                        return;
                }
        } else {
                set = json_incref(d->sets[ent]);
        }
        if (ent == XF_E_ME) {
                if (asprintf(&uri_base, "%s/api/v1/", base) < 0)
                        uri_base = NULL;
        } else if (asprintf(&uri_base, "%s/api/v1/%ld/", base, d->number) < 0) {
                uri_base = NULL;
        }
        if (key != NULL) {
                json_t *e = NULL;

                if (ent == XF_E_DIVISIONS) {
                        json_t *c = json_array_get(set, 0);
                        long kv;

                        if (parse_long(key, 1, 2147483647L, &kv) &&
                            kv == json_integer_value(json_object_get(c, "Code")))
                                e = c;
                } else {
                        size_t j;
                        json_t *x;

                        json_array_foreach (set, j, x) {
                                const char *kv = json_string_value(
                                        json_object_get(x, xf_entities[ent].key));

                                if (kv != NULL && strcasecmp(kv, key) == 0) {
                                        e = x;
                                        break;
                                }
                        }
                }
                if (e == NULL) {
                        set_error(r, 404, "Resource not found for the segment.");
                        goto out;
                }
                {
                        const char *ex = arg(q, "$expand");
                        json_t *sel = NULL;

                        if (arg(q, "$select") != NULL) {
                                /* reuse the query path to validate $select */
                                struct xf_query tmp = { .select = arg(q, "$select"),
                                                        .top = 0,
                                                        .uri_base = uri_base ? uri_base : "",
                                                        .next_prefix = "" };
                                json_t *ignored = NULL;

                                if (xf_query_run(d, ent, set, &tmp, &ignored, NULL, err,
                                                 sizeof(err)) != 200) {
                                        set_error(r, 400, err);
                                        goto out;
                                }
                                json_decref(ignored);
                                sel = json_array();
                                {
                                        char *copy = strdup(arg(q, "$select"));
                                        char *save = NULL, *part;

                                        save = copy;
                                        for (part = xf_next_token(&save, ','); part != NULL;
                                             part = xf_next_token(&save, ',')) {
                                                char t[128];

                                                xf_trim(part, t, sizeof(t));
                                                json_array_append_new(sel, json_string(t));
                                        }
                                        free(copy);
                                }
                        }
                        set_json(r, 200,
                                 json_pack("{s:o}", "d",
                                           xf_entity_out(
                                                   d, ent, e, uri_base ? uri_base : "",
                                                   ex != NULL && xf_entities[ent].lines_prop &&
                                                           strcmp(ex,
                                                                  xf_entities[ent].lines_prop) == 0,
                                                   sel)));
                        json_decref(sel);
                }
                goto out;
        }
        prefix = next_prefix(q, base);
        memset(&qq, 0, sizeof(qq));
        qq.filter = arg(q, "$filter");
        qq.select = arg(q, "$select");
        qq.orderby = arg(q, "$orderby");
        qq.skiptoken = arg(q, "$skiptoken");
        qq.expand = arg(q, "$expand");
        qq.top = topv;
        qq.inlinecount = inl != NULL && strcmp(inl, "allpages") == 0;
        qq.next_prefix = prefix ? prefix : "";
        qq.uri_base = uri_base ? uri_base : "";
        qq.page_size = XF_PAGE_SIZE;
        qq.bare_array = q->s->cfg->bare_array_top && topv >= 0 && !count_only;
        st = xf_query_run(d, ent, set, &qq, &body, &count, err, sizeof(err));
        if (st != 200) {
                set_error(r, st, err);
                goto out;
        }
        if (count_only) {
                char num[32];

                json_decref(body);
                snprintf(num, sizeof(num), "%ld", count);
                set_text(r, 200, num);
                goto out;
        }
        set_json(r, 200, body);
out:
        json_decref(set);
        free(uri_base);
        free(prefix);
}

/* bulk/CRM/Accounts, sync/Logistics/Items...: the entity they mirror, or -1. */
static int mirror_entity(const char *service, const char *name)
{
        if (strcmp(service, "CRM") == 0 && strcmp(name, "Accounts") == 0)
                return XF_E_ACCOUNTS;
        if (strcmp(service, "Logistics") == 0 && strcmp(name, "Items") == 0)
                return XF_E_ITEMS;
        return -1;
}

static int cmp_stamp(const void *pa, const void *pb)
{
        json_int_t a = json_integer_value(json_object_get(*(json_t *const *)pa, "Timestamp"));
        json_int_t b = json_integer_value(json_object_get(*(json_t *const *)pb, "Timestamp"));

        return a < b ? -1 : a > b;
}

/* "Timestamp gt 123L" (the L optional): the number, or -1 for any other filter. */
static long long stamp_filter(const char *f)
{
        long long v;
        int n = 0;

        if (sscanf(f, " Timestamp gt %lld%n", &v, &n) != 1 || v < 0)
                return -1;
        if (f[n] == 'L')
                n++;
        while (f[n] == ' ')
                n++;
        return f[n] == '\0' ? v : -1;
}

/* A sync endpoint: the rows written after the filter's (or the skiptoken's) Timestamp, in
 * Timestamp order, 1000 a page; the skiptoken is the last Timestamp sent (opaque to clients). */
static void sync_get(struct req *q, struct reply *r, struct xf_div *d, int ent, const char *base)
{
        const char *f = arg(q, "$filter"), *tok = arg(q, "$skiptoken");
        char *copy = strdup(arg(q, "$select")), *save, *part, *prefix = NULL, *uri_base = NULL;
        json_t *sel = json_array(), *results = json_array(), *dobj, **rows = NULL, *e;
        long long after = 0;
        bool want_ts = false;
        size_t n = 0, i, take;

        if (f != NULL && (after = stamp_filter(f)) < 0) {
                set_error(r, 400,
                          "exact-fake: sync endpoints filter on Timestamp only (Timestamp gt "
                          "<n>L)");
                goto out;
        }
        if (tok != NULL) {
                char *end;
                long long t = strtoll(tok, &end, 10);

                if (*tok == '\0' || *end != '\0' || t < 0) {
                        set_error(r, 400, "Invalid $skiptoken value.");
                        goto out;
                }
                if (t > after)
                        after = t;
        }
        save = copy;
        for (part = xf_next_token(&save, ','); copy && part; part = xf_next_token(&save, ',')) {
                char t[128], err[XF_MSG_MAX];

                xf_trim(part, t, sizeof(t));
                if (strcmp(t, "Timestamp") == 0) {
                        want_ts = true;
                        continue;
                }
                if (xf_field_find(ent, t) == NULL) {
                        snprintf(err, sizeof(err), "No property '%s' exists in type '%s'.", t,
                                 xf_entities[ent].model);
                        set_error(r, 400, err);
                        goto out;
                }
                json_array_append_new(sel, json_string(t));
        }
        rows = malloc(sizeof(*rows) * (json_array_size(d->sets[ent]) + 1));
        if (rows == NULL || asprintf(&uri_base, "%s/api/v1/%ld/", base, d->number) < 0) {
                uri_base = NULL;
                set_error(r, 500, "Out of memory");
                goto out;
        }
        json_array_foreach (d->sets[ent], i, e) {
                if (json_integer_value(json_object_get(e, "Timestamp")) > after)
                        rows[n++] = e;
        }
        qsort(rows, n, sizeof(*rows), cmp_stamp);
        take = n < XF_BULK_PAGE_SIZE ? n : XF_BULK_PAGE_SIZE;
        for (i = 0; i < take; i++) {
                json_t *o = xf_entity_out(d, ent, rows[i], uri_base, false, sel);

                if (want_ts)
                        json_object_set(o, "Timestamp", json_object_get(rows[i], "Timestamp"));
                json_array_append_new(results, o);
        }
        dobj = json_pack("{s:o}", "results", results);
        results = NULL;
        prefix = next_prefix(q, base);
        if (take < n && prefix != NULL) {
                char *next = NULL;

                if (asprintf(&next, "%s$skiptoken=%lld", prefix,
                             (long long)json_integer_value(
                                     json_object_get(rows[take - 1], "Timestamp"))) >= 0) {
                        json_object_set_new(dobj, "__next", json_string(next));
                        free(next);
                }
        }
        set_json(r, 200, json_pack("{s:o}", "d", dobj));
out:
        json_decref(sel);
        json_decref(results);
        free(rows);
        free(copy);
        free(prefix);
        free(uri_base);
}

/* bulk/... and sync/...: GET only, $select required, pages of 1000. */
static void mirror_get(struct req *q, struct reply *r, struct xf_div *d, int ent, bool sync,
                       const char *base)
{
        static const char *const opts[] = { "$filter", "$select", "$skiptoken", "$format", NULL };
        const char *sel = arg(q, "$select");
        char err[XF_MSG_MAX];
        json_t *p, *body = NULL;
        size_t i;

        json_array_foreach (q->args, i, p) {
                const char *k = json_string_value(json_array_get(p, 0));
                size_t o;

                for (o = 0; opts[o] != NULL && strcmp(opts[o], k) != 0; o++)
                        ;
                if (k[0] == '$' && opts[o] == NULL) {
                        snprintf(err, sizeof(err), "The query parameter '%s' is not supported.", k);
                        set_error(r, 400, err);
                        return;
                }
        }
        if (has_arg(q, "$format") &&
            strcmp(arg(q, "$format") ? arg(q, "$format") : "", "json") != 0) {
                set_error(r, 400, "Only $format=json is supported.");
                return;
        }
        /* the text is the one Exact gives on standard endpoints; for bulk/sync UNCONFIRMED */
        if (sel == NULL || *sel == '\0' || strcmp(sel, "*") == 0) {
                set_error(r, 400,
                          "Please add a $select or a $top=1 statement to the query string.");
                return;
        }
        if (sync) {
                sync_get(q, r, d, ent, base);
                return;
        }
        {
                char *prefix = next_prefix(q, base), *uri_base = NULL;
                struct xf_query qq;
                int st;

                if (asprintf(&uri_base, "%s/api/v1/%ld/", base, d->number) < 0)
                        uri_base = NULL;
                memset(&qq, 0, sizeof(qq));
                qq.filter = arg(q, "$filter");
                qq.select = sel;
                qq.skiptoken = arg(q, "$skiptoken");
                qq.top = -1;
                qq.next_prefix = prefix ? prefix : "";
                qq.uri_base = uri_base ? uri_base : "";
                qq.page_size = XF_BULK_PAGE_SIZE;
                st = xf_query_run(d, ent, d->sets[ent], &qq, &body, NULL, err, sizeof(err));
                if (st != 200)
                        set_error(r, st, err);
                else
                        set_json(r, 200, body);
                free(prefix);
                free(uri_base);
        }
}

static bool fault_roll(double p)
{
        return p > 0 && xf_rng_unit() < p;
}

static void injected(struct reply *r, struct xf_div *d)
{
        set_error(r, d->fault_status, "An internal error occurred. Please try again later.");
}

static bool content_json(const struct req *q)
{
        const char *ct = header(q, MHD_HTTP_HEADER_CONTENT_TYPE);

        return ct != NULL && strncasecmp(ct, "application/json", 16) == 0;
}

static json_t *parse_body(const struct req *q, struct reply *r)
{
        json_error_t jerr;
        json_t *j;

        if (q->too_big) {
                set_error(r, 413, "The request is larger than the allowed maximum size.");
                return NULL;
        }
        if (!content_json(q)) {
                set_error(r, 415, "Content-Type must be application/json.");
                return NULL;
        }
        j = json_loadb(q->body ? q->body : "", q->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (j == NULL || !json_is_object(j)) {
                json_decref(j);
                set_error(r, 400,
                          "Error processing request stream. The request should be a valid "
                          "top-level resource object.");
                return NULL;
        }
        return j;
}

static void api_write(struct req *q, struct reply *r, struct xf_div *d, int ent, const char *key,
                      const char *base)
{
        const struct xf_config *cfg = q->s->cfg;
        json_t *st = obj_child(div_stats(d), "faults");
        json_t *body = NULL;
        char err[XF_MSG_MAX];
        int code;
        bool is_delete = strcmp(q->method, "DELETE") == 0;

        if (!is_delete) {
                body = parse_body(q, r);
                if (body == NULL)
                        return;
        }
        if (xf_pay_derived(ent))
                xf_pay_refresh(d);
        if (fault_roll(d->fail_before_write)) {
                stat_inc(st, "before_write");
                injected(r, d);
                goto out;
        }
        if (strcmp(q->method, "POST") == 0) {
                json_t *e = NULL;
                const char *prefer = header(q, "Prefer");
                char *uri_base = NULL;

                code = xf_create(d, ent, body, cfg->validation_status, &e, err, sizeof(err));
                if (code != 201) {
                        set_error(r, code, err);
                        goto out;
                }
                stat_inc(obj_child(div_stats(d), "created"), xf_entities[ent].name);
                if (asprintf(&uri_base, "%s/api/v1/%ld/", base, d->number) < 0)
                        uri_base = NULL;
                {
                        json_t *out = xf_entity_out(d, ent, e, uri_base ? uri_base : "", true,
                                                    NULL);

                        if (prefer == NULL || strstr(prefer, "return=representation") == NULL) {
                                /* without the header only what was posted comes back */
                                const char *k;
                                json_t *v;
                                void *tmp;

                                json_object_foreach_safe (out, tmp, k, v) {
                                        if (strcmp(k, "__metadata") == 0)
                                                continue;
                                        if (json_object_get(body, k) == NULL)
                                                json_object_set_new(out, k, json_null());
                                }
                        }
                        set_json(r, 201, json_pack("{s:o}", "d", out));
                }
                free(uri_base);
        } else if (is_delete) {
                code = xf_delete(d, ent, key, cfg->validation_status, err, sizeof(err));
                if (code == 404)
                        set_error(r, 404, "Resource not found for the segment.");
                else if (code != 204)
                        set_error(r, code, err);
                else
                        set_empty(r, 204);
        } else {
                json_t *e = xf_find(d, ent, xf_entities[ent].key, key);

                if (e == NULL) {
                        set_error(r, 404, "Resource not found for the segment.");
                        goto out;
                }
                code = xf_update(d, ent, e, body, cfg->validation_status, err, sizeof(err));
                if (code != 204)
                        set_error(r, code, err);
                else
                        set_empty(r, 204);
        }
        if (r->status < 300 && fault_roll(d->fail_after_write)) {
                stat_inc(st, "after_write");
                if (d->drop_connection) {
                        stat_inc(st, "dropped");
                        r->drop = true;
                } else {
                        injected(r, d);
                }
        }
out:
        json_decref(body);
}

/* A slow read: answered slow_write_ms late, with what the store held when it arrived. */
static void hold_read(struct xf_server *s, struct xf_div *d)
{
        long ms = d->slow_write_ms;

        if (d->slow_reads <= 0 || ms <= 0)
                return;
        d->slow_reads--;
        stat_inc(obj_child(div_stats(d), "faults"), "slow_read");
        pthread_mutex_unlock(&s->lock);
        usleep((useconds_t)ms * 1000);
        pthread_mutex_lock(&s->lock);
}

/* Splits "Entity(guid'…')" or "Entity(123)"; returns false on a malformed key. */
static bool split_key(char *seg, char **ret_key, bool *ret_bad)
{
        char *open = strchr(seg, '(');
        size_t n;

        *ret_key = NULL;
        *ret_bad = false;
        if (open == NULL)
                return true;
        n = strlen(open);
        if (n < 2 || open[n - 1] != ')') {
                *ret_bad = true;
                return false;
        }
        *open = '\0';
        open[n - 1] = '\0';
        open++;
        if (strncmp(open, "guid'", 5) == 0) {
                size_t l = strlen(open);

                if (l < 7 || open[l - 1] != '\'') {
                        *ret_bad = true;
                        return false;
                }
                open[l - 1] = '\0';
                open += 5;
                if (!xf_guid_valid(open)) {
                        *ret_bad = true;
                        return false;
                }
        }
        *ret_key = open;
        return true;
}

static void handle_api(struct req *q, struct reply *r)
{
        struct xf_server *s = q->s;
        const char *path = q->url + strlen("/api/v1/");
        const char *auth = header(q, MHD_HTTP_HEADER_AUTHORIZATION);
        char *copy = strdup(path);
        char *segs[5] = { NULL };
        int nseg = 0;
        char *save = NULL, *tok;
        struct chain *ch = NULL;
        struct xf_div *d = NULL;
        long division = -1;
        struct rl_state rl;
        char endpoint[160] = "";
        char *key = NULL;
        bool count_only = false, bad_key = false, token_live = false;
        char *base = base_url(q);
        int ent = -1, mirror = 0; /* mirror: 1 bulk/..., 2 sync/... */
        int64_t now = xf_now_ms();
        json_t *dst;

        memset(&rl, 0, sizeof(rl));
        stat_inc(s->stats, "total_requests");
        if (copy == NULL || base == NULL) {
                set_error(r, 500, "Out of memory");
                goto out;
        }
        save = copy;
        for (tok = xf_next_token(&save, '/'); tok != NULL && nseg < 5;
             tok = xf_next_token(&save, '/'))
                segs[nseg++] = tok;
        if (tok != NULL)
                nseg = 99;
        if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
                const char *t = auth + 7;

                ch = chain_of(s, t, 'A');
                if (ch != NULL) {
                        int i;

                        for (i = 0; i < 2; i++) {
                                if (ch->access[i] != NULL && strcmp(ch->access[i], t) == 0 &&
                                    now < ch->access_exp[i] && !ch->revoked)
                                        token_live = true;
                        }
                        if (!token_live && strcmp(ch->access[0] ? ch->access[0] : "", t) != 0 &&
                            strcmp(ch->access[1] ? ch->access[1] : "", t) != 0)
                                ch = NULL;
                }
        }
        if (nseg >= 1 && strcmp(segs[0], "current") == 0) {
                dst = obj_child(s->stats, "current");
                stat_inc(dst, "requests");
                if (!token_live) {
                        stat_inc(s->stats, "unauthorized");
                        set_error(r, 401, "Unauthorized");
                        hdr(r, "WWW-Authenticate", "Bearer");
                } else if (nseg != 2 || strcmp(segs[1], "Me") != 0) {
                        set_error(r, 404, "Resource not found for the segment.");
                } else if (strcmp(q->method, "GET") != 0) {
                        set_error(r, 405, "Method not allowed.");
                } else if (!accept_json(q)) {
                        set_error(r, 406,
                                  "exact-fake only answers JSON: send Accept: "
                                  "application/json.");
                } else {
                        api_get(q, r, div_get(s, ch->division), XF_E_ME, NULL, false, ch, base);
                }
                {
                        char sc[8];

                        snprintf(sc, sizeof(sc), "%d", r->status);
                        stat_inc(obj_child(dst, "by_status"), sc);
                }
                goto out;
        }
        if (nseg < 3 || nseg > 4 || !parse_long(segs[0], 1, 2147483647L, &division)) {
                if (!token_live) {
                        stat_inc(s->stats, "unauthorized");
                        set_error(r, 401, "Unauthorized");
                        hdr(r, "WWW-Authenticate", "Bearer");
                } else {
                        set_error(r, 404, "Resource not found for the segment.");
                }
                goto out;
        }
        if (nseg == 4 && strcmp(segs[1], "read") == 0 && strcmp(segs[2], "financial") == 0) {
                /* the read/financial reports: one service name of two segments */
                segs[1] = (char *)"read/financial";
                segs[2] = segs[3];
                nseg = 3;
        }
        if (nseg == 4 && (strcmp(segs[1], "bulk") == 0 || strcmp(segs[1], "sync") == 0)) {
                mirror = segs[1][0] == 'b' ? 1 : 2;
                ent = mirror_entity(segs[2], segs[3]);
                snprintf(endpoint, sizeof(endpoint), "%s/%s/%s", segs[1], segs[2], segs[3]);
        } else {
                if (nseg == 4) {
                        if (strcmp(segs[3], "$count") != 0) {
                                segs[2] = NULL;
                        } else {
                                count_only = true;
                        }
                }
                if (segs[2] != NULL)
                        split_key(segs[2], &key, &bad_key);
                if (segs[2] != NULL)
                        ent = find_entity(segs[1], segs[2]);
                snprintf(endpoint, sizeof(endpoint), "%s/%s", segs[1], segs[2] ? segs[2] : "?");
        }
        d = div_get(s, division);
        if (!token_live) {
                stat_inc(s->stats, "unauthorized");
                set_error(r, 401, "Unauthorized");
                hdr(r, "WWW-Authenticate", "Bearer");
                goto record;
        }
        if (ch->division != division || d == NULL) {
                set_error(r, 403, "Forbidden - WrongDivision");
                hdr(r, "Reason", "NoDivisionAccess");
                goto record;
        }
        if (err_blocked(s, ch, division, endpoint)) {
                stat_inc(div_stats(d), "error_limited");
                set_error(r, s->cfg->error_limit_status,
                          "API rate limit exceeded: too many errors on this endpoint. The "
                          "block is lifted after one hour.");
                goto record;
        }
        if (rate_take(s, ch->client, d, &rl, r) != 0)
                goto record;
        if (d->latency_ms > 0) {
                long ms = d->latency_ms;

                stat_inc(obj_child(div_stats(d), "faults"), "latency");
                pthread_mutex_unlock(&s->lock);
                usleep((useconds_t)ms * 1000);
                pthread_mutex_lock(&s->lock);
        }
        if (strcmp(q->method, "GET") != 0 && d->slow_writes > 0 && d->slow_write_ms > 0) {
                long ms = d->slow_write_ms;

                /* Exact still working on a write after the client gave up: the write is
                 * committed when the hold ends (answered to nobody), reads pass meanwhile. */
                d->slow_writes--;
                stat_inc(obj_child(div_stats(d), "faults"), "slow_write");
                pthread_mutex_unlock(&s->lock);
                usleep((useconds_t)ms * 1000);
                pthread_mutex_lock(&s->lock);
        }
        if (ent < 0 || bad_key) {
                if (bad_key)
                        set_error(r, 400, "Unrecognized Guid format.");
                else
                        set_error(r, 404, "Resource not found for the segment.");
                goto record;
        }
        if (mirror) {
                /* read-only mirrors: GET only [picqer #512] */
                if (strcmp(q->method, "GET") != 0) {
                        set_error(r, 405, "Method not allowed.");
                } else if (!accept_json(q)) {
                        set_error(r, 406,
                                  "exact-fake only answers JSON: send Accept: "
                                  "application/json.");
                } else if (fault_roll(d->fail_read)) {
                        stat_inc(obj_child(div_stats(d), "faults"), "read");
                        injected(r, d);
                } else {
                        mirror_get(q, r, d, ent, mirror == 2, base);
                        hold_read(s, d);
                }
                goto record;
        }
        if (strcmp(q->method, "GET") == 0) {
                if (!(xf_entities[ent].methods & XF_M_GET)) {
                        set_error(r, 405, "Method not allowed.");
                } else if (!count_only && !accept_json(q)) {
                        set_error(r, 406,
                                  "exact-fake only answers JSON: send Accept: "
                                  "application/json.");
                } else if (count_only && key != NULL) {
                        set_error(r, 400, "$count is not allowed on a single entity.");
                } else if (fault_roll(d->fail_read)) {
                        stat_inc(obj_child(div_stats(d), "faults"), "read");
                        injected(r, d);
                } else {
                        api_get(q, r, d, ent, key, count_only, ch, base);
                        hold_read(s, d);
                }
                goto record;
        }
        {
                unsigned m = strcmp(q->method, "POST") == 0     ? XF_M_POST
                             : strcmp(q->method, "PUT") == 0    ? XF_M_PUT
                             : strcmp(q->method, "DELETE") == 0 ? XF_M_DELETE
                                                                : 0;

                if (m == 0 || !(xf_entities[ent].methods & m) || count_only) {
                        set_error(r, 405, "Method not allowed.");
                } else if ((m == XF_M_POST) != (key == NULL)) {
                        set_error(r, 405, "Method not allowed.");
                } else if (!accept_json(q)) {
                        set_error(r, 406,
                                  "exact-fake only answers JSON: send Accept: "
                                  "application/json.");
                } else {
                        api_write(q, r, d, ent, key, base);
                }
        }
record:
        if (ch != NULL && d != NULL &&
            (r->status == 400 || r->status == 401 || r->status == 403 || r->status == 404))
                err_record(s, ch, division, endpoint);
        if (r->status != 429)
                rate_headers(&rl, r);
        {
                struct xf_div *sd = d ? d : NULL;

                if (sd != NULL) {
                        char sc[8], ek[200];
                        json_t *ds = div_stats(sd);

                        snprintf(sc, sizeof(sc), "%d", r->drop ? 0 : r->status);
                        snprintf(ek, sizeof(ek), "%s %s", q->method, endpoint);
                        stat_inc(ds, "requests");
                        stat_inc(obj_child(ds, "by_status"), sc);
                        stat_inc(obj_child(obj_child(ds, "by_endpoint"), ek), sc);
                }
        }
out:
        free(copy);
        free(base);
}

/* ---- /_fake/ ------------------------------------------------------------------------ */

static json_t *raw_with_lines(struct xf_div *d, int ent, json_t *e)
{
        const struct xf_entity_def *def = &xf_entities[ent];
        json_t *o = json_deep_copy(e);

        if (def->lines_ent >= 0) {
                const char *k = json_string_value(json_object_get(e, def->key));
                json_t *lines = xf_lines_of(d, ent, k);
                json_t *copy = json_deep_copy(lines);

                json_decref(lines);
                json_object_set_new(o, def->lines_prop, copy);
        }
        return o;
}

static void admin_entities(struct req *q, struct reply *r, struct xf_div *d)
{
        const char *type = arg(q, "type");
        json_t *out = json_object();
        int i;

        json_object_set_new(out, "division", json_integer(d->number));
        xf_pay_refresh(d);
        for (i = 0; i < XF_E_COUNT; i++) {
                json_t *arr;
                size_t j;
                json_t *e;

                if (type != NULL && strcmp(type, xf_entities[i].name) != 0)
                        continue;
                arr = json_array();
                json_array_foreach (d->sets[i], j, e)
                        json_array_append_new(arr, raw_with_lines(d, i, e));
                if (type != NULL) {
                        json_object_set_new(out, "type", json_string(type));
                        json_object_set_new(out, "count", json_integer((json_int_t)j));
                        json_object_set_new(out, "entities", arr);
                } else {
                        json_object_set_new(obj_child(out, "entities"), xf_entities[i].name, arr);
                }
        }
        if (type != NULL && json_object_get(out, "type") == NULL) {
                json_decref(out);
                set_json(r, 400, json_pack("{s:s}", "error", "unknown type"));
                return;
        }
        set_json(r, 200, out);
}

static json_t *faults_json(struct xf_div *d)
{
        return json_pack(
                "{s:i,s:f,s:f,s:f,s:f,s:i,s:i,s:i,s:i,s:b,s:i,s:i,s:i,s:i,s:i}", "division",
                (json_int_t)d->number, "fail_before_write", d->fail_before_write,
                "fail_after_write", d->fail_after_write, "fail_read", d->fail_read,
                "token_fail_after_write", d->token_fail_after_write, "latency_ms",
                (json_int_t)d->latency_ms, "slow_write_ms", (json_int_t)d->slow_write_ms,
                "slow_writes", (json_int_t)d->slow_writes, "slow_reads", (json_int_t)d->slow_reads,
                "drop_connection", d->drop_connection, "status", (json_int_t)d->fault_status,
                "amount_skew_cents", (json_int_t)d->amount_skew_cents, "amount_skew_documents",
                (json_int_t)d->amount_skew_docs, "email_errors", (json_int_t)d->email_errors,
                "division_status", (json_int_t)d->division_status);
}

static int admin_faults(struct req *q, struct reply *r)
{
        json_error_t jerr;
        json_t *j = json_loadb(q->body ? q->body : "", q->body_len, 0, &jerr);
        json_t *div = json_object_get(j, "division");
        struct xf_div *d;
        const char *k;
        json_t *v;

        if (!json_is_object(j) || !json_is_integer(div) || json_integer_value(div) <= 0 ||
            json_integer_value(div) > 2147483647) {
                json_decref(j);
                set_json(r, 400, json_pack("{s:s}", "error", "need {\"division\": N, ...}"));
                return 400;
        }
        d = div_ensure(q->s, (long)json_integer_value(div));
        json_object_foreach (j, k, v) {
                double *p = NULL;

                if (strcmp(k, "division") == 0)
                        continue;
                if (strcmp(k, "fail_before_write") == 0)
                        p = &d->fail_before_write;
                else if (strcmp(k, "fail_after_write") == 0)
                        p = &d->fail_after_write;
                else if (strcmp(k, "fail_read") == 0)
                        p = &d->fail_read;
                else if (strcmp(k, "token_fail_after_write") == 0)
                        p = &d->token_fail_after_write;
                if (p != NULL) {
                        if (!json_is_number(v) || json_number_value(v) < 0 ||
                            json_number_value(v) > 1)
                                goto bad;
                        *p = json_number_value(v);
                } else if (strcmp(k, "latency_ms") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > 60000)
                                goto bad;
                        d->latency_ms = (long)json_integer_value(v);
                } else if (strcmp(k, "slow_write_ms") == 0 || strcmp(k, "slow_writes") == 0 ||
                           strcmp(k, "slow_reads") == 0) {
                        bool ms = strcmp(k, "slow_write_ms") == 0;

                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > (ms ? 60000 : 1000000))
                                goto bad;
                        *(ms ? &d->slow_write_ms
                          : strcmp(k, "slow_reads") == 0
                                  ? &d->slow_reads
                                  : &d->slow_writes) = (long)json_integer_value(v);
                } else if (strcmp(k, "drop_connection") == 0) {
                        if (!json_is_boolean(v))
                                goto bad;
                        d->drop_connection = json_is_true(v);
                } else if (strcmp(k, "amount_skew_cents") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < -100000 ||
                            json_integer_value(v) > 100000)
                                goto bad;
                        d->amount_skew_cents = (long)json_integer_value(v);
                } else if (strcmp(k, "amount_skew_documents") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > 1000000)
                                goto bad;
                        d->amount_skew_docs = (long)json_integer_value(v);
                } else if (strcmp(k, "email_errors") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > 1000000)
                                goto bad;
                        d->email_errors = (long)json_integer_value(v);
                } else if (strcmp(k, "status") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 500 ||
                            json_integer_value(v) > 599)
                                goto bad;
                        d->fault_status = (int)json_integer_value(v);
                } else if (strcmp(k, "division_status") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                            json_integer_value(v) > 2)
                                goto bad;
                        d->division_status = (int)json_integer_value(v);
                } else {
                        goto bad;
                }
        }
        json_decref(j);
        set_json(r, 200, faults_json(d));
        return 200;
bad:
        json_decref(j);
        set_json(r, 400, json_pack("{s:s}", "error", "bad fault setting"));
        return 400;
}

static void reset_limits(struct xf_server *s)
{
        size_t i;

        for (i = 0; i < s->n_buckets; i++) {
                free(s->buckets[i]->client);
                free(s->buckets[i]);
        }
        s->n_buckets = 0;
        for (i = 0; i < s->n_errs; i++) {
                free(s->errs[i]->key);
                free(s->errs[i]->times);
                free(s->errs[i]);
        }
        s->n_errs = 0;
        for (i = 0; i < s->n_caps; i++) {
                free(s->caps[i]->key);
                free(s->caps[i]);
        }
        s->n_caps = 0;
}

static void free_chains(struct xf_server *s)
{
        size_t i;

        for (i = 0; i < s->n_chains; i++) {
                struct chain *c = s->chains[i];

                /* keep the slot so ids stay unique; just burn the tokens */
                c->revoked = true;
        }
        for (i = 0; i < s->n_codes; i++)
                s->codes[i]->used = true;
}

static void admin_reset(struct req *q, struct reply *r)
{
        struct xf_server *s = q->s;
        json_error_t jerr;
        json_t *j = q->body_len ? json_loadb(q->body, q->body_len, 0, &jerr) : json_object();
        bool counters, limits, data, tokens, faults;
        size_t i;

        if (!json_is_object(j)) {
                json_decref(j);
                set_json(r, 400, json_pack("{s:s}", "error", "body must be a JSON object"));
                return;
        }
        counters = json_object_get(j, "counters") ? json_is_true(json_object_get(j, "counters"))
                                                  : true;
        limits = json_object_get(j, "limits") ? json_is_true(json_object_get(j, "limits")) : true;
        data = json_is_true(json_object_get(j, "data"));
        tokens = json_is_true(json_object_get(j, "tokens"));
        faults = json_is_true(json_object_get(j, "faults"));
        if (counters) {
                json_object_clear(s->stats);
                for (i = 0; i < s->n_divs; i++)
                        json_object_clear(s->divs[i]->stats);
        }
        if (limits)
                reset_limits(s);
        if (tokens)
                free_chains(s);
        for (i = 0; i < s->n_divs; i++) {
                struct xf_div *d = s->divs[i];

                if (faults) {
                        d->fail_before_write = d->fail_after_write = d->fail_read = 0;
                        d->token_fail_after_write = 0;
                        d->latency_ms = d->slow_write_ms = d->slow_writes = d->slow_reads = 0;
                        d->drop_connection = false;
                        d->amount_skew_cents = d->amount_skew_docs = d->email_errors = 0;
                        d->fault_status = 500;
                        d->division_status = 1;
                }
                if (data) {
                        struct xf_div *fresh = xf_div_new(d->number);
                        int e;

                        if (fresh == NULL)
                                continue;
                        for (e = 0; e < XF_E_COUNT; e++) {
                                json_t *tmp = d->sets[e];

                                d->sets[e] = fresh->sets[e];
                                fresh->sets[e] = tmp;
                        }
                        json_object_clear(d->invoice_numbers);
                        xf_div_free(fresh);
                }
        }
        set_json(r, 200,
                 json_pack("{s:b,s:b,s:b,s:b,s:b}", "counters", counters, "limits", limits, "data",
                           data, "tokens", tokens, "faults", faults));
        json_decref(j);
}

static void handle_admin(struct req *q, struct reply *r)
{
        struct xf_server *s = q->s;
        const char *p = q->url + strlen("/_fake/");
        bool get = strcmp(q->method, "GET") == 0;
        bool post = strcmp(q->method, "POST") == 0;

        if (get && strcmp(p, "health") == 0) {
                set_json(r, 200, json_pack("{s:b}", "ok", 1));
        } else if (get && strcmp(p, "stats") == 0) {
                json_t *out = json_deep_copy(s->stats);
                json_t *divs = json_object();
                size_t i;

                for (i = 0; i < s->n_divs; i++) {
                        char k[32];

                        snprintf(k, sizeof(k), "%ld", s->divs[i]->number);
                        json_object_set_new(divs, k, json_deep_copy(s->divs[i]->stats));
                }
                json_object_set_new(out, "divisions", divs);
                set_json(r, 200, out);
        } else if (post && strcmp(p, "reset") == 0) {
                admin_reset(q, r);
        } else if (post && strcmp(p, "faults") == 0) {
                admin_faults(q, r);
        } else if (get && strcmp(p, "faults") == 0) {
                long n;
                struct xf_div *d;

                if (!parse_long(arg(q, "division"), 1, 2147483647L, &n) ||
                    (d = div_get(s, n)) == NULL)
                        set_json(r, 404, json_pack("{s:s}", "error", "unknown division"));
                else
                        set_json(r, 200, faults_json(d));
        } else if (post && strcmp(p, "clock") == 0) {
                json_error_t jerr;
                json_t *j = json_loadb(q->body ? q->body : "", q->body_len, 0, &jerr);
                json_t *adv = json_object_get(j, "advance_ms");

                if (!json_is_integer(adv) || json_integer_value(adv) < 0) {
                        set_json(r, 400, json_pack("{s:s}", "error", "need {\"advance_ms\": N}"));
                } else {
                        xf_clock_advance((int64_t)json_integer_value(adv));
                        set_json(r, 200, json_pack("{s:I}", "now_ms", (json_int_t)xf_now_ms()));
                }
                json_decref(j);
        } else if (get && strcmp(p, "divisions") == 0) {
                json_t *arr = json_array();
                size_t i;

                for (i = 0; i < s->n_divs; i++)
                        json_array_append_new(arr, json_integer(s->divs[i]->number));
                set_json(r, 200, json_pack("{s:o}", "divisions", arr));
        } else if (get && strncmp(p, "divisions/", 10) == 0) {
                char num[32];
                const char *rest = p + 10;
                const char *slash = strchr(rest, '/');
                long n;
                struct xf_div *d;

                if (slash == NULL || (size_t)(slash - rest) >= sizeof(num) ||
                    strcmp(slash, "/entities") != 0) {
                        set_json(r, 404, json_pack("{s:s}", "error", "not found"));
                        return;
                }
                memcpy(num, rest, (size_t)(slash - rest));
                num[slash - rest] = '\0';
                if (!parse_long(num, 1, 2147483647L, &n) || (d = div_get(s, n)) == NULL) {
                        set_json(r, 404, json_pack("{s:s}", "error", "unknown division"));
                        return;
                }
                admin_entities(q, r, d);
        } else {
                set_json(r, 404, json_pack("{s:s}", "error", "not found"));
        }
}

/* ---- MHD glue ----------------------------------------------------------------------- */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
        json_t *args = cls;

        (void)kind;
        if (key != NULL)
                json_array_append_new(args, json_pack("[s,s?]", key, value));
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct xf_server *s = cls;
        struct conn_ctx *cc = *con_cls;
        struct reply r;
        struct req q;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        int i;

        (void)version;
        if (cc == NULL) {
                cc = calloc(1, sizeof(*cc));
                if (cc == NULL)
                        return MHD_NO;
                *con_cls = cc;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;

                if (cc->too_big || cc->len + n > s->cfg->max_body) {
                        cc->too_big = true;
                } else {
                        if (cc->len + n + 1 > cc->cap) {
                                size_t cap = (cc->len + n + 1) * 2;
                                char *nb = realloc(cc->buf, cap);

                                if (nb == NULL)
                                        return MHD_NO;
                                cc->buf = nb;
                                cc->cap = cap;
                        }
                        memcpy(cc->buf + cc->len, upload_data, n);
                        cc->len += n;
                        cc->buf[cc->len] = '\0';
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        memset(&r, 0, sizeof(r));
        memset(&q, 0, sizeof(q));
        q.s = s;
        q.c = c;
        q.method = method;
        q.url = url;
        q.body = cc->buf;
        q.body_len = cc->len;
        q.too_big = cc->too_big;
        q.args = json_array();
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, q.args);

        pthread_mutex_lock(&s->lock);
        if (strncmp(url, "/_fake/", 7) == 0)
                handle_admin(&q, &r);
        else if (strcmp(url, "/api/oauth2/auth") == 0)
                handle_authorize(&q, &r);
        else if (strcmp(url, "/api/oauth2/token") == 0)
                handle_token(&q, &r);
        else if (strncmp(url, "/api/v1/", 8) == 0)
                handle_api(&q, &r);
        else
                set_text(&r, 404, "Not Found");
        pthread_mutex_unlock(&s->lock);
        json_decref(q.args);

        if (r.drop) {
                reply_clear(&r);
                return MHD_NO;
        }
        if (r.body != NULL) {
                resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
                r.body = NULL;
        } else {
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        }
        if (resp == NULL) {
                reply_clear(&r);
                return MHD_NO;
        }
        if (r.ctype != NULL)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.ctype);
        for (i = 0; i < r.nh; i++)
                MHD_add_response_header(resp, r.hn[i], r.hv[i]);
        ret = MHD_queue_response(c, (unsigned)r.status, resp);
        MHD_destroy_response(resp);
        reply_clear(&r);
        return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct conn_ctx *cc = *con_cls;

        (void)cls;
        (void)c;
        (void)toe;
        if (cc == NULL)
                return;
        free(cc->buf);
        free(cc);
        *con_cls = NULL;
}

struct xf_server *xf_server_start(const struct xf_config *cfg)
{
        struct xf_server *s = calloc(1, sizeof(*s));
        struct sockaddr_in sa;
        char host[64];
        const char *colon = strrchr(cfg->listen, ':');
        long port;
        const union MHD_DaemonInfo *info;

        if (s == NULL)
                return NULL;
        if (cfg->day_start_now) /* whole minutes, so a day holds 1,440 of them exactly */
                s->day_origin_ms = (int64_t)llround(
                        (double)window_idx(xf_now_ms(), cfg->minute_s * 1000.0) * cfg->minute_s *
                        1000.0);
        if (colon == NULL || (size_t)(colon - cfg->listen) >= sizeof(host) ||
            !parse_long(colon + 1, 0, 65535, &port)) {
                fprintf(stderr, "exact-fake: bad --listen '%s' (want ADDR:PORT)\n", cfg->listen);
                free(s);
                return NULL;
        }
        memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
        host[colon - cfg->listen] = '\0';
        if (strcmp(host, "localhost") == 0)
                snprintf(host, sizeof(host), "127.0.0.1");
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
                fprintf(stderr, "exact-fake: bad listen address '%s'\n", host);
                free(s);
                return NULL;
        }
        s->cfg = cfg;
        s->stats = json_object();
        pthread_mutex_init(&s->lock, NULL);
        if (div_ensure(s, cfg->default_division) == NULL) {
                xf_server_stop(s);
                return NULL;
        }
        if (cfg->threads == 0)
                /* a thread per connection: a held request (latency, slow writes) delays no
                 * other connection */
                s->mhd = MHD_start_daemon(
                        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_POLL | MHD_USE_ERROR_LOG,
                        0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
                        (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
        else
                s->mhd = MHD_start_daemon(
                        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, MHD_OPTION_NOTIFY_COMPLETED,
                        on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
        if (s->mhd == NULL) {
                fprintf(stderr, "exact-fake: cannot listen on %s\n", cfg->listen);
                xf_server_stop(s);
                return NULL;
        }
        info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : (unsigned)port;
        return s;
}

unsigned xf_server_port(const struct xf_server *s)
{
        return s->port;
}

void xf_server_stop(struct xf_server *s)
{
        size_t i;

        if (s == NULL)
                return;
        if (s->mhd != NULL)
                MHD_stop_daemon(s->mhd);
        reset_limits(s);
        free(s->buckets);
        free(s->errs);
        free(s->caps);
        for (i = 0; i < s->n_divs; i++)
                xf_div_free(s->divs[i]);
        free(s->divs);
        for (i = 0; i < s->n_chains; i++) {
                struct chain *c = s->chains[i];

                free(c->client);
                free(c->user);
                free(c->access[0]);
                free(c->access[1]);
                free(c->refresh);
                free(c);
        }
        free(s->chains);
        for (i = 0; i < s->n_codes; i++) {
                struct auth_code *a = s->codes[i];

                free(a->value);
                free(a->client);
                free(a->user);
                free(a->redirect);
                free(a);
        }
        free(s->codes);
        json_decref(s->stats);
        pthread_mutex_destroy(&s->lock);
        free(s);
}
