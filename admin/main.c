/* connector-admin: the operator's command on PostgreSQL and Kafka.
 *
 * A thin front over the operations library (ops/ops_*.h): this file holds the configuration
 * table, the command table, the help texts and the dispatch; the commands are in cmd_*.c,
 * arguments in cli.c, secrets and files in input.c, printing in output.c. `migrate` is the
 * schema step every deployment runs first (compose runs it as a one-shot service). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/cli.h"
#include "admin/cmd_deadletters.h"
#include "admin/cmd_keys.h"
#include "admin/cmd_mappings.h"
#include "admin/cmd_offboard.h"
#include "admin/cmd_status.h"
#include "admin/cmd_tenants.h"
#include "admin/cmd_users.h"
#include "common/config.h"
#include "common/db.h"
#include "common/http_client.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"

extern char **environ;

static const cx_cfg_var admin_vars[] = {
        { "CX_PG_DSN", CX_CFG_STR, NULL, 0, 0, true,
          "PostgreSQL connection string (libpq keyword/value or URI form)" },
        { "CX_LOG_LEVEL", CX_CFG_STR, "warn", 0, 0, false, "debug, info, warn or error" },
        { "CX_STARTUP_TIMEOUT", CX_CFG_INT, "30", 0, 3600, false,
          "seconds to keep retrying PostgreSQL before giving up" },
        { "CX_KAFKA_BROKERS", CX_CFG_STR, "", 0, 0, false,
          "Kafka bootstrap servers, for replay and dead-letter redrive (empty: those commands "
          "refuse to run)" },
        { "CX_TOPIC_PREFIX", CX_CFG_STR, "", 0, 0, false,
          "prefix of every Kafka topic name; must match the daemons'" },
        { "CX_SECRET_KEY", CX_CFG_STR, "", 0, 0, true,
          "keys that seal tenant secrets (64 hex characters or base64 of 32 bytes each; the "
          "first seals, all open); needed by credential, consent, propose and rotate-key "
          "commands" },
        { "CX_ADMIN_HTTP_TIMEOUT_MS", CX_CFG_INT, "30000", 1000, 600000, false,
          "timeout of one call to Exact Online (consent, mapping proposal)" },
        { "CX_ADMIN_TOKEN_TIMEOUT_MS", CX_CFG_INT, "90000", 10000, 600000, false,
          "timeout of the token call of tenants exchange-code (long on purpose: a lost answer "
          "burns the code)" },
        { "CX_ADMIN_TLS_INSECURE", CX_CFG_BOOL, "false", 0, 0, false,
          "turn off TLS verification towards Exact in tenants exchange-code (tests only)" },
        { "CX_ADMIN_HTTP_HOSTS", CX_CFG_STR, "", 0, 0, false,
          "comma list of host names that tenant URLs may reach over plain http:// besides this "
          "machine (the demo's fakes on the compose network; never a real shop or Exact)" },
        { "CX_RETENTION_SYNC_LOG_DAYS", CX_CFG_INT, "90", 0, 36500, false,
          "days of sync log that prune keeps, every tenant's (0: forever); as the transformer's" },
        { "CX_RETENTION_DEAD_LETTER_DAYS", CX_CFG_INT, "90", 0, 36500, false,
          "days prune keeps a resolved dead letter after its resolution; open ones are never "
          "pruned (0: forever); as the transformer's" },
        CX_CFG_END,
};

/* ---- schema and configuration ------------------------------------------- */

static int cmd_migrate(cli_inv *in)
{
        cx_err err = { 0 };
        int applied = cx_db_migrate(in->ctx.db, &err);

        if (applied < 0)
                return cli_fail(in, &err);
        printf("{\"applied\":%d,\"schema_version\":%d}\n", applied, cx_db_schema_version());
        return OPS_EXIT_OK;
}

static int cmd_schema_version(cli_inv *in)
{
        printf("%d\n", cx_db_schema_version());
        return OPS_EXIT_OK;
}

static int cmd_config_reference(cli_inv *in)
{
        const cx_cfg_var *tables[] = { admin_vars, NULL };

        cx_config_print_reference(stdout, PROG, tables);
        return OPS_EXIT_OK;
}

/* ---- the command table --------------------------------------------------- */

