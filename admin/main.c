/* connector-admin: the operator's command on PostgreSQL and Kafka.
 *
 * A thin front over the operations library (ops/ops_*.h): this file parses arguments,
 * reads secrets from stdin or files, prints results (text, or JSON with --json) and turns
 * errors into the exit codes of docs/admin.md. `migrate` is the schema step every
 * deployment runs first (compose runs it as a one-shot service). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_deadletters.h"
#include "ops/ops_keys.h"
#include "ops/ops_mappings.h"
#include "ops/ops_replay.h"
#include "ops/ops_status.h"
#include "ops/ops_tenants.h"
#include "common/config.h"
#include "common/db.h"
#include "common/http_client.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"

extern char **environ;

#define PROG "connector-admin"
#define MAX_POS 8
#define MAX_OPTS 16
#define MAX_SECRET (64 * 1024)

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
          "key that seals tenant secrets (64 hex characters or base64 of 32 bytes); needed by "
          "credential, consent, propose and rotate-key commands" },
        { "CX_ADMIN_HTTP_TIMEOUT_MS", CX_CFG_INT, "30000", 1000, 600000, false,
          "timeout of one call to Exact Online (consent, mapping proposal)" },
        CX_CFG_END,
};

/* ---- arguments ----------------------------------------------------------- */

typedef struct inv {
        const struct cmd *cmd;
        const char *pos[MAX_POS];
        int n_pos;
        const char *opt_name[MAX_OPTS];
        const char *opt_val[MAX_OPTS];
        int n_opts;
        bool json;
        ops_ctx ctx;
        cx_config *cfg;
} inv;

typedef struct cmd {
        const char *group;       /* "tenants", or NULL for a top-level command */
        const char *name;
        const char *args;        /* usage line after the command words */
        const char *help;
        const char *const *opts; /* options taking a value, then "!flag" entries */
        int min_pos, max_pos;
        bool db;                 /* needs PostgreSQL */
        int (*run)(inv *in);
} cmd;

static const char *opt(const inv *in, const char *name)
{
        for (int i = in->n_opts - 1; i >= 0; i--)
                if (!strcmp(in->opt_name[i], name))
                        return in->opt_val[i];
        return NULL;
}

static bool flag(const inv *in, const char *name)
{
        return opt(in, name) != NULL;
}

static int usage_error(const inv *in, const char *fmt, const char *a)
{
        fprintf(stderr, "%s", PROG ": ");
        fprintf(stderr, fmt, a);
        fprintf(stderr, "\nusage: %s %s%s%s %s (see --help)\n", PROG,
                in->cmd->group ? in->cmd->group : "", in->cmd->group ? " " : "", in->cmd->name,
                in->cmd->args);
        return OPS_EXIT_USAGE;
}

/* ---- output -------------------------------------------------------------- */

static void print_scalar(FILE *out, const json_t *v)
{
        if (json_is_string(v))
                fputs(json_string_value(v), out);
        else if (json_is_null(v))
                fputs("-", out);
        else {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

                fputs(s ? s : "?", out);
                free(s);
        }
}

static void print_human(FILE *out, const json_t *v, int indent);

static void print_table(FILE *out, const json_t *arr)
{
        const json_t *first = json_array_get(arr, 0), *row, *val;
        const char *key;
        size_t i;

        json_object_foreach((json_t *)first, key, val) {
                if (!json_is_object(val) && !json_is_array(val))
                        fprintf(out, "%s\t", key);
        }
        fputc('\n', out);
        json_array_foreach(arr, i, row) {
                json_object_foreach((json_t *)first, key, val) {
                        const json_t *cell = json_object_get(row, key);

                        if (json_is_object(val) || json_is_array(val))
                                continue;
                        print_scalar(out, cell);
                        fputc('\t', out);
                }
                fputc('\n', out);
        }
}

