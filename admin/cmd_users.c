#include "admin/cmd_users.h"

#include "admin/input.h"
#include "admin/output.h"
#include "ops/ops_users.h"

/* users add NAME --role operator|owner [--tenant T] [--email A] < password: create a panel
 * user or reset one (password, role, tenant; its sessions end), and set its e-mail address. */
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
        /* the address is checked before anything is saved */
        pw = cli_opt(in, "--email") && ops_check_email(cli_opt(in, "--email"), &err) < 0
                     ? NULL
                     : input_first_line(OPS_MAX_PASSWORD, &err);
        rc = pw ? ops_user_set(in->ctx.db, in->pos[0], role, cli_opt(in, "--tenant"), pw, &err)
                : -1;
        if (rc == 0 && cli_opt(in, "--email"))
                rc = ops_user_set_email(in->ctx.db, in->pos[0], cli_opt(in, "--email"), &err);
        input_free_secret(pw);
        ops_auth_cleanup();
        return rc < 0 ? cli_fail(in, &err) : output_emit_ok(in, "panel user saved", in->pos[0]);
}
