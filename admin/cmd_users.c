#include "admin/cmd_users.h"

#include "admin/input.h"
#include "admin/output.h"
#include "ops/ops_users.h"

/* users add NAME --role operator|owner [--tenant T] < password: create a panel user or reset
 * one (password, role, tenant; its sessions end). */
int cmd_users_add(cli_inv *in)
{
        const char *role = cli_opt(in, "--role");
        cx_err err = { 0 };
        char *pw;
        int rc;

        if (!role)
                return cli_usage_error(in, "expected %s", "--role operator|owner");
        if (ops_auth_init(&err) < 0)
                return cli_fail(in, &err);
        pw = input_first_line(OPS_MAX_PASSWORD, &err);
        rc = pw ? ops_user_set(in->ctx.db, in->pos[0], role, cli_opt(in, "--tenant"), pw, &err)
                : -1;
        input_free_secret(pw);
        ops_auth_cleanup();
        return rc < 0 ? cli_fail(in, &err) : output_emit_ok(in, "panel user saved", in->pos[0]);
}
