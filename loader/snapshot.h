/* snapshot: the administration's items and relations, kept in PostgreSQL so that the look-up
 * before a write costs no call to Exact (issue 15).
 *
 * The first use for a division reads every item or relation through Exact's sync endpoint
 * (pages of 1000, from Timestamp 1); afterwards, at most every CX_LOADER_SNAPSHOT_REFRESH_S,
 * one call reads what changed since the highest Timestamp seen. The loader's own creates and
 * PUTs are written in as they happen. A look-up after a write in doubt still asks Exact: the
 * snapshot cannot know about a write whose answer was lost. Deletions in Exact are not seen
 * (sync/Deleted is not read): a deleted relation stays a candidate until the tenant's snapshot
 * is dropped. */
#ifndef LOADER_SNAPSHOT_H
#define LOADER_SNAPSHOT_H

#include <stdbool.h>

#include <jansson.h>

#include "loader/run.h"

/** @brief Whether the look-ups of this loader read the snapshot (CX_LOADER_SNAPSHOT). */
bool snapshot_on(const run *r);

/**
 * @brief The GUID of the item with code @p code in the snapshot ("" when none), refreshed
 *        first when due. @returns 0, or -1 with the verdict set.
 */
int snapshot_item(run *r, const char *code, char guid[64]);

/**
 * @brief The relations whose Code, VATNumber, ChamberOfCommerce, Email or Name equals the
 *        value given for it (NULL or "": not compared), as rows like a crm/Accounts GET with
 *        ID,Code,Name,Email,VATNumber,ChamberOfCommerce,Postcode,Blocked would give.
 * @returns 0 with @p rows (a new array), or -1 with the verdict set.
 */
int snapshot_accounts(run *r, const char *code, const char *vat, const char *coc, const char *email,
                      const char *name, json_t **rows);

/** @brief Write in an item the loader created or adopted (failures only logged). */
void snapshot_put_item(run *r, const char *guid, const char *code);

/** @brief Write in a relation the loader created or changed: @p row as in snapshot_accounts. */
void snapshot_put_account(run *r, const json_t *row);

#endif
