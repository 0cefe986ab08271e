/* testlib.h: the few assertions our C tests need. A failed check prints the expression, the
 * place and both values, and the test program exits 1 at the end (or at once for T_FATAL). */
#ifndef CX_TESTLIB_H
#define CX_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures;
static int t_checks;

#define T_ASSERT(expr, ...)                                                                      \
        do {                                                                                     \
                t_checks++;                                                                      \
                if (!(expr)) {                                                                   \
                        t_failures++;                                                            \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #expr); \
                        fprintf(stderr, __VA_ARGS__);                                            \
                        fputc('\n', stderr);                                                     \
                }                                                                                \
        } while (0)

/* Evaluates expr once (it may have side effects) and stops the program when it fails. */
#define T_FATAL(expr, ...)                    \
        do {                                  \
                int t_ok_ = !!(expr);         \
                T_ASSERT(t_ok_, __VA_ARGS__); \
                if (!t_ok_)                   \
                        exit(1);              \
        } while (0)

#define T_EQ_INT(a, b) \
        T_ASSERT((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

static inline int t_str_eq(const char *a, const char *b)
{
        return a && b && !strcmp(a, b);
}

static inline const char *t_str(const char *s)
{
        return s ? s : "(null)";
}

#define T_EQ_STR(a, b) T_ASSERT(t_str_eq((a), (b)), "\"%s\" != \"%s\"", t_str(a), t_str(b))

#define T_CONTAINS(hay, needle)                                      \
        T_ASSERT(t_str(hay) != NULL && strstr(t_str(hay), (needle)), \
                 "\"%s\" does not contain \"%s\"", t_str(hay), (needle))

#define T_RUN(fn)                               \
        do {                                    \
                fprintf(stderr, "# %s\n", #fn); \
                fn();                           \
        } while (0)

static inline int t_done(void)
{
        fprintf(stderr, "%d checks, %d failed\n", t_checks, t_failures);
        return t_failures ? 1 : 0;
}

/** @brief Environment variable a test needs; fatal when missing (tests never skip). */
static inline const char *t_need_env(const char *name)
{
        const char *v = getenv(name);

        if (!v || !*v) {
                fprintf(stderr,
                        "%s is not set: run the tests through tests/harness/services.py "
                        "(meson test alone does not start Kafka and PostgreSQL)\n",
                        name);
                exit(1);
        }
        return v;
}

#endif
