/* addresses: the delivery address of a document, a crm/Addresses row of Type 4 on the
 * document's account, made to exist in Exact exactly once.
 *
 * The command carries the address as an object (docs/commands.md, `DeliveryAddress` of an
 * order, `DeliverToAddress` of an invoice); its ledger key is the account code and a hash
 * of the object, so the same ship-to on a later order costs no call. Exact answers a POST
 * of an address it has already with that address (research note §3), and after a write in
 * doubt the loader looks the address up before posting again. */
#ifndef LOADER_ADDRESSES_H
#define LOADER_ADDRESSES_H

#include <jansson.h>

#include "loader/run.h"

/**
 * @brief The GUID of the delivery address @p def (crm/Addresses fields without Account)
 *        of account @p acc_code (@p acc_guid in Exact), created when missing.
 * @returns 0 with @p guid, or -1 with the run's verdict set.
 */
int address_ensure(run *r, const char *acc_code, const char *acc_guid, const json_t *def,
                   char guid[64]);

#endif
