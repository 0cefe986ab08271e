/* refdata: reference data of one Exact division, cached, and following Exact.
 *
 * The VAT codes are listed per division (vat/VATCodes, page by page: one GET for the usual
 * few dozen codes) with their percentage and type; item groups and G/L accounts are looked
 * up by code on first use. Entries expire after a TTL, and a code missing in Exact is
 * re-read once the miss is older than a short negative TTL, so a code the user creates in
 * Exact is seen by the next command (a redrive) without a restart. Reads go through the
 * caller's exact_reader, so they count against its budget like any other call. */
#ifndef EXACT_REFDATA_H
#define EXACT_REFDATA_H

#include <stdbool.h>

#include "common/error.h"
#include "exact/api.h"

typedef struct exact_refdata exact_refdata;

typedef enum exact_ref_kind {
        EXACT_REF_ITEM_GROUP, /**< logistics/ItemGroups */
        EXACT_REF_GL_ACCOUNT, /**< financial/GLAccounts */
} exact_ref_kind;

/** One VAT code as Exact lists it. */
typedef struct exact_vat_code {
        char code[8];        /**< trimmed */
        double percentage;   /**< fraction, 0.21 */
        char type[4];        /**< B 0%, E excluding, I including, N no VAT */
        char transaction[4]; /**< B both, P purchase, S sales */
        bool blocked;
} exact_vat_code;

/**
 * @brief How long entries live (@p ttl_ms, hits and the VAT list) and after how long a miss
 *        is read again (@p miss_ttl_ms). Defaults 1 h and 30 s; call before the workers start.
 */
void exact_refdata_configure(long long ttl_ms, long long miss_ttl_ms);

/**
 * @brief The cached data of @p division at @p base_url, created empty on first use. It lives
 *        until exact_refdata_free_all(). @returns NULL when out of memory.
 */
exact_refdata *exact_refdata_get(const char *base_url, long division);

/**
 * @brief List the division's VAT codes unless a list younger than the TTL is cached.
 * @returns 0, or -1 with @p err as exact_lookup() fills it.
 */
int exact_refdata_load_vat(exact_refdata *d, const exact_reader *rd, cx_err *err);

/**
 * @brief The VAT code @p code (blanks around it do not count) into @p out. Not in the list:
 *        the list is read again first when it is older than the negative TTL.
 * @returns 1 found, 0 not in the division, -1 with @p err when the list could not be read.
 */
int exact_refdata_vat(exact_refdata *d, const exact_reader *rd, const char *code,
                      exact_vat_code *out, cx_err *err);

/**
 * @brief The GUID of the item group or G/L account with @p code, into @p out.
 * @returns 0, or -1 with @p err as exact_lookup() fills it, or CX_ERR_NOT_FOUND (not
 *          retriable) when the division has no such code.
 */
int exact_refdata_guid(exact_refdata *d, const exact_reader *rd, exact_ref_kind kind,
                       const char *code, char out[64], cx_err *err);

/** @brief Free every division's data (at exit). */
void exact_refdata_free_all(void);

#endif
