/* Logging: every event is one line of valid JSON on stderr, secrets never appear. */
#include <jansson.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/testlib.h"

/* Run @p fn with stderr sent to a temp file; return what it wrote (malloc'd). */
static char *capture(void (*fn)(void))
{
        char path[] = "/tmp/cx-test-log-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        FILE *f;
        char *buf;
        long len;

        fflush(stderr);
        dup2(fd, STDERR_FILENO);
        fn();
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        f = fdopen(fd, "r");
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        buf = calloc(1, (size_t)len + 1);
        if (fread(buf, 1, (size_t)len, f) != (size_t)len)
                buf[0] = '\0';
        fclose(f);
        unlink(path);
        return buf;
}

static void emit_events(void)
{
        cx_log_init("unit", CX_LOG_DEBUG);
        cx_log(CX_LOG_INFO, "one", "plain message");
        cx_log(CX_LOG_WARN, "two", "quotes \" and\nnewlines and \\ backslashes");
        cx_log_fields(CX_LOG_ERROR, "three", json_pack("{s:s, s:i}", "tenant", "demo", "n", 3),
                      "with fields");
        cx_log(CX_LOG_INFO, "bad-utf8", "bytes \xff\xfe here");
        cx_log(CX_LOG_DEBUG, "four", "debug line");
}

static void emit_filtered(void)
{
        cx_log_init("unit", CX_LOG_WARN);
        cx_log(CX_LOG_INFO, "hidden", "not shown");
        cx_log(CX_LOG_ERROR, "shown", "shown");
}

static void emit_secret(void)
{
        cx_log_init("unit", CX_LOG_DEBUG);
        cx_log_add_secret("s3cr3t-Token!value");
        cx_log(CX_LOG_INFO, "token", "refreshing with s3cr3t-Token!value now");
        cx_log_fields(CX_LOG_INFO, "token2",
                      json_pack("{s:s}", "auth", "Bearer s3cr3t-Token!value"), "x");
}

static void test_log_each_line_is_json(void)
{
        char *out = capture(emit_events), *save = NULL;
        int lines = 0;

        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_error_t jerr;
                json_t *j = json_loads(line, 0, &jerr);

                T_ASSERT(j != NULL, "line %d is not JSON: %s (%s)", lines, line, jerr.text);
                T_ASSERT(json_is_string(json_object_get(j, "ts")), "ts");
                T_ASSERT(json_is_string(json_object_get(j, "level")), "level");
                T_ASSERT(json_is_string(json_object_get(j, "event")), "event");
                if (lines == 2)
                        T_EQ_STR(json_string_value(json_object_get(j, "tenant")), "demo");
                json_decref(j);
                lines++;
        }
        T_EQ_INT(lines, 5);
        free(out);
}

static void test_log_level_filters(void)
{
        char *out = capture(emit_filtered);

        T_ASSERT(strstr(out, "hidden") == NULL, "info shown at warn level");
        T_CONTAINS(out, "\"shown\"");
        free(out);
}

static void test_log_redacts_secrets(void)
{
        char *out = capture(emit_secret);

        T_ASSERT(strstr(out, "s3cr3t") == NULL, "secret leaked: %s", out);
        T_CONTAINS(out, "***");
        free(out);
}

/* 2,000 tenants' secrets (more than any table held before): each one masked, the oldest
 * too, and a forgotten one no longer. */
static void emit_many_secrets(void)
{
        char s[64];

        cx_log_init("unit", CX_LOG_DEBUG);
        for (int i = 0; i < 2000; i++) {
                snprintf(s, sizeof(s), "shopsecret-%04d-x\"q", i);
                cx_log_add_secret(s);
        }
        cx_log_forget_secret("shopsecret-0500-x\"q");
        for (int i = 0; i < 2000; i += 250) {
                snprintf(s, sizeof(s), "shopsecret-%04d-x\"q", i);
                cx_log(CX_LOG_INFO, "many", "secret %s end", s);
                cx_log_fields(CX_LOG_INFO, "many2", json_pack("{s:s}", "auth", s), "field");
        }
}

static void test_log_redacts_thousands(void)
{
        char *out = capture(emit_many_secrets);
        int lines = 0;

        T_EQ_INT(cx_log_secret_count(), 2000 - 1 + 1); /* +1: emit_secret's */
        T_ASSERT(strstr(out, "shopsecret-0000") == NULL, "oldest secret leaked");
        T_ASSERT(strstr(out, "shopsecret-1750") == NULL, "newest secret leaked");
        T_CONTAINS(out, "shopsecret-0500-x\\\"q"); /* forgotten: shown JSON-escaped */
        T_CONTAINS(out, "\"msg\":\"secret *** end\"");
        T_CONTAINS(out, "\"auth\":\"***\"");
        for (const char *p = strchr(out, '\n'); p; p = strchr(p + 1, '\n'))
                lines++;
        T_EQ_INT(lines, 16);
        free(out);
        cx_log_free_secrets();
        T_EQ_INT(cx_log_secret_count(), 0);
}

static void test_log_level_parse(void)
{
        cx_log_level l;

        T_EQ_INT(cx_log_level_parse("warn", &l), 0);
        T_EQ_INT(l, CX_LOG_WARN);
        T_EQ_INT(cx_log_level_parse("verbose", &l), -1);
}

int main(void)
{
        T_RUN(test_log_each_line_is_json);
        T_RUN(test_log_level_filters);
        T_RUN(test_log_redacts_secrets);
        T_RUN(test_log_redacts_thousands);
        T_RUN(test_log_level_parse);
        return t_done();
}
