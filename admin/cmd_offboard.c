#include "admin/cmd_offboard.h"

#include <stdlib.h>

#include "admin/input.h"
#include "admin/output.h"
#include "common/config.h"
#include "ops/ops_offboard.h"

/* --NAME N, or the configuration's default VAR. */
static int days_opt(cli_inv *in, const char *name, const char *var, int *out)
{
        long long v = cx_config_int(in->cfg, var);

        if (cli_opt(in, name) && cli_parse_int(in, cli_opt(in, name), name, 0, 36500, &v))
                return -1;
        *out = (int)v;
        return 0;
}

int cmd_prune(cli_inv *in)
{
        cx_retention r = { 0 };
        cx_err err = { 0 };
        json_t *res;

        if (days_opt(in, "--sync-log-days", "CX_RETENTION_SYNC_LOG_DAYS", &r.sync_log_days) < 0 ||
            days_opt(in, "--dead-letter-days", "CX_RETENTION_DEAD_LETTER_DAYS",
                     &r.dead_letter_days) < 0)
                return OPS_EXIT_USAGE;
        r.dry_run = cli_flag(in, "--dry-run");
        res = ops_prune(&in->ctx, &r, &err);
        return res ? output_emit(in, res) : cli_fail(in, &err);
}

int cmd_tenants_delete(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *res = ops_tenant_delete(&in->ctx, in->pos[0], cli_flag(in, "--dry-run"), &err);

        return res ? output_emit(in, res) : cli_fail(in, &err);
}

int cmd_ledger_doubt(cli_inv *in)
{
        cx_err err = { 0 };
        char *text = input_text("-", &err);
        json_t *res;

        if (!text)
                return cli_fail(in, &err);
        res = ops_ledger_doubt(&in->ctx, in->pos[0],
                               cli_opt(in, "--kind") ? cli_opt(in, "--kind") : "sales_order", text,
                               &err);
        free(text);
        return res ? output_emit(in, res) : cli_fail(in, &err);
}
