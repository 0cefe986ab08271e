/* json_fast: the JSON reader and writer on the transformer's hot path. Both give exactly
 * jansson's answer (the same tree, the same bytes) and hand anything unusual back to jansson
 * itself; they are only faster on the plain documents shops send and the builders make. */
#ifndef BOOKING_JSON_FAST_H
#define BOOKING_JSON_FAST_H

#include <jansson.h>
#include <stddef.h>

/* Serialises with the flags every producer must use (compact, 15 significant digits for
 * reals, so amounts print as written). Caller frees. */
char *booking_dumps(const json_t *j);

/* json_loadb(text, len, flags, error), faster on the plain documents shops send: the same
 * tree (member order, integers vs reals, string bytes), and for anything unusual or malformed
 * jansson's own result and error. flags other than JSON_REJECT_DUPLICATES go straight to
 * jansson. NULL with error filled in on malformed input. */
json_t *booking_loadb(const char *text, size_t len, size_t flags, json_error_t *error);

/* "sha256:<hex>" of the compact serialisation of j (members in the order the builders
 * add them, which is fixed) into out[72]. Returns 0, or -1 on allocation failure. */
int booking_content_hash(const json_t *j, char out[72]);

#define BOOKING_HASHED_MAX 8

/* What booking_dumps prints for the object e with a last member "content_hash" added: the
 * booking_content_hash of the object made of e's members named in keys (at most
 * BOOKING_HASHED_MAX, in that order, absent ones left out), from one serialisation of e.
 * Caller frees; NULL when unsure (the caller then takes the long way, which also decides
 * what happens on failure). */
char *booking_dumps_hashed(const json_t *e, const char *const keys[], size_t n_keys);

#endif
