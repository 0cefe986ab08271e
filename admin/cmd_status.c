#include "admin/cmd_status.h"

#include <stdio.h>

#include "admin/output.h"
#include "common/config.h"
#include "ops/ops_replay.h"
#include "ops/ops_status.h"

int cmd_status(cli_inv *in)
{
        cx_err err = { 0 };
        long long n = 5;
        json_t *r;

        if (cli_opt(in, "--failures") &&
            cli_parse_int(in, cli_opt(in, "--failures"), "--failures", 0, 1000, &n))
                return OPS_EXIT_USAGE;
        r = ops_status(&in->ctx, in->n_pos ? in->pos[0] : NULL, (int)n, &err);
        if (r && !in->json && json_is_array(r)) {
                /* several tenants: one block each, not a table */
                size_t i;
                json_t *t;

                json_array_foreach (r, i, t) {
                        output_human(stdout, t, 0);
                        fputc('\n', stdout);
                }
                json_decref(r);
                return OPS_EXIT_OK;
        }
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_replay_offsets(cli_inv *in)
{
        const char *group = cli_opt(in, "--group"), *topic = cli_opt(in, "--topic"),
                   *to = cli_opt(in, "--to");
        char full[256];
        long long epoch;
        cx_err err = { 0 };
        json_t *r;

        if (!group || !topic || !to)
                return cli_usage_error(in, "expected %s", "--group, --topic and --to");
        if (ops_parse_time(to, &epoch, NULL, &err) < 0)
                return cli_fail(in, &err);
        snprintf(full, sizeof(full), "%s%s", cx_config_str(in->cfg, "CX_TOPIC_PREFIX"), topic);
        r = ops_replay_offsets(&in->ctx, group, full, epoch * 1000, cli_flag(in, "--dry-run"),
                               &err);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_replay_extract(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *r;

        if (!cli_opt(in, "--from"))
                return cli_usage_error(in, "expected %s", "--from DATE");
        r = ops_replay_extract(&in->ctx, in->pos[0], cli_opt(in, "--from"), &err);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}
