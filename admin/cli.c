#include "admin/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_opt(const cli_inv *in, const char *name)
{
        for (int i = in->n_opts - 1; i >= 0; i--)
                if (!strcmp(in->opt_name[i], name))
                        return in->opt_val[i];
        return NULL;
}

bool cli_flag(const cli_inv *in, const char *name)
{
        return cli_opt(in, name) != NULL;
}

int cli_usage_error(const cli_inv *in, const char *fmt, const char *a)
{
        fprintf(stderr, "%s", PROG ": ");
        fprintf(stderr, fmt, a);
        fprintf(stderr, "\nusage: %s %s%s%s %s (see --help)\n", PROG,
                in->cmd->group ? in->cmd->group : "", in->cmd->group ? " " : "", in->cmd->name,
                in->cmd->args);
        return OPS_EXIT_USAGE;
}

int cli_fail(const cli_inv *in, const cx_err *err)
{
        int code = ops_exit_code(err);

        fprintf(stderr, "%s %s%s%s: %s\n", PROG, in->cmd->group ? in->cmd->group : "",
                in->cmd->group ? " " : "", in->cmd->name, err->msg);
        if (in->json)
                printf("{\"error\": %s, \"exit\": %d}\n", "\"see stderr\"", code);
        return code == OPS_EXIT_OK ? OPS_EXIT_FAILURE : code;
}

int cli_parse_int(const cli_inv *in, const char *text, const char *what, long long min,
                  long long max, long long *out)
{
        char *end = NULL;

        *out = text ? strtoll(text, &end, 10) : 0;
        if (!text || !*text || *end || *out < min || *out > max) {
                char msg[160];

                snprintf(msg, sizeof(msg), "%s: expected an integer %lld..%lld, got \"%%s\"", what,
                         min, max);
                return cli_usage_error(in, msg, text ? text : "");
        }
        return 0;
}
