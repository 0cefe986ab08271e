/* cmd_deadletters: connector-admin's deadletters commands: list, show, redrive, drop. Each runs on
 * a parsed invocation and returns the exit code. */
#ifndef ADMIN_CMD_DEADLETTERS_H
#define ADMIN_CMD_DEADLETTERS_H

#include "admin/cli.h"

int cmd_dl_list(cli_inv *in);
int cmd_dl_show(cli_inv *in);
int cmd_dl_redrive(cli_inv *in);
int cmd_dl_drop(cli_inv *in);

#endif
