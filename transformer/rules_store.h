/* rules_store: each tenant's mapping rules as stored in PostgreSQL (mapping_rules, in the
 * rules-file format), parsed once and re-read when their version changes, so an edit made
 * through the admin command or the control panel applies to the next message without a
 * restart. Also the year-to-date intra-EU B2C sales that drive the auto OSS mode. */
#ifndef TRANSFORMER_RULES_STORE_H
#define TRANSFORMER_RULES_STORE_H

#include "common/db.h"
#include "booking/rules.h"

typedef struct rules_store rules_store;

rules_store *rules_store_new(cx_db *db, int refresh_ms);
void rules_store_free(rules_store *s);

/**
 * @brief The rules of @p tenant (owned by the store, valid until the next call), or NULL with
 *        a reason a person can act on in @p why: unknown tenant, disabled tenant, no rules
 *        imported, stored rules that no longer validate. A database error returns NULL with
 *        @p err set (retriable) and @p why empty.
 */
const rules *rules_store_get(rules_store *s, const char *tenant, char *why, size_t why_size,
                             cx_err *err);

/** @brief Intra-EU B2C net of @p year so far, excluding order @p source_id. */
int rules_store_oss_ytd(rules_store *s, const char *tenant, int year, const char *source_id,
                        long long *cents, cx_err *err);

/** @brief Count order @p source_id towards the threshold (idempotent per order). */
int rules_store_oss_add(rules_store *s, const char *tenant, int year, const char *source_id,
                        long long cents, cx_err *err);

#endif
