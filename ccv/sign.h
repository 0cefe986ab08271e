/* sign.h: the CCV Shop request signature (spec 1.2, 1.4).
 *
 * x-hash = HMAC-SHA512(secret, "public|METHOD|uri|body|x-date") where uri is the path and
 * query as sent. Responses with 2xx carry x-date and x-hash computed the same way over the
 * response body, with the request's method and uri. */
#ifndef CX_CCV_SIGN_H
#define CX_CCV_SIGN_H

#include <stddef.h>

/**
 * @brief The signature of one request or response as 128 hex characters in @p out
 *        ("" when out of memory). @p body need not be NUL-terminated.
 */
void ccv_sign(const char *public_key, const char *secret, const char *method, const char *uri,
              const char *body, size_t body_len, const char *date, char out[129]);

#endif
