/* refdata: reference data of one Exact division, cached for the life of the process.
 *
 * The VAT codes are listed once per division (vat/VATCodes, page by page); item groups and
 * G/L accounts are looked up by code on first use. A code missing in Exact is remembered as
 * missing until the process restarts. Reads go through the caller's exact_reader, so they
 * count against its budget like any other call. */
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

/**
 * @brief The cached data of @p division at @p base_url, created empty on first use. It lives
 *        until exact_refdata_free_all(). @returns NULL when out of memory.
 */
exact_refdata *exact_refdata_get(const char *base_url, long division);

/**
 * @brief List the division's VAT codes unless that was done already.
 * @returns 0, or -1 with @p err as exact_lookup() fills it.
 */
int exact_refdata_load_vat(exact_refdata *d, const exact_reader *rd, cx_err *err);

/** @brief Is @p code (blanks around it do not count) one of the listed VAT codes? */
bool exact_refdata_vat_known(exact_refdata *d, const char *code);

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
