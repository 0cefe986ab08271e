/* fields.c: lenient readers of CCV Shop JSON fields (see fields.h). */
#include "ccv/fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ccv_json_id(const json_t *v, char *out, size_t size)
{
        if (json_is_integer(v) && json_integer_value(v) > 0) {
                snprintf(out, size, "%lld", (long long)json_integer_value(v));
                return true;
        }
        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t n = strlen(s);

                if (n > 0 && n < 20 && strspn(s, "0123456789") == n) {
                        snprintf(out, size, "%s", s);
                        return true;
                }
        }
        return false;
}

long long ccv_json_int(const json_t *v, long long def)
{
        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_real(v))
                return (long long)json_real_value(v);
        if (json_is_string(v) && *json_string_value(v)) {
                char *end = NULL;
                long long n = strtoll(json_string_value(v), &end, 10);

                if (end && !*end)
                        return n;
        }
        return def;
}

bool ccv_json_bool(const json_t *v, bool def)
{
        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v))
                return json_integer_value(v) != 0;
        if (json_is_string(v)) {
                const char *s = json_string_value(v);

                if (!strcmp(s, "true") || !strcmp(s, "1"))
                        return true;
                if (!strcmp(s, "false") || !strcmp(s, "0"))
                        return false;
        }
        return def;
}
