/* Configuration table: defaults, bounds, required values, unknown variables, secrets. */
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "common/kafka.h"
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

/* A program that talks to Kafka: it takes CX_KAFKA_PROPERTY_* for every client. */
static const cx_cfg_var kvars[] = {
        { "CX_KAFKA_BROKERS", CX_CFG_STR, NULL, 0, 0, false, "brokers" },
        CX_CFG_END,
};
static const cx_cfg_var *const ktables[] = { kvars, NULL };

static cx_config *kload(const char **env, cx_err *err)
{
        cx_err_clear(err);
        return cx_config_load(ktables, (char **)env, err);
}

static void conf_value(rd_kafka_conf_t *conf, const char *name, char *out, size_t size)
{
        if (rd_kafka_conf_get(conf, name, out, &size) != RD_KAFKA_CONF_OK)
                snprintf(out, size, "(unset)");
}

static void test_kafka_properties_reach_every_client(void)
{
        char path[] = "/tmp/cx-test-kafka-XXXXXX";
        int fd = mkstemp(path);
        char var[300], got[256];
        const char *env[] = { "CX_KAFKA_BROKERS=k:9092",
                              "CX_KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL",
                              "CX_KAFKA_PROPERTY_SASL_MECHANISM=SCRAM-SHA-512",
                              "CX_KAFKA_PROPERTY_SASL_USERNAME=connector",
                              "CX_KAFKA_PROPERTY_LOG__LEVEL=3",
                              "CX_KAFKA_PROPERTY_LINGER_MS=50",
                              var,
                              NULL };
        cx_err err;
        cx_config *cfg;
        rd_kafka_conf_t *conf;

        T_FATAL(fd >= 0, "mkstemp");
        T_FATAL(write(fd, "s3cr3t-from-file\n", 17) == 17, "write");
        close(fd);
        snprintf(var, sizeof(var), "CX_KAFKA_PROPERTY_SASL_PASSWORD_FILE=%s", path);
        cfg = kload(env, &err);
        T_FATAL(cfg != NULL, "%s", err.msg);
        conf = rd_kafka_conf_new();
        T_FATAL(cx_kafka_apply_properties(conf, &err) == 0, "%s", err.msg);
        conf_value(conf, "security.protocol", got, sizeof(got));
        T_EQ_STR(got, "sasl_ssl");
        conf_value(conf, "sasl.username", got, sizeof(got));
        T_EQ_STR(got, "connector");
        conf_value(conf, "sasl.password", got, sizeof(got));
        T_EQ_STR(got, "s3cr3t-from-file"); /* the file's last newline is not the value's */
        conf_value(conf, "log_level", got, sizeof(got));
        T_EQ_STR(got, "3");
        conf_value(conf, "linger.ms", got, sizeof(got));
        T_EQ_STR(got, "50");
        rd_kafka_conf_destroy(conf);
        cx_config_free(cfg);
        unlink(path);
}

static void test_kafka_properties_refused_with_the_variable_named(void)
{
        static const struct {
                const char *var, *want;
        } cases[] = {
                { "CX_KAFKA_PROPERTY_SECURITY_PROTOCOL=TLS", "librdkafka refuses" },
                { "CX_KAFKA_PROPERTY_SASL_PASWORD=x", "no property \"sasl.pasword\"" },
                { "CX_KAFKA_PROPERTY_ENABLE_IDEMPOTENCE=false", "set by the connector" },
                { "CX_KAFKA_PROPERTY_BOOTSTRAP_SERVERS=a:1", "CX_KAFKA_BROKERS" },
                { "CX_KAFKA_PROPERTY_SASL-PASSWORD=x", "not a property name" },
                { "CX_KAFKA_PROPERTY_SSL_KEY_PASSWORD_FILE=/nonexistent/x", "cannot read" },
                { "CX_KAFKA_PROPERTY_SASL_PASSWORD_FILE=/dev/null", "is empty" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *env[] = { "CX_KAFKA_BROKERS=k:9092", cases[i].var, NULL };
                char name[128];
                cx_err err;

                snprintf(name, sizeof(name), "%.*s", (int)strcspn(cases[i].var, "="), cases[i].var);
                T_ASSERT(kload(env, &err) == NULL, "%s was accepted", cases[i].var);
                T_CONTAINS(err.msg, name);
                T_CONTAINS(err.msg, cases[i].want);
                T_ASSERT(strchr(err.msg, '\n') == NULL, "one line: %s", err.msg);
        }
}

static void test_kafka_property_and_its_file_form_conflict(void)
{
        const char *env[] = { "CX_KAFKA_BROKERS=k:9092", "CX_KAFKA_PROPERTY_SASL_PASSWORD=a",
                              "CX_KAFKA_PROPERTY_SASL_PASSWORD_FILE=/etc/hostname", NULL };
        cx_err err;

        T_ASSERT(kload(env, &err) == NULL, "loaded");
        T_CONTAINS(err.msg, "both set");
}

static void test_kafka_properties_only_for_kafka_programs(void)
{
        const char *env[] = { "CX_NAME=x", "CX_KAFKA_PROPERTY_SASL_USERNAME=u", NULL };
        cx_err err;

        T_ASSERT(load(env, &err) == NULL, "a program without Kafka took a Kafka property");
        T_CONTAINS(err.msg, "unknown variable");
}

static void test_kafka_secret_values_recognised(void)
{
        const char *env[] = { "CX_KAFKA_BROKERS=k:9092",
                              "CX_KAFKA_PROPERTY_SSL_KEY_PEM=not-a-pem-hunter2", NULL };
        cx_err err;
        cx_config *cfg;

        T_ASSERT(cx_kafka_property_is_secret("sasl.password"), "sasl.password");
        T_ASSERT(cx_kafka_property_is_secret("ssl.key.password"), "ssl.key.password");
        T_ASSERT(cx_kafka_property_is_secret("ssl.keystore.password"), "keystore");
        T_ASSERT(cx_kafka_property_is_secret("ssl.key.pem"), "ssl.key.pem");
        T_ASSERT(cx_kafka_property_is_secret("sasl.oauthbearer.client.secret"), "oauth");
        T_ASSERT(!cx_kafka_property_is_secret("sasl.username"), "username");
        T_ASSERT(!cx_kafka_property_is_secret("ssl.ca.location"), "ca");
        /* A refused secret value never appears in the message. */
        cfg = kload(env, &err);
        if (!cfg)
                T_ASSERT(strstr(err.msg, "hunter2") == NULL, "secret leaked: %s", err.msg);
        cx_config_free(cfg);
}

static void test_kafka_reference_documents_the_prefix(void)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        cx_config_print_reference(f, "prog", ktables);
        fclose(f);
        T_CONTAINS(buf, "CX_KAFKA_PROPERTY_<NAME>");
        free(buf);
        f = open_memstream(&buf, &len);
        cx_config_print_reference(f, "prog", tables);
        fclose(f);
        T_ASSERT(strstr(buf, "CX_KAFKA_PROPERTY_") == NULL, "offered to a non-Kafka program");
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
        T_RUN(test_kafka_properties_reach_every_client);
        T_RUN(test_kafka_properties_refused_with_the_variable_named);
        T_RUN(test_kafka_property_and_its_file_form_conflict);
        T_RUN(test_kafka_properties_only_for_kafka_programs);
        T_RUN(test_kafka_secret_values_recognised);
        T_RUN(test_kafka_reference_documents_the_prefix);
        return t_done();
}
