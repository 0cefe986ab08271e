/* iso8601.c: ISO 8601 instants (see iso8601.h). */
#include "common/iso8601.h"

#include <stdbool.h>
#include <time.h>

/* @p n digits at @p s as a number, or -1 when one is not a digit. */
static int digits(const char *s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

static bool leap_year(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
        static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to a valid civil date (proleptic Gregorian calendar). */
static long long days_from_civil(int y, int m, int d)
{
        long long era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

/* The zone at @p p (after the time) as seconds east of UTC; *end past it. -1: malformed. */
static int zone_offset(const char *p, const char **end, long long *off)
{
        int sign, oh, om = 0;

        *off = 0;
        if (*p == 'Z') {
                *end = p + 1;
                return 0;
        }
        if (*p != '+' && *p != '-') {
                *end = p;
                return 0;
        }
        sign = *p == '-' ? -1 : 1;
        oh = digits(p + 1, 2);
        if (oh < 0)
                return -1;
        p += 3;
        if (*p == ':')
                p++;
        if (*p) {
                om = digits(p, 2);
                if (om < 0)
                        return -1;
                p += 2;
        }
        if (oh > 14 || om > 59)
                return -1;
        *off = sign * (oh * 3600LL + om * 60LL);
        *end = p;
        return 0;
}

int cx_iso8601_parse(const char *text, long long *out)
{
        int y, mo, d, h = 0, mi = 0, s = 0;
        long long off = 0;
        const char *p;

        if (!text || (y = digits(text, 4)) < 0 || text[4] != '-' ||
            (mo = digits(text + 5, 2)) < 0 || text[7] != '-' || (d = digits(text + 8, 2)) < 0)
                return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
                return -1;
        p = text + 10;
        if (*p == 'T' || *p == ' ') {
                /* each digits() stops at the end of the text, so the ':' checks stay inside */
                if ((h = digits(p + 1, 2)) < 0 || p[3] != ':' || (mi = digits(p + 4, 2)) < 0 ||
                    p[6] != ':' || (s = digits(p + 7, 2)) < 0)
                        return -1;
                if (h > 23 || mi > 59 || s > 60)
                        return -1;
                p += 9;
                if (*p == '.') {
                        p++;
                        while (*p >= '0' && *p <= '9')
                                p++;
                }
                if (zone_offset(p, &p, &off) < 0)
                        return -1;
        }
        if (*p)
                return -1;
        *out = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + s - off;
        return 0;
}

void cx_iso8601_format(long long t, char *out, size_t size)
{
        time_t tt = (time_t)t;
        struct tm tm;

        gmtime_r(&tt, &tm);
        strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
