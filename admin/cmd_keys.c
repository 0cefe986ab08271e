#include "admin/cmd_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/input.h"
#include "admin/output.h"
#include "common/config.h"
#include "ops/ops_keys.h"

extern char **environ;

int cmd_rotate_key(cli_inv *in)
{
        unsigned char key[CX_KEY_LEN];
        cx_err err = { 0 };
        char *text;
        json_t *r;

        if (!cli_opt(in, "--new-key-file"))
                return cli_usage_error(in, "expected %s", "--new-key-file FILE (or - for stdin)");
        text = input_secret(cli_opt(in, "--new-key-file"), &err);
        if (!text)
                return cli_fail(in, &err);
        if (cx_key_parse(text, key, &err) < 0) {
                input_free_secret(text);
                return cli_fail(in, &err);
        }
        input_free_secret(text);
        r = ops_rotate_key(&in->ctx, key, &err);
        memset(key, 0, sizeof(key));
        if (r && !in->json)
                fprintf(stderr,
                        "%s rotate-key: now set CX_SECRET_KEY to the new key in every "
                        "service and restart them\n",
                        PROG);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

/* seal TENANT < secret: the sealed text for a column of TENANT's row, for set-up scripts. Only
 * CX_SECRET_KEY is read: no database, no other settings. */
int cmd_seal(cli_inv *in)
{
        const char *keytext = cx_config_lookup(environ, "CX_SECRET_KEY");
        unsigned char key[CX_KEY_LEN];
        cx_err err = { 0 };
        char *secret, *sealed;

        if (!keytext || !*keytext)
                cx_fail(&err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
        if (err.code != CX_OK || cx_key_parse(keytext, key, &err) < 0)
                return cli_fail(in, &err);
        secret = input_secret("-", &err);
        sealed = secret ? cx_secret_seal(key, in->pos[0], secret, &err) : NULL;
        input_free_secret(secret);
        memset(key, 0, sizeof(key));
        if (!sealed)
                return cli_fail(in, &err);
        if (in->json)
                output_emit(in, json_pack("{s:s, s:s}", "tenant", in->pos[0], "sealed", sealed));
        else
                printf("%s\n", sealed);
        free(sealed);
        return OPS_EXIT_OK;
}
