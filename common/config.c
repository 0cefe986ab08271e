#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kafka.h"
#include "common/log.h"

const cx_cfg_var cx_common_vars[] = {
        { "CX_KAFKA_BROKERS", CX_CFG_STR, NULL, 0, 0, false,
          "Kafka bootstrap servers, host:port[,host:port...]" },
        { "CX_PG_DSN", CX_CFG_STR, NULL, 0, 0, true,
          "PostgreSQL connection string (libpq keyword/value or URI form)" },
        { "CX_LOG_LEVEL", CX_CFG_STR, "info", 0, 0, false, "debug, info, warn or error" },
        { "CX_HTTP_ADDR", CX_CFG_STR, "0.0.0.0", 0, 0, false,
          "address of the /healthz and /readyz listener (and the program's own routes)" },
        { "CX_HTTP_PORT", CX_CFG_INT, "9100", 0, 65535, false,
          "port of the /healthz and /readyz listener (0 picks a free one)" },
        { "CX_METRICS_LISTEN", CX_CFG_STR, "127.0.0.1:9101", 0, 0, false,
          "IPv4ADDR:PORT of the internal listener that alone serves /metrics (port 0 picks a "
          "free one); loopback unless a scraper elsewhere needs it" },
        { "CX_INSTANCE_ID", CX_CFG_STR, "", 0, 0, false,
          "name of this instance in logs, leases and consumer groups (default: host name + pid)" },
        { "CX_TOPIC_PREFIX", CX_CFG_STR, "", 0, 0, false,
          "prefix for every Kafka topic name, to share one cluster between environments" },
        { "CX_STARTUP_TIMEOUT", CX_CFG_INT, "60", 0, 3600, false,
          "seconds to keep retrying Kafka and PostgreSQL at start before giving up" },
        CX_CFG_END,
};

struct cx_config_value {
        const cx_cfg_var *var;
        char *text;
        long long num;
        bool set;
};

struct cx_config {
        struct cx_config_value *values;
        size_t n;
};

static const char *env_lookup(char **envp, const char *name)
{
        size_t len = strlen(name);

        for (char **e = envp; e && *e; e++) {
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        }
        return NULL;
}

const char *cx_config_lookup(char **envp, const char *name)
{
        const char *v = env_lookup(envp, name);

        return v && *v ? v : NULL;
}

static const cx_cfg_var *find_var(const cx_cfg_var *const *tables, const char *name, size_t len)
{
        for (const cx_cfg_var *const *t = tables; *t; t++) {
                for (const cx_cfg_var *v = *t; v->name; v++) {
                        if (strlen(v->name) == len && strncmp(v->name, name, len) == 0)
                                return v;
                }
        }
        return NULL;
}

/* NAME_FILE names a secret variable NAME: its value is read from that file (docker secrets,
 * Kubernetes secret volumes). Returns the secret row, or NULL when @p name is no such form. */
static const cx_cfg_var *file_form_of(const cx_cfg_var *const *tables, const char *name, size_t len)
{
        const size_t suffix = strlen(CX_CFG_FILE_SUFFIX);
        const cx_cfg_var *v;

        if (len <= suffix || strncmp(name + len - suffix, CX_CFG_FILE_SUFFIX, suffix) != 0)
                return NULL;
        v = find_var(tables, name, len - suffix);
        return v && v->secret ? v : NULL;
}

/* The whole file, without its trailing line break(s); never echoes the content. */
static char *read_secret_file(const cx_cfg_var *v, const char *path, cx_err *err)
{
        enum {
                MAX_SECRET = 64 * 1024
        };
        FILE *f = fopen(path, "r");
        char *buf;
        size_t n;

        if (!f) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s%s: cannot read %s: %s", v->name,
                        CX_CFG_FILE_SUFFIX, path, strerror(errno));
                return NULL;
        }
        buf = malloc(MAX_SECRET + 1);
        if (!buf) {
                fclose(f);
                cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
                return NULL;
        }
        n = fread(buf, 1, MAX_SECRET + 1, f);
        if (ferror(f) || n > MAX_SECRET) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s%s: %s %s", v->name, CX_CFG_FILE_SUFFIX, path,
                        ferror(f) ? "cannot be read" : "is larger than 64 KiB");
                fclose(f);
                free(buf);
                return NULL;
        }
        fclose(f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = '\0';
        if (n == 0 || memchr(buf, '\0', n)) {
                cx_fail(err, CX_ERR_CONFIG, false, "%s%s: %s %s", v->name, CX_CFG_FILE_SUFFIX, path,
                        n ? "holds a NUL byte" : "is empty");
                free(buf);
                return NULL;
        }
        return buf;
}