static const char *const o_none[] = { NULL };
static const char *const o_tenant[] = {
        "--name",
        "--shop-url",
        "--shop-public-key",
        "--exact-url",
        "--division",
        "--exact-client-id",
        "--redirect-uri",
        "--extract-from",
        "--entities",
        "--require-paid",
        "--shop-secret-file",
        "--exact-secret-file",
        "!--disabled",
        NULL,
};
static const char *const o_update[] = {
        "--name",
        "--shop-url",
        "--shop-public-key",
        "--exact-url",
        "--division",
        "--exact-client-id",
        "--redirect-uri",
        "--extract-from",
        "--entities",
        "--require-paid",
        NULL,
};
static const char *const o_secrets[] = { "--shop-secret-file", "--exact-secret-file",
                                         "--webhook-key-file", NULL };
static const char *const o_state[] = { "--state", NULL };
static const char *const o_check[] = { "!--check", NULL };
static const char *const o_status[] = { "--failures", NULL };
static const char *const o_offsets[] = { "--group", "--topic", "--to", "!--dry-run", NULL };
static const char *const o_from[] = { "--from", NULL };
static const char *const o_dl_list[] = { "--tenant", "--state", "--limit", "!--all", NULL };
static const char *const o_dl_redrive[] = { "--tenant", NULL };
static const char *const o_reason[] = { "--reason", NULL };
static const char *const o_newkey[] = { "--new-key-file", NULL };
static const char *const o_user[] = { "--role", "--tenant", "--email", NULL };
static const char *const o_dry[] = { "!--dry-run", NULL };
static const char *const o_kind[] = { "--kind", NULL };
static const char *const o_prune[] = { "--sync-log-days", "--dead-letter-days", "!--dry-run",
                                       NULL };

