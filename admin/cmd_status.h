/* cmd_status: connector-admin's status and replay commands. Each runs on a parsed invocation and
 * returns the exit code. */
#ifndef ADMIN_CMD_STATUS_H
#define ADMIN_CMD_STATUS_H

#include "admin/cli.h"

int cmd_status(cli_inv *in);
int cmd_replay_offsets(cli_inv *in);
int cmd_replay_extract(cli_inv *in);

#endif
