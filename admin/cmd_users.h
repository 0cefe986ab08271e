/* cmd_users: connector-admin's users command: the control panel's users (ops/ops_users.h).
 * Runs on a parsed invocation and returns the exit code. */
#ifndef ADMIN_CMD_USERS_H
#define ADMIN_CMD_USERS_H

#include "admin/cli.h"

int cmd_users_add(cli_inv *in);

#endif
