/* cmd_tenants: connector-admin's tenants commands: settings, secrets, the Exact consent. Each runs
 * on a parsed invocation and returns the exit code. */
#ifndef ADMIN_CMD_TENANTS_H
#define ADMIN_CMD_TENANTS_H

#include "admin/cli.h"

int cmd_tenants_add(cli_inv *in);
int cmd_tenants_update(cli_inv *in);
int cmd_tenants_list(cli_inv *in);
int cmd_tenants_show(cli_inv *in);
int cmd_tenants_enable(cli_inv *in);
int cmd_tenants_credentials(cli_inv *in);
int cmd_tenants_consent_url(cli_inv *in);
int cmd_tenants_consent_complete(cli_inv *in);
int cmd_tenants_exchange_code(cli_inv *in);

#endif
