/* cmd_keys: connector-admin's key commands: rotate-key, seal. Each runs on a parsed invocation and
 * returns the exit code. */
#ifndef ADMIN_CMD_KEYS_H
#define ADMIN_CMD_KEYS_H

#include "admin/cli.h"

int cmd_rotate_key(cli_inv *in);
int cmd_seal(cli_inv *in);

#endif
