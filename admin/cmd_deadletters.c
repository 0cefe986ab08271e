#include "admin/cmd_deadletters.h"

#include <stdio.h>

#include "admin/output.h"
#include "common/kafka.h"
#include "ops/ops_deadletters.h"

int cmd_dl_list(cli_inv *in)
{
        cx_err err = { 0 };
        long long limit = 50;
        json_t *r;

        if (cli_opt(in, "--limit") &&
            cli_parse_int(in, cli_opt(in, "--limit"), "--limit", 1, 10000, &limit))
                return OPS_EXIT_USAGE;
        r = ops_deadletter_list(&in->ctx, cli_opt(in, "--tenant"),
                                cli_flag(in, "--all")    ? NULL
                                : cli_opt(in, "--state") ? cli_opt(in, "--state")
                                                         : "open",
                                (int)limit, &err);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_dl_show(cli_inv *in)
{
        cx_err err = { 0 };
        long long id;
        json_t *r;

        if (cli_parse_int(in, in->pos[0], "ID", 1, (long long)1 << 62, &id))
                return OPS_EXIT_USAGE;
        r = ops_deadletter_show(&in->ctx, id, &err);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_dl_redrive(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *ids = json_array(), *done = json_array(), *v;
        cx_producer *prod = NULL;
        int rc = OPS_EXIT_OK;
        size_t i;

        if (in->n_pos == 0 && !cli_opt(in, "--tenant")) {
                json_decref(ids);
                json_decref(done);
                return cli_usage_error(in, "expected %s", "dead letter ids or --tenant TENANT");
        }
        for (int k = 0; k < in->n_pos; k++) {
                long long id;

                if (cli_parse_int(in, in->pos[k], "ID", 1, (long long)1 << 62, &id)) {
                        json_decref(ids);
                        json_decref(done);
                        return OPS_EXIT_USAGE;
                }
                json_array_append_new(ids, json_integer(id));
        }
        if (cli_opt(in, "--tenant")) {
                json_t *open = ops_deadletter_open_ids(&in->ctx, cli_opt(in, "--tenant"), &err);

                if (!open) {
                        rc = cli_fail(in, &err);
                        goto out;
                }
                json_array_extend(ids, open);
                json_decref(open);
        }
        if (!*in->ctx.brokers) {
                cx_fail(&err, CX_ERR_CONFIG, false, "redrive needs Kafka: set CX_KAFKA_BROKERS");
                rc = cli_fail(in, &err);
                goto out;
        }
        prod = cx_producer_new(in->ctx.brokers, NULL, &err);
        if (!prod) {
                rc = cli_fail(in, &err);
                goto out;
        }
        json_array_foreach (ids, i, v) {
                if (ops_deadletter_redrive(&in->ctx, prod, json_integer_value(v), &err) < 0) {
                        rc = cli_fail(in, &err);
                        break;
                }
                json_array_append(done, v);
        }
        if (rc == OPS_EXIT_OK)
                output_emit(in, json_pack("{s:O}", "redriven", done));
        else if (json_array_size(done))
                fprintf(stderr, "%s deadletters redrive: %zu redriven before the failure\n", PROG,
                        json_array_size(done));
out:
        cx_producer_free(prod);
        json_decref(ids);
        json_decref(done);
        return rc;
}

int cmd_dl_drop(cli_inv *in)
{
        cx_err err = { 0 };
        long long id;

        if (cli_parse_int(in, in->pos[0], "ID", 1, (long long)1 << 62, &id))
                return OPS_EXIT_USAGE;
        if (!cli_opt(in, "--reason"))
                return cli_usage_error(in, "expected %s", "--reason TEXT");
        if (ops_deadletter_drop(&in->ctx, id, cli_opt(in, "--reason"), &err) < 0)
                return cli_fail(in, &err);
        return output_emit_ok(in, "dead letter dropped", in->pos[0]);
}
