/* sign.c: the CCV Shop request signature (see sign.h). */
#include "ccv/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

void ccv_sign(const char *public_key, const char *secret, const char *method, const char *uri,
              const char *body, size_t body_len, const char *date, char out[129])
{
        size_t len = strlen(public_key) + strlen(method) + strlen(uri) + body_len + strlen(date) +
                     8;
        char *msg = malloc(len);
        int n;

        if (!msg) {
                out[0] = '\0';
                return;
        }
        n = snprintf(msg, len, "%s|%s|%s|", public_key, method, uri);
        if (body_len)
                memcpy(msg + n, body, body_len);
        n += (int)body_len;
        n += snprintf(msg + n, len - (size_t)n, "|%s", date);
        cx_hmac_sha512_hex(secret, msg, (size_t)n, out);
        free(msg);
}
