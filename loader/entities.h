/* entities: the master data a document refers to (accounts with their contact person, and
 * items), made to exist in Exact exactly once.
 *
 * An entity missing from the ledger is looked up by its natural key first (it may exist in
 * Exact already, or from a write in doubt) and created only when it is not found. With
 * `update` (the account_upsert and item_upsert commands) an existing entity whose
 * definition changed since it was written gets a PUT. */
#ifndef LOADER_ENTITIES_H
#define LOADER_ENTITIES_H

#include <stdbool.h>

#include <jansson.h>

#include "exact/refdata.h"
#include "loader/run.h"

/**
 * @brief The command's account @p def (created if missing, PUT when @p update and changed),
 *        then its contact person; the account's GUID into @p guid.
 * @returns 0, or -1 with the run's verdict set.
 */
int entity_account(run *r, const json_t *def, bool update, char guid[64]);

/** @brief The same for item @p def; its item group code is resolved through @p rd. */
int entity_item(run *r, exact_refdata *rd, const json_t *def, bool update, char guid[64]);

/**
 * @brief An item a line uses that the command does not define (shipping, discount): it
 *        must exist already. @returns 0 with its GUID, or -1 with the verdict set.
 */
int entity_known_item(run *r, const char *code, char guid[64]);

/**
 * @brief Whether the run failed because Exact answered a POST with "Already exists: Code"
 *        (the entity is there: look it up and use it instead of failing).
 */
bool entity_code_exists(const run *r);

#endif
