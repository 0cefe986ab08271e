/* vies_service: see vies_service.h. */
#include "taxstate/vies_service.h"

#include <string.h>

#include "common/log.h"
#include "taxstate/vies_store.h"
#include "vat/vat_number.h"

/* The requester as VIES wants it: the rules' own number, normalised (or ""). */
static void requester_of(const rules *r, char *out, size_t size)
{
        const char *own = rules_vies_requester(r);

        out[0] = '\0';
        if (own && vat_number_check(own, out, size) != VAT_NUMBER_VALID)
                out[0] = '\0';
}

int vies_service_lookup(void *service, const rules *r, const char *vat_number, vies_answer *out)
{
        vies_service *s = service;
        char requester[48], cc[3] = "", number[40];
        bool hit = false, config_error = false;
        cx_err err = { 0 };

        requester_of(r, requester, sizeof(requester));
        if (vies_cache_get(s->db, vat_number, requester, out, &hit, &err) != 0) {
                cx_log(CX_LOG_WARN, "vies.cache_failed", "%s", err.msg);
                return -1;
        }
        if (hit) {
                s->hits++;
                return 0;
        }
        if (!s->client)
                return 0; /* the preview: not asked yet */
        vies_split(vat_number, cc, number, sizeof(number));
        if (!vies_limiter_take(&s->limiter, cc, s->limit_wait_ms)) {
                out->state = VIES_UNAVAILABLE;
                snprintf(out->error, sizeof(out->error), "RATE_LIMITED");
                return 0;
        }
        s->calls++;
        vies_client_check(s->client, vat_number, requester[0] ? requester : NULL, out,
                          &config_error);
        if (config_error)
                /* a retry cannot cure these: an operator has to look (research §4) */
                cx_log(CX_LOG_ERROR, "vies.config_error",
                       "VIES refused the question for %s as %s: check the rules' vat_number "
                       "and this host's access to VIES",
                       vat_number, out->error);
        if (out->state == VIES_VALID || out->state == VIES_INVALID) {
                if (vies_cache_put(s->db, requester, out,
                                   out->state == VIES_VALID ? s->valid_ttl_s : s->invalid_ttl_s,
                                   &err) != 0) {
                        cx_log(CX_LOG_WARN, "vies.cache_failed", "%s", err.msg);
                        return -1;
                }
        }
        return 0;
}
