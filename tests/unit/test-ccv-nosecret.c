/* A tenant whose shop secret was never opened (issue 15: the extractor crashed signing for
 * one) is refused before anything is signed or sent, for any number of tenants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccv/client.h"
#include "common/http_client.h"
#include "tests/testlib.h"

#define N_TENANTS 2000

int main(void)
{
        cx_http_client *hc = cx_http_client_new(1000, false);
        ccv_shop *shops = calloc(N_TENANTS, sizeof(*shops));
        int refused = 0;

        T_FATAL(hc && shops, "setup");
        for (int i = 0; i < N_TENANTS; i++) {
                ccv_shop *s = &shops[i];
                json_t *out = NULL;
                double wait = 0;
                cx_err err = { 0 };

                snprintf(s->tenant, sizeof(s->tenant), "shop-%04d", i);
                /* port 9 (discard): a request that got out would fail differently */
                snprintf(s->base, sizeof(s->base), "http://127.0.0.1:9");
                snprintf(s->public_key, sizeof(s->public_key), "pub-%d", i);
                s->get_limit = s->write_limit = 100;
                s->window_s = 1;
                if (i % 2)
                        s->secret = strdup(""); /* empty counts as missing too */
                if (ccv_request(s, hc, "GET", "orders", NULL, &out, &wait, &err) == CCV_FAILED &&
                    err.code == CX_ERR_CONFIG && strstr(err.msg, "no shop secret") &&
                    strstr(err.msg, s->tenant) && !out)
                        refused++;
                ccv_shop_clear(s);
        }
        T_EQ_INT(refused, N_TENANTS);
        free(shops);
        cx_http_client_free(hc);
        return t_done();
}
