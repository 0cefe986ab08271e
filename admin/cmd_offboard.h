/* cmd_offboard: connector-admin's retention and offboarding commands (prune, tenants delete, ledger doubt).
 * Each runs on a parsed invocation and returns the exit code. */
#ifndef ADMIN_CMD_OFFBOARD_H
#define ADMIN_CMD_OFFBOARD_H

#include "admin/cli.h"

int cmd_prune(cli_inv *in);
int cmd_tenants_delete(cli_inv *in);
int cmd_ledger_doubt(cli_inv *in);

#endif