static void print_human(FILE *out, const json_t *v, int indent)
{
        const char *key;
        json_t *val;
        size_t i;

        if (json_is_array(v)) {
                json_array_foreach(v, i, val) {
                        fprintf(out, "%*s- ", indent, "");
                        if (json_is_object(val) || json_is_array(val)) {
                                fputc('\n', out);
                                print_human(out, val, indent + 2);
                        } else {
                                print_scalar(out, val);
                                fputc('\n', out);
                        }
                }
                return;
        }
        if (!json_is_object(v)) {
                fprintf(out, "%*s", indent, "");
                print_scalar(out, v);
                fputc('\n', out);
                return;
        }
        json_object_foreach((json_t *)v, key, val) {
                fprintf(out, "%*s%s:", indent, "", key);
                if ((json_is_object(val) && json_object_size(val)) ||
                    (json_is_array(val) && json_array_size(val))) {
                        fputc('\n', out);
                        print_human(out, val, indent + 2);
                } else if (json_is_array(val) || json_is_object(val)) {
                        fputs(" (none)\n", out);
                } else {
                        fputc(' ', out);
                        print_scalar(out, val);
                        fputc('\n', out);
                }
        }
}

/* Print @p result (stolen): JSON with --json, text otherwise. */
static int emit(const inv *in, json_t *result)
{
        if (!result)
                return OPS_EXIT_FAILURE;
        if (in->json) {
                char *s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);

                if (s)
                        puts(s);
                free(s);
        } else if (json_is_array(result) && json_array_size(result) &&
                   json_is_object(json_array_get(result, 0))) {
                print_table(stdout, result);
        } else if (json_is_array(result) && !json_array_size(result)) {
                puts("(none)");
        } else {
                print_human(stdout, result, 0);
        }
        json_decref(result);
        return OPS_EXIT_OK;
}

static int emit_ok(const inv *in, const char *what, const char *id)
{
        return emit(in, json_pack("{s:b, s:s, s:s}", "ok", 1, "done", what, "id", id));
}

static int fail(const inv *in, const cx_err *err)
{
        int code = ops_exit_code(err);

        fprintf(stderr, "%s %s%s%s: %s\n", PROG, in->cmd->group ? in->cmd->group : "",
                in->cmd->group ? " " : "", in->cmd->name, err->msg);
        if (in->json)
                printf("{\"error\": %s, \"exit\": %d}\n", "\"see stderr\"", code);
        return code == OPS_EXIT_OK ? OPS_EXIT_FAILURE : code;
}

/* ---- secrets ------------------------------------------------------------- */

/* Read a secret from @p path ("-" is stdin), without its trailing newline. */
static char *read_secret(const char *path, cx_err *err)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
        char *buf;
        size_t n;

        if (!f) {
                cx_fail(err, CX_ERR_PARSE, false, "cannot read secret file %s", path);
                return NULL;
        }
        buf = malloc(MAX_SECRET + 1);
        n = buf ? fread(buf, 1, MAX_SECRET, f) : 0;
        if (f != stdin)
                fclose(f);
        if (!buf) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                return NULL;
        }
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';
        if (n == 0 || n == MAX_SECRET || strchr(buf, '\n')) {
                free(buf);
                cx_fail(err, CX_ERR_PARSE, false, "secret from %s: expected one non-empty line",
                        strcmp(path, "-") ? path : "stdin");
                return NULL;
        }
        cx_log_add_secret(buf);
        return buf;
}

static void free_secret(char *s)
{
        if (s) {
                memset(s, 0, strlen(s));
                free(s);
        }
}

static char *read_text(const char *path, cx_err *err)
{
        FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
        char *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!f) {
                cx_fail(err, CX_ERR_PARSE, false, "cannot read %s", path);
                return NULL;
        }
        do {
                if (len + 4096 + 1 > cap) {
                        char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

                        if (!nb || cap > 16 * 1024 * 1024) {
                                free(nb ? nb : buf);
                                if (f != stdin)
                                        fclose(f);
                                cx_fail(err, CX_ERR_PARSE, false, "%s is too large", path);
                                return NULL;
                        }
                        buf = nb;
                }
                n = fread(buf + len, 1, 4096, f);
                len += n;
        } while (n > 0);
        buf[len] = '\0';
        if (f != stdin)
                fclose(f);
        return buf;
}

/* ---- tenants ------------------------------------------------------------- */

