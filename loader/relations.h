/* relations: which relation (crm/Accounts row) in Exact a shop customer is booked on.
 *
 * A customer the ledger does not know yet is first searched in Exact, by the tenant's policy
 * (the command's account.relation, see docs/commands.md): VAT number, then Chamber of
 * Commerce number, then e-mail by default, in one GET. A relation found that way is linked in
 * the ledger and never written to (the accountant owns it); a relation that merely has the
 * code we would use is not adopted. Only relations the loader created itself get PUTs.
 * Codes: posted as the policy says, left out (Exact numbers the relation), or the next free
 * number of a configured range. A collective relation (B2C) must exist and is only read. */
#ifndef LOADER_RELATIONS_H
#define LOADER_RELATIONS_H

#include <stdbool.h>

#include <jansson.h>

#include "loader/run.h"

/**
 * @brief Resolve the command's account @p def to a relation in Exact and put its GUID in
 *        @p guid: from the ledger, by matching, or by creating it; with @p update a relation
 *        the loader created gets a PUT when the definition changed.
 * @param created set when the relation was created just now.
 * @param owned set when the loader may write to the relation (created by it, not matched and
 *        not the collective one): only then may its contact person be created or changed.
 * @returns 0, or -1 with the run's verdict set.
 */
int relation_resolve(run *r, const json_t *def, bool update, char guid[64], bool *created,
                     bool *owned);

#endif
