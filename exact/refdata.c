/* refdata: see refdata.h. */
#include "exact/refdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cache.h"
#include "exact/ratelimit.h"

struct exact_refdata {
        long division;
        json_t *vat;      /* object: trimmed code -> {"p","t","x","b"}; NULL until listed */
        long long vat_at; /* when the list was read (ms) */
        json_t *groups;   /* object: code -> {"g": guid or null (not found), "at": ms} */
        json_t *gl;
};

/* Set once at start-up, before the workers; read without the lock. */
static long long ttl_ms = 3600 * 1000LL;
static long long miss_ttl_ms = 30 * 1000LL;

static void refdata_free(void *entry)
{
        exact_refdata *d = entry;

        json_decref(d->vat);
        json_decref(d->groups);
        json_decref(d->gl);
}

/* Workers keep pointers to entries while the cache grows: cx_cache entries never move. */
static cx_cache divisions = CX_CACHE_INIT(exact_refdata, refdata_free);

void exact_refdata_configure(long long ttl, long long miss_ttl)
{
        ttl_ms = ttl;
        miss_ttl_ms = miss_ttl;
}

static const char *text(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));

        return s ? s : "";
}

static void trim_copy(const char *in, char *out, size_t size)
{
        size_t len;

        while (*in == ' ')
                in++;
        snprintf(out, size, "%s", in);
        len = strlen(out);
        while (len > 0 && out[len - 1] == ' ')
                out[--len] = '\0';
}

exact_refdata *exact_refdata_get(const char *base_url, long division)
{
        exact_refdata *d;
        char key[300];

        snprintf(key, sizeof(key), "%s|%ld", base_url, division);
        cx_cache_lock(&divisions);
        d = cx_cache_get(&divisions, key, true);
        if (d && !d->groups) {
                d->division = division;
                d->groups = json_object();
                d->gl = json_object();
        }
        cx_cache_unlock(&divisions);
        return d;
}

static void vat_row(json_t *set, const json_t *row)
{
        char code[32], type[8], trans[8];

        trim_copy(text(row, "Code"), code, sizeof(code));
        trim_copy(text(row, "Type"), type, sizeof(type));
        trim_copy(text(row, "VATTransactionType"), trans, sizeof(trans));
        if (code[0])
                json_object_set_new(set, code,
                                    json_pack("{s:f,s:s,s:s,s:b}", "p",
                                              json_number_value(json_object_get(row, "Percentage")),
                                              "t", type, "x", trans, "b",
                                              json_is_true(json_object_get(row, "IsBlocked"))));
}

/* One page of vat/VATCodes into @p set; @p next becomes the endpoint of the next page or "". */
static int vat_page(exact_refdata *d, const exact_reader *rd, json_t *set, char *next,
                    size_t next_size, cx_err *err)
{
        exact_result res;
        json_t *row;
        const char *nx;
        size_t i;

        if (rd->get(rd->ud, next[0] ? next : "vat/VATCodes",
                    next[0] ? NULL : "$select=Code,Percentage,Type,VATTransactionType,IsBlocked",
                    &res) < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, "vat/VATCodes", err);
                exact_result_clear(&res);
                return -1;
        }
        json_array_foreach (exact_rows(&res), i, row) {
                vat_row(set, row);
        }
        nx = json_string_value(json_object_get(res.d, "__next"));
        next[0] = '\0';
        /* __next is absolute; only its part after the division is ours to send */
        if (nx) {
                char marker[64];
                const char *p;

                snprintf(marker, sizeof(marker), "/api/v1/%ld/", d->division);
                p = strstr(nx, marker);
                if (p)
                        snprintf(next, next_size, "%s", p + strlen(marker));
        }
        exact_result_clear(&res);
        return 0;
}

/* Read the whole list and put it in place of the cached one. */
static int vat_read(exact_refdata *d, const exact_reader *rd, cx_err *err)
{
        char next[1024] = "";
        int pages = 0;
        json_t *set = json_object();
        long long at = exact_now_ms();

        do {
                if (vat_page(d, rd, set, next, sizeof(next), err) < 0) {
                        json_decref(set);
                        return -1;
                }
        } while (next[0] && ++pages < 50);
        cx_cache_lock(&divisions);
        json_decref(d->vat);
        d->vat = set;
        d->vat_at = at;
        cx_cache_unlock(&divisions);
        return 0;
}

