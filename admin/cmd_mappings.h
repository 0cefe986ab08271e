/* cmd_mappings: connector-admin's mappings commands: import, export, propose. Each runs on a
 * parsed invocation and returns the exit code. */
#ifndef ADMIN_CMD_MAPPINGS_H
#define ADMIN_CMD_MAPPINGS_H

#include "admin/cli.h"

int cmd_mappings_import(cli_inv *in);
int cmd_mappings_export(cli_inv *in);
int cmd_mappings_propose(cli_inv *in);

#endif
