/* test-iso8601.c: the one ISO 8601 parser (common/iso8601.h): the forms the shop and the
 * operators write, and the impossible dates it refuses instead of rolling them over. */
#include "common/iso8601.h"

#include "tests/testlib.h"

static long long parsed(const char *text)
{
        long long t = -42;

        T_ASSERT(cx_iso8601_parse(text, &t) == 0, "\"%s\" refused", text);
        return t;
}

static void refused(const char *text)
{
        long long t = -42;

        T_ASSERT(cx_iso8601_parse(text, &t) < 0, "\"%s\" accepted", text);
        T_EQ_INT(t, -42);
}

static void test_forms(void)
{
        T_EQ_INT(parsed("1970-01-01"), 0);
        T_EQ_INT(parsed("2024-05-01"), 1714521600);
        T_EQ_INT(parsed("2024-05-01T12:30:00Z"), 1714566600);
        T_EQ_INT(parsed("2024-05-01 12:30:00Z"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T12:30:00"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T14:30:00+02:00"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T14:30:00+0200"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T14:30:00+02"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T09:00:00-03:30"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T12:30:00.999999Z"), 1714566600);
        T_EQ_INT(parsed("2024-05-01T00:30:00+01:00"), 1714519800);
        T_EQ_INT(parsed("1969-12-31T23:59:59Z"), -1);
        T_EQ_INT(parsed("2000-03-01"), 951868800);
        T_EQ_INT(parsed("2100-03-01"), 4107542400);
}

static void test_calendar(void)
{
        T_EQ_INT(parsed("2024-02-29"), 1709164800);
        T_EQ_INT(parsed("2000-02-29"), 951782400);
        T_EQ_INT(parsed("2024-12-31T23:59:60Z"), 1735689600);
        refused("2023-02-29");
        refused("1900-02-29");
        refused("2024-02-30");
        refused("2024-02-31");
        refused("2024-04-31");
        refused("2024-00-10");
        refused("2024-13-01");
        refused("2024-01-00");
        refused("2024-01-32");
}

static void test_refused(void)
{
        refused(NULL);
        refused("");
        refused("2024");
        refused("2024-05");
        refused("2024-5-01");
        refused("01-05-2024");
        refused(" 2024-05-01");
        refused("+024-05-01");
        refused("2024-05-01junk");
        refused("2024-05-01T");
        refused("2024-05-01T12:30");
        refused("2024-05-01T1:30:00Z");
        refused("2024-05-01T24:00:00Z");
        refused("2024-05-01T12:60:00Z");
        refused("2024-05-01T12:30:61Z");
        refused("2024-05-01T12:30:00Zjunk");
        refused("2024-05-01T12:30:00+15:00");
        refused("2024-05-01T12:30:00+01:60");
        refused("2024-05-01T12:30:00+1");
        refused("2024-05-01T12:30:00+01:0");
}

static void test_format(void)
{
        char out[32];

        cx_iso8601_format(1714566600, out, sizeof(out));
        T_EQ_STR(out, "2024-05-01T12:30:00Z");
        cx_iso8601_format(parsed("2024-02-29T23:00:00-01:00"), out, sizeof(out));
        T_EQ_STR(out, "2024-03-01T00:00:00Z");
}

int main(void)
{
        test_forms();
        test_calendar();
        test_refused();
        test_format();
        return t_done();
}
