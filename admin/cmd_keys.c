#include "admin/cmd_keys.h"

#include <stdio.h>
#include <string.h>

#include "admin/input.h"
#include "admin/output.h"
#include "ops/ops_keys.h"

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
                fprintf(stderr, "%s rotate-key: now set CX_SECRET_KEY to the new key in every "
                        "service and restart them\n", PROG);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}
