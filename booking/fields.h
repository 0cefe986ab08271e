/* fields: reading the members of a shop document (text, ids, booleans, decimal amounts) and
 * writing Exact's text fields (bounded copies, UTF-8 aware truncation). The small helpers are
 * inline: they run for every member of every order row. */
#ifndef BOOKING_FIELDS_H
#define BOOKING_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Text member: "" when absent, null or not a string. */
static inline const char *field_str(const json_t *obj, const char *key)
{
        const char *s = json_string_value(json_object_get(obj, key));

        return s ? s : "";
}

/* snprintf(dst, len, "%s", src) without the format machinery (hot: every line copies its
 * item code and description). */
static inline void field_copy(char *dst, size_t len, const char *src)
{
        size_t n = strnlen(src, len - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Sets a text member, unless val is NULL or empty. */
static inline void field_set_str(json_t *obj, const char *key, const char *val)
{
        if (val && val[0] != '\0')
                json_object_set_new_nocheck(obj, key, json_string(val));
}

/* Decimal from a JSON number or numeric string, scaled by 10^6. Returns 1 when absent (null,
 * missing, ""), 0 when parsed, -1 when malformed. */
int field_micro(const json_t *v, long long *out);

/* Id member into buf (ccv_json_id(): a positive number or digits); returns buf, or NULL. */
const char *field_id(const json_t *obj, const char *key, char *buf, size_t len);

/* Boolean member, also "true"/"1" strings (ccv_json_bool()); def when absent. */
bool field_bool(const json_t *obj, const char *key, bool def);

/* Copies at most max characters of s (UTF-8 aware, never splitting a sequence). */
void field_utf8_trunc(const char *s, size_t max, char *out, size_t outlen);

#endif
