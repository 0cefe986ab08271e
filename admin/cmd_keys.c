#include "admin/cmd_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/input.h"
#include "admin/output.h"
#include "common/config.h"
#include "ops/ops_keys.h"

extern char **environ;

/* rotate-key [--new-key-file F]: re-seal every secret with the first key of CX_SECRET_KEY,
 * or with the key in F (the old way: CX_SECRET_KEY then has to become that key). */
int cmd_rotate_key(cli_inv *in)
{
        unsigned char key[CX_KEY_LEN];
        cx_keyring *to = NULL;
        cx_err err = { 0 };
        char *text;
        json_t *r;

        if (ops_need_key(&in->ctx, &err) < 0)
                return cli_fail(in, &err);
        if (cli_opt(in, "--new-key-file")) {
                text = input_secret(cli_opt(in, "--new-key-file"), &err);
                if (!text)
                        return cli_fail(in, &err);
                if (cx_key_parse(text, key, &err) == 0)
                        to = cx_keyring_with_first(key, in->ctx.key, &err);
                input_free_secret(text);
                memset(key, 0, sizeof(key));
                if (!to)
                        return cli_fail(in, &err);
        }
        r = ops_rotate_key(&in->ctx, to ? to : in->ctx.key, &err);
        if (r && to && !in->json)
                fprintf(stderr,
                        "%s rotate-key: put the new key first in CX_SECRET_KEY of every "
                        "service (keep the old one after it until they all run with it)\n",
                        PROG);
        cx_keyring_free(to);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

/* seal TENANT < secret: the sealed text for a column of TENANT's row, for set-up scripts. Only
 * CX_SECRET_KEY is read: no database, no other settings. */
int cmd_seal(cli_inv *in)
{
        const char *keytext = cx_config_lookup(environ, "CX_SECRET_KEY");
        cx_keyring *keys = NULL;
        cx_err err = { 0 };
        char *secret, *sealed;

        if (!keytext || !*keytext)
                cx_fail(&err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
        if (err.code != CX_OK || !(keys = cx_keyring_new(keytext, NULL, &err)))
                return cli_fail(in, &err);
        secret = input_secret("-", &err);
        sealed = secret ? cx_keyring_seal(keys, in->pos[0], secret, &err) : NULL;
        input_free_secret(secret);
        cx_keyring_free(keys);
        if (!sealed)
                return cli_fail(in, &err);
        if (in->json)
                output_emit(in, json_pack("{s:s, s:s}", "tenant", in->pos[0], "sealed", sealed));
        else
                printf("%s\n", sealed);
        free(sealed);
        return OPS_EXIT_OK;
}
