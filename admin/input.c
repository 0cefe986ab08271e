#include "admin/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define MAX_SECRET (64 * 1024)

/* Read a secret from @p path ("-" is stdin), without its trailing newline. */
char *input_secret(const char *path, cx_err *err)
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

void input_free_secret(char *s)
{
        if (s) {
                memset(s, 0, strlen(s));
                free(s);
        }
}

char *input_text(const char *path, cx_err *err)
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

char *input_first_line(size_t max, cx_err *err)
{
        char *buf = calloc(1, max + 2);

        if (!buf) {
                cx_fail(err, CX_ERR_IO, false, "out of memory");
                return NULL;
        }
        if (!fgets(buf, (int)max + 2, stdin)) {
                free(buf);
                cx_fail(err, CX_ERR_PARSE, false, "expected the password on stdin");
                return NULL;
        }
        buf[strcspn(buf, "\r\n")] = '\0';
        return buf;
}