static const cli_cmd commands[] = {
        { NULL, "migrate", "", "apply the database migrations (safe to repeat)", o_none, 0, 0, true,
          cmd_migrate },
        { NULL, "schema-version", "", "print the schema version this build expects", o_none, 0, 0,
          false, cmd_schema_version },
        { NULL, "config-reference", "", "print the environment variables this command reads",
          o_none, 0, 0, false, cmd_config_reference },
        { "tenants", "add", "TENANT --shop-url URL --shop-public-key KEY [OPTIONS]",
          "create a tenant (enabled unless --disabled). Options: --name TEXT, --exact-url URL "
          "(default https://start.exactonline.nl), --division N, --exact-client-id ID, "
          "--redirect-uri URL, --extract-from DATE, --entities orders,products,customers, "
          "--require-paid true|false, --shop-secret-file PATH|-, --exact-secret-file PATH|- "
          "(secrets are read from the file or stdin, never from arguments)",
          o_tenant, 1, 1, true, cmd_tenants_add },
        { "tenants", "update", "TENANT [FIELD OPTIONS]",
          "change settings; the field options of `tenants add` except the secrets", o_update, 1, 1,
          true, cmd_tenants_update },
        { "tenants", "list", "", "list tenants (no secrets)", o_none, 0, 0, true,
          cmd_tenants_list },
        { "tenants", "show", "TENANT", "one tenant's settings, which secrets are set, token state",
          o_none, 1, 1, true, cmd_tenants_show },
        { "tenants", "enable", "TENANT", "enable a tenant", o_none, 1, 1, true,
          cmd_tenants_enable },
        { "tenants", "disable", "TENANT", "disable a tenant (extraction stops)", o_none, 1, 1, true,
          cmd_tenants_enable },
        { "tenants", "set-credentials",
          "TENANT [--shop-secret-file PATH|-] [--exact-secret-file PATH|-] "
          "[--webhook-key-file PATH|-]",
          "store the shop secret, the Exact client secret and/or the shop's webhook key, sealed "
          "with CX_SECRET_KEY",
          o_secrets, 1, 1, true, cmd_tenants_credentials },
        { "tenants", "delete", "TENANT [--dry-run]",
          "delete a disabled tenant and all its rows (secrets, tokens, ledger, sync log, dead "
          "letters, mappings, leases, hashes, panel users...: every table with a tenant_id), in "
          "one transaction; prints the rows removed per table and what Kafka can do about the "
          "topics' records. --dry-run counts without deleting",
          o_dry, 1, 1, true, cmd_tenants_delete },
        { "tenants", "consent-url", "TENANT",
          "start the Exact consent: print the authorization URL (with a fresh state) to open in "
          "a browser",
          o_none, 1, 1, true, cmd_tenants_consent_url },
        { "tenants", "consent-complete", "TENANT CODE [--state STATE]",
          "exchange the code from the redirect for tokens, stored sealed (token state ok)", o_state,
          2, 2, true, cmd_tenants_consent_complete },
        { "tenants", "exchange-code", "TENANT CODE",
          "exchange an authorization code obtained elsewhere for tokens, stored sealed (token "
          "state ok), without a consent started here: for set-up scripts and tests",
          o_none, 2, 2, true, cmd_tenants_exchange_code },
        { "mappings", "import", "TENANT [FILE|-] [--check]",
          "check a rules file with the transformer's rules and store it (version + 1); "
          "--check only validates",
          o_check, 1, 2, true, cmd_mappings_import },
        { "mappings", "export", "TENANT", "print the stored rules file", o_none, 1, 1, true,
          cmd_mappings_export },
        { "mappings", "propose", "TENANT",
          "propose a rules file from the division's VAT codes in Exact (printed, not stored)",
          o_none, 1, 1, true, cmd_mappings_propose },
        { NULL, "status", "[TENANT] [--failures N]",
          "per tenant: extraction, lag, counts per stage, latest failures, Exact budget, token",
          o_status, 0, 1, true, cmd_status },
        { "replay", "offsets", "--group GROUP --topic TOPIC --to TIME [--dry-run]",
          "move a stopped consumer group's offsets on TOPIC (CX_TOPIC_PREFIX is added) back to "
          "TIME; refused while the group has members",
          o_offsets, 0, 0, true, cmd_replay_offsets },
        { "replay", "extract", "TENANT --from DATE",
          "extract a tenant again from DATE (cursors back, hashes forgotten, lease released)",
          o_from, 1, 1, true, cmd_replay_extract },
        { "deadletters", "list", "[--tenant T] [--state open|redriven|dropped|--all] [--limit N]",
          "list dead letters (open ones unless told otherwise)", o_dl_list, 0, 0, true,
          cmd_dl_list },
        { "deadletters", "show", "ID", "one dead letter with its payload", o_none, 1, 1, true,
          cmd_dl_show },
        { "deadletters", "redrive", "ID... | --tenant TENANT",
          "publish open dead letters to their source topic again and mark them redriven",
          o_dl_redrive, 0, MAX_POS, true, cmd_dl_redrive },
        { "deadletters", "drop", "ID --reason TEXT", "mark an open dead letter dropped", o_reason,
          1, 1, true, cmd_dl_drop },
        { NULL, "prune", "[--sync-log-days N] [--dead-letter-days N] [--dry-run]",
          "delete sync-log entries and resolved dead letters older than N days (defaults: "
          "CX_RETENTION_SYNC_LOG_DAYS, CX_RETENTION_DEAD_LETTER_DAYS; 0 keeps them); open dead "
          "letters are never pruned. --dry-run counts",
          o_prune, 0, 0, true, cmd_prune },
        { "ledger", "doubt", "TENANT [--kind sales_order|sales_invoice] < IDS",
          "after a restore of PostgreSQL to an earlier point: make the shop orders whose ids "
          "stdin lists (one a line) writes in doubt, so the loader looks each document up in "
          "Exact by its YourRef before posting it; ids the ledger knows are left alone "
          "(default kind sales_order)",
          o_kind, 1, 1, true, cmd_ledger_doubt },
        { NULL, "rotate-key", "[--new-key-file PATH|-]",
          "re-seal every secret not sealed with the first key of CX_SECRET_KEY (or with the new "
          "key given) with it, in one transaction",
          o_newkey, 0, 0, true, cmd_rotate_key },
        { NULL, "seal", "TENANT",
          "print a secret read from stdin (one line) sealed with CX_SECRET_KEY for TENANT's row,"
          " for set-up scripts; needs only CX_SECRET_KEY",
          o_none, 1, 1, false, cmd_seal },
        { "users", "add", "NAME --role operator|owner [--tenant TENANT] [--email ADDRESS]",
          "create a control panel user, or replace an existing one's password, role and tenant "
          "(its failed sign-ins are cleared and its sessions end); the password (10 to 1024 "
          "characters) is the first line of stdin. A shop owner needs --tenant, an operator "
          "takes none; --email sets the address password reset links go to",
          o_user, 1, 1, true, cmd_users_add },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
        const char *group = "";

        fprintf(out, "Usage: %s [--json] COMMAND [ARGS] [OPTIONS]\n\nCommands:\n", PROG);
        for (size_t i = 0; i < N_COMMANDS; i++) {
                const cli_cmd *c = &commands[i];

                if (c->group && strcmp(c->group, group) != 0)
                        group = c->group;
                fprintf(out, "  %s%s%s %s\n", c->group ? c->group : "", c->group ? " " : "",
                        c->name, c->args);
        }
        fprintf(out,
                "\n`%s COMMAND --help` explains one command. --json prints JSON.\n"
                "Exit codes: 0 success, 1 failure, 2 bad usage or configuration,\n"
                "3 refused in the current state, 4 not found.\n",
                PROG);
}

