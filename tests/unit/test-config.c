/* Configuration table: defaults, bounds, required values, unknown variables, secrets. */
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "tests/testlib.h"

static const cx_cfg_var vars[] = {
        { "CX_NAME", CX_CFG_STR, NULL, 0, 0, false, "a required name" },
        { "CX_PORT", CX_CFG_INT, "9100", 1, 65535, false, "a port" },
        { "CX_FLAG", CX_CFG_BOOL, "false", 0, 0, false, "a flag" },
        { "CX_TOKEN", CX_CFG_STR, "", 0, 0, true, "a secret" },
        CX_CFG_END,
};
static const cx_cfg_var *const tables[] = { vars, NULL };

static cx_config *load(const char **env, cx_err *err)
{
        cx_err_clear(err);
        /* The loader only reads the strings; environ's type just is not const. */
        return cx_config_load(tables, (char **)env, err);
}

static void test_config_defaults_and_values(void)
{
        const char *env[] = { "CX_NAME=shop", "CX_FLAG=yes", "HOME=/root", NULL };
        cx_err err;
        cx_config *cfg = load(env, &err);

        T_FATAL(cfg != NULL, "%s", err.msg);
        T_EQ_STR(cx_config_str(cfg, "CX_NAME"), "shop");
        T_EQ_INT(cx_config_int(cfg, "CX_PORT"), 9100);
        T_ASSERT(cx_config_bool(cfg, "CX_FLAG"), "flag");
        T_ASSERT(!cx_config_is_set(cfg, "CX_PORT"), "defaulted");
        cx_config_free(cfg);
}

static void test_config_rejects_missing_required(void)
{
        const char *env[] = { NULL };
        cx_err err;

        T_ASSERT(load(env, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "CX_NAME");
        T_CONTAINS(err.msg, "required");
}

static void test_config_rejects_out_of_range_port(void)
{
        const char *env[] = { "CX_NAME=x", "CX_PORT=70000", NULL };
        const char *env2[] = { "CX_NAME=x", "CX_PORT=12ab", NULL };
        cx_err err;

        T_ASSERT(load(env, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "CX_PORT");
        T_CONTAINS(err.msg, "1..65535");
        T_ASSERT(load(env2, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "expected an integer");
}

static void test_config_rejects_bad_bool(void)
{
        const char *env[] = { "CX_NAME=x", "CX_FLAG=maybe", NULL };
        cx_err err;

        T_ASSERT(load(env, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "CX_FLAG");
}

static void test_config_rejects_unknown_prefixed_variable(void)
{
        const char *env[] = { "CX_NAME=x", "CX_PROT=1", NULL };
        cx_err err;

        T_ASSERT(load(env, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "CX_PROT");
        T_CONTAINS(err.msg, "unknown");
}

static void test_config_empty_counts_as_unset(void)
{
        const char *env[] = { "CX_NAME=x", "CX_PORT=", NULL };
        cx_err err;
        cx_config *cfg = load(env, &err);

        T_FATAL(cfg != NULL, "%s", err.msg);
        T_EQ_INT(cx_config_int(cfg, "CX_PORT"), 9100);
        cx_config_free(cfg);
}

static void test_config_secret_never_in_error(void)
{
        static const cx_cfg_var sv[] = {
                { "CX_KEY", CX_CFG_INT, "1", 0, 10, true, "secret number" },
                CX_CFG_END,
        };
        const cx_cfg_var *const st[] = { sv, NULL };
        const char *env[] = { "CX_KEY=hunter2secret", NULL };
        cx_err err;

        T_ASSERT(cx_config_load(st, (char **)env, &err) == NULL, "loaded");
        T_ASSERT(strstr(err.msg, "hunter2secret") == NULL, "secret leaked: %s", err.msg);
}

static char *write_temp(const char *content)
{
        static char path[64];
        int fd;

        snprintf(path, sizeof(path), "/tmp/cx-test-config-XXXXXX");
        fd = mkstemp(path);
        T_FATAL(fd >= 0, "mkstemp");
        T_FATAL(write(fd, content, strlen(content)) == (ssize_t)strlen(content), "write");
        close(fd);
        return path;
}

static void test_config_secret_from_file(void)
{
        char env_file[128];
        const char *path = write_temp("s3cret-from-file\r\n");
        const char *env[] = { "CX_NAME=x", env_file, NULL };
        cx_err err;
        cx_config *cfg;

        snprintf(env_file, sizeof(env_file), "CX_TOKEN_FILE=%s", path);
        cfg = load(env, &err);
        T_FATAL(cfg != NULL, "%s", err.msg);
        /* the trailing line break of the file is not part of the secret */
        T_EQ_STR(cx_config_str(cfg, "CX_TOKEN"), "s3cret-from-file");
        T_ASSERT(cx_config_is_set(cfg, "CX_TOKEN"), "set from the file");
        cx_config_free(cfg);
        unlink(path);
}

static void test_config_file_form_errors(void)
{
        char env_file[128];
        const char *both[] = { "CX_NAME=x", "CX_TOKEN=inline", env_file, NULL };
        const char *missing[] = { "CX_NAME=x", "CX_TOKEN_FILE=/nonexistent/cx-token", NULL };
        const char *not_secret[] = { "CX_NAME_FILE=/etc/hostname", NULL };
        const char *path = write_temp("file-secret-content\n");
        const char *empty = NULL;
        cx_err err;

        snprintf(env_file, sizeof(env_file), "CX_TOKEN_FILE=%s", path);
        T_ASSERT(load(both, &err) == NULL, "both forms loaded");
        T_CONTAINS(err.msg, "CX_TOKEN_FILE");
        T_CONTAINS(err.msg, "both");
        T_ASSERT(strstr(err.msg, "inline") == NULL, "secret leaked: %s", err.msg);
        unlink(path);
        T_ASSERT(load(missing, &err) == NULL, "missing file loaded");
        T_CONTAINS(err.msg, "CX_TOKEN_FILE");
        T_CONTAINS(err.msg, "/nonexistent/cx-token");
        /* only secret variables have a _FILE form */
        T_ASSERT(load(not_secret, &err) == NULL, "a _FILE form of a plain variable loaded");
        T_CONTAINS(err.msg, "CX_NAME_FILE");
        T_CONTAINS(err.msg, "unknown");
        empty = write_temp("\n");
        snprintf(env_file, sizeof(env_file), "CX_TOKEN_FILE=%s", empty);
        {
                const char *env[] = { "CX_NAME=x", env_file, NULL };

                T_ASSERT(load(env, &err) == NULL, "empty file loaded");
                T_CONTAINS(err.msg, "empty");
        }
        unlink(empty);
}

static void test_config_reference_lists_every_variable(void)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cx_config_print_reference(f, "prog", tables);
        fclose(f);
        for (const cx_cfg_var *v = vars; v->name; v++)
                T_CONTAINS(buf, v->name);
        T_CONTAINS(buf, "**required**");
        free(buf);
}

int main(void)
{
        T_RUN(test_config_defaults_and_values);
        T_RUN(test_config_rejects_missing_required);
        T_RUN(test_config_rejects_out_of_range_port);
        T_RUN(test_config_rejects_bad_bool);
        T_RUN(test_config_rejects_unknown_prefixed_variable);
        T_RUN(test_config_empty_counts_as_unset);
        T_RUN(test_config_secret_never_in_error);
        T_RUN(test_config_secret_from_file);
        T_RUN(test_config_file_form_errors);
        T_RUN(test_config_reference_lists_every_variable);
        return t_done();
}
