/* relations: see relations.h. */
#include "booking/relations.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool digits(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

static int check_matching(const json_t *v, char *err, size_t errlen)
{
        static const char *const names[] = { "vat", "coc", "email" };
        bool seen[3] = { false, false, false };
        size_t i, k;
        json_t *x;

        if (!json_is_array(v))
                goto bad;
        json_array_foreach (v, i, x) {
                for (k = 0; k < 3 && (!json_is_string(x) || strcmp(json_string_value(x), names[k]));
                     k++)
                        ;
                if (k == 3 || seen[k])
                        goto bad;
                seen[k] = true;
        }
        return 0;
bad:
        snprintf(err, errlen,
                 "rules: relation_matching must list the keys to match existing relations on, "
                 "each once, in order: \"vat\", \"coc\", \"email\" (e.g. [\"vat\",\"coc\"]; [] "
                 "= never match)");
        return -1;
}

static int check_codes(const json_t *v, char *err, size_t errlen)
{
        const char *s = json_string_value(v);
        const json_t *pre = json_object_get(v, "prefix");
        const json_t *from = json_object_get(v, "from"), *to = json_object_get(v, "to");

        if (s && (!strcmp(s, "exact") || !strcmp(s, "shop")))
                return 0;
        if (json_is_object(v) && json_object_size(v) == 1 && json_is_string(pre) &&
            digits(json_string_value(pre), 10))
                return 0;
        if (json_is_object(v) && json_object_size(v) == 2 && json_is_integer(from) &&
            json_is_integer(to) && json_integer_value(from) > 0 &&
            json_integer_value(to) >= json_integer_value(from) &&
            json_integer_value(to) <= 999999999999999999LL)
                return 0;
        snprintf(err, errlen,
                 "rules: relation_codes must be \"exact\" (Exact numbers new relations), "
                 "\"shop\" (the CCV customer number), {\"prefix\":\"<digits>\"} or "
                 "{\"from\":N,\"to\":M} (Exact account codes are numeric)");
        return -1;
}

json_t *booking_relations_parse(const json_t *obj, char *err, size_t errlen)
{
        const json_t *m = json_object_get(obj, "relation_matching");
        const json_t *c = json_object_get(obj, "relation_codes");
        const json_t *b = json_object_get(obj, "b2c_collective_account");
        json_t *out;

        if ((m && check_matching(m, err, errlen) < 0) || (c && check_codes(c, err, errlen) < 0))
                return NULL;
        if (b && !(json_is_string(b) && digits(json_string_value(b), 18))) {
                snprintf(err, errlen,
                         "rules: b2c_collective_account must be the code (digits) of a relation "
                         "that exists in Exact");
                return NULL;
        }
        out = json_object();
        if (!out) {
                snprintf(err, errlen, "rules: out of memory");
                return NULL;
        }
        if (m)
                json_object_set(out, "relation_matching", (json_t *)m);
        if (c)
                json_object_set(out, "relation_codes", (json_t *)c);
        if (b)
                json_object_set(out, "b2c_collective_account", (json_t *)b);
        return out;
}

/* The Code to post for a registered customer, "" to let Exact number the relation. */
static void code_for(const json_t *codes, const char *user_id, char out[48])
{
        const char *s = json_string_value(codes);
        const char *pre = json_string_value(json_object_get(codes, "prefix"));

        out[0] = '\0';
        if (!digits(user_id, 18))
                return; /* guests (and non-numeric ids) are numbered by Exact */
        if (s && !strcmp(s, "shop"))
                snprintf(out, 48, "%s", user_id);
        else if (pre && strlen(pre) + strlen(user_id) <= 18)
                snprintf(out, 48, "%s%s", pre, user_id);
}

static bool consumer(const json_t *acc, const char *company)
{
        return !company[0] && !json_object_get(acc, "VATNumber") &&
               !json_object_get(acc, "ChamberOfCommerce");
}

int booking_relation_apply(const json_t *policy, const json_t *info, json_t *acc,
                           const char *user_id, bool documents, bool *collective, char *err,
                           size_t errlen)
{
        const json_t *m = json_object_get(policy, "relation_matching");
        const json_t *codes = json_object_get(policy, "relation_codes");
        const char *b2c = json_string_value(json_object_get(policy, "b2c_collective_account"));
        const char *company = json_string_value(
                json_object_get(json_object_get(info, "billingaddress"), "company"));
        json_t *rel = json_object();
        char code[48];

        *collective = false;
        if (!rel) {
                snprintf(err, errlen, "out of memory");
                return -1;
        }
        if (b2c && documents && consumer(acc, company ? company : "")) {
                /* the consumer's name and address go on the document, not on a relation */
                json_object_set_new(acc, "Code", json_string(b2c));
                json_object_del(acc, "contact");
                json_object_set_new(rel, "collective", json_true());
                json_object_set_new(acc, "relation", rel);
                *collective = true;
                return 0;
        }
        json_object_set_new(rel, "match",
                            m ? json_deep_copy(m) : json_pack("[sss]", "vat", "coc", "email"));
        if (json_object_get(codes, "from"))
                json_object_set_new(rel, "range",
                                    json_pack("[OO]", json_object_get(codes, "from"),
                                              json_object_get(codes, "to")));
        code_for(codes, user_id ? user_id : "", code);
        if (code[0])
                json_object_set_new(rel, "code", json_string(code));
        json_object_set_new(acc, "relation", rel);
        return 0;
}
