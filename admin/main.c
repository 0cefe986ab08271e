/* connector-admin: the operator's command on PostgreSQL and Kafka.
 * Subcommands grow with the operations issue; `migrate` is the schema step every
 * deployment runs first (compose runs it as a one-shot service). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/db.h"
#include "common/log.h"

extern char **environ;

static const cx_cfg_var admin_vars[] = {
        { "CX_PG_DSN", CX_CFG_STR, NULL, 0, 0, true,
          "PostgreSQL connection string (libpq keyword/value or URI form)" },
        { "CX_LOG_LEVEL", CX_CFG_STR, "warn", 0, 0, false, "debug, info, warn or error" },
        { "CX_STARTUP_TIMEOUT", CX_CFG_INT, "30", 0, 3600, false,
          "seconds to keep retrying PostgreSQL before giving up" },
        CX_CFG_END,
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: connector-admin COMMAND [OPTIONS]\n\n"
                     "Commands:\n"
                     "  migrate           apply the database migrations (safe to repeat)\n"
                     "  schema-version    print the schema version this build expects\n"
                     "  config-reference  print the environment variables this command reads\n"
                     "\nExit codes: 0 success, 1 failure, 2 bad usage or configuration.\n");
}

static int cmd_migrate(const cx_config *cfg)
{
        cx_err err = { 0 };
        cx_db *db = cx_db_open(cx_config_str(cfg, "CX_PG_DSN"),
                               (int)cx_config_int(cfg, "CX_STARTUP_TIMEOUT"), &err);
        int applied;

        if (!db) {
                fprintf(stderr, "connector-admin migrate: %s\n", err.msg);
                return 1;
        }
        applied = cx_db_migrate(db, &err);
        cx_db_close(db);
        if (applied < 0) {
                fprintf(stderr, "connector-admin migrate: %s\n", err.msg);
                return 1;
        }
        printf("{\"applied\":%d,\"schema_version\":%d}\n", applied, cx_db_schema_version());
        return 0;
}

int main(int argc, char **argv)
{
        const cx_cfg_var *tables[] = { admin_vars, NULL };
        cx_config *cfg;
        cx_log_level level = CX_LOG_WARN;
        int rc;

        if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (!strcmp(argv[1], "schema-version")) {
                printf("%d\n", cx_db_schema_version());
                return 0;
        }
        if (!strcmp(argv[1], "config-reference")) {
                cx_config_print_reference(stdout, "connector-admin", tables);
                return 0;
        }
        if (strcmp(argv[1], "migrate") != 0) {
                fprintf(stderr, "connector-admin: unknown command \"%s\"\n", argv[1]);
                usage(stderr);
                return 2;
        }
        cfg = cx_config_load_or_exit("connector-admin", tables, environ);
        cx_log_level_parse(cx_config_str(cfg, "CX_LOG_LEVEL"), &level);
        cx_log_init("connector-admin", level);
        rc = cmd_migrate(cfg);
        cx_config_free(cfg);
        return rc;
}
