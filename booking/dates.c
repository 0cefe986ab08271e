/* dates: see dates.h. */
#include "booking/dates.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/iso8601.h"

/* TZ is process-wide: one conversion at a time, and TZ restored after each, so nothing else
 * in the process ever sees another zone. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Adding or removing a variable may move glibc's environ array while another thread (libpq,
 * in the panel's request threads) reads it. Replacing the value of one that exists never
 * does, and glibc keeps the strings it set. So TZ is made to exist before main() runs, while
 * the process has one thread, and is only ever replaced afterwards. ":/etc/localtime" is what
 * an unset TZ means. */
static const char LOCAL_TZ[] = ":/etc/localtime";

__attribute__((constructor)) static void tz_exists(void)
{
        setenv("TZ", LOCAL_TZ, 0);
}

/* TZDIR and TZ are libc's own variables for its tz database, not our configuration: read
 * and set here because localtime_r() reads them, and nowhere else. */
static const char *tz_dir(void)
{
        const char *d = getenv("TZDIR");

        return d && *d ? d : "/usr/share/zoneinfo";
}

bool dates_zone_known(const char *tz)
{
        char path[512];

        if (!tz || !*tz || strlen(tz) > 64 || tz[0] == '/' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9') || strchr("/_-+", *p)))
                        return false;
        snprintf(path, sizeof(path), "%s/%s", tz_dir(), tz);
        return access(path, R_OK) == 0;
}

/* localtime_r of t in zone tz (a name dates_zone_known accepted). */
static int local_tm(long long t, const char *tz, struct tm *out)
{
        time_t tt = (time_t)t;
        char *saved = NULL;
        const char *old;
        char want[80];
        int rc;

        snprintf(want, sizeof(want), ":%s", tz);
        pthread_mutex_lock(&tz_lock);
        old = getenv("TZ");
        if (old)
                saved = strdup(old);
        setenv("TZ", want, 1);
        tzset();
        rc = localtime_r(&tt, out) ? 0 : -1;
        setenv("TZ", saved ? saved : LOCAL_TZ, 1);
        tzset();
        pthread_mutex_unlock(&tz_lock);
        free(saved);
        return rc;
}

int dates_local_day(const char *iso, const char *tz, char out[20], char *err, size_t errlen)
{
        long long t;
        struct tm tm;

        if (!tz || !*tz)
                tz = BOOKING_DEFAULT_TIME_ZONE;
        if (cx_iso8601_parse(iso, &t) != 0) {
                snprintf(err, errlen, "create_date \"%.40s\" is not an ISO 8601 timestamp",
                         iso ? iso : "");
                return -1;
        }
        if (!dates_zone_known(tz)) {
                snprintf(err, errlen,
                         "time zone \"%.64s\" is not in the tz database (%s; is tzdata "
                         "installed?)",
                         tz, tz_dir());
                return -1;
        }
        if (local_tm(t, tz, &tm) != 0) {
                snprintf(err, errlen, "create_date \"%.40s\" cannot be converted to %s", iso, tz);
                return -1;
        }
        if (tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) {
                snprintf(err, errlen, "create_date \"%.40s\" is out of range", iso);
                return -1;
        }
        snprintf(out, 20, "%04u-%02u-%02uT00:00:00", (unsigned)(tm.tm_year + 1900) % 10000u,
                 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
        return 0;
}
