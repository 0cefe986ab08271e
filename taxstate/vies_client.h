/* vies_client: one question to the EU's VIES service in its REST form, POST
 * {base}/check-vat-number with the requester (the tenant's own number) so that the answer
 * carries a consultation number. Shapes: docs/research/vies.md §2-§4. */
#ifndef TAXSTATE_VIES_CLIENT_H
#define TAXSTATE_VIES_CLIENT_H

#include <stdbool.h>

#include "booking/vies_policy.h"

typedef struct vies_client vies_client;

/* A client for @p base_url (e.g. https://ec.europa.eu/taxation_customs/vies/rest-api), each
 * call bounded by @p timeout_ms. NULL when out of memory. */
vies_client *vies_client_new(const char *base_url, long timeout_ms);
void vies_client_free(vies_client *c);

/* Asks about @p vat_number (normalised, with prefix) on behalf of @p requester (or NULL).
 * Fills @p a: VALID or INVALID when VIES answered about the number, otherwise UNAVAILABLE
 * with VIES's code in a->error (TIMEOUT for a call that ran out of time, TRANSPORT for no
 * HTTP answer, BAD_RESPONSE for a reply that is no answer). *config_error is set for the
 * codes that a retry cannot cure (INVALID_REQUESTER_INFO, IP_BLOCKED, INVALID_INPUT). */
void vies_client_check(vies_client *c, const char *vat_number, const char *requester,
                       vies_answer *a, bool *config_error);

#endif
