/* refdata: see refdata.h. */
#include "exact/refdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cache.h"

struct exact_refdata {
        long division;
        json_t *vat;    /* object: trimmed code -> true; NULL until listed */
        json_t *groups; /* object: code -> guid or null (not found) */
        json_t *gl;
};

static void refdata_free(void *entry)
{
        exact_refdata *d = entry;

        json_decref(d->vat);
        json_decref(d->groups);
        json_decref(d->gl);
}

/* Workers keep pointers to entries while the cache grows: cx_cache entries never move. */
static cx_cache divisions = CX_CACHE_INIT(exact_refdata, refdata_free);

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

/* One page of vat/VATCodes into @p set; @p next becomes the endpoint of the next page or "". */
static int vat_page(exact_refdata *d, const exact_reader *rd, json_t *set, char *next,
                    size_t next_size, cx_err *err)
{
        exact_result res;
        json_t *row;
        const char *nx;
        size_t i;

        if (rd->get(rd->ud, next[0] ? next : "vat/VATCodes", next[0] ? NULL : "$select=Code",
                    &res) < 0)
                return -1;
        if (res.outcome != EX_OK) {
                exact_read_failed(&res, "vat/VATCodes", err);
                exact_result_clear(&res);
                return -1;
        }
        json_array_foreach (exact_rows(&res), i, row) {
                char code[32];

                trim_copy(text(row, "Code"), code, sizeof(code));
                if (code[0])
                        json_object_set_new(set, code, json_true());
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

int exact_refdata_load_vat(exact_refdata *d, const exact_reader *rd, cx_err *err)
{
        char next[1024] = "";
        int pages = 0;
        json_t *set;

        cx_err_clear(err);
        cx_cache_lock(&divisions);
        set = d->vat;
        cx_cache_unlock(&divisions);
        if (set)
                return 0;
        set = json_object();
        do {
                if (vat_page(d, rd, set, next, sizeof(next), err) < 0) {
                        json_decref(set);
                        return -1;
                }
        } while (next[0] && ++pages < 50);
        cx_cache_lock(&divisions);
        if (!d->vat)
                d->vat = set;
        else
                json_decref(set);
        cx_cache_unlock(&divisions);
        return 0;
}

bool exact_refdata_vat_known(exact_refdata *d, const char *code)
{
        char t[32];
        bool ok;

        trim_copy(code, t, sizeof(t));
        cx_cache_lock(&divisions);
        ok = d->vat && json_object_get(d->vat, t) != NULL;
        cx_cache_unlock(&divisions);
        return ok;
}

int exact_refdata_guid(exact_refdata *d, const exact_reader *rd, exact_ref_kind kind,
                       const char *code, char out[64], cx_err *err)
{
        const char *ep = kind == EXACT_REF_GL_ACCOUNT ? "financial/GLAccounts"
                                                      : "logistics/ItemGroups";
        json_t *cache = kind == EXACT_REF_GL_ACCOUNT ? d->gl : d->groups;
        json_t *v, *row;
        char *q;
        int rc;

        cx_err_clear(err);
        cx_cache_lock(&divisions);
        v = json_object_get(cache, code);
        if (v)
                snprintf(out, 64, "%s", json_is_string(v) ? json_string_value(v) : "");
        cx_cache_unlock(&divisions);
        if (!v) {
                q = exact_filter_eq("Code", code, "ID,Code");
                rc = exact_lookup(rd, ep, q, ep, &row, err);
                free(q);
                if (rc < 0)
                        return -1;
                snprintf(out, 64, "%s", text(row, "ID"));
                json_decref(row);
                cx_cache_lock(&divisions);
                json_object_set_new(cache, code, out[0] ? json_string(out) : json_null());
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
