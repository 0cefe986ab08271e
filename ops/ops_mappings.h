/* ops_mappings: a tenant's mapping rules in the rules-file format (DESIGN.md), stored in
 * mapping_rules.rules. Every rules text is checked by the transformer's own rules module
 * (rules_parse, rules_validate, rules_to_json): there is no second validator. */
#ifndef OPS_MAPPINGS_H
#define OPS_MAPPINGS_H

#include <jansson.h>

#include "ops/ops.h"

/**
 * @brief Check @p text as tenant @p tenant's rules and store it (normalised by
 *        rules_to_json), incrementing the version, in one transaction.
 * @returns {"tenant","version","vat_codes"} (new reference), or NULL: CX_ERR_PARSE when the
 *          rules are malformed or invalid, or name another tenant or division;
 *          CX_ERR_NOT_FOUND for an unknown tenant.
 */
json_t *ops_mapping_import(ops_ctx *ctx, const char *tenant, const char *text, cx_err *err);

/** @brief Only check @p text as @p tenant's rules (nothing stored). @returns 0 or -1. */
int ops_mapping_check(ops_ctx *ctx, const char *tenant, const char *text, cx_err *err);

/**
 * @brief The stored rules (a new reference) and their version in @p version (may be NULL).
 * @returns NULL with CX_ERR_NOT_FOUND when the tenant or its rules do not exist.
 */
json_t *ops_mapping_export(ops_ctx *ctx, const char *tenant, int *version, cx_err *err);

/**
 * @brief Propose rules from @p vat_codes, the rows of Exact's vat/VATCodes (Code,
 *        Description, Percentage as a fraction, Type, VATTransactionType, EUSalesListing,
 *        OssCountry): one code per scenario, class and OSS country, the first of equals, with
 *        a "review" member listing what a person must check. Pure: no I/O.
 * @returns a new rules object (valid for rules_parse unless nothing usable was found) or NULL.
 */
json_t *ops_mapping_propose_from(const char *tenant, long long division, const char *home,
                                 const json_t *vat_codes);

/**
 * @brief Fetch the division's VAT codes from Exact with the tenant's token (refreshed by the
 *        loader's token module when due) and return ops_mapping_propose_from()'s proposal.
 *        Nothing is stored.
 * @returns NULL with CX_ERR_INVALID when the tenant needs a consent, CX_ERR_CONFIG when no
 *          division is set, CX_ERR_HTTP when Exact cannot be asked.
 */
json_t *ops_mapping_propose(ops_ctx *ctx, const char *tenant, cx_err *err);

#endif