/* The value of @p v from the environment: NAME, or the content of the file NAME_FILE names
 * (secrets only; not both). *owned is set when the text was allocated here. */
static int env_value(const cx_cfg_var *v, char **envp, const char **text, char **owned, cx_err *err)
{
        char file_name[128];
        const char *path = NULL;

        *owned = NULL;
        *text = env_lookup(envp, v->name);
        /* An empty value counts as unset, as in kcat. */
        if (*text && !**text)
                *text = NULL;
        if (v->secret && snprintf(file_name, sizeof(file_name), "%s%s", v->name,
                                  CX_CFG_FILE_SUFFIX) < (int)sizeof(file_name))
                path = cx_config_lookup(envp, file_name);
        if (!path)
                return 0;
        if (*text)
                return cx_fail(err, CX_ERR_CONFIG, false, "%s and %s are both set: use one",
                               v->name, file_name);
        *owned = read_secret_file(v, path, err);
        if (!*owned)
                return -1;
        *text = *owned;
        return 0;
}

static int parse_value(struct cx_config_value *val, const char *text, cx_err *err)
{
        const cx_cfg_var *v = val->var;
        char *end;

        switch (v->type) {
        case CX_CFG_STR: break;
        case CX_CFG_INT:
                errno = 0;
                val->num = strtoll(text, &end, 10);
                if (errno || end == text || *end)
                        return cx_fail(err, CX_ERR_CONFIG, false,
                                       "%s: expected an integer between %lld and %lld, got \"%s\"",
                                       v->name, v->min, v->max, v->secret ? "***" : text);
                if (val->num < v->min || val->num > v->max)
                        return cx_fail(err, CX_ERR_CONFIG, false,
                                       "%s: %lld is out of range, expected %lld..%lld", v->name,
                                       val->num, v->min, v->max);
                break;
        case CX_CFG_BOOL:
                if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes"))
                        val->num = 1;
                else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"))
                        val->num = 0;
                else
                        return cx_fail(err, CX_ERR_CONFIG, false,
                                       "%s: expected true/false (or 1/0, yes/no), got \"%s\"",
                                       v->name, text);
                break;
        }
        val->text = strdup(text);
        if (!val->text)
                return cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
        return 0;
}

/* A program that talks to Kafka (declares CX_KAFKA_BROKERS) takes CX_KAFKA_PROPERTY_*. */
static bool takes_kafka_properties(const cx_cfg_var *const *tables)
{
        return find_var(tables, "CX_KAFKA_BROKERS", strlen("CX_KAFKA_BROKERS")) != NULL;
}

cx_config *cx_config_load(const cx_cfg_var *const *tables, char **envp, cx_err *err)
{
        cx_config *cfg = calloc(1, sizeof(*cfg));
        bool kafka = takes_kafka_properties(tables);
        size_t n = 0, i = 0;

        if (!cfg)
                goto oom;
        /* Refuse CX_* variables that no table declares: a typo must not pass silently. */
        for (char **e = envp; e && *e; e++) {
                const char *eq = strchr(*e, '=');

                if (strncmp(*e, CX_ENV_PREFIX, strlen(CX_ENV_PREFIX)) != 0 || !eq)
                        continue;
                if (kafka &&
                    !strncmp(*e, CX_KAFKA_PROPERTY_PREFIX, strlen(CX_KAFKA_PROPERTY_PREFIX)))
                        continue; /* checked against librdkafka below */
                if (!find_var(tables, *e, (size_t)(eq - *e)) &&
                    !file_form_of(tables, *e, (size_t)(eq - *e))) {
                        cx_fail(err, CX_ERR_CONFIG, false,
                                "%.*s: unknown variable (not read by this program)", (int)(eq - *e),
                                *e);
                        cx_config_free(cfg);
                        return NULL;
                }
        }
        for (const cx_cfg_var *const *t = tables; *t; t++)
                for (const cx_cfg_var *v = *t; v->name; v++)
                        n++;
        cfg->values = calloc(n ? n : 1, sizeof(*cfg->values));
        if (!cfg->values)
                goto oom;
        cfg->n = n;
        for (const cx_cfg_var *const *t = tables; *t; t++) {
                for (const cx_cfg_var *v = *t; v->name; v++, i++) {
                        struct cx_config_value *val = &cfg->values[i];
                        const char *text;
                        char *owned;
                        int rc;

                        val->var = v;
                        if (env_value(v, envp, &text, &owned, err) < 0) {
                                cx_config_free(cfg);
                                return NULL;
                        }
                        val->set = text != NULL;
                        if (!text)
                                text = v->def;
                        if (!text) {
                                cx_fail(err, CX_ERR_CONFIG, false, "%s: required but not set (%s)",
                                        v->name, v->help);
                                cx_config_free(cfg);
                                return NULL;
                        }
                        rc = parse_value(val, text, err);
                        free(owned);
                        if (rc < 0) {
                                cx_config_free(cfg);
                                return NULL;
                        }
                        if (v->secret && val->set)
                                cx_log_add_secret(val->text);
                }
        }
        if (kafka && cx_kafka_properties_load(envp, err) < 0) {
                cx_config_free(cfg);
                return NULL;
        }
        return cfg;
oom:
        cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
        cx_config_free(cfg);
        return NULL;
}

