#include "admin/cmd_mappings.h"

#include <stdio.h>
#include <stdlib.h>

#include "admin/input.h"
#include "admin/output.h"
#include "ops/ops_mappings.h"

int cmd_mappings_import(cli_inv *in)
{
        cx_err err = { 0 };
        char *text = input_text(in->n_pos > 1 ? in->pos[1] : "-", &err);
        json_t *r = NULL;

        if (text && cli_flag(in, "--check")) {
                if (ops_mapping_check(&in->ctx, in->pos[0], text, &err) == 0)
                        r = json_pack("{s:s, s:b}", "tenant", in->pos[0], "valid", 1);
        } else if (text) {
                r = ops_mapping_import(&in->ctx, in->pos[0], text, &err);
        }
        free(text);
        return r ? output_emit(in, r) : cli_fail(in, &err);
}

/* A rules file (stolen) on stdout whatever the output mode: import takes it back as is. */
static void print_rules(json_t *r)
{
        char *s = json_dumps(r, JSON_INDENT(2));

        if (s)
                puts(s);
        free(s);
        json_decref(r);
}

int cmd_mappings_export(cli_inv *in)
{
        cx_err err = { 0 };
        int version = 0;
        json_t *r = ops_mapping_export(&in->ctx, in->pos[0], &version, &err);

        if (!r)
                return cli_fail(in, &err);
        print_rules(r);
        fprintf(stderr, "%s mappings export: tenant %s, version %d\n", PROG, in->pos[0], version);
        return OPS_EXIT_OK;
}

int cmd_mappings_propose(cli_inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_mapping_propose(&in->ctx, in->pos[0], &err);

        if (!r)
                return cli_fail(in, &err);
        print_rules(r);
        fprintf(stderr,
                "%s mappings propose: a proposal only, nothing stored; check it, remove "
                "\"review\" and import it\n",
                PROG);
        return OPS_EXIT_OK;
}
