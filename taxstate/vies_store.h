/* vies_store: the VIES tables of migration 0011 (vies_cache, vies_consultations,
 * vies_pending). */
#ifndef TAXSTATE_VIES_STORE_H
#define TAXSTATE_VIES_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "booking/vies_policy.h"
#include "common/db.h"
#include "common/error.h"

/* A cached answer for (number, requester) that has not expired: 0 with *hit set (and @p a
 * filled, from_cache true), or -1 on a database error. */
int vies_cache_get(cx_db *db, const char *vat_number, const char *requester, vies_answer *a,
                   bool *hit, cx_err *err);
/* Keeps an answer about the number (valid or invalid) for @p ttl_s seconds. */
int vies_cache_put(cx_db *db, const char *requester, const vies_answer *a, long ttl_s, cx_err *err);

/* The consultation behind order @p source_id (replaces an older one of the same order). */
int vies_consultation_put(cx_db *db, const char *tenant, const char *source_id,
                          const vies_answer *a, const char *policy, cx_err *err);

/* The consultation of order @p source_id about @p vat_number when VIES could not answer it
 * (outcome unavailable): 0 with *hit set and @p a filled, or -1. */
int vies_consultation_unavailable(cx_db *db, const char *tenant, const char *source_id,
                                  const char *vat_number, vies_answer *a, bool *hit, cx_err *err);

/* Queues order @p source_id: action "hold" (with the shop event's topic and bytes) or
 * "recheck". */
int vies_pending_put(cx_db *db, const char *tenant, const char *source_id, const char *action,
                     const char *vat_number, const char *topic, const void *payload, size_t len,
                     cx_err *err);

typedef struct vies_pending_row {
        char tenant[128], source_id[64], action[16], vat_number[48], topic[160];
        unsigned char *payload; /* malloc'd (hold), or NULL */
        size_t len;
        int attempts;
} vies_pending_row;

/* Claims up to @p max rows that are due (for a minute: another process skips them): a
 * malloc'd array in *rows (free with vies_pending_free). Returns the count, or -1. */
int vies_pending_due(cx_db *db, int max, vies_pending_row **rows, cx_err *err);
void vies_pending_free(vies_pending_row *rows, int n);
/* Done with a row (it is deleted), or asked again in @p delay_s seconds with @p why. */
int vies_pending_done(cx_db *db, const vies_pending_row *row, cx_err *err);
int vies_pending_later(cx_db *db, const vies_pending_row *row, long delay_s, const char *why,
                       cx_err *err);

#endif