int exact_refdata_load_vat(exact_refdata *d, const exact_reader *rd, cx_err *err)
{
        bool fresh;

        cx_err_clear(err);
        cx_cache_lock(&divisions);
        fresh = d->vat && exact_now_ms() - d->vat_at < ttl_ms;
        cx_cache_unlock(&divisions);
        return fresh ? 0 : vat_read(d, rd, err);
}

/* The cached entry of @p code into @p out: 1 found, 0 not listed; *age_ms of the list. */
static int vat_cached(exact_refdata *d, const char *code, exact_vat_code *out, long long *age_ms)
{
        json_t *v;

        cx_cache_lock(&divisions);
        v = d->vat ? json_object_get(d->vat, code) : NULL;
        *age_ms = d->vat ? exact_now_ms() - d->vat_at : ttl_ms;
        if (v) {
                snprintf(out->code, sizeof(out->code), "%s", code);
                out->percentage = json_number_value(json_object_get(v, "p"));
                snprintf(out->type, sizeof(out->type), "%s", text(v, "t"));
                snprintf(out->transaction, sizeof(out->transaction), "%s", text(v, "x"));
                out->blocked = json_is_true(json_object_get(v, "b"));
        }
        cx_cache_unlock(&divisions);
        return v != NULL;
}

int exact_refdata_vat(exact_refdata *d, const exact_reader *rd, const char *code,
                      exact_vat_code *out, cx_err *err)
{
        char t[32];
        long long age;

        cx_err_clear(err);
        memset(out, 0, sizeof(*out));
        trim_copy(code, t, sizeof(t));
        if (vat_cached(d, t, out, &age))
                return 1;
        /* a miss is not believed for long: the user may just have created the code */
        if (age < miss_ttl_ms)
                return 0;
        if (vat_read(d, rd, err) < 0)
                return -1;
        return vat_cached(d, t, out, &age);
}

/* The cached GUID of @p code: 1 with @p out set ("" for a recent miss), 0 unknown or stale. */
static int guid_cached(json_t *cache, const char *code, char out[64])
{
        json_t *v = json_object_get(cache, code);
        json_t *g = json_object_get(v, "g");
        long long age = exact_now_ms() - json_integer_value(json_object_get(v, "at"));

        if (!v || age >= (json_is_string(g) ? ttl_ms : miss_ttl_ms))
                return 0;
        snprintf(out, 64, "%s", json_is_string(g) ? json_string_value(g) : "");
        return 1;
}

int exact_refdata_guid(exact_refdata *d, const exact_reader *rd, exact_ref_kind kind,
                       const char *code, char out[64], cx_err *err)
{
        const char *ep = kind == EXACT_REF_GL_ACCOUNT ? "financial/GLAccounts"
                                                      : "logistics/ItemGroups";
        json_t *cache = kind == EXACT_REF_GL_ACCOUNT ? d->gl : d->groups;
        json_t *row;
        char *q;
        int rc, hit;

        cx_err_clear(err);
        cx_cache_lock(&divisions);
        hit = guid_cached(cache, code, out);
        cx_cache_unlock(&divisions);
        if (!hit) {
                long long at = exact_now_ms();

                q = exact_filter_eq("Code", code, "ID,Code");
                rc = exact_lookup(rd, ep, q, ep, &row, err);
                free(q);
                if (rc < 0)
                        return -1;
                snprintf(out, 64, "%s", text(row, "ID"));
                json_decref(row);
                cx_cache_lock(&divisions);
                json_object_set_new(cache, code,
                                    json_pack("{s:o,s:I}", "g",
                                              out[0] ? json_string(out) : json_null(), "at",
                                              (json_int_t)at));
                cx_cache_unlock(&divisions);
        }
        if (!out[0])
                return cx_fail(err, CX_ERR_NOT_FOUND, false,
                               "%s code %s is not known in division %ld", ep, code, d->division);
        return 0;
}

void exact_refdata_free_all(void)
{
        cx_cache_clear(&divisions);
}
