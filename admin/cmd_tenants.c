#include "admin/cmd_tenants.h"

#include <stdio.h>
#include <string.h>

#include "admin/input.h"
#include "admin/output.h"
#include "ops/ops_tenants.h"

static void tenant_fields(const cli_inv *in, ops_tenant_fields *f)
{
        memset(f, 0, sizeof(*f));
        f->name = cli_opt(in, "--name");
        f->shop_base_url = cli_opt(in, "--shop-url");
        f->shop_public_key = cli_opt(in, "--shop-public-key");
        f->exact_base_url = cli_opt(in, "--exact-url");
        f->exact_division = cli_opt(in, "--division");
        f->exact_client_id = cli_opt(in, "--exact-client-id");
        f->exact_redirect_uri = cli_opt(in, "--redirect-uri");
        f->extract_from = cli_opt(in, "--extract-from");
        f->sync_entities = cli_opt(in, "--entities");
        f->require_paid = cli_opt(in, "--require-paid");
}

/* Read the secrets named by --shop-secret-file / --exact-secret-file. */
static int tenant_secrets(const cli_inv *in, char **shop, char **exact, cx_err *err)
{
        const char *sf = cli_opt(in, "--shop-secret-file");
        const char *ef = cli_opt(in, "--exact-secret-file");

        *shop = *exact = NULL;
        if (sf && ef && !strcmp(sf, "-") && !strcmp(ef, "-"))
                return cx_fail(err, CX_ERR_PARSE, false,
                               "only one secret can come from stdin; give the other as a file");
        if (sf && !(*shop = input_secret(sf, err)))
                return -1;
        if (ef && !(*exact = input_secret(ef, err))) {
                input_free_secret(*shop);
                *shop = NULL;
                return -1;
        }
        return 0;
}

int cmd_tenants_add(cli_inv *in)
{
        ops_tenant_fields f;
        char *shop, *exact;
        cx_err err = { 0 };
        int rc;

        tenant_fields(in, &f);
        if (tenant_secrets(in, &shop, &exact, &err) < 0)
                return cli_fail(in, &err);
        rc = ops_tenant_add(&in->ctx, in->pos[0], &f, !cli_flag(in, "--disabled"), shop, exact,
                            &err);
        input_free_secret(shop);
        input_free_secret(exact);
        return rc < 0 ? cli_fail(in, &err) : output_emit_ok(in, "tenant added", in->pos[0]);
}

int cmd_tenants_update(cli_inv *in)
{
        ops_tenant_fields f;
        cx_err err = { 0 };

        tenant_fields(in, &f);
        if (ops_tenant_update(&in->ctx, in->pos[0], &f, &err) < 0)
                return cli_fail(in, &err);
        return output_emit_ok(in, "tenant updated", in->pos[0]);
}

int cmd_tenants_list(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_tenant_list(&in->ctx, &err);

        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_tenants_show(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_tenant_show(&in->ctx, in->pos[0], &err);

        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_tenants_enable(cli_inv *in)
{
        cx_err err = { 0 };
        bool on = !strcmp(in->cmd->name, "enable");

        if (ops_tenant_set_enabled(&in->ctx, in->pos[0], on, &err) < 0)
                return cli_fail(in, &err);
        return output_emit_ok(in, on ? "tenant enabled" : "tenant disabled", in->pos[0]);
}

/* --webhook-key-file: the shop's webhook key, for webhooks made by hand in the shop. */
static int tenant_webhook_key(cli_inv *in, cx_err *err)
{
        const char *wf = cli_opt(in, "--webhook-key-file");
        char *key;
        int rc;

        if (!wf)
                return 0;
        if ((cli_opt(in, "--shop-secret-file") && !strcmp(cli_opt(in, "--shop-secret-file"), "-") &&
             !strcmp(wf, "-")) ||
            (cli_opt(in, "--exact-secret-file") &&
             !strcmp(cli_opt(in, "--exact-secret-file"), "-") && !strcmp(wf, "-")))
                return cx_fail(err, CX_ERR_PARSE, false,
                               "only one secret can come from stdin; give the other as a file");
        key = input_secret(wf, err);
        if (!key)
                return -1;
        rc = ops_tenant_set_webhook_key(&in->ctx, in->pos[0], key, err);
        input_free_secret(key);
        return rc;
}

int cmd_tenants_credentials(cli_inv *in)
{
        char *shop, *exact;
        cx_err err = { 0 };
        int rc = 0;

        if (!cli_opt(in, "--shop-secret-file") && !cli_opt(in, "--exact-secret-file") &&
            !cli_opt(in, "--webhook-key-file"))
                return cli_usage_error(in, "expected %s",
                                       "--shop-secret-file, --exact-secret-file and/or "
                                       "--webhook-key-file (a path, or - for stdin)");
        if (tenant_webhook_key(in, &err) < 0)
                return cli_fail(in, &err);
        if (!cli_opt(in, "--shop-secret-file") && !cli_opt(in, "--exact-secret-file"))
                return output_emit_ok(in, "credentials stored sealed", in->pos[0]);
        if (tenant_secrets(in, &shop, &exact, &err) < 0)
                return cli_fail(in, &err);
        rc = ops_tenant_set_credentials(&in->ctx, in->pos[0], shop, exact, &err);
        input_free_secret(shop);
        input_free_secret(exact);
        return rc < 0 ? cli_fail(in, &err)
                      : output_emit_ok(in, "credentials stored sealed", in->pos[0]);
}

int cmd_tenants_consent_url(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_consent_start(&in->ctx, in->pos[0], &err);

        return r ? output_emit(in, r) : cli_fail(in, &err);
}

int cmd_tenants_consent_complete(cli_inv *in)
{
        cx_err err = { 0 };

        if (ops_consent_complete(&in->ctx, in->pos[0], in->pos[1], cli_opt(in, "--state"), &err) <
            0)
                return cli_fail(in, &err);
        return output_emit_ok(in, "Exact tokens stored sealed; token state ok", in->pos[0]);
}

/* For set-up scripts and tests that hold a code without a consent started here. */
int cmd_tenants_exchange_code(cli_inv *in)
{
        cx_err err = { 0 };

        if (ops_exchange_code(&in->ctx, in->pos[0], in->pos[1], &err) < 0)
                return cli_fail(in, &err);
        printf("{\"tenant\":\"%s\",\"state\":\"ok\"}\n", in->pos[0]);
        return OPS_EXIT_OK;
}