static void tenant_fields(const inv *in, ops_tenant_fields *f)
{
        memset(f, 0, sizeof(*f));
        f->name = opt(in, "--name");
        f->shop_base_url = opt(in, "--shop-url");
        f->shop_public_key = opt(in, "--shop-public-key");
        f->exact_base_url = opt(in, "--exact-url");
        f->exact_division = opt(in, "--division");
        f->exact_client_id = opt(in, "--exact-client-id");
        f->exact_redirect_uri = opt(in, "--redirect-uri");
        f->extract_from = opt(in, "--extract-from");
        f->sync_entities = opt(in, "--entities");
        f->require_paid = opt(in, "--require-paid");
}

/* Read the secrets named by --shop-secret-file / --exact-secret-file. */
static int tenant_secrets(const inv *in, char **shop, char **exact, cx_err *err)
{
        const char *sf = opt(in, "--shop-secret-file"), *ef = opt(in, "--exact-secret-file");

        *shop = *exact = NULL;
        if (sf && ef && !strcmp(sf, "-") && !strcmp(ef, "-"))
                return cx_fail(err, CX_ERR_PARSE, false,
                               "only one secret can come from stdin; give the other as a file");
        if (sf && !(*shop = read_secret(sf, err)))
                return -1;
        if (ef && !(*exact = read_secret(ef, err))) {
                free_secret(*shop);
                *shop = NULL;
                return -1;
        }
        return 0;
}

static int cmd_tenants_add(inv *in)
{
        ops_tenant_fields f;
        char *shop, *exact;
        cx_err err = { 0 };
        int rc;

        tenant_fields(in, &f);
        if (tenant_secrets(in, &shop, &exact, &err) < 0)
                return fail(in, &err);
        rc = ops_tenant_add(&in->ctx, in->pos[0], &f, !flag(in, "--disabled"), shop, exact, &err);
        free_secret(shop);
        free_secret(exact);
        return rc < 0 ? fail(in, &err) : emit_ok(in, "tenant added", in->pos[0]);
}

static int cmd_tenants_update(inv *in)
{
        ops_tenant_fields f;
        cx_err err = { 0 };

        tenant_fields(in, &f);
        if (ops_tenant_update(&in->ctx, in->pos[0], &f, &err) < 0)
                return fail(in, &err);
        return emit_ok(in, "tenant updated", in->pos[0]);
}

