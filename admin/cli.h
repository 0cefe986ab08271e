/* cli: one connector-admin invocation: the command it names, its arguments and options, the
 * operations context, and the usage errors and failures that end it with an exit code
 * (docs/admin.md). */
#ifndef ADMIN_CLI_H
#define ADMIN_CLI_H

#include <stdbool.h>

#include "common/config.h"
#include "common/error.h"
#include "ops/ops.h"

#define PROG "connector-admin"
#define MAX_POS 8
#define MAX_OPTS 16

typedef struct cli_inv {
        const struct cli_cmd *cmd;
        const char *pos[MAX_POS];
        int n_pos;
        const char *opt_name[MAX_OPTS];
        const char *opt_val[MAX_OPTS];
        int n_opts;
        bool json;
        ops_ctx ctx;
        cx_config *cfg;
} cli_inv;

typedef struct cli_cmd {
        const char *group; /* "tenants", or NULL for a top-level command */
        const char *name;
        const char *args; /* usage line after the command words */
        const char *help;
        const char *const *opts; /* options taking a value, then "!flag" entries */
        int min_pos, max_pos;
        bool db; /* needs PostgreSQL */
        int (*run)(cli_inv *in);
} cli_cmd;

/** @brief The value of option @p name (the last one given), or NULL. */
const char *cli_opt(const cli_inv *in, const char *name);

/** @brief Whether flag @p name was given. */
bool cli_flag(const cli_inv *in, const char *name);

/** @brief Print @p fmt (with @p a) and the command's usage line on stderr; @returns exit 2. */
int cli_usage_error(const cli_inv *in, const char *fmt, const char *a);

/** @brief Report @p err on stderr (and a JSON stub with --json); @returns its exit code. */
int cli_fail(const cli_inv *in, const cx_err *err);

/**
 * @brief Parse @p text as an integer @p min..@p max into @p out.
 * @returns 0, or exit 2 after a usage error naming @p what.
 */
int cli_parse_int(const cli_inv *in, const char *text, const char *what, long long min,
                  long long max, long long *out);

#endif
