/* test-journal.c: what makes any Kafka record dead-letterable (common/journal.h): the readable
 * rendering of bytes that are not UTF-8, and base64 that gives the exact bytes back. */
#include "common/journal.h"

#include <stdlib.h>
#include <string.h>

#include "tests/testlib.h"

static void readable(const char *bytes, size_t len, const char *want)
{
        char *s = cx_readable_text(bytes, len);

        T_EQ_STR(s, want);
        free(s);
}

static void test_readable(void)
{
        readable("plain", 5, "plain");
        readable("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac");
        readable("\xff\xfe{", 3, "\\xff\\xfe{");
        readable("a\0b", 3, "a\\x00b");
        /* overlong slash, a lone surrogate, above U+10FFFF, a cut-off sequence */
        readable("\xc0\xaf", 2, "\\xc0\\xaf");
        readable("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
        readable("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
        readable("x\xe2\x82", 3, "x\\xe2\\x82");
        readable(NULL, 0, "");
}

static void round_trip(const char *bytes, size_t len, const char *want)
{
        char *b = cx_base64(bytes, len);
        unsigned char *back = NULL;
        long n;

        T_EQ_STR(b, want);
        n = cx_base64_decode(b, &back);
        if (len == 0) {
                T_EQ_INT(n, -1);
        } else {
                T_EQ_INT(n, (long)len);
                T_ASSERT(back && !memcmp(back, bytes, len), "bytes of \"%s\" differ", want);
        }
        free(back);
        free(b);
}

static void test_base64(void)
{
        unsigned char *out = NULL;

        round_trip("", 0, "");
        round_trip("f", 1, "Zg==");
        round_trip("fo", 2, "Zm8=");
        round_trip("foo", 3, "Zm9v");
        round_trip("\xff\x00\xfe", 3, "/wD+");
        T_EQ_INT(cx_base64_decode("not base64!", &out), -1);
        T_ASSERT(out == NULL, "no buffer after a refusal");
        T_EQ_INT(cx_base64_decode("abc", &out), -1);
}

int main(void)
{
        T_RUN(test_readable);
        T_RUN(test_base64);
        return t_done();
}