static void cmd_help(FILE *out, const cli_cmd *c)
{
        const char *h = c->help;

        fprintf(out, "Usage: %s %s%s%s %s\n\n", PROG, c->group ? c->group : "", c->group ? " " : "",
                c->name, c->args);
        /* wrap the help text at 78 columns, on spaces */
        while (*h) {
                size_t n = strlen(h), cut = n;

                if (n > 78) {
                        cut = 78;
                        while (cut > 0 && h[cut] != ' ')
                                cut--;
                        if (cut == 0)
                                cut = 78;
                }
                fprintf(out, "%.*s\n", (int)cut, h);
                h += cut;
                while (*h == ' ')
                        h++;
        }
        fprintf(out, "\nCommon options: --json (JSON output), --help.\n"
                     "Exit codes: 0 success, 1 failure, 2 bad usage or configuration,\n"
                     "3 refused in the current state, 4 not found.\n");
}

static const char *opt_known(const cli_cmd *c, const char *name, bool *is_flag)
{
        for (const char *const *o = c->opts; *o; o++) {
                const char *n = **o == '!' ? *o + 1 : *o;

                if (!strcmp(n, name)) {
                        *is_flag = **o == '!';
                        return n;
                }
        }
        return NULL;
}

static bool is_group(const char *word)
{
        for (size_t i = 0; i < N_COMMANDS; i++)
                if (commands[i].group && !strcmp(commands[i].group, word))
                        return true;
        return false;
}

static void group_usage(FILE *out, const char *group)
{
        fprintf(out, "Usage: %s %s SUBCOMMAND ...\n\nSubcommands:\n", PROG, group);
        for (size_t i = 0; i < N_COMMANDS; i++)
                if (commands[i].group && !strcmp(commands[i].group, group))
                        fprintf(out, "  %s %s\n      %s\n", commands[i].name, commands[i].args,
                                commands[i].help);
        fprintf(out, "\n`%s %s SUBCOMMAND --help` for details.\n", PROG, group);
}

/* Parse argv after the command words into @p in. @returns 0, or an exit code. */
static int parse_args(cli_inv *in, int argc, char **argv, int first)
{
        const cli_cmd *c = in->cmd;

        for (int i = first; i < argc; i++) {
                const char *a = argv[i];
                bool is_flag = false;
                const char *name;

                if (!strcmp(a, "--json")) {
                        in->json = true;
                        continue;
                }
                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        cmd_help(stdout, c);
                        return -1;
                }
                if (a[0] == '-' && a[1] == '-') {
                        char nm[64];
                        const char *eq = strchr(a, '=');

                        snprintf(nm, sizeof(nm), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
                        name = opt_known(c, nm, &is_flag);
                        if (!name)
                                return cli_usage_error(in, "unknown option %s", nm);
                        if (in->n_opts == MAX_OPTS)
                                return cli_usage_error(in, "too many options%s", "");
                        in->opt_name[in->n_opts] = name;
                        if (is_flag) {
                                if (eq)
                                        return cli_usage_error(in, "%s takes no value", nm);
                                in->opt_val[in->n_opts++] = "";
                        } else if (eq) {
                                in->opt_val[in->n_opts++] = eq + 1;
                        } else if (i + 1 < argc) {
                                in->opt_val[in->n_opts++] = argv[++i];
                        } else {
                                return cli_usage_error(in, "%s needs a value", nm);
                        }
                        continue;
                }
                if (in->n_pos == c->max_pos || in->n_pos == MAX_POS)
                        return cli_usage_error(in, "unexpected argument \"%s\"", a);
                in->pos[in->n_pos++] = a;
        }
        if (in->n_pos < c->min_pos)
                return cli_usage_error(in, "missing arguments%s", "");
        return 0;
}

