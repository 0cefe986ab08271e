/* fields: see fields.h. */
#include "booking/fields.h"

#include <ctype.h>
#include <math.h>

#include "ccv/fields.h"

int field_micro(const json_t *v, long long *out)
{
        *out = 0;
        if (!v || json_is_null(v))
                return 1;
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                if (i > 1000000000000LL || i < -1000000000000LL)
                        return -1;
                *out = (long long)i * 1000000;
                return 0;
        }
        if (json_is_real(v)) {
                double d = json_real_value(v);

                if (!isfinite(d) || fabs(d) > 1e12)
                        return -1;
                *out = llround(d * 1e6);
                return 0;
        }
        if (!json_is_string(v))
                return -1;
        const char *s = json_string_value(v);
        int sign = 1;
        long long whole = 0, frac = 0;
        int fdigits = 0;
        bool any = false;

        while (isspace((unsigned char)*s))
                s++;
        if (*s == '\0')
                return 1;
        if (*s == '-' || *s == '+') {
                sign = *s == '-' ? -1 : 1;
                s++;
        }
        for (; isdigit((unsigned char)*s); s++) {
                if (whole > 1000000000000LL)
                        return -1;
                whole = whole * 10 + (*s - '0');
                any = true;
        }
        if (*s == '.' || *s == ',') {
                s++;
                for (; isdigit((unsigned char)*s); s++) {
                        any = true;
                        if (fdigits < 7) {
                                frac = frac * 10 + (*s - '0');
                                fdigits++;
                        }
                }
        }
        while (isspace((unsigned char)*s))
                s++;
        if (!any || *s != '\0')
                return -1;
        while (fdigits < 7) {
                frac *= 10;
                fdigits++;
        }
        *out = sign * (whole * 1000000 + (frac + 5) / 10);
        return 0;
}

const char *field_id(const json_t *obj, const char *key, char *buf, size_t len)
{
        return ccv_json_id(json_object_get(obj, key), buf, len) ? buf : NULL;
}

bool field_bool(const json_t *obj, const char *key, bool def)
{
        return ccv_json_bool(json_object_get(obj, key), def);
}

void field_utf8_trunc(const char *s, size_t max, char *out, size_t outlen)
{
        size_t chars = 0, i = 0;

        while (s[i] != '\0' && chars < max && i + 4 < outlen) {
                size_t n = 1;
                unsigned char c = (unsigned char)s[i];

                if (c >= 0xf0)
                        n = 4;
                else if (c >= 0xe0)
                        n = 3;
                else if (c >= 0xc0)
                        n = 2;
                for (size_t k = 1; k < n; k++) {
                        if (s[i + k] == '\0')
                                n = k;
                }
                i += n;
                chars++;
        }
        memcpy(out, s, i);
        out[i] = '\0';
}