static int cmd_tenants_list(inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_tenant_list(&in->ctx, &err);

        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_tenants_show(inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_tenant_show(&in->ctx, in->pos[0], &err);

        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_tenants_enable(inv *in)
{
        cx_err err = { 0 };
        bool on = !strcmp(in->cmd->name, "enable");

        if (ops_tenant_set_enabled(&in->ctx, in->pos[0], on, &err) < 0)
                return fail(in, &err);
        return emit_ok(in, on ? "tenant enabled" : "tenant disabled", in->pos[0]);
}

static int cmd_tenants_credentials(inv *in)
{
        char *shop, *exact;
        cx_err err = { 0 };
        int rc;

        if (!opt(in, "--shop-secret-file") && !opt(in, "--exact-secret-file"))
                return usage_error(in, "expected %s", "--shop-secret-file and/or "
                                   "--exact-secret-file (a path, or - for stdin)");
        if (tenant_secrets(in, &shop, &exact, &err) < 0)
                return fail(in, &err);
        rc = ops_tenant_set_credentials(&in->ctx, in->pos[0], shop, exact, &err);
        free_secret(shop);
        free_secret(exact);
        return rc < 0 ? fail(in, &err) : emit_ok(in, "credentials stored sealed", in->pos[0]);
}

static int cmd_tenants_consent_url(inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_consent_start(&in->ctx, in->pos[0], &err);

        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_tenants_consent_complete(inv *in)
{
        cx_err err = { 0 };

        if (ops_consent_complete(&in->ctx, in->pos[0], in->pos[1], opt(in, "--state"),
                                 &err) < 0)
                return fail(in, &err);
        return emit_ok(in, "Exact tokens stored sealed; token state ok", in->pos[0]);
}

/* ---- mappings ------------------------------------------------------------ */

static int cmd_mappings_import(inv *in)
{
        cx_err err = { 0 };
        char *text = read_text(in->n_pos > 1 ? in->pos[1] : "-", &err);
        json_t *r = NULL;

        if (text && flag(in, "--check")) {
                if (ops_mapping_check(&in->ctx, in->pos[0], text, &err) == 0)
                        r = json_pack("{s:s, s:b}", "tenant", in->pos[0], "valid", 1);
        } else if (text) {
                r = ops_mapping_import(&in->ctx, in->pos[0], text, &err);
        }
        free(text);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_mappings_export(inv *in)
{
        cx_err err = { 0 };
        int version = 0;
        json_t *r = ops_mapping_export(&in->ctx, in->pos[0], &version, &err);
        char *s;

        if (!r)
                return fail(in, &err);
        /* the export is a rules file whatever the output mode: import takes it back as is */
        s = json_dumps(r, JSON_INDENT(2));
        if (s)
                puts(s);
        free(s);
        json_decref(r);
        fprintf(stderr, "%s mappings export: tenant %s, version %d\n", PROG, in->pos[0], version);
        return OPS_EXIT_OK;
}

static int cmd_mappings_propose(inv *in)
{
        cx_err err = { 0 };
        json_t *r = ops_mapping_propose(&in->ctx, in->pos[0], &err);
        char *s;

        if (!r)
                return fail(in, &err);
        s = json_dumps(r, JSON_INDENT(2));
        if (s)
                puts(s);
        free(s);
        json_decref(r);
        fprintf(stderr, "%s mappings propose: a proposal only, nothing stored; check it, remove "
                "\"review\" and import it\n", PROG);
        return OPS_EXIT_OK;
}

/* ---- status, replay, dead letters, keys ---------------------------------- */

static int parse_int(const inv *in, const char *text, const char *what, long long min,
                     long long max, long long *out)
{
        char *end = NULL;

        *out = text ? strtoll(text, &end, 10) : 0;
        if (!text || !*text || *end || *out < min || *out > max) {
                char msg[160];

                snprintf(msg, sizeof(msg), "%s: expected an integer %lld..%lld, got \"%%s\"",
                         what, min, max);
                return usage_error(in, msg, text ? text : "");
        }
        return 0;
}

static int cmd_status(inv *in)
{
        cx_err err = { 0 };
        long long n = 5;
        json_t *r;

        if (opt(in, "--failures") &&
            parse_int(in, opt(in, "--failures"), "--failures", 0, 1000, &n))
                return OPS_EXIT_USAGE;
        r = ops_status(&in->ctx, in->n_pos ? in->pos[0] : NULL, (int)n, &err);
        if (r && !in->json && json_is_array(r)) {
                /* several tenants: one block each, not a table */
                size_t i;
                json_t *t;

                json_array_foreach(r, i, t) {
                        print_human(stdout, t, 0);
                        fputc('\n', stdout);
                }
                json_decref(r);
                return OPS_EXIT_OK;
        }
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_replay_offsets(inv *in)
{
        const char *group = opt(in, "--group"), *topic = opt(in, "--topic"),
                   *to = opt(in, "--to");
        char full[256];
        long long epoch;
        cx_err err = { 0 };
        json_t *r;

        if (!group || !topic || !to)
                return usage_error(in, "expected %s", "--group, --topic and --to");
        if (ops_parse_time(to, &epoch, NULL, &err) < 0)
                return fail(in, &err);
        snprintf(full, sizeof(full), "%s%s", cx_config_str(in->cfg, "CX_TOPIC_PREFIX"), topic);
        r = ops_replay_offsets(&in->ctx, group, full, epoch * 1000, flag(in, "--dry-run"), &err);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_replay_extract(inv *in)
{
        cx_err err = { 0 };
        json_t *r;

        if (!opt(in, "--from"))
                return usage_error(in, "expected %s", "--from DATE");
        r = ops_replay_extract(&in->ctx, in->pos[0], opt(in, "--from"), &err);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_dl_list(inv *in)
{
        cx_err err = { 0 };
        long long limit = 50;
        json_t *r;

        if (opt(in, "--limit") && parse_int(in, opt(in, "--limit"), "--limit", 1, 10000, &limit))
                return OPS_EXIT_USAGE;
        r = ops_deadletter_list(&in->ctx, opt(in, "--tenant"),
                                flag(in, "--all") ? NULL : opt(in, "--state") ?
                                opt(in, "--state") : "open", (int)limit, &err);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_dl_show(inv *in)
{
        cx_err err = { 0 };
        long long id;
        json_t *r;

        if (parse_int(in, in->pos[0], "ID", 1, (long long)1 << 62, &id))
                return OPS_EXIT_USAGE;
        r = ops_deadletter_show(&in->ctx, id, &err);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_dl_redrive(inv *in)
{
        cx_err err = { 0 };
        json_t *ids = json_array(), *done = json_array(), *v;
        cx_producer *prod = NULL;
        int rc = OPS_EXIT_OK;
        size_t i;

        if (in->n_pos == 0 && !opt(in, "--tenant")) {
                json_decref(ids);
                json_decref(done);
                return usage_error(in, "expected %s", "dead letter ids or --tenant TENANT");
        }
        for (int k = 0; k < in->n_pos; k++) {
                long long id;

                if (parse_int(in, in->pos[k], "ID", 1, (long long)1 << 62, &id)) {
                        json_decref(ids);
                        json_decref(done);
                        return OPS_EXIT_USAGE;
                }
                json_array_append_new(ids, json_integer(id));
        }
        if (opt(in, "--tenant")) {
                json_t *open = ops_deadletter_open_ids(&in->ctx, opt(in, "--tenant"), &err);

                if (!open) {
                        rc = fail(in, &err);
                        goto out;
                }
                json_array_extend(ids, open);
                json_decref(open);
        }
        if (!*in->ctx.brokers) {
                cx_fail(&err, CX_ERR_CONFIG, false, "redrive needs Kafka: set CX_KAFKA_BROKERS");
                rc = fail(in, &err);
                goto out;
        }
        prod = cx_producer_new(in->ctx.brokers, NULL, &err);
        if (!prod) {
                rc = fail(in, &err);
                goto out;
        }
        json_array_foreach(ids, i, v) {
                if (ops_deadletter_redrive(&in->ctx, prod, json_integer_value(v), &err) < 0) {
                        rc = fail(in, &err);
                        break;
                }
                json_array_append(done, v);
        }
        if (rc == OPS_EXIT_OK)
                emit(in, json_pack("{s:O}", "redriven", done));
        else if (json_array_size(done))
                fprintf(stderr, "%s deadletters redrive: %zu redriven before the failure\n",
                        PROG, json_array_size(done));
out:
        cx_producer_free(prod);
        json_decref(ids);
        json_decref(done);
        return rc;
}

static int cmd_dl_drop(inv *in)
{
        cx_err err = { 0 };
        long long id;

        if (parse_int(in, in->pos[0], "ID", 1, (long long)1 << 62, &id))
                return OPS_EXIT_USAGE;
        if (!opt(in, "--reason"))
                return usage_error(in, "expected %s", "--reason TEXT");
        if (ops_deadletter_drop(&in->ctx, id, opt(in, "--reason"), &err) < 0)
                return fail(in, &err);
        return emit_ok(in, "dead letter dropped", in->pos[0]);
}

static int cmd_rotate_key(inv *in)
{
        unsigned char key[CX_KEY_LEN];
        cx_err err = { 0 };
        char *text;
        json_t *r;

        if (!opt(in, "--new-key-file"))
                return usage_error(in, "expected %s", "--new-key-file FILE (or - for stdin)");
        text = read_secret(opt(in, "--new-key-file"), &err);
        if (!text)
                return fail(in, &err);
        if (cx_key_parse(text, key, &err) < 0) {
                free_secret(text);
                return fail(in, &err);
        }
        free_secret(text);
        r = ops_rotate_key(&in->ctx, key, &err);
        memset(key, 0, sizeof(key));
        if (r && !in->json)
                fprintf(stderr, "%s rotate-key: now set CX_SECRET_KEY to the new key in every "
                        "service and restart them\n", PROG);
        return r ? emit(in, r) : fail(in, &err);
}

static int cmd_migrate(inv *in)
{
        cx_err err = { 0 };
        int applied = cx_db_migrate(in->ctx.db, &err);

        if (applied < 0)
                return fail(in, &err);
        printf("{\"applied\":%d,\"schema_version\":%d}\n", applied, cx_db_schema_version());
        return OPS_EXIT_OK;
}

static int cmd_schema_version(inv *in)
{
        printf("%d\n", cx_db_schema_version());
        return OPS_EXIT_OK;
}

static int cmd_config_reference(inv *in)
{
        const cx_cfg_var *tables[] = { admin_vars, NULL };

        cx_config_print_reference(stdout, PROG, tables);
        return OPS_EXIT_OK;
}

/* ---- the command table --------------------------------------------------- */

static const char *const o_none[] = { NULL };
static const char *const o_tenant[] = {
        "--name", "--shop-url", "--shop-public-key", "--exact-url", "--division",
        "--exact-client-id", "--redirect-uri", "--extract-from", "--entities", "--require-paid",
        "--shop-secret-file", "--exact-secret-file", "!--disabled", NULL,
};
static const char *const o_update[] = {
        "--name", "--shop-url", "--shop-public-key", "--exact-url", "--division",
        "--exact-client-id", "--redirect-uri", "--extract-from", "--entities", "--require-paid",
        NULL,
};
static const char *const o_secrets[] = { "--shop-secret-file", "--exact-secret-file", NULL };
static const char *const o_state[] = { "--state", NULL };
static const char *const o_check[] = { "!--check", NULL };
static const char *const o_status[] = { "--failures", NULL };
static const char *const o_offsets[] = { "--group", "--topic", "--to", "!--dry-run", NULL };
static const char *const o_from[] = { "--from", NULL };
static const char *const o_dl_list[] = { "--tenant", "--state", "--limit", "!--all", NULL };
static const char *const o_dl_redrive[] = { "--tenant", NULL };
static const char *const o_reason[] = { "--reason", NULL };
static const char *const o_newkey[] = { "--new-key-file", NULL };

static const cmd commands[] = {
        { NULL, "migrate", "", "apply the database migrations (safe to repeat)", o_none, 0, 0,
          true, cmd_migrate },
        { NULL, "schema-version", "", "print the schema version this build expects", o_none, 0,
          0, false, cmd_schema_version },
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
          "change settings; the field options of `tenants add` except the secrets", o_update, 1,
          1, true, cmd_tenants_update },
        { "tenants", "list", "", "list tenants (no secrets)", o_none, 0, 0, true,
          cmd_tenants_list },
        { "tenants", "show", "TENANT", "one tenant's settings, which secrets are set, token state",
          o_none, 1, 1, true, cmd_tenants_show },
        { "tenants", "enable", "TENANT", "enable a tenant", o_none, 1, 1, true,
          cmd_tenants_enable },
        { "tenants", "disable", "TENANT", "disable a tenant (extraction stops)", o_none, 1, 1,
          true, cmd_tenants_enable },
        { "tenants", "set-credentials",
          "TENANT [--shop-secret-file PATH|-] [--exact-secret-file PATH|-]",
          "store the shop secret and/or the Exact client secret, sealed with CX_SECRET_KEY",
          o_secrets, 1, 1, true, cmd_tenants_credentials },
        { "tenants", "consent-url", "TENANT",
          "start the Exact consent: print the authorization URL (with a fresh state) to open in "
          "a browser", o_none, 1, 1, true, cmd_tenants_consent_url },
        { "tenants", "consent-complete", "TENANT CODE [--state STATE]",
          "exchange the code from the redirect for tokens, stored sealed (token state ok)",
          o_state, 2, 2, true, cmd_tenants_consent_complete },
        { "mappings", "import", "TENANT [FILE|-] [--check]",
          "check a rules file with the transformer's rules and store it (version + 1); "
          "--check only validates", o_check, 1, 2, true, cmd_mappings_import },
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
          "TIME; refused while the group has members", o_offsets, 0, 0, true,
          cmd_replay_offsets },
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
        { NULL, "rotate-key", "--new-key-file PATH|-",
          "re-seal every secret from CX_SECRET_KEY to the new key, in one transaction", o_newkey,
          0, 0, true, cmd_rotate_key },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
        const char *group = "";

        fprintf(out, "Usage: %s [--json] COMMAND [ARGS] [OPTIONS]\n\nCommands:\n", PROG);
        for (size_t i = 0; i < N_COMMANDS; i++) {
                const cmd *c = &commands[i];

                if (c->group && strcmp(c->group, group) != 0)
                        group = c->group;
                fprintf(out, "  %s%s%s %s\n", c->group ? c->group : "", c->group ? " " : "",
                        c->name, c->args);
        }
        fprintf(out, "\n`%s COMMAND --help` explains one command. --json prints JSON.\n"
                     "Exit codes: 0 success, 1 failure, 2 bad usage or configuration,\n"
                     "3 refused in the current state, 4 not found.\n", PROG);
}

static void cmd_help(FILE *out, const cmd *c)
{
        const char *h = c->help;

        fprintf(out, "Usage: %s %s%s%s %s\n\n", PROG, c->group ? c->group : "",
                c->group ? " " : "", c->name, c->args);
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

static const char *opt_known(const cmd *c, const char *name, bool *is_flag)
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
static int parse_args(inv *in, int argc, char **argv, int first)
{
        const cmd *c = in->cmd;

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
                                return usage_error(in, "unknown option %s", nm);
                        if (in->n_opts == MAX_OPTS)
                                return usage_error(in, "too many options%s", "");
                        in->opt_name[in->n_opts] = name;
                        if (is_flag) {
                                if (eq)
                                        return usage_error(in, "%s takes no value", nm);
                                in->opt_val[in->n_opts++] = "";
                        } else if (eq) {
                                in->opt_val[in->n_opts++] = eq + 1;
                        } else if (i + 1 < argc) {
                                in->opt_val[in->n_opts++] = argv[++i];
                        } else {
                                return usage_error(in, "%s needs a value", nm);
                        }
                        continue;
                }
                if (in->n_pos == c->max_pos || in->n_pos == MAX_POS)
                        return usage_error(in, "unexpected argument \"%s\"", a);
                in->pos[in->n_pos++] = a;
        }
        if (in->n_pos < c->min_pos)
                return usage_error(in, "missing arguments%s", "");
        return 0;
}

static int run(inv *in)
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
                fprintf(stderr, "%s: configuration error: CX_LOG_LEVEL: expected debug, info, "
                        "warn or error\n", PROG);
                cx_config_free(in->cfg);
                return OPS_EXIT_USAGE;
        }
        cx_log_init(PROG, level);
        key = cx_config_str(in->cfg, "CX_SECRET_KEY");
        if (*key) {
                if (cx_key_parse(key, in->ctx.key, &err) < 0) {
                        fprintf(stderr, "%s: configuration error: CX_SECRET_KEY: %s\n", PROG,
                                err.msg);
                        cx_config_free(in->cfg);
                        return OPS_EXIT_USAGE;
                }
                in->ctx.have_key = true;
        }
        in->ctx.brokers = cx_config_str(in->cfg, "CX_KAFKA_BROKERS");
        in->ctx.http_timeout_ms = (long)cx_config_int(in->cfg, "CX_ADMIN_HTTP_TIMEOUT_MS");
        cx_topics_init(cx_config_str(in->cfg, "CX_TOPIC_PREFIX"));
        cx_http_global_init();
        in->ctx.db = cx_db_open(cx_config_str(in->cfg, "CX_PG_DSN"),
                                (int)cx_config_int(in->cfg, "CX_STARTUP_TIMEOUT"), &err);
        if (!in->ctx.db) {
                rc = fail(in, &err);
        } else {
                rc = in->cmd->run(in);
                cx_db_close(in->ctx.db);
        }
        memset(in->ctx.key, 0, sizeof(in->ctx.key));
        cx_http_global_cleanup();
        cx_config_free(in->cfg);
        return rc;
}

int main(int argc, char **argv)
{
        inv in;
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
                if (first >= argc || !strcmp(argv[first], "--help") ||
                    !strcmp(argv[first], "-h")) {
                        group_usage(first >= argc ? stderr : stdout, group);
                        return first >= argc ? OPS_EXIT_USAGE : OPS_EXIT_OK;
                }
        }
        name = argv[first++];
        for (size_t i = 0; i < N_COMMANDS; i++) {
                const cmd *c = &commands[i];

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