cx_config *cx_config_load_or_exit(const char *program, const cx_cfg_var *const *tables, char **envp)
{
        cx_err err = { 0 };
        cx_config *cfg = cx_config_load(tables, envp, &err);

        if (!cfg) {
                fprintf(stderr, "%s: configuration error: %s\n", program, err.msg);
                exit(2);
        }
        return cfg;
}

static const struct cx_config_value *lookup(const cx_config *cfg, const char *name)
{
        for (size_t i = 0; i < cfg->n; i++)
                if (!strcmp(cfg->values[i].var->name, name))
                        return &cfg->values[i];
        fprintf(stderr, "BUG: configuration variable %s is not declared\n", name);
        abort();
}

const char *cx_config_str(const cx_config *cfg, const char *name)
{
        return lookup(cfg, name)->text;
}

long long cx_config_int(const cx_config *cfg, const char *name)
{
        return lookup(cfg, name)->num;
}

bool cx_config_bool(const cx_config *cfg, const char *name)
{
        return lookup(cfg, name)->num != 0;
}

bool cx_config_is_set(const cx_config *cfg, const char *name)
{
        return lookup(cfg, name)->set;
}

void cx_config_free(cx_config *cfg)
{
        if (!cfg)
                return;
        for (size_t i = 0; i < cfg->n; i++)
                free(cfg->values[i].text);
        free(cfg->values);
        free(cfg);
}

static const char *type_name(cx_cfg_type t)
{
        switch (t) {
        case CX_CFG_STR: return "string";
        case CX_CFG_INT: return "integer";
        case CX_CFG_BOOL: return "boolean";
        }
        return "?";
}

void cx_config_print_reference(FILE *out, const char *program, const cx_cfg_var *const *tables)
{
        fprintf(out,
                "## %s\n\n| variable | type | default | range | secret | meaning |\n"
                "|---|---|---|---|---|---|\n",
                program);
        for (const cx_cfg_var *const *t = tables; *t; t++) {
                for (const cx_cfg_var *v = *t; v->name; v++) {
                        char range[64] = "";

                        if (v->type == CX_CFG_INT)
                                snprintf(range, sizeof(range), "%lld..%lld", v->min, v->max);
                        fprintf(out, "| `%s` | %s | %s%s%s | %s | %s | %s |\n", v->name,
                                type_name(v->type), v->def ? "`" : "",
                                v->def ? (*v->def ? v->def : "(empty)") : "**required**",
                                v->def ? "`" : "", range, v->secret ? "yes" : "no", v->help);
                }
        }
        if (takes_kafka_properties(tables))
                fprintf(out,
                        "| `%s<NAME>` | string | (unset) |  | by name | librdkafka client "
                        "property NAME for every Kafka client, '.' written '_' and '_' "
                        "written '__' (`%sSECURITY_PROTOCOL=SASL_SSL`); `%s<NAME>_FILE` "
                        "reads the value from a file; passwords, secrets and private keys "
                        "are never logged |\n",
                        CX_KAFKA_PROPERTY_PREFIX, CX_KAFKA_PROPERTY_PREFIX,
                        CX_KAFKA_PROPERTY_PREFIX);
        fputc('\n', out);
}