static int run(cli_inv *in)
{
        const cx_cfg_var *tables[] = { admin_vars, NULL };
        cx_log_level level = CX_LOG_WARN;
        cx_err err = { 0 };
        const char *key;
        int rc;

        if (!in->cmd->db)
                return in->cmd->run(in);
        in->cfg = cx_config_load_or_exit(PROG, tables, environ);
        if (cx_log_level_parse(cx_config_str(in->cfg, "CX_LOG_LEVEL"), &level) < 0) {
                fprintf(stderr,
                        "%s: configuration error: CX_LOG_LEVEL: expected debug, info, "
                        "warn or error\n",
                        PROG);
                cx_config_free(in->cfg);
                return OPS_EXIT_USAGE;
        }
        cx_log_init(PROG, level);
        key = cx_config_str(in->cfg, "CX_SECRET_KEY");
        if (*key) {
                in->ctx.key = cx_keyring_from_env(key, environ, &err);
                if (!in->ctx.key) {
                        fprintf(stderr, "%s: configuration error: CX_SECRET_KEY: %s\n", PROG,
                                err.msg);
                        cx_config_free(in->cfg);
                        return OPS_EXIT_USAGE;
                }
        }
        in->ctx.brokers = cx_config_str(in->cfg, "CX_KAFKA_BROKERS");
        in->ctx.http_timeout_ms = (long)cx_config_int(in->cfg, "CX_ADMIN_HTTP_TIMEOUT_MS");
        in->ctx.token_timeout_ms = (long)cx_config_int(in->cfg, "CX_ADMIN_TOKEN_TIMEOUT_MS");
        in->ctx.tls_insecure = cx_config_bool(in->cfg, "CX_ADMIN_TLS_INSECURE");
        in->ctx.http_hosts = cx_config_str(in->cfg, "CX_ADMIN_HTTP_HOSTS");
        cx_topics_init(cx_config_str(in->cfg, "CX_TOPIC_PREFIX"));
        cx_http_global_init();
        in->ctx.db = cx_db_open(cx_config_str(in->cfg, "CX_PG_DSN"),
                                (int)cx_config_int(in->cfg, "CX_STARTUP_TIMEOUT"), &err);
        if (!in->ctx.db) {
                rc = cli_fail(in, &err);
        } else {
                rc = in->cmd->run(in);
                cx_db_close(in->ctx.db);
        }
        cx_keyring_free(in->ctx.key);
        in->ctx.key = NULL;
        cx_http_global_cleanup();
        cx_config_free(in->cfg);
        return rc;
}

int main(int argc, char **argv)
{
        cli_inv in;
        int first = 1, rc;
        const char *group = NULL, *name;

        memset(&in, 0, sizeof(in));
        /* --json may also come before the command */
        while (first < argc && !strcmp(argv[first], "--json")) {
                in.json = true;
                first++;
        }
        if (first >= argc) {
                usage(stderr);
                return OPS_EXIT_USAGE;
        }
        if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h") ||
            !strcmp(argv[first], "help")) {
                usage(stdout);
                return OPS_EXIT_OK;
        }
        if (!strcmp(argv[first], "--config-reference")) {
                in.cmd = &commands[2];
                return cmd_config_reference(&in);
        }
        if (is_group(argv[first])) {
                group = argv[first++];
                if (first >= argc || !strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
                        group_usage(first >= argc ? stderr : stdout, group);
                        return first >= argc ? OPS_EXIT_USAGE : OPS_EXIT_OK;
                }
        }
        name = argv[first++];
        for (size_t i = 0; i < N_COMMANDS; i++) {
                const cli_cmd *c = &commands[i];

                if (!strcmp(c->name, name) &&
                    ((!group && !c->group) || (group && c->group && !strcmp(group, c->group))))
                        in.cmd = c;
        }
        if (!in.cmd) {
                fprintf(stderr, "%s: unknown command \"%s%s%s\"\n", PROG, group ? group : "",
                        group ? " " : "", name);
                if (group)
                        group_usage(stderr, group);
                else
                        usage(stderr);
                return OPS_EXIT_USAGE;
        }
        rc = parse_args(&in, argc, argv, first);
        if (rc < 0)
                return OPS_EXIT_OK;
        if (rc > 0)
                return rc;
        return run(&in);
}
